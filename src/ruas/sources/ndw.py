"""NDW emission zones: DATEX II v3 ``ControlledZoneTablePublication`` to RUAS data.

The national feed publishes every zero-emission zone (ZE/ZES) and environmental zone
(milieuzone/LEZ) as one ``cz:urbanVehicleAccessRegulation`` whose traffic regulation
holds one condition tree::

    and(ValidityCondition, LocationCondition, <restriction>, not(or(<exemption groups>)))

:func:`parse_ndw` converts that tree *losslessly* into our
:mod:`ruas.domain.conditions` tree (every DATEX condition id kept as a node id), except
the ``LocationCondition``, which becomes the zone's GeoJSON geometry. Any element the
converter does not know raises :class:`~ruas.domain.errors.SourceError` naming the
element path, the nearest DATEX id and the source line: nothing is silently dropped.

Mapping (DATEX ``vehicleCharacteristics`` → allow-listed condition fields):

========================================  ==============================================
``comx:euVehicleCategory`` n1 / m / n     ``category eq N1`` / ``category_group eq M`` / ``N``
``com:fuelType`` battery / hydrogen ...   ``fuels contains electric`` / ``hydrogen`` ...
``com:vehicleType`` anyVehicle            empty ``All`` (true), keeping the id
``com:emissionClassificationEuro`` euro6  ``emission_class eq 6`` (also ``_extended`` euro1-4)
``comx:euSpecialPurposeVehicle``          ``special_purpose contains SA..SH``
``com:vehicleUsage`` taxi                 ``usage contains taxi``
``comx:ownerType`` permanentResident      ``holder contains permanent_resident``
``comx:vehicleAge`` + operator            ``age_years ge/gt/lt/le/eq N``
``comx:yearOfFirstRegistration`` + op     ``first_admission`` against 1 January of the year
``tro:ValidityCondition``                 ``All(at ge start, at lt end)``
========================================  ==============================================

A ``VehicleCondition`` with one characteristic becomes one node carrying the DATEX id;
with several it becomes an ``All`` with the DATEX id whose children carry
``<id>#<element>`` (e.g. ``..._restriction_VC#fuelType``). Validity leaves carry
``<id>#overallStartTime`` / ``<id>#overallEndTime``. A ``negate`` wraps the converted
node in ``Not`` (without id). The original DATEX spellings are kept per node id in
:attr:`NdwZone.datex_leaf_values` and the DATEX type of every id in
:attr:`NdwZone.datex_node_types`, so an exporter can write the feed back.

Classification (:func:`classify`) looks at what the conditions restrict, never at the
zone name: ``ZES Maastricht``, ``ZE Zone`` or ``onbekend`` are classified by content.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypedDict

import shapely
from lxml import etree
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from ruas.domain.conditions import All, Any_, Condition, Leaf, Not, Op, walk
from ruas.domain.errors import SourceError
from ruas.domain.regulation import ZoneKind

__all__ = [
    "DEFAULT_MAX_BYTES",
    "ExemptionGroup",
    "NdwFeed",
    "NdwZone",
    "classify",
    "classify_with_reason",
    "exemption_groups",
    "milieuzone_min_classes",
    "milieuzone_min_classes_by_category",
    "ndw_geojson",
    "parse_ndw",
    "restricted_categories",
    "restricted_fuels",
]

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
"""Inputs larger than this (bytes) are refused before parsing."""

_XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
_WGS84_NAMES = frozenset(
    {
        "WGS 84",
        "WGS84",
        "EPSG:4326",
        "urn:ogc:def:crs:EPSG::4326",
        "http://www.opengis.net/def/crs/EPSG/0/4326",
    }
)

# --------------------------------------------------------------------------- DATEX code lists

_FUELS: dict[str, str] = {
    "battery": "electric",
    "hydrogen": "hydrogen",
    "diesel": "diesel",
    "petrol": "petrol",
    "lpg": "lpg",
}
_EU_CATEGORIES: dict[str, tuple[str, str]] = {
    "m1": ("category", "M1"),
    "m2": ("category", "M2"),
    "m3": ("category", "M3"),
    "n1": ("category", "N1"),
    "n2": ("category", "N2"),
    "n3": ("category", "N3"),
    "m": ("category_group", "M"),
    "n": ("category_group", "N"),
    "l": ("category_group", "L"),
    "o": ("category_group", "O"),
    "t": ("category_group", "T"),
}
# EU special-purpose codes (Directive 2007/46/EC, annex II part A point 5).
_SPECIAL_PURPOSES: dict[str, str] = {
    "motorCaravan": "SA",
    "armouredVehicle": "SB",
    "ambulance": "SC",
    "hearse": "SD",
    "trailerCaravan": "SE",
    "mobileCrane": "SF",
    "otherSpecialPurposeVehicle": "SG",  # DATEX spelling of SG not seen in the feed (unconfirmed)
    "other": "SG",
    "wheelChairAccessibleVehicle": "SH",
}
_USAGES: dict[str, str] = {"taxi": "taxi"}
_OWNER_TYPES: dict[str, str] = {"permanentResident": "permanent_resident"}
_COMPARISON: dict[str, Op] = {
    "equalTo": Op.EQ,
    "greaterThan": Op.GT,
    "greaterThanOrEqualTo": Op.GE,
    "lessThan": Op.LT,
    "lessThanOrEqualTo": Op.LE,
}
_EURO_RE = re.compile(r"^euro(?P<n>[0-6])(?:[a-z][A-Za-z]*)?$")
_EURO_ROMAN = {"euroI": 1, "euroII": 2, "euroIII": 3, "euroIV": 4, "euroV": 5, "euroVI": 6}

_GOODS = frozenset({"N1", "N2", "N3", "N"})
_LIGHT = ("M1", "N1")
_HEAVY = ("M2", "M3", "N2", "N3")


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class NdwZone:
    """One NDW zone: metadata, area, and its whole condition tree (location excluded).

    ``condition`` is the published tree; ``start``/``end`` come from its top-level
    ``ValidityCondition``. ``geometry`` is a GeoJSON ``MultiPolygon`` (lon/lat,
    EPSG:4326); ``geometry_repaired`` is true when the published polygons were invalid
    and were repaired with ``shapely.make_valid``. ``datex_leaf_values`` maps node ids to
    the original DATEX value text (``"euro6"``, ``"_extended:euro1"``,
    ``"greaterThanOrEqualTo:40"``, ``"2025-01-01T00:00:00Z"``); ``datex_node_types``
    maps every DATEX condition id to its ``xsi:type`` (``ConditionSet`` ...).
    """

    id: str
    version: int
    name: str
    authority_name: str
    regulation_id: str
    tro_status: str
    status: str
    url: str
    record_version_time: datetime
    start: datetime
    end: datetime | None
    geometry: dict[str, Any]
    geometry_repaired: bool
    condition: Condition
    datex_leaf_values: dict[str, str]
    datex_node_types: dict[str, str] = field(default_factory=dict)
    zone_type: str = ""
    validity_id: str = ""
    location_id: str = ""
    location_index: int = 1
    line: int | None = None


@dataclass(frozen=True)
class NdwFeed:
    """A parsed NDW ``ControlledZoneTablePublication``."""

    publication_time: datetime
    table_version_time: datetime | None
    zones: tuple[NdwZone, ...]
    source_name: str = ""

    def zone(self, zone_id: str) -> NdwZone:
        """The zone with this NDW id (``KeyError`` when absent)."""
        for z in self.zones:
            if z.id == zone_id:
                return z
        raise KeyError(zone_id)


class ExemptionGroup(TypedDict):
    """What one exemption branch (one child of the negated ``or``) is made of."""

    id: str | None
    prefix: str
    categories: list[str]
    euro_classes: list[int]
    fuels: list[str]
    special_purposes: list[str]
    usage: list[str]
    holder: list[str]
    age: list[tuple[str, int]]
    first_admission: list[tuple[str, date]]
    start: datetime | None
    end: datetime | None
    fields: list[str]


# --------------------------------------------------------------------------- parsing context


def _local(elem: Any) -> str:
    tag = elem.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def _xsi_type(elem: Any) -> str:
    raw = elem.get(_XSI_TYPE) or ""
    return raw.rsplit(":", 1)[-1]


def _path(elem: Any) -> str:
    parts: list[str] = []
    node = elem
    while node is not None:
        name = _local(node)
        id_ = node.get("id")
        parts.append(f"{name}[{id_}]" if id_ else name)
        node = node.getparent()
    return "/".join(reversed(parts))


def _nearest_id(elem: Any) -> str | None:
    node = elem
    while node is not None:
        id_ = node.get("id")
        if id_:
            return str(id_)
        node = node.getparent()
    return None


@dataclass
class _Ctx:
    file: str

    def fail(self, message: str, elem: Any = None, *, expected: str, element: str | None = None) -> SourceError:
        """Build a :class:`SourceError` naming the file, element path, DATEX id and line."""
        where = element if element is not None else (_path(elem) if elem is not None else "document")
        line = elem.sourceline if elem is not None else None
        id_ = _nearest_id(elem) if elem is not None else None
        loc = f"{self.file}" + (f", line {line}" if line else "")
        return SourceError(
            f"{loc}: {where}: {message} (expected {expected})",
            file=self.file,
            element=where,
            id=id_,
            line=line,
            expected=expected,
        )


def _children(elem: Any) -> list[Any]:
    return [c for c in elem if isinstance(c.tag, str)]


def _only(ctx: _Ctx, elem: Any, allowed: Iterable[str]) -> None:
    allowed_set = set(allowed)
    for child in _children(elem):
        if _local(child) not in allowed_set:
            raise ctx.fail(
                f"unknown element {_local(child)!r}",
                child,
                expected="one of " + ", ".join(sorted(allowed_set)),
            )


def _one(ctx: _Ctx, elem: Any, name: str, *, required: bool = True) -> Any:
    found = [c for c in _children(elem) if _local(c) == name]
    if len(found) > 1:
        raise ctx.fail(f"{name!r} occurs {len(found)} times", found[1], expected=f"at most one {name}")
    if not found:
        if required:
            raise ctx.fail(f"missing {name!r}", elem, expected=f"a {name} element")
        return None
    return found[0]


def _text(ctx: _Ctx, elem: Any, name: str, *, required: bool = True) -> str:
    child = _one(ctx, elem, name, required=required)
    if child is None:
        return ""
    value = (child.text or "").strip()
    if required and not value:
        raise ctx.fail(f"{name!r} is empty", child, expected=f"a value in {name}")
    return value


def _multilingual(ctx: _Ctx, elem: Any, name: str, *, required: bool = True) -> str:
    holder = _one(ctx, elem, name, required=required)
    if holder is None:
        return ""
    values = [v for v in holder.iter("{*}value") if (v.text or "").strip()]
    if not values:
        raise ctx.fail(f"{name!r} has no text", holder, expected="com:values/com:value")
    for v in values:
        if v.get("lang") == "nl":
            return str(v.text).strip()
    return str(values[0].text).strip()


def _instant(ctx: _Ctx, elem: Any, text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ctx.fail(f"{text!r} is not a date-time", elem, expected="ISO-8601 date-time") from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ctx.fail(f"{text!r} has no time zone", elem, expected="a date-time with Z or an offset")
    return value


def _time_child(ctx: _Ctx, elem: Any, name: str, *, required: bool = True) -> datetime | None:
    child = _one(ctx, elem, name, required=required)
    if child is None:
        return None
    return _instant(ctx, child, (child.text or "").strip())


# --------------------------------------------------------------------------- entry point


def parse_ndw(
    source: str | os.PathLike[str] | bytes,
    *,
    source_name: str,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> NdwFeed:
    """Parse an NDW DATEX II v3 emission-zone feed from a path or bytes.

    Raises :class:`SourceError` (details ``file``, ``element``, ``id``, ``line``,
    ``expected``) on anything it cannot convert losslessly.
    """
    ctx = _Ctx(source_name)
    data = _read(ctx, source, max_bytes)
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno
        raise SourceError(
            f"{source_name}, line {line}: not well-formed XML ({exc.msg})",
            file=source_name,
            element="document",
            id=None,
            line=line,
            expected="a complete, well-formed XML document",
        ) from exc
    if root.getroottree().docinfo.doctype:
        raise ctx.fail("a DOCTYPE is not allowed", root, expected="XML without a document type declaration")
    if _local(root) != "payload" or _xsi_type(root) != "ControlledZoneTablePublication":
        raise ctx.fail(
            f"root is {_local(root)!r} of type {root.get(_XSI_TYPE)!r}",
            root,
            expected="d2:payload with xsi:type cz:ControlledZoneTablePublication",
        )
    publication_time = _time_child(ctx, root, "publicationTime")
    assert publication_time is not None
    table = _one(ctx, root, "controlledZoneTable")
    table_version_time = _time_child(ctx, table, "tableVersionTime", required=False)
    _only(ctx, table, ("tableVersionTime", "urbanVehicleAccessRegulation"))
    zones = tuple(_zone(ctx, z) for z in _children(table) if _local(z) == "urbanVehicleAccessRegulation")
    seen: set[str] = set()
    for z in zones:
        if z.id in seen:
            raise ctx.fail(f"zone id {z.id!r} occurs twice", None, expected="unique zone ids", element=z.id)
        seen.add(z.id)
    return NdwFeed(publication_time, table_version_time, zones, source_name)


def _read(ctx: _Ctx, source: str | os.PathLike[str] | bytes, max_bytes: int) -> bytes:
    if isinstance(source, bytes | bytearray):
        if len(source) > max_bytes:
            raise ctx.fail(
                f"input is {len(source):,} bytes", None, expected=f"at most {max_bytes:,} bytes", element="file"
            )
        return bytes(source)
    path = os.fspath(source)
    try:
        size = os.stat(path).st_size
        if size > max_bytes:
            raise ctx.fail(f"file is {size:,} bytes", None, expected=f"at most {max_bytes:,} bytes", element="file")
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise ctx.fail(
            f"cannot read {path!r}: {exc.strerror}", None, expected="a readable file", element="file"
        ) from exc
    if len(data) > max_bytes:
        raise ctx.fail("file grew beyond the size cap", None, expected=f"at most {max_bytes:,} bytes", element="file")
    return data


# --------------------------------------------------------------------------- zones

_ZONE_CHILDREN = (
    "name",
    "controlledZoneType",
    "controlledZoneRecordVersionTime",
    "urlForFurtherInformation",
    "status",
    "trafficRegulationOrder",
)
_TRO_CHILDREN = ("issuingAuthority", "regulationId", "status", "trafficRegulation")


@dataclass
class _Acc:
    """What the condition walk collects besides the tree."""

    leaf_values: dict[str, str] = field(default_factory=dict)
    node_types: dict[str, str] = field(default_factory=dict)
    location: Any = None
    location_id: str = ""
    location_index: int = -1
    validity: Condition | None = None
    validity_id: str = ""
    start: datetime | None = None
    end: datetime | None = None


def _zone(ctx: _Ctx, elem: Any) -> NdwZone:
    zone_id = (elem.get("id") or "").strip()
    if not zone_id:
        raise ctx.fail("zone without id", elem, expected="an id attribute on urbanVehicleAccessRegulation")
    raw_version = elem.get("version")
    try:
        version = int(raw_version or "")
    except ValueError:
        raise ctx.fail(f"version {raw_version!r} is not a whole number", elem, expected='version="<int>"') from None
    _only(ctx, elem, _ZONE_CHILDREN)
    name = _multilingual(ctx, elem, "name")
    record_time = _time_child(ctx, elem, "controlledZoneRecordVersionTime")
    assert record_time is not None
    tro = _one(ctx, elem, "trafficRegulationOrder")
    _only(ctx, tro, _TRO_CHILDREN)
    regulation = _one(ctx, tro, "trafficRegulation")
    _only(ctx, regulation, ("typeOfRegulation", "condition"))
    kind = _one(ctx, regulation, "typeOfRegulation")
    restriction = _text(ctx, kind, "accessRestrictionType", required=False)
    if _xsi_type(kind) != "AccessRestriction" or restriction != "noEntry":
        raise ctx.fail(
            f"regulation type {kind.get(_XSI_TYPE)!r} / {restriction!r}",
            kind,
            expected="tro:AccessRestriction with accessRestrictionType noEntry",
        )
    _only(ctx, kind, ("accessRestrictionType",))
    top = _one(ctx, regulation, "condition")
    acc = _Acc()
    condition = _condition(ctx, top, acc, top_level=True)
    if acc.location is None:
        raise ctx.fail("zone without LocationCondition", top, expected="one tro:LocationCondition in the top and-set")
    if acc.start is None:
        raise ctx.fail("zone without top-level ValidityCondition", top, expected="one tro:ValidityCondition")
    geometry, repaired = _geometry(ctx, acc.location)
    return NdwZone(
        id=zone_id,
        version=version,
        name=name,
        authority_name=_multilingual(ctx, tro, "issuingAuthority"),
        regulation_id=_text(ctx, tro, "regulationId"),
        tro_status=_text(ctx, tro, "status", required=False),
        status=_text(ctx, elem, "status", required=False),
        url=_text(ctx, elem, "urlForFurtherInformation", required=False),
        record_version_time=record_time,
        start=acc.start,
        end=acc.end,
        geometry=geometry,
        geometry_repaired=repaired,
        condition=condition,
        datex_leaf_values=acc.leaf_values,
        datex_node_types=acc.node_types,
        zone_type=_text(ctx, elem, "controlledZoneType", required=False),
        validity_id=acc.validity_id,
        location_id=acc.location_id,
        location_index=acc.location_index,
        line=elem.sourceline,
    )


# --------------------------------------------------------------------------- conditions


def _with_id(node: Condition, id_: str | None) -> Condition:
    if isinstance(node, Leaf):
        return Leaf(node.field, node.op, node.value, id_, node.label)
    if isinstance(node, All):
        return All(node.children, id_, node.label)
    if isinstance(node, Any_):
        return Any_(node.children, id_, node.label)
    return Not(node.child, id_, node.label)


def _negated(ctx: _Ctx, elem: Any) -> bool:
    raw = _text(ctx, elem, "negate", required=False)
    if raw not in ("", "true", "false"):
        raise ctx.fail(f"negate is {raw!r}", _one(ctx, elem, "negate"), expected="true or false")
    return raw == "true"


def _register(ctx: _Ctx, elem: Any, acc: _Acc, kind: str) -> str:
    id_ = (elem.get("id") or "").strip()
    if not id_:
        raise ctx.fail(f"{kind} without id", elem, expected="an id attribute on every condition")
    if id_ in acc.node_types:
        raise ctx.fail(f"condition id {id_!r} occurs twice", elem, expected="unique condition ids")
    acc.node_types[id_] = kind
    return id_


def _condition(ctx: _Ctx, elem: Any, acc: _Acc, *, top_level: bool = False) -> Condition:
    kind = _xsi_type(elem)
    if kind == "ConditionSet":
        node = _condition_set(ctx, elem, acc, top_level=top_level)
    elif kind == "VehicleCondition":
        node = _vehicle_condition(ctx, elem, acc)
    elif kind == "ValidityCondition":
        node = _validity_condition(ctx, elem, acc)
    elif kind == "LocationCondition":
        raise ctx.fail(
            "LocationCondition outside the top-level and-set",
            elem,
            expected="the zone area as a direct child of the top tro:condition",
        )
    else:
        raise ctx.fail(
            f"unknown condition type {elem.get(_XSI_TYPE)!r}",
            elem,
            expected="tro:ConditionSet, tro:VehicleCondition, tro:ValidityCondition or tro:LocationCondition",
        )
    return Not(node) if _negated(ctx, elem) else node


def _condition_set(ctx: _Ctx, elem: Any, acc: _Acc, *, top_level: bool) -> Condition:
    id_ = _register(ctx, elem, acc, "ConditionSet")
    _only(ctx, elem, ("negate", "operator", "conditions"))
    operator = _text(ctx, elem, "operator")
    if operator not in ("and", "or"):
        raise ctx.fail(f"operator {operator!r}", _one(ctx, elem, "operator"), expected="and or or")
    members = [c for c in _children(elem) if _local(c) == "conditions"]
    if not members:
        raise ctx.fail("empty ConditionSet", elem, expected="at least one tro:conditions")
    may_hold_zone = top_level and operator == "and" and not _negated(ctx, elem)
    if top_level and not may_hold_zone:
        raise ctx.fail("top-level condition is not a plain and-set", elem, expected="operator and, no negate")
    children: list[Condition] = []
    for member in members:
        if may_hold_zone and _xsi_type(member) == "LocationCondition":
            if acc.location is not None:
                raise ctx.fail("a second LocationCondition", member, expected="one zone area")
            acc.location_id = _register(ctx, member, acc, "LocationCondition")
            if _negated(ctx, member):
                raise ctx.fail("negated LocationCondition", member, expected="negate absent or false")
            _only(ctx, member, ("negate", "locationByOrder"))
            acc.location = _one(ctx, member, "locationByOrder")
            acc.location_index = len(children)
            continue
        child = _condition(ctx, member, acc)
        if may_hold_zone and _xsi_type(member) == "ValidityCondition" and isinstance(child, All):
            if acc.start is not None:
                raise ctx.fail("a second top-level ValidityCondition", member, expected="one zone validity")
            acc.validity_id = str(child.id)
            acc.start, acc.end = _validity_bounds(child)
        children.append(child)
    return All(tuple(children), id_) if operator == "and" else Any_(tuple(children), id_)


def _validity_bounds(node: All) -> tuple[datetime | None, datetime | None]:
    start = end = None
    for leaf in node.children:
        if isinstance(leaf, Leaf) and leaf.op is Op.GE:
            start = leaf.value
        elif isinstance(leaf, Leaf) and leaf.op is Op.LT:
            end = leaf.value
    return start, end


def _validity_condition(ctx: _Ctx, elem: Any, acc: _Acc) -> Condition:
    id_ = _register(ctx, elem, acc, "ValidityCondition")
    _only(ctx, elem, ("negate", "validityByOrder"))
    by_order = _one(ctx, elem, "validityByOrder")
    _only(ctx, by_order, ("validityStatus", "validityTimeSpecification"))
    status = _text(ctx, by_order, "validityStatus")
    if status != "definedByValidityTimeSpec":
        raise ctx.fail(
            f"validityStatus {status!r}", _one(ctx, by_order, "validityStatus"), expected="definedByValidityTimeSpec"
        )
    spec = _one(ctx, by_order, "validityTimeSpecification")
    _only(ctx, spec, ("overallStartTime", "overallEndTime"))
    leaves: list[Condition] = []
    for name, op in (("overallStartTime", Op.GE), ("overallEndTime", Op.LT)):
        child = _one(ctx, spec, name, required=name == "overallStartTime")
        if child is None:
            continue
        raw = (child.text or "").strip()
        leaf_id = f"{id_}#{name}"
        leaves.append(Leaf("at", op, _instant(ctx, child, raw), leaf_id))
        acc.leaf_values[leaf_id] = raw
    return All(tuple(leaves), id_)


_Characteristic = tuple[str, Condition, str]  # element name, node without id, raw DATEX value


def _vehicle_condition(ctx: _Ctx, elem: Any, acc: _Acc) -> Condition:
    id_ = _register(ctx, elem, acc, "VehicleCondition")
    _only(ctx, elem, ("negate", "vehicleCharacteristics"))
    chars = list(_characteristics(ctx, _one(ctx, elem, "vehicleCharacteristics")))
    if not chars:
        raise ctx.fail("VehicleCondition without characteristics", elem, expected="a vehicle characteristic")
    names = [name for name, _, _ in chars]
    if len(set(names)) != len(names):
        raise ctx.fail(
            f"repeated characteristic in {names}", elem, expected="each characteristic at most once per condition"
        )
    if len(chars) == 1:
        _, node, raw = chars[0]
        acc.leaf_values[id_] = raw
        return _with_id(node, id_)
    children: list[Condition] = []
    for name, node, raw in chars:
        sub_id = f"{id_}#{name}"
        acc.leaf_values[sub_id] = raw
        children.append(_with_id(node, sub_id))
    return All(tuple(children), id_)


def _enum(ctx: _Ctx, elem: Any, table: dict[str, Any], what: str) -> tuple[Any, str, str]:
    """Read an enum element (``_extended`` aware): (mapped value, DATEX value, raw spelling)."""
    if _children(elem):
        raise ctx.fail(f"unexpected child {_local(_children(elem)[0])!r}", _children(elem)[0], expected="text only")
    text = (elem.text or "").strip()
    value, raw = text, text
    if text == "_extended":
        value = (elem.get("_extendedValue") or "").strip()
        if not value:
            raise ctx.fail("_extended without _extendedValue", elem, expected="an _extendedValue attribute")
        raw = f"_extended:{value}"
    if value not in table:
        raise ctx.fail(f"unknown {what} {value!r}", elem, expected="one of " + ", ".join(sorted(table)))
    return table[value], value, raw


def _characteristics(ctx: _Ctx, elem: Any) -> Iterator[_Characteristic]:
    for child in _children(elem):
        name = _local(child)
        if name == "fuelType":
            fuel, _, raw = _enum(ctx, child, _FUELS, "fuel type")
            yield name, Leaf("fuels", Op.CONTAINS, fuel), raw
        elif name == "vehicleType":
            _, _, raw = _enum(ctx, child, {"anyVehicle": None}, "vehicle type")
            yield name, All(()), raw
        elif name == "vehicleUsage":
            usage, _, raw = _enum(ctx, child, _USAGES, "vehicle usage")
            yield name, Leaf("usage", Op.CONTAINS, usage), raw
        elif name == "emissions":
            yield from _emissions(ctx, child)
        elif name == "_vehicleCharacteristicsExtension":
            _only(ctx, child, ("vehicleCharacteristicsExtended",))
            extended = _one(ctx, child, "vehicleCharacteristicsExtended")
            yield from _extended(ctx, extended)
        else:
            raise ctx.fail(
                f"unknown vehicle characteristic {name!r}",
                child,
                expected="fuelType, vehicleType, vehicleUsage, emissions or _vehicleCharacteristicsExtension",
            )


def _emissions(ctx: _Ctx, elem: Any) -> Iterator[_Characteristic]:
    _only(ctx, elem, ("emissionClassificationEuro",))
    for child in _children(elem):
        if _children(child):
            raise ctx.fail(f"unexpected child {_local(_children(child)[0])!r}", child, expected="text only")
        text = (child.text or "").strip()
        value, raw = text, text
        if text == "_extended":
            value = (child.get("_extendedValue") or "").strip()
            raw = f"_extended:{value}"
        match = _EURO_RE.match(value)
        if match is None and value not in _EURO_ROMAN:
            raise ctx.fail(
                f"unknown Euro emission class {raw!r}", child, expected="euro0..euro6 (or _extended euro1..euro4)"
            )
        number = int(match.group("n")) if match else _EURO_ROMAN[value]
        yield "emissionClassificationEuro", Leaf("emission_class", Op.EQ, str(number)), raw


def _extended(ctx: _Ctx, elem: Any) -> Iterator[_Characteristic]:
    _only(ctx, elem, ("regulatedCharacteristics", "ageCharacteristic", "ownerCharacteristic"))
    for child in _children(elem):
        name = _local(child)
        if name == "regulatedCharacteristics":
            _only(ctx, child, ("euVehicleCategory", "euSpecialPurposeVehicle"))
            for item in _children(child):
                if _local(item) == "euVehicleCategory":
                    (fname, value), _, raw = _enum(ctx, item, _EU_CATEGORIES, "EU vehicle category")
                    yield "euVehicleCategory", Leaf(fname, Op.EQ, value), raw
                else:
                    code, _, raw = _enum(ctx, item, _SPECIAL_PURPOSES, "EU special-purpose vehicle")
                    yield "euSpecialPurposeVehicle", Leaf("special_purpose", Op.CONTAINS, code), raw
        elif name == "ownerCharacteristic":
            _only(ctx, child, ("ownerType",))
            owner, _, raw = _enum(ctx, _one(ctx, child, "ownerType"), _OWNER_TYPES, "owner type")
            yield "ownerType", Leaf("holder", Op.CONTAINS, owner), raw
        else:
            yield _age(ctx, child)


def _age(ctx: _Ctx, elem: Any) -> _Characteristic:
    _only(ctx, elem, ("comparisonOperator", "vehicleAge", "yearOfFirstRegistration"))
    op_elem = _one(ctx, elem, "comparisonOperator")
    op, op_text, _ = _enum(ctx, op_elem, _COMPARISON, "comparison operator")
    age = _one(ctx, elem, "vehicleAge", required=False)
    year = _one(ctx, elem, "yearOfFirstRegistration", required=False)
    if (age is None) == (year is None):
        raise ctx.fail(
            "ageCharacteristic needs exactly one of vehicleAge and yearOfFirstRegistration",
            elem,
            expected="vehicleAge or yearOfFirstRegistration",
        )
    target = age if age is not None else year
    text = (target.text or "").strip()
    if not text.isdigit():
        raise ctx.fail(f"{_local(target)} {text!r} is not a whole number", target, expected="a non-negative integer")
    number = int(text)
    raw = f"{op_text}:{text}"
    if age is not None:
        return "ageCharacteristic", Leaf("age_years", op, number), raw
    if not 1800 <= number <= 2200:
        raise ctx.fail(f"year {number} is out of range", target, expected="a year 1800..2200")
    return "ageCharacteristic", _year_condition(op, number), raw


def _year_condition(op: Op, year: int) -> Condition:
    """``year-of-first-registration op Y`` as conditions on the first-admission date."""
    jan1, next_jan1 = date(year, 1, 1), date(year + 1, 1, 1)
    if op is Op.GE:
        return Leaf("first_admission", Op.GE, jan1)
    if op is Op.LT:
        return Leaf("first_admission", Op.LT, jan1)
    if op is Op.GT:
        return Leaf("first_admission", Op.GE, next_jan1)
    if op is Op.LE:
        return Leaf("first_admission", Op.LT, next_jan1)
    return All((Leaf("first_admission", Op.GE, jan1), Leaf("first_admission", Op.LT, next_jan1)))


# --------------------------------------------------------------------------- geometry


def _geometry(ctx: _Ctx, location: Any) -> tuple[dict[str, Any], bool]:
    if _xsi_type(location) != "AreaLocation":
        raise ctx.fail(f"location type {location.get(_XSI_TYPE)!r}", location, expected="loc:AreaLocation")
    _only(ctx, location, ("gmlMultiPolygon",))
    multi = _one(ctx, location, "gmlMultiPolygon")
    _only(ctx, multi, ("gmlPolygon",))
    polygons: list[Polygon] = []
    for poly in _children(multi):
        _only(ctx, poly, ("exterior", "interior"))
        shell = _ring(ctx, _one(ctx, poly, "exterior"))
        holes = [_ring(ctx, r) for r in _children(poly) if _local(r) == "interior"]
        polygons.append(Polygon(shell, holes))
    if not polygons:
        raise ctx.fail("gmlMultiPolygon without polygons", multi, expected="at least one loc:gmlPolygon")
    geom: BaseGeometry = MultiPolygon(polygons)
    repaired = False
    if not geom.is_valid:
        repaired = True
        # Default ("linework") repair: a shell nested in another shell becomes a hole, which is
        # the only reading under which such a polygon means something (ZE Amersfoort).
        geom = shapely.make_valid(geom)
    parts = list(_polygonal_parts(geom))
    if not parts or all(p.is_empty for p in parts):
        raise ctx.fail("area is empty after repair", multi, expected="a polygon with a positive area")
    result = MultiPolygon([orient(p, sign=1.0) for p in parts if not p.is_empty])
    if not result.is_valid:
        raise ctx.fail(
            f"area is invalid after repair ({shapely.is_valid_reason(result)})", multi, expected="a valid polygon"
        )
    return _to_geojson(result), repaired


def _polygonal_parts(geom: BaseGeometry) -> Iterator[Polygon]:
    if isinstance(geom, Polygon):
        yield geom
    elif hasattr(geom, "geoms"):
        for part in geom.geoms:
            yield from _polygonal_parts(part)


def _ring(ctx: _Ctx, ring: Any) -> list[tuple[float, float]]:
    srs = ring.get("srsName")
    if srs is not None and srs not in _WGS84_NAMES:
        raise ctx.fail(f"srsName {srs!r}", ring, expected="WGS 84 (EPSG:4326)")
    _only(ctx, ring, ("posList",))
    pos = _one(ctx, ring, "posList")
    dim = pos.get("srsDimension")
    if dim not in (None, "2"):
        raise ctx.fail(f"srsDimension {dim!r}", pos, expected="2 (lat lon pairs)")
    tokens = (pos.text or "").split()
    try:
        numbers = [float(t) for t in tokens]
    except ValueError:
        bad = next(t for t in tokens if not _is_number(t))
        raise ctx.fail(f"{bad!r} in posList is not a number", pos, expected="numbers 'lat lon lat lon ...'") from None
    if len(numbers) % 2:
        raise ctx.fail(f"posList has an odd number of numbers ({len(numbers)})", pos, expected="'lat lon' pairs")
    coords = [(numbers[i + 1], numbers[i]) for i in range(0, len(numbers), 2)]
    if len(coords) < 4:
        raise ctx.fail(f"ring has {len(coords)} points", pos, expected="at least 4 points (a closed ring)")
    for lon, lat in coords:
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0) or lat != lat or lon != lon:
            raise ctx.fail(f"coordinate {lat} {lon} is out of range", pos, expected="WGS 84 'lat lon' in degrees")
    if coords[0] != coords[-1]:
        coords.append(coords[0])
    return coords


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _to_geojson(geom: MultiPolygon) -> dict[str, Any]:
    def ring(coords: Any) -> list[list[float]]:
        return [[float(x), float(y)] for x, y in coords]

    return {
        "type": "MultiPolygon",
        "coordinates": [[ring(p.exterior.coords), *(ring(i.coords) for i in p.interiors)] for p in geom.geoms],
    }


# --------------------------------------------------------------------------- analysis


def _parts(zone: NdwZone) -> tuple[list[Condition], list[Condition]]:
    """Split the top-level tree into restriction subtrees and exemption groups."""
    top = zone.condition
    children = top.children if isinstance(top, All) else (top,)
    restriction: list[Condition] = []
    groups: list[Condition] = []
    for child in children:
        if child.id is not None and child.id == zone.validity_id:
            continue
        if isinstance(child, Not):
            inner = child.child
            groups.extend(inner.children if isinstance(inner, Any_) else (inner,))
        else:
            restriction.append(child)
    return restriction, groups


def _leaves(nodes: Iterable[Condition], *, positive_only: bool = False) -> Iterator[Leaf]:
    for node in nodes:
        if positive_only and isinstance(node, Not):
            continue
        if isinstance(node, Leaf):
            yield node
        elif isinstance(node, Not):
            yield from _leaves((node.child,))
        else:
            yield from _leaves(node.children, positive_only=positive_only)


def restricted_categories(zone: NdwZone) -> frozenset[str]:
    """EU categories (``N1``) and category groups (``N``) the restriction names; empty means any."""
    restriction, _ = _parts(zone)
    return frozenset(
        str(leaf.value)
        for leaf in _leaves(restriction, positive_only=True)
        if leaf.field in ("category", "category_group")
    )


def restricted_fuels(zone: NdwZone) -> frozenset[str]:
    """Fuels the restriction names (``{"diesel"}`` for a milieuzone); empty means any fuel."""
    restriction, _ = _parts(zone)
    return frozenset(str(leaf.value) for leaf in _leaves(restriction, positive_only=True) if leaf.field == "fuels")


def _prefix(zone: NdwZone, node: Condition) -> str:
    strip = zone.id + "_"
    fallback = ""
    for sub in walk(node):
        if sub.id is None:
            continue
        local = sub.id.split("#", 1)[0]
        local = local[len(strip) :] if local.startswith(strip) else local
        tokens = [t for t in local.split("_") if t]
        for token in tokens:
            if token.endswith("Exemption"):
                return token
        if not fallback:
            fallback = next((t for t in tokens if not t.isdigit()), "")
    return fallback


def exemption_groups(zone: NdwZone) -> list[ExemptionGroup]:
    """One summary per exemption branch: categories, Euro classes, validity, fuels, ...

    ``prefix`` is the DATEX id part naming the branch (``euro5Exemption``,
    ``camperExemption`` ...); ``fields`` lists every condition field the branch tests.
    """
    _, groups = _parts(zone)
    out: list[ExemptionGroup] = []
    for node in groups:
        leaves = list(_leaves((node,)))
        start = end = None
        for leaf in leaves:
            if leaf.field == "at" and leaf.op is Op.GE:
                start = leaf.value
            elif leaf.field == "at" and leaf.op is Op.LT:
                end = leaf.value
        out.append(
            ExemptionGroup(
                id=node.id,
                prefix=_prefix(zone, node),
                categories=sorted({str(x.value) for x in leaves if x.field in ("category", "category_group")}),
                euro_classes=sorted({int(x.value) for x in leaves if x.field == "emission_class"}),
                fuels=sorted({str(x.value) for x in leaves if x.field == "fuels"}),
                special_purposes=sorted({str(x.value) for x in leaves if x.field == "special_purpose"}),
                usage=sorted({str(x.value) for x in leaves if x.field == "usage"}),
                holder=sorted({str(x.value) for x in leaves if x.field == "holder"}),
                age=[(x.op.value, int(x.value)) for x in leaves if x.field == "age_years"],
                first_admission=[(x.op.value, x.value) for x in leaves if x.field == "first_admission"],
                start=start,
                end=end,
                fields=sorted({x.field for x in leaves}),
            )
        )
    return out


def classify_with_reason(zone: NdwZone) -> tuple[ZoneKind | None, str]:
    """The zone kind by what its conditions restrict, with the reason; ``None`` when unclear."""
    cats = restricted_categories(zone)
    fuels = restricted_fuels(zone)
    groups = exemption_groups(zone)
    exempt_fuels = {f for g in groups for f in g["fuels"]}
    if cats and cats <= _GOODS and not fuels:
        zero = exempt_fuels & {"electric", "hydrogen"}
        if zero:
            return ZoneKind.ZERO_EMISSION, (
                f"restricts goods vehicles {sorted(cats)} and exempts zero-emission fuels {sorted(zero)}"
            )
        return None, f"restricts goods vehicles {sorted(cats)} but exempts no battery/hydrogen fuel"
    if fuels == {"diesel"}:
        classes = sorted({c for g in groups for c in g["euro_classes"]})
        if classes:
            return ZoneKind.ENVIRONMENTAL, f"restricts diesel vehicles and exempts Euro classes {classes}"
        return None, "restricts diesel vehicles but has no Euro-class exemption"
    return None, f"restriction by categories {sorted(cats)} and fuels {sorted(fuels)} matches no known kind"


def classify(zone: NdwZone) -> ZoneKind:
    """The zone kind by content (see :func:`classify_with_reason`); raises when unclear."""
    kind, reason = classify_with_reason(zone)
    if kind is None:
        raise SourceError(
            f"zone {zone.id} ({zone.name}): cannot classify: {reason}",
            file="",
            element=zone.id,
            id=zone.id,
            line=zone.line,
            expected="a zero-emission or environmental zone",
            reason=reason,
        )
    return kind


def _covers(categories: Iterable[str], category: str) -> bool:
    cats = set(categories)
    return not cats or category in cats or category[0] in cats


def milieuzone_min_classes_by_category(zone: NdwZone) -> dict[str, int | None]:
    """Per restricted category (M1..N3), the lowest Euro class a permanent class exemption admits.

    Only branches that test nothing but categories and Euro classes and have no end
    date count; ``None`` means the category is restricted without such an exemption.
    Categories the restriction does not cover are left out.
    """
    cats = restricted_categories(zone)
    pure = [
        g
        for g in exemption_groups(zone)
        if g["euro_classes"]
        and g["end"] is None
        and set(g["fields"]) <= {"category", "category_group", "emission_class", "at"}
    ]
    out: dict[str, int | None] = {}
    for category in (*_LIGHT, *_HEAVY):
        if not _covers(cats, category):
            continue
        found = [min(g["euro_classes"]) for g in pure if _covers(g["categories"], category)]
        out[category] = min(found) if found else None
    return out


def milieuzone_min_classes(zone: NdwZone) -> dict[str, int | None]:
    """``{"light": n, "heavy": n}``: the minimum Euro class for M1/N1 and for M2/M3/N2/N3.

    Each bucket takes the strictest (highest) per-category minimum among its
    restricted categories that have a class exemption; ``None`` when no category of the
    bucket is restricted or none has a Euro-class exemption. Use
    :func:`milieuzone_min_classes_by_category` to see categories that differ.
    """
    per = milieuzone_min_classes_by_category(zone)

    def bucket(names: tuple[str, ...]) -> int | None:
        values = [v for k, v in per.items() if k in names and v is not None]
        return max(values) if values else None

    return {"light": bucket(_LIGHT), "heavy": bucket(_HEAVY)}


# --------------------------------------------------------------------------- inspection


def ndw_geojson(feed: NdwFeed) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of the feed's zones with summary properties, for inspection."""
    features = []
    for zone in feed.zones:
        kind, reason = classify_with_reason(zone)
        features.append(
            {
                "type": "Feature",
                "id": zone.id,
                "geometry": zone.geometry,
                "properties": {
                    "id": zone.id,
                    "name": zone.name,
                    "kind": kind.value if kind is not None else None,
                    "kind_reason": reason,
                    "authority": zone.authority_name,
                    "regulation_id": zone.regulation_id,
                    "start": zone.start.isoformat(),
                    "end": zone.end.isoformat() if zone.end is not None else None,
                    "version": zone.version,
                    "geometry_repaired": zone.geometry_repaired,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}
