"""The agenda's views as plain data (JSON-ready dicts): list, activity, roadmap, organisation, dashboard.

Pure functions of the agenda, the progress events, the day asked about and the metric results, so the API, the
CLI, the report and the portal's pages all show the same thing. Money is given in euros as strings with two
decimals (``"1250.00"``), dates as ISO strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from ruas.agenda.metrics import MetricResult
from ruas.agenda.model import Activity, Agenda, Membership, Organisation, Role, StepStatus
from ruas.agenda.progress import (
    BudgetState,
    Progress,
    StepState,
    budget_state,
    latest_note,
    roadmap,
    status_counts,
    step_states,
)
from ruas.domain.errors import InvalidInput

PLANNED_STATUSES = tuple(s.value for s in StepStatus)
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2199, 12, 31)


def check_day(day: date, field: str = "on") -> date:
    """A day the agenda's views accept: 2000-01-01 up to 2199-12-31 (the programme runs 2023–2026)."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidInput(
            f"{field} {day.isoformat()} is outside {FIRST_DAY.isoformat()}..{LAST_DAY.isoformat()}",
            field=field,
            value=day.isoformat(),
        )
    return day


def euros(value: Decimal | int | None) -> str | None:
    """Euros as a string with two decimals (``None`` stays ``None``)."""
    if value is None:
        return None
    return f"{Decimal(value).quantize(Decimal('0.01'))}"


def organisation_data(org: Organisation) -> dict[str, Any]:
    """An organisation's JSON form."""
    return {
        "id": org.id,
        "name": org.name,
        "kind": org.kind,
        "cbs_code": org.cbs_code,
        "province_code": org.province_code,
        "membership": org.membership.value if org.is_group else None,
        "part_of": org.part_of,
        "contact_municipality": org.contact_municipality,
        "as_written": list(org.as_written),
        "note": org.note or None,
    }


def _names(agenda: Agenda, ids: Iterable[str]) -> list[dict[str, Any]]:
    return [{"id": i, "name": agenda.organisation(i).name} for i in ids]


def step_data(state: StepState) -> dict[str, Any]:
    """A step with its state."""
    s = state.step
    return {
        "id": s.id,
        "seq": s.seq,
        "label": s.label,
        "text": s.text,
        "years": list(s.years),
        "status": state.status.value,
        "status_nl": state.status.label_nl,
        "since": state.as_of.isoformat() if state.as_of else None,
        "note": state.note or None,
        "overdue": state.overdue,
        "changes": state.changes,
        "source_note": s.note or None,
    }


def budget_data(b: BudgetState) -> dict[str, Any]:
    """An activity's budget: as written, and committed/spent so far."""
    return {
        "as_written": b.planned_as_written,
        "planned_eur": b.planned_eur,
        "to_be_determined": b.to_be_determined,
        "committed_eur": euros(b.committed_eur),
        "spent_eur": euros(b.spent_eur),
        "spent_over_committed": b.spent_over_committed,
    }


def activity_summary(
    agenda: Agenda, activity: Activity, states: Mapping[str, StepState], progress: Progress, on: date
) -> dict[str, Any]:
    """An activity in a list: name, theme, action holders, budget, step status counts."""
    mine = [states[s.id] for s in activity.steps]
    return {
        "id": activity.id,
        "name": activity.name,
        "theme": activity.theme,
        "kind": activity.kind,
        "action_holders": _names(agenda, activity.action_holders),
        "budget": budget_data(budget_state(activity, progress.budget_lines, on)),
        "steps": status_counts(mine),
        "years": list(activity.years),
    }


def list_view(agenda: Agenda, progress: Progress, on: date) -> dict[str, Any]:
    """The agenda by theme (programme management first), each activity summarised, on ``on``."""
    states = step_states(agenda, progress, on)
    groups: list[dict[str, Any]] = [
        {
            "id": None,
            "name": "Programmamanagement",
            "activities": [activity_summary(agenda, a, states, progress, on) for a in agenda.activities_of(None)],
        }
    ]
    for theme in agenda.themes:
        groups.append(
            {
                "id": theme.id,
                "name": theme.name,
                "activities": [
                    activity_summary(agenda, a, states, progress, on) for a in agenda.activities_of(theme.id)
                ],
            }
        )
    return {
        "on": on.isoformat(),
        "title": agenda.title,
        "source_date": agenda.source_date.isoformat(),
        "themes": groups,
        "steps": status_counts(states.values()),
    }


