"""The TrafficRegulation export validates against the DATEX II v3 schema and reads back without loss."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from ruas.domain.errors import SourceError
from ruas.domain.vehicle import Body, Category, EmissionClass, Fuel, Vehicle
from ruas.opendata.snapshot import Snapshot, resolve_geometry
from ruas.opendata.tr_import import parse_traffic_regulations
from ruas.opendata.traffic_regulation import COM, TRO, exported_records, traffic_regulation_xml
from ruas.register.records import Record, compile_book, compile_record
from ruas.rules.engine import RuleBook, decide
from ruas.rules.frameworks import RuleSettings


@pytest.fixture(scope="module")
def document(national: Snapshot) -> bytes:
    return traffic_regulation_xml(national)


def _resolved(records: list[Record], context: tuple[Record, ...]) -> list[Record]:
    ids = {r["id"] for r in records}
    return [r for r in resolve_geometry([*(c for c in context if c["id"] not in ids), *records]) if r["id"] in ids]


def test_publication_validates_against_the_datex_v3_schema(document: bytes, datex_schema: etree.XMLSchema) -> None:
    tree = etree.fromstring(document).getroottree()
    assert datex_schema.validate(tree), datex_schema.error_log


def test_schema_catches_a_broken_publication(document: bytes, datex_schema: etree.XMLSchema) -> None:
    broken = document.replace(b"<tro:accessRestrictionType>noEntry<", b"<tro:accessRestrictionType>keepOut<", 1)
    assert not datex_schema.validate(etree.fromstring(broken).getroottree())


def test_one_order_per_regulation_outside_the_ndw_profile(document: bytes, national: Snapshot) -> None:
    orders = etree.fromstring(document).findall(f".//{{{TRO}}}trafficRegulationOrder")
    expected = [reg.id for r in exported_records(national) for reg in compile_record(r, RuleSettings()).regulations]
    assert [o.get("id") for o in orders] == expected
    assert "ams-s100-heavy/over-7.5t" in expected and "almere-ze-2028/ze" in expected
    status = {o.get("id"): o.findtext(f"{{{TRO}}}status") for o in orders}
    assert status["almere-ze-2028/ze"] == "planned"
    assert status["ams-s100-heavy/length-10m"] == "madeAndImplemented"


def test_weight_limit_and_permit_are_native_datex(document: bytes) -> None:
    root = etree.fromstring(document)
    order = next(o for o in root.iter(f"{{{TRO}}}trafficRegulationOrder") if o.get("id") == "ams-s100-heavy/over-7.5t")
    weight = order.find(f".//{{{COM}}}grossWeightCharacteristic")
    assert weight is not None
    assert weight.findtext(f"{{{COM}}}comparisonOperator") == "greaterThan"
    assert weight.findtext(f"{{{COM}}}grossVehicleWeight") == "7.5"
    assert weight.findtext(f"{{{COM}}}typeOfWeight") == "maximumPermitted"
    permits = [
        c
        for c in order.iter(f"{{{TRO}}}conditions")
        if c.get("{http://www.w3.org/2001/XMLSchema-instance}type") == "tro:PermitCondition"
    ]
    assert len(permits) == 1


def test_own_export_reads_back_to_the_same_regulations(document: bytes, national: Snapshot) -> None:
    original = exported_records(national)
    back = _resolved(parse_traffic_regulations(document, source_name="tr.xml"), national.records)
    assert [r["id"] for r in back] == [r["id"] for r in original]
    for before, after in zip(original, back, strict=True):
        assert compile_record(after, RuleSettings()) == compile_record(before, RuleSettings()), before["id"]


def test_export_is_deterministic(national: Snapshot, document: bytes) -> None:
    assert traffic_regulation_xml(national) == document
    assert traffic_regulation_xml(replace(national, version=8)) != document


def test_a_window_datex_cannot_say_travels_only_in_the_extension(document: bytes) -> None:
    root = etree.fromstring(document)
    order = next(
        o for o in root.iter(f"{{{TRO}}}trafficRegulationOrder") if o.get("id") == "alk-winkelhart/outside-window"
    )
    assert order.find(f".//{{{COM}}}validPeriod") is None
    with pytest.raises(SourceError, match="validity condition without a time specification"):
        parse_traffic_regulations(etree.tostring(root), source_name="tr.xml", native_only=True)


def test_not_a_traffic_regulation_publication_is_refused() -> None:
    with pytest.raises(SourceError, match="TrafficRegulationPublication"):
        parse_traffic_regulations(
            b'<a xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="x:Y"/>', source_name="x.xml"
        )


# --------------------------------------------------------------------------- native DATEX only

NATIVE = ("ams-s100-heavy", "ams-osdorpplein")


@pytest.fixture(scope="module")
def native_books(document: bytes, national: Snapshot) -> tuple[RuleBook, RuleBook]:
    """The S100 and Osdorpplein rules from our records and as read from the standard DATEX elements alone."""
    root = etree.fromstring(document)
    holder = root.find(f"{{{TRO}}}trafficRegulationsFromCompetentAuthorities")
    for order in list(holder):
        if not order.get("id", "").startswith(NATIVE):
            holder.remove(order)
    native = parse_traffic_regulations(etree.tostring(root), source_name="tr.xml", native_only=True)
    ours = [r for r in resolve_geometry(national.records) if r["id"] in NATIVE]
    for rec in native:  # DATEX names no zone: orders are keyed by regulation; bring them under their zone id
        rec["id"] = rec["id"].split("/")[0]
    merged: dict[str, Record] = {}
    for rec in native:
        merged.setdefault(rec["id"], {**rec, "regulations": []})["regulations"].extend(rec["regulations"])
    return compile_book(ours, RuleSettings()), compile_book(list(merged.values()), RuleSettings())


vehicles = st.builds(
    Vehicle,
    category=st.sampled_from([Category.M1, Category.N1, Category.N2, Category.N3, Category.L]),
    body=st.sampled_from(list(Body)),
    fuels=st.sets(st.sampled_from(list(Fuel)), min_size=1, max_size=2).map(frozenset),
    emission_class=st.sampled_from([e for e in EmissionClass if e is not EmissionClass.Z]),
    first_admission=st.dates(date(1980, 1, 1), date(2029, 12, 31)),
    max_mass_kg=st.integers(1_000, 50_000),
    length_m=st.one_of(st.none(), st.floats(3.0, 18.0)),
)
moments = st.datetimes(datetime(2020, 1, 1), datetime(2031, 1, 1), timezones=st.just(UTC))


@settings(max_examples=60, deadline=None)
@given(vehicle=vehicles, at=moments)
def test_native_datex_alone_gives_the_same_access(
    native_books: tuple[RuleBook, RuleBook], vehicle: Vehicle, at: datetime
) -> None:
    ours, native = native_books
    for zone_id in NATIVE:
        a = decide(ours, vehicle, [zone_id], at=at).zones[0]
        b = decide(native, vehicle, [zone_id], at=at).zones[0]
        assert a.access == b.access
        assert a.allowed_until == b.allowed_until and a.allowed_from == b.allowed_from
