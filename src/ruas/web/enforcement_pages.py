"""Camera enforcement in the portal, for officers: the violation list, one violation with its evidence and why it
is a warning or a fine, the list as a CSV download (and, for the regional administrator, the export for the
collection agency), the review queue where an officer confirms, corrects or dismisses a camera read, and the
camera registry (read only: the cameras of the officer's municipalities, on a table and a map).

A thin layer over :mod:`ruas.enforcement.service`, the same functions ``/api/v1/enforcement`` calls: the
officer's municipalities scope everything there, every list, view and download is written to the access log
there, and a review decision is evaluated there by the pipeline (never in this module). Forms are plain HTML
forms with the session's CSRF token (ADR 011); a refused decision re-renders the queue with the reason (422),
a decision someone else took first as a 409 with who took it.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from ruas.api.deps import CurrentRegister, DbSession, now_utc
from ruas.domain.errors import Conflict, InvalidInput, RuasError
from ruas.enforcement import service
from ruas.enforcement.cameras import load_cameras
from ruas.enforcement.pipeline import Context
from ruas.enforcement.privacy import EnforcementSettings
from ruas.enforcement.storage import Store
from ruas.register.records import municipality_names
from ruas.register.store import Register
from ruas.services.accounts import Principal
from ruas.web.core import CurrentVisitor, PortalRoute, Visitor, check_csrf, gettext, redirect, render

router = APIRouter(route_class=PortalRoute, include_in_schema=False)

PAGE_SIZE = 50
FILTERS = ("municipality", "day", "zone", "kind", "status")


def _filters(request: Request) -> dict[str, str]:
    """The list's filters as given (empty ones left out)."""
    return {k: v.strip() for k in FILTERS if (v := request.query_params.get(k, "")) and v.strip()}


def _day(text: str | None, field: str = "day") -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{field} {text!r}: expected a date as YYYY-MM-DD", field=field, value=text) from None


def _scope_codes(principal: Principal, db: Session) -> list[str]:
    """The municipalities the principal acts for (the administrator: every one with a camera)."""
    if principal.role == "admin":
        return sorted({c.municipality for c in load_cameras(db)})
    return sorted(principal.municipalities)


def _zones(register: Register, db: Session, codes: list[str]) -> list[tuple[str, str]]:
    """Zones watched by cameras of these municipalities: (id, name), by name."""
    ids = {z for c in load_cameras(db) if c.municipality in codes for z in c.zones}
    book = register.book
    return sorted(((z, book.zone(z).name if book.has_zone(z) else z) for z in ids), key=lambda t: t[1])


def _municipalities(codes: list[str]) -> list[tuple[str, str]]:
    names = municipality_names()
    return [(c, names.get(c, c)) for c in codes]


def _list_args(filters: dict[str, str]) -> dict[str, Any]:
    """Service arguments of the list's filters."""
    return {
        "municipality": filters.get("municipality"),
        "day": _day(filters.get("day")),
        "kind": filters.get("kind"),
        "status": filters.get("status"),
        "zone_id": filters.get("zone"),
    }


