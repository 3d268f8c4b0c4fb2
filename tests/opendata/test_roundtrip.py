"""Round trip: import NDW -> export (DATEX II) -> import gives the same regulations and the same decisions."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ruas.domain.vehicle import Body, Category, EmissionClass, Fuel, Vehicle
from ruas.opendata.ndw_profile import controlled_zone_xml
from ruas.opendata.snapshot import Snapshot, resolve_geometry
from ruas.opendata.tr_import import parse_traffic_regulations
from ruas.opendata.traffic_regulation import traffic_regulation_xml
from ruas.register.ndw_records import records_from_feed
from ruas.register.records import Record, compile_book
from ruas.rules.engine import RuleBook, decide
from ruas.rules.frameworks import RuleSettings
from ruas.sources.ndw import parse_ndw


def _reimport(snapshot: Snapshot) -> list[Record]:
    """Both published files read back by our importers, in register order."""
    zones = records_from_feed(parse_ndw(controlled_zone_xml(snapshot), source_name="cz.xml"))
    others = parse_traffic_regulations(traffic_regulation_xml(snapshot), source_name="tr.xml")
    by_id = {r["id"]: r for r in zones + others}
    return [by_id[r["id"]] for r in snapshot.records]


@pytest.fixture(scope="module")
def books(national: Snapshot) -> tuple[RuleBook, RuleBook]:
    before = compile_book(resolve_geometry(list(national.records)), RuleSettings())
    after = compile_book(resolve_geometry(_reimport(national)), RuleSettings())
    return before, after


def test_reimport_gives_the_same_zones_and_regulations(books: tuple[RuleBook, RuleBook]) -> None:
    before, after = books
    assert [z.id for z in after.zones] == [z.id for z in before.zones]
    for a, b in zip(before.zones, after.zones, strict=True):
        assert b.regulations == a.regulations, a.id
        assert b.geometry == a.geometry and b.published_condition == a.published_condition, a.id
        assert (b.name, b.kind, b.authority, b.status, b.notes) == (a.name, a.kind, a.authority, a.status, a.notes)


def test_second_round_is_byte_identical(national: Snapshot) -> None:
    again = Snapshot(tuple(_reimport(national)), national.version, national.version_time)
    assert traffic_regulation_xml(again) == traffic_regulation_xml(national)
    assert controlled_zone_xml(again) == controlled_zone_xml(national)


@st.composite
def vehicles(draw: st.DrawFn) -> Vehicle:
    fuels = draw(st.sets(st.sampled_from(list(Fuel)), min_size=1, max_size=2))
    zero = fuels <= {Fuel.ELECTRIC, Fuel.HYDROGEN}
    return Vehicle(
        category=draw(st.sampled_from(list(Category))),
        body=draw(st.sampled_from(list(Body))),
        fuels=frozenset(fuels),
        emission_class=EmissionClass.Z if zero else draw(st.sampled_from([e for e in EmissionClass if e.value != "Z"])),
        first_admission=draw(st.dates(date(1975, 1, 1), date(2030, 12, 31))),
        max_mass_kg=draw(st.integers(800, 60_000)),
        length_m=draw(st.one_of(st.none(), st.floats(2.5, 25.0))),
        height_m=draw(st.one_of(st.none(), st.floats(1.2, 4.5))),
        body_codes=frozenset(draw(st.sets(st.sampled_from(["15", "16", "19", "23", "26", "27", "31", "40"])))),
        special_purpose=frozenset(draw(st.sets(st.sampled_from(["SA", "SB", "SF", "SH"]), max_size=1))),
        special_codes=frozenset(draw(st.sets(st.sampled_from(["145", "146", "70"]), max_size=1))),
        usage=frozenset(draw(st.sets(st.just("taxi")))),
        holder=frozenset(draw(st.sets(st.just("permanent_resident")))),
    )


moments = st.datetimes(datetime(2019, 1, 1), datetime(2032, 1, 1), timezones=st.just(UTC))


@settings(max_examples=150, deadline=None)
@given(vehicle=vehicles(), at=moments, data=st.data())
def test_reimported_register_decides_the_same(
    books: tuple[RuleBook, RuleBook], vehicle: Vehicle, at: datetime, data: st.DataObject
) -> None:
    before, after = books
    ids = [z.id for z in before.zones]
    place = data.draw(st.lists(st.sampled_from(ids), min_size=1, max_size=4, unique=True), label="place")
    assert decide(after, vehicle, place, at=at).to_data() == decide(before, vehicle, place, at=at).to_data()
