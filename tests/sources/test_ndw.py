"""Tests for the NDW DATEX II v3 emission-zone parser (``ruas.sources.ndw``)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from importlib.resources import files
from pathlib import Path

import pytest
from lxml import etree
from shapely.geometry import shape

from ruas.domain.conditions import All, Any_, Leaf, Not, Op, from_data, walk
from ruas.domain.errors import SourceError
from ruas.domain.regulation import ZoneKind
from ruas.sources.ndw import (
    NdwFeed,
    NdwZone,
    classify,
    classify_with_reason,
    exemption_groups,
    milieuzone_min_classes,
    milieuzone_min_classes_by_category,
    ndw_geojson,
    parse_ndw,
    restricted_categories,
    restricted_fuels,
)

FEED_FILE = "ndw_emissiezones_datex2_v3_2025-07-07.xml"
ZE_AMSTERDAM = "NDW11_64717e49-b364-4001-b6f9-14270d068764"
MZ_AMSTERDAM = "NDW11_acbf0f7f-56a6-4b36-9a66-4b6d0c69d474"
LEZ_AMSTERDAM = "NDW11_989846cf-0343-4abc-b169-1a2ddaf497d9"

# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def feed_bytes() -> bytes:
    """The national feed shipped inside the package."""
    return (files("ruas") / "data" / "ndw" / FEED_FILE).read_bytes()


@pytest.fixture(scope="module")
def feed(feed_bytes: bytes) -> NdwFeed:
    """The parsed national feed."""
    return parse_ndw(feed_bytes, source_name=FEED_FILE)


@pytest.fixture(scope="module")
def by_name(feed: NdwFeed) -> dict[str, NdwZone]:
    """Zones by their published name (names are unique in this snapshot)."""
    return {z.name: z for z in feed.zones}


@pytest.fixture(scope="module")
def ze_amsterdam(feed: NdwFeed) -> NdwZone:
    """ZE Amsterdam (inside the S100)."""
    return feed.zone(ZE_AMSTERDAM)


@pytest.fixture(scope="module")
def mz_amsterdam(feed: NdwFeed) -> NdwZone:
    """Milieuzone Amsterdam (inside the A10)."""
    return feed.zone(MZ_AMSTERDAM)


@pytest.fixture(scope="module")
def xml_condition_ids(feed_bytes: bytes) -> dict[str, set[str]]:
    """Per zone id, every DATEX condition id in the XML except LocationConditions."""
    root = etree.fromstring(feed_bytes)
    xsi = "{http://www.w3.org/2001/XMLSchema-instance}type"
    out: dict[str, set[str]] = {}
    for zone in root.iter("{*}urbanVehicleAccessRegulation"):
        ids = {
            e.get("id")
            for e in zone.iter("{*}condition", "{*}conditions")
            if not e.get(xsi, "").endswith("LocationCondition")
        }
        out[zone.get("id")] = ids
    return out


# --------------------------------------------------------------------------- the national feed


def test_all_42_zones_parse(feed: NdwFeed) -> None:
    """The snapshot holds 42 zones and an aware publication time."""
    assert len(feed.zones) == 42
    assert feed.publication_time == datetime(2025, 7, 7, 4, 0, 0, 1404, tzinfo=UTC)
    assert feed.table_version_time is not None and feed.table_version_time.tzinfo is not None
    assert feed.source_name == FEED_FILE


def test_zone_ids_unique(feed: NdwFeed) -> None:
    """Every zone id is unique and NDW-prefixed."""
    ids = [z.id for z in feed.zones]
    assert len(set(ids)) == 42
    assert all(i.startswith("NDW11_") for i in ids)


def test_parse_from_path_equals_parse_from_bytes(feed: NdwFeed, tmp_path: Path, feed_bytes: bytes) -> None:
    """Reading a path gives the same zones as reading bytes."""
    path = tmp_path / FEED_FILE
    path.write_bytes(feed_bytes)
    again = parse_ndw(path, source_name="copy")
    assert [z.id for z in again.zones] == [z.id for z in feed.zones]
    assert again.zones[0].condition == feed.zones[0].condition


def test_ze_amsterdam_metadata(ze_amsterdam: NdwZone) -> None:
    """ZE Amsterdam keeps its decree, authority, version and start as published."""
    assert ze_amsterdam.name == "ZE Amsterdam"
    assert ze_amsterdam.regulation_id == "gmb-2024-282973"
    assert ze_amsterdam.authority_name == "Amsterdam"
    assert ze_amsterdam.start == datetime(2025, 1, 1, tzinfo=UTC)
    assert ze_amsterdam.start.utcoffset() is not None
    assert ze_amsterdam.end is None
    assert ze_amsterdam.version == 4
    assert ze_amsterdam.tro_status == "madeAndImplemented"
    assert ze_amsterdam.status == "active"
    assert ze_amsterdam.zone_type == "lowEmissionZone"
    assert ze_amsterdam.record_version_time.tzinfo is not None
    assert ze_amsterdam.url.startswith("http")


def test_ze_amsterdam_is_zero_emission(ze_amsterdam: NdwZone) -> None:
    """ZE Amsterdam restricts N1-N3 and exempts battery/hydrogen, so it is a ZE zone."""
    assert classify(ze_amsterdam) is ZoneKind.ZERO_EMISSION
    assert restricted_categories(ze_amsterdam) == {"N1", "N2", "N3"}
    assert restricted_fuels(ze_amsterdam) == frozenset()


@pytest.mark.parametrize(
    ("name", "authority"),
    [("ZES Maastricht", "Maastricht"), ("ZE Zone", "Eindhoven"), ("onbekend", "Amersfoort")],
)
def test_odd_names_classify_by_content(by_name: dict[str, NdwZone], name: str, authority: str) -> None:
    """Zones whose names say little still classify as zero-emission by their conditions."""
    zone = by_name[name]
    assert zone.authority_name == authority
    assert classify(zone) is ZoneKind.ZERO_EMISSION


def test_placeholder_regulation_ids_kept_verbatim(by_name: dict[str, NdwZone]) -> None:
    """Placeholder decree ids are kept as published."""
    assert by_name["onbekend"].regulation_id == "ntb"
    assert by_name["ZE Haarlemmermeer"].regulation_id == "xxxx"
    assert by_name["ZE Deventer"].regulation_id == "geen"
    assert by_name["ZE Ede"].regulation_id == "onbekend"


def test_lez_and_milieuzone_names_are_environmental(feed: NdwFeed) -> None:
    """Every zone named LEZ/Milieuzone classifies as environmental, every other as zero-emission."""
    for zone in feed.zones:
        expected = ZoneKind.ENVIRONMENTAL if zone.name.startswith(("LEZ", "Milieuzone")) else ZoneKind.ZERO_EMISSION
        assert classify(zone) is expected, zone.name


def test_counts_per_kind(feed: NdwFeed) -> None:
    """The snapshot holds 28 zero-emission and 14 environmental zones."""
    counts = Counter(classify(z) for z in feed.zones)
    assert counts == {ZoneKind.ZERO_EMISSION: 28, ZoneKind.ENVIRONMENTAL: 14}


def test_milieuzone_amsterdam_min_classes(mz_amsterdam: NdwZone) -> None:
    """Milieuzone Amsterdam: light vehicles class 5 (blue), heavy class 6 (purple)."""
    assert classify(mz_amsterdam) is ZoneKind.ENVIRONMENTAL
    assert restricted_fuels(mz_amsterdam) == {"diesel"}
    assert restricted_categories(mz_amsterdam) == frozenset()
    assert milieuzone_min_classes(mz_amsterdam) == {"light": 5, "heavy": 6}
    assert milieuzone_min_classes_by_category(mz_amsterdam) == {
        "M1": 5,
        "N1": 5,
        "M2": 6,
        "M3": 6,
        "N2": 6,
        "N3": 6,
    }


def test_min_classes_by_category_shows_truck_only_exemptions(by_name: dict[str, NdwZone]) -> None:
    """LEZ Breda exempts only N2/N3 class 6: light has no class exemption, buses neither."""
    zone = by_name["LEZ Breda"]
    assert milieuzone_min_classes(zone) == {"light": None, "heavy": 6}
    per = milieuzone_min_classes_by_category(zone)
    assert per["M1"] is None and per["M2"] is None and per["N3"] == 6


def test_min_classes_of_ze_zone_ignore_time_limited_exemptions(ze_amsterdam: NdwZone) -> None:
    """ZE transition exemptions end, so they are no milieuzone minimum class."""
    assert milieuzone_min_classes(ze_amsterdam) == {"light": None, "heavy": None}
    assert set(milieuzone_min_classes_by_category(ze_amsterdam)) == {"N1", "N2", "N3"}


def test_ze_amsterdam_exemption_groups(ze_amsterdam: NdwZone) -> None:
    """ZE Amsterdam publishes class-5 vans until 2027 and class-6 vans until 2028 (UTC instants)."""
    groups = {g["prefix"]: g for g in exemption_groups(ze_amsterdam)}
    assert set(groups) == {
        "euro5Exemption",
        "euro6Exemption",
        "camperExemption",
        "oldtimerExemption",
        "specialVehicleExemption",
        "wheelChairExemption",
        "zeroEmissionExemption",
    }
    euro5, euro6 = groups["euro5Exemption"], groups["euro6Exemption"]
    assert euro5["categories"] == ["N1", "N2"] and euro5["euro_classes"] == [5]
    assert euro5["start"] == datetime(2025, 1, 1, tzinfo=UTC)
    assert euro5["end"] == datetime(2026, 12, 31, 23, tzinfo=UTC)
    assert euro6["euro_classes"] == [6] and euro6["end"] == datetime(2027, 12, 31, 23, tzinfo=UTC)
    assert groups["zeroEmissionExemption"]["fuels"] == ["electric", "hydrogen"]
    assert groups["oldtimerExemption"]["age"] == [("ge", 40)]
    assert groups["specialVehicleExemption"]["special_purposes"] == ["SB", "SF"]
    assert groups["specialVehicleExemption"]["age"] == [("lt", 13)]
    assert groups["wheelChairExemption"]["special_purposes"] == ["SH"]
    assert groups["camperExemption"]["special_purposes"] == ["SA"]
    assert groups["camperExemption"]["holder"] == ["permanent_resident"]


def test_taxi_exemption_maps_year_of_first_registration(feed: NdwFeed) -> None:
    """LEZ Amsterdam's taxi exemption becomes usage taxi and DET on or after 2009-01-01."""
    zone = feed.zone(LEZ_AMSTERDAM)
    taxi = next(g for g in exemption_groups(zone) if g["prefix"] == "taxiExemption")
    assert taxi["usage"] == ["taxi"]
    assert taxi["first_admission"] == [("ge", date(2009, 1, 1))]
    assert zone.datex_leaf_values[f"{LEZ_AMSTERDAM}_taxiExemption_FA"] == "greaterThanOrEqualTo:2009"