def _list_context(
    request: Request, visitor: Visitor, db: Session, register: Register, *, page: int = 1
) -> dict[str, Any]:
    principal = visitor.require("officer", "admin")
    filters = _filters(request)
    listed = service.list_sanctions(
        db, principal, now=now_utc(), limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, **_list_args(filters)
    )
    codes = _scope_codes(principal, db)
    book = register.book
    zone_names = {z.id: z.name for z in book.zones}
    return {
        "items": listed["items"],
        "total": listed["total"],
        "page": page,
        "pages": max(1, -(-listed["total"] // PAGE_SIZE)),
        "filters": filters,
        "query": urlencode(filters),
        "municipalities": _municipalities(codes),
        "zones": _zones(register, db, codes),
        "zone_names": zone_names,
        "review_total": service.review_queue(Store(register.path), principal, limit=0)["total"],
        "can_export": principal.role == "admin",
    }


# --------------------------------------------------------------------------- violations


@router.get("/officer/violations")
def violations(request: Request, visitor: CurrentVisitor, db: DbSession, register: CurrentRegister) -> Response:
    """Fines and warnings of the officer's municipalities, newest first, filtered by day, zone, kind, status."""
    raw = request.query_params.get("page", "1")
    page = int(raw) if raw.isdigit() and int(raw) > 0 else 1
    return render(
        request, visitor, "enforcement_violations.html", _list_context(request, visitor, db, register, page=page)
    )


@router.get("/officer/violations.csv")
def violations_csv(request: Request, visitor: CurrentVisitor, db: DbSession, register: CurrentRegister) -> Response:
    """The (filtered) list in the export format ``ruas-sanctions/1``; the download is logged."""
    principal = visitor.require("officer", "admin")
    filters = _filters(request)
    data = service.sanctions_csv(db, register.book, principal, now=now_utc(), **_list_args(filters))
    stem = "-".join(["sanctions", *(filters[k] for k in ("municipality", "day") if k in filters)])
    return Response(
        data,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{stem}.csv"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post("/officer/violations/export")
async def export(request: Request, visitor: CurrentVisitor, db: DbSession, register: CurrentRegister) -> Response:
    """The regional administrator exports every new, changed or withdrawn sanction for the collection agency
    and the letters (``ruas-sanctions/1``; marked exported) and downloads the file."""
    principal = visitor.require("admin")
    check_csrf(visitor, await request.form(max_fields=5))
    result = service.export(
        db, register.book, Store(register.path).root / "exports", now=now_utc(), actor=principal.username
    )
    if result.csv_path is None:
        context = _list_context(request, visitor, db, register)
        context["notice"] = "nothing_to_export"
        return render(request, visitor, "enforcement_violations.html", context)
    return Response(
        result.csv_path.read_bytes(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{result.csv_path.name}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/officer/violations/{sanction_id}")
def violation(
    request: Request, visitor: CurrentVisitor, db: DbSession, register: CurrentRegister, sanction_id: str
) -> Response:
    """One fine or warning: the evidence, the rule violated, the policy that made it a warning or a fine, its
    status (withdrawn after reprocessing included) and the officers' corrections behind it; the view is logged."""
    principal = visitor.require("officer", "admin")
    case = service.view_sanction(db, Store(register.path), principal, sanction_id, now=now_utc(), book=register.book)
    return render(
        request,
        visitor,
        "enforcement_violation.html",
        {"case": case, "municipality_name": municipality_names().get(case["municipality"], case["municipality"])},
    )


# --------------------------------------------------------------------------- camera registry

CAMERA_STATES = ("active", "inactive")


def _camera_filters(request: Request) -> dict[str, str]:
    """The registry's filters as given (empty ones left out): ``municipality`` (CBS code), ``state``."""
    filters = {k: v.strip() for k in ("municipality", "state") if (v := request.query_params.get(k, "")) and v.strip()}
    if filters.get("state") not in (None, *CAMERA_STATES):
        raise InvalidInput(
            f"state {filters['state']!r}: expected active or inactive", field="state", value=filters["state"]
        )
    return filters


@router.get("/officer/cameras")
def cameras(request: Request, visitor: CurrentVisitor, db: DbSession, register: CurrentRegister) -> Response:
    """The camera registry, read only: the cameras of the officer's municipalities (the administrator: all), by
    id, filtered by municipality and active state, with the zones each watches, on a table and a map."""
    principal = visitor.require("officer", "admin")
    filters = _camera_filters(request)
    # the service's scope rule, as for the violations: an officer asking for another municipality is refused
    state = filters.get("state")
    items = service.list_cameras(
        db, principal, municipality=filters.get("municipality"), active=None if state is None else state == "active"
    )
    book = register.book
    zone_names = {z: book.zone(z).name if book.has_zone(z) else z for c in items for z in c.zones}
    names = municipality_names()
    features = [
        {
            "type": "Feature",
            "id": c.id,
            "geometry": {"type": "Point", "coordinates": [c.lon, c.lat]},
            "properties": {"name": f"{c.id} {c.name}".strip(), "municipality": c.municipality, "active": c.active},
        }
        for c in items
    ]
    return render(
        request,
        visitor,
        "enforcement_cameras.html",
        {
            "items": items,
            "total": len(items),
            "active_total": sum(c.active for c in items),
            "filters": filters,
            "municipalities": _municipalities(_scope_codes(principal, db)),
            "municipality_names": names,
            "zone_names": zone_names,
            "features": json.dumps({"type": "FeatureCollection", "features": features}).replace("<", "\\u003c"),
        },
    )


# --------------------------------------------------------------------------- review queue


def _review_context(
    request: Request, visitor: Visitor, db: Session, register: Register, filters: dict[str, str]
) -> dict[str, Any]:
    principal = visitor.require("officer", "admin")
    queue = service.review_queue(
        Store(register.path),
        principal,
        municipality=filters.get("municipality"),
        day=_day(filters.get("day")),
        limit=500,
        log=(db, now_utc()),
    )
    book = register.book
    grouped: dict[str, dict[str, Any]] = {}
    for row in queue["items"]:
        item = grouped.setdefault(row["id"], {**row, "zones": []})
        zone = row["zone_id"]
        item["zones"].append(book.zone(zone).name if book.has_zone(zone) else zone)
    resolved_id = request.query_params.get("resolved", "")
    resolved = None
    if resolved_id:
        try:
            resolved = service.review_resolution(db, principal, resolved_id)
        except InvalidInput:
            resolved = None
    return {
        "items": list(grouped.values()),
        "reads": len(grouped),
        "filters": filters,
        "municipalities": _municipalities(_scope_codes(principal, db)),
        "resolved": resolved,
        "errors": {},
        "zone_names": {z.id: z.name for z in book.zones},
    }


@router.get("/officer/review")
def review(request: Request, visitor: CurrentVisitor, db: DbSession, register: CurrentRegister) -> Response:
    """Reads the cameras could not enforce (low confidence, plate not in the register), newest first."""
    filters = {k: v for k, v in _filters(request).items() if k in ("municipality", "day")}
    return render(request, visitor, "enforcement_review.html", _review_context(request, visitor, db, register, filters))


def _refusal(visitor: Visitor, exc: RuasError) -> str:
    """Why a review decision was refused, in the visitor's language (the service's English for the rare rest)."""
    _ = gettext(visitor.language)
    field = exc.details.get("field")
    if isinstance(exc, Conflict):
        return _("Someone already decided on this read; the queue shows the current state.")
    if isinstance(exc, service.PlateNotInRegister):
        return _("This plate is not in the vehicle register: correct the read or dismiss the passage.")
    if field == "plate":
        return _("Enter the plate as six letters and digits, e.g. VQ-123-B.")
    if field == "action":
        return _("Choose: the read is right, correct the plate, or dismiss.")
    return exc.message


@router.post("/officer/review/{item_id}")
async def resolve(
    request: Request, visitor: CurrentVisitor, db: DbSession, register: CurrentRegister, item_id: str
) -> Response:
    """Confirm, correct or dismiss one read; the pipeline evaluates a confirmed or corrected read again."""
    principal = visitor.require("officer", "admin")
    form = await request.form(max_fields=10)
    check_csrf(visitor, form)
    back = {k: str(form.get(k) or "").strip() for k in ("municipality", "day") if str(form.get(k) or "").strip()}
    action = str(form.get("action") or "")
    plate = str(form.get("plate") or "") or None
    ctx = Context(register, Store(register.path), EnforcementSettings.from_env())
    try:
        if action not in service.REVIEW_ACTIONS:
            raise InvalidInput("choose confirm, correct or dismiss", field="action")
        service.resolve_review(ctx, principal, item_id, action=action, plate=plate, now=now_utc())
    except RuasError as exc:
        if not isinstance(exc, InvalidInput | Conflict):
            raise
        context = _review_context(request, visitor, db, register, back)
        context["errors"] = {
            "item": item_id,
            "field": str(exc.details.get("field") or "action"),
            "message": _refusal(visitor, exc),
            "action": action,
            "plate": plate or "",
        }
        context["conflict"] = isinstance(exc, Conflict)
        if context["conflict"]:
            context["resolved"] = service.review_resolution(db, principal, item_id)
        return render(request, visitor, "enforcement_review.html", context, 409 if context["conflict"] else 422)
    return redirect("/officer/review?" + urlencode({**back, "resolved": item_id}))
