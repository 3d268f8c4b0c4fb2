"""Daily time windows (OSM opening_hours) in Europe/Amsterdam with Dutch public holidays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from ruas.domain.errors import InvalidInput, InvalidTimeWindow
from ruas.domain.timeutil import LOCAL_TZ
from ruas.domain.windows import TimeWindow, parse_window

TZ = LOCAL_TZ
DELIVERY = "Mo-Sa 07:00-11:00; PH off"


def local(y: int, m: int, d: int, hh: int = 0, mm: int = 0, fold: int = 0) -> datetime:
    """A local wall-clock moment."""
    return datetime(y, m, d, hh, mm, tzinfo=TZ, fold=fold)


@pytest.fixture(scope="module")
def delivery() -> TimeWindow:
    """Mo-Sa 07:00-11:00, closed on public holidays."""
    return parse_window(DELIVERY)


@pytest.mark.parametrize(
    ("t", "is_open"),
    [
        (local(2025, 6, 2, 6, 59), False),
        (local(2025, 6, 2, 7, 0), True),
        (local(2025, 6, 2, 10, 59), True),
        (local(2025, 6, 2, 11, 0), False),
        (local(2025, 6, 7, 9, 0), True),  # Saturday
        (local(2025, 9, 7, 9, 0), False),  # Sunday
        (local(2025, 4, 26, 9, 0), False),  # Koningsdag
        (local(2025, 4, 21, 9, 0), False),  # Easter Monday
        (local(2025, 12, 25, 9, 0), False),  # Christmas
        (local(2025, 12, 26, 9, 0), False),  # Boxing Day
        (local(2025, 6, 9, 9, 0), False),  # Whit Monday
        (local(2025, 5, 29, 9, 0), False),  # Ascension Day
        (local(2026, 4, 27, 9, 0), False),  # Koningsdag 2026 (Monday)
        (local(2026, 1, 1, 9, 0), False),  # New Year's Day
        (local(2026, 1, 2, 9, 0), True),
    ],
    ids=[
        "06:59",
        "07:00",
        "10:59",
        "11:00",
        "saturday",
        "sunday",
        "koningsdag",
        "easter-monday",
        "christmas",
        "boxing-day",
        "whit-monday",
        "ascension",
        "koningsdag-2026",
        "new-year",
        "jan-2",
    ],
)
def test_delivery_window_is_open(delivery: TimeWindow, t: datetime, is_open: bool) -> None:
    """Open Mo-Sa 07:00-11:00 local, closed on Sundays and Dutch public holidays."""
    assert delivery.is_open(t) is is_open


@pytest.mark.parametrize(
    ("t", "nxt"),
    [
        (local(2025, 6, 2, 6, 0), local(2025, 6, 2, 7, 0)),
        (local(2025, 6, 2, 7, 0), local(2025, 6, 2, 11, 0)),
        (local(2025, 6, 2, 11, 0), local(2025, 6, 3, 7, 0)),
        (local(2025, 4, 25, 11, 0), local(2025, 4, 28, 7, 0)),  # over Koningsdag and Sunday
        (local(2025, 12, 24, 11, 0), local(2025, 12, 27, 7, 0)),  # over both Christmas days
    ],
)
def test_next_change(delivery: TimeWindow, t: datetime, nxt: datetime) -> None:
    """The next opening or closing instant, skipping holidays."""
    assert delivery.next_change(t) == nxt


@pytest.mark.parametrize(
    ("t", "is_open", "next_utc"),
    [
        (local(2025, 3, 30, 0, 59), False, datetime(2025, 3, 30, 0, 0, tzinfo=UTC)),
        (local(2025, 3, 30, 1, 0), True, datetime(2025, 3, 30, 2, 0, tzinfo=UTC)),
        (local(2025, 3, 30, 3, 30), True, datetime(2025, 3, 30, 2, 0, tzinfo=UTC)),
        (local(2025, 3, 30, 4, 0), False, datetime(2025, 3, 30, 23, 0, tzinfo=UTC)),
        (local(2025, 10, 26, 1, 0), True, datetime(2025, 10, 26, 3, 0, tzinfo=UTC)),
        (local(2025, 10, 26, 2, 30), True, datetime(2025, 10, 26, 3, 0, tzinfo=UTC)),
        (local(2025, 10, 26, 2, 30, fold=1), True, datetime(2025, 10, 26, 3, 0, tzinfo=UTC)),
        (local(2025, 10, 26, 4, 0), False, datetime(2025, 10, 27, 0, 0, tzinfo=UTC)),
    ],
    ids=[
        "spring-00:59",
        "spring-01:00",
        "spring-03:30",
        "spring-04:00",
        "fall-01:00",
        "fall-02:30-CEST",
        "fall-02:30-CET",
        "fall-04:00",
    ],
)
def test_night_window_on_dst_nights(t: datetime, is_open: bool, next_utc: datetime) -> None:
    """Mo-Su 01:00-04:00 follows the wall clock on both DST nights; next changes are the right instants."""
    w = parse_window("Mo-Su 01:00-04:00")
    assert w.is_open(t) is is_open
    nxt = w.next_change(t)
    assert nxt is not None
    assert nxt.astimezone(UTC) == next_utc


@pytest.mark.parametrize(
    ("t", "is_open", "nxt"),
    [
        (local(2025, 6, 2, 21, 59), False, local(2025, 6, 2, 22, 0)),
        (local(2025, 6, 2, 22, 0), True, local(2025, 6, 3, 6, 0)),
        (local(2025, 6, 3, 0, 0), True, local(2025, 6, 3, 6, 0)),
        (local(2025, 6, 3, 6, 0), False, local(2025, 6, 3, 22, 0)),
    ],
)
def test_midnight_crossing_window(t: datetime, is_open: bool, nxt: datetime) -> None:
    """Mo-Su 22:00-06:00 stays open across midnight."""
    w = parse_window("Mo-Su 22:00-06:00")
    assert w.is_open(t) is is_open
    assert w.next_change(t) == nxt


def test_unknown_counts_as_closed() -> None:
    """A window in state "unknown" is not open (the restriction stays in force)."""
    assert not parse_window("Mo-Fr 08:00-12:00 unknown").is_open(local(2025, 6, 2, 9, 0))


@pytest.mark.parametrize(("expr", "is_open"), [("24/7", True), ("off", False)])
def test_constant_windows_never_change(expr: str, is_open: bool) -> None:
    """Always-open and always-closed windows have no next change."""
    w = parse_window(expr)
    assert w.is_open(local(2025, 6, 2, 9)) is is_open
    assert w.next_change(local(2025, 6, 2, 9)) is None


def test_open_intervals_clip_to_the_period(delivery: TimeWindow) -> None:
    """Open stretches overlapping the period, clipped to it."""
    spans = delivery.open_intervals(local(2025, 6, 2, 9, 0), local(2025, 6, 4, 8, 0))
    assert spans == [
        (local(2025, 6, 2, 9, 0), local(2025, 6, 2, 11, 0)),
        (local(2025, 6, 3, 7, 0), local(2025, 6, 3, 11, 0)),
        (local(2025, 6, 4, 7, 0), local(2025, 6, 4, 8, 0)),
    ]


def test_open_intervals_across_the_autumn_dst_night() -> None:
    """Over a wide period the 01:00-04:00 window of 2025-10-26 lasts four real hours."""
    w = parse_window("Mo-Su 01:00-04:00")
    spans = w.open_intervals(local(2025, 10, 25, 12), local(2025, 10, 27, 12))
    real = [(a.astimezone(UTC), b.astimezone(UTC)) for a, b in spans]
    assert real == [
        (datetime(2025, 10, 25, 23, 0, tzinfo=UTC), datetime(2025, 10, 26, 3, 0, tzinfo=UTC)),
        (datetime(2025, 10, 27, 0, 0, tzinfo=UTC), datetime(2025, 10, 27, 3, 0, tzinfo=UTC)),
    ]


def test_open_intervals_inside_the_repeated_dst_hour() -> None:
    """[00:29:59Z, 00:30:02Z) on 2025-10-26 (02:29:59 CEST) lies inside the open window and is returned as is."""
    w = parse_window("Mo-Su 01:00-04:00")
    start = datetime(2025, 10, 26, 0, 29, 59, tzinfo=UTC)
    end = datetime(2025, 10, 26, 0, 30, 2, tzinfo=UTC)
    spans = w.open_intervals(start.astimezone(TZ), end.astimezone(TZ))
    assert [(a.astimezone(UTC), b.astimezone(UTC)) for a, b in spans] == [(start, end)]


def test_naive_moments_are_rejected(delivery: TimeWindow) -> None:
    """Windows need an aware instant."""
    with pytest.raises(InvalidInput):
        delivery.is_open(datetime(2025, 6, 2, 9))
    with pytest.raises(InvalidInput):
        delivery.next_change(datetime(2025, 6, 2, 9))


@pytest.mark.parametrize("tz", [UTC, timezone(timedelta(hours=2))], ids=["utc", "+02:00"])
def test_any_aware_timezone_is_accepted(delivery: TimeWindow, tz: timezone) -> None:
    """Monday 2025-06-02 07:00 local written in UTC or +02:00 is inside the window; it closes at 11:00 local."""
    t = local(2025, 6, 2, 7, 0).astimezone(tz)
    assert delivery.is_open(t)
    assert delivery.next_change(t) == local(2025, 6, 2, 11, 0)


@pytest.mark.parametrize("expr", ["Mo-Xx 07:00-11:00", "nonsense", "Mo-Fr 25:00-26:00", ""])
def test_invalid_expressions(expr: str) -> None:
    """Malformed expressions raise InvalidTimeWindow naming the expression."""
    with pytest.raises(InvalidTimeWindow) as info:
        parse_window(expr)
    assert info.value.details["field"] == "window"


def test_parse_window_strips_and_windows_compare_by_expression() -> None:
    """Surrounding blanks are dropped; two windows with the same expression are equal and hash alike."""
    a, b = parse_window(f"  {DELIVERY} "), TimeWindow(DELIVERY)
    assert a.expression == DELIVERY
    assert a == b and hash(a) == hash(b)