def test_geometry_valid_and_in_nl(feed: NdwFeed) -> None:
    """Every zone is a valid lon/lat MultiPolygon inside the Netherlands."""
    for zone in feed.zones:
        assert zone.geometry["type"] == "MultiPolygon"
        geom = shape(zone.geometry)
        assert geom.is_valid and not geom.is_empty and geom.area > 0, zone.name
        min_lon, min_lat, max_lon, max_lat = geom.bounds
        assert min_lon > 3.2 and max_lon < 7.3, zone.name
        assert min_lat > 50.7 and max_lat < 53.6, zone.name


def test_geometry_repair_flags(by_name: dict[str, NdwZone], mz_amsterdam: NdwZone) -> None:
    """Only the three invalid published areas are repaired; nested shells become holes."""
    repaired = {name for name, z in by_name.items() if z.geometry_repaired}
    assert repaired == {"Milieuzone Amsterdam", "ZE Amersfoort 2025", "ZE Amersfoort 2027"}
    assert mz_amsterdam.geometry_repaired
    amersfoort = shape(by_name["ZE Amersfoort 2025"].geometry)
    assert sum(len(p.interiors) for p in amersfoort.geoms) == 6


def test_ze_amsterdam_contains_dam_square(ze_amsterdam: NdwZone) -> None:
    """Dam square (lon 4.8925, lat 52.3731) lies inside ZE Amsterdam: lon/lat were swapped correctly."""
    from shapely.geometry import Point

    assert shape(ze_amsterdam.geometry).contains(Point(4.8925, 52.3731))