def _event_data(progress: Progress) -> list[dict[str, Any]]:
    """Progress events in the order they take effect, as one list."""
    events: list[tuple[tuple[date, int, int], dict[str, Any]]] = []
    for c in progress.changes:
        events.append(
            (
                (c.as_of, 0, c.seq),
                {
                    "kind": "status",
                    "activity_id": c.activity_id,
                    "step_id": c.step_id,
                    "as_of": c.as_of.isoformat(),
                    "status": c.status.value,
                    "status_nl": c.status.label_nl,
                    "note": c.note or None,
                    "actor": c.actor,
                },
            )
        )
    for b in progress.budget_lines:
        events.append(
            (
                (b.as_of, 1, b.seq),
                {
                    "kind": "budget",
                    "activity_id": b.activity_id,
                    "as_of": b.as_of.isoformat(),
                    "budget_kind": b.kind.value,
                    "budget_kind_nl": b.kind.label_nl,
                    "amount_eur": euros(b.amount_eur),
                    "note": b.note or None,
                    "actor": b.actor,
                },
            )
        )
    for n in progress.notes:
        events.append(
            (
                (n.as_of, 2, n.seq),
                {
                    "kind": "note",
                    "activity_id": n.activity_id,
                    "as_of": n.as_of.isoformat(),
                    "text": n.text,
                    "actor": n.actor,
                },
            )
        )
    return [e for _, e in sorted(events, key=lambda kv: kv[0])]


def activity_view(
    agenda: Agenda,
    progress: Progress,
    activity_id: str,
    on: date,
    metrics: Mapping[str, MetricResult],
) -> dict[str, Any]:
    """Everything about one activity on ``on``: the sheet as written, steps with status, money, figures, events."""
    activity = agenda.activity(activity_id)
    mine = progress.for_activity(activity.id)
    states = step_states(agenda, mine, on)
    note = latest_note(mine.notes, activity.id, on)
    theme = agenda.theme(activity.theme) if activity.theme else None
    return {
        "on": on.isoformat(),
        "id": activity.id,
        "name": activity.name,
        "kind": activity.kind,
        "theme": {"id": theme.id, "name": theme.name} if theme else None,
        "names_as_written": dict(activity.names_as_written),
        "sheet": {
            "description": activity.description,
            "goals": activity.goals,
            "segments": activity.segments,
            "effects": activity.effects,
            "current_situation": activity.current_situation,
            "capacity": activity.capacity,
            "subsidies": activity.subsidies,
            "roles": [{"label": r.label, "text": r.text} for r in activity.roles],
        },
        "summary_5_5": dict(activity.summary_5_5) if activity.summary_5_5 else None,
        "summary_bijlage_3": dict(activity.summary_bijlage_3) if activity.summary_bijlage_3 else None,
        "parties": {role.value: _names(agenda, _ids_of(activity, role)) for role in Role},
        "cases": [{"label": label, "organisations": _names(agenda, orgs)} for label, orgs in activity.cases],
        "budget": budget_data(budget_state(activity, mine.budget_lines, on)) | {"sheet": activity.budget.sheet},
        "budget_group": activity.budget.group,
        "steps": [step_data(states[s.id]) for s in activity.steps],
        "step_counts": status_counts(states[s.id] for s in activity.steps),
        "latest_note": (
            {"as_of": note.as_of.isoformat(), "text": note.text, "actor": note.actor} if note is not None else None
        ),
        "metrics": [metrics[m].to_data() for m in activity.metrics if m in metrics],
        "events": _event_data(mine.between(None, on)),
        "source_notes": list(activity.notes),
    }


def _ids_of(activity: Activity, role: Role) -> tuple[str, ...]:
    return tuple(org for org, r in activity.parties() if r is role)


