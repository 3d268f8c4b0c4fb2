"""Golden files for the GeoJSON and OSM-tag exports of the embedded region register."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ruas.domain.conditions import All, Condition, Leaf, Not, Op
from ruas.domain.regulation import LegalSource, Regulation, ZoneKind
from ruas.opendata.geojson import dumps, geojson_bytes
from ruas.opendata.osm import osm_document, regulation_tags
from ruas.opendata.snapshot import EPOCH, Snapshot, records_snapshot
from ruas.register.store import embedded_records

GOLDEN = Path(__file__).parent / "golden"
REGION_ONLY = (
    "ams-s100-heavy",
    "ams-osdorpplein",
    "alk-winkelhart",
    "almere-ze-2028",
    "NDW11_64717e49-b364-4001-b6f9-14270d068764",
)


@pytest.fixture(scope="module")
def region() -> Snapshot:
    """The embedded register's own zones plus ZE Amsterdam (whose area the S100 rules reuse)."""
    return records_snapshot([r for r in embedded_records() if r["id"] in REGION_ONLY], version=3, at=EPOCH)


def _golden(name: str, data: bytes) -> None:
    path = GOLDEN / name
    if os.environ.get("RUAS_UPDATE_GOLDEN") == "1":
        path.write_bytes(data)
    assert path.exists(), "run once with RUAS_UPDATE_GOLDEN=1 to create the golden file"
    assert data == path.read_bytes(), f"{name} changed; review and rerun with RUAS_UPDATE_GOLDEN=1"


def test_geojson_golden(region: Snapshot) -> None:
    _golden("region.geojson", geojson_bytes(region))


def test_osm_tags_golden(region: Snapshot) -> None:
    _golden("region_osm_tags.json", dumps(osm_document(region)))


def test_geojson_has_every_zone_with_its_rules(region: Snapshot) -> None:
    doc = json.loads(geojson_bytes(region))
    by_id = {f["id"]: f for f in doc["features"]}
    assert set(by_id) == set(REGION_ONLY)
    assert by_id["almere-ze-2028"]["geometry"] is None
    s100 = by_id["ams-s100-heavy"]
    assert s100["geometry"] == by_id["NDW11_64717e49-b364-4001-b6f9-14270d068764"]["geometry"]
    subject = s100["properties"]["regulations"][0]["subject_condition"]
    assert {"field": "max_mass_kg", "op": "gt", "value": 7500} in subject["all"]


def _reg(subject: Condition, types: tuple[str, ...] = ()) -> Regulation:
    return Regulation(
        id="r",
        name="r",
        kind=ZoneKind.VEHICLE_RESTRICTION,
        authority="GM0363",
        legal_source=LegalSource("x"),
        subject=subject,
        subject_label="s",
        exemption_types=types,
    )


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        (Leaf("length_m", Op.GT, 10), {"maxlength": "10"}),
        (Leaf("height_m", Op.GT, 3.8), {"maxheight": "3.8"}),
        (Leaf("width_m", Op.GT, 2.2), {"maxwidth": "2.2"}),
        (Leaf("axle_load_kg", Op.GT, 10_000), {"maxaxleload": "10"}),
        (All((Leaf("category_group", Op.EQ, "N"), Leaf("max_mass_kg", Op.GT, 7500))), {"maxweightrating:hgv": "7.5"}),
        (
            All((Leaf("category_group", Op.IN, ["M", "N"]), Not(Leaf("at", Op.IN_WINDOW, "Mo-Fr 07:00-11:00")))),
            {"motor_vehicle": "no", "motor_vehicle:conditional": "yes @ (Mo-Fr 07:00-11:00)"},
        ),
    ],
)
def test_osm_tags_for_segment_rules(subject: Condition, expected: dict[str, str]) -> None:
    tags, _ = regulation_tags(_reg(subject))
    assert tags == expected


def test_rules_osm_cannot_say_get_no_tag_and_a_reason() -> None:
    tags, notes = regulation_tags(_reg(Leaf("body", Op.EQ, "tractor")))
    assert tags == {}
    assert any("no OSM tag" in n for n in notes)


def test_permit_is_suggested_for_exemptions() -> None:
    tags, notes = regulation_tags(_reg(Leaf("length_m", Op.GT, 10), ("ams-lengte-ontheffing",)))
    assert tags == {"maxlength": "10", "maxlength:conditional": "none @ permit"}
    assert any("ams-lengte-ontheffing" in n for n in notes)
