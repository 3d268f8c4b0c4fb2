"""Use cases of the regulation lifecycle and the regional base framework (basisraamwerk).

Zone records go draft -> published -> withdrawn:

- an officer of the zone's municipality (or the regional administrator) saves a *draft*: a full zone record,
  validated by compiling it, errors naming the field; a zone has at most one open draft and saving replaces it;
  drafts are never in force;
- *publish* turns the draft into the zone's next version, in force from ``effective_from`` (default now), bumps
  the register version (the ETag of every public read) and audits who, when and what changed — in one transaction;
- *withdraw* takes the zone out of force (audited, register version bumped).

The regional base framework holds templates (delivery windows, exemption types with harmonised terms, the
enforcement policy) that a municipality *adopts*, with its local deviations stored explicitly; the harmonisation
view shows, per municipality and item, adopted as-is / adopted with deviations (listed) / not adopted.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from importlib import resources
from typing import Any

import shapely
from shapely.geometry import shape
from sqlalchemy import Engine, false, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ruas.domain.conditions import from_data
from ruas.domain.errors import Conflict, InvalidInput, NotFound, RuasError
from ruas.domain.regulation import Status, ZoneKind, ZoneStatus
from ruas.domain.timeutil import parse_instant
from ruas.domain.windows import parse_window
from ruas.register.records import Record, compile_book, municipality_names
from ruas.register.store import Register
from ruas.rules.frameworks import RuleSettings, national_exemption_types, national_frameworks
from ruas.services.accounts import Forbidden, Principal
from ruas.store.db import session_scope
from ruas.store.models import Adoption, AuditEntry, FrameworkItem, Municipality, ZoneVersion

ZONE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")
ZONE_ID_EXPECTED = "1-100 letters, digits or _ . : - (starting with a letter or digit)"
MAX_RECORD_CHARS = 2_000_000
MAX_DEPTH = 64
FIRST_YEAR, LAST_YEAR = 1900, 2999
# the Netherlands with a margin, in GeoJSON order: catches positions typed as [lat, lon]
NL_BOUNDS = (3.0, 50.5, 7.5, 54.0)

RECORD_KEYS = frozenset(
    {
        "id",
        "name",
        "kind",
        "authority",
        "authority_name",
        "status",
        "url",
        "illustrative",
        "notes",
        "source",
        "published_condition",
        "geometry",
        "geometry_from",
        "regulations",
    }
)
BINDING_KEYS = frozenset(
    {"framework", "start", "end", "legal_source", "local_clauses", "extra_exemption_types", "params"}
)
CUSTOM_KEYS = frozenset(
    {
        "id",
        "name",
        "kind",
        "subject",
        "subject_label",
        "legal_source",
        "validity",
        "exemptions",
        "exemption_types",
        "status",
    }
)
LEGAL_SOURCE_KEYS = frozenset({"citation", "title", "url", "note"})
CLAUSE_KEYS = frozenset({"id", "label", "condition", "kind", "legal_source", "status", "replaces"})
CATEGORY_GROUPS = ("L", "M", "N", "O", "T")
DIFF_LIMIT = 50


# --------------------------------------------------------------------------- validating a zone record


def _bad(field_path: str, message: str, **extra: Any) -> InvalidInput:
    return InvalidInput(f"{field_path}: {message}", field=field_path, **extra)


def _text(value: Any, field_path: str, *, required: bool = True, max_length: int = 500) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise _bad(field_path, "expected a non-empty text" if required else "expected a text")
    if len(value) > max_length:
        raise _bad(field_path, f"longer than {max_length} characters")
    return value


def _object(value: Any, field_path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(field_path, f"expected an object, got {type(value).__name__}")
    return value


def _list(value: Any, field_path: str) -> list[Any]:
    if not isinstance(value, list):
        raise _bad(field_path, f"expected a list, got {type(value).__name__}")
    return value


def _one_of(value: Any, choices: type[StrEnum]) -> bool:
    return isinstance(value, str) and value in {c.value for c in choices}


def _known_keys(data: Mapping[str, Any], allowed: frozenset[str], field_path: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        where = f"{field_path}.{unknown[0]}" if field_path else unknown[0]
        raise _bad(where, f"unknown key; expected one of {', '.join(sorted(allowed))}")


def _instant(value: Any, field_path: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _bad(field_path, "expected an ISO-8601 date or date-time, e.g. 2026-01-01")
    return check_instant(parse_instant(value, field_path), field_path)


def check_instant(at: datetime, field_path: str) -> datetime:
    """``at`` when its year is within the register's range (1900-2999), else :class:`InvalidInput`."""
    if not FIRST_YEAR <= at.year <= LAST_YEAR:
        raise _bad(field_path, f"expected a moment in the years {FIRST_YEAR}-{LAST_YEAR}", value=at.isoformat())
    return at


def _depth(value: Any) -> int:
    deepest, todo = 0, [(value, 1)]
    while todo:
        node, level = todo.pop()
        deepest = max(deepest, level)
        if isinstance(node, dict):
            todo.extend((v, level + 1) for v in node.values())
        elif isinstance(node, list):
            todo.extend((v, level + 1) for v in node)
    return deepest


def _condition(value: Any, field_path: str) -> None:
    try:
        from_data(value, field_path)
    except InvalidInput as exc:  # name the node's path in the record as the field, the vehicle field apart
        where = str(exc.details.get("path") or field_path)
        raise InvalidInput(exc.message, field=where, condition_field=exc.details.get("field")) from exc


def _legal_source(value: Any, field_path: str, *, required: bool) -> None:
    if value is None and not required:
        return
    data = _object(value, field_path)
    _known_keys(data, LEGAL_SOURCE_KEYS, field_path)
    for key in LEGAL_SOURCE_KEYS & set(data):
        _text(data[key], f"{field_path}.{key}", required=False, max_length=1000)


