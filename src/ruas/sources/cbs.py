"""CBS municipalities (gemeenten): codes, names, provinces, population and boundaries.

The default data set is embedded in the package (``ruas/data/gemeenten/``, see its
``PROVENANCE.md``): the 50 municipalities of Noord-Holland (``PV27``) and Flevoland
(``PV24``), indeling 2024, from the CBS Wijk- en Buurtkaart 2024 via PDOK,
simplified and **land-only** (water belongs to no municipality).
Licence CC-BY 4.0 — "Bron: CBS, Kadaster (PDOK), Wijk- en Buurtkaart 2024".

Every feature is validated on load; a bad file raises :class:`SourceError` whose
``details`` name the ``file``, the ``feature`` index (0-based) and the ``field``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry

from ruas.domain.errors import SourceError

__all__ = [
    "ATTRIBUTION",
    "EMBEDDED_RESOURCE",
    "Municipality",
    "embedded_municipalities",
    "load_municipalities",
    "polygonal",
]

#: Attribution required by the CC-BY 4.0 licence of the embedded boundaries.
ATTRIBUTION = "Bron: CBS, Kadaster (PDOK), Wijk- en Buurtkaart 2024"

#: Location of the embedded GeoJSON inside the ``ruas`` package.
EMBEDDED_RESOURCE = "data/gemeenten/gemeenten_2024_nh_flevoland.geojson"

_CODE = re.compile(r"^GM\d{4}$")
_PROVINCE = re.compile(r"^PV\d{2}$")
_POLYGONAL = ("Polygon", "MultiPolygon")


@dataclass(frozen=True, slots=True)
class Municipality:
    """One CBS municipality with its boundary.

    ``code`` is the CBS code (``GM0363`` Amsterdam); ``province_code`` the CBS
    province code (``PV27`` Noord-Holland, ``PV24`` Flevoland), ``None`` when the
    file does not assign one; ``population`` the number of inhabitants
    (``aantal_inwoners``), ``None`` when unknown; ``geometry`` a GeoJSON
    ``Polygon`` or ``MultiPolygon`` in WGS84 degrees (EPSG:4326, lon/lat order),
    valid in the OGC sense. Hashing ignores the geometry (a dict), equality does not.
    """

    code: str
    name: str
    province_code: str | None
    province_name: str | None
    population: int | None
    geometry: Mapping[str, Any] = field(hash=False, repr=False)


def load_municipalities(path: Path | None = None) -> tuple[Municipality, ...]:
    """Read and validate a GeoJSON FeatureCollection of CBS municipalities, in file order.

    ``path`` defaults to the embedded Noord-Holland/Flevoland file. Each feature
    needs ``properties.gemeentecode`` (``GM`` + 4 digits, unique in the file),
    ``properties.gemeentenaam`` and a ``Polygon``/``MultiPolygon`` geometry in
    WGS84 degrees; ``provinciecode``/``provincienaam``/``aantal_inwoners`` are
    optional (CBS's negative "secret/unknown" population codes become ``None``).
    An invalid polygon is repaired with :func:`shapely.make_valid`, keeping its
    polygonal parts. Anything else raises :class:`SourceError`.
    """
    if path is None:
        resource = files("ruas").joinpath(EMBEDDED_RESOURCE)
        name = f"ruas/{EMBEDDED_RESOURCE}"
        try:
            text = resource.read_text(encoding="utf-8")
        except OSError as exc:  # a broken installation
            raise SourceError(f"{name}: embedded municipality file is missing: {exc}", file=name) from exc
    else:
        name = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise SourceError(f"{name}: file not found", file=name) from exc
        except UnicodeDecodeError as exc:
            raise SourceError(
                f"{name}: not UTF-8 text (byte {exc.start}); expected a GeoJSON file",
                file=name,
                expected="UTF-8 GeoJSON",
            ) from exc
        except OSError as exc:
            raise SourceError(f"{name}: cannot be read: {exc.strerror or exc}", file=name) from exc
    return _parse(text, name)


@cache
def embedded_municipalities() -> tuple[Municipality, ...]:
    """The embedded Noord-Holland and Flevoland municipalities, loaded once per process."""
    return load_municipalities()


def polygonal(geometry: BaseGeometry) -> Polygon | MultiPolygon | None:
    """The polygonal part of ``geometry`` as a valid (Multi)Polygon, or ``None`` if it has no area.

    Invalid input is repaired with :func:`shapely.make_valid`; points and lines
    that the repair may produce (e.g. from a collapsed spike) are dropped.
    """
    geom = geometry if geometry.is_valid else shapely.make_valid(geometry)
    parts: list[Polygon] = []
    for part in shapely.get_parts(geom):
        if isinstance(part, Polygon):
            parts.append(part)
        elif isinstance(part, MultiPolygon):
            parts.extend(part.geoms)
        elif part.geom_type == "GeometryCollection":  # make_valid may nest collections
            sub = polygonal(part)
            if sub is not None:
                parts.extend(sub.geoms if isinstance(sub, MultiPolygon) else [sub])
    parts = [p for p in parts if not p.is_empty and p.area > 0]
    if not parts:
        return None
    result: Polygon | MultiPolygon = parts[0] if len(parts) == 1 else MultiPolygon(parts)
    if not result.is_valid:  # polygons from make_valid touching along an edge: merge them
        merged = shapely.union_all(parts)
        return polygonal(merged) if merged.is_valid else None
    return result


def _parse(text: str, name: str) -> tuple[Municipality, ...]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(
            f"{name}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
            file=name,
            line=exc.lineno,
            column=exc.colno,
            expected="a GeoJSON FeatureCollection",
        ) from exc
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise SourceError(
            f"{name}: expected a GeoJSON FeatureCollection at the top level",
            file=name,
            field="type",
            expected="FeatureCollection",
        )
    features = data.get("features")
    if not isinstance(features, list):
        raise SourceError(
            f"{name}: 'features' is missing or not a list",
            file=name,
            field="features",
            expected="a list of GeoJSON features",
        )
    result: list[Municipality] = []
    seen: dict[str, int] = {}
    for index, feature in enumerate(features):
        municipality = _municipality(feature, index, name)
        first = seen.setdefault(municipality.code, index)
        if first != index:
            raise SourceError(
                f"{name}: feature {index}: properties.gemeentecode {municipality.code!r} "
                f"duplicates feature {first}; expected each municipality once",
                file=name,
                feature=index,
                field="properties.gemeentecode",
                value=municipality.code,
                duplicate_of=first,
            )
        result.append(municipality)
    return tuple(result)


def _fail(name: str, index: int, field_name: str, problem: str, expected: str, value: object = None) -> SourceError:
    """A :class:`SourceError` naming the file, the feature index and the offending field."""
    return SourceError(
        f"{name}: feature {index}: {field_name} {problem}; expected {expected}",
        file=name,
        feature=index,
        field=field_name,
        expected=expected,
        value=value,
    )


def _municipality(feature: object, index: int, name: str) -> Municipality:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise _fail(name, index, "type", "is not a GeoJSON Feature", "an object with type 'Feature'")
    props = feature.get("properties")
    if not isinstance(props, dict):
        raise _fail(name, index, "properties", "is missing or not an object", "an object with 'gemeentecode'")

    code = props.get("gemeentecode")
    if not isinstance(code, str) or not _CODE.match(code):
        raise _fail(
            name,
            index,
            "properties.gemeentecode",
            f"{code!r} is not a CBS municipality code",
            "'GM' followed by 4 digits, e.g. 'GM0363'",
            code,
        )
    where = f"({code})"
    label = props.get("gemeentenaam")
    if not isinstance(label, str) or not label.strip():
        raise _fail(
            name,
            index,
            "properties.gemeentenaam",
            f"{where} is missing or empty",
            "the municipality name",
            label,
        )

    province_code = props.get("provinciecode")
    if province_code is not None and (not isinstance(province_code, str) or not _PROVINCE.match(province_code)):
        raise _fail(
            name,
            index,
            "properties.provinciecode",
            f"{where} is {province_code!r}",
            "null or 'PV' followed by 2 digits, e.g. 'PV27'",
            province_code,
        )
    province_name = props.get("provincienaam")
    if province_name is not None and not isinstance(province_name, str):
        raise _fail(
            name,
            index,
            "properties.provincienaam",
            f"{where} is {province_name!r}",
            "null or a name",
            province_name,
        )

    population = props.get("aantal_inwoners")
    if population is not None and (isinstance(population, bool) or not isinstance(population, int)):
        raise _fail(
            name,
            index,
            "properties.aantal_inwoners",
            f"{where} is {population!r}",
            "null or a whole number of inhabitants",
            population,
        )
    if population is not None and population < 0:  # CBS codes secret/unknown values as negatives
        population = None

    return Municipality(
        code=code,
        name=label.strip(),
        province_code=province_code,
        province_name=province_name,
        population=population,
        geometry=_geometry(feature.get("geometry"), name, index, where),
    )


def _geometry(raw: object, name: str, index: int, where: str) -> dict[str, Any]:
    """The feature's geometry as GeoJSON, checked to be a valid (Multi)Polygon in WGS84 degrees."""
    expected = "a GeoJSON Polygon or MultiPolygon in WGS84 degrees (lon, lat)"
    if not isinstance(raw, dict) or raw.get("type") not in _POLYGONAL:
        kind = raw.get("type") if isinstance(raw, dict) else raw
        raise _fail(name, index, "geometry", f"{where} is {kind!r}", expected)
    try:
        geom = shape(raw)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, shapely.errors.GEOSException) as exc:
        raise _fail(name, index, "geometry", f"{where} has malformed coordinates ({exc})", expected) from exc
    if geom.is_empty:
        raise _fail(name, index, "geometry", f"{where} is empty", expected)
    west, south, east, north = geom.bounds
    if not all(math.isfinite(v) for v in geom.bounds) or west < -180 or east > 180 or south < -90 or north > 90:
        raise _fail(
            name,
            index,
            "geometry",
            f"{where} has coordinates outside WGS84 degrees (bounds {geom.bounds}); "
            "is the file in RD New (EPSG:28992)?",
            expected,
        )
    if geom.is_valid:
        return dict(raw)
    repaired = polygonal(geom)
    if repaired is None:
        raise _fail(
            name,
            index,
            "geometry",
            f"{where} is invalid ({shapely.is_valid_reason(geom)}) and has no area left after repair",
            expected,
        )
    repaired_json: dict[str, Any] = json.loads(shapely.to_geojson(repaired))
    return repaired_json
