"""The annual progress report for the steering group and the provincial states (Dutch; HTML, and PDF via WeasyPrint).

:func:`report_data` is a pure function of the agenda, the progress events, the report date, the date of the
previous report and the platform's figures: per theme and per activity it gives the action holders, the steps with
their status on the report date, what changed since the previous report, the money and the figures. The same
inputs give the same bytes (no clock is read; the date is a parameter), so the HTML is checked against a golden
file. :func:`render_html` fills the Jinja2 template shipped in ``ruas/data/agenda/templates``;
:func:`render_pdf` lays that HTML out with WeasyPrint.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Any

import jinja2

from ruas.agenda.metrics import MetricResult
from ruas.agenda.model import Agenda, StepStatus, dutch_date
from ruas.agenda.progress import Progress, budget_state, latest_note, status_counts, step_states
from ruas.agenda.views import check_day, events_in, ordered_activities, step_data
from ruas.domain.errors import InvalidInput, RuasError

TEMPLATE = "data/agenda/templates/report.html.j2"
AUDIENCE = "Ambtelijke stuurgroep RUAS en Provinciale Staten van Noord-Holland en Flevoland"


def euro_nl(value: Decimal | int | None) -> str:
    """Euros the Dutch way: ``€ 1.250,00`` (``—`` for none)."""
    if value is None:
        return "—"
    text = f"{Decimal(value):,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return f"€ {text}"


def report_title(report_date: date) -> str:
    """The report's title."""
    return f"Voortgangsrapportage RUAS {report_date.year}"


def report_data(
    agenda: Agenda,
    progress: Progress,
    *,
    report_date: date,
    since: date,
    metrics: Mapping[str, MetricResult],
) -> dict[str, Any]:
    """Everything the report shows, for ``report_date``, with the changes in ``(since, report_date]``."""
    check_day(report_date, "date")
    check_day(since, "since")
    if since >= report_date:
        raise InvalidInput(
            f"the previous report ({since.isoformat()}) must be before the report date ({report_date.isoformat()})",
            field="since",
        )
    if report_date < agenda.source_date:
        raise InvalidInput(
            f"the report date must be on or after the agenda's date ({agenda.source_date.isoformat()})",
            field="date",
        )
    states = step_states(agenda, progress, report_date)
    before = step_states(agenda, progress, since)
    period = progress.between(since, report_date)
    sections = []
    for theme_id, theme_name, activities in ordered_activities(agenda):
        items = []
        for a in activities:
            mine = progress.for_activity(a.id)
            budget = budget_state(a, mine.budget_lines, report_date)
            budget_then = budget_state(a, mine.budget_lines, since)
            note = latest_note(mine.notes, a.id, report_date)
            changed_steps = [
                step_data(states[s.id]) | {"before_nl": before[s.id].status.label_nl}
                for s in a.steps
                if (states[s.id].status, states[s.id].as_of) != (before[s.id].status, before[s.id].as_of)
            ]
            items.append(
                {
                    "id": a.id,
                    "name": a.name,
                    "action_holders": [agenda.organisation(o).name for o in a.action_holders],
                    "involved": [agenda.organisation(o).name for o in a.involved],
                    "budget": {
                        "as_written": a.budget.as_written or "niet in sectie 5.6",
                        "committed": euro_nl(budget.committed_eur),
                        "spent": euro_nl(budget.spent_eur),
                        "committed_change": euro_nl(budget.committed_eur - budget_then.committed_eur),
                        "spent_change": euro_nl(budget.spent_eur - budget_then.spent_eur),
                        "spent_over_committed": budget.spent_over_committed,
                    },
                    "steps": [step_data(states[s.id]) for s in a.steps],
                    "changed_steps": changed_steps,
                    "events": [_event_nl(e) for e in events_in(mine, since, report_date)],
                    "note": {"as_of": dutch_date(note.as_of), "text": note.text} if note else None,
                    "metrics": [metrics[m].to_data() for m in a.metrics if m in metrics],
                    "unchanged": not changed_steps and period.for_activity(a.id).empty,
                }
            )
        all_steps = [states[s.id] for a in activities for s in a.steps]
        sections.append({"id": theme_id, "name": theme_name, "activities": items, "steps": status_counts(all_steps)})
    counts = status_counts(states.values())
    committed = sum(
        (budget_state(a, progress.budget_lines, report_date).committed_eur for a in agenda.activities), Decimal(0)
    )
    spent = sum((budget_state(a, progress.budget_lines, report_date).spent_eur for a in agenda.activities), Decimal(0))
    overdue = [
        {"activity": agenda.activity(st.step.activity_id).name, "step": step_data(st)}
        for st in states.values()
        if st.overdue
    ]
    return {
        "title": report_title(report_date),
        "audience": AUDIENCE,
        "report_date": report_date.isoformat(),
        "report_date_nl": dutch_date(report_date),
        "since": since.isoformat(),
        "since_nl": dutch_date(since),
        "agenda": {"title": agenda.title, "date_nl": dutch_date(agenda.source_date)},
        "summary": {
            "steps": counts,
            "steps_total": sum(counts[s.value] for s in StepStatus),
            "status_labels": {s.value: s.label_nl for s in StepStatus},
            "changes": len(period.changes),
            "budget_lines": len(period.budget_lines),
            "notes": len(period.notes),
            "planned_minimum": euro_nl(sum(t.minimum_eur for t in agenda.budget_totals)),
            "totals": [{"title": t.title, "minimum": euro_nl(t.minimum_eur)} for t in agenda.budget_totals],
            "committed": euro_nl(committed),
            "spent": euro_nl(spent),
        },
        "overdue": overdue,
        "sections": sections,
        "governance": {
            "steering_group": [
                {"name": agenda.organisation(m.organisation).name, "role": m.role}
                for m in agenda.governance.steering_group
            ],
            "reports_to": agenda.governance.reports_to,
        },
        "caveat": agenda.budget_caveat,
        "planning_note": agenda.planning_note,
    }


