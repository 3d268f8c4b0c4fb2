"""Use cases of the agenda: read progress from the database, record edits (regional administrator only, with
history), compute the platform's figures and build the views.

The agenda itself is the package's data (:func:`~ruas.agenda.loader.embedded_agenda`); the database holds the
events (status changes, budget lines, progress notes), the edit history and the issued reports. Every write checks
its input completely before it adds anything, in the caller's transaction, so a refused edit leaves nothing behind.
The caller passes ``now``; nothing here reads the clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ruas.agenda.loader import region_municipalities
from ruas.agenda.metrics import MetricContext, MetricResult, compute
from ruas.agenda.model import Agenda, StepStatus
from ruas.agenda.progress import (
    BudgetKind,
    BudgetLine,
    Progress,
    ProgressNote,
    StatusChange,
    budget_state,
    latest_note,
    step_states,
)
from ruas.agenda.views import Memberships, euros
from ruas.domain.errors import Conflict, InvalidInput
from ruas.domain.regulation import Zone, ZoneKind
from ruas.domain.timeutil import local_day
from ruas.services.accounts import Principal
from ruas.store.models import AgendaBudgetLine, AgendaEdit, AgendaProgressNote, AgendaReport, AgendaStepStatus

EDITOR_ROLE = "admin"
"""The role that edits the agenda's progress: the regional administrator (``admin`` in ``services.accounts``)."""

MAX_NOTE = 2000
MAX_TEXT = 4000
MAX_AMOUNT_EUR = Decimal("10000000")
"""The largest single budget line (ten million euros); amounts are stored as cents."""


def require_editor(principal: Principal) -> None:
    """Only the regional administrator edits the agenda's progress (401 anonymous, 403 any other role)."""
    principal.require(EDITOR_ROLE)


# --------------------------------------------------------------------------- reading


def load_progress(session: Session) -> Progress:
    """Every progress event in the database."""
    changes = tuple(
        StatusChange(
            seq=r.id,
            activity_id=r.activity_id,
            step_seq=r.step_seq,
            status=StepStatus(r.status),
            as_of=r.as_of,
            note=r.note,
            actor=r.recorded_by,
            recorded_at=r.recorded_at,
        )
        for r in session.scalars(select(AgendaStepStatus).order_by(AgendaStepStatus.id))
    )
    lines = tuple(
        BudgetLine(
            seq=r.id,
            activity_id=r.activity_id,
            kind=BudgetKind(r.kind),
            amount_cents=r.amount_cents,
            as_of=r.as_of,
            note=r.note,
            actor=r.recorded_by,
            recorded_at=r.recorded_at,
        )
        for r in session.scalars(select(AgendaBudgetLine).order_by(AgendaBudgetLine.id))
    )
    notes = tuple(
        ProgressNote(
            seq=r.id,
            activity_id=r.activity_id,
            as_of=r.as_of,
            text=r.text,
            actor=r.recorded_by,
            recorded_at=r.recorded_at,
        )
        for r in session.scalars(select(AgendaProgressNote).order_by(AgendaProgressNote.id))
    )
    return Progress(changes, lines, notes)


def memberships(zones: Sequence[Zone] | None) -> Memberships:
    """Which region municipalities have a ZE-zone or time-window area in the register."""
    region = region_municipalities()
    zones = zones or ()
    return Memberships(
        region=region,
        zero_emission=frozenset(z.authority for z in zones if z.kind is ZoneKind.ZERO_EMISSION),
        time_window=frozenset(z.authority for z in zones if z.kind is ZoneKind.TIME_WINDOW),
    )


def figures(
    agenda: Agenda,
    on: date,
    zones: Sequence[Zone] | None,
    session: Session | None,
    metric_ids: Sequence[str] | None = None,
) -> dict[str, MetricResult]:
    """The platform's figures on ``on`` for every metric the agenda links (or just ``metric_ids``)."""
    ids = metric_ids if metric_ids is not None else sorted({m for a in agenda.activities for m in a.metrics})
    ctx = MetricContext(on=on, zones=zones, municipalities=region_municipalities(), session=session)
    return {m: compute(m, ctx) for m in ids}


@dataclass(frozen=True, slots=True)
class EditRecord:
    """One entry of the edit history."""

    id: int
    at: datetime
    actor: str
    action: str
    activity_id: str
    entity_id: str
    before: Mapping[str, Any] | None
    after: Mapping[str, Any]

    def to_data(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "activity_id": self.activity_id,
            "entity_id": self.entity_id,
            "before": dict(self.before) if self.before is not None else None,
            "after": dict(self.after),
        }


def history(
    session: Session, *, activity_id: str | None = None, limit: int = 100, before_id: int | None = None
) -> list[EditRecord]:
    """The edit history, newest first (``before_id``: the page after the entry with that id)."""
    if not 1 <= limit <= 1000:
        raise InvalidInput("limit must be between 1 and 1000", field="limit", value=limit)
    q = select(AgendaEdit).order_by(AgendaEdit.id.desc()).limit(limit)
    if activity_id is not None:
        q = q.where(AgendaEdit.activity_id == activity_id)
    if before_id is not None:
        q = q.where(AgendaEdit.id < before_id)
    return [
        EditRecord(r.id, r.at, r.actor, r.action, r.activity_id, r.entity_id, r.before, r.after)
        for r in session.scalars(q)
    ]


