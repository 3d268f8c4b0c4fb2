"""Emission zones as DATEX II v3 ``ControlledZoneTablePublication`` in the NDW profile.

NDW's emission-zone feed uses the level-C namespaces (``http://levelC/schema/3/...``) and one
``cz:urbanVehicleAccessRegulation`` per zone whose traffic regulation holds one condition tree
``and(ValidityCondition, LocationCondition, <restriction>, not(or(<exemption groups>)))``.
:func:`ruas.sources.ndw.parse_ndw` reads that tree losslessly into a condition tree whose node ids
are NDW's condition ids (``<id>#<element>`` for the characteristics of one ``VehicleCondition``);
the register keeps it as ``published_condition``. This writer is its inverse: it writes every
zone whose record came from NDW back in the same shape, so NDW and the apps that read NDW's feed
can take ours, and our own NDW importer reads it back field by field (``tests/opendata``).

Spellings the condition tree does not keep are written the way NDW writes them (checked against
the feed of 2025-07-07): Euro 5 and 6 as ``euro5``/``euro6``, other classes as ``_extended``;
ages as ``vehicleAge``; a first-admission year as ``yearOfFirstRegistration`` with
``greaterThanOrEqualTo``/``lessThan``/``equalTo``; ``controlledZoneType`` ``lowEmissionZone``,
zone status ``active``, order status ``madeAndImplemented``; the area as the second member of
the top-level and-set with id ``<zone>_area``. Zones repaired on import are published repaired.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from lxml import etree

from ruas.domain.conditions import All, Any_, Condition, Leaf, Not, Op, from_data
from ruas.domain.errors import InvalidInput
from ruas.opendata.snapshot import Snapshot, resolve_geometry
from ruas.opendata.xmlutil import XSI, XSI_TYPE, instant_text, multilingual, polygons, pos_list, sub
from ruas.register.records import Record

TRO = "http://levelC/schema/3/trafficRegulation"
LOC = "http://levelC/schema/3/locationReferencing"
CZ = "http://levelC/schema/3/controlledZone"
COMX = "http://levelC/schema/3/commonExtension"
COM = "http://levelC/schema/3/common"
D2 = "http://levelC/schema/3/d2Payload"
NSMAP = {"tro": TRO, "loc": LOC, "cz": CZ, "comx": COMX, "com": COM, "d2": D2, "xsi": XSI}

PUBLISHER_COUNTRY = "nl"
PUBLISHER_ID = "RUAS"
"""``publicationCreator/nationalIdentifier`` of our feed (NDW writes ``NDWNL``)."""

_FUELS = {"electric": "battery", "hydrogen": "hydrogen", "diesel": "diesel", "petrol": "petrol", "lpg": "lpg"}
_SPECIAL = {
    "SA": "motorCaravan",
    "SB": "armouredVehicle",
    "SC": "ambulance",
    "SD": "hearse",
    "SE": "trailerCaravan",
    "SF": "mobileCrane",
    "SG": "otherSpecialPurposeVehicle",
    "SH": "wheelChairAccessibleVehicle",
}
_OPS = {
    Op.EQ: "equalTo",
    Op.GT: "greaterThan",
    Op.GE: "greaterThanOrEqualTo",
    Op.LT: "lessThan",
    Op.LE: "lessThanOrEqualTo",
}
_EXTENDED = ("regulatedCharacteristics", "ageCharacteristic", "ownerCharacteristic")


def is_ndw_zone(record: Record) -> bool:
    """True for a record that NDW publishes (or that we publish in NDW's profile): NDW source, tree and area."""
    return (
        record.get("source", {}).get("kind") == "ndw"
        and bool(record.get("published_condition"))
        and bool(record.get("geometry"))
        and record.get("status", "in_force") == "in_force"
    )


def controlled_zone_xml(snapshot: Snapshot) -> bytes:
    """Every NDW-profile zone of the register as one ``ControlledZoneTablePublication`` (UTF-8 bytes)."""
    root = etree.Element(f"{{{D2}}}payload", nsmap=NSMAP)
    root.set(XSI_TYPE, "cz:ControlledZoneTablePublication")
    root.set("lang", "nl")
    root.set("modelBaseVersion", "3")
    when = instant_text(snapshot.version_time)
    sub(root, f"{{{COM}}}publicationTime", when)
    creator = sub(root, f"{{{COM}}}publicationCreator")
    sub(creator, f"{{{COM}}}country", PUBLISHER_COUNTRY)
    sub(creator, f"{{{COM}}}nationalIdentifier", PUBLISHER_ID)
    header = sub(root, f"{{{CZ}}}headerInformation")
    sub(header, f"{{{COM}}}informationStatus", "real")
    table = sub(root, f"{{{CZ}}}controlledZoneTable")
    sub(table, f"{{{CZ}}}tableVersionTime", when)
    for record in resolve_geometry(snapshot.records):
        if is_ndw_zone(record):
            _zone(table, record)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True))


