"""Rules for officers: edit a municipality's regulation as a draft from the regional base framework (or as the
full record), preview the draft on the map and against a sample vehicle, publish it.

Drafts, publication, adoptions and their validation are the lifecycle service's
(:mod:`ruas.services.lifecycle`); the preview answers come from the engine on the draft compiled by
:func:`ruas.register.records.compile_book`.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response

from ruas.api.deps import CurrentRegister, RegisterHolder, now_utc
from ruas.domain.errors import InvalidInput, NotFound, RuasError
from ruas.domain.timeutil import LOCAL_TZ, parse_instant
from ruas.register.records import Record, compile_book
from ruas.register.store import Register
from ruas.rules.engine import decide
from ruas.services.accounts import Principal
from ruas.services.check import VehicleInput, build_vehicle
from ruas.services.lifecycle import (
    Lifecycle,
    ZoneFromTemplate,
    adopt,
    compact_diff,
    embedded_framework,
    require_authority,
)
from ruas.web.core import CurrentVisitor, PortalRoute, check_csrf, redirect, render
from ruas.web.views import zone_state

router = APIRouter(route_class=PortalRoute, include_in_schema=False)

WINDOW_ITEM = "venstertijd-winkelgebied"
"""The regional base framework's delivery-window template."""


def _sync(request: Request) -> None:
    """After a publication: this process's register holder takes the new version at once."""
    holder: RegisterHolder = request.app.state.register
    with holder.lock:
        holder.version = holder.register.store.version()
        holder.checked_at = time.monotonic()


def _record(register: Register, zone_id: str) -> Record | None:
    return next((r for r in register.records if r["id"] == zone_id), None)


def _geometry(register: Register, record: Record) -> Any:
    if record.get("geometry"):
        return record["geometry"]
    ref = record.get("geometry_from")
    target = _record(register, ref) if ref else None
    return target.get("geometry") if target else None


def find_window(node: Any) -> str | None:
    """The ``opening_hours`` of the first ``in_window`` leaf of a condition tree (``None`` without one).

    >>> find_window({"all": [{"field": "category_group", "op": "in", "value": ["N"]},
    ...                      {"not": {"field": "at", "op": "in_window", "value": "Mo-Sa 07:00-11:00"}}]})
    'Mo-Sa 07:00-11:00'
    """
    if isinstance(node, dict):
        if node.get("op") == "in_window" and isinstance(node.get("value"), str):
            return str(node["value"])
        for key in ("all", "any"):
            for child in node.get(key, ()):
                found = find_window(child)
                if found:
                    return found
        if "not" in node:
            return find_window(node["not"])
    return None


def find_groups(node: Any) -> list[str]:
    """The category groups of the first ``category_group in [...]`` leaf (empty without one)."""
    if isinstance(node, dict):
        if node.get("field") == "category_group" and isinstance(node.get("value"), list):
            return [str(v) for v in node["value"]]
        for key in ("all", "any"):
            for child in node.get(key, ()):
                found = find_groups(child)
                if found:
                    return found
        if "not" in node:
            return find_groups(node["not"])
    return []


def window_of(record: Record) -> tuple[str | None, list[str], dict[str, Any]]:
    """The delivery window, vehicle groups and legal source of a time-window zone record."""
    for reg in record.get("regulations", ()):
        custom = reg.get("custom") if isinstance(reg, dict) else None
        if isinstance(custom, dict):
            window = find_window(custom.get("subject"))
            if window:
                return window, find_groups(custom.get("subject")) or ["M", "N"], dict(custom.get("legal_source") or {})
    return None, ["M", "N"], {}


def _editable(principal: Principal, register: Register) -> list[dict[str, Any]]:
    now = now_utc()
    out = []
    for zone in register.book.zones:
        if not principal.may_decide_for(zone.authority):
            continue
        history = register.store.zone_history(zone.id)
        out.append(
            {
                "id": zone.id,
                "name": zone.name,
                "kind": zone.kind.value,
                "authority_name": zone.authority_name,
                "state": zone_state(zone, now),
                "version": max((r.version for r in history if r.status == "published"), default=None),
                "draft": any(r.status == "draft" for r in history),
            }
        )
    return out


