"""Progress on the agenda, computed from dated events: step status changes, budget lines and progress notes.

Every change the regional administrator records is an event with the day it takes effect (``as_of``, a local
calendar date) and the order it was recorded in (``seq``). The state on a day is the agenda's own baseline (a
step the agenda calls "loopt" is in progress from the agenda's date; every other step has not started) with the
events up to and including that day applied in ``(as_of, seq)`` order. So a view or a report for a given date is
a pure function of the events: the same date gives the same answer, whenever it is asked. No I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from ruas.agenda.model import Activity, Agenda, Step, StepStatus, dutch_date


class BudgetKind(StrEnum):
    """A budget line commits money (vastgelegd) or records money spent (besteed)."""

    COMMITTED = "committed"
    SPENT = "spent"

    @property
    def label_nl(self) -> str:
        """The Dutch label."""
        return "vastgelegd" if self is BudgetKind.COMMITTED else "besteed"


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A step's status set on ``as_of`` (local date) by ``actor``; ``seq`` orders changes on the same day."""

    seq: int
    activity_id: str
    step_seq: int
    status: StepStatus
    as_of: date
    note: str
    actor: str
    recorded_at: datetime

    @property
    def step_id(self) -> str:
        """The step's id (``<activity>/<seq>``)."""
        return f"{self.activity_id}/{self.step_seq}"


@dataclass(frozen=True, slots=True)
class BudgetLine:
    """Money committed or spent for an activity on ``as_of``; ``amount_cents`` may be negative (a correction)."""

    seq: int
    activity_id: str
    kind: BudgetKind
    amount_cents: int
    as_of: date
    note: str
    actor: str
    recorded_at: datetime

    @property
    def amount_eur(self) -> Decimal:
        """The amount in euros."""
        return Decimal(self.amount_cents) / 100


@dataclass(frozen=True, slots=True)
class ProgressNote:
    """A dated note on how an activity stands ("stand van zaken")."""

    seq: int
    activity_id: str
    as_of: date
    text: str
    actor: str
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class Progress:
    """Every progress event recorded so far."""

    changes: tuple[StatusChange, ...] = ()
    budget_lines: tuple[BudgetLine, ...] = ()
    notes: tuple[ProgressNote, ...] = ()

    def for_activity(self, activity_id: str) -> Progress:
        """Only the events of one activity."""
        return Progress(
            tuple(c for c in self.changes if c.activity_id == activity_id),
            tuple(b for b in self.budget_lines if b.activity_id == activity_id),
            tuple(n for n in self.notes if n.activity_id == activity_id),
        )

    def between(self, since: date | None, until: date) -> Progress:
        """The events that take effect after ``since`` (exclusive; ``None``: from the start) up to ``until``."""

        def inside(d: date) -> bool:
            return (since is None or d > since) and d <= until

        return Progress(
            tuple(c for c in _ordered(self.changes) if inside(c.as_of)),
            tuple(b for b in sorted(self.budget_lines, key=lambda b: (b.as_of, b.seq)) if inside(b.as_of)),
            tuple(n for n in sorted(self.notes, key=lambda n: (n.as_of, n.seq)) if inside(n.as_of)),
        )

    @property
    def empty(self) -> bool:
        """True when there are no events."""
        return not (self.changes or self.budget_lines or self.notes)


@dataclass(frozen=True, slots=True)
class StepState:
    """A step's status on a day: since when (``as_of``), why (``note``), and whether it is overdue.

    ``overdue``: the step's last planned year has ended and it is not done. ``changes`` counts every recorded change
    of the step (whatever its date): send it back as ``expected_changes`` to refuse a write based on a stale read.
    """

    step: Step
    status: StepStatus
    as_of: date | None
    note: str
    actor: str | None
    overdue: bool
    changes: int


def _ordered(changes: Iterable[StatusChange]) -> list[StatusChange]:
    return sorted(changes, key=lambda c: (c.as_of, c.seq))