def roadmap_view(agenda: Agenda, progress: Progress, on: date) -> dict[str, Any]:
    """Activities × years 2023–2026: per activity and year the steps planned then, with their status on ``on``."""
    states = step_states(agenda, progress, on)
    rows = []
    for row in roadmap(agenda, states):
        a = row.activity
        rows.append(
            {
                "id": a.id,
                "name": a.name,
                "theme": a.theme,
                "action_holders": _names(agenda, a.action_holders),
                "budget_as_written": a.budget.as_written,
                "years": {
                    str(cell.year): [
                        {"id": st.step.id, "label": st.step.label, "text": st.step.text, "status": st.status.value}
                        | {"overdue": st.overdue}
                        for st in cell.steps
                    ]
                    for cell in row.cells
                },
                "undated": [
                    {"id": st.step.id, "label": st.step.label, "text": st.step.text, "status": st.status.value}
                    for st in row.undated
                ],
            }
        )
    return {
        "on": on.isoformat(),
        "years": list(agenda.years),
        "themes": [{"id": t.id, "name": t.name} for t in agenda.themes],
        "rows": rows,
        "note": agenda.planning_note,
    }


# --------------------------------------------------------------------------- per organisation


@dataclass(frozen=True, slots=True)
class Memberships:
    """Which municipalities belong to the groups the platform can compute (from the register)."""

    region: Mapping[str, str]  # CBS code -> name, the region's municipalities
    zero_emission: frozenset[str]  # CBS codes with a ZE-zone in the register
    time_window: frozenset[str]  # CBS codes with a time-window area in the register

    def basis(self, group: Organisation, code: str) -> str | None:
        """Why municipality ``code`` belongs to ``group`` (Dutch), or ``None`` when it does not (or nobody knows)."""
        if group.membership is Membership.ALL_MUNICIPALITIES and code in self.region:
            return "alle gemeenten in Noord-Holland en Flevoland"
        if group.membership is Membership.REGISTER_ZERO_EMISSION and code in self.zero_emission:
            return "de gemeente heeft een ZE-zone in het register van het platform"
        if group.membership is Membership.REGISTER_TIME_WINDOW and code in self.time_window:
            return "de gemeente heeft venstertijden in het register van het platform"
        return None


def resolve_organisation(agenda: Agenda, key: str, region: Mapping[str, str]) -> Organisation:
    """An organisation by id or CBS code; a municipality of the region the agenda does not name gets a record too."""
    code = key.strip().upper()
    if not agenda.has_organisation(key) and code in region:
        named = next((o for o in agenda.organisations if o.cbs_code == code), None)
        if named is not None:
            return named
        return Organisation(
            id=f"gemeente-{code.lower()}", name=f"Gemeente {region[code]}", kind="municipality", cbs_code=code
        )
    return agenda.organisation(key)


def organisation_view(
    agenda: Agenda, progress: Progress, org: Organisation, on: date, memberships: Memberships
) -> dict[str, Any]:
    """What an organisation does in the agenda: its roles per activity, directly and through groups."""
    states = step_states(agenda, progress, on)
    direct: dict[str, list[dict[str, Any]]] = {role.value: [] for role in Role}
    via: list[dict[str, Any]] = []
    groups = [g for g in agenda.organisations if g.is_group]
    for a in agenda.activities:
        summary = activity_summary(agenda, a, states, progress, on)
        for party, role in a.parties():
            if party == org.id:
                direct[role.value].append(summary)
            elif org.cbs_code is not None and party in {g.id for g in groups}:
                basis = memberships.basis(agenda.organisation(party), org.cbs_code)
                if basis is not None:
                    via.append(
                        {
                            "group": {"id": party, "name": agenda.organisation(party).name},
                            "basis": basis,
                            "role": role.value,
                            "activity": summary,
                        }
                    )
            elif agenda.has_organisation(party) and agenda.organisation(party).contact_municipality == org.id:
                via.append(
                    {
                        "group": {"id": party, "name": agenda.organisation(party).name},
                        "basis": f"de agenda noemt {org.name} bij {agenda.organisation(party).name}",
                        "role": role.value,
                        "activity": summary,
                    }
                )
    seat = next((m for m in agenda.governance.steering_group if m.organisation == org.id), None)
    return {
        "on": on.isoformat(),
        "organisation": organisation_data(org),
        "named_in_agenda": agenda.has_organisation(org.id),
        "roles": direct,
        "via_groups": via,
        "steering_group": {"role": seat.role, "note": seat.note or None} if seat else None,
        "final_responsibility": agenda.governance.final_responsibility == org.id,
        "network_meeting": org.id in agenda.governance.network_invitees
        or any(
            memberships.basis(agenda.organisation(g), org.cbs_code or "") for g in agenda.governance.network_invitees
        ),
    }