def _clauses(value: Any, field_path: str) -> None:
    for i, item in enumerate(_list(value, field_path)):
        path = f"{field_path}[{i}]"
        clause = _object(item, path)
        _known_keys(clause, CLAUSE_KEYS, path)
        _text(clause.get("id"), f"{path}.id", max_length=200)
        _text(clause.get("label"), f"{path}.label", max_length=1000)
        if "condition" not in clause:
            raise _bad(f"{path}.condition", "missing: a condition tree is required")
        _condition(clause["condition"], f"{path}.condition")
        if "status" in clause and not _one_of(clause["status"], Status):
            raise _bad(f"{path}.status", f"expected one of {', '.join(s.value for s in Status)}")
        _legal_source(clause.get("legal_source"), f"{path}.legal_source", required=False)


def _exemption_types(value: Any, field_path: str) -> None:
    known = national_exemption_types()
    for i, type_id in enumerate(_list(value, field_path)):
        if not isinstance(type_id, str) or type_id not in known:
            raise _bad(f"{field_path}[{i}]", f"unknown exemption type {type_id!r}; known: {', '.join(sorted(known))}")


def check_geometry(value: Any, field_path: str) -> None:
    """A GeoJSON Polygon or MultiPolygon in WGS84 [lon, lat] that is valid and lies in the Netherlands."""
    geometry = _object(value, field_path)
    if geometry.get("type") not in ("Polygon", "MultiPolygon"):
        raise _bad(f"{field_path}.type", "expected 'Polygon' or 'MultiPolygon' (a zone is an area)")
    try:
        geom = shape(geometry)
        valid = bool(geom.is_valid)
        bounds = geom.bounds
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, shapely.errors.GEOSException) as exc:
        raise _bad(f"{field_path}.coordinates", f"not valid GeoJSON coordinates ({exc})") from exc
    if geom.is_empty or not all(math.isfinite(b) for b in bounds):
        raise _bad(f"{field_path}.coordinates", "the area is empty")
    if not valid:
        raise _bad(f"{field_path}.coordinates", f"the polygon is not valid ({shapely.is_valid_reason(geom)})")
    west, south, east, north = NL_BOUNDS
    if not (west <= bounds[0] and bounds[2] <= east and south <= bounds[1] and bounds[3] <= north):
        raise _bad(
            f"{field_path}.coordinates",
            "the area lies outside the Netherlands; GeoJSON positions are [longitude, latitude] in WGS84",
        )


def _check_custom(data: dict[str, Any], path: str) -> None:
    _known_keys(data, CUSTOM_KEYS, path)
    _text(data.get("id"), f"{path}.id", max_length=200)
    _text(data.get("name"), f"{path}.name")
    _text(data.get("subject_label"), f"{path}.subject_label", max_length=1000)
    if "kind" in data and not _one_of(data["kind"], ZoneKind):
        raise _bad(f"{path}.kind", f"expected one of {', '.join(k.value for k in ZoneKind)}")
    if "subject" not in data:
        raise _bad(f"{path}.subject", "missing: a condition tree saying which vehicles the rule is for")
    _condition(data["subject"], f"{path}.subject")
    if "legal_source" not in data:
        raise _bad(f"{path}.legal_source", "missing: the regulation's legal basis (at least a citation)")
    _legal_source(data["legal_source"], f"{path}.legal_source", required=True)
    validity = _object(data.get("validity", {}), f"{path}.validity")
    _known_keys(validity, frozenset({"start", "end"}), f"{path}.validity")
    start = _instant(validity.get("start"), f"{path}.validity.start")
    end = _instant(validity.get("end"), f"{path}.validity.end")
    if start is not None and end is not None and end <= start:
        raise _bad(f"{path}.validity.end", "must be after validity.start")
    _clauses(data.get("exemptions", []), f"{path}.exemptions")
    _exemption_types(data.get("exemption_types", []), f"{path}.exemption_types")
    if "status" in data and not _one_of(data["status"], Status):
        raise _bad(f"{path}.status", f"expected one of {', '.join(s.value for s in Status)}")


def _check_binding(data: dict[str, Any], path: str) -> None:
    _known_keys(data, BINDING_KEYS, path)
    frameworks = national_frameworks()
    if not isinstance(data["framework"], str) or data["framework"] not in frameworks:
        raise _bad(f"{path}.framework", f"unknown framework; expected one of {', '.join(sorted(frameworks))}")
    start = _instant(data.get("start"), f"{path}.start")
    end = _instant(data.get("end"), f"{path}.end")
    if start is not None and end is not None and end <= start:
        raise _bad(f"{path}.end", "must be after start")
    _legal_source(data.get("legal_source"), f"{path}.legal_source", required=False)
    _clauses(data.get("local_clauses", []), f"{path}.local_clauses")
    _exemption_types(data.get("extra_exemption_types", []), f"{path}.extra_exemption_types")
    _object(data.get("params", {}), f"{path}.params")


def _resolve_area(record: Record, context: Sequence[Record]) -> Record:
    ref = record.get("geometry_from")
    if not ref:
        return record
    target = next((r for r in context if r["id"] == ref), None)
    if target is None or not target.get("geometry"):
        raise _bad("geometry_from", f"names no zone in force with an area: {ref!r}")
    return {**record, "geometry": target["geometry"]}