def _zone(table: Any, record: Record) -> None:
    source = record["source"]
    zone_id = str(record["id"])
    version = str(source.get("version", 1))
    elem = sub(table, f"{{{CZ}}}urbanVehicleAccessRegulation", id=zone_id, version=version)
    multilingual(elem, f"{{{CZ}}}name", COM, str(record["name"]))
    sub(elem, f"{{{CZ}}}controlledZoneType", "lowEmissionZone")
    sub(elem, f"{{{CZ}}}controlledZoneRecordVersionTime", _record_time(source))
    if record.get("url"):
        sub(elem, f"{{{CZ}}}urlForFurtherInformation", str(record["url"]))
    sub(elem, f"{{{CZ}}}status", "active")
    tro = sub(elem, f"{{{CZ}}}trafficRegulationOrder", id=f"{zone_id}_TRO", version=version)
    multilingual(tro, f"{{{TRO}}}issuingAuthority", COM, str(record.get("authority_name") or ""))
    sub(tro, f"{{{TRO}}}regulationId", str(source.get("regulation_id") or "onbekend"))
    sub(tro, f"{{{TRO}}}status", "madeAndImplemented")
    regulation = sub(tro, f"{{{TRO}}}trafficRegulation", id=f"{zone_id}_TR", version=version)
    kind = sub(regulation, f"{{{TRO}}}typeOfRegulation")
    kind.set(XSI_TYPE, "tro:AccessRestriction")
    sub(kind, f"{{{TRO}}}accessRestrictionType", "noEntry")
    tree = from_data(record["published_condition"], f"{zone_id}.published_condition")
    if not isinstance(tree, All) or tree.id is None:
        raise InvalidInput(f"zone {zone_id}: the published condition is not a top-level and-set", zone=zone_id)
    _write(regulation, "condition", tree, _Ctx(zone_id, version, record))


class _Ctx:
    def __init__(self, zone_id: str, version: str, record: Record) -> None:
        self.zone_id = zone_id
        self.version = version
        self.record = record
        self.location_written = False


def _record_time(source: dict[str, Any]) -> str:
    raw = source.get("record_version_time")
    if not raw:
        return "1970-01-01T00:00:00Z"
    return instant_text(datetime.fromisoformat(str(raw)))


def _fail(ctx: _Ctx, node: Condition, why: str) -> InvalidInput:
    return InvalidInput(
        f"zone {ctx.zone_id}: condition {node.id or node.to_data()!r} cannot be written in the NDW profile: {why}",
        zone=ctx.zone_id,
        condition=str(node.id or ""),
    )


def _element(parent: Any, tag: str, xsi_type: str, id_: str, ctx: _Ctx, negate: bool) -> Any:
    elem = sub(parent, f"{{{TRO}}}{tag}", id=id_, version=ctx.version)
    elem.set(XSI_TYPE, f"tro:{xsi_type}")
    if negate:
        sub(elem, f"{{{TRO}}}negate", "true")
    return elem