@router.get("/officer/rules")
def rules_home(request: Request, visitor: CurrentVisitor, register: CurrentRegister) -> Response:
    """The zones the officer may edit, and whether a draft is open."""
    principal = visitor.require("officer", "admin")
    return render(request, visitor, "rules.html", {"zones": _editable(principal, register)})


def _draft_or_none(lifecycle: Lifecycle, principal: Principal, zone_id: str) -> Any:
    try:
        return lifecycle.draft(principal, zone_id)
    except NotFound:
        return None


@router.get("/officer/rules/{zone_id}")
def edit_zone(request: Request, visitor: CurrentVisitor, register: CurrentRegister, zone_id: str) -> Response:
    """Edit a zone: its delivery window from the framework template, or the whole record as JSON."""
    principal = visitor.require("officer", "admin")
    record = _record(register, zone_id)
    if record is None:
        raise NotFound(f"zone {zone_id!r} is not in force", field="zone_id")
    require_authority(principal, str(record["authority"]), f"edit zone {zone_id}")
    draft = _draft_or_none(Lifecycle(register), principal, zone_id)
    base = draft.record if draft is not None else record
    window, groups, legal = window_of(base)
    item = next(i for i in embedded_framework()["items"] if i["id"] == WINDOW_ITEM)
    context = {
        "zone_id": zone_id,
        "record": record,
        "draft": draft,
        "window": window,
        "groups": groups,
        "legal": legal,
        "item": item,
        "record_json": json.dumps(base, indent=2, ensure_ascii=False),
        "published": request.query_params.get("published"),
        "errors": {},
    }
    return render(request, visitor, "rule_edit.html", context)


@router.post("/officer/rules/{zone_id}/window")
async def save_window(request: Request, visitor: CurrentVisitor, register: CurrentRegister, zone_id: str) -> Response:
    """Adopt the framework's delivery-window template for this zone, with the local window as a deviation: the
    adoption is recorded (harmonisation view) and the zone gets a draft made from the template."""
    principal = visitor.require("officer", "admin")
    form = await request.form(max_fields=20)
    check_csrf(visitor, form)
    record = _record(register, zone_id)
    if record is None:
        raise NotFound(f"zone {zone_id!r} is not in force", field="zone_id")
    citation = str(form.get("citation") or "").strip()
    if not citation:
        raise InvalidInput("cite the traffic decree (legal basis) of the window", field="citation")
    groups = sorted({str(g) for g in form.getlist("vehicle_groups")})
    geometry = _geometry(register, record)
    if geometry is None:
        raise InvalidInput(f"zone {zone_id} has no area to apply a delivery window to", field="zone_id")
    zone = ZoneFromTemplate(
        id=zone_id,
        name=str(form.get("name") or record["name"]).strip(),
        geometry=geometry,
        legal_source={"citation": citation, "url": str(form.get("legal_url") or "").strip()},
        url=str(record.get("url") or ""),
        illustrative=bool(record.get("illustrative")),
        notes=tuple(record.get("notes") or ()),
    )
    adopt(
        Lifecycle(register),
        principal,
        WINDOW_ITEM,
        municipality=str(record["authority"]),
        deviations={"window": str(form.get("window") or "").strip(), "vehicle_groups": groups},
        now=now_utc(),
        zone=zone,
    )
    return redirect(f"/officer/rules/{zone_id}/draft")


@router.post("/officer/rules/{zone_id}/record")
async def save_record(request: Request, visitor: CurrentVisitor, register: CurrentRegister, zone_id: str) -> Response:
    """Save the whole zone record (JSON) as the zone's draft; errors name the field."""
    principal = visitor.require("officer", "admin")
    form = await request.form(max_fields=5, max_part_size=2 * 1024 * 1024)
    check_csrf(visitor, form)
    try:
        data = json.loads(str(form.get("record") or ""))
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"record: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})", field="record"
        ) from None
    Lifecycle(register).save_draft(principal, zone_id, data, now=now_utc())
    return redirect(f"/officer/rules/{zone_id}/draft")


def _preview_moment(text: str, now: datetime) -> datetime:
    if text:
        return parse_instant(text, "at")
    local = now.astimezone(LOCAL_TZ)
    monday = (local + timedelta(days=7 - local.weekday())).date()
    return datetime.combine(monday, datetime.min.time().replace(hour=12), LOCAL_TZ)