def validate_record(record: Any, zone_id: str, *, context: Sequence[Record], settings: RuleSettings) -> Record:
    """The zone record checked field by field and compiled; raises :class:`InvalidInput` naming the field.

    ``context`` is the register in force (for ``geometry_from`` and regulation ids used by other zones). The
    result is a JSON copy with ``id`` and ``authority_name`` filled in when left out.
    """
    data = _object(record, "record")
    if _depth(data) > MAX_DEPTH:
        raise _bad("record", f"nested deeper than {MAX_DEPTH} levels")
    try:
        text = json.dumps(data, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise _bad("record", f"not plain JSON with finite numbers ({exc})") from exc
    if len(text) > MAX_RECORD_CHARS:
        raise _bad("record", f"larger than {MAX_RECORD_CHARS:,} characters")
    out: Record = json.loads(text)
    if not ZONE_ID.match(zone_id):
        raise _bad("zone_id", f"expected {ZONE_ID_EXPECTED}", value=zone_id)
    out.setdefault("id", zone_id)
    if out["id"] != zone_id:
        raise _bad("id", f"{out['id']!r} differs from the zone id in the path {zone_id!r}")
    _known_keys(out, RECORD_KEYS, "")
    _text(out.get("name"), "name", max_length=200)
    if not _one_of(out.get("kind"), ZoneKind):
        raise _bad("kind", f"expected one of {', '.join(k.value for k in ZoneKind)}")
    authority = out.get("authority")
    if not isinstance(authority, str) or authority not in municipality_names():
        raise _bad("authority", "expected the CBS code of the municipality that governs the zone, e.g. GM0363")
    out.setdefault("authority_name", municipality_names()[authority])
    _text(out["authority_name"], "authority_name", max_length=100)
    if "status" in out and not _one_of(out["status"], ZoneStatus):
        raise _bad("status", f"expected one of {', '.join(s.value for s in ZoneStatus)}")
    _text(out.get("url"), "url", required=False, max_length=1000)
    if "illustrative" in out and not isinstance(out["illustrative"], bool):
        raise _bad("illustrative", "expected true or false")
    for i, note in enumerate(_list(out.get("notes", []), "notes")):
        _text(note, f"notes[{i}]", max_length=2000)
    _object(out.get("source", {}), "source")
    if out.get("published_condition") is not None:
        _condition(out["published_condition"], "published_condition")
    if out.get("geometry") is not None and out.get("geometry_from"):
        raise _bad("geometry_from", "give either geometry or geometry_from, not both")
    if out.get("geometry") is not None:
        check_geometry(out["geometry"], "geometry")
    if out.get("geometry_from") is not None:
        _text(out["geometry_from"], "geometry_from", max_length=100)
    regulations = _list(out.get("regulations"), "regulations")
    if not regulations:
        raise _bad("regulations", "a zone needs at least one regulation")
    taken = {
        str(r["custom"].get("id")): str(z["id"])
        for z in context
        if z["id"] != zone_id
        for r in z.get("regulations", ())
        if "custom" in r
    }
    seen: set[str] = set()
    for i, item in enumerate(regulations):
        path = f"regulations[{i}]"
        reg = _object(item, path)
        if ("framework" in reg) == ("custom" in reg):
            raise _bad(path, "expected exactly one of 'framework' (a binding) or 'custom' (a regulation in full)")
        if "framework" in reg:
            _check_binding(reg, path)
            continue
        _known_keys(reg, frozenset({"custom"}), path)
        custom = _object(reg["custom"], f"{path}.custom")
        _check_custom(custom, f"{path}.custom")
        reg_id = custom["id"]
        if reg_id in seen:
            raise _bad(f"{path}.custom.id", f"{reg_id!r} is used twice in this zone")
        if reg_id in taken:
            raise _bad(f"{path}.custom.id", f"{reg_id!r} is the id of a regulation of zone {taken[reg_id]}")
        seen.add(reg_id)
    resolved = _resolve_area(out, context)
    try:
        compile_book([resolved], settings)
    except RuasError as exc:
        where = str(exc.details.get("path") or exc.details.get("field") or "record")
        raise _bad(where, exc.message) from exc
    except (KeyError, ValueError, TypeError) as exc:  # a shape the checks above did not foresee
        raise _bad("record", f"does not compile: {exc}") from exc
    return out


# --------------------------------------------------------------------------- what changed


def _summary(value: Any) -> Any:
    if isinstance(value, dict) and "coordinates" in value and "type" in value:
        return f"<{value['type']} with {len(json.dumps(value['coordinates'])):,} characters of coordinates>"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    if len(text) <= 160:
        return value
    if isinstance(value, dict):
        return f"<object with keys {', '.join(sorted(value))}>"
    if isinstance(value, list):
        return f"<list of {len(value)} items>"
    return text[:157] + "..."


def _item_key(item: Any) -> str | None:
    if not isinstance(item, dict):
        return None
    custom = item.get("custom")
    inner: dict[str, Any] = custom if isinstance(custom, dict) else item
    key = inner.get("id") or item.get("framework")
    return str(key) if key is not None else None


def compact_diff(old: Any, new: Any, path: str = "", limit: int = DIFF_LIMIT) -> list[dict[str, Any]]:
    """What changed between two JSON values, as ``{"path", "from", "to"}`` entries (big values summarised).

    Objects are compared key by key; lists of regulations by their id; an area is compared as a whole.

    >>> compact_diff({"a": 1, "b": [1, 2]}, {"a": 2, "b": [1, 3], "c": True})
    [{'path': 'a', 'from': 1, 'to': 2}, {'path': 'b[1]', 'from': 2, 'to': 3}, {'path': 'c', 'from': None, 'to': True}]
    >>> compact_diff({"a": 1}, {"a": 1})
    []
    """
    out: list[dict[str, Any]] = []
    _diff(old, new, path, out)
    if len(out) > limit:
        return [*out[:limit], {"path": "...", "from": None, "to": f"{len(out) - limit} more changes"}]
    return out


def _diff(old: Any, new: Any, path: str, out: list[dict[str, Any]]) -> None:
    if _canonical(old) == _canonical(new):
        return
    if isinstance(old, dict) and isinstance(new, dict) and not path.endswith("geometry"):
        for key in sorted(set(old) | set(new)):
            _diff(old.get(key), new.get(key), f"{path}.{key}" if path else key, out)
        return
    if isinstance(old, list) and isinstance(new, list):
        old_keys = [_item_key(x) for x in old]
        new_keys = [_item_key(x) for x in new]
        keyed = None not in old_keys + new_keys and len(set(old_keys)) == len(old) and len(set(new_keys)) == len(new)
        if keyed:
            old_by = dict(zip(old_keys, old, strict=True))
            new_by = dict(zip(new_keys, new, strict=True))
            for key in [k for k in old_keys if k not in new_by] + list(new_keys):
                _diff(old_by.get(key), new_by.get(key), f"{path}[{key}]", out)
            return
        if len(old) == len(new):
            for i, (a, b) in enumerate(zip(old, new, strict=True)):
                _diff(a, b, f"{path}[{i}]", out)
            return
    out.append({"path": path, "from": _summary(old), "to": _summary(new)})


def changed_keys(old: Record | None, new: Record) -> list[str]:
    """The top-level keys of a record that differ (every key of a new zone)."""
    if old is None:
        return sorted(new)
    return sorted(k for k in set(old) | set(new) if _canonical(old.get(k)) != _canonical(new.get(k)))


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


# --------------------------------------------------------------------------- the lifecycle of zone records


@dataclass(frozen=True, slots=True)
class Draft:
    """A zone's open draft: the record, who saved it when, and whether what is in force changed since."""

    zone_id: str
    record: Record
    saved_by: str
    saved_at: datetime
    in_force_version: int | None
    stale: bool

    @property
    def etag(self) -> str:
        """Identifies this saved draft: publish with it to be sure the draft reviewed is the one published."""
        raw = f"{self.zone_id}|{self.saved_at.isoformat()}|{_canonical(self.record)}"
        return hashlib.sha256(raw.encode()).hexdigest()[:32]

    def to_data(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "zone_id": self.zone_id,
            "authority": self.record.get("authority", ""),
            "saved_by": self.saved_by,
            "saved_at": self.saved_at.isoformat(),
            "etag": self.etag,
            "in_force_version": self.in_force_version,
            "stale": self.stale,
            "record": self.record,
        }


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """One published (or since withdrawn) version of a zone."""

    zone_id: str
    version: int
    status: str
    in_force: bool
    name: str
    kind: str
    authority: str
    effective_from: datetime | None
    published_at: datetime | None
    note: str
    record: Record

    @classmethod
    def of(cls, row: ZoneVersion, in_force_version: int | None) -> VersionInfo:
        """From a stored row."""
        return cls(
            zone_id=row.zone_id,
            version=row.version,
            status=row.status,
            in_force=row.status == "published" and row.version == in_force_version,
            name=str(row.record.get("name", "")),
            kind=row.kind,
            authority=row.authority,
            effective_from=row.effective_from,
            published_at=row.published_at,
            note=row.note or "",
            record=dict(row.record),
        )

    def to_data(self, *, record: bool) -> dict[str, Any]:
        """JSON form, with the full record when ``record``."""
        data: dict[str, Any] = {
            "zone_id": self.zone_id,
            "version": self.version,
            "status": self.status,
            "in_force": self.in_force,
            "name": self.name,
            "kind": self.kind,
            "authority": self.authority,
            "effective_from": self.effective_from.isoformat() if self.effective_from else None,
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "note": self.note,
        }
        if record:
            data["record"] = self.record
        return data


@dataclass(frozen=True, slots=True)
class Published:
    """What a publication did."""

    version: VersionInfo
    action: str
    changed: list[str]
    diff: list[dict[str, Any]]
    register_version: int


def check_zone_id(zone_id: str) -> str:
    """``zone_id`` if it has the shape of a zone id, else :class:`InvalidInput` naming ``zone_id``."""
    if not ZONE_ID.match(zone_id):
        raise _bad("zone_id", f"expected {ZONE_ID_EXPECTED}", value=zone_id[:120])
    return zone_id


def require_authority(principal: Principal, code: str, what: str) -> None:
    """Only an officer of municipality ``code`` or the regional administrator may do ``what`` (401/403 otherwise)."""
    principal.require("officer", "admin")
    if not principal.may_decide_for(code):
        raise Forbidden(
            f"{principal.username} may not {what}: only officers of {code} or the regional administrator may",
            field="authority",
            value=code,
        )


def _in_force(history: Sequence[ZoneVersion]) -> ZoneVersion | None:
    published = [r for r in history if r.status == "published"]
    return max(published, key=lambda r: r.version) if published else None


def _draft(history: Sequence[ZoneVersion]) -> ZoneVersion | None:
    return next((r for r in history if r.status == "draft"), None)


def _owner(history: Sequence[ZoneVersion]) -> str | None:
    """The authority of the zone's newest stored version (draft rows only when nothing else exists)."""
    versions = [r for r in history if r.status != "draft"]
    rows = versions or list(history)
    return max(rows, key=lambda r: r.version).authority if rows else None


def hold_back(record: Record, effective_from: datetime) -> Record:
    """The record with every regulation starting no earlier than ``effective_from``."""
    stamp = effective_from.isoformat()
    out: Record = json.loads(json.dumps(record))
    for reg in out["regulations"]:
        if "framework" in reg:
            start = _instant(reg.get("start"), "start")
            if start is None or start < effective_from:
                reg["start"] = stamp
            continue
        validity = reg["custom"].setdefault("validity", {})
        start = _instant(validity.get("start"), "validity.start")
        if start is None or start < effective_from:
            validity["start"] = stamp
    return out


@dataclass
class Lifecycle:
    """Drafts, publication and withdrawal of zone records in one register."""

    register: Register

    def _context(self, zone_id: str) -> list[Record]:
        return [r for r in self.register.store.load_records() if r["id"] != zone_id]

    def prepare_draft(self, principal: Principal, zone_id: str, record: Any) -> tuple[Record, dict[str, Any]]:
        """Check rights and the record; return the record to store and the audit detail (nothing is written)."""
        principal.require("officer", "admin")
        check_zone_id(zone_id)
        history = self.register.store.zone_history(zone_id)
        owner = _owner(history)
        if owner is not None:
            require_authority(principal, owner, f"draft zone {zone_id}")
        claimed = record.get("authority") if isinstance(record, dict) else None
        if isinstance(claimed, str) and claimed in municipality_names():
            require_authority(principal, claimed, f"draft a zone of {claimed}")
        checked = validate_record(record, zone_id, context=self._context(zone_id), settings=self.register.settings)
        require_authority(principal, checked["authority"], f"draft a zone of {checked['authority']}")
        current = _in_force(history)
        old = current.record if current else None
        detail = {
            "in_force_version": current.version if current else None,
            "changed": changed_keys(old, checked),
            "diff": compact_diff(old, checked) if old is not None else [],
        }
        return checked, detail

    def save_draft(self, principal: Principal, zone_id: str, record: Any, *, now: datetime) -> Draft:
        """Create or replace the zone's open draft (never in force)."""
        checked, detail = self.prepare_draft(principal, zone_id, record)
        try:
            self.register.store.save_draft(zone_id, checked, actor=principal.username, at=now, detail=detail)
        except IntegrityError as exc:
            raise Conflict(f"zone {zone_id}: another draft was saved at the same moment; try again") from exc
        return self.draft(principal, zone_id)

    def draft(self, principal: Principal, zone_id: str) -> Draft:
        """The zone's open draft (officers of its municipality and the administrator only)."""
        principal.require("officer", "admin")
        check_zone_id(zone_id)
        history = self.register.store.zone_history(zone_id)
        row = _draft(history)
        owner = _owner(history)
        if owner is not None:
            require_authority(principal, owner, f"read the draft of zone {zone_id}")
        if row is None:
            raise NotFound(f"zone {zone_id!r} has no open draft", field="zone_id", value=zone_id)
        require_authority(principal, row.authority, f"read the draft of zone {zone_id}")
        current = _in_force(history)
        stale = bool(self.register.store.in_force_changes_since(zone_id, row.created_at))
        return Draft(
            zone_id=zone_id,
            record=dict(row.record),
            saved_by=row.created_by,
            saved_at=row.created_at,
            in_force_version=current.version if current else None,
            stale=stale,
        )

    def discard_draft(self, principal: Principal, zone_id: str, *, now: datetime) -> None:
        """Delete the zone's open draft."""
        self.draft(principal, zone_id)  # rights, and 404 when there is none
        if not self.register.store.discard_draft(zone_id, actor=principal.username, at=now):
            raise Conflict(f"zone {zone_id}: the draft was published or discarded meanwhile", field="zone_id")

    def publish(
        self,
        principal: Principal,
        zone_id: str,
        *,
        now: datetime,
        effective_from: datetime | None = None,
        note: str = "",
        draft_etag: str | None = None,
    ) -> Published:
        """Publish the open draft as the zone's next version, in force from ``effective_from`` (default ``now``)."""
        principal.require("officer", "admin")
        check_zone_id(zone_id)
        if effective_from is not None:
            check_instant(effective_from, "effective_from")
        history = self.register.store.zone_history(zone_id)
        owner = _owner(history)
        if owner is not None:
            require_authority(principal, owner, f"publish zone {zone_id}")
        row = _draft(history)
        if row is None:
            if not history:
                raise NotFound(f"zone {zone_id!r} has no versions and no draft", field="zone_id", value=zone_id)
            raise Conflict(f"zone {zone_id} has no open draft to publish; save a draft first", field="zone_id")
        require_authority(principal, row.authority, f"publish zone {zone_id}")
        draft = self.draft(principal, zone_id)
        if draft_etag is not None and draft_etag.strip('"') != draft.etag:
            raise Conflict(
                f"zone {zone_id}: the draft changed since it was read (etag {draft.etag}); review it again",
                field="draft_etag",
            )
        changes = self.register.store.in_force_changes_since(zone_id, row.created_at)
        if changes:
            last = changes[-1]
            raise Conflict(
                f"zone {zone_id} changed after this draft was saved ({last.action} by {last.actor} at "
                f"{last.at.isoformat()}); review the draft and save it again before publishing",
                field="draft",
            )
        record = validate_record(row.record, zone_id, context=self._context(zone_id), settings=self.register.settings)
        current = _in_force(history)
        start = effective_from or now
        if start > now:
            if current is not None:
                raise Conflict(
                    f"zone {zone_id}: version {current.version} is in force; a version effective from "
                    f"{start.isoformat()} would leave the zone without its current rules until then. Publish now "
                    "a draft whose regulations carry both the current rules (validity end) and the new ones "
                    "(validity start), or publish on the effective date",
                    field="effective_from",
                )
            record = hold_back(record, start)
        old = current.record if current else None
        if current is not None and _canonical(current.record) == _canonical(record):
            raise Conflict(f"zone {zone_id}: the draft equals version {current.version} in force", field="draft")
        action = "publish" if old is None else "update"
        diff = compact_diff(old, record) if old is not None else []
        keys = changed_keys(old, record)
        detail = {
            "note": note,
            "effective_from": start.isoformat(),
            "changed": keys,
            "diff": diff,
            "draft_saved_by": row.created_by,
        }
        try:
            version = self.register.store.publish_draft(
                zone_id,
                draft_saved_at=row.created_at,
                record=record,
                actor=principal.username,
                at=now,
                effective_from=start,
                note=note,
                action=action,
                detail=detail,
            )
        except IntegrityError as exc:
            raise Conflict(f"zone {zone_id}: another version was published at the same moment; try again") from exc
        if version is None:
            raise Conflict(f"zone {zone_id}: the draft or the zone changed while publishing; read the draft again")
        self.register.refresh()
        new = next(r for r in self.register.store.zone_history(zone_id) if r.version == version)
        return Published(VersionInfo.of(new, version), action, keys, diff, self.register.store.version())

    def withdraw(
        self, principal: Principal, zone_id: str, *, now: datetime, note: str = "", expected_version: int | None = None
    ) -> tuple[int, int]:
        """Take the zone out of force; returns (the version withdrawn, the new register version)."""
        principal.require("officer", "admin")
        check_zone_id(zone_id)
        history = self.register.store.zone_history(zone_id)
        current = _in_force(history)
        owner = _owner(history)
        if owner is not None:
            require_authority(principal, owner, f"withdraw zone {zone_id}")
        if current is None:
            if not any(r.status != "draft" for r in history):
                raise NotFound(f"zone {zone_id!r} was never published", field="zone_id", value=zone_id)
            raise Conflict(f"zone {zone_id} is not in force (already withdrawn)", field="zone_id")
        if expected_version is not None and expected_version != current.version:
            raise Conflict(
                f"zone {zone_id}: version {current.version} is in force, not {expected_version}",
                field="expected_version",
            )
        withdrawn = self.register.store.withdraw_zone(
            zone_id, actor=principal.username, at=now, note=note, expected_version=current.version
        )
        if withdrawn is None:
            raise Conflict(f"zone {zone_id}: what is in force changed while withdrawing; try again")
        self.register.refresh()
        return withdrawn, self.register.store.version()

    def versions(self, zone_id: str) -> list[VersionInfo]:
        """The zone's published and withdrawn versions, oldest first (drafts are not listed)."""
        check_zone_id(zone_id)
        history = [r for r in self.register.store.zone_history(zone_id) if r.status != "draft"]
        if not history:
            raise NotFound(f"zone {zone_id!r} has no published versions", field="zone_id", value=zone_id)
        current = _in_force(history)
        return [VersionInfo.of(r, current.version if current else None) for r in history]

    def version(self, zone_id: str, number: int) -> VersionInfo:
        """One version of the zone."""
        for info in self.versions(zone_id):
            if info.version == number:
                return info
        raise NotFound(f"zone {zone_id!r} has no version {number}", field="version", value=number)


# --------------------------------------------------------------------------- the audit trail


def audit_trail(
    session: Session,
    principal: Principal,
    *,
    entity: str | None = None,
    entity_id: str | None = None,
    action: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[dict[str, Any]], int]:
    """Audit entries, newest first, that the principal may see: all for the administrator; for an officer those of
    the zones and adoptions of their municipalities and of the framework. Returns (entries of the page, total)."""
    principal.require("officer", "admin")
    for name, value in (("entity", entity), ("entity_id", entity_id), ("action", action)):
        if value is not None and not value.isprintable():
            raise _bad(name, "expected printable text")
    query = select(AuditEntry)
    if principal.role != "admin":
        codes = sorted(principal.municipalities)
        own_zones = select(ZoneVersion.zone_id).where(ZoneVersion.authority.in_(codes))
        own_adoptions = or_(false(), *(AuditEntry.entity_id.startswith(f"{c}/") for c in codes))
        query = query.where(
            or_(
                (AuditEntry.entity == "zone") & AuditEntry.entity_id.in_(own_zones),
                (AuditEntry.entity == "adoption") & own_adoptions,
                AuditEntry.entity == "framework_item",
            )
        )
    if entity:
        query = query.where(AuditEntry.entity == entity)
    if entity_id:
        query = query.where(AuditEntry.entity_id == entity_id)
    if action:
        query = query.where(AuditEntry.action == action)
    total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    rows = session.scalars(
        query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).offset((page - 1) * page_size).limit(page_size)
    ).all()
    items = [
        {
            "id": r.id,
            "at": r.at.isoformat(),
            "actor": r.actor,
            "action": r.action,
            "entity": r.entity,
            "entity_id": r.entity_id,
            "detail": r.detail,
        }
        for r in rows
    ]
    return items, total


