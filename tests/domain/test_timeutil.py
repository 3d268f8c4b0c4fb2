"""Time conventions: aware instants, local (Europe/Amsterdam) days and midnights, years, intervals."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ruas.domain.errors import InvalidInput
from ruas.domain.timeutil import (
    LOCAL_TZ,
    Interval,
    add_years,
    age_in_years,
    local_day,
    local_midnight,
    parse_date,
    parse_instant,
    require_aware,
)


@pytest.mark.parametrize(
    ("day", "utc"),
    [
        (date(2025, 1, 1), datetime(2024, 12, 31, 23, 0, tzinfo=UTC)),
        (date(2025, 3, 30), datetime(2025, 3, 29, 23, 0, tzinfo=UTC)),  # DST starts later that night
        (date(2025, 3, 31), datetime(2025, 3, 30, 22, 0, tzinfo=UTC)),
        (date(2025, 10, 26), datetime(2025, 10, 25, 22, 0, tzinfo=UTC)),
        (date(2025, 10, 27), datetime(2025, 10, 26, 23, 0, tzinfo=UTC)),
    ],
)
def test_local_midnight_is_the_amsterdam_start_of_day(day: date, utc: datetime) -> None:
    """Local midnight is 23:00 UTC the day before in winter and 22:00 UTC in summer."""
    assert local_midnight(day) == utc
    assert local_midnight(day).tzinfo is LOCAL_TZ


@pytest.mark.parametrize(
    ("instant", "day"),
    [
        (datetime(2024, 12, 31, 22, 59, tzinfo=UTC), date(2024, 12, 31)),
        (datetime(2024, 12, 31, 23, 0, tzinfo=UTC), date(2025, 1, 1)),
        (datetime(2025, 6, 30, 21, 59, tzinfo=UTC), date(2025, 6, 30)),
        (datetime(2025, 6, 30, 22, 0, tzinfo=UTC), date(2025, 7, 1)),
        (datetime(2025, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=5))), date(2024, 12, 31)),
    ],
)
def test_local_day_of_an_instant(instant: datetime, day: date) -> None:
    """The local calendar day follows Amsterdam, whatever zone the instant is written in."""
    assert local_day(instant) == day


def test_local_day_rejects_naive() -> None:
    """A naive datetime has no day in Amsterdam."""
    with pytest.raises(InvalidInput):
        local_day(datetime(2025, 1, 1, 12))


@pytest.mark.parametrize(
    ("day", "years", "expected"),
    [
        (date(1988, 2, 29), 40, date(2028, 2, 29)),
        (date(1988, 2, 29), 41, date(2029, 3, 1)),
        (date(2016, 2, 29), 13, date(2029, 3, 1)),
        (date(2014, 6, 10), 13, date(2027, 6, 10)),
        (date(1986, 12, 31), 40, date(2026, 12, 31)),
    ],
)
def test_add_years(day: date, years: int, expected: date) -> None:
    """Whole years later; 29 February becomes 1 March in a non-leap year."""
    assert add_years(day, years) == expected


@pytest.mark.parametrize(
    ("det", "on", "age"),
    [
        (date(1986, 3, 15), date(2026, 3, 14), 39),
        (date(1986, 3, 15), date(2026, 3, 15), 40),
        (date(1988, 2, 29), date(2028, 2, 28), 39),
        (date(1988, 2, 29), date(2028, 2, 29), 40),
        (date(1988, 2, 29), date(2029, 2, 28), 40),
        (date(1988, 2, 29), date(2029, 3, 1), 41),
        (date(2014, 6, 10), date(2027, 6, 9), 12),
        (date(2014, 6, 10), date(2027, 6, 10), 13),
        (date(2025, 1, 1), date(2025, 1, 1), 0),
    ],
)
def test_age_in_years(det: date, on: date, age: int) -> None:
    """Completed years on the day; a 29-February vehicle has its birthday on 1 March in common years."""
    assert age_in_years(det, on) == age


@settings(max_examples=300, deadline=None)
@given(det=st.dates(date(1975, 1, 1), date(2026, 12, 31)), n=st.integers(0, 60))
def test_age_reaches_n_exactly_on_add_years(det: date, n: int) -> None:
    """age_in_years and add_years agree: age n is reached on add_years(det, n), not the day before."""
    day = add_years(det, n)
    assert age_in_years(det, day) == n
    if n > 0:
        assert age_in_years(det, day - timedelta(days=1)) == n - 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-01-01", datetime(2025, 1, 1, tzinfo=LOCAL_TZ)),
        ("2025-07-01", datetime(2025, 6, 30, 22, 0, tzinfo=UTC)),
        ("2025-07-01T08:30", datetime(2025, 7, 1, 6, 30, tzinfo=UTC)),
        ("2025-07-01T08:30:00Z", datetime(2025, 7, 1, 8, 30, tzinfo=UTC)),
        ("2025-07-01T08:30+01:00", datetime(2025, 7, 1, 7, 30, tzinfo=UTC)),
        (" 2026-03-01T08:30+01:00 ", datetime(2026, 3, 1, 7, 30, tzinfo=UTC)),
    ],
)
def test_parse_instant(text: str, expected: datetime) -> None:
    """A bare date is local midnight, a naive time is local, offsets and Z are honoured."""
    value = parse_instant(text)
    assert value.tzinfo is not None
    assert value == expected


@pytest.mark.parametrize("text", ["", "tomorrow", "2025-13-01", "2025-02-30T10:00", "01-01-2025"])
def test_parse_instant_rejects_garbage_naming_the_field(text: str) -> None:
    """A malformed instant raises InvalidInput with the field name given."""
    with pytest.raises(InvalidInput) as info:
        parse_instant(text, "valid_from")
    assert info.value.details["field"] == "valid_from"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("20240229", date(2024, 2, 29)), ("2024-02-29", date(2024, 2, 29)), (" 19850601 ", date(1985, 6, 1))],
)
def test_parse_date(text: str, expected: date) -> None:
    """ISO dates and RDW's YYYYMMDD are read."""
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["20230229", "2023-02-29", "1985/06/01", "", "yesterday"])
def test_parse_date_rejects_garbage(text: str) -> None:
    """Impossible or malformed dates raise InvalidInput naming the field."""
    with pytest.raises(InvalidInput) as info:
        parse_date(text, "datum_eerste_toelating")
    assert info.value.details["field"] == "datum_eerste_toelating"


