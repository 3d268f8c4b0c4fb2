"""Read a DATEX II v3 ``TrafficRegulationPublication`` back into register records.

Our own exports (:mod:`ruas.opendata.traffic_regulation`) come back without loss: the RUAS extension
elements carry every leaf exactly, node ids and labels, the zone each order belongs to and framework
bindings. Orders from other publishers (or ours read with ``native_only=True``) are read from the
standard DATEX elements alone, for the characteristics the writer produces natively; anything else
raises :class:`~ruas.domain.errors.SourceError` naming the element - nothing is silently dropped.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from lxml import etree

from ruas.domain.conditions import All, Any_, Condition, Leaf, Not, Op
from ruas.domain.errors import SourceError
from ruas.domain.timeutil import LOCAL_TZ
from ruas.opendata.traffic_regulation import (
    COM,
    COMX,
    DAYS,
    FUELS,
    LOC,
    MEASURES,
    MONTHS,
    NO_START,
    OPS,
    RUAS_NS,
    SPECIAL,
    TRO,
)
from ruas.opendata.xmlutil import XSI_TYPE
from ruas.register.records import Record

_FUELS_BACK = {v: k for k, v in FUELS.items()}
_SPECIAL_BACK = {v: k for k, v in SPECIAL.items()}
_OPS_BACK = {v: k for k, v in OPS.items()}
_MEASURE_BACK = {name: (field, element, factor) for field, (name, element, factor, _) in MEASURES.items()}
_DAYS_BACK = {v: k for k, v in DAYS.items()}
_MONTHS_BACK = {v: k for k, v in MONTHS.items()}
_CATEGORIES = {"m1", "m2", "m3", "n1", "n2", "n3"}


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def _type(elem: Any) -> str:
    return str(elem.get(XSI_TYPE) or "").rsplit(":", 1)[-1]


def _fail(file: str, elem: Any, message: str, expected: str) -> SourceError:
    line = elem.sourceline if elem is not None else None
    return SourceError(f"{file}, line {line}: {message} (expected {expected})", file=file, line=line, expected=expected)


def _text(elem: Any, path: str) -> str:
    found = elem.find(path)
    return (found.text or "").strip() if found is not None and found.text else ""


def _multilingual(elem: Any, tag: str) -> str:
    holder = elem.find(tag)
    if holder is None:
        return ""
    value = holder.find(f"{_q(COM, 'values')}/{_q(COM, 'value')}")
    return (value.text or "").strip() if value is not None else ""


def parse_traffic_regulations(data: bytes, *, source_name: str, native_only: bool = False) -> list[Record]:
    """The records of a ``TrafficRegulationPublication``: one per zone, regulations in document order."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise SourceError(f"{source_name}: not well-formed XML ({exc.msg})", file=source_name, line=exc.lineno) from exc
    if _type(root) != "TrafficRegulationPublication":
        raise _fail(source_name, root, f"root type {root.get(XSI_TYPE)!r}", "tro:TrafficRegulationPublication")
    reader = _Reader(source_name, native_only)
    records: dict[str, Record] = {}
    for order in root.iter(_q(TRO, "trafficRegulationOrder")):
        zone, regulation = reader.order(order)
        record = records.setdefault(zone["id"], zone)
        record["regulations"].append(regulation)
    return list(records.values())