# --------------------------------------------------------------------------- the regional base framework

FRAMEWORK_FILE = "data/region/basisraamwerk.json"
ADOPTED = "adopted"
ADOPTED_WITH_DEVIATIONS = "adopted_with_deviations"
NOT_ADOPTED = "not_adopted"
_SEEDED: set[str] = set()


@lru_cache(maxsize=1)
def embedded_framework() -> Mapping[str, Any]:
    """The regional base framework shipped with RUAS (``data/region/basisraamwerk.json``)."""
    data: dict[str, Any] = json.loads(resources.files("ruas").joinpath(FRAMEWORK_FILE).read_text(encoding="utf-8"))
    return data


def seed_framework(engine: Engine, *, now: datetime) -> int:
    """Store the framework's items that are missing or older in ``framework_items``; returns how many changed.

    Idempotent: a second call changes nothing. Seeding is audited (actor ``seed``).
    """
    framework = embedded_framework()
    for attempt in (1, 2):
        try:
            with session_scope(engine) as s:
                stored = {row.id: row for row in s.scalars(select(FrameworkItem))}
                changed = 0
                for item in framework["items"]:
                    row = stored.get(item["id"])
                    if row is not None and row.version >= int(item["version"]):
                        continue
                    if row is None:
                        row = FrameworkItem(id=item["id"])
                        s.add(row)
                    row.kind = item["kind"]
                    row.title = item["title"]
                    row.data = dict(item)
                    row.version = int(item["version"])
                    row.updated_at = now
                    s.add(
                        AuditEntry(
                            at=now,
                            actor="seed",
                            action="seed",
                            entity="framework_item",
                            entity_id=item["id"],
                            detail={"version": row.version, "framework": framework["id"]},
                        )
                    )
                    changed += 1
            return changed
        except IntegrityError:  # another process seeded at the same moment: read again
            if attempt == 2:
                raise
    return 0