def test_condition_round_trip(feed: NdwFeed) -> None:
    """Every zone's condition survives ``from_data(to_data())`` unchanged."""
    for zone in feed.zones:
        assert from_data(zone.condition.to_data()) == zone.condition, zone.name


def test_condition_keeps_every_datex_id(feed: NdwFeed, xml_condition_ids: dict[str, set[str]]) -> None:
    """The tree holds exactly the XML's condition ids minus the LocationCondition (plus #-suffixed leaves)."""
    total = 0
    for zone in feed.zones:
        tree_ids = [n.id for n in walk(zone.condition) if n.id is not None]
        datex_ids = [i for i in tree_ids if "#" not in i]
        assert len(datex_ids) == len(set(datex_ids)), zone.name
        assert set(datex_ids) == xml_condition_ids[zone.id], zone.name
        assert all(i.split("#", 1)[0] in xml_condition_ids[zone.id] for i in tree_ids)
        assert zone.location_id.endswith("_area") and zone.location_id not in tree_ids
        total += len(datex_ids)
    assert total == 417 + 91 + 698  # ConditionSet + ValidityCondition + VehicleCondition in the XML


def test_top_level_shape(ze_amsterdam: NdwZone) -> None:
    """ZE Amsterdam is all(validity, any(N1,N2,N3), not(any(exemptions)))."""
    top = ze_amsterdam.condition
    assert isinstance(top, All) and top.id == f"{ZE_AMSTERDAM}_CS"
    validity, restriction, exemptions = top.children
    assert validity.id == f"{ZE_AMSTERDAM}_VAC" == ze_amsterdam.validity_id
    assert validity == All(
        (Leaf("at", Op.GE, datetime(2025, 1, 1, tzinfo=UTC), f"{ZE_AMSTERDAM}_VAC#overallStartTime"),),
        f"{ZE_AMSTERDAM}_VAC",
    )
    assert isinstance(restriction, Any_)
    assert restriction.children[0] == Leaf("category", Op.EQ, "N1", f"{ZE_AMSTERDAM}_restriction_VC_5")
    assert isinstance(exemptions, Not) and exemptions.id is None
    assert isinstance(exemptions.child, Any_) and exemptions.child.id == f"{ZE_AMSTERDAM}_EX_CS"
    assert ze_amsterdam.location_index == 1


