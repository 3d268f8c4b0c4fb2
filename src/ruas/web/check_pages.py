"""Check my vehicle: by plate (vehicle register) or attributes, at a place and moment; per zone the answer,
why, until when, a 2025-2030 timeline and the exemptions that fit. The answer is the engine's
(:func:`ruas.rules.engine.decide` and :func:`ruas.rules.engine.timeline`) with the plate's granted exemptions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from ruas.api.deps import CurrentRegister, DbSession, limit_anonymous, now_utc
from ruas.domain.decision import Decision, Timeline
from ruas.domain.errors import InvalidInput, NotFound, RuasError
from ruas.domain.timeutil import LOCAL_TZ, parse_date, parse_instant
from ruas.domain.vehicle import Vehicle, normalise_plate
from ruas.register.records import municipality_names
from ruas.register.store import Register
from ruas.rules.engine import decide, timeline
from ruas.services.check import Place, VehicleInput, build_vehicle
from ruas.services.grants import grants_for_plate
from ruas.web.core import CurrentVisitor, PortalRoute, gettext, render
from ruas.web.views import TIMELINE_END, TIMELINE_START, Bar, position, timeline_bars, zone_view

router = APIRouter(route_class=PortalRoute, include_in_schema=False)

VEHICLE_FIELDS = ("category", "body", "fuel", "emission_class", "first_admission", "mass_kg")
FORM_FIELDS = ("mode", "plate", "declared_plate", *VEHICLE_FIELDS, "scope", "municipality", "zone", "at")
MISSING_FLAG_TO_FIELD = {
    "--category": "category",
    "--fuel": "fuel",
    "--first-admission": "first_admission",
    "--emission-class": "emission_class",
    "--mass": "mass_kg",
}


@dataclass
class CheckForm:
    """The check form as typed, and what is wrong with it (field -> message)."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def submitted(self) -> bool:
        """True when the visitor asked for an answer (a plate or vehicle attributes were given)."""
        return bool(self.values.get("plate") or any(self.values.get(f) for f in VEHICLE_FIELDS))

    @classmethod
    def of(cls, query: Mapping[str, str]) -> CheckForm:
        """From the query string, trimmed."""
        values = {name: str(query.get(name, "")).strip() for name in FORM_FIELDS}
        values["mode"] = values["mode"] if values["mode"] in ("plate", "attributes") else "plate"
        values["scope"] = values["scope"] if values["scope"] in ("all", "municipality", "zone") else "all"
        return cls(values)


@dataclass(frozen=True)
class ZoneAnswer:
    """One zone of the answer: the engine's decision, the zone as the map shows it, the timeline bar."""

    decision: Any
    zone: dict[str, Any]
    bars: list[Bar]


def _vehicle_input(form: CheckForm) -> VehicleInput:
    v = form.values
    plate = v["plate"] if v["mode"] == "plate" else ""
    first = None
    mass = None
    if v["first_admission"] and v["mode"] == "attributes":
        first = parse_date(v["first_admission"], "first_admission")
    if v["mass_kg"] and v["mode"] == "attributes":
        try:
            mass = int(v["mass_kg"].replace(".", "").replace(" ", ""))
        except ValueError:
            raise InvalidInput(f"mass {v['mass_kg']!r}: expected whole kilograms, e.g. 3500", field="mass_kg") from None
        if not 100 <= mass <= 100_000:
            raise InvalidInput("mass: expected 100 to 100,000 kg", field="mass_kg")

    def given(name: str) -> str | None:
        return (v[name] or None) if v["mode"] == "attributes" else None

    return VehicleInput(
        plate=plate or None,
        category=given("category"),
        body=given("body"),
        fuel=given("fuel"),
        emission_class=given("emission_class"),
        first_admission=first,
        mass_kg=mass,
    )


def _zone_ids(register: Register, form: CheckForm) -> tuple[str, ...]:
    v = form.values
    if v["scope"] == "municipality":
        if not v["municipality"]:
            raise InvalidInput("choose a municipality", field="municipality")
        return Place(municipality=v["municipality"]).resolve(register)
    if v["scope"] == "zone":
        if not v["zone"]:
            raise InvalidInput("choose a zone", field="zone")
        return Place(zone=v["zone"]).resolve(register)
    return tuple(z.id for z in register.book.zones)


def _moment(form: CheckForm, now: datetime) -> datetime:
    text = form.values["at"]
    at = parse_instant(text, "at") if text else now.astimezone(LOCAL_TZ)
    if not 1900 <= at.year <= 2200:
        raise InvalidInput("the moment must lie between 1900 and 2200", field="at")
    return at


