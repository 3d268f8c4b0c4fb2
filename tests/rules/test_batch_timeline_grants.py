"""timeline_batch with held exemptions (ontheffingen) equals engine.timeline with the same grants.

The property draws vehicles, grants of listed and unlisted types, validity bounds at the period's edges
and inside it, grants bound to other zones or municipalities (which must not count), windowed grants and
applications that are not granted, and compares every (vehicle, zone) timeline segment by segment.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruas_rules_kit import (
    DELIVERY_WINDOW,
    DST_WINDOW,
    NIGHT_WINDOW,
    build_book,
    midnight,
    milieuzone,
    vehicle,
    vehicles,
    with_zones,
    ze_zone,
)

from ruas.domain.errors import InvalidInput
from ruas.domain.regulation import ExemptionGrant, GrantStatus, Zone, ZoneKind
from ruas.domain.timeutil import Interval
from ruas.domain.vehicle import EmissionClass, Vehicle
from ruas.domain.windows import parse_window
from ruas.register.vehicle_table import vehicles_to_frame
from ruas.rules.batch import grants_frame, timeline_batch
from ruas.rules.engine import RuleBook, timeline
from ruas.rules.frameworks import RuleSettings

PERIOD = (midnight(2025, 1, 1), midnight(2031, 1, 1))
ZONES = ("ze", "mz", "win", "dst", "night", "both", "rdam")
GRANT_TYPES = (
    "ze-bedrijfseconomisch",  # listed by the ZE regulations
    "mz-ontheffing",  # listed by the milieuzone regulations
    "venstertijd-ontheffing",  # listed by the delivery windows
    "unlisted-type",  # listed nowhere: never counts
)
EDGES = (
    PERIOD[0],
    PERIOD[1],
    PERIOD[0] - timedelta(days=30),
    PERIOD[1] + timedelta(days=30),
    midnight(2027, 1, 1),
    midnight(2028, 1, 1),
)
MOMENTS_FROM = datetime(2024, 6, 1, tzinfo=UTC)
MOMENTS_MINUTES = int((datetime(2031, 6, 1, tzinfo=UTC) - MOMENTS_FROM).total_seconds() // 60)


@pytest.fixture(scope="module")
def grants_book() -> RuleBook:
    """The tiny register plus ``both`` (a ZE and a milieuzone regulation in one zone) and ``rdam`` (a ZE zone
    of another municipality, GM0599)."""
    base = build_book(extra_windows={"dst": DST_WINDOW, "night": NIGHT_WINDOW})
    settings_ = RuleSettings()
    ze_reg = ze_zone(settings_, zone_id="both-ze").regulations[0]
    mz_reg = milieuzone(settings_, zone_id="both-mz").regulations[0]
    both = Zone("both", "ZE and milieuzone", ZoneKind.ZERO_EMISSION, "GM0363", "Amsterdam", (ze_reg, mz_reg))
    rdam = replace(ze_zone(settings_, zone_id="rdam"), authority="GM0599", authority_name="Rotterdam")
    return with_zones(base, (*base.zones, both, rdam))


def moments() -> st.SearchStrategy[datetime]:
    """Period edges, transition dates and any minute from mid-2024 to mid-2031."""
    return st.sampled_from(EDGES) | st.integers(0, MOMENTS_MINUTES).map(lambda m: MOMENTS_FROM + timedelta(minutes=m))


@st.composite
def grants_for(draw: st.DrawFn, plate: str, index: int) -> ExemptionGrant:
    """One application of ``plate``: any type, bounds, zones, municipalities, window and status."""
    start = draw(st.none() | moments())
    end = draw(st.none() | moments().filter(lambda e: start is None or e > start))
    return ExemptionGrant(
        id=f"{plate}-g{index}",
        type_id=draw(st.sampled_from(GRANT_TYPES)),
        plate=plate,
        validity=Interval(start, end),
        zones=draw(st.just(frozenset()) | st.frozensets(st.sampled_from((*ZONES, "elsewhere")), min_size=1)),
        municipalities=draw(st.sampled_from([frozenset(), frozenset({"GM0363"}), frozenset({"GM0599"})])),
        window=draw(st.none() | st.sampled_from([parse_window(DELIVERY_WINDOW), parse_window("Mo-Fr 08:00-12:00")])),
        status=draw(st.sampled_from(list(GrantStatus)) | st.just(GrantStatus.GRANTED)),
    )


@st.composite
def fleets(draw: st.DrawFn) -> tuple[list[Vehicle], list[ExemptionGrant]]:
    """1-8 vehicles with distinct plates, each holding 0-3 applications."""
    count = draw(st.integers(1, 8))
    vs = [draw(vehicles(plate=f"P{i:03d}")) for i in range(count)]
    held = [draw(grants_for(v.plate or "", k)) for v in vs for k in range(draw(st.integers(0, 3)))]
    return vs, held


def batch_segments(
    book: RuleBook, vs: list[Vehicle], grants: list[ExemptionGrant], zones: tuple[str, ...] = ZONES
) -> dict[tuple[str, str], list[tuple[datetime, datetime, str]]]:
    """timeline_batch's segments per (plate, zone), with the grants as a grants frame."""
    rows = {v.plate or "": i for i, v in enumerate(vs)}
    out = timeline_batch(
        book, vehicles_to_frame(vs), list(zones), start=PERIOD[0], end=PERIOD[1], grants=grants_frame(grants, rows)
    )
    got: dict[tuple[str, str], list[tuple[datetime, datetime, str]]] = {}
    for plate, zone, start, end, state in out.iter_rows():
        got.setdefault((plate, zone), []).append((start, end, state))
    return got