def test_any_vehicle_and_diesel_restriction(mz_amsterdam: NdwZone) -> None:
    """A two-characteristic VehicleCondition becomes an All with #-suffixed children; anyVehicle is true."""
    rid = f"{MZ_AMSTERDAM}_restriction_VC"
    node = next(n for n in walk(mz_amsterdam.condition) if n.id == rid)
    assert node == All((Leaf("fuels", Op.CONTAINS, "diesel", f"{rid}#fuelType"), All((), f"{rid}#vehicleType")), rid)
    assert mz_amsterdam.datex_leaf_values[f"{rid}#fuelType"] == "diesel"
    assert mz_amsterdam.datex_leaf_values[f"{rid}#vehicleType"] == "anyVehicle"
    assert mz_amsterdam.datex_node_types[rid] == "VehicleCondition"


def test_datex_spellings_kept(feed: NdwFeed, ze_amsterdam: NdwZone) -> None:
    """Original DATEX value spellings (euro6, _extended:euro1, times) are kept per node id."""
    values = ze_amsterdam.datex_leaf_values
    assert values[f"{ZE_AMSTERDAM}_euro6Exemption_EC_5"] == "euro6"
    assert values[f"{ZE_AMSTERDAM}_VAC#overallStartTime"] == "2025-01-01T00:00:00Z"
    assert values[f"{ZE_AMSTERDAM}_zeroEmissionExemption_FT_1"] == "battery"
    extended = [z for z in feed.zones if "_extended:euro1" in z.datex_leaf_values.values()]
    assert extended
    zone = extended[0]
    leaf_id = next(k for k, v in zone.datex_leaf_values.items() if v == "_extended:euro1")
    leaf = next(n for n in walk(zone.condition) if n.id == leaf_id)
    assert leaf == Leaf("emission_class", Op.EQ, "1", leaf_id)


def test_ndw_geojson(feed: NdwFeed) -> None:
    """The inspection GeoJSON has one feature per zone with kind, decree and start."""
    fc = ndw_geojson(feed)
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 42
    ams = next(f for f in fc["features"] if f["id"] == ZE_AMSTERDAM)
    props = ams["properties"]
    assert props["kind"] == "zero_emission"
    assert props["regulation_id"] == "gmb-2024-282973"
    assert props["authority"] == "Amsterdam"
    assert props["start"] == "2025-01-01T00:00:00+00:00"
    assert ams["geometry"]["type"] == "MultiPolygon"


# --------------------------------------------------------------------------- hand-written snippets

NS = (
    'xmlns:d2="http://levelC/schema/3/d2Payload" xmlns:cz="http://levelC/schema/3/controlledZone" '
    'xmlns:tro="http://levelC/schema/3/trafficRegulation" '
    'xmlns:loc="http://levelC/schema/3/locationReferencing" xmlns:com="http://levelC/schema/3/common" '
    'xmlns:comx="http://levelC/schema/3/commonExtension" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
)
SQUARE = "52.0 5.0 52.0 5.1 52.1 5.1 52.1 5.0 52.0 5.0"