# --------------------------------------------------------------------------- writing


def _check_day(agenda: Agenda, as_of: date, now: datetime) -> date:
    today = local_day(now)
    first = date(agenda.first_year, 1, 1)
    if as_of < first or as_of > today:
        raise InvalidInput(
            f"as_of {as_of.isoformat()} must be a day from {first.isoformat()} up to today ({today.isoformat()})",
            field="as_of",
            value=as_of.isoformat(),
        )
    return as_of


def _text(value: str, field: str, *, required: bool, limit: int) -> str:
    text = value.strip()
    if required and not text:
        raise InvalidInput(f"{field} is required", field=field)
    if len(text) > limit:
        raise InvalidInput(f"{field} is longer than {limit} characters", field=field)
    return text


def _edit(
    session: Session,
    *,
    principal: Principal,
    now: datetime,
    action: str,
    activity_id: str,
    entity_id: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any],
) -> None:
    session.add(
        AgendaEdit(
            at=now,
            actor=principal.username,
            action=action,
            activity_id=activity_id,
            entity_id=entity_id,
            before=dict(before) if before is not None else None,
            after=dict(after),
        )
    )


def set_step_status(
    session: Session,
    agenda: Agenda,
    principal: Principal,
    *,
    activity_id: str,
    step_seq: int,
    status: str,
    as_of: date,
    note: str = "",
    now: datetime,
    expected_changes: int | None = None,
) -> dict[str, Any]:
    """Record a step's status from ``as_of`` on; returns the change and the history entry's before/after.

    ``delayed`` needs a note saying why. ``expected_changes`` (from a read's ``changes``) refuses the write with
    :class:`Conflict` when someone else changed the step meanwhile.
    """
    require_editor(principal)
    activity = agenda.activity(activity_id)
    step = activity.step(step_seq)
    try:
        new_status = StepStatus(status)
    except ValueError:
        raise InvalidInput(
            f"status {status!r} is not one of {', '.join(s.value for s in StepStatus)}", field="status", value=status
        ) from None
    _check_day(agenda, as_of, now)
    text = _text(note, "note", required=new_status is StepStatus.DELAYED, limit=MAX_NOTE)
    progress = load_progress(session).for_activity(activity.id)
    before = step_states(agenda, progress, as_of)[step.id]
    if expected_changes is not None and expected_changes != before.changes:
        raise Conflict(
            f"step {step.id} changed since it was read ({before.changes} changes, expected {expected_changes}): "
            "read it again",
            field="expected_changes",
        )
    if before.status is new_status and before.note == text:
        raise InvalidInput(
            f"step {step.id} already has status {new_status.value!r} on {as_of.isoformat()} with this note",
            field="status",
        )
    row = AgendaStepStatus(
        activity_id=activity.id,
        step_seq=step.seq,
        status=new_status.value,
        as_of=as_of,
        note=text,
        recorded_by=principal.username,
        recorded_at=now,
    )
    session.add(row)
    before_data = {
        "status": before.status.value,
        "since": before.as_of.isoformat() if before.as_of else None,
        "note": before.note or None,
    }
    after_data = {"status": new_status.value, "since": as_of.isoformat(), "note": text or None}
    _edit(
        session,
        principal=principal,
        now=now,
        action="step_status",
        activity_id=activity.id,
        entity_id=step.id,
        before=before_data,
        after=after_data,
    )
    session.flush()
    return {"step_id": step.id, "before": before_data, "after": after_data, "change_id": row.id}


def parse_amount(value: str | int | float | Decimal, field: str = "amount_eur") -> Decimal:
    """A euro amount with at most two decimals, not zero, at most ten million either way."""
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidInput(f"{field} {value!r} is not a number of euros", field=field) from None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise InvalidInput(f"{field} {value!r}: euros with at most two decimals", field=field)
    if amount == 0 or abs(amount) > MAX_AMOUNT_EUR:
        raise InvalidInput(f"{field} must be non-zero and at most {MAX_AMOUNT_EUR} euros either way", field=field)
    return amount