def ensure_framework(engine: Engine, *, now: datetime) -> None:
    """Seed the framework once per database and process."""
    key = str(engine.url)
    if key not in _SEEDED:
        seed_framework(engine, now=now)
        _SEEDED.add(key)


def _ordered_items(session: Session) -> list[FrameworkItem]:
    order = {item["id"]: i for i, item in enumerate(embedded_framework()["items"])}
    rows = list(session.scalars(select(FrameworkItem)))
    return sorted(rows, key=lambda r: (order.get(r.id, len(order)), r.id))


def framework_view(engine: Engine, *, now: datetime) -> dict[str, Any]:
    """The framework and its items (parameters with their harmonised values), with how many adopted each."""
    ensure_framework(engine, now=now)
    framework = embedded_framework()
    with session_scope(engine) as s:
        grouped = s.execute(select(Adoption.item_id, func.count()).group_by(Adoption.item_id)).all()
        counts = {item_id: n for item_id, n in grouped}
        items = [
            {**row.data, "version": row.version, "adoptions": int(counts.get(row.id, 0))} for row in _ordered_items(s)
        ]
    return {
        "id": framework["id"],
        "title": framework["title"],
        "title_nl": framework["title_nl"],
        "status": framework["status"],
        "source": framework["source"],
        "parameter_types": framework["parameter_types"],
        "items": items,
    }