def organisations_view(agenda: Agenda) -> dict[str, Any]:
    """Every organisation the agenda names, with the number of activities per role."""
    counts: dict[str, dict[str, int]] = {o.id: {r.value: 0 for r in Role} for o in agenda.organisations}
    for a in agenda.activities:
        for party, role in a.parties():
            counts[party][role.value] += 1
    return {
        "organisations": [organisation_data(o) | {"activities": counts[o.id]} for o in agenda.organisations],
    }


# --------------------------------------------------------------------------- steering-group dashboard


def dashboard_view(
    agenda: Agenda,
    progress: Progress,
    on: date,
    metrics: Mapping[str, MetricResult],
    *,
    recent: int = 10,
) -> dict[str, Any]:
    """The steering group's overview on ``on``: status per theme, overdue steps, money, figures, recent changes."""
    states = step_states(agenda, progress, on)
    themes = []
    total_planned = 0
    tbd = 0
    committed = Decimal(0)
    spent = Decimal(0)
    for theme_id, name in [(None, "Programmamanagement"), *((t.id, t.name) for t in agenda.themes)]:
        acts = agenda.activities_of(theme_id)
        budgets = [budget_state(a, progress.budget_lines, on) for a in acts]
        planned = sum(b.planned_eur or 0 for b in budgets)
        total_planned += planned
        tbd += sum(b.to_be_determined for b in budgets)
        c = sum((b.committed_eur for b in budgets), Decimal(0))
        s = sum((b.spent_eur for b in budgets), Decimal(0))
        committed += c
        spent += s
        themes.append(
            {
                "id": theme_id,
                "name": name,
                "activities": len(acts),
                "steps": status_counts(states[st.id] for a in acts for st in a.steps),
                "budget": {
                    "planned_eur": planned,
                    "to_be_determined": sum(b.to_be_determined for b in budgets),
                    "committed_eur": euros(c),
                    "spent_eur": euros(s),
                },
            }
        )
    overdue = [
        step_data(st) | {"activity": {"id": st.step.activity_id, "name": agenda.activity(st.step.activity_id).name}}
        for st in states.values()
        if st.overdue
    ]
    this_year = [
        step_data(st) | {"activity": {"id": st.step.activity_id, "name": agenda.activity(st.step.activity_id).name}}
        for st in states.values()
        if on.year in st.step.years and st.status is not StepStatus.DONE
    ]
    linked = sorted({m for a in agenda.activities for m in a.metrics})
    return {
        "on": on.isoformat(),
        "title": agenda.title,
        "steering_group": {
            "name": agenda.governance.steering_group_name,
            "members": [
                {"organisation": _names(agenda, [m.organisation])[0], "role": m.role, "note": m.note or None}
                for m in agenda.governance.steering_group
            ],
            "meets": agenda.governance.meets,
            "reports_to": agenda.governance.reports_to,
        },
        "steps": status_counts(states.values()),
        "themes": themes,
        "budget": {
            "planned_minimum_eur": total_planned,
            "to_be_determined": tbd,
            "committed_eur": euros(committed),
            "spent_eur": euros(spent),
            "totals_as_written": [
                {"group": t.group, "title": t.title, "as_written": t.as_written, "minimum_eur": t.minimum_eur}
                for t in agenda.budget_totals
            ],
            "caveat": agenda.budget_caveat,
        },
        "overdue": overdue,
        "open_this_year": this_year,
        "metrics": [metrics[m].to_data() for m in linked if m in metrics],
        "recent_changes": _event_data(progress.between(None, on))[-recent:][::-1] if recent else [],
    }


def events_in(progress: Progress, since: date | None, until: date) -> list[dict[str, Any]]:
    """The progress events that take effect in ``(since, until]``, in order."""
    return _event_data(progress.between(since, until))


def ordered_activities(agenda: Agenda) -> Sequence[tuple[str | None, str, tuple[Activity, ...]]]:
    """(theme id, theme name, activities): programme management first, then the four themes."""
    return [
        (None, "Programmamanagement", agenda.activities_of(None)),
        *((t.id, t.name, agenda.activities_of(t.id)) for t in agenda.themes),
    ]