def answer(
    register: Register, db: Session, form: CheckForm, now: datetime
) -> tuple[Decision, tuple[Timeline, ...], Any]:
    """The engine's decision and 2025-2030 timelines for the form's vehicle, place and moment.

    Exemptions granted to the plate by the desk count, as in ``POST /api/v1/checks``.
    """
    at = _moment(form, now)
    vehicle = form_vehicle(register, db, form)
    zone_ids = _zone_ids(register, form)
    grants = grants_for_plate(db, vehicle.plate) if vehicle.plate else []
    decision = decide(register.book, vehicle, zone_ids, at=at, grants=grants)
    timelines = timeline(register.book, vehicle, zone_ids, start=TIMELINE_START, end=TIMELINE_END, grants=grants)
    return decision, timelines, vehicle


def form_vehicle(register: Register, db: Session, form: CheckForm) -> Vehicle:
    """The vehicle of a form: by plate (register), or by characteristics, optionally under a plate that is not in
    the register (declared). Shared by the check and the route pages."""
    given = _vehicle_input(form)
    if given.plate is None and form.values["mode"] == "plate":
        raise InvalidInput("fill in a licence plate", field="plate")
    vehicle = build_vehicle(register, given, db)
    if form.values["mode"] == "attributes" and form.values["declared_plate"]:
        vehicle = declared_vehicle(register, db, form.values["declared_plate"], vehicle)
    return vehicle


def declared_vehicle(register: Register, db: Session, plate: str, described: Vehicle) -> Vehicle:
    """The described vehicle under a plate that is *not* in the vehicle register (declared characteristics), so
    that exemptions granted to that plate count; a registered plate must be checked by plate."""
    normalised = normalise_plate(plate)
    try:
        register.vehicle(normalised, db)
    except NotFound:
        return replace(described, plate=normalised, synthetic=False)
    raise InvalidInput(
        f"plate {normalised} is in the vehicle register: check it by licence plate", field="declared_plate"
    )


def field_of(exc: RuasError) -> str:
    name = str(exc.details.get("field") or "")
    if name == "vehicle" and exc.details.get("missing"):
        return MISSING_FLAG_TO_FIELD.get(str(exc.details["missing"][0]), "category")
    if name in ("point", "place"):
        return "scope"
    if name in FORM_FIELDS:
        return name
    return "plate" if name in ("", "plate", "kenteken") else name


def message_of(exc: RuasError, language: str) -> str:
    _ = gettext(language)
    if exc.details.get("missing"):
        names = {
            "--category": _("category"),
            "--fuel": _("fuel"),
            "--first-admission": _("date of first admission"),
            "--emission-class": _("emission class"),
            "--mass": _("maximum mass"),
        }
        missing = ", ".join(names.get(str(m), str(m)) for m in exc.details["missing"])
        return _("Without a plate, fill in: %(missing)s") % {"missing": missing}
    return exc.message


@router.get("/check")
def check_page(request: Request, visitor: CurrentVisitor, register: CurrentRegister, db: DbSession) -> Response:
    """The check form and, when a vehicle was given, the answer per zone (a partial for htmx requests)."""
    form = CheckForm.of(request.query_params)
    now = now_utc()
    context: dict[str, Any] = {"form": form, "result": None}
    status = 200
    if form.submitted:
        limit_anonymous(request, visitor.principal)
        try:
            decision, timelines, vehicle = answer(register, db, form, now)
        except RuasError as exc:
            form.errors[field_of(exc)] = message_of(exc, visitor.language)
            status = 422 if isinstance(exc, InvalidInput) else 404
            if isinstance(exc, NotFound) and form.values["mode"] == "plate":
                context["unknown_plate"] = True
                _ = gettext(visitor.language)
                form.errors["plate"] = _("Plate %(plate)s is not in the vehicle register.") % {
                    "plate": form.values["plate"].upper()
                }
        else:
            by_zone = {t.zone_id: t for t in timelines}
            zones = [
                ZoneAnswer(
                    zd, zone_view(register.book.zone(zd.zone_id), decision.at), timeline_bars(by_zone[zd.zone_id])
                )
                for zd in decision.zones
            ]
            zones.sort(key=lambda a: (a.decision.allowed, a.zone["state"] == "announced"))
            context["result"] = {
                "decision": decision,
                "vehicle": vehicle,
                "declared": form.values["mode"] == "attributes",
                "zones": zones,
                "today": position(now),
                "refused": sum(1 for a in zones if not a.decision.allowed),
            }
    context["municipalities"] = sorted(
        {(z.authority, z.authority_name) for z in register.book.zones}, key=lambda m: m[1]
    )
    context["all_municipalities"] = municipality_names()
    context["zones"] = sorted(((z.id, z.name) for z in register.book.zones), key=lambda z: z[1])
    context["at_default"] = now.astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")
    template = "check_result.html" if request.headers.get("HX-Request") else "check.html"
    return render(request, visitor, template, context, status=status)
