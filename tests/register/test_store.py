"""Tests for the register in the database (SQLite and PostgreSQL): seeding, imports, lookups, atomic failure."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from importlib import resources
from pathlib import Path

import polars as pl
import pytest
import shapely
from shapely.geometry import shape

from ruas.domain.errors import InvalidPlate, SourceError, UnknownMunicipality, UnknownVehicle
from ruas.domain.regulation import ZoneKind, ZoneStatus
from ruas.domain.timeutil import LOCAL_TZ
from ruas.domain.vehicle import Body, Category, EmissionClass, Fuel, Vehicle
from ruas.register.store import DATABASE_FILE, EMBEDDED_NDW, Register, embedded_feed, embedded_region
from ruas.rules.engine import decide
from ruas.rules.frameworks import RuleSettings
from ruas.sources.cbs import embedded_municipalities
from ruas.sources.rdw import RdwLoad, load_rdw
from ruas_test_support import register_snapshot

RDW_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "rdw"
ZE_AMSTERDAM = "NDW11_64717e49-b364-4001-b6f9-14270d068764"
AMERSFOORT_2027 = "NDW11_2a67962c-4498-413d-8b33-13f2a21d73c5"
REGION_OWN_ZONES = {
    "ams-s100-heavy",
    "ams-osdorpplein",
    "alk-winkelhart",
    "almere-ze-2028",
    "zaanstad-ze-2030",
    "ams-ze-a10-2028",
}


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def register(backend_dir: Path) -> Register:
    """The seeded register, fresh for this test, on SQLite and on PostgreSQL."""
    return Register.open(backend_dir, RuleSettings())


@pytest.fixture(scope="session")
def national_xml() -> bytes:
    """The embedded national NDW feed of 2025-07-07, as bytes."""
    return resources.files("ruas").joinpath(EMBEDDED_NDW).read_bytes()


@pytest.fixture
def national_file(national_xml: bytes, tmp_path: Path) -> Path:
    """The national NDW feed written to a file of this test."""
    path = tmp_path / "ndw_emissiezones.xml"
    path.write_bytes(national_xml)
    return path


@pytest.fixture
def national_register(register: Register, national_file: Path) -> Register:
    """The seeded register (each backend) into which the full national feed was imported."""
    register.import_ndw(national_file)
    return register


@pytest.fixture
def diesel_van_class6() -> Vehicle:
    """A class-6 diesel van (N1, 3,000 kg, DET 2019-05-01)."""
    return Vehicle(
        category=Category.N1,
        body=Body.VAN,
        fuels=frozenset({Fuel.DIESEL}),
        emission_class=EmissionClass.E6,
        first_admission=date(2019, 5, 1),
        max_mass_kg=3000,
    )


def with_zone_version(xml: bytes, zone_id: str, old: str, new: str, name: str | None = None) -> bytes:
    """The feed with one zone's version attribute changed (and optionally its Dutch name)."""
    head = f'<cz:urbanVehicleAccessRegulation id="{zone_id}" version="{old}">'.encode()
    assert xml.count(head) == 1
    out = xml.replace(head, head.replace(f'version="{old}"'.encode(), f'version="{new}"'.encode()))
    if name is not None:
        start = out.index(head.replace(f'version="{old}"'.encode(), f'version="{new}"'.encode()))
        pattern = re.compile(rb'(<com:value lang="nl">)([^<]*)(</com:value>)')
        m = pattern.search(out, start)
        assert m is not None
        out = out[: m.start(2)] + name.encode() + out[m.end(2) :]
    return out


# --------------------------------------------------------------------------- seeding


def test_seeding_creates_zones_and_vehicles(register: Register) -> None:
    """Seeding publishes the 12 zones of the embedded register and 100,000 synthetic vehicles."""
    assert len(register.store.load_records()) == 12
    assert register.store.version() >= 1
    vehicles = register.store.load_vehicles()
    assert vehicles.height == 100_000
    assert vehicles.get_column("synthetic").all()
    assert vehicles.get_column("plate").str.contains("Q").all()


def test_the_embedded_default_is_a_sqlite_file_in_the_data_dir(data_dir: Path) -> None:
    """Without RUAS_DATABASE_URL the register lives in ruas.db inside RUAS_DATA_DIR."""
    assert (data_dir / DATABASE_FILE).exists()


def test_opening_a_seeded_register_changes_nothing(register: Register) -> None:
    """Opening an already seeded register again publishes nothing and adds no vehicles."""
    before = register_snapshot(register)
    Register.open(register.path, RuleSettings()).zones  # noqa: B018 - compile the book as a real open does
    assert register_snapshot(register) == before


