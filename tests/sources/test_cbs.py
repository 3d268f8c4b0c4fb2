"""Tests for the CBS municipality loader and the embedded Noord-Holland/Flevoland boundaries."""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import shape

from ruas.domain.errors import SourceError
from ruas.sources.cbs import Municipality, embedded_municipalities, load_municipalities

SQUARE = {"type": "Polygon", "coordinates": [[[4.0, 52.0], [4.1, 52.0], [4.1, 52.1], [4.0, 52.1], [4.0, 52.0]]]}
BOWTIE = {"type": "Polygon", "coordinates": [[[4.0, 52.0], [4.2, 52.2], [4.2, 52.0], [4.0, 52.2], [4.0, 52.0]]]}
FLAT = {"type": "Polygon", "coordinates": [[[4.0, 52.0], [4.0, 52.1], [4.0, 52.2], [4.0, 52.0]]]}
RD_NEW = {"type": "Polygon", "coordinates": [[[121000, 487000], [122000, 487000], [122000, 488000], [121000, 487000]]]}

WriteFeatures = Callable[..., Path]


def feature(code: object = "GM9001", geometry: object = SQUARE, **props: Any) -> dict[str, Any]:
    """A minimal municipality feature; extra keyword arguments become properties."""
    return {
        "type": "Feature",
        "properties": {"gemeentecode": code, "gemeentenaam": f"Test {code}", **props},
        "geometry": geometry,
    }


@pytest.fixture
def write_features(tmp_path: Path) -> WriteFeatures:
    """Write the given features as a FeatureCollection to a temporary file and return its path."""

    def write(*features: dict[str, Any]) -> Path:
        path = tmp_path / "gemeenten.geojson"
        path.write_text(json.dumps({"type": "FeatureCollection", "features": list(features)}), encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="module")
def embedded() -> dict[str, Municipality]:
    """The embedded municipalities by CBS code."""
    return {m.code: m for m in embedded_municipalities()}


def test_embedded_has_44_noord_holland_and_6_flevoland(embedded: dict[str, Municipality]) -> None:
    """The embedded file holds the 2024 indeling: 44 PV27 and 6 PV24 municipalities, 50 in all."""
    assert len(embedded) == 50
    assert Counter(m.province_code for m in embedded.values()) == {"PV27": 44, "PV24": 6}
    assert {m.province_name for m in embedded.values()} == {"Noord-Holland", "Flevoland"}


@pytest.mark.parametrize(
    ("code", "name", "province"),
    [
        ("GM0363", "Amsterdam", "PV27"),
        ("GM0392", "Haarlem", "PV27"),
        ("GM0034", "Almere", "PV24"),
        ("GM0995", "Lelystad", "PV24"),
    ],
)
def test_embedded_key_municipalities(embedded: dict[str, Municipality], code: str, name: str, province: str) -> None:
    """The region's main cities are present with their name and province."""
    assert (embedded[code].name, embedded[code].province_code) == (name, province)


def test_embedded_geometries_are_valid_polygons(embedded: dict[str, Municipality]) -> None:
    """Every embedded boundary is a valid, non-empty (Multi)Polygon within the region's extent."""
    for municipality in embedded.values():
        geom = shape(municipality.geometry)
        assert geom.geom_type in {"Polygon", "MultiPolygon"}, municipality.code
        assert geom.is_valid and not geom.is_empty, municipality.code
        west, south, east, north = geom.bounds
        assert west > 4.4 and east < 6.1 and south > 52.1 and north < 53.3, municipality.code