def area(pos: str = SQUARE, interior: str = "") -> str:
    """A LocationCondition with one polygon."""
    hole = f"<loc:interior><loc:posList>{interior}</loc:posList></loc:interior>" if interior else ""
    return (
        '<tro:conditions xsi:type="tro:LocationCondition" id="Z1_area" version="1">\n'
        '<tro:locationByOrder xsi:type="loc:AreaLocation"><loc:gmlMultiPolygon><loc:gmlPolygon>\n'
        f'<loc:exterior srsName="WGS 84"><loc:posList>{pos}</loc:posList></loc:exterior>{hole}\n'
        "</loc:gmlPolygon></loc:gmlMultiPolygon></tro:locationByOrder></tro:conditions>"
    )


def vehicle(id_: str, characteristics: str) -> str:
    """A VehicleCondition."""
    return (
        f'<tro:conditions xsi:type="tro:VehicleCondition" id="{id_}" version="1">\n'
        f"<tro:vehicleCharacteristics>{characteristics}</tro:vehicleCharacteristics></tro:conditions>"
    )


def ext(inner: str) -> str:
    """Wrap characteristics in the NDW vehicle-characteristics extension."""
    return (
        "<com:_vehicleCharacteristicsExtension><com:vehicleCharacteristicsExtended>"
        f"{inner}</com:vehicleCharacteristicsExtended></com:_vehicleCharacteristicsExtension>"
    )


def category(id_: str, value: str) -> str:
    """A VehicleCondition on one EU vehicle category."""
    return vehicle(
        id_,
        ext(
            f"<comx:regulatedCharacteristics><comx:euVehicleCategory>{value}</comx:euVehicleCategory>"
            "</comx:regulatedCharacteristics>"
        ),
    )