def baseline(step: Step, agenda_date: date) -> tuple[StepStatus, date | None, str]:
    """The status the agenda itself gives a step: in progress where it says "loopt", else not started."""
    if step.source_status is not None:
        return step.source_status, agenda_date, f"Volgens de agenda van {dutch_date(agenda_date)}: loopt."
    return StepStatus.NOT_STARTED, None, ""


def is_overdue(step: Step, status: StepStatus, on: date) -> bool:
    """True when the step's last planned year is over on ``on`` and the step is not done."""
    last = step.last_year
    return last is not None and on.year > last and status is not StepStatus.DONE


def step_states(agenda: Agenda, progress: Progress, on: date) -> dict[str, StepState]:
    """Every step's state on ``on`` (events dated after ``on`` are not applied), by step id."""
    by_step: dict[str, list[StatusChange]] = {}
    for c in _ordered(progress.changes):
        by_step.setdefault(c.step_id, []).append(c)
    states: dict[str, StepState] = {}
    for step in agenda.steps():
        status, as_of, note = baseline(step, agenda.source_date)
        actor: str | None = None
        recorded = by_step.get(step.id, [])
        for c in recorded:
            if c.as_of > on:
                break
            status, as_of, note, actor = c.status, c.as_of, c.note, c.actor
        states[step.id] = StepState(step, status, as_of, note, actor, is_overdue(step, status, on), len(recorded))
    return states


@dataclass(frozen=True, slots=True)
class BudgetState:
    """An activity's money on a day: planned as the agenda writes it, committed and spent so far (euros)."""

    activity_id: str
    planned_as_written: str | None
    planned_eur: int | None
    to_be_determined: bool
    committed_eur: Decimal
    spent_eur: Decimal

    @property
    def spent_over_committed(self) -> bool:
        """True when more has been spent than committed."""
        return self.spent_eur > self.committed_eur


def budget_state(activity: Activity, lines: Iterable[BudgetLine], on: date) -> BudgetState:
    """The activity's budget on ``on``: the sum of its committed and spent lines dated up to then."""
    committed = Decimal(0)
    spent = Decimal(0)
    for line in lines:
        if line.activity_id != activity.id or line.as_of > on:
            continue
        if line.kind is BudgetKind.COMMITTED:
            committed += line.amount_eur
        else:
            spent += line.amount_eur
    return BudgetState(
        activity.id,
        activity.budget.as_written,
        activity.budget.amount_eur,
        activity.budget.to_be_determined,
        committed,
        spent,
    )


def latest_note(notes: Sequence[ProgressNote], activity_id: str, on: date) -> ProgressNote | None:
    """The newest progress note of an activity dated on or before ``on``."""
    mine = [n for n in notes if n.activity_id == activity_id and n.as_of <= on]
    return max(mine, key=lambda n: (n.as_of, n.seq)) if mine else None


def status_counts(states: Iterable[StepState]) -> dict[str, int]:
    """How many steps have each status (every status present, zero included) plus ``overdue``."""
    counts = {s.value: 0 for s in StepStatus}
    overdue = 0
    for st in states:
        counts[st.status.value] += 1
        overdue += st.overdue
    counts["overdue"] = overdue
    return counts


@dataclass(frozen=True, slots=True)
class RoadmapCell:
    """One activity in one year: the steps planned in that year with their state."""

    year: int
    steps: tuple[StepState, ...]


@dataclass(frozen=True, slots=True)
class RoadmapRow:
    """One activity across the programme's years; ``undated``: steps whose text names no year."""

    activity: Activity
    cells: tuple[RoadmapCell, ...]
    undated: tuple[StepState, ...]


def roadmap(agenda: Agenda, states: Mapping[str, StepState]) -> tuple[RoadmapRow, ...]:
    """Activities × years (2023–2026): every activity, in the agenda's order, with its steps per year."""
    rows: list[RoadmapRow] = []
    for activity in agenda.activities:
        cells = tuple(
            RoadmapCell(year, tuple(states[s.id] for s in activity.steps if year in s.years)) for year in agenda.years
        )
        undated = tuple(states[s.id] for s in activity.steps if not s.years)
        rows.append(RoadmapRow(activity, cells, undated))
    return tuple(rows)