def _write(parent: Any, tag: str, node: Condition, ctx: _Ctx, *, top: bool = False) -> None:
    negate = False
    if isinstance(node, Not) and node.id is None:
        negate, node = True, node.child
    if node.id is None:
        raise _fail(ctx, node, "every NDW condition needs an id")
    id_ = node.id
    if isinstance(node, Leaf):
        elem = _element(parent, tag, "VehicleCondition", id_, ctx, negate)
        _characteristics(elem, [("", node)], ctx)
        return
    assert isinstance(node, All | Any_)
    kids = node.children
    if kids and all(k.id is not None and k.id.startswith(id_ + "#") for k in kids):
        suffixes = [str(k.id)[len(id_) + 1 :] for k in kids]
        if set(suffixes) <= {"overallStartTime", "overallEndTime"}:
            _validity(parent, tag, id_, kids, ctx, negate)
            return
        elem = _element(parent, tag, "VehicleCondition", id_, ctx, negate)
        _characteristics(elem, list(zip(suffixes, kids, strict=True)), ctx)
        return
    if isinstance(node, All) and (not kids or all(k.id is None for k in kids)):
        # one characteristic that is not a single leaf: anyVehicle (empty) or a year of first registration
        elem = _element(parent, tag, "VehicleCondition", id_, ctx, negate)
        _characteristics(elem, [("", node)], ctx)
        return
    elem = _element(parent, tag, "ConditionSet", id_, ctx, negate)
    sub(elem, f"{{{TRO}}}operator", "and" if isinstance(node, All) else "or")
    for i, child in enumerate(kids):
        if tag == "condition" and i == 1:
            _location(elem, ctx)
        _write(elem, "conditions", child, ctx)
    if tag == "condition" and len(kids) < 2:
        _location(elem, ctx)


def _location(parent: Any, ctx: _Ctx) -> None:
    elem = _element(parent, "conditions", "LocationCondition", f"{ctx.zone_id}_area", ctx, False)
    by_order = sub(elem, f"{{{TRO}}}locationByOrder")
    by_order.set(XSI_TYPE, "loc:AreaLocation")
    multi = sub(by_order, f"{{{LOC}}}gmlMultiPolygon")
    for poly in polygons(ctx.record["geometry"]):
        gml = sub(multi, f"{{{LOC}}}gmlPolygon")
        for i, ring in enumerate(poly):
            holder = sub(gml, f"{{{LOC}}}exterior" if i == 0 else f"{{{LOC}}}interior", srsName="WGS 84")
            sub(holder, f"{{{LOC}}}posList", pos_list(ring))


def _validity(parent: Any, tag: str, id_: str, kids: tuple[Condition, ...], ctx: _Ctx, negate: bool) -> None:
    elem = _element(parent, tag, "ValidityCondition", id_, ctx, negate)
    by_order = sub(elem, f"{{{TRO}}}validityByOrder")
    sub(by_order, f"{{{COM}}}validityStatus", "definedByValidityTimeSpec")
    spec = sub(by_order, f"{{{COM}}}validityTimeSpecification")
    for name in ("overallStartTime", "overallEndTime"):
        for k in kids:
            if k.id == f"{id_}#{name}" and isinstance(k, Leaf):
                sub(spec, f"{{{COM}}}{name}", instant_text(k.value))