def test_require_aware() -> None:
    """Aware datetimes pass unchanged; naive ones are rejected naming what they were."""
    t = datetime(2025, 1, 1, tzinfo=UTC)
    assert require_aware(t) is t
    with pytest.raises(InvalidInput) as info:
        require_aware(datetime(2025, 1, 1), "start")
    assert info.value.details["field"] == "start"


START = local_midnight(date(2026, 3, 2))
END = datetime(2026, 3, 3, 6, 0, tzinfo=LOCAL_TZ)


@pytest.mark.parametrize(
    ("t", "inside"),
    [
        (START - timedelta(microseconds=1), False),
        (START, True),
        (END - timedelta(minutes=1), True),
        (END, False),
        (START.astimezone(UTC), True),
    ],
    ids=["before", "start", "last-minute", "end", "start-in-utc"],
)
def test_interval_is_half_open(t: datetime, inside: bool) -> None:
    """[start, end): the start belongs to the interval, the end does not."""
    assert Interval(START, END).contains(t) is inside


def test_unbounded_intervals() -> None:
    """A missing bound means unbounded on that side; boundaries lists only finite bounds."""
    assert Interval().contains(START)
    assert Interval(None, END).contains(datetime(1900, 1, 1, tzinfo=UTC))
    assert not Interval(START, None).contains(START - timedelta(seconds=1))
    assert Interval(START, None).boundaries() == (START,)
    assert Interval(START, END).boundaries() == (START, END)
    assert Interval().boundaries() == ()


@pytest.mark.parametrize(
    ("start", "end"),
    [(END, START), (datetime(2026, 1, 1), None), (None, datetime(2026, 1, 1))],
    ids=["reversed", "naive-start", "naive-end"],
)
def test_bad_intervals(start: datetime | None, end: datetime | None) -> None:
    """An interval ending before it starts or with a naive bound is rejected."""
    with pytest.raises(InvalidInput):
        Interval(start, end)


def test_empty_interval_is_allowed_and_contains_nothing() -> None:
    """[t, t) is a valid, empty interval."""
    assert not Interval(START, START).contains(START)