def test_embedded_population_matches_the_csv_code_list(embedded: dict[str, Municipality]) -> None:
    """The embedded CSV code list agrees with the GeoJSON on names, provinces and population."""
    text = files("ruas").joinpath("data/gemeenten/gemeenten_2024_nh_flevoland.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    assert {r["gemeentecode"] for r in rows} == set(embedded)
    for row in rows:
        m = embedded[row["gemeentecode"]]
        assert (m.name, m.province_code, m.province_name, m.population) == (
            row["gemeentenaam"],
            row["provinciecode"],
            row["provincienaam"],
            int(row["aantal_inwoners"]),
        )


def test_embedded_is_loaded_once() -> None:
    """``embedded_municipalities`` returns the same cached tuple on every call."""
    assert embedded_municipalities() is embedded_municipalities()


def test_municipality_is_hashable_and_frozen(embedded: dict[str, Municipality]) -> None:
    """A municipality can go in a set and cannot be changed."""
    amsterdam = embedded["GM0363"]
    assert amsterdam in {amsterdam}
    with pytest.raises(AttributeError):
        amsterdam.name = "Mokum"  # type: ignore[misc]


def test_load_reads_optional_fields(write_features: WriteFeatures) -> None:
    """Province and population are read when present and ``None`` when absent or a CBS negative code."""
    path = write_features(
        feature("GM9001", provinciecode="PV27", provincienaam="Noord-Holland", aantal_inwoners=1200),
        feature("GM9002", aantal_inwoners=-99997),
    )
    first, second = load_municipalities(path)
    assert (first.code, first.province_code, first.province_name, first.population) == (
        "GM9001",
        "PV27",
        "Noord-Holland",
        1200,
    )
    assert (second.province_code, second.province_name, second.population) == (None, None, None)


def test_load_repairs_a_self_intersecting_polygon(write_features: WriteFeatures) -> None:
    """A bow-tie polygon is repaired with make_valid into a valid polygonal geometry of the same area."""
    (municipality,) = load_municipalities(write_features(feature(geometry=BOWTIE)))
    repaired = shape(municipality.geometry)
    assert repaired.is_valid
    assert repaired.geom_type == "MultiPolygon"
    assert repaired.area == pytest.approx(0.02)


def assert_names_feature(exc: SourceError, path: Path, index: int, field: str) -> None:
    """The error's message and details name the file, the feature index and the field."""
    assert exc.details["file"] == str(path)
    assert exc.details["feature"] == index
    assert exc.details["field"] == field
    assert f"feature {index}" in str(exc) and str(path) in str(exc) and field in str(exc)


@pytest.mark.parametrize("code", ["0363", "GM363", "gm0363", "GM03633", 363, None])
def test_bad_code_is_rejected(write_features: WriteFeatures, code: object) -> None:
    """A code that is not ``GM`` + 4 digits raises SourceError naming the feature and property."""
    path = write_features(feature("GM9001"), feature(code))
    with pytest.raises(SourceError, match="GM0363") as info:
        load_municipalities(path)
    assert_names_feature(info.value, path, 1, "properties.gemeentecode")


def test_invalid_json_is_rejected(tmp_path: Path) -> None:
    """A truncated file raises SourceError naming the file and the line."""
    path = tmp_path / "broken.geojson"
    path.write_text('{"type": "FeatureCollection",\n "features": [', encoding="utf-8")
    with pytest.raises(SourceError, match="invalid JSON at line 2") as info:
        load_municipalities(path)
    assert info.value.details["file"] == str(path)
    assert info.value.details["line"] == 2


def test_missing_geometry_is_rejected(write_features: WriteFeatures) -> None:
    """A feature without geometry raises SourceError naming the feature."""
    path = write_features(feature("GM9001"), feature("GM9002", geometry=None))
    with pytest.raises(SourceError, match=r"GM9002") as info:
        load_municipalities(path)
    assert_names_feature(info.value, path, 1, "geometry")


def test_point_geometry_is_rejected(write_features: WriteFeatures) -> None:
    """A municipality must be an area, not a point."""
    path = write_features(feature(geometry={"type": "Point", "coordinates": [4.9, 52.4]}))
    with pytest.raises(SourceError, match="'Point'") as info:
        load_municipalities(path)
    assert_names_feature(info.value, path, 0, "geometry")


def test_geometry_without_area_is_rejected(write_features: WriteFeatures) -> None:
    """An invalid polygon whose repair leaves no area (all points on a line) raises SourceError."""
    path = write_features(feature(geometry=FLAT))
    with pytest.raises(SourceError, match="no area left") as info:
        load_municipalities(path)
    assert_names_feature(info.value, path, 0, "geometry")


def test_projected_coordinates_are_rejected(write_features: WriteFeatures) -> None:
    """Coordinates in metres (RD New) instead of WGS84 degrees raise SourceError with a hint."""
    path = write_features(feature(geometry=RD_NEW))
    with pytest.raises(SourceError, match="EPSG:28992") as info:
        load_municipalities(path)
    assert_names_feature(info.value, path, 0, "geometry")


def test_duplicate_code_is_rejected(write_features: WriteFeatures) -> None:
    """A code given twice raises SourceError naming the second feature and the first one."""
    path = write_features(feature("GM9001"), feature("GM9002"), feature("GM9001"))
    with pytest.raises(SourceError, match="duplicates feature 0") as info:
        load_municipalities(path)
    assert_names_feature(info.value, path, 2, "properties.gemeentecode")
    assert info.value.details["duplicate_of"] == 0


def test_not_a_feature_collection_is_rejected(write_features: WriteFeatures, tmp_path: Path) -> None:
    """A JSON file that is not a FeatureCollection raises SourceError naming the ``type``."""
    path = tmp_path / "list.geojson"
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(SourceError, match="FeatureCollection") as info:
        load_municipalities(path)
    assert info.value.details["field"] == "type"


def test_missing_file_is_a_source_error(tmp_path: Path) -> None:
    """A path that does not exist raises SourceError, not a bare OSError."""
    path = tmp_path / "absent.geojson"
    with pytest.raises(SourceError, match="not found") as info:
        load_municipalities(path)
    assert info.value.details["file"] == str(path)
