"""Exemptions (ontheffingen): the application wizard for businesses, their status pages, and the officer's
queue and decision screen. Everything is decided by the exemption desk (:mod:`ruas.services.desk`):
eligibility checks with reasons, fees, the yearly cap, evidence limits, optimistic locking of decisions."""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from ruas.api.deps import AppSettings, CurrentRegister, DbSession, now_utc
from ruas.api.idempotency import idempotent
from ruas.api.routes.applications import application_data, evidence_data
from ruas.domain.errors import Conflict, InvalidInput, NotFound, RuasError
from ruas.domain.timeutil import local_day, local_midnight, parse_date
from ruas.domain.vehicle import Vehicle, normalise_plate
from ruas.register.store import Register
from ruas.rules.frameworks import national_exemption_types
from ruas.services import desk
from ruas.services.check import VehicleInput, build_vehicle
from ruas.web.core import CurrentVisitor, PortalRoute, check_csrf, redirect, render

router = APIRouter(route_class=PortalRoute, include_in_schema=False)


def _municipalities(register: Register) -> list[tuple[str, str]]:
    """Municipalities with a zone in force that offers an exemption type."""
    found = {
        (z.authority, z.authority_name)
        for z in register.book.zones
        if z.status.value == "in_force" and any(r.exemption_types for r in z.regulations)
    }
    return sorted(found, key=lambda m: m[1])


def type_options(
    db: Session, register: Register, vehicle: Vehicle, municipality: str, now: datetime
) -> list[dict[str, Any]]:
    """Every exemption type the municipality's zones offer, with the desk's eligibility checks for this vehicle
    (today for a day exemption, from today for a long one) and the fee; eligible types first.

    The visits a year are declared in the next step, so here the minimum is assumed.
    """
    zones = [register.book.zone(z) for z in register.zones_of_municipality(municipality)]
    type_ids = list(dict.fromkeys(t for z in zones for r in z.regulations for t in r.exemption_types))
    today = local_day(now)
    out = []
    for type_id in type_ids:
        etype = desk.exemption_type(type_id)
        terms = desk.terms_of(etype, desk.type_settings(db, type_id, municipality))
        try:
            if terms.kind == "day":
                period = desk.day_validity(today)
                counts = desk.day_counts(db, vehicle.plate or "", municipality, type_id, today)
            else:
                period = desk.long_period(terms, None, None, earliest=local_midnight(today))
                counts = desk.Counts()
            checks = desk.assess(
                register.book,
                zones,
                vehicle,
                etype,
                terms,
                municipality,
                period,
                counts=counts,
                visits_per_year=terms.min_visits_per_year,
            )
        except InvalidInput as exc:
            checks = [desk.Check("period", False, exc.message)]
        out.append(
            {
                "type": etype,
                "terms": terms,
                "eligible": desk.eligible(checks),
                "checks": [c for c in checks if c.rule not in desk.ADVISORY_RULES or not c.ok],
            }
        )
    out.sort(key=lambda o: not o["eligible"])
    return out


DECLARED_FIELDS = ("category", "body", "fuel", "emission_class", "first_admission", "mass_kg")
"""The vehicle attributes an applicant declares for a plate that is not in the vehicle register."""
FORM_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class NotInRegister(InvalidInput):
    """The plate is not in the vehicle register and no attributes were declared yet."""


def declared_input(values: Any) -> VehicleInput | None:
    """The declared attributes of a form (None when none was given); bad values name their field."""

    def text(name: str) -> str:
        return str(values.get(name) or "").strip()

    if not any(text(f) for f in DECLARED_FIELDS):
        return None
    mass = None
    if text("mass_kg"):
        digits = text("mass_kg").replace(".", "").replace(" ", "")
        if not digits.isdigit() or not 100 <= int(digits) <= 100_000:
            raise InvalidInput("maximum mass: expected whole kilograms, 100 to 100,000", field="mass_kg")
        mass = int(digits)
    return VehicleInput(
        category=text("category") or None,
        body=text("body") or None,
        fuel=text("fuel") or None,
        emission_class=text("emission_class") or None,
        first_admission=parse_date(text("first_admission"), "first_admission") if text("first_admission") else None,
        mass_kg=mass,
    )


def wizard_vehicle(db: Session, register: Register, plate: str, declared: VehicleInput | None) -> tuple[Vehicle, str]:
    """The vehicle of an application and where its data come from: ``register`` or ``declared``.

    A registered plate uses the register (declared attributes are ignored, as the desk requires); a plate that
    is not in the register needs declared attributes (:class:`NotInRegister` asks for them).
    """
    normalised = normalise_plate(plate)
    try:
        return build_vehicle(register, VehicleInput(plate=normalised), db), "register"
    except NotFound:
        if declared is None:
            raise NotInRegister(
                f"plate {normalised} is not in the vehicle register: declare the vehicle's characteristics below",
                field="plate",
            ) from None
    built = build_vehicle(register, replace(declared, plate=None))
    return replace(built, plate=normalised, synthetic=False), "declared"


