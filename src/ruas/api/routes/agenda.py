"""The RUAS agenda over HTTP: activities, roadmap, per-organisation view, steering-group dashboard, edit history,
progress edits by the regional administrator, and the annual progress report (HTML, PDF or JSON).

Reading the agenda and its progress is open to everyone (the agenda is a public document and its progress is
reported to the provincial states); the edit history names who edited, so it needs an account. Every view takes
``on`` (a local date; default today) and shows the state of that day.
"""

from __future__ import annotations

import datetime as dt
import json
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from ruas.agenda import service
from ruas.agenda.loader import embedded_agenda, region_municipalities
from ruas.agenda.report import digest, render_html, render_pdf, report_data, report_title
from ruas.agenda.views import (
    activity_view,
    check_day,
    dashboard_view,
    list_view,
    organisation_view,
    organisations_view,
    resolve_organisation,
    roadmap_view,
)
from ruas.api.deps import CurrentPrincipal, CurrentRegister, DbSession, now_utc
from ruas.domain.errors import InvalidInput
from ruas.domain.timeutil import local_day
from ruas.services.accounts import AuthError

router = APIRouter(prefix="/api/v1/agenda", tags=["agenda"])

ActivityId = Annotated[
    str, Path(min_length=1, max_length=100, description="the activity's id, e.g. datadelen-voor-logistiek")
]
StepSeq = Annotated[int, Path(ge=1, le=100, description="the step's position in the activity's step plan (1, 2, ...)")]
OnDay = Annotated[date | None, Query(description="the local day to show the state of (YYYY-MM-DD); default today")]


def _on(on: date | None, field: str = "on") -> date:
    return check_day(on, field) if on is not None else local_day(now_utc())


# --------------------------------------------------------------------------- wire schemas


class StepStatusIn(BaseModel):
    """Set a step's status from a day on."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["not_started", "in_progress", "done", "delayed"]
    as_of: date = Field(description="the local day the status applies from (not in the future)")
    note: str = Field("", max_length=2000, description="why; required for delayed")
    expected_changes: int | None = Field(
        None, ge=0, le=100_000, description="the step's 'changes' as read: refuse (409) when it changed meanwhile"
    )


class BudgetLineIn(BaseModel):
    """Money committed or spent for an activity."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["committed", "spent"]
    amount_eur: str = Field(
        max_length=20, pattern=r"^-?\d+(\.\d{1,2})?$", description="euros, e.g. 12500 or 12500.50; negative corrects"
    )
    as_of: date
    note: str = Field(min_length=1, max_length=2000, description="what the money is for (order, invoice, decision)")


class ProgressNoteIn(BaseModel):
    """A dated note on how an activity stands."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=4000)
    as_of: date


class ReportIssueIn(BaseModel):
    """Issue the progress report for a date: the next report lists the changes after it."""

    model_config = ConfigDict(extra="forbid")

    date: dt.date = Field(description="the report date (YYYY-MM-DD)")


# --------------------------------------------------------------------------- reading


@router.get("", operation_id="getAgenda")
def get_agenda(db: DbSession, on: OnDay = None) -> dict[str, Any]:
    """The agenda by theme: every activity with its action holders, budget and step status counts on ``on``."""
    return list_view(embedded_agenda(), service.load_progress(db), _on(on))


@router.get("/activities/{activity_id}", operation_id="getAgendaActivity")
def get_activity(activity_id: ActivityId, db: DbSession, register: CurrentRegister, on: OnDay = None) -> dict[str, Any]:
    """One activity: the sheet as written, parties, steps with status, money, the platform's figures, events."""
    agenda = embedded_agenda()
    activity = agenda.activity(activity_id)
    day = _on(on)
    metrics = service.figures(agenda, day, register.zones, db, list(activity.metrics))
    return activity_view(agenda, service.load_progress(db), activity_id, day, metrics)


@router.get("/roadmap", operation_id="getAgendaRoadmap")
def get_roadmap(db: DbSession, on: OnDay = None) -> dict[str, Any]:
    """Activities × years 2023–2026: the steps planned per year with their status on ``on``."""
    return roadmap_view(embedded_agenda(), service.load_progress(db), _on(on))


@router.get("/organisations", operation_id="listAgendaOrganisations")
def list_organisations() -> dict[str, Any]:
    """Every organisation the agenda names (provinces, Vervoerregio, municipalities with CBS codes, ...)."""
    return organisations_view(embedded_agenda())


@router.get("/organisations/{key}", operation_id="getAgendaOrganisation")
def get_organisation(
    key: Annotated[str, Path(min_length=2, max_length=100, description="organisation id or CBS code (GM0363)")],
    db: DbSession,
    register: CurrentRegister,
    on: OnDay = None,
) -> dict[str, Any]:
    """What an organisation does in the agenda ("what is my municipality action holder for?"), directly and
    through the groups it belongs to (all municipalities, ZE-zone municipalities from the register, ...)."""
    agenda = embedded_agenda()
    org = resolve_organisation(agenda, key, region_municipalities())
    return organisation_view(agenda, service.load_progress(db), org, _on(on), service.memberships(register.zones))