def _check_parameter(spec: Mapping[str, Any], value: Any, field_path: str) -> Any:
    kind = spec["type"]
    if kind == "opening_hours":
        text = _text(value, field_path, max_length=200)
        try:
            parse_window(text)
        except InvalidInput as exc:
            raise _bad(field_path, exc.message) from exc
        return text.strip()
    if kind in ("integer", "number"):
        if value is None and spec.get("value") is None:
            return None
        wanted = int if kind == "integer" else (int, float)
        if isinstance(value, bool) or not isinstance(value, wanted) or not math.isfinite(value):
            raise _bad(field_path, f"expected {'a whole number' if kind == 'integer' else 'a number'}")
        low, high = spec.get("min"), spec.get("max")
        if (low is not None and value < low) or (high is not None and value > high):
            raise _bad(field_path, f"must be within {low}..{high} {spec.get('unit', '')}".rstrip())
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise _bad(field_path, "expected true or false")
        return value
    if kind == "category_groups":
        groups = _list(value, field_path)
        if not groups or any(g not in CATEGORY_GROUPS for g in groups):
            raise _bad(field_path, f"expected a non-empty list of {', '.join(CATEGORY_GROUPS)}")
        return sorted(set(groups))
    if kind == "exemption_types":
        _exemption_types(value, field_path)
        return sorted(set(value))
    return _text(value, field_path, required=False, max_length=500)


