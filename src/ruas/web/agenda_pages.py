"""The RUAS agenda in the portal: roadmap, activity pages, "mijn gemeente", the steering group's dashboard, and the
regional administrator's progress edits.

A thin layer over :mod:`ruas.agenda.views` (the same dicts ``/api/v1/agenda`` returns) and
:mod:`ruas.agenda.service` (edits, with history and the editor rule). Nothing about the agenda is decided here:
status, overdue, money and figures come from those modules; the pages only arrange and translate what they show.

Every page takes ``?on=YYYY-MM-DD`` (default: today in Amsterdam) and shows the state of that day. Edits are
plain forms with the session's CSRF token (they work without scripts) and redirect back to the activity page; a
refused edit re-renders the page with the form's values and the reason, a stale form (``expected_changes``) as a
409 with the current state.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from ruas.agenda import service
from ruas.agenda.loader import embedded_agenda, region_municipalities
from ruas.agenda.model import Role, StepStatus
from ruas.agenda.views import (
    activity_view,
    check_day,
    dashboard_view,
    organisation_view,
    organisations_view,
    resolve_organisation,
    roadmap_view,
)
from ruas.api.deps import CurrentRegister, DbSession, now_utc
from ruas.domain.errors import Conflict, InvalidInput
from ruas.domain.timeutil import local_day
from ruas.register.store import Register
from ruas.web.core import CurrentVisitor, PortalRoute, Visitor, check_csrf, gettext, redirect, render

router = APIRouter(route_class=PortalRoute, include_in_schema=False)

STATUSES = tuple(s.value for s in StepStatus)
ROLES = tuple(r.value for r in Role)
PORTAL_LINKS = {
    "ze_zones_live": "/",
    "time_window_areas": "/",
    "basisraamwerk_adoptions": "/region",
    "data_voor_logistiek": "/open-data",
}
"""Where the portal shows more of a platform figure (next to the figure's own API link)."""

_CBS_IN_LABEL = re.compile(r"\((GM\d{4})\)")


# --------------------------------------------------------------------------- helpers


def _day(text: str | None, field: str = "on") -> date:
    """A local day from a query or form value (``YYYY-MM-DD``); empty: today in Amsterdam."""
    text = (text or "").strip()
    if not text:
        return local_day(now_utc())
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{field} {text!r}: expected a date as YYYY-MM-DD", field=field, value=text) from None
    return check_day(day, field)


def _on(request: Request) -> date:
    return _day(request.query_params.get("on"))


def _with_on(path: str, on: date, today: date) -> str:
    """A page link that keeps the day being looked at (no parameter for today)."""
    return path if on == today else f"{path}?on={on.isoformat()}"


def metric_links(metric: Mapping[str, Any]) -> dict[str, Any]:
    """A figure as the pages show it: its rows with a link to the municipality's agenda page where a row names one,
    and the portal page that shows more of it.

    >>> m = metric_links({"metric": "ze_zones_live", "rows": [{"label": "Amsterdam (GM0363)", "value": "1"}]})
    >>> m["rows"][0]["org"], m["portal_link"]
    ('GM0363', '/')
    """
    rows = []
    for row in metric.get("rows", ()):
        found = _CBS_IN_LABEL.search(str(row.get("label", "")))
        rows.append({**row, "org": found.group(1) if found else None})
    return {**metric, "rows": rows, "portal_link": PORTAL_LINKS.get(str(metric.get("metric")))}


def _step_history(view: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The status events of each step of an activity, oldest first."""
    out: dict[str, list[dict[str, Any]]] = {s["id"]: [] for s in view["steps"]}
    for event in view["events"]:
        if event["kind"] == "status" and event["step_id"] in out:
            out[event["step_id"]].append(event)
    return out


def _report_links(on: date) -> dict[str, str]:
    base = f"/api/v1/agenda/report?date={on.isoformat()}"
    return {"html": f"{base}&format=html", "pdf": f"{base}&format=pdf"}


def as_date(text: str | None) -> date | None:
    """An ISO day (or the day of an ISO moment) from a view dict, for the formatter."""
    return date.fromisoformat(text[:10]) if text else None


def as_moment(text: str | None) -> datetime | None:
    """An ISO moment from a view dict, for the formatter."""
    return datetime.fromisoformat(text) if text else None


def label_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Progress events with the activity's name and, for status events, the step's label as the sheet writes it."""
    agenda = embedded_agenda()
    out = []
    for e in events:
        activity = agenda.activity(e["activity_id"])
        extra: dict[str, Any] = {"activity_name": activity.name}
        if e["kind"] == "status":
            extra["step_label"] = activity.step(int(e["step_id"].rsplit("/", 1)[1])).label
        out.append({**e, **extra})
    return out


def _common(on: date) -> dict[str, Any]:
    today = local_day(now_utc())
    return {
        "as_date": as_date,
        "as_moment": as_moment,
        "theme_names": {t.id: t.name for t in embedded_agenda().themes},
        "on": on,
        "today": today,
        "is_today": on == today,
        "statuses": STATUSES,
        "roles": ROLES,
        "report": _report_links(on),
        "on_query": "" if on == today else f"?on={on.isoformat()}",
    }


# --------------------------------------------------------------------------- roadmap


@router.get("/agenda")
def roadmap_page(request: Request, visitor: CurrentVisitor, db: DbSession) -> Response:
    """Activities × years 2023–2026, grouped by theme; each planned step with its status (text and colour)."""
    on = _on(request)
    agenda = embedded_agenda()
    view = roadmap_view(agenda, service.load_progress(db), on)
    groups = [
        {"id": None, "name": None, "rows": [r for r in view["rows"] if r["theme"] is None]},
        *(
            {"id": t["id"], "name": t["name"], "rows": [r for r in view["rows"] if r["theme"] == t["id"]]}
            for t in view["themes"]
        ),
    ]
    overdue = {s["id"] for row in view["rows"] for cell in row["years"].values() for s in cell if s["overdue"]}
    return render(
        request,
        visitor,
        "agenda_roadmap.html",
        {**_common(on), "view": view, "groups": groups, "overdue_count": len(overdue)},
    )


# --------------------------------------------------------------------------- activity page


@dataclass(frozen=True, slots=True)
class FormError:
    """A refused edit: which form (``step-2``, ``budget``, ``note``), which field, the message, and whether the form
    was stale (409)."""

    form: str
    field: str
    message: str
    conflict: bool = False


def _activity_context(db: Session, register: Register, visitor: Visitor, activity_id: str, on: date) -> dict[str, Any]:
    agenda = embedded_agenda()
    activity = agenda.activity(activity_id)
    metrics = service.figures(agenda, on, register.zones, db, list(activity.metrics))
    view = activity_view(agenda, service.load_progress(db), activity_id, on, metrics)
    view["events"] = label_events(view["events"])
    admin = visitor.principal.role == service.EDITOR_ROLE
    edits = [e.to_data() for e in service.history(db, activity_id=activity_id, limit=50)] if visitor.logged_in else []
    return {
        **_common(on),
        "a": view,
        "metrics": [metric_links(m) for m in view["metrics"]],
        "step_history": _step_history(view),
        "admin": admin,
        "edits": edits,
        "error": None,
        "values": {},
        "saved": None,
    }


def request_saved(value: str | None) -> str | None:
    """Which form was just saved (``step-N``, ``budget``, ``note``), from the redirect's ``saved`` parameter."""
    if value and re.fullmatch(r"step-\d{1,3}|budget|note", value):
        return value
    return None


@router.get("/agenda/activities/{activity_id}")
def activity_page(
    request: Request, visitor: CurrentVisitor, db: DbSession, register: CurrentRegister, activity_id: str
) -> Response:
    """One activity: the sheet as written, parties, money, steps with status and history, the platform's figures,
    source notes; for the regional administrator the edit forms."""
    on = _on(request)
    context = _activity_context(db, register, visitor, activity_id, on)
    context["saved"] = request_saved(request.query_params.get("saved"))
    return render(request, visitor, "agenda_activity.html", context)


def _refused(
    request: Request,
    visitor: Visitor,
    db: Session,
    register: Register,
    activity_id: str,
    error: FormError,
    values: Mapping[str, Any],
) -> Response:
    """The activity page again (the state as it is now) with the refused form's values and the reason."""
    db.rollback()
    context = _activity_context(db, register, visitor, activity_id, _day(None))
    context["error"] = error
    context["values"] = {k: str(v) for k, v in values.items() if k != "csrf_token"}
    page = f"/agenda/activities/{quote(activity_id)}"  # the page's own address, not the form's (language switch)
    context |= {"path": page, "here": page, "here_quoted": quote(page, safe="")}
    return render(request, visitor, "agenda_activity.html", context, 409 if error.conflict else 422)


def _message(visitor: Visitor, form: str, exc: InvalidInput | Conflict, status: str = "") -> str:
    """The portal's own (translated) words for the refusals a person can run into, else the service's message."""
    _ = gettext(visitor.language)
    field = str(exc.details.get("field") or "")
    if isinstance(exc, Conflict):
        return _(
            "Someone else changed this step after you opened the page. "
            "The page now shows the current state: check it and save again."
        )
    if form.startswith("step-") and field == "note" and status == StepStatus.DELAYED.value:
        return _("A delayed step needs a note saying why.")
    if field == "as_of":
        return _("Give a date from 1 January 2023 up to today.")
    return exc.message


def _form_day(value: Any, field: str = "as_of") -> date:
    """A required day from a form (``YYYY-MM-DD``)."""
    text = str(value or "").strip()
    if not text:
        raise InvalidInput(f"{field} is required (YYYY-MM-DD)", field=field)
    return _day(text, field)


def _form_int(value: Any, field: str) -> int | None:
    text = str(value or "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise InvalidInput(f"{field} {text!r} is not a whole number", field=field)
    return int(text)


@router.post("/agenda/activities/{activity_id}/steps/{seq}/status")
async def save_step_status(
    request: Request, visitor: CurrentVisitor, db: DbSession, register: CurrentRegister, activity_id: str, seq: int
) -> Response:
    """Record a step's status from a day on (regional administrator only); ``delayed`` needs a note; a stale form
    (someone changed the step since the page was read) is refused with the current state."""
    principal = visitor.require(service.EDITOR_ROLE)
    form = await request.form(max_fields=10)
    check_csrf(visitor, form)
    agenda = embedded_agenda()
    agenda.activity(activity_id).step(seq)  # unknown activity or step: 404
    status = str(form.get("status") or "")
    try:
        service.set_step_status(
            db,
            agenda,
            principal,
            activity_id=activity_id,
            step_seq=seq,
            status=status,
            as_of=_form_day(form.get("as_of")),
            note=str(form.get("note") or ""),
            now=now_utc(),
            expected_changes=_form_int(form.get("expected_changes"), "expected_changes"),
        )
    except (InvalidInput, Conflict) as exc:
        name = f"step-{seq}"
        error = FormError(
            name,
            str(exc.details.get("field") or "status"),
            _message(visitor, name, exc, status),
            isinstance(exc, Conflict),
        )
        return _refused(request, visitor, db, register, activity_id, error, form)
    return redirect(f"/agenda/activities/{quote(activity_id)}?saved=step-{seq}#step-{seq}")


@router.post("/agenda/activities/{activity_id}/budget")
async def save_budget_line(
    request: Request, visitor: CurrentVisitor, db: DbSession, register: CurrentRegister, activity_id: str
) -> Response:
    """Record money committed or spent (regional administrator only; a negative amount corrects)."""
    principal = visitor.require(service.EDITOR_ROLE)
    form = await request.form(max_fields=10)
    check_csrf(visitor, form)
    agenda = embedded_agenda()
    agenda.activity(activity_id)
    try:
        service.add_budget_line(
            db,
            agenda,
            principal,
            activity_id=activity_id,
            kind=str(form.get("kind") or ""),
            amount_eur=str(form.get("amount_eur") or "").replace(",", "."),
            as_of=_form_day(form.get("as_of")),
            note=str(form.get("note") or ""),
            now=now_utc(),
        )
    except InvalidInput as exc:
        error = FormError("budget", str(exc.details.get("field") or "amount_eur"), _message(visitor, "budget", exc))
        return _refused(request, visitor, db, register, activity_id, error, form)
    return redirect(f"/agenda/activities/{quote(activity_id)}?saved=budget#money")


@router.post("/agenda/activities/{activity_id}/notes")
async def save_progress_note(
    request: Request, visitor: CurrentVisitor, db: DbSession, register: CurrentRegister, activity_id: str
) -> Response:
    """Record a dated note on how the activity stands (regional administrator only)."""
    principal = visitor.require(service.EDITOR_ROLE)
    form = await request.form(max_fields=10)
    check_csrf(visitor, form)
    agenda = embedded_agenda()
    agenda.activity(activity_id)
    try:
        service.add_progress_note(
            db,
            agenda,
            principal,
            activity_id=activity_id,
            text=str(form.get("text") or ""),
            as_of=_form_day(form.get("as_of")),
            now=now_utc(),
        )
    except InvalidInput as exc:
        error = FormError("note", str(exc.details.get("field") or "text"), _message(visitor, "note", exc))
        return _refused(request, visitor, db, register, activity_id, error, form)
    return redirect(f"/agenda/activities/{quote(activity_id)}?saved=note#situation")


# --------------------------------------------------------------------------- per organisation ("mijn gemeente")


def _choices() -> dict[str, Any]:
    """The chooser's options: the 50 municipalities of the region by CBS code, then the other organisations."""
    region = region_municipalities()
    others = [
        o
        for o in organisations_view(embedded_agenda())["organisations"]
        if o["kind"] not in ("municipality", "group") or (o["kind"] == "municipality" and o["cbs_code"] not in region)
    ]
    return {
        "municipalities": sorted(region.items(), key=lambda kv: kv[1]),
        "others": sorted(others, key=lambda o: o["name"]),
    }


@router.get("/agenda/organisations")
def organisations_page(request: Request, visitor: CurrentVisitor) -> Response:
    """Choose a municipality (any of the region's 50, by CBS code) or another organisation. With ``?org=`` it goes
    straight to that organisation's page (the chooser works without scripts)."""
    chosen = (request.query_params.get("org") or "").strip()
    on = _on(request)
    if chosen:
        return redirect(_with_on(f"/agenda/organisations/{quote(chosen)}", on, local_day(now_utc())))
    mine = sorted(visitor.principal.municipalities)
    return render(
        request,
        visitor,
        "agenda_organisation.html",
        {**_common(on), **_choices(), "o": None, "selected": mine[0] if mine else ""},
    )


@router.get("/agenda/organisations/{key}")
def organisation_page(
    request: Request, visitor: CurrentVisitor, db: DbSession, register: CurrentRegister, key: str
) -> Response:
    """What an organisation does in the agenda: action holder for what, involved where, directly and through the
    groups it belongs to (all municipalities, ZE-zone municipalities from the register, ...), steering-group seat."""
    on = _on(request)
    agenda = embedded_agenda()
    org = resolve_organisation(agenda, key, region_municipalities())
    view = organisation_view(agenda, service.load_progress(db), org, on, service.memberships(register.zones))
    total = sum(len(v) for v in view["roles"].values()) + len(view["via_groups"])
    selected = org.cbs_code or org.id
    return render(
        request,
        visitor,
        "agenda_organisation.html",
        {**_common(on), **_choices(), "o": view, "total": total, "selected": selected},
    )


# --------------------------------------------------------------------------- steering-group dashboard


@router.get("/agenda/dashboard")
def dashboard_page(request: Request, visitor: CurrentVisitor, db: DbSession, register: CurrentRegister) -> Response:
    """The steering group's overview: steps and money per theme, overdue steps, steps open this year, budget
    totals, the platform's figures, recent changes, the members, and the progress report."""
    on = _on(request)
    agenda = embedded_agenda()
    view = dashboard_view(agenda, service.load_progress(db), on, service.figures(agenda, on, register.zones, db))
    reports = service.issued_reports(db)
    return render(
        request,
        visitor,
        "agenda_dashboard.html",
        {
            **_common(on),
            "d": view,
            "metrics": [metric_links(m) for m in view["metrics"]],
            "recent_changes": label_events(view["recent_changes"]),
            "last_report": reports[-1].to_data() if reports else None,
        },
    )