@router.get("/dashboard", operation_id="getAgendaDashboard")
def get_dashboard(db: DbSession, register: CurrentRegister, on: OnDay = None) -> dict[str, Any]:
    """The steering group's dashboard: status per theme, overdue steps, money, the platform's figures, changes."""
    agenda = embedded_agenda()
    day = _on(on)
    view = dashboard_view(agenda, service.load_progress(db), day, service.figures(agenda, day, register.zones, db))
    reports = service.issued_reports(db)
    view["last_report"] = reports[-1].to_data() if reports else None
    return view


@router.get("/history", operation_id="listAgendaEdits")
def get_history(
    db: DbSession,
    principal: CurrentPrincipal,
    activity: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> dict[str, Any]:
    """The history of every edit (who, when, before and after), newest first. Needs an account."""
    if principal.anonymous:
        raise AuthError("the edit history names who edited: log in or send a bearer token", field="authorization")
    if activity is not None:
        embedded_agenda().activity(activity)
    items = service.history(db, activity_id=activity, limit=limit, before_id=before_id)
    return {"items": [e.to_data() for e in items], "next_before_id": items[-1].id if len(items) == limit else None}


# --------------------------------------------------------------------------- editing (regional administrator)


@router.post("/activities/{activity_id}/steps/{step}/status", operation_id="setAgendaStepStatus", status_code=201)
def post_step_status(
    activity_id: ActivityId, step: StepSeq, body: StepStatusIn, db: DbSession, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Record a step's status from ``as_of`` on (regional administrator only)."""
    return service.set_step_status(
        db,
        embedded_agenda(),
        principal,
        activity_id=activity_id,
        step_seq=step,
        status=body.status,
        as_of=body.as_of,
        note=body.note,
        now=now_utc(),
        expected_changes=body.expected_changes,
    )


@router.post("/activities/{activity_id}/budget", operation_id="addAgendaBudgetLine", status_code=201)
def post_budget_line(
    activity_id: ActivityId, body: BudgetLineIn, db: DbSession, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Record money committed or spent for an activity (regional administrator only)."""
    return service.add_budget_line(
        db,
        embedded_agenda(),
        principal,
        activity_id=activity_id,
        kind=body.kind,
        amount_eur=body.amount_eur,
        as_of=body.as_of,
        note=body.note,
        now=now_utc(),
    )


@router.post("/activities/{activity_id}/notes", operation_id="addAgendaProgressNote", status_code=201)
def post_progress_note(
    activity_id: ActivityId, body: ProgressNoteIn, db: DbSession, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Record a dated note on how an activity stands (regional administrator only)."""
    return service.add_progress_note(
        db, embedded_agenda(), principal, activity_id=activity_id, text=body.text, as_of=body.as_of, now=now_utc()
    )


# --------------------------------------------------------------------------- the progress report


def _report(db: DbSession, register: CurrentRegister, day: date, since: date | None) -> dict[str, Any]:
    agenda = embedded_agenda()
    start = since if since is not None else service.previous_report_date(agenda, service.issued_reports(db), day)
    return report_data(
        agenda,
        service.load_progress(db),
        report_date=day,
        since=start,
        metrics=service.figures(agenda, day, register.zones, db),
    )


@router.get("/report", operation_id="getAgendaReport")
def get_report(
    db: DbSession,
    register: CurrentRegister,
    date_: Annotated[
        date | None, Query(alias="date", description="the report date (YYYY-MM-DD); default today")
    ] = None,
    since: Annotated[
        date | None, Query(description="list changes after this day; default: the previous report")
    ] = None,
    format_: Annotated[Literal["html", "pdf", "json"], Query(alias="format")] = "html",
) -> Response:
    """The progress report for the steering group and the provincial states (Dutch), as HTML, PDF or JSON."""
    day = _on(date_, "date")
    data = _report(db, register, day, check_day(since, "since") if since is not None else None)
    name = f"ruas-voortgang-{day.isoformat()}"
    if format_ == "json":
        return Response(json.dumps(data, ensure_ascii=False), media_type="application/json")
    html = render_html(data)
    if format_ == "pdf":
        return Response(
            render_pdf(html),
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'},
        )
    return Response(html, media_type="text/html; charset=utf-8")


@router.get("/reports", operation_id="listAgendaReports")
def list_reports(db: DbSession) -> dict[str, Any]:
    """The reports issued so far, oldest first."""
    return {"items": [r.to_data() for r in service.issued_reports(db)]}


@router.post("/reports", operation_id="issueAgendaReport", status_code=201)
def issue_report(
    body: ReportIssueIn, db: DbSession, register: CurrentRegister, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Issue the report for a date (regional administrator only): records its date and the SHA-256 of its HTML, so
    the next report lists the changes after it."""
    service.require_editor(principal)
    if not embedded_agenda().source_date <= body.date <= local_day(now_utc()):
        raise InvalidInput("the report date must be from the agenda's date up to today", field="date")
    data = _report(db, register, body.date, None)
    html = render_html(data)
    issued = service.record_issued_report(
        db,
        principal,
        report_date=body.date,
        since=date.fromisoformat(data["since"]),
        title=report_title(body.date),
        sha256=digest(html),
        now=now_utc(),
    )
    return issued.to_data()