def check_deviations(item: Mapping[str, Any], deviations: Any) -> dict[str, Any]:
    """The local deviations from an item's parameters, validated; values equal to the framework's are dropped."""
    given = _object(deviations, "deviations")
    params: Mapping[str, Any] = item.get("parameters", {})
    out: dict[str, Any] = {}
    for key in sorted(given):
        path = f"deviations.{key}"
        spec = params.get(key)
        if spec is None:
            raise _bad(path, f"{item['id']} has no parameter {key!r}; parameters: {', '.join(sorted(params))}")
        if spec.get("fixed"):
            raise _bad(path, f"fixed by the framework and not open to local deviation ({spec.get('reason', '')})")
        value = _check_parameter(spec, given[key], path)
        base = _check_parameter(spec, spec["value"], path) if spec["value"] is not None else None
        if value != base:
            out[key] = value
    return out


def effective_parameters(item: Mapping[str, Any], deviations: Mapping[str, Any]) -> dict[str, Any]:
    """The item's parameter values with a municipality's deviations applied."""
    return {key: deviations.get(key, spec["value"]) for key, spec in item.get("parameters", {}).items()}


def _render(template: Any, values: Mapping[str, Any]) -> Any:
    """Fill a template: ``"$name"`` becomes the value itself, ``{name}`` inside a text its text."""
    if isinstance(template, dict):
        return {k: _render(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [_render(v, values) for v in template]
    if isinstance(template, str):
        if template.startswith("$") and template[1:] in values:
            return values[template[1:]]
        return re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), m.group(0))), template)
    return template


@dataclass(frozen=True, slots=True)
class ZoneFromTemplate:
    """Where and under which name a municipality applies a delivery-window template."""

    id: str
    name: str
    geometry: dict[str, Any]
    legal_source: dict[str, Any] | None = None
    url: str = ""
    illustrative: bool = False
    notes: tuple[str, ...] = ()


def zone_record_from_template(
    item: Mapping[str, Any], municipality: str, deviations: Mapping[str, Any], zone: ZoneFromTemplate
) -> Record:
    """A zone record made from a delivery-window template with the municipality's deviations."""
    template = item.get("zone_template")
    if template is None:
        raise _bad("zone", f"{item['id']} is a {item['kind']} item; only delivery-window templates make zones")
    name = municipality_names()[municipality]
    legal_source = zone.legal_source or {
        "citation": f"Gemeente {name}, verkeersbesluit venstertijden (to be cited)",
        "note": f"made from the regional base framework item {item['id']}; cite the traffic decree before publishing",
    }
    values = {
        **effective_parameters(item, deviations),
        "zone_id": zone.id,
        "zone_name": zone.name,
        "authority_name": name,
        "legal_source": legal_source,
    }
    return {
        "id": zone.id,
        "name": zone.name,
        "kind": template["kind"],
        "authority": municipality,
        "authority_name": name,
        "status": "in_force",
        "url": zone.url,
        "illustrative": zone.illustrative,
        "geometry": zone.geometry,
        "notes": list(zone.notes),
        "source": {
            "kind": "basisraamwerk",
            "framework": embedded_framework()["id"],
            "item": item["id"],
            "item_version": item["version"],
            "deviations": dict(deviations),
        },
        "regulations": _render(template["regulations"], values),
    }


@dataclass(frozen=True, slots=True)
class AdoptionResult:
    """An adoption as stored, whether it was new, and the draft zone made from it (if any)."""

    municipality: str
    item_id: str
    deviations: dict[str, Any]
    adopted_by: str
    adopted_at: datetime
    created: bool
    draft: Draft | None = None

    def to_data(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "municipality": self.municipality,
            "item_id": self.item_id,
            "status": ADOPTED_WITH_DEVIATIONS if self.deviations else ADOPTED,
            "deviations": self.deviations,
            "adopted_by": self.adopted_by,
            "adopted_at": self.adopted_at.isoformat(),
            "created": self.created,
            "draft": self.draft.to_data() if self.draft else None,
        }