@router.get("/exemptions")
def exemptions_home(request: Request, visitor: CurrentVisitor, db: DbSession) -> Response:
    """What exemptions exist (with fees), and for a logged-in business its applications."""
    mine: list[dict[str, Any]] = []
    if visitor.principal.role in ("applicant", "admin"):
        rows, _total = desk.list_applications(db, visitor.principal, page_size=200)
        mine = [application_data(a) for a in reversed(rows)]
    types = list(national_exemption_types().values())
    return render(request, visitor, "exemptions.html", {"types": types, "mine": mine})


@router.get("/exemptions/apply")
def apply_form(request: Request, visitor: CurrentVisitor, db: DbSession, register: CurrentRegister) -> Response:
    """The wizard: 1. plate and municipality, 2. the type (by eligibility), 3. details, evidence and fee."""
    visitor.require("applicant", "admin")
    q = request.query_params
    values = {k: str(q.get(k, "")).strip() for k in ("plate", "municipality", "type_id", *DECLARED_FIELDS)}
    context: dict[str, Any] = {
        "values": values,
        "errors": {},
        "municipalities": _municipalities(register),
        "step": 1,
        "declare": any(values[f] for f in DECLARED_FIELDS),
        "declared_fields": DECLARED_FIELDS,
    }
    status = 200
    if values["plate"] and values["municipality"]:
        try:
            vehicle, source = wizard_vehicle(db, register, values["plate"], declared_input(values))
            options = type_options(db, register, vehicle, values["municipality"].upper(), now_utc())
        except RuasError as exc:
            field = str(exc.details.get("field") or "plate")
            if exc.details.get("missing"):
                field = {"--fuel": "fuel", "--first-admission": "first_admission", "--mass": "mass_kg"}.get(
                    str(exc.details["missing"][0]),
                    "category" if "--category" in exc.details["missing"] else "emission_class",
                )
            context["errors"] = {field if field in values else "plate": exc.message}
            context["declare"] = context["declare"] or isinstance(exc, NotInRegister)
            status = 422
        else:
            context.update(step=2, vehicle=vehicle, source=source, options=options, declare=source == "declared")
            chosen = next((o for o in options if o["type"].id == values["type_id"] and o["eligible"]), None)
            if chosen is not None:
                context.update(
                    step=3,
                    chosen=chosen,
                    today=local_day(now_utc()).isoformat(),
                    form_token=secrets.token_urlsafe(24),
                )
    return render(request, visitor, "apply.html", context, status)


async def _file(form: Any, limit: int) -> desk.Upload | None:
    file = form.get("evidence")
    if not isinstance(file, UploadFile) or not file.filename:
        return None
    data = await file.read(limit + 1)
    return desk.Upload(filename=file.filename, declared_type=file.content_type, data=data)


def _apply_request(form: Any) -> desk.ApplyRequest:
    def text(name: str) -> str:
        return str(form.get(name) or "").strip()

    day = parse_date(text("day"), "day") if text("day") else None
    visits = None
    if text("visits_per_year"):
        if not text("visits_per_year").isdigit():
            raise InvalidInput("visits a year: expected a whole number", field="visits_per_year")
        visits = int(text("visits_per_year"))
    return desk.ApplyRequest(
        plate=text("plate"),
        type_id=text("type_id"),
        municipality=text("municipality"),
        day=day,
        valid_from=desk.parse_moment(text("valid_from") or None, "valid_from"),
        valid_until=desk.parse_moment(text("valid_until") or None, "valid_until"),
        window=text("window") or None,
        visits_per_year=visits,
        note=text("note"),
        vehicle=declared_input(form),
    )


@router.post("/exemptions/apply")
async def apply(
    request: Request, visitor: CurrentVisitor, db: DbSession, register: CurrentRegister, settings: AppSettings
) -> Response:
    """File the application with the desk (and its evidence); on to its status page."""
    principal = visitor.require("applicant", "admin")
    form = await request.form(max_files=1, max_fields=30)
    check_csrf(visitor, form)
    now = now_utc()
    token = str(form.get("form_token") or "")
    try:
        if not FORM_TOKEN.match(token):
            raise InvalidInput(
                "the form lacks its one-time token: reload the form and submit it again", field="form_token"
            )
        upload = await _file(form, settings.max_upload_bytes)
        request_ = _apply_request(form)

        def run() -> dict[str, Any]:
            app = desk.apply(db, register, principal, request_, now)
            if upload is not None and app.status == desk.SUBMITTED:
                desk.add_evidence(db, principal, app.id, upload, max_bytes=settings.max_upload_bytes, now=now)
            return {"id": app.id}

        # the form's one-time token is an idempotency key in the API's store: a second submission of the same
        # form (a double click, a reload, the back button) files nothing and leads to the first application
        stored = idempotent(
            db,
            principal,
            f"portal-apply:{token}",
            method="POST",
            path="/exemptions/apply",
            payload={"form_token": token},
            now=now,
            status_code=303,
            operation=run,
        )
        app_id = str(json.loads(bytes(stored.body))["id"])
    except RuasError as exc:
        db.rollback()  # nothing of a failed application is kept
        values = {k: str(form.get(k) or "") for k in ("plate", "municipality", "type_id", *DECLARED_FIELDS)}
        target = "/exemptions/apply?" + urlencode({k: v for k, v in values.items() if v and k != "type_id"})
        status = 409 if isinstance(exc, Conflict) else 422
        return render(
            request,
            visitor,
            "error_form.html",
            {"message": exc.message, "field": exc.details.get("field"), "back": target},
            status,
        )
    return redirect(f"/exemptions/{app_id}")