def document(
    *,
    location: str | None = None,
    restriction: str | None = None,
    exemption: str | None = None,
    zone_attrs: str = 'id="Z1" version="1"',
    root_type: str = "cz:ControlledZoneTablePublication",
) -> bytes:
    """A one-zone feed: validity, area, N1 restriction and a battery exemption unless overridden."""
    location = area() if location is None else location
    restriction = category("Z1_R", "n1") if restriction is None else restriction
    exemption = vehicle("Z1_E", "<com:fuelType>battery</com:fuelType>") if exemption is None else exemption
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<d2:payload {NS} xsi:type="{root_type}">
<com:publicationTime>2025-07-07T04:00:00Z</com:publicationTime>
<cz:controlledZoneTable>
<cz:urbanVehicleAccessRegulation {zone_attrs}>
<cz:name><com:values><com:value lang="nl">Test zone</com:value></com:values></cz:name>
<cz:controlledZoneType>lowEmissionZone</cz:controlledZoneType>
<cz:controlledZoneRecordVersionTime>2025-01-01T00:00:00Z</cz:controlledZoneRecordVersionTime>
<cz:status>active</cz:status>
<cz:trafficRegulationOrder id="Z1_TRO" version="1">
<tro:issuingAuthority><com:values><com:value lang="nl">Testdorp</com:value></com:values></tro:issuingAuthority>
<tro:regulationId>onbekend</tro:regulationId>
<tro:status>madeAndImplemented</tro:status>
<tro:trafficRegulation id="Z1_TR" version="1">
<tro:typeOfRegulation xsi:type="tro:AccessRestriction">
<tro:accessRestrictionType>noEntry</tro:accessRestrictionType></tro:typeOfRegulation>
<tro:condition xsi:type="tro:ConditionSet" id="Z1_CS" version="1">
<tro:operator>and</tro:operator>
<tro:conditions xsi:type="tro:ValidityCondition" id="Z1_VAC" version="1"><tro:validityByOrder>
<com:validityStatus>definedByValidityTimeSpec</com:validityStatus>
<com:validityTimeSpecification><com:overallStartTime>2026-01-01T00:00:00Z</com:overallStartTime>
<com:overallEndTime>2030-01-01T00:00:00+01:00</com:overallEndTime></com:validityTimeSpecification>
</tro:validityByOrder></tro:conditions>
{location}
{restriction}
<tro:conditions xsi:type="tro:ConditionSet" id="Z1_EX_CS" version="1">
<tro:negate>true</tro:negate><tro:operator>or</tro:operator>
{exemption}
</tro:conditions>
</tro:condition>
</tro:trafficRegulation>
</cz:trafficRegulationOrder>
</cz:urbanVehicleAccessRegulation>
</cz:controlledZoneTable>
</d2:payload>
"""
    return text.encode()


def parse_one(data: bytes) -> NdwZone:
    """Parse a one-zone snippet and return its zone."""
    return parse_ndw(data, source_name="snippet.xml").zones[0]


def raises(data: bytes, **kwargs: int) -> SourceError:
    """Parse ``data`` and return the SourceError it must raise."""
    with pytest.raises(SourceError) as info:
        parse_ndw(data, source_name="snippet.xml", **kwargs)
    err = info.value
    assert err.details["file"] == "snippet.xml"
    assert set(err.details) >= {"file", "element", "line", "expected"}
    return err


@pytest.fixture
def minimal() -> bytes:
    """A valid one-zone snippet."""
    return document()


def test_minimal_snippet_parses(minimal: bytes) -> None:
    """The hand-written snippet is valid, so the broken variants below fail for their own reason."""
    zone = parse_one(minimal)
    assert zone.id == "Z1" and zone.version == 1 and zone.authority_name == "Testdorp"
    assert zone.start == datetime(2026, 1, 1, tzinfo=UTC)
    assert zone.end == datetime(2029, 12, 31, 23, tzinfo=UTC)
    assert zone.datex_leaf_values["Z1_VAC#overallEndTime"] == "2030-01-01T00:00:00+01:00"
    assert zone.geometry["coordinates"][0][0][0] == [5.0, 52.0]
    assert not zone.geometry_repaired
    assert classify(zone) is ZoneKind.ZERO_EMISSION


def test_truncated_xml(minimal: bytes) -> None:
    """A truncated document raises with the line where parsing stopped."""
    cut = minimal[: len(minimal) // 2]
    err = raises(cut)
    assert err.details["element"] == "document"
    assert isinstance(err.details["line"], int) and err.details["line"] > 1
    assert "well-formed" in err.message


def test_not_xml() -> None:
    """Plain text is not XML."""
    err = raises(b"id;name\n1;ZE\n")
    assert err.details["line"] == 1


def test_wrong_root() -> None:
    """A DATEX payload of another publication type is refused, naming the root."""
    err = raises(document(root_type="cz:SituationPublication"))
    assert err.details["element"] == "payload"
    assert "ControlledZoneTablePublication" in err.details["expected"]


def test_wrong_root_element() -> None:
    """Another root element is refused."""
    err = raises(b"<FeatureCollection/>")
    assert err.details["element"] == "FeatureCollection"


def test_odd_poslist() -> None:
    """A posList with an odd number of numbers names the posList and the area id."""
    err = raises(document(location=area(SQUARE + " 52.0")))
    assert err.details["element"].endswith(
        "conditions[Z1_area]/locationByOrder/gmlMultiPolygon/gmlPolygon/exterior/posList"
    )
    assert err.details["id"] == "Z1_area"
    assert "odd" in err.message
    assert isinstance(err.details["line"], int)


def test_non_numeric_poslist() -> None:
    """A non-number in a posList is named."""
    err = raises(document(location=area(SQUARE.replace("5.1", "5,1", 1))))
    assert "'5,1'" in err.message and err.details["element"].endswith("posList")


def test_too_few_points() -> None:
    """A ring needs at least four points."""
    err = raises(document(location=area("52.0 5.0 52.0 5.1 52.0 5.0")))
    assert "3 points" in err.message


def test_empty_after_repair() -> None:
    """A zero-area ring leaves no polygon after repair."""
    err = raises(document(location=area("52.0 5.0 52.1 5.0 52.2 5.0 52.0 5.0")))
    assert "empty after repair" in err.message
    assert err.details["id"] == "Z1_area"


def test_bow_tie_is_repaired() -> None:
    """A self-intersecting ring is repaired and flagged."""
    zone = parse_one(document(location=area("52.0 5.0 52.1 5.1 52.1 5.0 52.0 5.1 52.0 5.0")))
    assert zone.geometry_repaired
    geom = shape(zone.geometry)
    assert geom.is_valid and len(geom.geoms) == 2


def test_interior_ring_kept() -> None:
    """An interior ring becomes a hole."""
    zone = parse_one(document(location=area(interior="52.02 5.02 52.02 5.05 52.05 5.05 52.05 5.02 52.02 5.02")))
    assert len(zone.geometry["coordinates"][0]) == 2
    assert shape(zone.geometry).area == pytest.approx(0.01 - 0.0009)


def test_unknown_characteristic() -> None:
    """An unknown vehicle characteristic names its element and condition id."""
    restriction = vehicle(
        "Z1_R",
        "<com:grossWeightCharacteristic><com:comparisonOperator>greaterThan</com:comparisonOperator>"
        "</com:grossWeightCharacteristic>",
    )
    err = raises(document(restriction=restriction))
    assert "grossWeightCharacteristic" in err.message
    assert err.details["element"].endswith("conditions[Z1_R]/vehicleCharacteristics/grossWeightCharacteristic")
    assert err.details["id"] == "Z1_R"


def test_unknown_value() -> None:
    """An unknown fuel value is refused, not dropped."""
    err = raises(document(exemption=vehicle("Z1_E", "<com:fuelType>steam</com:fuelType>")))
    assert "'steam'" in err.message and err.details["id"] == "Z1_E"


def test_unknown_condition_type() -> None:
    """An unknown condition type is refused."""
    odd = '<tro:conditions xsi:type="tro:DriverCondition" id="Z1_D" version="1"/>'
    err = raises(document(restriction=odd))
    assert err.details["id"] == "Z1_D" and "DriverCondition" in err.message


def test_zone_without_id() -> None:
    """A zone without id is refused."""
    err = raises(document(zone_attrs='version="1"'))
    assert "without id" in err.message
    assert err.details["element"].endswith("urbanVehicleAccessRegulation")


def test_location_inside_or_refused() -> None:
    """A LocationCondition nested below the top set cannot become the zone area."""
    nested = (
        '<tro:conditions xsi:type="tro:ConditionSet" id="Z1_OR" version="1"><tro:operator>or</tro:operator>'
        f"{area().replace('Z1_area', 'Z1_area2')}</tro:conditions>"
    )
    err = raises(document(restriction=nested))
    assert err.details["id"] == "Z1_area2"


def test_size_cap(minimal: bytes, tmp_path: Path) -> None:
    """Inputs over the size cap are refused before parsing, for bytes and for paths."""
    assert "at most 100" in raises(minimal, max_bytes=100).details["expected"]
    path = tmp_path / "big.xml"
    path.write_bytes(minimal)
    with pytest.raises(SourceError, match="bytes"):
        parse_ndw(path, source_name="big.xml", max_bytes=100)


def test_missing_file(tmp_path: Path) -> None:
    """A missing file raises SourceError, not OSError."""
    with pytest.raises(SourceError, match="cannot read"):
        parse_ndw(tmp_path / "absent.xml", source_name="absent.xml")


def test_external_entity_refused(tmp_path: Path) -> None:
    """A DOCTYPE with an external entity is refused and the entity is never read."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    data = (
        document()
        .replace(
            b"<d2:payload",
            f'<!DOCTYPE d2:payload [<!ENTITY x SYSTEM "file://{secret}">]>\n<d2:payload'.encode(),
            1,
        )
        .replace(b"Test zone", b"&x;")
    )
    err = raises(data)
    assert "DOCTYPE" in err.message
    assert "TOPSECRET" not in str(err.details)