def test_embedded_ndw_zones_are_those_intersecting_the_region(register: Register) -> None:
    """The 6 NDW zones in the register are exactly the feed's zones intersecting the 50 municipalities."""
    municipalities = embedded_municipalities()
    assert len(municipalities) == 50
    region = shapely.union_all([shape(m.geometry) for m in municipalities])
    intersecting = {z.id for z in embedded_feed().zones if shape(z.geometry).intersects(region)}
    assert len(intersecting) == 6
    assert intersecting == set(embedded_region()["ndw_zones"])
    ndw_in_register = {r["id"] for r in register.records if r.get("source", {}).get("kind") == "ndw"}
    assert ndw_in_register == intersecting


def test_register_holds_the_region_zones(register: Register) -> None:
    """Besides the NDW zones: the S100 area, 2 illustrative delivery windows and 3 announced zones."""
    zones = {z.id: z for z in register.zones}
    assert len(zones) == 12
    assert set(zones) >= REGION_OWN_ZONES
    windows = [z for z in zones.values() if z.kind is ZoneKind.TIME_WINDOW]
    assert sorted(z.id for z in windows) == ["alk-winkelhart", "ams-osdorpplein"]
    assert all(z.illustrative for z in windows)
    announced = [z for z in zones.values() if z.status is ZoneStatus.ANNOUNCED]
    assert sorted(z.id for z in announced) == ["almere-ze-2028", "ams-ze-a10-2028", "zaanstad-ze-2030"]
    assert all(z.geometry is None for z in announced)


def test_s100_area_is_the_ze_amsterdam_polygon(register: Register) -> None:
    """The S100 zone's compiled geometry equals ZE Amsterdam's (stored as a reference, not a copy)."""
    s100 = register.book.zone("ams-s100-heavy")
    assert s100.kind is ZoneKind.VEHICLE_RESTRICTION
    assert s100.geometry is not None
    assert s100.geometry == register.book.zone(ZE_AMSTERDAM).geometry
    record = next(r for r in register.records if r["id"] == "ams-s100-heavy")
    assert record["geometry_from"] == ZE_AMSTERDAM


# --------------------------------------------------------------------------- NDW import


def test_import_of_the_national_feed_adds_the_other_36_zones(register: Register, national_file: Path) -> None:
    """Importing the national feed into a fresh register adds 36 zones and leaves the 6 regional ones."""
    result = register.import_ndw(national_file)
    assert len(result.added) == 36
    assert result.updated == ()
    assert len(result.unchanged) == 6
    assert set(result.unchanged) == set(embedded_region()["ndw_zones"])
    reopened = Register.open(register.path, RuleSettings())
    ndw = [z for z in reopened.zones if z.source.get("kind") == "ndw"]
    assert len(ndw) == 42
    assert len(reopened.zones) == 48


def test_every_national_zone_is_checkable(national_register: Register, diesel_van_class6: Vehicle) -> None:
    """At a point inside each of the 42 NDW zones, a decision there includes that zone."""
    at = datetime(2026, 6, 1, 9, 0, tzinfo=LOCAL_TZ)
    ndw = [r for r in national_register.records if r.get("source", {}).get("kind") == "ndw"]
    assert len(ndw) == 42
    missing = []
    for record in ndw:
        point = shape(record["geometry"]).representative_point()
        ids = national_register.zones_at_point(point.y, point.x)
        decision = decide(national_register.book, diesel_van_class6, ids, at=at)
        found = {z.zone_id: z for z in decision.zones}
        if record["id"] not in found or not found[record["id"]].reasons:
            missing.append(record["name"])
    assert missing == []


def test_importing_the_same_feed_twice_changes_nothing(national_register: Register, national_file: Path) -> None:
    """A second import of the same feed reports every zone unchanged and leaves the register unchanged."""
    before = register_snapshot(national_register)
    result = national_register.import_ndw(national_file)
    assert len(result.unchanged) == 42
    assert (result.added, result.updated, result.skipped_older) == ((), (), ())
    assert register_snapshot(national_register) == before


