"""``decide_indexed`` (vehicle table + row indices, held exemptions honoured) gives the single path's answers.

For every (vehicle, zone, moment) row and set of held exemptions (ontheffingen), the indexed batch
must give ``engine.decide``'s access, its first prohibiting regulation, whether the vehicle is subject
to a regulation in force, and the exemption clause that holds. Checked on Hypothesis-drawn rows (boundary
minutes, window edges, anniversaries, DST nights) and on a seeded sample with day exemptions.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruas_rules_kit import (
    DST_WINDOW,
    NIGHT_WINDOW,
    build_book,
    local,
    moments_for,
    random_moment,
    random_vehicle,
    vehicle,
    vehicles,
)

from ruas.domain.decision import Access, Effect
from ruas.domain.errors import InvalidInput
from ruas.domain.regulation import ExemptionGrant, GrantStatus
from ruas.domain.timeutil import Interval, local_midnight
from ruas.domain.vehicle import EmissionClass, Vehicle
from ruas.domain.windows import parse_window
from ruas.register.vehicle_table import vehicles_to_frame
from ruas.rules.batch import decide_batch, decide_indexed, decision_table, grants_frame
from ruas.rules.engine import RuleBook, decide

ZONES = ("ze", "mz", "win", "dst", "night")


@pytest.fixture(scope="module")
def batch_book() -> RuleBook:
    """ZE, milieuzone, Mo-Sa 07:00-11:00 window, a Mo-Su 01:00-04:00 DST window and a 22:00-06:00 window."""
    return build_book(extra_windows={"dst": DST_WINDOW, "night": NIGHT_WINDOW})


Row = tuple[Vehicle, str, datetime]


def _indexed(
    book: RuleBook, rows: Sequence[Row], grants: Sequence[ExemptionGrant] = (), tz: str = "UTC"
) -> pl.DataFrame:
    vs = list({v.plate: v for v, _, _ in rows}.values())
    index = {v.plate: i for i, v in enumerate(vs) if v.plate}
    frame = pl.DataFrame(
        {
            "vehicle": pl.Series([index[v.plate] for v, _, _ in rows if v.plate], dtype=pl.UInt32),
            "zone_id": [z for _, z, _ in rows],
            "at": pl.Series([t.astimezone(UTC) for _, _, t in rows], dtype=pl.Datetime("us", "UTC")),
        }
    ).with_columns(pl.col("at").dt.convert_time_zone(tz))
    return decide_indexed(book, vehicles_to_frame(vs), frame, grants=grants_frame(grants, index))


def assert_matches_single(book: RuleBook, rows: Sequence[Row], grants: Sequence[ExemptionGrant] = ()) -> None:
    out = _indexed(book, rows, grants)
    assert out.height == len(rows)
    for (v, zone, at), r in zip(rows, out.iter_rows(named=True), strict=True):
        mine = [g for g in grants if g.plate == v.plate]
        single = decide(book, v, [zone], at=at, grants=mine).zones[0]
        where = (zone, at.isoformat(), v)
        assert r["access"] == single.access.value, where
        assert r["allowed"] is single.allowed, where
        prohibits = [x.regulation_id for x in single.reasons if x.effect is Effect.PROHIBITS]
        assert r["blocked_by"] == (prohibits[0] if prohibits else None), where
        subject = [x for x in single.reasons if x.effect in (Effect.PROHIBITS, Effect.EXEMPT, Effect.GRANT_HELD)]
        assert r["subject"] is bool(subject), where
        exempt = [x.clause_id for x in single.reasons if x.effect is Effect.EXEMPT]
        if single.allowed and subject and subject[0].effect is Effect.EXEMPT:
            assert r["exempted_by"] == exempt[0], where
        if single.access is Access.ALLOWED_WITH_EXEMPTION:
            assert r["grant_id"] in {g.id for g in mine}, where
        else:
            assert r["grant_id"] is None, where


@st.composite
def indexed_rows(draw: st.DrawFn) -> Row:
    v = draw(vehicles(plate=draw(st.sampled_from(["VQ123B", "VQ124B", "VQ125B"]))))
    return v, draw(st.sampled_from(ZONES)), draw(moments_for(v))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(indexed_rows(), min_size=1, max_size=20, unique_by=lambda r: r[0].plate))
def test_indexed_equals_decide(batch_book: RuleBook, rows: list[Row]) -> None:
    """Random vehicles, zones and moments near their boundaries: indexed batch = single path."""
    assert_matches_single(batch_book, rows)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(indexed_rows(), min_size=1, max_size=12, unique_by=lambda r: r[0].plate),
    day_offset=st.integers(-2, 2),
    zone_bound=st.sampled_from(["", "ze", "mz"]),
    type_id=st.sampled_from(["ze-dagontheffing", "mz-dagontheffing", "venstertijd-ontheffing"]),
    windowed=st.booleans(),
)
def test_indexed_with_held_exemptions_equals_decide(
    batch_book: RuleBook, rows: list[Row], day_offset: int, zone_bound: str, type_id: str, windowed: bool
) -> None:
    """A held day exemption near each row's moment (maybe zone-bound, maybe windowed) lifts what decide lifts."""
    grants = []
    for i, (v, _zone, at) in enumerate(rows):
        day = at.astimezone(local(2025, 1, 1).tzinfo).date() + timedelta(days=day_offset)
        start = local_midnight(day)
        grants.append(
            ExemptionGrant(
                id=f"g{i}",
                type_id=type_id,
                plate=v.plate or "",
                validity=Interval(start, datetime.combine(day + timedelta(days=1), local(2025, 1, 1, 6).timetz())),
                zones=frozenset({zone_bound}) if zone_bound else frozenset(),
                window=parse_window("Mo-Su 08:00-20:00") if windowed else None,
            )
        )
    assert_matches_single(batch_book, rows, grants)