def _event_nl(event: Mapping[str, Any]) -> dict[str, Any]:
    """An event as one Dutch sentence (without who recorded it: the report names no officials)."""
    day = dutch_date(date.fromisoformat(str(event["as_of"])))
    if event["kind"] == "status":
        step = str(event["step_id"]).rsplit("/", 1)[1]
        text = f"Stap {step}: {event['status_nl']}"
    elif event["kind"] == "budget":
        text = f"{str(event['budget_kind_nl']).capitalize()}: {euro_nl(Decimal(str(event['amount_eur'])))}"
    else:
        text = "Stand van zaken bijgewerkt"
    detail = event.get("note") or event.get("text")
    return {"day": day, "text": text, "detail": detail}


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: resources.files("ruas").joinpath(name).read_text(encoding="utf-8")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env


def render_html(data: Mapping[str, Any]) -> str:
    """The report as a self-contained HTML document (inline CSS, print layout for A4)."""
    return _environment().get_template(TEMPLATE).render(r=data)


class PdfUnavailable(RuasError):
    """WeasyPrint (the PDF layout library) is not installed or cannot load its system libraries."""


def render_pdf(html: str) -> bytes:
    """The report HTML laid out as PDF by WeasyPrint (needs the Pango libraries of the system)."""
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: Pango/HarfBuzz missing on the system
        raise PdfUnavailable(
            f"PDF output needs WeasyPrint and the Pango libraries ({exc}); use the HTML report instead",
            field="format",
        ) from exc
    pdf: bytes = weasyprint.HTML(string=html).write_pdf()
    return pdf


def digest(content: bytes | str) -> str:
    """SHA-256 of the report (of its HTML when issued), recorded with the issued report."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    return hashlib.sha256(data).hexdigest()
