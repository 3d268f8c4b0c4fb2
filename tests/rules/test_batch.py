"""The vectorised path gives the same answers as the single path: batch = single.

``decide_batch`` must give the same ``allowed`` as ``engine.decide`` for every (vehicle,
zone, moment) and ``timeline_batch`` exactly the same segments as ``engine.timeline``.
Checked on Hypothesis-drawn vehicles and moments (boundary minutes, window edges, the
vehicle's own anniversaries) and on a fixed seeded sample of 3,000 vehicles.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruas_rules_kit import (
    DST_WINDOW,
    NIGHT_WINDOW,
    build_book,
    local,
    midnight,
    moments_for,
    random_moment,
    random_vehicle,
    vehicle,
    vehicles,
    with_zones,
)

from ruas.domain.conditions import All, Leaf, Op
from ruas.domain.errors import InvalidInput
from ruas.domain.regulation import LegalSource, Regulation, Zone, ZoneKind
from ruas.domain.vehicle import Category, EmissionClass, Vehicle
from ruas.rules.batch import decide_batch, timeline_batch
from ruas.rules.engine import RuleBook, decide, timeline

ZONES = ("ze", "mz", "win", "dst", "night")
PERIOD = (midnight(2025, 1, 1), midnight(2031, 1, 1))
SAMPLE_SEED = 20250101
SAMPLE_SIZE = 3000

CANONICAL_SCHEMA: dict[str, pl.DataType] = {
    "plate": pl.Utf8(),
    "category": pl.Utf8(),
    "body": pl.Utf8(),
    "fuels": pl.List(pl.Utf8()),
    "emission_class": pl.Utf8(),
    "first_admission": pl.Date(),
    "max_mass_kg": pl.Int32(),
    "length_m": pl.Float64(),
    "width_m": pl.Float64(),
    "height_m": pl.Float64(),
    "axle_load_kg": pl.Int32(),
    "body_codes": pl.List(pl.Utf8()),
    "special_purpose": pl.List(pl.Utf8()),
    "special_codes": pl.List(pl.Utf8()),
    "usage": pl.List(pl.Utf8()),
    "holder": pl.List(pl.Utf8()),
    "synthetic": pl.Boolean(),
}


def _frame_by_hand(vs: Iterable[Vehicle]) -> pl.DataFrame:
    """The canonical vehicle table built directly (used when the register module is not there)."""
    rows = [
        {
            "plate": v.plate,
            "category": v.category.value,
            "body": v.body.value,
            "fuels": sorted(f.value for f in v.fuels),
            "emission_class": v.emission_class.value,
            "first_admission": v.first_admission,
            "max_mass_kg": v.max_mass_kg,
            "length_m": v.length_m,
            "width_m": v.width_m,
            "height_m": v.height_m,
            "axle_load_kg": v.axle_load_kg,
            "body_codes": sorted(v.body_codes),
            "special_purpose": sorted(v.special_purpose),
            "special_codes": sorted(v.special_codes),
            "usage": sorted(v.usage),
            "holder": sorted(v.holder),
            "synthetic": v.synthetic,
        }
        for v in vs
    ]
    return pl.DataFrame(rows, schema=CANONICAL_SCHEMA)


_to_frame: Callable[[Iterable[Vehicle]], pl.DataFrame]
try:
    from ruas.register.vehicle_table import vehicles_to_frame as _to_frame
except ImportError:  # pragma: no cover - the register module is optional for these tests
    _to_frame = _frame_by_hand


def to_frame(vs: Sequence[Vehicle]) -> pl.DataFrame:
    """Vehicles as the canonical Polars table."""
    return _to_frame(vs)


def rows_frame(rows: Sequence[tuple[Vehicle, str, datetime]], tz: str = "UTC") -> pl.DataFrame:
    """(vehicle, zone, moment) rows as a frame with ``zone_id`` and a timezone-aware ``at`` column."""
    return to_frame([v for v, _, _ in rows]).with_columns(
        pl.Series("zone_id", [z for _, z, _ in rows], dtype=pl.Utf8),
        pl.Series("at", [t.astimezone(UTC) for _, _, t in rows], dtype=pl.Datetime("us", "UTC")).dt.convert_time_zone(
            tz
        ),
    )


@pytest.fixture(scope="module")
def batch_book() -> RuleBook:
    """ZE, milieuzone, Mo-Sa 07:00-11:00 window, a Mo-Su 01:00-04:00 DST window and a 22:00-06:00 window."""
    return build_book(extra_windows={"dst": DST_WINDOW, "night": NIGHT_WINDOW})


def assert_batch_matches_single(book: RuleBook, rows: Sequence[tuple[Vehicle, str, datetime]]) -> None:
    """decide_batch's ``allowed`` and ``blocked_by`` equal the single engine's, row by row."""
    out = decide_batch(book, rows_frame(rows))
    assert out.height == len(rows)
    for (v, zone, at), allowed, blocked_by in zip(rows, out["allowed"], out["blocked_by"], strict=True):
        single = decide(book, v, [zone], at=at).zones[0]
        assert allowed is single.allowed, (zone, at.isoformat(), v)
        prohibits = [r.regulation_id for r in single.reasons if r.effect.value == "prohibits"]
        assert blocked_by == (prohibits[0] if prohibits else None)


def segments_single(book: RuleBook, v: Vehicle, zone: str) -> list[tuple[datetime, datetime, str]]:
    """engine.timeline's segments as UTC instants."""
    (tl,) = timeline(book, v, [zone], start=PERIOD[0], end=PERIOD[1])
    return [(s.start.astimezone(UTC), s.end.astimezone(UTC), s.state.value) for s in tl.segments]