def _characteristics(elem: Any, items: list[tuple[str, Condition]], ctx: _Ctx) -> None:
    chars = sub(elem, f"{{{TRO}}}vehicleCharacteristics")
    extended: Any = None
    regulated: Any = None
    for _, node in items:
        for name, value in _characteristic(node, ctx):
            if name in _EXTENDED or name in ("euVehicleCategory", "euSpecialPurposeVehicle"):
                if extended is None:
                    ext = sub(chars, f"{{{COM}}}_vehicleCharacteristicsExtension")
                    extended = sub(ext, f"{{{COM}}}vehicleCharacteristicsExtended")
                if name in ("euVehicleCategory", "euSpecialPurposeVehicle"):
                    if regulated is None:
                        regulated = sub(extended, f"{{{COMX}}}regulatedCharacteristics")
                    sub(regulated, f"{{{COMX}}}{name}", value[0])
                else:
                    regulated = None
                    holder = sub(extended, f"{{{COMX}}}{name}")
                    for child_name, text in value[1]:
                        sub(holder, f"{{{COMX}}}{child_name}", text)
                continue
            extended = regulated = None
            if name == "emissions":
                holder = sub(chars, f"{{{COM}}}emissions")
                euro = sub(holder, f"{{{COM}}}emissionClassificationEuro")
                if value[0] in ("5", "6"):
                    euro.text = f"euro{value[0]}"
                else:
                    euro.text = "_extended"
                    euro.set("_extendedValue", f"euro{value[0]}")
            else:
                sub(chars, f"{{{COM}}}{name}", value[0])


_Char = tuple[str, tuple[str, list[tuple[str, str]]]]


def _characteristic(node: Condition, ctx: _Ctx) -> Iterator[_Char]:
    """The DATEX characteristic(s) of one node of a VehicleCondition."""
    if isinstance(node, All) and not node.children:
        yield "vehicleType", ("anyVehicle", [])
        return
    if isinstance(node, All) and all(isinstance(k, Leaf) and k.field == "first_admission" for k in node.children):
        leaves = [k for k in node.children if isinstance(k, Leaf)]
        if len(leaves) == 2 and {k.op for k in leaves} == {Op.GE, Op.LT}:
            start = next(k.value for k in leaves if k.op is Op.GE)
            yield (
                "ageCharacteristic",
                ("", [("comparisonOperator", "equalTo"), ("yearOfFirstRegistration", _year(start, ctx, node))]),
            )
            return
    if not isinstance(node, Leaf):
        raise _fail(ctx, node, "expected one vehicle characteristic")
    f, op, v = node.field, node.op, node.value
    if f == "fuels" and op is Op.CONTAINS and str(v) in _FUELS:
        yield "fuelType", (_FUELS[str(v)], [])
    elif f == "usage" and op is Op.CONTAINS and v == "taxi":
        yield "vehicleUsage", ("taxi", [])
    elif f == "emission_class" and op is Op.EQ and str(v) in "0123456":
        yield "emissions", (str(v), [])
    elif (f == "category" and op is Op.EQ) or (f == "category_group" and op is Op.EQ):
        yield "euVehicleCategory", (str(v).lower(), [])
    elif f == "special_purpose" and op is Op.CONTAINS and str(v) in _SPECIAL:
        yield "euSpecialPurposeVehicle", (_SPECIAL[str(v)], [])
    elif f == "holder" and op is Op.CONTAINS and v == "permanent_resident":
        yield "ownerCharacteristic", ("", [("ownerType", "permanentResident")])
    elif f == "age_years" and op in _OPS:
        yield "ageCharacteristic", ("", [("comparisonOperator", _OPS[op]), ("vehicleAge", str(int(v)))])
    elif f == "first_admission" and op in (Op.GE, Op.LT):
        yield (
            "ageCharacteristic",
            (
                "",
                [("comparisonOperator", _OPS[op]), ("yearOfFirstRegistration", _year(v, ctx, node))],
            ),
        )
    else:
        raise _fail(ctx, node, f"no NDW characteristic for {f} {op.value} {v!r}")


def _year(value: date, ctx: _Ctx, node: Condition) -> str:
    if (value.month, value.day) != (1, 1):
        raise _fail(ctx, node, "a first-admission date must be 1 January to be written as a year")
    return str(value.year)
