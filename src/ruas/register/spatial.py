"""Point lookups in the register: which zones and which municipality contain a place.

A :class:`SpatialIndex` holds the zone polygons and the municipality boundaries in
two Shapely STRtrees of prepared geometries. A query first asks the tree for the
polygons whose bounding box holds the point, then tests only those exactly
(boundary included: a point on a zone's edge is *in* the zone). A query takes about
15 µs for the region's ~60 zones or 50 municipalities, most of it building the point.

Points are ``(lat, lon)`` in WGS84 degrees, the order people type and maps show;
GeoJSON and Shapely use ``(lon, lat)`` internally — this module is the one place
that swaps them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple, Protocol

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from ruas.domain.errors import InvalidInput, UnknownZone
from ruas.sources.cbs import Municipality, embedded_municipalities, polygonal

__all__ = [
    "POINT_EXPECTED",
    "Bounds",
    "HasGeometry",
    "SpatialIndex",
    "check_point",
    "parse_point",
]

#: What a point must look like, shown in every error about a point.
POINT_EXPECTED = "LAT,LON in WGS84 degrees, e.g. 52.3731,4.8926"

# Latitudes that cover the Netherlands with margin (about 50.75..53.55 degrees north),
# used only to recognise a point typed in LON,LAT order.
_NL_LAT_MIN, _NL_LAT_MAX = 50.0, 54.0
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$")


class HasGeometry(Protocol):
    """Anything with a zone ``id`` and a GeoJSON ``geometry`` (WGS84, lon/lat), e.g. a domain ``Zone``."""

    @property
    def id(self) -> str: ...

    @property
    def geometry(self) -> Mapping[str, Any] | None: ...


class Bounds(NamedTuple):
    """A bounding box in WGS84 degrees, in GeoJSON ``bbox`` order (west, south, east, north)."""

    west: float  # minimum longitude
    south: float  # minimum latitude
    east: float  # maximum longitude
    north: float  # maximum latitude


def check_point(lat: float, lon: float) -> tuple[float, float]:
    """Return ``(lat, lon)`` as floats if they are finite WGS84 degrees, else raise :class:`InvalidInput`."""
    for axis, value, limit in (("latitude", lat, 90.0), ("longitude", lon, 180.0)):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInput(
                f"point: {axis} {value!r} is not a number; expected {POINT_EXPECTED}",
                field="point",
                expected=POINT_EXPECTED,
                value=value,
            )
        if not math.isfinite(value) or not -limit <= value <= limit:
            raise InvalidInput(
                f"point: {axis} {value!r} is outside -{limit:g}..{limit:g}; expected {POINT_EXPECTED}",
                field="point",
                expected=POINT_EXPECTED,
                value=value,
            )
    return float(lat), float(lon)


def parse_point(text: str) -> tuple[float, float]:
    """Parse ``"LAT,LON"`` (WGS84 degrees, dot as decimal sign) as given to the CLI's ``--point``.

    Any valid WGS84 point is accepted, except one that looks typed in LON,LAT order
    (the first number outside 50..54 °N while the second is inside), which raises
    :class:`InvalidInput` saying so, as do malformed and out-of-range input.

    >>> parse_point("52.3731, 4.8926")
    (52.3731, 4.8926)
    """

    def bad(problem: str) -> InvalidInput:
        return InvalidInput(
            f"point: {problem}; expected {POINT_EXPECTED}", field="point", expected=POINT_EXPECTED, value=text
        )

    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) == 4 and all(_NUMBER.match(p) for p in parts):
        raise bad(f"{text!r} has four numbers; use a dot as decimal sign (52.3731,4.8926, not 52,3731,4,8926)")
    if len(parts) != 2:
        raise bad(f"{text!r} is not two numbers separated by a comma")
    for part in parts:
        if not _NUMBER.match(part):
            raise bad(f"{part!r} in {text!r} is not a decimal number")
    lat, lon = float(parts[0]), float(parts[1])
    if not _NL_LAT_MIN <= lat <= _NL_LAT_MAX and _NL_LAT_MIN <= lon <= _NL_LAT_MAX:
        raise bad(
            f"{text!r} looks like LON,LAT: expected LAT,LON (latitude first); did you mean {parts[1]},{parts[0]}?"
        )
    return check_point(lat, lon)


class SpatialIndex:
    """Zones and municipalities indexed for fast point-in-polygon lookups.

    ``zones`` are any objects with ``.id`` and a GeoJSON ``.geometry`` (or ``None``
    for zones without a published area: they are known to :meth:`zone_bounds` but
    never found by :meth:`zones_at`). Only polygonal geometry is searched: a zone
    made of road segments (lines) has bounds but contains no point. Invalid polygons
    are repaired with ``make_valid`` (polygonal parts kept). Zone ids and
    municipality codes must be unique. The index is immutable after construction.
    """

    __slots__ = (
        "_bounds",
        "_muni_codes",
        "_muni_geoms",
        "_muni_tree",
        "_zone_geoms",
        "_zone_ids",
        "_zone_tree",
    )

    def __init__(self, zones: Iterable[HasGeometry] = (), municipalities: Iterable[Municipality] = ()) -> None:
        self._bounds: dict[str, Bounds | None] = {}
        zone_ids: list[str] = []
        zone_geoms: list[BaseGeometry] = []
        for zone in zones:
            if zone.id in self._bounds:
                raise InvalidInput(f"zone {zone.id!r} is given twice", field="zones", value=zone.id)
            geom = _shape(zone.geometry, f"zone {zone.id!r}", "zones") if zone.geometry is not None else None
            self._bounds[zone.id] = Bounds(*geom.bounds) if geom is not None else None
            area = polygonal(geom) if geom is not None else None
            if area is not None:
                zone_ids.append(zone.id)
                zone_geoms.append(area)

        seen: set[str] = set()
        muni_codes: list[str] = []
        muni_geoms: list[BaseGeometry] = []
        for municipality in municipalities:
            if municipality.code in seen:
                raise InvalidInput(
                    f"municipality {municipality.code} is given twice",
                    field="municipalities",
                    value=municipality.code,
                )
            seen.add(municipality.code)
            geom = _shape(municipality.geometry, f"municipality {municipality.code}", "municipalities")
            area = polygonal(geom)
            if area is not None:
                muni_codes.append(municipality.code)
                muni_geoms.append(area)

        shapely.prepare(zone_geoms)  # in place: later covers() tests use the prepared form
        shapely.prepare(muni_geoms)
        self._zone_ids = tuple(zone_ids)
        self._zone_geoms = tuple(zone_geoms)
        self._zone_tree = shapely.STRtree(zone_geoms)
        self._muni_codes = tuple(muni_codes)
        self._muni_geoms = tuple(muni_geoms)
        self._muni_tree = shapely.STRtree(muni_geoms)

    @classmethod
    def with_embedded_municipalities(cls, zones: Iterable[HasGeometry] = ()) -> SpatialIndex:
        """An index of ``zones`` and the embedded Noord-Holland/Flevoland municipalities (CBS 2024)."""
        return cls(zones, embedded_municipalities())

    @property
    def zone_ids(self) -> tuple[str, ...]:
        """Ids of all zones given, with or without geometry, in the order given."""
        return tuple(self._bounds)

    def zones_at(self, lat: float, lon: float) -> list[str]:
        """Ids of the zones whose area covers the point (its boundary included), in the order given.

        ``lat``/``lon`` are WGS84 degrees; out-of-range values raise :class:`InvalidInput`.
        """
        point = _point(lat, lon)
        return [self._zone_ids[i] for i in _covering(self._zone_tree, self._zone_geoms, point)]

    def municipality_at(self, lat: float, lon: float) -> str | None:
        """CBS code (``GM0363``) of the municipality whose land area covers the point, or ``None``.

        ``None`` for points outside the indexed municipalities, on water (the CBS
        areas are land-only) and in the slivers the simplified boundaries leave at
        some borders. Where simplified neighbours overlap, the municipality the point
        lies deepest inside (farthest from its boundary) wins.
        """
        point = _point(lat, lon)
        hits = _covering(self._muni_tree, self._muni_geoms, point)
        if not hits:
            return None
        if len(hits) > 1:
            hits.sort(key=lambda i: -self._muni_geoms[i].boundary.distance(point))
        return self._muni_codes[hits[0]]

    def zone_bounds(self, zone_id: str) -> Bounds | None:
        """Bounding box of a zone in WGS84 degrees (west, south, east, north), ``None`` without geometry.

        Raises :class:`UnknownZone` for an id that is not in the index.
        """
        try:
            return self._bounds[zone_id]
        except KeyError:
            raise UnknownZone(f"zone {zone_id!r} is not in the spatial index", field="zone", value=zone_id) from None


def _point(lat: float, lon: float) -> shapely.Point:
    """The checked ``(lat, lon)`` as a Shapely point, which takes ``(x=lon, y=lat)``."""
    lat, lon = check_point(lat, lon)
    return shapely.Point(lon, lat)


def _covering(tree: shapely.STRtree, geoms: tuple[BaseGeometry, ...], point: shapely.Point) -> list[int]:
    """Ascending indices of the prepared ``geoms`` that cover ``point``: bbox filter, then exact test."""
    return [i for i in sorted(tree.query(point).tolist()) if geoms[i].covers(point)]


def _shape(geometry: Mapping[str, Any], what: str, field: str) -> BaseGeometry:
    """A Shapely geometry from GeoJSON, or :class:`InvalidInput` naming ``what`` is malformed."""
    try:
        geom = shape(geometry)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, shapely.errors.GEOSException) as exc:
        raise InvalidInput(
            f"{what}: geometry is not valid GeoJSON ({exc}); expected a GeoJSON geometry in WGS84 degrees",
            field=field,
            expected="GeoJSON geometry",
        ) from exc
    return geom