def adopt(
    lifecycle: Lifecycle,
    principal: Principal,
    item_id: str,
    *,
    municipality: str,
    deviations: Any,
    now: datetime,
    zone: ZoneFromTemplate | None = None,
) -> AdoptionResult:
    """A municipality adopts a framework item with explicit local deviations (re-adopting replaces them).

    With ``zone``, a delivery-window template also becomes a draft zone of that municipality; the adoption and
    the draft are stored in one transaction.
    """
    principal.require("officer", "admin")
    code = municipality.strip().upper()
    if code not in municipality_names():
        raise _bad("municipality", "expected a CBS municipality code, e.g. GM0363", value=municipality)
    require_authority(principal, code, f"adopt framework items for {code}")
    engine = lifecycle.register.store.engine
    ensure_framework(engine, now=now)
    with session_scope(engine) as s:
        row = s.get(FrameworkItem, item_id) if ZONE_ID.match(item_id) else None
        if row is None:
            raise NotFound(f"the regional base framework has no item {item_id!r}", field="item_id", value=item_id)
        item = {**row.data, "version": row.version}
    local = check_deviations(item, deviations)
    draft_record: tuple[Record, dict[str, Any]] | None = None
    if zone is not None:
        record = zone_record_from_template(item, code, local, zone)
        draft_record = lifecycle.prepare_draft(principal, zone.id, record)
    entity_id = f"{code}/{item_id}"
    try:
        with session_scope(engine) as s:
            existing = s.scalar(select(Adoption).where(Adoption.municipality == code, Adoption.item_id == item_id))
            created = existing is None
            before = dict(existing.deviations) if existing else None
            adoption = existing or Adoption(municipality=code, item_id=item_id)
            adoption.deviations = local
            adoption.adopted_by = principal.username
            adoption.adopted_at = now
            s.add(adoption)
            s.add(
                AuditEntry(
                    at=now,
                    actor=principal.username,
                    action="adopt" if created else "update_adoption",
                    entity="adoption",
                    entity_id=entity_id,
                    detail={
                        "item_version": item["version"],
                        "deviations": local,
                        "diff": compact_diff(before, local) if before is not None else [],
                        "zone": zone.id if zone else None,
                    },
                )
            )
            if draft_record is not None and zone is not None:
                lifecycle.register.store.save_draft(
                    zone.id, draft_record[0], actor=principal.username, at=now, detail=draft_record[1], session=s
                )
    except IntegrityError as exc:
        raise Conflict(f"{entity_id}: adopted at the same moment by someone else; try again") from exc
    draft = lifecycle.draft(principal, zone.id) if zone is not None else None
    return AdoptionResult(code, item_id, local, principal.username, now, created, draft)


def adopted_parameters(session: Session, municipality: str, item_id: str) -> dict[str, Any] | None:
    """The parameter values a municipality applies for a framework item (its deviations over the framework's
    values), or ``None`` when it has not adopted the item — e.g. the enforcement policy or a fee."""
    adoption = session.scalar(
        select(Adoption).where(Adoption.municipality == municipality, Adoption.item_id == item_id)
    )
    row = session.get(FrameworkItem, item_id)
    if adoption is None or row is None:
        return None
    return effective_parameters(row.data, adoption.deviations)


@dataclass(frozen=True, slots=True)
class _Cell:
    status: str
    deviations: list[dict[str, Any]] = field(default_factory=list)
    adopted_at: str | None = None


def harmonisation(engine: Engine, *, now: datetime, municipality: str | None = None) -> dict[str, Any]:
    """Municipalities x framework items: adopted as-is, adopted with deviations (listed) or not adopted."""
    ensure_framework(engine, now=now)
    with session_scope(engine) as s:
        items = _ordered_items(s)
        names = {code: name for code, name in s.execute(select(Municipality.code, Municipality.name)).all()}
        adoptions = list(s.scalars(select(Adoption)))
    by_cell = {(a.municipality, a.item_id): a for a in adoptions}
    codes = sorted(set(names) | {a.municipality for a in adoptions})
    if municipality is not None:
        code = municipality.strip().upper()
        if code not in municipality_names():
            raise _bad("municipality", "expected a CBS municipality code, e.g. GM0363", value=municipality)
        codes = [code]
    totals = {row.id: {ADOPTED: 0, ADOPTED_WITH_DEVIATIONS: 0, NOT_ADOPTED: 0} for row in items}
    rows_out = []
    for code in codes:
        cells: dict[str, dict[str, Any]] = {}
        for row in items:
            adoption = by_cell.get((code, row.id))
            if adoption is None:
                cell = _Cell(NOT_ADOPTED)
            else:
                params = row.data.get("parameters", {})
                listed = [
                    {"parameter": key, "framework": params.get(key, {}).get("value"), "local": value}
                    for key, value in sorted(adoption.deviations.items())
                ]
                status = ADOPTED_WITH_DEVIATIONS if listed else ADOPTED
                cell = _Cell(status, listed, adoption.adopted_at.isoformat())
            totals[row.id][cell.status] += 1
            cells[row.id] = {"status": cell.status, "deviations": cell.deviations, "adopted_at": cell.adopted_at}
        counts = [c["status"] for c in cells.values()]
        rows_out.append(
            {
                "code": code,
                "name": names.get(code) or municipality_names().get(code, ""),
                "adopted": counts.count(ADOPTED),
                "adopted_with_deviations": counts.count(ADOPTED_WITH_DEVIATIONS),
                "not_adopted": counts.count(NOT_ADOPTED),
                "items": cells,
            }
        )
    return {
        "framework": embedded_framework()["id"],
        "items": [{"id": row.id, "kind": row.kind, "title": row.title, **totals[row.id]} for row in items],
        "municipalities": rows_out,
    }