def assert_timelines_match(book: RuleBook, vs: Sequence[Vehicle], zones: Sequence[str] = ZONES) -> None:
    """timeline_batch gives per plate and zone exactly engine.timeline's segments."""
    out = timeline_batch(book, to_frame(vs), list(zones), start=PERIOD[0], end=PERIOD[1])
    got: dict[tuple[str | None, str], list[tuple[datetime, datetime, str]]] = {}
    for plate, zone, start, end, state in out.iter_rows():
        got.setdefault((plate, zone), []).append((start, end, state))
    assert set(got) == {(v.plate, z) for v in vs for z in zones}
    for v in vs:
        for z in zones:
            assert got[(v.plate, z)] == segments_single(book, v, z), (z, v)


# --------------------------------------------------------------------------- frame


def test_frame_has_the_canonical_schema() -> None:
    """The vehicle frame the batch reads has the canonical column names and types, in order."""
    frame = to_frame([vehicle(length_m=None), vehicle(plate="VQ124B", length_m=7.5, axle_load_kg=11500)])
    assert frame.schema == pl.Schema(CANONICAL_SCHEMA)
    assert frame["length_m"].to_list() == [None, 7.5]


def test_hand_built_frame_equals_the_register_one() -> None:
    """The fallback builder makes the same table as the register's ``vehicles_to_frame``."""
    vs = [random_vehicle(random.Random(7), f"P{i:05d}") for i in range(50)]
    assert _frame_by_hand(vs).equals(to_frame(vs))


# --------------------------------------------------------------------------- decide_batch = decide


@st.composite
def batch_rows(draw: st.DrawFn) -> tuple[Vehicle, str, datetime]:
    """One (vehicle, zone, moment) row with the moment near the vehicle's own boundaries."""
    v = draw(vehicles())
    return v, draw(st.sampled_from(ZONES)), draw(moments_for(v))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(batch_rows(), min_size=1, max_size=20))
def test_decide_batch_equals_decide(batch_book: RuleBook, rows: list[tuple[Vehicle, str, datetime]]) -> None:
    """For random vehicles, zones and moments (boundary minutes, window edges, anniversaries) batch = single."""
    assert_batch_matches_single(batch_book, rows)


@pytest.fixture(scope="module")
def seeded_sample() -> list[Vehicle]:
    """3,000 vehicles drawn from a fixed seed: categories, bodies, fuels incl. PHEV, DET 1975-2026, codes."""
    rng = random.Random(SAMPLE_SEED)
    return [random_vehicle(rng, f"S{i:05d}") for i in range(SAMPLE_SIZE)]


def test_decide_batch_equals_decide_on_the_seeded_sample(batch_book: RuleBook, seeded_sample: list[Vehicle]) -> None:
    """Every vehicle of the seeded sample, in two random zones at two random moments: batch = single."""
    rng = random.Random(SAMPLE_SEED + 1)
    rows = [(v, rng.choice(ZONES), random_moment(rng, v)) for v in seeded_sample for _ in range(2)]
    assert_batch_matches_single(batch_book, rows)


def test_decide_batch_reads_an_at_column_in_any_timezone(batch_book: RuleBook, seeded_sample: list[Vehicle]) -> None:
    """The same instants written in Europe/Amsterdam or UTC give the same answers."""
    rng = random.Random(3)
    rows = [(v, rng.choice(ZONES), random_moment(rng, v)) for v in seeded_sample[:500]]
    utc = decide_batch(batch_book, rows_frame(rows, "UTC"))["allowed"]
    ams = decide_batch(batch_book, rows_frame(rows, "Europe/Amsterdam"))["allowed"]
    assert utc.to_list() == ams.to_list()


def test_decide_batch_on_an_empty_frame(batch_book: RuleBook) -> None:
    """No rows in, no rows out, with the ``allowed`` and ``blocked_by`` columns."""
    out = decide_batch(batch_book, rows_frame([]))
    assert out.height == 0
    assert {"allowed", "blocked_by"} <= set(out.columns)