class _Reader:
    def __init__(self, file: str, native_only: bool) -> None:
        self.file = file
        self.native_only = native_only

    def fail(self, elem: Any, message: str, expected: str) -> SourceError:
        return _fail(self.file, elem, message, expected)

    def meta(self, elem: Any) -> dict[str, str]:
        if self.native_only:
            return {}
        node = elem.find(f"{_q(TRO, '_conditionExtension')}/{_q(RUAS_NS, 'node')}")
        return dict(node.attrib) if node is not None else {}

    # ------------------------------------------------------------------ orders

    def order(self, order: Any) -> tuple[Record, dict[str, Any]]:
        order_id = order.get("id") or ""
        ext = None if self.native_only else order.find(_q(TRO, "_trafficRegulationOrderExtension"))
        zone_meta = ext.find(_q(RUAS_NS, "zone")) if ext is not None else None
        reg_meta = ext.find(_q(RUAS_NS, "regulation")) if ext is not None else None
        regulation = order.find(_q(TRO, "trafficRegulation"))
        if regulation is None:
            raise self.fail(order, f"order {order_id!r} has no trafficRegulation", "one tro:trafficRegulation")
        restriction = _text(regulation, f"{_q(TRO, 'typeOfRegulation')}/{_q(TRO, 'accessRestrictionType')}")
        if restriction != "noEntry":
            raise self.fail(regulation, f"regulation type {restriction!r}", "AccessRestriction noEntry")
        top = regulation.find(_q(TRO, "condition"))
        parts = self.parts(top)
        zone = self.zone(order, zone_meta, parts.get("geometry"))
        binding = reg_meta.find(_q(RUAS_NS, "binding")) if reg_meta is not None else None
        if binding is not None:
            return zone, json.loads(binding.text or "{}")
        citation = _text(order, _q(TRO, "regulationId"))
        custom: dict[str, Any] = {
            "id": order_id,
            "name": _multilingual(order, _q(TRO, "description")) or order_id,
            "kind": zone["kind"],
            "subject_label": _multilingual(order, _q(TRO, "description")) or order_id,
            "subject": parts["subject"],
            "legal_source": {"citation": citation},
            "exemption_types": parts.get("types", []),
            "exemptions": parts.get("clauses", []),
        }
        start, end = parts.get("validity", (None, None))
        validity = {k: v for k, v in (("start", start), ("end", end)) if v}
        if validity:
            custom["validity"] = validity
        status = _text(order, _q(TRO, "status"))
        custom["status"] = {"planned": "proposed", "withdrawn": "repealed"}.get(status, "in_force")
        if reg_meta is not None:
            custom["kind"] = reg_meta.get("kind", custom["kind"])
            custom["status"] = reg_meta.get("status", custom["status"])
            custom["name"] = _text(reg_meta, _q(RUAS_NS, "name")) or custom["name"]
            custom["subject_label"] = _text(reg_meta, _q(RUAS_NS, "subjectLabel")) or custom["subject_label"]
            legal = reg_meta.find(_q(RUAS_NS, "legalSource"))
            if legal is not None:
                custom["legal_source"] = json.loads(legal.text or "{}")
            for extra in reg_meta.findall(_q(RUAS_NS, "unappliedClause")):
                custom["exemptions"].append(json.loads(extra.text or "{}"))
        return zone, {"custom": custom}

    def zone(self, order: Any, meta: Any, geometry: dict[str, Any] | None) -> Record:
        if meta is None:
            order_id = order.get("id") or ""
            return {
                "id": order_id,
                "name": _multilingual(order, _q(TRO, "description")) or order_id,
                "kind": "vehicle_restriction",
                "authority": "",
                "authority_name": _multilingual(order, _q(TRO, "issuingAuthority")),
                "status": "in_force",
                "geometry": geometry,
                "regulations": [],
            }
        record: Record = {
            "id": meta.get("id"),
            "name": _text(meta, _q(RUAS_NS, "name")),
            "kind": meta.get("kind"),
            "authority": meta.get("authority", ""),
            "authority_name": _text(meta, _q(RUAS_NS, "authorityName")),
            "status": meta.get("status", "in_force"),
        }
        if meta.get("illustrative") == "true":
            record["illustrative"] = True
        url = _text(meta, _q(RUAS_NS, "url"))
        if url:
            record["url"] = url
        ref = _text(meta, _q(RUAS_NS, "geometryFrom"))
        if ref:
            record["geometry_from"] = ref
        else:
            record["geometry"] = geometry
        record["notes"] = [(n.text or "") for n in meta.findall(_q(RUAS_NS, "note"))]
        source = meta.find(_q(RUAS_NS, "source"))
        if source is not None:
            record["source"] = json.loads(source.text or "{}")
        record["regulations"] = []
        return record

    # ------------------------------------------------------------------ the top-level and-set

    def parts(self, top: Any) -> dict[str, Any]:
        if top is None or _type(top) != "ConditionSet" or _text(top, _q(TRO, "operator")) != "and":
            raise self.fail(top, "the regulation's condition is not an and-set", "tro:ConditionSet with operator and")
        out: dict[str, Any] = {}
        subject: list[Condition] = []
        for child in top.findall(_q(TRO, "conditions")):
            role = self.meta(child).get("role")
            kind = _type(child)
            negated = _text(child, _q(TRO, "negate")) == "true"
            if role == "validity" or (role is None and kind == "ValidityCondition" and "validity" not in out):
                out["validity"] = self.validity(child)
            elif kind == "LocationCondition":
                out["geometry"] = self.geometry(child)
            elif role == "exemptions" or (role is None and kind == "ConditionSet" and negated and "clauses" not in out):
                out["clauses"], out["types"] = self.exemptions(child)
            else:
                subject.append(self.node(child))
        if not subject:
            raise self.fail(top, "no subject condition", "a condition saying which vehicles the rule is for")
        out["subject"] = (subject[0] if len(subject) == 1 else All(tuple(subject))).to_data()
        return out

    def validity(self, elem: Any) -> tuple[str | None, str | None]:
        meta = self.meta(elem)
        if meta.get("role") == "validity":  # our own export: the instants as the register holds them
            return meta.get("start"), meta.get("end")
        spec = elem.find(f"{_q(TRO, 'validityByOrder')}/{_q(COM, 'validityTimeSpecification')}")
        if spec is None:
            return None, None
        start = _text(spec, _q(COM, "overallStartTime"))
        end = _text(spec, _q(COM, "overallEndTime"))
        start_at = _instant(start) if start else None
        return (
            start_at.isoformat() if start_at and start_at != NO_START else None,
            _instant(end).isoformat() if end else None,
        )

    def geometry(self, elem: Any) -> dict[str, Any]:
        polygons = []
        for poly in elem.iter(_q(LOC, "gmlPolygon")):
            rings = []
            for ring in poly:
                if ring.tag not in (_q(LOC, "exterior"), _q(LOC, "interior")):
                    continue
                numbers = [float(t) for t in _text(ring, _q(LOC, "posList")).split()]
                rings.append([[numbers[i + 1], numbers[i]] for i in range(0, len(numbers), 2)])
            polygons.append(rings)
        if len(polygons) == 1:
            return {"type": "Polygon", "coordinates": polygons[0]}
        return {"type": "MultiPolygon", "coordinates": polygons}

    def exemptions(self, elem: Any) -> tuple[list[dict[str, Any]], list[str]]:
        clauses: list[dict[str, Any]] = []
        types: list[str] = []
        for child in elem.findall(_q(TRO, "conditions")):
            meta = self.meta(child)
            if _type(child) == "PermitCondition":
                types.append(
                    meta.get("exemptionType") or _multilingual(child.find(_q(TRO, "legalBasis")), _q(TRO, "name"))
                )
                continue
            if meta.get("role") == "clause":
                inner = child.findall(_q(TRO, "conditions"))
                clause: dict[str, Any] = {
                    "id": meta["clauseId"],
                    "label": meta.get("clauseLabel", ""),
                    "kind": meta.get("clauseKind", "transition"),
                    "status": meta.get("clauseStatus", "in_force"),
                    "condition": self.node(inner[0]).to_data(),
                }
                if meta.get("replaces"):
                    clause["replaces"] = meta["replaces"]
                if meta.get("legalSource"):
                    clause["legal_source"] = json.loads(meta["legalSource"])
                clauses.append(clause)
                continue
            node = self.node(child)
            clauses.append(
                {"id": f"clause-{len(clauses) + 1}", "label": "exemption", "kind": "local", "condition": node.to_data()}
            )
        return clauses, types

    # ------------------------------------------------------------------ nodes

    def node(self, elem: Any) -> Condition:
        meta = self.meta(elem)
        negated = _text(elem, _q(TRO, "negate")) == "true"
        kind = _type(elem)
        id_, label = meta.get("id"), meta.get("label")
        if kind == "ConditionSet":
            children = tuple(self.node(c) for c in elem.findall(_q(TRO, "conditions")))
            if meta.get("wrap") == "not":
                inner = children[0]
                return Not(inner, id_, label) if negated else inner
            if meta.get("empty") == "true":
                children = ()
            operator = _text(elem, _q(TRO, "operator"))
            if operator not in ("and", "or"):
                raise self.fail(elem, f"operator {operator!r}", "and or or")
            node: Condition = All(children, id_, label) if operator == "and" else Any_(children, id_, label)
        elif "field" in meta:
            node = Leaf(meta["field"], Op(meta["op"]), json.loads(meta["value"]), id_, label)
        elif kind == "VehicleCondition":
            node = self.vehicle(elem)
        elif kind == "ValidityCondition":
            node = self.time(elem)
        else:
            raise self.fail(elem, f"condition type {kind!r}", "ConditionSet, VehicleCondition or ValidityCondition")
        return Not(node) if negated else node

    def vehicle(self, elem: Any) -> Condition:
        chars = elem.find(_q(TRO, "vehicleCharacteristics"))
        leaves: list[Condition] = []
        fuels = [_FUELS_BACK.get(_text_of(f), "") for f in chars.findall(_q(COM, "fuelType"))]
        if fuels:
            if "" in fuels:
                raise self.fail(chars, "unknown fuel type", ", ".join(sorted(_FUELS_BACK)))
            leaves.append(
                Leaf("fuels", Op.CONTAINS, fuels[0]) if len(fuels) == 1 else Leaf("fuels", Op.INTERSECTS, fuels)
            )
        if _text(chars, _q(COM, "vehicleUsage")) == "taxi":
            leaves.append(Leaf("usage", Op.CONTAINS, "taxi"))
        for name, (field, element, factor) in _MEASURE_BACK.items():
            for m in chars.findall(_q(COM, name)):
                op = _OPS_BACK[_text(m, _q(COM, "comparisonOperator"))]
                value = float(_text(m, _q(COM, element))) / factor
                leaves.append(Leaf(field, op, round(value, 6)))
        euro = chars.find(f"{_q(COM, 'emissions')}/{_q(COM, 'emissionClassificationEuro')}")
        if euro is not None:
            text = euro.get("_extendedValue") if euro.text == "_extended" else euro.text
            leaves.append(Leaf("emission_class", Op.EQ, str(text or "").removeprefix("euro")))
        cats = [_text_of(c) for c in chars.iter(_q(COMX, "euVehicleCategory"))]
        if cats:
            fieldname = "category" if all(c in _CATEGORIES for c in cats) else "category_group"
            values = [c.upper() for c in cats]
            leaves.append(Leaf(fieldname, Op.EQ, values[0]) if len(values) == 1 else Leaf(fieldname, Op.IN, values))
        for sp in chars.iter(_q(COMX, "euSpecialPurposeVehicle")):
            leaves.append(Leaf("special_purpose", Op.CONTAINS, _SPECIAL_BACK[_text_of(sp)]))
        for age in chars.iter(_q(COMX, "ageCharacteristic")):
            op = _OPS_BACK[_text(age, _q(COMX, "comparisonOperator"))]
            year = int(_text(age, _q(COMX, "yearOfFirstRegistration")))
            leaves.append(Leaf("first_admission", op, f"{year}-01-01"))
        if not leaves:
            raise self.fail(elem, "a vehicle condition with no characteristic this reader knows", "a characteristic")
        return leaves[0] if len(leaves) == 1 else All(tuple(leaves))

    def time(self, elem: Any) -> Condition:
        spec = elem.find(f"{_q(TRO, 'validityByOrder')}/{_q(COM, 'validityTimeSpecification')}")
        if spec is None:
            raise self.fail(elem, "a validity condition without a time specification", "validityByOrder")
        periods = spec.findall(_q(COM, "validPeriod"))
        if not periods:
            return Leaf("at", Op.GE, _instant(_text(spec, _q(COM, "overallStartTime"))))
        rules = []
        for period in periods:
            dwm = period.find(_q(COM, "recurringDayWeekMonthPeriod"))
            months = (
                [_MONTHS_BACK[_text_of(m)] for m in dwm.findall(_q(COM, "applicableMonth"))] if dwm is not None else []
            )
            days = [_DAYS_BACK[_text_of(d)] for d in dwm.findall(_q(COM, "applicableDay"))] if dwm is not None else []
            times = [
                f"{_text(t, _q(COM, 'startTimeOfPeriod'))[:5]}-{_text(t, _q(COM, 'endTimeOfPeriod'))[:5]}"
                for t in period.findall(_q(COM, "recurringTimePeriodOfDay"))
            ]
            selector = " ".join(s for s in (",".join(months), ",".join(days)) if s)
            rules.append(f"{selector} {','.join(times)}".strip())
        if spec.find(f"{_q(COM, 'exceptionPeriod')}/{_q(COM, 'recurringSpecialDay')}") is not None:
            rules.append("PH off")
        return Leaf("at", Op.IN_WINDOW, "; ".join(rules))


def _text_of(elem: Any) -> str:
    return (elem.text or "").strip()


def _instant(text: str) -> datetime:
    """A DATEX instant in Amsterdam time (the zone of the rules); a time without offset is read as UTC."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(LOCAL_TZ)
