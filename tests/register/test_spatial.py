"""Tests for point lookups of zones and municipalities and for ``--point`` parsing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from ruas.domain.errors import InvalidInput, UnknownZone
from ruas.domain.regulation import Zone, ZoneKind
from ruas.register.spatial import POINT_EXPECTED, Bounds, SpatialIndex, parse_point

DAM_SQUARE = (52.3731, 4.8926)
LELYSTAD_CENTRE = (52.5185, 5.4714)  # Stadhuisplein
NORTH_SEA = (52.6, 4.2)  # about 20 km off Egmond aan Zee
HAARLEM_GROTE_MARKT = (52.3812, 4.6368)


@dataclass(frozen=True)
class Area:
    """The least a zone needs for the index: an id and a GeoJSON geometry."""

    id: str
    geometry: Mapping[str, Any] | None


def square(west: float, south: float, east: float, north: float) -> dict[str, Any]:
    """A GeoJSON rectangle in WGS84 degrees."""
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


@pytest.fixture(scope="module")
def region() -> SpatialIndex:
    """An index of the embedded Noord-Holland/Flevoland municipalities, without zones."""
    return SpatialIndex.with_embedded_municipalities()


@pytest.fixture
def two_squares() -> SpatialIndex:
    """Two adjacent 0.01° squares near the Dam sharing the edge at lon 4.91, plus a zone without area."""
    return SpatialIndex(
        [
            Area("west", square(4.90, 52.37, 4.91, 52.38)),
            Area("east", square(4.91, 52.37, 4.92, 52.38)),
            Area("announced", None),
        ]
    )


def test_dam_square_is_in_amsterdam(region: SpatialIndex) -> None:
    """The Dam is in Amsterdam (GM0363)."""
    assert region.municipality_at(*DAM_SQUARE) == "GM0363"


def test_lelystad_centre_is_in_lelystad(region: SpatialIndex) -> None:
    """Lelystad's town hall square is in Lelystad (GM0995)."""
    assert region.municipality_at(*LELYSTAD_CENTRE) == "GM0995"


def test_haarlem_grote_markt_is_in_haarlem(region: SpatialIndex) -> None:
    """The Grote Markt is in Haarlem (GM0392)."""
    assert region.municipality_at(*HAARLEM_GROTE_MARKT) == "GM0392"


def test_north_sea_is_in_no_municipality(region: SpatialIndex) -> None:
    """A point in the North Sea is in no (land-only) municipality."""
    assert region.municipality_at(*NORTH_SEA) is None


def test_point_inside_one_square(two_squares: SpatialIndex) -> None:
    """A point well inside the west square is in that zone only."""
    assert two_squares.zones_at(52.375, 4.905) == ["west"]


def test_point_on_shared_edge_is_in_both(two_squares: SpatialIndex) -> None:
    """A point exactly on the shared edge is covered by both zones, in the order given."""
    assert two_squares.zones_at(52.375, 4.91) == ["west", "east"]


def test_point_on_outer_corner_is_covered(two_squares: SpatialIndex) -> None:
    """A point exactly on a square's outer corner counts as inside it."""
    assert two_squares.zones_at(52.38, 4.92) == ["east"]


def test_point_outside_both(two_squares: SpatialIndex) -> None:
    """A point just north of both squares is in no zone."""
    assert two_squares.zones_at(52.3801, 4.905) == []


def test_zone_bounds(two_squares: SpatialIndex) -> None:
    """Bounds are (west, south, east, north); a zone without geometry has none; an unknown id raises."""
    assert two_squares.zone_bounds("east") == Bounds(4.91, 52.37, 4.92, 52.38)
    assert two_squares.zone_bounds("announced") is None
    with pytest.raises(UnknownZone):
        two_squares.zone_bounds("nowhere")


def test_domain_zones_can_be_indexed() -> None:
    """A domain ``Zone`` is accepted as it is."""
    zone = Zone("ams-ze", "ZE-zone", ZoneKind.ZERO_EMISSION, "GM0363", "Amsterdam", (), square(4.8, 52.3, 5.0, 52.4))
    assert SpatialIndex([zone]).zones_at(*DAM_SQUARE) == ["ams-ze"]


def test_duplicate_zone_id_is_rejected() -> None:
    """Two zones with one id raise InvalidInput."""
    with pytest.raises(InvalidInput, match="twice"):
        SpatialIndex([Area("a", square(4, 52, 5, 53)), Area("a", None)])


@pytest.mark.parametrize(("lat", "lon"), [(91.0, 4.9), (52.4, 181.0), (float("nan"), 4.9), (52.4, float("inf"))])
def test_out_of_range_point_is_rejected(two_squares: SpatialIndex, lat: float, lon: float) -> None:
    """A point outside WGS84 ranges raises InvalidInput naming the field ``point`` and the expected form."""
    with pytest.raises(InvalidInput) as info:
        two_squares.zones_at(lat, lon)
    assert info.value.details["field"] == "point"
    assert info.value.details["expected"] == POINT_EXPECTED


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("52.3731,4.8926", (52.3731, 4.8926)),
        (" 52.3731 , 4.8926 ", (52.3731, 4.8926)),
        ("-33.8568,151.2153", (-33.8568, 151.2153)),
        ("52,4", (52.0, 4.0)),
    ],
)
def test_parse_point_accepts_lat_lon(text: str, expected: tuple[float, float]) -> None:
    """Valid ``LAT,LON`` text gives ``(lat, lon)`` floats, also outside the Netherlands."""
    assert parse_point(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not two numbers"),
        ("52.3731", "not two numbers"),
        ("52.3731;4.8926", "not two numbers"),
        ("52.3731,4.8926,0", "not two numbers"),
        ("52,3731,4,8926", "dot as decimal sign"),
        ("north,east", "not a decimal number"),
        ("nan,4.9", "not a decimal number"),
        ("95.0,4.9", "outside -90..90"),
    ],
)
def test_parse_point_rejects_bad_text(text: str, message: str) -> None:
    """Malformed or out-of-range text raises InvalidInput naming ``point`` and the expected form."""
    with pytest.raises(InvalidInput, match=message) as info:
        parse_point(text)
    assert info.value.details["field"] == "point"
    assert POINT_EXPECTED in str(info.value)


def test_parse_point_recognises_swapped_order() -> None:
    """``LON,LAT`` for a Dutch point is refused with a hint to swap."""
    with pytest.raises(InvalidInput, match="looks like LON,LAT: expected LAT,LON") as info:
        parse_point("4.8926,52.3731")
    assert "52.3731,4.8926" in str(info.value)
