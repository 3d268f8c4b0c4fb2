"""OSM road restrictions written as regulations, so the one rules engine decides them.

An OSM way's truck-relevant tags (``maxweight``, ``maxaxleload``, ``maxheight``, ``maxwidth``,
``maxlength``, ``access``/``vehicle``/``motor_vehicle``/``goods``/``hgv`` incl. ``destination``
and ``delivery``, and their ``*:conditional`` forms with an ``opening_hours`` condition) are
translated into a *zone record* in the register's own ``custom`` format: one regulation per
restriction, with a condition tree over the vehicle and ``at``. Nothing here decides access:
:func:`restriction_zones` compiles the records with :func:`ruas.register.records.compile_record`
and :mod:`ruas.routing.permits` asks :func:`ruas.rules.engine.zone_decision` about them.

Conventions (stated, as OSM leaves them open):

- ``maxweight``/``maxaxleload`` are compared with the vehicle's TMM and maximum axle load (the
  actual mass is not known; the TMM is its upper bound, so a route is never illegal by mass).
- ``hgv`` means goods vehicles over 3,500 kg TMM, ``goods`` goods vehicles up to 3,500 kg; the
  most specific access tag wins (``hgv``/``goods`` > ``motor_vehicle`` > ``vehicle`` > ``access``).
- ``destination``/``customers`` let a vehicle in only when a stop of the trip lies in the
  stretch of such roads (fact ``destination_in_area``), ``delivery`` only to load or unload
  there (fact ``delivery_in_area``); the router states those facts on the vehicle's ``holder``.
- ``maxheight=default``/``none``/``below_default`` and unparsable values mean "no signed limit"
  and are listed in the record's ``notes``; a ``*:conditional`` whose condition is not a time
  window (e.g. ``@ (weight>7.5)``) is kept out and noted.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from ruas.domain.errors import InvalidInput
from ruas.domain.regulation import Zone
from ruas.domain.windows import parse_window
from ruas.register.records import compile_record
from ruas.rules.frameworks import RuleSettings

DESTINATION_FACT = "destination_in_area"
DELIVERY_FACT = "delivery_in_area"

OSM_LEGAL = {
    "citation": "OpenStreetMap way tags (RVV 1990 bijlage 1, borden C1-C22)",
    "note": "as mapped in OpenStreetMap (ODbL, (c) OpenStreetMap contributors); the sign on the street prevails",
}

# vehicle groups of the OSM access keys, as condition trees over the vehicle
_HGV = {
    "all": [{"field": "category_group", "op": "eq", "value": "N"}, {"field": "max_mass_kg", "op": "gt", "value": 3500}]
}
_GOODS = {
    "all": [{"field": "category_group", "op": "eq", "value": "N"}, {"field": "max_mass_kg", "op": "le", "value": 3500}]
}
_OTHER_MOTOR = {"field": "category_group", "op": "in", "value": ["M", "L", "T"]}
GROUPS: dict[str, tuple[dict[str, Any], str, tuple[str, ...]]] = {
    # group: (subject, label, keys from most to least specific)
    "hgv": (_HGV, "goods vehicles over 3.5 t", ("hgv", "motor_vehicle", "vehicle", "access")),
    "goods": (_GOODS, "goods vehicles up to 3.5 t", ("goods", "motor_vehicle", "vehicle", "access")),
    "motor": (_OTHER_MOTOR, "other motor vehicles", ("motor_vehicle", "vehicle", "access")),
}
ACCESS_KEYS = ("access", "vehicle", "motor_vehicle", "goods", "hgv")
NO_VALUES = frozenset({"no", "private", "agricultural", "forestry", "emergency", "psv", "bus", "discouraged_no"})
YES_VALUES = frozenset({"yes", "permissive", "designated", "official", "discouraged"})
DESTINATION_VALUES = frozenset({"destination", "customers"})
DELIVERY_VALUES = frozenset({"delivery"})

LIMIT_TAGS: dict[str, tuple[str, str, float]] = {
    # tag: (vehicle field, unit word, factor from the tag's unit to the field's)
    "maxweight": ("max_mass_kg", "t", 1000.0),
    "maxaxleload": ("axle_load_kg", "t", 1000.0),
    "maxheight": ("height_m", "m", 1.0),
    "maxwidth": ("width_m", "m", 1.0),
    "maxlength": ("length_m", "m", 1.0),
}
NO_LIMIT_WORDS = frozenset({"default", "none", "below_default", "no_sign", "no_indications", "unsigned"})

#: Tags that make a way's restriction set (everything else is ignored for access).
RELEVANT = tuple(
    sorted(
        {*LIMIT_TAGS, *ACCESS_KEYS, *(f"{k}:conditional" for k in (*LIMIT_TAGS, *ACCESS_KEYS))} | {"maxweightrating"}
    )
)

_NUMBER = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*([a-zA-Z]*)\s*$")
_FEET = re.compile(r"^\s*(\d+)\s*'\s*(?:(\d+(?:\.\d+)?)\s*\"?)?\s*$")


def parse_limit(tag: str, raw: str) -> float | None:
    """A limit value in the tag's own unit (tonnes or metres), or None when unsigned/unparsable.

    >>> parse_limit("maxweight", "7.5"), parse_limit("maxweight", "3500 kg"), parse_limit("maxheight", "4'6\\"")
    (7.5, 3.5, 1.372)
    >>> parse_limit("maxheight", "default") is None
    True
    """
    text = raw.strip().lower()
    if not text or text in NO_LIMIT_WORDS:
        return None
    feet = _FEET.match(text)
    if feet and tag in ("maxheight", "maxwidth", "maxlength"):
        return round(int(feet.group(1)) * 0.3048 + float(feet.group(2) or 0) * 0.0254, 3)
    m = _NUMBER.match(text.replace(" ", "") if text.endswith(("kg", "st", "lbs")) else text)
    if not m:
        return None
    value = float(m.group(1).replace(",", "."))
    unit = m.group(2)
    if unit in ("", "t", "m"):
        pass
    elif unit == "kg":
        value /= 1000.0
    elif unit in ("st",):  # short tons
        value *= 0.907
    elif unit == "lbs":
        value *= 0.000453592
    elif unit in ("ft",):
        value *= 0.3048
    else:
        return None
    return value if value > 0 else None


def split_conditional(value: str) -> list[tuple[str, str]]:
    """``"no @ (Mo-Fr 07:00-19:00); delivery @ (Sa)"`` -> ``[("no", "Mo-Fr 07:00-19:00"), ("delivery", "Sa")]``."""
    parts: list[str] = []
    depth, cur = 0, ""
    for ch in value:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == ";" and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    out: list[tuple[str, str]] = []
    for p in parts:
        if "@" not in p:
            continue
        val, cond = p.split("@", 1)
        cond = cond.strip()
        if cond.startswith("(") and cond.endswith(")"):
            cond = cond[1:-1]
        out.append((val.strip(), cond.strip()))
    return out


def _window_ok(cond: str) -> bool:
    try:
        parse_window(cond)
    except InvalidInput:
        return False
    return True


def relevant_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """The tags of a way that bear on access for motor vehicles (sorted, for a stable class key)."""
    return {k: str(tags[k]).strip() for k in RELEVANT if k in tags and str(tags[k]).strip()}


def _in_window(expr: str) -> dict[str, Any]:
    return {"field": "at", "op": "in_window", "value": expr}


def restriction_record(tags: Mapping[str, str]) -> dict[str, Any]:
    """The zone record (register ``custom`` format) for one set of relevant tags.

    The record's ``id`` is a stable hash of the tags, so the same tags give the same class
    in every import. ``regulations`` is empty when the tags restrict nobody.
    """
    tags = relevant_tags(tags)
    key = json.dumps(tags, sort_keys=True)
    cid = "osm-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:12] if tags else "osm-none"
    regs: list[dict[str, Any]] = []
    notes: list[str] = []
    local: set[str] = set()

    def add(
        rid: str, name: str, label: str, subject: dict[str, Any], exemptions: Sequence[dict[str, Any]] = ()
    ) -> None:
        regs.append(
            {
                "custom": {
                    "id": f"{cid}/{rid}",
                    "name": name,
                    "kind": "vehicle_restriction",
                    "subject_label": label,
                    "subject": subject,
                    "legal_source": OSM_LEGAL,
                    "exemptions": list(exemptions),
                    "exemption_types": [],
                }
            }
        )

    # physical and legal limits
    for tag, (fld, unit, factor) in LIMIT_TAGS.items():
        raw = tags.get(tag)
        if raw is not None:
            value = parse_limit(tag, raw)
            if value is None:
                notes.append(f"{tag}={raw}: no signed limit read")
            else:
                limit = round(value * factor, 3)
                add(
                    tag,
                    f"{tag} {value:g} {unit}",
                    f"vehicles with {fld.replace('_', ' ')} over {limit:g} ({tag}={raw})",
                    {"field": fld, "op": "gt", "value": limit},
                )
        cond_raw = tags.get(f"{tag}:conditional")
        if cond_raw is not None:
            for i, (val, cond) in enumerate(split_conditional(cond_raw)):
                value = parse_limit(tag, val)
                if value is None or not _window_ok(cond):
                    notes.append(f"{tag}:conditional={cond_raw}: condition {cond!r} is not a time window; not applied")
                    continue
                limit = round(value * factor, 3)
                add(
                    f"{tag}-cond{i}",
                    f"{tag} {value:g} {unit} ({cond})",
                    f"vehicles with {fld.replace('_', ' ')} over {limit:g} during {cond} ({tag}:conditional)",
                    {"all": [{"field": fld, "op": "gt", "value": limit}, _in_window(cond)]},
                )

    # access by vehicle group: the most specific key wins, its conditional form adds windows
    for group, (subject, glabel, keys) in GROUPS.items():
        base_key = next((k for k in keys if k in tags), None)
        base = tags[base_key].lower() if base_key else "yes"
        cond_key = next((f"{k}:conditional" for k in keys if f"{k}:conditional" in tags), None)
        conds = split_conditional(tags[cond_key]) if cond_key else []
        good = [(v.lower(), c) for v, c in conds if _window_ok(c)]
        for _v, c in conds:
            if cond_key and not _window_ok(c):
                notes.append(f"{cond_key}={tags[cond_key]}: condition {c!r} is not a time window; not applied")
        opens = [c for v, c in good if v in YES_VALUES]
        closes = [(v, c) for v, c in good if v not in YES_VALUES]
        if base in NO_VALUES or base in DESTINATION_VALUES or base in DELIVERY_VALUES:
            exemptions = [
                {"id": f"{cid}/{group}-open{i}", "label": f"open during {c} ({cond_key})", "condition": _in_window(c)}
                for i, c in enumerate(opens)
            ]
            exemptions += _local_clauses(cid, group, base)
            local |= _local_facts(base)
            add(
                f"{group}-{base_key or 'access'}",
                f"{base_key}={base}",
                f"{glabel}: {base_key}={base}",
                subject,
                exemptions,
            )
        for i, (v, c) in enumerate(closes):
            if v not in NO_VALUES | DESTINATION_VALUES | DELIVERY_VALUES:
                notes.append(f"{cond_key}: value {v!r} not understood; not applied")
                continue
            local |= _local_facts(v)
            add(
                f"{group}-cond{i}",
                f"{cond_key}={v} @ ({c})",
                f"{glabel}: {v} during {c} ({cond_key})",
                {"all": [subject, _in_window(c)]},
                _local_clauses(cid, f"{group}-cond{i}", v),
            )
    return {
        "id": cid,
        "name": "OSM way restrictions: " + (", ".join(f"{k}={v}" for k, v in tags.items()) or "none"),
        "kind": "vehicle_restriction",
        "authority": "OSM",
        "authority_name": "OpenStreetMap",
        "status": "in_force",
        "tags": tags,
        "local": sorted(local),
        "notes": notes,
        "regulations": regs,
    }


def _local_facts(value: str) -> set[str]:
    if value in DESTINATION_VALUES:
        return {DESTINATION_FACT}
    if value in DELIVERY_VALUES:
        return {DELIVERY_FACT}
    return set()


def _local_clauses(cid: str, rid: str, value: str) -> list[dict[str, Any]]:
    if value in DESTINATION_VALUES:
        return [
            {
                "id": f"{cid}/{rid}-destination",
                "label": "destination traffic: a stop of the trip lies on these roads",
                "kind": "local",
                "condition": {"field": "holder", "op": "contains", "value": DESTINATION_FACT},
            }
        ]
    if value in DELIVERY_VALUES:
        return [
            {
                "id": f"{cid}/{rid}-delivery",
                "label": "loading or unloading at a stop on these roads",
                "kind": "local",
                "condition": {"field": "holder", "op": "contains", "value": DELIVERY_FACT},
            }
        ]
    return []


@lru_cache(maxsize=64)
def _compiled(record_json: str) -> Zone:
    return compile_record(json.loads(record_json), RuleSettings())


def restriction_zones(records: Sequence[Mapping[str, Any]]) -> list[Zone]:
    """Compile tag-class records into zones the engine can decide (validated like any register record)."""
    return [_compiled(json.dumps(r, sort_keys=True)) for r in records]
