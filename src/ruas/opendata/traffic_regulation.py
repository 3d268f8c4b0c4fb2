"""The register's other regulations as DATEX II v3 ``TrafficRegulationPublication``.

Delivery windows, weight/length/height limits, the Amsterdam S100 heavy-vehicle rules and
platform-authored zones (announced ZE-zones included) are written one ``trafficRegulationOrder``
per regulation (its id the regulation id, its version the zone's version in force), in the
standard DATEX II v3 namespaces (``http://datex2.eu/schema/3/...``) so that the result validates
against the v3 schema shipped in ``tests/opendata/schemas``.

Each order holds one ``trafficRegulation`` (``AccessRestriction`` / ``noEntry``) whose condition is
``and(ValidityCondition, LocationCondition, <subject>, not(or(<exemptions>, <permits>)))``:

* every leaf of the condition tree becomes one condition, written natively where DATEX has an exact
  element (fuel type, gross weight, length, width, height, heaviest axle, Euro class, EU category and
  special-purpose vehicle, taxi use, year of first registration, start instants and simple
  ``opening_hours`` windows as recurring periods);
* each exemption clause (vrijstelling, transition rule) is a member of the negated or-set, each
  exemption type one can apply for (ontheffing) a ``PermitCondition`` with where to apply and the fee;
* what DATEX cannot say exactly (a body type, RDW codes, the vehicle's age, node ids and labels, the
  zone a regulation belongs to, a framework binding) travels in ``_...Extension`` elements of the
  RUAS namespace :data:`RUAS_NS` - lax extensions the schema accepts - so that our own importer
  (:mod:`ruas.opendata.tr_import`) reads the file back without loss.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from lxml import etree

from ruas.domain.conditions import All, Any_, Condition, Leaf, Not, Op
from ruas.domain.regulation import Clause, ExemptionType, Regulation, Status, Zone, ZoneStatus
from ruas.domain.windows import TimeWindow
from ruas.opendata.ndw_profile import is_ndw_zone
from ruas.opendata.snapshot import Snapshot, resolve_geometry
from ruas.opendata.xmlutil import XSI, XSI_TYPE, instant_text, multilingual, number_text, polygons, pos_list, sub
from ruas.register.records import Record, compile_record
from ruas.rules.frameworks import RuleSettings, national_exemption_types

D2 = "http://datex2.eu/schema/3/d2Payload"
COM = "http://datex2.eu/schema/3/common"
COMX = "http://datex2.eu/schema/3/commonExtension"
LOC = "http://datex2.eu/schema/3/locationReferencing"
TRO = "http://datex2.eu/schema/3/trafficRegulation"
RUAS_NS = "urn:ruas:datex2:extension:1"
"""Namespace of the RUAS extension elements (lax ``##any``/``##other`` content in DATEX)."""
NSMAP = {"d2": D2, "com": COM, "comx": COMX, "loc": LOC, "tro": TRO, "ruas": RUAS_NS, "xsi": XSI}

PUBLISHER_COUNTRY = "nl"
PUBLISHER_ID = "RUAS"
NO_START = datetime(1970, 1, 1, tzinfo=UTC)
"""``overallStartTime`` is mandatory in DATEX: a regulation without a start date is written as valid since 1970."""

FUELS = {
    "electric": "battery",
    "hydrogen": "hydrogen",
    "diesel": "diesel",
    "petrol": "petrol",
    "lpg": "lpg",
    "cng": "methane",
}
SPECIAL = {
    "SA": "motorCaravan",
    "SB": "armouredVehicle",
    "SC": "ambulance",
    "SD": "hearse",
    "SE": "trailerCaravan",
    "SF": "mobileCrane",
    "SG": "otherSpecialPurposeVehicle",
    "SH": "wheelChairAccessibleVehicle",
}
OPS = {
    Op.EQ: "equalTo",
    Op.GT: "greaterThan",
    Op.GE: "greaterThanOrEqualTo",
    Op.LT: "lessThan",
    Op.LE: "lessThanOrEqualTo",
}
MEASURES = {
    # field: (DATEX characteristic, value element, factor from our unit to DATEX's, typeOfWeight)
    "max_mass_kg": ("grossWeightCharacteristic", "grossVehicleWeight", 0.001, "maximumPermitted"),
    "axle_load_kg": ("heaviestAxleWeightCharacteristic", "heaviestAxleWeight", 0.001, None),
    "height_m": ("heightCharacteristic", "vehicleHeight", 1.0, None),
    "length_m": ("lengthCharacteristic", "vehicleLength", 1.0, None),
    "width_m": ("widthCharacteristic", "vehicleWidth", 1.0, None),
}
DAYS = {
    "Mo": "monday",
    "Tu": "tuesday",
    "We": "wednesday",
    "Th": "thursday",
    "Fr": "friday",
    "Sa": "saturday",
    "Su": "sunday",
}
MONTHS = {
    "Jan": "january",
    "Feb": "february",
    "Mar": "march",
    "Apr": "april",
    "May": "may",
    "Jun": "june",
    "Jul": "july",
    "Aug": "august",
    "Sep": "september",
    "Oct": "october",
    "Nov": "november",
    "Dec": "december",
}
_RULE = re.compile(
    r"^(?:(?P<months>[A-Z][a-z]{2}(?:-[A-Z][a-z]{2})?)\s+)?(?:(?P<days>[A-Z][a-z](?:[-,][A-Z][a-z])*)\s+)?"
    r"(?P<times>\d\d:\d\d-\d\d:\d\d(?:,\d\d:\d\d-\d\d:\d\d)*)$"
)


def exported_records(snapshot: Snapshot) -> list[Record]:
    """The records written to the TrafficRegulation publication: every record not in the NDW-profile file."""
    return [r for r in resolve_geometry(snapshot.records) if not is_ndw_zone(r)]


def traffic_regulation_xml(snapshot: Snapshot, settings: RuleSettings | None = None) -> bytes:
    """The register's regulations outside the NDW profile as one ``TrafficRegulationPublication`` (UTF-8)."""
    settings = settings or RuleSettings()
    types = national_exemption_types()
    root = etree.Element(f"{{{D2}}}payload", nsmap=NSMAP)
    root.set(XSI_TYPE, "tro:TrafficRegulationPublication")
    root.set("lang", "nl")
    root.set("modelBaseVersion", "3")
    root.set("id", f"ruas-register-{snapshot.version}")
    sub(root, f"{{{COM}}}publicationTime", instant_text(snapshot.version_time))
    creator = sub(root, f"{{{COM}}}publicationCreator")
    sub(creator, f"{{{COM}}}country", PUBLISHER_COUNTRY)
    sub(creator, f"{{{COM}}}nationalIdentifier", PUBLISHER_ID)
    holder = None
    for record in exported_records(snapshot):
        zone = compile_record(record, settings)
        for index, reg in enumerate(zone.regulations):
            if holder is None:
                holder = sub(root, f"{{{TRO}}}trafficRegulationsFromCompetentAuthorities")
            _order(holder, record, zone, reg, index, snapshot.zone_version(zone.id), types)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


# --------------------------------------------------------------------------- orders


def _order_status(zone: Zone, reg: Regulation) -> str:
    if reg.status is Status.REPEALED:
        return "withdrawn"
    if zone.status is ZoneStatus.ANNOUNCED or reg.status is Status.PROPOSED:
        return "planned"
    return "madeAndImplemented"


def _order(
    holder: Any,
    record: Record,
    zone: Zone,
    reg: Regulation,
    index: int,
    version: int,
    types: Mapping[str, ExemptionType],
) -> None:
    order = sub(holder, f"{{{TRO}}}trafficRegulationOrder", id=reg.id, version=str(version))
    multilingual(order, f"{{{TRO}}}description", COM, reg.name, None)
    multilingual(order, f"{{{TRO}}}issuingAuthority", COM, zone.authority_name or zone.authority, None)
    sub(order, f"{{{TRO}}}regulationId", reg.legal_source.citation or "unknown")
    sub(order, f"{{{TRO}}}status", _order_status(zone, reg))
    regulation = sub(order, f"{{{TRO}}}trafficRegulation")
    kind = sub(regulation, f"{{{TRO}}}typeOfRegulation")
    kind.set(XSI_TYPE, "tro:AccessRestriction")
    sub(kind, f"{{{TRO}}}accessRestrictionType", "noEntry")
    top = _cond(regulation, "condition", "ConditionSet")
    sub(top, f"{{{TRO}}}operator", "and")
    _validity(top, reg)
    if zone.geometry is not None:
        _location(top, zone.geometry)
    _tree(top, reg.subject, role="subject")
    if reg.exemptions or reg.exemption_types:
        ex = _cond(top, "conditions", "ConditionSet", negate=True, meta={"role": "exemptions"})
        sub(ex, f"{{{TRO}}}operator", "or")
        for clause in reg.exemptions:
            _clause(ex, clause)
        for type_id in reg.exemption_types:
            _permit(ex, type_id, types.get(type_id))
    legal = sub(order, f"{{{TRO}}}legalBasis")
    multilingual(legal, f"{{{TRO}}}name", COM, reg.legal_source.citation or reg.legal_source.title or "unknown", None)
    ext = sub(order, f"{{{TRO}}}_trafficRegulationOrderExtension")
    _ruas_zone(ext, record, zone, index)
    _ruas_regulation(ext, record, reg, index)


def _ruas_zone(ext: Any, record: Record, zone: Zone, index: int) -> None:
    elem = sub(
        ext,
        f"{{{RUAS_NS}}}zone",
        id=zone.id,
        kind=zone.kind.value,
        authority=zone.authority,
        status=zone.status.value,
        illustrative="true" if zone.illustrative else "false",
        regulationIndex=str(index),
    )
    sub(elem, f"{{{RUAS_NS}}}name", zone.name)
    sub(elem, f"{{{RUAS_NS}}}authorityName", zone.authority_name)
    if zone.url:
        sub(elem, f"{{{RUAS_NS}}}url", zone.url)
    if record.get("geometry_from"):
        sub(elem, f"{{{RUAS_NS}}}geometryFrom", str(record["geometry_from"]))
    for note in zone.notes:
        sub(elem, f"{{{RUAS_NS}}}note", note)
    if zone.source:
        sub(elem, f"{{{RUAS_NS}}}source", _json(dict(zone.source)))


def _ruas_regulation(ext: Any, record: Record, reg: Regulation, index: int) -> None:
    raw = record.get("regulations", [])[index]
    elem = sub(ext, f"{{{RUAS_NS}}}regulation", kind=reg.kind.value, status=reg.status.value)
    if "framework" in raw:
        # a binding to a national framework: the law lives in the framework, the zone adds area, dates, decree
        sub(elem, f"{{{RUAS_NS}}}binding", _json(raw))
        return
    sub(elem, f"{{{RUAS_NS}}}name", reg.name)
    sub(elem, f"{{{RUAS_NS}}}subjectLabel", reg.subject_label)
    sub(elem, f"{{{RUAS_NS}}}legalSource", _json(reg.legal_source.to_data()))
    written = {c.id for c in reg.exemptions}
    for clause in raw["custom"].get("exemptions", ()):
        if clause.get("id") not in written:  # a proposed clause the settings leave out: kept, not in force
            sub(elem, f"{{{RUAS_NS}}}unappliedClause", _json(clause))


def _json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


# --------------------------------------------------------------------------- conditions


def _cond(
    parent: Any, tag: str, xsi_type: str, *, negate: bool = False, meta: Mapping[str, str | None] | None = None
) -> Any:
    elem = sub(parent, f"{{{TRO}}}{tag}")
    elem.set(XSI_TYPE, f"tro:{xsi_type}")
    if negate:
        sub(elem, f"{{{TRO}}}negate", "true")
    values = {k: v for k, v in (meta or {}).items() if v is not None}
    if values:
        ext = sub(elem, f"{{{TRO}}}_conditionExtension")
        sub(ext, f"{{{RUAS_NS}}}node", **values)
    return elem


def _validity(parent: Any, reg: Regulation) -> None:
    start, end = reg.validity.start, reg.validity.end
    meta = {"role": "validity", "start": start.isoformat() if start else None, "end": end.isoformat() if end else None}
    elem = _cond(parent, "conditions", "ValidityCondition", meta=meta)
    _spec(elem, reg.validity.start or NO_START, reg.validity.end)


def _spec(elem: Any, start: datetime, end: datetime | None, window: TimeWindow | None = None) -> bool:
    """Write ``validityByOrder``; returns False (and writes nothing) when ``window`` has no DATEX form."""
    periods = _window_periods(window.expression) if window is not None else ([], False)
    if window is not None and not periods[0]:
        return False
    by_order = sub(elem, f"{{{TRO}}}validityByOrder")
    sub(by_order, f"{{{COM}}}validityStatus", "definedByValidityTimeSpec")
    spec = sub(by_order, f"{{{COM}}}validityTimeSpecification")
    sub(spec, f"{{{COM}}}overallStartTime", instant_text(start))
    if end is not None:
        sub(spec, f"{{{COM}}}overallEndTime", instant_text(end))
    rules, holidays_off = periods
    for months, days, times in rules:
        period = sub(spec, f"{{{COM}}}validPeriod")
        for start_t, end_t in times:
            tod = sub(period, f"{{{COM}}}recurringTimePeriodOfDay")
            sub(tod, f"{{{COM}}}startTimeOfPeriod", f"{start_t}:00")
            sub(tod, f"{{{COM}}}endTimeOfPeriod", f"{end_t}:00")
        if days or months:
            dwm = sub(period, f"{{{COM}}}recurringDayWeekMonthPeriod")
            for d in days:
                sub(dwm, f"{{{COM}}}applicableDay", d)
            for m in months:
                sub(dwm, f"{{{COM}}}applicableMonth", m)
    if holidays_off:
        exception = sub(spec, f"{{{COM}}}exceptionPeriod")
        special = sub(exception, f"{{{COM}}}recurringSpecialDay")
        sub(special, f"{{{COM}}}intersectWithApplicableDays", "true")
        sub(special, f"{{{COM}}}specialDayType", "publicHoliday")
    return True


def _expand(text: str, names: dict[str, str]) -> list[str] | None:
    keys = list(names)
    out: list[str] = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        if a not in names or (b and b not in names):
            return None
        i, j = keys.index(a), keys.index(b or a)
        span = keys[i : j + 1] if i <= j else keys[i:] + keys[: j + 1]
        out.extend(names[k] for k in span)
    return out


def _window_periods(expression: str) -> tuple[list[tuple[list[str], list[str], list[tuple[str, str]]]], bool]:
    """A one-rule ``opening_hours`` window (plus ``PH off``) as DATEX periods; ``([], False)`` when it has none.

    Several rules can override each other in OSM (a later rule replaces an earlier one on its days),
    which a union of DATEX periods cannot say: such windows travel only in the RUAS extension.
    """
    rules = [r.strip() for r in expression.split(";") if r.strip()]
    holidays_off = "PH off" in rules
    rules = [r for r in rules if r != "PH off"]
    if len(rules) != 1:
        return [], False
    match = _RULE.match(rules[0])
    if match is None:
        return [], False
    months = _expand(match["months"], MONTHS) if match["months"] else []
    days = _expand(match["days"], DAYS) if match["days"] else []
    if months is None or days is None:
        return [], False
    times = [tuple(span.split("-")) for span in match["times"].split(",")]
    if any(end == "24:00" for _, end in times):
        return [], False
    return [(months, days, [(a, b) for a, b in times])], holidays_off


def _tree(parent: Any, node: Condition, *, role: str | None = None, negate: bool = False) -> None:
    """One condition node (and its subtree) as a DATEX condition."""
    tag = "conditions"
    if isinstance(node, Not):
        if isinstance(node.child, Not) or (node.id is not None or node.label is not None):
            wrap = _cond(parent, tag, "ConditionSet", negate=not negate, meta=_meta(node, role, wrap="not"))
            sub(wrap, f"{{{TRO}}}operator", "and")
            _tree(wrap, node.child)
            return
        _tree(parent, node.child, role=role, negate=not negate)
        return
    if isinstance(node, All | Any_):
        elem = _cond(parent, tag, "ConditionSet", negate=negate, meta=_meta(node, role))
        sub(elem, f"{{{TRO}}}operator", "and" if isinstance(node, All) else "or")
        if not node.children:  # DATEX needs a member: an empty and is true, an empty or is false
            _tree(elem, Leaf("at", Op.GE, NO_START) if isinstance(node, All) else Not(Leaf("at", Op.GE, NO_START)))
            elem.find(f"{{{TRO}}}_conditionExtension/{{{RUAS_NS}}}node").set("empty", "true")
        for child in node.children:
            _tree(elem, child)
        return
    _leaf(parent, node, role, negate)


def _meta(node: Condition, role: str | None, **extra: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {"role": role, "id": node.id, "label": node.label}
    out.update(extra)
    if not any(v is not None for v in out.values()):
        out["kind"] = "set"  # every ConditionSet carries a marker so the importer knows it is ours
    return out


def _leaf(parent: Any, leaf: Leaf, role: str | None, negate: bool) -> None:
    value = leaf.to_data()["value"]
    meta = {**_meta(leaf, role), "field": leaf.field, "op": leaf.op.value, "value": _json(value)}
    meta.pop("kind", None)
    if leaf.field == "at":
        elem = _cond(parent, "conditions", "ValidityCondition", negate=negate, meta=meta)
        if leaf.op is Op.GE:
            _spec(elem, leaf.value, None)
        elif leaf.op is Op.IN_WINDOW:
            _spec(elem, NO_START, None, leaf.value)
        return
    elem = _cond(parent, "conditions", "VehicleCondition", negate=negate, meta=meta)
    chars = sub(elem, f"{{{TRO}}}vehicleCharacteristics")
    _native(chars, leaf)


def _native(chars: Any, leaf: Leaf) -> None:
    """The exact DATEX characteristic of a leaf, when there is one (else the RUAS leaf alone carries it)."""
    f, op, v = leaf.field, leaf.op, leaf.value
    if f == "fuels" and op in (Op.CONTAINS, Op.INTERSECTS):
        values = sorted(v) if isinstance(v, frozenset) else [v]
        if all(str(x) in FUELS for x in values):
            for x in values:
                sub(chars, f"{{{COM}}}fuelType", FUELS[str(x)])
    elif f == "usage" and op is Op.CONTAINS and v == "taxi":
        sub(chars, f"{{{COM}}}vehicleUsage", "taxi")
    elif f in MEASURES and op in OPS:
        name, element, factor, weight = MEASURES[f]
        holder = sub(chars, f"{{{COM}}}{name}")
        sub(holder, f"{{{COM}}}comparisonOperator", OPS[op])
        sub(holder, f"{{{COM}}}{element}", number_text(round(float(v) * factor, 6)))
        if weight:
            sub(holder, f"{{{COM}}}typeOfWeight", weight)
    elif f == "emission_class" and op is Op.EQ and str(v) in "0123456":
        emissions = sub(chars, f"{{{COM}}}emissions")
        euro = sub(emissions, f"{{{COM}}}emissionClassificationEuro")
        if str(v) in ("5", "6"):
            euro.text = f"euro{v}"
        else:
            euro.text = "_extended"
            euro.set("_extendedValue", f"euro{v}")
    elif f in ("category", "category_group") and op in (Op.EQ, Op.IN):
        values = sorted(str(x) for x in v) if isinstance(v, frozenset) else [str(v)]
        _regulated(chars, [("euVehicleCategory", x.lower()) for x in values])
    elif f == "special_purpose" and op is Op.CONTAINS and str(v) in SPECIAL:
        _regulated(chars, [("euSpecialPurposeVehicle", SPECIAL[str(v)])])
    elif f == "first_admission" and op in (Op.GE, Op.LT) and (v.month, v.day) == (1, 1):
        ext = sub(chars, f"{{{COM}}}_vehicleCharacteristicsExtension")
        extended = sub(ext, f"{{{COMX}}}vehicleCharacteristicsExtended")
        age = sub(extended, f"{{{COMX}}}ageCharacteristic")
        sub(age, f"{{{COMX}}}comparisonOperator", OPS[op])
        sub(age, f"{{{COMX}}}yearOfFirstRegistration", str(v.year))


def _regulated(chars: Any, items: Sequence[tuple[str, str]]) -> None:
    ext = sub(chars, f"{{{COM}}}_vehicleCharacteristicsExtension")
    extended = sub(ext, f"{{{COMX}}}vehicleCharacteristicsExtended")
    regulated = sub(extended, f"{{{COMX}}}regulatedCharacteristics")
    for name, value in items:
        sub(regulated, f"{{{COMX}}}{name}", value)


def _clause(parent: Any, clause: Clause) -> None:
    node = clause.condition
    meta: dict[str, str | None] = {
        "role": "clause",
        "clauseId": clause.id,
        "clauseLabel": clause.label,
        "clauseKind": clause.kind,
        "clauseStatus": clause.status.value,
        "replaces": clause.replaces,
        "legalSource": _json(clause.legal_source.to_data()) if clause.legal_source else None,
    }
    wrap = _cond(parent, "conditions", "ConditionSet", meta=meta)
    sub(wrap, f"{{{TRO}}}operator", "and")
    _tree(wrap, node)


def _permit(parent: Any, type_id: str, etype: ExemptionType | None) -> None:
    elem = _cond(parent, "conditions", "PermitCondition", meta={"role": "permit", "exemptionType": type_id})
    if etype is not None:
        legal = elem.find(f"{{{TRO}}}_conditionExtension")
        basis = etree.Element(f"{{{TRO}}}legalBasis")
        multilingual(basis, f"{{{TRO}}}name", COM, f"{etype.name_nl} ({etype.name})", None)
        legal.addprevious(basis)
        if etype.legal_source.url:
            sub(elem, f"{{{TRO}}}whereToApplyForPermit", etype.legal_source.url)
        sub(elem, f"{{{TRO}}}locationRelatedPermit", "true")
        if etype.fee_eur is not None:
            fee = sub(elem, f"{{{TRO}}}permitSubjectToFee")
            sub(fee, f"{{{TRO}}}amountDue", f"{etype.fee_eur:.2f}")


def _location(parent: Any, geometry: Mapping[str, Any]) -> None:
    elem = _cond(parent, "conditions", "LocationCondition", meta={"role": "location"})
    by_order = sub(elem, f"{{{TRO}}}locationByOrder")
    by_order.set(XSI_TYPE, "loc:AreaLocation")
    multi = sub(by_order, f"{{{LOC}}}gmlMultiPolygon")
    for poly in polygons(dict(geometry)):
        gml = sub(multi, f"{{{LOC}}}gmlPolygon")
        for i, ring in enumerate(poly):
            ring_elem = sub(gml, f"{{{LOC}}}exterior" if i == 0 else f"{{{LOC}}}interior", srsName="EPSG:4326")
            sub(ring_elem, f"{{{LOC}}}posList", pos_list(ring))