def _micros(t: datetime) -> int:
    return int(t.timestamp()) * 1_000_000 + t.microsecond


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(indexed_rows(), min_size=1, max_size=20, unique_by=lambda r: r[0].plate))
def test_decision_table_codes_answer_as_decide(batch_book: RuleBook, rows: list[Row]) -> None:
    """One table for rows of every zone (their windows and fixed instants merged into shared time cells): each
    row's code gives decide's first prohibiting regulation, subject flag and exemption clause; the rows after
    the vehicles answer the caller's own codes in every zone and cell."""
    _assert_table_answers_as_decide(batch_book, rows)


EDGE_MOMENTS = [
    pytest.param(local(2025, 9, 10, 6, 59) + timedelta(seconds=59, microseconds=999_999), id="window: last µs before"),
    pytest.param(local(2025, 9, 10, 7, 0), id="window: first minute"),
    pytest.param(local(2025, 9, 10, 10, 59), id="window: last minute"),
    pytest.param(local(2025, 9, 10, 11, 0), id="window: closed again"),
    pytest.param(local(2025, 9, 10, 21, 59), id="night: minute before"),
    pytest.param(local(2025, 9, 10, 22, 0), id="night: opens"),
    pytest.param(local(2025, 9, 11, 0, 0), id="midnight"),
    pytest.param(local(2025, 9, 11, 5, 59), id="night: last minute"),
    pytest.param(local(2025, 9, 11, 6, 0), id="night: closed"),
    pytest.param(local(2025, 9, 14, 9, 0), id="Sunday"),
    pytest.param(local(2025, 3, 30, 1, 59), id="spring DST: before the gap"),
    pytest.param(local(2025, 3, 30, 3, 0), id="spring DST: after the gap"),
    pytest.param(local(2025, 10, 26, 2, 30, fold=0), id="autumn DST: first 02:30"),
    pytest.param(local(2025, 10, 26, 2, 30, fold=1), id="autumn DST: second 02:30"),
    pytest.param(local(2025, 10, 26, 4, 0), id="autumn DST: window closed"),
]


def test_decision_table_segments_at_every_window_edge_in_one_table(batch_book: RuleBook) -> None:
    """Many instants in one table, on and beside every window edge, midnight and both DST nights, in every zone:
    instants that share a segment between edges share its cell, and each one answers as decide does."""
    moments = [p.values[0] for p in EDGE_MOMENTS]
    van = vehicle()
    rows = [(van, z, at) for at in moments for z in ZONES]
    _assert_table_answers_as_decide(batch_book, rows)


def _assert_table_answers_as_decide(book: RuleBook, rows: Sequence[Row]) -> None:
    batch_book = book
    frame = vehicles_to_frame([v for v, _, _ in rows])
    names = list(ZONES)
    zone = np.array([names.index(z) for _, z, _ in rows], dtype=np.int64)
    at_us = np.array([_micros(t) for _, _, t in rows], dtype=np.int64)
    table, cell = decision_table(batch_book, frame, names, sorted(set(zone.tolist())), at_us, extra=2)
    code = table.lookup(np.arange(len(rows)), zone, cell)
    for i, (v, z, at) in enumerate(rows):
        single = decide(batch_book, v, [z], at=at).zones[0]
        where = (z, at.isoformat(), v)
        prohibits = [x.regulation_id for x in single.reasons if x.effect is Effect.PROHIBITS]
        reg = int(table.regulation[code[i]])
        assert bool(table.blocked[code[i]]) is bool(prohibits), where
        assert (table.regulation_ids[reg] if reg >= 0 else None) == (prohibits[0] if prohibits else None), where
        subject = [x for x in single.reasons if x.effect in (Effect.PROHIBITS, Effect.EXEMPT)]
        assert bool(table.subject[code[i]]) is bool(subject), where
        if single.allowed and subject and subject[0].effect is Effect.EXEMPT:
            clause = int(table.clause[code[i]])
            assert table.clause_ids[clause] == subject[0].clause_id, where
        assert table.zone[code[i]] == zone[i]
    extra = table.lookup(len(rows) + np.array([0, 1, 1, 0]), zone[[0, 0, -1, -1]], cell[[0, 0, -1, -1]])
    assert extra.tolist() == [table.extra_base, table.extra_base + 1, table.extra_base + 1, table.extra_base]
    assert not table.blocked[extra].any() and (table.regulation[extra] == -1).all()