# --------------------------------------------------------------------------- leaf mapping


@pytest.mark.parametrize(
    ("characteristics", "expected", "raw"),
    [
        (
            ext(
                "<comx:regulatedCharacteristics><comx:euVehicleCategory>m</comx:euVehicleCategory>"
                "</comx:regulatedCharacteristics>"
            ),
            Leaf("category_group", Op.EQ, "M"),
            "m",
        ),
        (
            ext(
                "<comx:regulatedCharacteristics><comx:euVehicleCategory>n3</comx:euVehicleCategory>"
                "</comx:regulatedCharacteristics>"
            ),
            Leaf("category", Op.EQ, "N3"),
            "n3",
        ),
        ("<com:fuelType>hydrogen</com:fuelType>", Leaf("fuels", Op.CONTAINS, "hydrogen"), "hydrogen"),
        ("<com:fuelType>petrol</com:fuelType>", Leaf("fuels", Op.CONTAINS, "petrol"), "petrol"),
        ("<com:vehicleUsage>taxi</com:vehicleUsage>", Leaf("usage", Op.CONTAINS, "taxi"), "taxi"),
        (
            '<com:emissions><com:emissionClassificationEuro _extendedValue="euro3">_extended'
            "</com:emissionClassificationEuro></com:emissions>",
            Leaf("emission_class", Op.EQ, "3"),
            "_extended:euro3",
        ),
        (
            ext(
                "<comx:regulatedCharacteristics><comx:euSpecialPurposeVehicle>hearse"
                "</comx:euSpecialPurposeVehicle></comx:regulatedCharacteristics>"
            ),
            Leaf("special_purpose", Op.CONTAINS, "SD"),
            "hearse",
        ),
        (
            ext(
                "<comx:ownerCharacteristic><comx:ownerType>permanentResident</comx:ownerType>"
                "</comx:ownerCharacteristic>"
            ),
            Leaf("holder", Op.CONTAINS, "permanent_resident"),
            "permanentResident",
        ),
        (
            ext(
                "<comx:ageCharacteristic><comx:comparisonOperator>lessThanOrEqualTo</comx:comparisonOperator>"
                "<comx:vehicleAge>12</comx:vehicleAge></comx:ageCharacteristic>"
            ),
            Leaf("age_years", Op.LE, 12),
            "lessThanOrEqualTo:12",
        ),
        (
            ext(
                "<comx:ageCharacteristic><comx:comparisonOperator>lessThan</comx:comparisonOperator>"
                "<comx:yearOfFirstRegistration>2009</comx:yearOfFirstRegistration></comx:ageCharacteristic>"
            ),
            Leaf("first_admission", Op.LT, date(2009, 1, 1)),
            "lessThan:2009",
        ),
        (
            ext(
                "<comx:ageCharacteristic><comx:comparisonOperator>greaterThan</comx:comparisonOperator>"
                "<comx:yearOfFirstRegistration>2009</comx:yearOfFirstRegistration></comx:ageCharacteristic>"
            ),
            Leaf("first_admission", Op.GE, date(2010, 1, 1)),
            "greaterThan:2009",
        ),
        (
            ext(
                "<comx:ageCharacteristic><comx:comparisonOperator>lessThanOrEqualTo</comx:comparisonOperator>"
                "<comx:yearOfFirstRegistration>2009</comx:yearOfFirstRegistration></comx:ageCharacteristic>"
            ),
            Leaf("first_admission", Op.LT, date(2010, 1, 1)),
            "lessThanOrEqualTo:2009",
        ),
        (
            ext(
                "<comx:ageCharacteristic><comx:comparisonOperator>equalTo</comx:comparisonOperator>"
                "<comx:yearOfFirstRegistration>2009</comx:yearOfFirstRegistration></comx:ageCharacteristic>"
            ),
            All((Leaf("first_admission", Op.GE, date(2009, 1, 1)), Leaf("first_admission", Op.LT, date(2010, 1, 1)))),
            "equalTo:2009",
        ),
    ],
)
def test_leaf_mapping(characteristics: str, expected: Leaf | All, raw: str) -> None:
    """Each DATEX characteristic maps to its allow-listed leaf, keeping the id and the raw spelling."""
    zone = parse_one(document(exemption=vehicle("Z1_E", characteristics)))
    node = next(n for n in walk(zone.condition) if n.id == "Z1_E")
    if isinstance(expected, Leaf):
        assert node == Leaf(expected.field, expected.op, expected.value, "Z1_E")
    else:
        assert node == All(expected.children, "Z1_E")
    assert zone.datex_leaf_values["Z1_E"] == raw


def test_negated_vehicle_condition_wraps_in_not() -> None:
    """A negated VehicleCondition becomes Not(leaf) with the id on the leaf."""
    zone = parse_one(
        document(
            restriction=category("Z1_R", "n1").replace(
                "<tro:vehicleCharacteristics>", "<tro:negate>true</tro:negate><tro:vehicleCharacteristics>"
            )
        )
    )
    top = zone.condition
    assert isinstance(top, All)
    assert top.children[1] == Not(Leaf("category", Op.EQ, "N1", "Z1_R"))


def test_unclassifiable_zone_has_reason() -> None:
    """A zone restricting N1 without any zero-emission exemption is not classified."""
    zone = parse_one(document(exemption=vehicle("Z1_E", "<com:fuelType>lpg</com:fuelType>")))
    kind, reason = classify_with_reason(zone)
    assert kind is None and "battery/hydrogen" in reason
    with pytest.raises(SourceError, match="cannot classify"):
        classify(zone)