def _application_context(db: Session, visitor: Any, app_id: str) -> dict[str, Any]:
    app = desk.readable(db, visitor.principal, app_id)
    files = [evidence_data(f) for f in desk.list_evidence(db, visitor.principal, app_id)]
    return {"app": application_data(app), "files": files}


@router.get("/exemptions/{app_id}")
def application_page(request: Request, visitor: CurrentVisitor, db: DbSession, app_id: str) -> Response:
    """The status of one application: decision, reasons, validity, fee and payment, evidence."""
    visitor.require("applicant", "officer", "admin")
    return render(request, visitor, "application.html", _application_context(db, visitor, app_id))


@router.post("/exemptions/{app_id}/evidence")
async def upload_evidence(
    request: Request, visitor: CurrentVisitor, db: DbSession, settings: AppSettings, app_id: str
) -> Response:
    """Add an evidence file (PDF, PNG or JPEG; size limited) to a submitted application."""
    principal = visitor.require("applicant", "admin")
    form = await request.form(max_files=1, max_fields=5)
    check_csrf(visitor, form)
    upload = await _file(form, settings.max_upload_bytes)
    if upload is None:
        raise InvalidInput("choose a file", field="evidence")
    desk.add_evidence(db, principal, app_id, upload, max_bytes=settings.max_upload_bytes, now=now_utc())
    return redirect(f"/exemptions/{app_id}")


# --------------------------------------------------------------------------- officers


@router.get("/officer/queue")
def queue(request: Request, visitor: CurrentVisitor, db: DbSession) -> Response:
    """Applications waiting for a decision in the officer's municipalities (the administrator: all)."""
    principal = visitor.require("officer", "admin")
    rows, total = desk.list_applications(db, principal, status=desk.SUBMITTED, page_size=200)
    recent, _n = desk.list_applications(db, principal, page_size=200)
    decided = [application_data(a) for a in reversed(recent) if a.status != desk.SUBMITTED][:20]
    return render(
        request,
        visitor,
        "queue.html",
        {"items": [application_data(a) for a in rows], "total": total, "decided": decided},
    )


@router.get("/officer/applications/{app_id}")
def decision_screen(request: Request, visitor: CurrentVisitor, db: DbSession, app_id: str) -> Response:
    """One case: the application, its checks and evidence, and the decision form."""
    visitor.require("officer", "admin")
    context = _application_context(db, visitor, app_id)
    context["errors"] = {}
    return render(request, visitor, "decide.html", context)


@router.post("/officer/applications/{app_id}/decision")
async def decide(request: Request, visitor: CurrentVisitor, db: DbSession, app_id: str) -> Response:
    """Grant or refuse with a motivation; a decision taken meanwhile by someone else is a clear conflict."""
    principal = visitor.require("officer", "admin")
    form = await request.form(max_fields=10)
    check_csrf(visitor, form)
    decision = str(form.get("decision") or "")
    try:
        if decision not in (desk.GRANTED, desk.REFUSED):
            raise InvalidInput("choose grant or refuse", field="decision")
        version = str(form.get("row_version") or "")
        if not version.isdigit():
            raise InvalidInput("the form lacks the version of the application; reload it", field="row_version")
        req = desk.DecisionRequest(
            decision="granted" if decision == desk.GRANTED else "refused",
            motivation=str(form.get("motivation") or ""),
            row_version=int(version),
            valid_from=desk.parse_moment(str(form.get("valid_from") or "") or None, "valid_from"),
            valid_until=desk.parse_moment(str(form.get("valid_until") or "") or None, "valid_until"),
        )
        desk.decide_application(db, principal, app_id, req, now_utc())
    except NotFound:
        raise
    except RuasError as exc:
        db.rollback()
        context = _application_context(db, visitor, app_id)
        field = str(exc.details.get("field") or "decision")
        context["errors"] = {field: exc.message}
        context["conflict"] = isinstance(exc, desk.DeskConflict)
        return render(request, visitor, "decide.html", context, 409 if context["conflict"] else 422)
    return redirect(f"/officer/applications/{app_id}")