def test_decision_table_without_instants(batch_book: RuleBook) -> None:
    """No instants: an empty table of cells that still names the zones' regulations."""
    frame = vehicles_to_frame([vehicle()])
    table, cell = decision_table(batch_book, frame, list(ZONES), [0], np.zeros(0, dtype=np.int64))
    assert cell.size == 0
    assert table.regulation_ids and table.codes.shape[0] == 1


def test_indexed_equals_decide_batch_on_a_seeded_sample(batch_book: RuleBook) -> None:
    """2,000 seeded vehicles at 3 random moments in random zones: same allowed/blocked_by as decide_batch."""
    rng = random.Random(11)
    vs = [random_vehicle(rng, f"S{i:05d}") for i in range(2000)]
    rows = [(v, rng.choice(ZONES), random_moment(rng, v)) for v in vs for _ in range(3)]
    ours = _indexed(batch_book, rows)
    frame = vehicles_to_frame([v for v, _, _ in rows]).with_columns(
        pl.Series("zone_id", [z for _, z, _ in rows]),
        pl.Series("at", [t.astimezone(UTC) for _, _, t in rows], dtype=pl.Datetime("us", "UTC")),
    )
    theirs = decide_batch(batch_book, frame)
    assert ours["allowed"].to_list() == theirs["allowed"].to_list()
    assert ours["blocked_by"].to_list() == theirs["blocked_by"].to_list()


def test_day_exemption_covers_its_day_and_the_next_morning_until_six(batch_book: RuleBook) -> None:
    """A day exemption (00:00 until 06:00 the next day) lifts the ZE ban at 09:00 and 05:59 next day, not 06:00."""
    van = vehicle(emission_class=EmissionClass.E4, first_admission=date(2008, 3, 10), max_mass_kg=2800)
    day = date(2025, 9, 10)
    grant = ExemptionGrant(
        "g1",
        "ze-dagontheffing",
        van.plate or "",
        Interval(local_midnight(day), local(2025, 9, 11, 6)),
    )
    moments = [local(2025, 9, 10, 9), local(2025, 9, 11, 5, 59), local(2025, 9, 11, 6), local(2025, 9, 9, 23, 59)]
    out = _indexed(batch_book, [(van, "ze", t) for t in moments], [grant])
    assert out["access"].to_list() == ["allowed_with_exemption", "allowed_with_exemption", "not_allowed", "not_allowed"]
    assert out["grant_id"].to_list() == ["g1", "g1", None, None]


def test_refused_grants_are_not_read() -> None:
    """Only granted exemptions become rows of the grants frame."""
    g = ExemptionGrant("g", "ze-dagontheffing", "VQ123B", Interval(), status=GrantStatus.REFUSED)
    assert grants_frame([g], {"VQ123B": 0}).height == 0


def test_indexed_reads_any_timezone(batch_book: RuleBook) -> None:
    """The same instants in UTC or in Europe/Amsterdam give the same answers."""
    rng = random.Random(5)
    vs = [random_vehicle(rng, f"T{i:05d}") for i in range(300)]
    rows = [(v, rng.choice(ZONES), random_moment(rng, v)) for v in vs]
    a = _indexed(batch_book, rows, tz="UTC")["access"].to_list()
    b = _indexed(batch_book, rows, tz="Europe/Amsterdam")["access"].to_list()
    assert a == b


def test_indexed_on_an_empty_frame(batch_book: RuleBook) -> None:
    """No rows in, no rows out, with the output columns."""
    frame = pl.DataFrame(
        {"vehicle": [], "zone_id": [], "at": []},
        schema={"vehicle": pl.UInt32, "zone_id": pl.Utf8, "at": pl.Datetime("us", "UTC")},
    )
    out = decide_indexed(batch_book, vehicles_to_frame([vehicle()]), frame)
    assert out.height == 0
    assert {"access", "allowed", "blocked_by", "subject", "exempted_by", "grant_id"} <= set(out.columns)


@pytest.mark.parametrize("bad", [np.array([1], dtype=np.uint32), np.array([None])])
def test_indexed_rejects_rows_without_a_vehicle(batch_book: RuleBook, bad: np.ndarray) -> None:
    """A row pointing outside the vehicle table, or at no vehicle, is an error naming the column."""
    frame = pl.DataFrame(
        {
            "vehicle": pl.Series(bad.tolist(), dtype=pl.UInt32),
            "zone_id": ["ze"],
            "at": pl.Series([local(2025, 3, 1, 9)], dtype=pl.Datetime("us", "Europe/Amsterdam")),
        }
    )
    with pytest.raises(InvalidInput) as err:
        decide_indexed(batch_book, vehicles_to_frame([vehicle()]), frame)
    assert err.value.details["field"] == "vehicle"