def single_segments(
    book: RuleBook, v: Vehicle, zone: str, grants: list[ExemptionGrant]
) -> list[tuple[datetime, datetime, str]]:
    """engine.timeline's segments (UTC) for the vehicle's own grants."""
    own = [g for g in grants if g.plate == v.plate]
    (tl,) = timeline(book, v, [zone], start=PERIOD[0], end=PERIOD[1], grants=own)
    return [(s.start.astimezone(UTC), s.end.astimezone(UTC), s.state.value) for s in tl.segments]


def assert_same(book: RuleBook, vs: list[Vehicle], grants: list[ExemptionGrant]) -> None:
    got = batch_segments(book, vs, grants)
    assert set(got) == {(v.plate, z) for v in vs for z in ZONES}
    for v in vs:
        for z in ZONES:
            assert got[(v.plate or "", z)] == single_segments(book, v, z, grants), (z, v, grants)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fleet=fleets())
def test_timeline_batch_with_grants_equals_timeline(
    grants_book: RuleBook, fleet: tuple[list[Vehicle], list[ExemptionGrant]]
) -> None:
    """Every vehicle's segments in every zone equal the single engine's with the vehicle's grants."""
    vs, held = fleet
    assert_same(grants_book, vs, held)


# --------------------------------------------------------------------------- named cases

DIESEL_VAN = vehicle(plate="VAN001", emission_class=EmissionClass.E4)  # refused in ze from 2025-01-01