def add_budget_line(
    session: Session,
    agenda: Agenda,
    principal: Principal,
    *,
    activity_id: str,
    kind: str,
    amount_eur: str | int | float | Decimal,
    as_of: date,
    note: str,
    now: datetime,
) -> dict[str, Any]:
    """Record money committed or spent (a negative amount corrects an earlier line); returns the new totals.

    Refused when it would make the activity's committed or spent total negative on any day.
    """
    require_editor(principal)
    activity = agenda.activity(activity_id)
    try:
        budget_kind = BudgetKind(kind)
    except ValueError:
        raise InvalidInput(f"kind {kind!r}: committed or spent", field="kind", value=kind) from None
    amount = parse_amount(amount_eur)
    _check_day(agenda, as_of, now)
    text = _text(note, "note", required=True, limit=MAX_NOTE)
    progress = load_progress(session).for_activity(activity.id)
    cents = int(amount * 100)
    candidate = BudgetLine(0, activity.id, budget_kind, cents, as_of, text, principal.username, now)
    lines = (*progress.budget_lines, candidate)
    for day in sorted({ln.as_of for ln in lines}):
        state = budget_state(activity, lines, day)
        total = state.committed_eur if budget_kind is BudgetKind.COMMITTED else state.spent_eur
        if total < 0:
            raise InvalidInput(
                f"this line would make the {budget_kind.label_nl} total of {activity.id} negative on {day.isoformat()}",
                field="amount_eur",
            )
    far = date(agenda.last_year + 100, 12, 31)
    before = budget_state(activity, progress.budget_lines, far)
    after = budget_state(activity, lines, far)
    row = AgendaBudgetLine(
        activity_id=activity.id,
        kind=budget_kind.value,
        amount_cents=cents,
        as_of=as_of,
        note=text,
        recorded_by=principal.username,
        recorded_at=now,
    )
    session.add(row)
    after_data = {
        "kind": budget_kind.value,
        "amount_eur": euros(amount),
        "as_of": as_of.isoformat(),
        "note": text,
        "committed_eur": euros(after.committed_eur),
        "spent_eur": euros(after.spent_eur),
    }
    before_data = {"committed_eur": euros(before.committed_eur), "spent_eur": euros(before.spent_eur)}
    _edit(
        session,
        principal=principal,
        now=now,
        action="budget_line",
        activity_id=activity.id,
        entity_id=f"{activity.id}/budget",
        before=before_data,
        after=after_data,
    )
    session.flush()
    return {"line_id": row.id, "before": before_data, "after": after_data}


def add_progress_note(
    session: Session,
    agenda: Agenda,
    principal: Principal,
    *,
    activity_id: str,
    text: str,
    as_of: date,
    now: datetime,
) -> dict[str, Any]:
    """Record a dated note on how an activity stands."""
    require_editor(principal)
    activity = agenda.activity(activity_id)
    body = _text(text, "text", required=True, limit=MAX_TEXT)
    _check_day(agenda, as_of, now)
    previous = latest_note(load_progress(session).for_activity(activity.id).notes, activity.id, as_of)
    row = AgendaProgressNote(
        activity_id=activity.id, as_of=as_of, text=body, recorded_by=principal.username, recorded_at=now
    )
    session.add(row)
    before = {"as_of": previous.as_of.isoformat(), "text": previous.text} if previous else None
    after = {"as_of": as_of.isoformat(), "text": body}
    _edit(
        session,
        principal=principal,
        now=now,
        action="progress_note",
        activity_id=activity.id,
        entity_id=f"{activity.id}/note",
        before=before,
        after=after,
    )
    session.flush()
    return {"note_id": row.id, "before": before, "after": after}


# --------------------------------------------------------------------------- reports issued


@dataclass(frozen=True, slots=True)
class IssuedReport:
    """A report issued to the steering group."""

    report_date: date
    since_date: date
    title: str
    sha256: str
    issued_by: str
    issued_at: datetime

    def to_data(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "report_date": self.report_date.isoformat(),
            "since": self.since_date.isoformat(),
            "title": self.title,
            "sha256": self.sha256,
            "issued_by": self.issued_by,
            "issued_at": self.issued_at.isoformat(),
        }


def issued_reports(session: Session) -> list[IssuedReport]:
    """Every issued report, oldest first."""
    return [
        IssuedReport(r.report_date, r.since_date, r.title, r.sha256, r.issued_by, r.issued_at)
        for r in session.scalars(select(AgendaReport).order_by(AgendaReport.report_date))
    ]


def previous_report_date(agenda: Agenda, reports: Sequence[IssuedReport], report_date: date) -> date:
    """The day the report before ``report_date`` covered up to; the agenda's own date when there was none."""
    earlier = [r.report_date for r in reports if r.report_date < report_date]
    return max(earlier) if earlier else agenda.source_date


def record_issued_report(
    session: Session,
    principal: Principal,
    *,
    report_date: date,
    since: date,
    title: str,
    sha256: str,
    now: datetime,
) -> IssuedReport:
    """Record that the report for ``report_date`` was issued (one per date; the next report starts from it)."""
    require_editor(principal)
    if report_date > local_day(now):
        raise InvalidInput("a report cannot be issued for a day in the future", field="date")
    if session.scalar(select(AgendaReport.id).where(AgendaReport.report_date == report_date)) is not None:
        raise Conflict(f"a report for {report_date.isoformat()} was already issued", field="date")
    row = AgendaReport(
        report_date=report_date,
        since_date=since,
        title=title,
        sha256=sha256,
        issued_by=principal.username,
        issued_at=now,
    )
    session.add(row)
    _edit(
        session,
        principal=principal,
        now=now,
        action="report_issued",
        activity_id="",
        entity_id=f"report/{report_date.isoformat()}",
        before=None,
        after={"report_date": report_date.isoformat(), "since": since.isoformat(), "sha256": sha256},
    )
    session.flush()
    return IssuedReport(report_date, since, title, sha256, principal.username, now)