@pytest.mark.parametrize("zone", ["dst", "night"])
def test_decide_batch_inside_the_repeated_dst_hour_alone(batch_book: RuleBook, zone: str) -> None:
    """A batch whose only moment is 02:30 CEST on 2025-10-26 (first pass of the repeated hour) matches decide."""
    assert_batch_matches_single(batch_book, [(vehicle(), zone, local(2025, 10, 26, 2, 30))])


def restriction_book(book: RuleBook, subject: Leaf) -> RuleBook:
    """A register with one vehicle-restriction zone ``r`` whose subject is ``subject`` (for goods vehicles)."""
    reg = Regulation(
        "r/restriction",
        "restriction",
        ZoneKind.VEHICLE_RESTRICTION,
        "GM0363",
        LegalSource("gmb-x"),
        subject=All((Leaf("category", Op.IN, ("N1", "N2", "N3")), subject)),
        subject_label="restricted",
    )
    return with_zones(book, [Zone("r", "R", ZoneKind.VEHICLE_RESTRICTION, "GM0363", "A", (reg,))])


def test_decide_batch_with_in_on_a_float_column(batch_book: RuleBook) -> None:
    """A rule ``length_m in [12.0]`` is decided the same way in batch and single."""
    book = restriction_book(batch_book, Leaf("length_m", Op.IN, [12.0]))
    rows = [(vehicle(length_m=12.0), "r", local(2026, 1, 1, 12)), (vehicle(length_m=7.5), "r", local(2026, 1, 1, 12))]
    assert_batch_matches_single(book, rows)


def test_decide_batch_with_not_in_on_an_unknown_value(batch_book: RuleBook) -> None:
    """A rule ``axle_load_kg not_in [10000]`` treats a vehicle with unknown axle load the same in batch and single."""
    book = restriction_book(batch_book, Leaf("axle_load_kg", Op.NOT_IN, [10000]))
    rows = [
        (vehicle(axle_load_kg=None), "r", local(2026, 1, 1, 12)),
        (vehicle(axle_load_kg=11500), "r", local(2026, 1, 1, 12)),
    ]
    assert_batch_matches_single(book, rows)


# --------------------------------------------------------------------------- timeline_batch = timeline


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(vs=st.lists(vehicles(), min_size=1, max_size=25))
def test_timeline_batch_equals_timeline(batch_book: RuleBook, vs: list[Vehicle]) -> None:
    """For random vehicles each zone's segments over 2025-2031 are the same in batch and single."""
    vs = [replace(v, plate=f"H{i:05d}") for i, v in enumerate(vs)]
    assert_timelines_match(batch_book, vs)


def test_timeline_batch_equals_timeline_on_the_seeded_sample(
    batch_book: RuleBook, seeded_sample: list[Vehicle]
) -> None:
    """For the 3,000 seeded vehicles each zone's segments over 2025-2031 are the same in batch and single."""
    assert_timelines_match(batch_book, seeded_sample)


@pytest.mark.parametrize(
    ("det", "change"),
    [(date(1988, 2, 29), midnight(2028, 2, 29)), (date(1987, 3, 1), midnight(2027, 3, 1))],
    ids=["leap-det", "plain-det"],
)
def test_timeline_batch_places_the_fortieth_birthday(batch_book: RuleBook, det: date, change: datetime) -> None:
    """A class-4 van becomes exempt in the ZE zone at local midnight of its 40th anniversary, in both paths."""
    v = vehicle(emission_class=EmissionClass.E4, first_admission=det)
    out = timeline_batch(batch_book, to_frame([v]), ["ze"], start=PERIOD[0], end=PERIOD[1])
    assert [(r["start"], r["state"]) for r in out.iter_rows(named=True)] == [
        (PERIOD[0].astimezone(UTC), "not_allowed"),
        (change.astimezone(UTC), "allowed"),
        (midnight(2030, 1, 1).astimezone(UTC), "not_allowed"),
    ]
    assert_timelines_match(batch_book, [v], ["ze"])


def test_timeline_batch_of_a_zone_that_concerns_nobody(batch_book: RuleBook) -> None:
    """Passenger cars get one allowed segment in the ZE zone, in both paths."""
    cars = [vehicle(plate=f"C{i:05d}", category=Category.M1) for i in range(3)]
    assert_timelines_match(batch_book, cars, ["ze"])


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (midnight(2026, 1, 1), midnight(2026, 1, 1)),
        (midnight(2026, 1, 1), midnight(2025, 1, 1)),
        (datetime(2026, 1, 1), midnight(2027, 1, 1)),
    ],
    ids=["empty", "reversed", "naive"],
)
def test_timeline_batch_rejects_bad_periods(batch_book: RuleBook, start: datetime, end: datetime) -> None:
    """An empty, reversed or naive period is rejected with InvalidInput."""
    with pytest.raises(InvalidInput):
        timeline_batch(batch_book, to_frame([vehicle()]), ["ze"], start=start, end=end)