def ze_grant(start: datetime | None, end: datetime | None, **kw: object) -> ExemptionGrant:
    return ExemptionGrant("g1", "ze-bedrijfseconomisch", "VAN001", Interval(start, end), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("grant", "expected"),
    [
        pytest.param(
            ze_grant(midnight(2026, 3, 1), midnight(2029, 3, 1)),
            [
                (PERIOD[0], midnight(2026, 3, 1), "not_allowed"),
                (midnight(2026, 3, 1), midnight(2029, 3, 1), "allowed_with_exemption"),
                (midnight(2029, 3, 1), PERIOD[1], "not_allowed"),
            ],
            id="mid-period",
        ),
        pytest.param(
            ze_grant(PERIOD[0], PERIOD[1]),
            [(PERIOD[0], PERIOD[1], "allowed_with_exemption")],
            id="exactly-the-period",
        ),
        pytest.param(ze_grant(None, PERIOD[0]), [(PERIOD[0], PERIOD[1], "not_allowed")], id="ends-at-start"),
        pytest.param(
            ze_grant(midnight(2026, 3, 1), None, zones=frozenset({"rdam"})),
            [(PERIOD[0], PERIOD[1], "not_allowed")],
            id="other-zone",
        ),
        pytest.param(
            ze_grant(midnight(2026, 3, 1), None, municipalities=frozenset({"GM0599"})),
            [(PERIOD[0], PERIOD[1], "not_allowed")],
            id="other-municipality",
        ),
        pytest.param(
            ze_grant(midnight(2026, 3, 1), None, status=GrantStatus.REFUSED),
            [(PERIOD[0], PERIOD[1], "not_allowed")],
            id="refused",
        ),
        pytest.param(
            ze_grant(midnight(2026, 3, 1), None, window=parse_window(DELIVERY_WINDOW)),
            [(PERIOD[0], midnight(2026, 3, 1), "not_allowed"), (midnight(2026, 3, 1), PERIOD[1], "window_only")],
            id="windowed",
        ),
    ],
)
def test_a_held_grant_in_ze(grants_book: RuleBook, grant: ExemptionGrant, expected: list[tuple]) -> None:  # type: ignore[type-arg]
    """The ZE timeline of a class-4 diesel van holding one grant, spelled out (and equal to the engine's)."""
    got = batch_segments(grants_book, [DIESEL_VAN], [grant], ("ze",))[("VAN001", "ze")]
    want = [(a.astimezone(UTC), b.astimezone(UTC), s) for a, b, s in expected]
    assert got == want
    assert got == single_segments(grants_book, DIESEL_VAN, "ze", [grant])


def test_without_grants_nothing_changes(grants_book: RuleBook) -> None:
    """An empty grants frame and no grants give the same table."""
    frame = vehicles_to_frame([DIESEL_VAN])
    plain = timeline_batch(grants_book, frame, list(ZONES), start=PERIOD[0], end=PERIOD[1])
    empty = timeline_batch(
        grants_book, frame, list(ZONES), start=PERIOD[0], end=PERIOD[1], grants=grants_frame([], {"VAN001": 0})
    )
    assert plain.equals(empty)
    assert plain.columns == ["plate", "zone_id", "start", "end", "state"]


def test_a_grant_outside_the_vehicle_table_is_refused(grants_book: RuleBook) -> None:
    """A grants frame naming a vehicle row the table does not have is an error, not ignored."""
    bad = grants_frame([ze_grant(None, None)], {"VAN001": 5})
    with pytest.raises(InvalidInput, match="outside the vehicle table"):
        timeline_batch(grants_book, vehicles_to_frame([DIESEL_VAN]), ["ze"], start=PERIOD[0], end=PERIOD[1], grants=bad)


def test_holders_keep_the_vehicle_order(grants_book: RuleBook) -> None:
    """Segments stay grouped in the order of the vehicle table when a middle vehicle holds a grant."""
    vs = [replace(DIESEL_VAN, plate=p) for p in ("A1", "VAN001", "C3")]
    out = timeline_batch(
        grants_book,
        vehicles_to_frame(vs),
        ["ze"],
        start=PERIOD[0],
        end=PERIOD[1],
        grants=grants_frame([ze_grant(midnight(2026, 3, 1), None)], {"VAN001": 1}),
    )
    assert out.get_column("plate").to_list() == ["A1", "VAN001", "VAN001", "C3"]
    assert out.filter(pl.col("plate") == "VAN001").get_column("state").cast(pl.Utf8).to_list() == [
        "not_allowed",
        "allowed_with_exemption",
    ]