def preview(
    register: Register, draft_record: Record, zone_id: str, form: dict[str, str], now: datetime
) -> dict[str, Any]:
    """The engine's answer for a sample vehicle at a moment: with what is in force, and with the draft."""
    at = _preview_moment(form.get("at", ""), now)
    vehicle = build_vehicle(
        register,
        VehicleInput(
            category=form.get("category") or "N1",
            fuel=form.get("fuel") or "electric",
            emission_class=form.get("emission_class") or None,
            first_admission=datetime(2024, 1, 1).date(),
            mass_kg=int(form.get("mass_kg") or 3000),
        ),
    )
    resolved = dict(draft_record)
    if resolved.get("geometry_from"):
        resolved["geometry"] = _geometry(register, resolved)
        resolved.pop("geometry_from")
    draft_book = compile_book([resolved], register.settings)
    current = decide(register.book, vehicle, [zone_id], at=at).zones[0] if register.book.has_zone(zone_id) else None
    drafted = decide(draft_book, vehicle, [zone_id], at=at).zones[0]
    return {"at": at, "vehicle": vehicle, "current": current, "draft": drafted}


@router.get("/officer/rules/{zone_id}/draft")
def draft_page(request: Request, visitor: CurrentVisitor, register: CurrentRegister, zone_id: str) -> Response:
    """The open draft: what changed, the area on the map, a sample check in force vs draft, and publish."""
    principal = visitor.require("officer", "admin")
    draft = Lifecycle(register).draft(principal, zone_id)
    current = _record(register, zone_id)
    q = {k: str(request.query_params.get(k, "")) for k in ("at", "category", "fuel", "emission_class", "mass_kg")}
    errors: dict[str, str] = {}
    try:
        sample = preview(register, draft.record, zone_id, q, now_utc())
    except RuasError as exc:
        sample = None
        errors[str(exc.details.get("field") or "at")] = exc.message
    features = []
    if current is not None and _geometry(register, current):
        features.append(
            {
                "type": "Feature",
                "id": zone_id,
                "geometry": _geometry(register, current),
                "properties": {"name": current["name"], "kind": current["kind"], "preview_state": "in_force"},
            }
        )
    draft_geometry = _geometry(register, draft.record)
    if draft_geometry:
        features.append(
            {
                "type": "Feature",
                "id": f"{zone_id}-draft",
                "geometry": draft_geometry,
                "properties": {
                    "name": draft.record.get("name"),
                    "kind": draft.record.get("kind"),
                    "preview_state": "draft",
                },
            }
        )
    context = {
        "zone_id": zone_id,
        "draft": draft,
        "diff": compact_diff(current, draft.record) if current is not None else [],
        "window": window_of(draft.record)[0],
        "current_window": window_of(current)[0] if current else None,
        "sample": sample,
        "q": q,
        "errors": errors,
        "features": json.dumps({"type": "FeatureCollection", "features": features}).replace("<", "\\u003c"),
    }
    return render(request, visitor, "rule_draft.html", context)


@router.post("/officer/rules/{zone_id}/publish")
async def publish(request: Request, visitor: CurrentVisitor, register: CurrentRegister, zone_id: str) -> Response:
    """Publish the reviewed draft (by its etag) as the zone's next version."""
    principal = visitor.require("officer", "admin")
    form = await request.form(max_fields=10)
    check_csrf(visitor, form)
    text = str(form.get("effective_from") or "").strip()
    effective = parse_instant(text, "effective_from") if text else None
    result = Lifecycle(register).publish(
        principal,
        zone_id,
        now=now_utc(),
        effective_from=effective,
        note=str(form.get("note") or "").strip(),
        draft_etag=str(form.get("draft_etag") or "") or None,
    )
    _sync(request)
    return redirect(f"/officer/rules/{zone_id}?published={result.version.version}")


@router.post("/officer/rules/{zone_id}/discard")
async def discard(request: Request, visitor: CurrentVisitor, register: CurrentRegister, zone_id: str) -> Response:
    """Throw the draft away."""
    principal = visitor.require("officer", "admin")
    form = await request.form(max_fields=5)
    check_csrf(visitor, form)
    Lifecycle(register).discard_draft(principal, zone_id, now=now_utc())
    return redirect(f"/officer/rules/{zone_id}")