def test_newer_version_updates_that_zone_only(national_register: Register, national_xml: bytes, tmp_path: Path) -> None:
    """A feed with one zone at version 9 and a new name updates that zone by NDW id and keeps the others."""
    newer = tmp_path / "ndw_newer.xml"
    newer.write_bytes(with_zone_version(national_xml, AMERSFOORT_2027, "3", "9", name="ZE Amersfoort 2027 (nieuw)"))
    before = {r["id"]: json.dumps(r, sort_keys=True) for r in national_register.records}
    result = national_register.import_ndw(newer)
    assert result.updated == (AMERSFOORT_2027,)
    assert result.added == ()
    assert len(result.unchanged) == 41
    after = {r["id"]: r for r in Register.open(national_register.path, RuleSettings()).records}
    assert set(after) == set(before)
    assert after[AMERSFOORT_2027]["name"] == "ZE Amersfoort 2027 (nieuw)"
    assert after[AMERSFOORT_2027]["source"]["version"] == 9
    assert {i: json.dumps(r, sort_keys=True) for i, r in after.items() if i != AMERSFOORT_2027} == {
        i: r for i, r in before.items() if i != AMERSFOORT_2027
    }


def test_newer_version_keeps_the_region_notes(register: Register, national_xml: bytes, tmp_path: Path) -> None:
    """Updating ZE Amsterdam from a newer feed keeps the notes the region added to it."""
    newer = tmp_path / "ndw_newer.xml"
    newer.write_bytes(with_zone_version(national_xml, ZE_AMSTERDAM, "4", "9"))
    result = register.import_ndw(newer)
    assert result.updated == (ZE_AMSTERDAM,)
    record = next(r for r in Register.open(register.path, RuleSettings()).records if r["id"] == ZE_AMSTERDAM)
    assert any("S100" in note for note in record["notes"])


def test_older_version_is_skipped(national_register: Register, national_xml: bytes, tmp_path: Path) -> None:
    """A feed holding an older version of a zone skips it and writes nothing."""
    older = tmp_path / "ndw_older.xml"
    older.write_bytes(with_zone_version(national_xml, AMERSFOORT_2027, "3", "1", name="ZE Amersfoort (oud)"))
    before = register_snapshot(national_register)
    result = national_register.import_ndw(older)
    assert result.skipped_older == (AMERSFOORT_2027,)
    assert result.updated == ()
    assert register_snapshot(national_register) == before


@pytest.fixture
def truncated_xml(national_xml: bytes) -> bytes:
    """The national feed cut off halfway."""
    return national_xml[: len(national_xml) // 2]


@pytest.fixture
def wrong_root_xml() -> bytes:
    """A well-formed XML document that is not a DATEX II ControlledZoneTablePublication."""
    return b'<?xml version="1.0" encoding="UTF-8"?><catalogue><item>1</item></catalogue>'


@pytest.fixture
def odd_poslist_xml(national_xml: bytes) -> bytes:
    """The national feed with one number removed from the first posList."""
    m = re.search(rb"<loc:posList>([^<]*)</loc:posList>", national_xml)
    assert m is not None
    numbers = m.group(1).split()
    assert len(numbers) % 2 == 0
    return national_xml[: m.start(1)] + b" ".join(numbers[:-1]) + national_xml[m.end(1) :]


@pytest.mark.parametrize(
    ("bad", "expected_in_message", "element"),
    [
        ("truncated_xml", "not well-formed", "document"),
        ("wrong_root_xml", "root is 'catalogue'", "catalogue"),
        ("odd_poslist_xml", "odd number", "posList"),
    ],
)
def test_broken_feed_raises_and_leaves_the_register(
    register: Register,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    bad: str,
    expected_in_message: str,
    element: str,
) -> None:
    """A truncated, wrong-root or odd-posList feed raises SourceError naming file and element; the register is kept."""
    path = tmp_path / "broken_feed.xml"
    path.write_bytes(request.getfixturevalue(bad))
    before = register_snapshot(register)
    with pytest.raises(SourceError) as info:
        register.import_ndw(path)
    assert "broken_feed.xml" in info.value.message
    assert expected_in_message in info.value.message
    assert info.value.details["file"] == "broken_feed.xml"
    assert element in info.value.details["element"]
    assert register_snapshot(register) == before


def test_missing_feed_file_raises_source_error(register: Register, tmp_path: Path) -> None:
    """Importing a file that does not exist raises SourceError naming it."""
    with pytest.raises(SourceError, match=r"nope\.xml"):
        register.import_ndw(tmp_path / "nope.xml")


# --------------------------------------------------------------------------- vehicles


@pytest.fixture
def rdw_load() -> RdwLoad:
    """The hand-made RDW fixture exports (vehicles, fuel, body, body specifics, special codes) loaded."""
    names = ("voertuigen.csv", "brandstof.csv", "carrosserie.csv", "carrosserie_specificatie.csv", "bijzonderheden.csv")
    return load_rdw([RDW_FIXTURES / n for n in names])


def test_import_vehicles_adds_real_vehicles_next_to_synthetic(register: Register, rdw_load: RdwLoad) -> None:
    """RDW vehicles are stored with synthetic=False next to the synthetic ones; every fixture plate lands."""
    plates = set(rdw_load.vehicles.get_column("plate").to_list())
    result = register.import_vehicles(rdw_load.vehicles)
    assert set(result.added) | set(result.updated) == plates
    assert not set(result.added) & set(result.updated)
    stored = Register.open(register.path).vehicles
    assert stored.height == 100_000 + len(result.added)
    real = stored.filter(~pl.col("synthetic"))
    assert set(real.get_column("plate").to_list()) == plates
    assert stored.filter(pl.col("synthetic")).height == 100_000 - len(result.updated)


def test_imported_vehicle_can_be_looked_up(register: Register, rdw_load: RdwLoad) -> None:
    """After the import, a fresh open finds VQ-456-D as the RDW's class-6 diesel van of 2019."""
    register.import_vehicles(rdw_load.vehicles)
    van = Register.open(register.path).vehicle("vq-456-d")
    assert van.plate == "VQ456D"
    assert not van.synthetic
    assert van.category is Category.N1
    assert van.fuels == frozenset({Fuel.DIESEL})
    assert van.emission_class is EmissionClass.E6
    assert van.first_admission == date(2019, 3, 1)
    assert van.max_mass_kg == 3500


@pytest.mark.parametrize(
    "breakage",
    ["missing column", "unknown category"],
)
def test_invalid_vehicle_frame_leaves_the_table(register: Register, rdw_load: RdwLoad, breakage: str) -> None:
    """A frame without a required column, or with an unknown category, raises and leaves the register unchanged."""
    frames = {
        "missing column": rdw_load.vehicles.drop("fuels"),
        "unknown category": rdw_load.vehicles.with_columns(pl.lit("X9").alias("category")),
    }
    frame = frames[breakage]
    before = register_snapshot(register)
    with pytest.raises(SourceError):
        register.import_vehicles(frame)
    assert register_snapshot(register) == before


def test_unknown_plate_raises_unknown_vehicle(register: Register) -> None:
    """A well-formed plate that is not registered raises UnknownVehicle naming the plate."""
    with pytest.raises(UnknownVehicle, match="XQ999Z"):
        register.vehicle("XQ-999-Z")


def test_malformed_plate_raises_invalid_plate(register: Register) -> None:
    """A plate of the wrong shape raises InvalidPlate before any lookup."""
    with pytest.raises(InvalidPlate):
        register.vehicle("VQ-12")


def test_registered_plate_is_found(register: Register) -> None:
    """The README's example plate VQ39HG is a synthetic van in the seeded register."""
    van = register.vehicle("VQ-39-HG")
    assert van.plate == "VQ39HG"
    assert van.synthetic
    assert van.category is Category.N1


# --------------------------------------------------------------------------- municipalities and points


def test_unknown_municipality_raises(register: Register) -> None:
    """A code that is no CBS municipality code of 2024 raises UnknownMunicipality."""
    with pytest.raises(UnknownMunicipality, match="GM9999"):
        register.zones_of_municipality("GM9999")


def test_almere_has_its_announced_zone(register: Register) -> None:
    """Almere (GM0034) is the authority of exactly the announced ZE zone."""
    assert register.zones_of_municipality("gm0034") == ["almere-ze-2028"]


def test_amsterdam_municipality_lists_its_zones(register: Register) -> None:
    """Amsterdam (GM0363) is the authority of its NDW zones, the S100 area, Osdorpplein and the A10 plan."""
    ids = set(register.zones_of_municipality("GM0363"))
    assert {ZE_AMSTERDAM, "ams-s100-heavy", "ams-osdorpplein", "ams-ze-a10-2028"} <= ids
    assert "almere-ze-2028" not in ids


def test_dam_square_lies_in_ze_amsterdam_and_s100(register: Register) -> None:
    """The Dam (52.3731, 4.8926) lies in ZE Amsterdam and the S100 area, not in Haarlem's zones."""
    ids = register.zones_at_point(52.3731, 4.8926)
    assert ZE_AMSTERDAM in ids
    assert "ams-s100-heavy" in ids
    assert not any("Haarlem" in register.book.zone(i).name for i in ids)
