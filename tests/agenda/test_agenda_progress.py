"""Progress as a pure function of dated events: step states, overdue steps, budgets, the roadmap."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ruas.agenda.loader import embedded_agenda
from ruas.agenda.model import Agenda, StepStatus
from ruas.agenda.progress import (
    BudgetKind,
    BudgetLine,
    Progress,
    StatusChange,
    budget_state,
    roadmap,
    status_counts,
    step_states,
)

AT = datetime(2024, 1, 1, tzinfo=UTC)
AGENDA = embedded_agenda()
ZE = "ze-zones-kennis-delen"


def change(seq: int, step: str, status: StepStatus, day: date, note: str = "") -> StatusChange:
    """A status change of ``step`` (``activity/seq``)."""
    activity, n = step.rsplit("/", 1)
    return StatusChange(seq, activity, int(n), status, day, note, "beheerder", AT)


def line(seq: int, kind: BudgetKind, cents: int, day: date, activity: str = ZE) -> BudgetLine:
    """A budget line."""
    return BudgetLine(seq, activity, kind, cents, day, "bestelling", "beheerder", AT)


@pytest.fixture
def agenda() -> Agenda:
    """The embedded agenda."""
    return AGENDA


def test_baseline_is_the_agendas_own_state(agenda: Agenda) -> None:
    """Without events every step has not started, except those the agenda says are running ("loopt")."""
    states = step_states(agenda, Progress(), date(2023, 4, 17))
    running = {k for k, s in states.items() if s.status is StepStatus.IN_PROGRESS}
    assert running == {"waterstof-voor-stadslogistiek/1", "bundeling-inkoop-anpr/1"}
    assert states["bundeling-inkoop-anpr/1"].as_of == date(2023, 4, 17)
    assert "loopt" in states["bundeling-inkoop-anpr/1"].note
    assert all(s.status is StepStatus.NOT_STARTED for k, s in states.items() if k not in running)


def test_a_change_applies_from_its_day_on(agenda: Agenda) -> None:
    """A status set on a day shows from that day, not the day before."""
    progress = Progress((change(1, f"{ZE}/1", StepStatus.DONE, date(2023, 9, 1), "projectgroep gestart"),))
    assert step_states(agenda, progress, date(2023, 8, 31))[f"{ZE}/1"].status is StepStatus.NOT_STARTED
    state = step_states(agenda, progress, date(2023, 9, 1))[f"{ZE}/1"]
    assert (state.status, state.as_of, state.note, state.actor) == (
        StepStatus.DONE,
        date(2023, 9, 1),
        "projectgroep gestart",
        "beheerder",
    )
    assert state.changes == 1


def test_changes_apply_in_order_of_day_then_recording(agenda: Agenda) -> None:
    """A change recorded later but dated earlier does not override a later-dated one; same day: last recorded wins."""
    step = f"{ZE}/2"
    progress = Progress(
        (
            change(1, step, StepStatus.IN_PROGRESS, date(2024, 3, 1)),
            change(2, step, StepStatus.DELAYED, date(2024, 2, 1), "te weinig capaciteit"),
            change(3, step, StepStatus.DONE, date(2024, 5, 1)),
            change(4, step, StepStatus.DELAYED, date(2024, 5, 1), "heropend"),
        )
    )
    on = {d: step_states(agenda, progress, d)[step].status for d in (date(2024, 2, 15), date(2024, 4, 1))}
    assert on == {date(2024, 2, 15): StepStatus.DELAYED, date(2024, 4, 1): StepStatus.IN_PROGRESS}
    assert step_states(agenda, progress, date(2024, 6, 1))[step].note == "heropend"


@pytest.mark.parametrize(
    ("status", "on", "overdue"),
    [
        (StepStatus.NOT_STARTED, date(2023, 12, 31), False),  # the planned year has not ended
        (StepStatus.NOT_STARTED, date(2024, 1, 1), True),
        (StepStatus.IN_PROGRESS, date(2024, 1, 1), True),
        (StepStatus.DONE, date(2024, 1, 1), False),
    ],
)
def test_overdue_when_the_last_planned_year_is_over(
    agenda: Agenda, status: StepStatus, on: date, overdue: bool
) -> None:
    """Step 1 of the ZE-zones activity is planned in 2023: overdue from 2024 unless done."""
    events = () if status is StepStatus.NOT_STARTED else (change(1, f"{ZE}/1", status, date(2023, 6, 1)),)
    assert step_states(agenda, Progress(events), on)[f"{ZE}/1"].overdue is overdue


def test_undated_steps_are_never_overdue(agenda: Agenda) -> None:
    """A step whose text names no year cannot be behind schedule."""
    states = step_states(agenda, Progress(), date(2030, 1, 1))
    assert states["pakketkluizen/1"].step.years == ()
    assert not states["pakketkluizen/1"].overdue


def test_budget_sums_lines_up_to_the_day() -> None:
    """Committed and spent are the sums of the lines dated up to the day; a negative line corrects."""
    activity = AGENDA.activity(ZE)
    lines = [
        line(1, BudgetKind.COMMITTED, 1_000_000, date(2023, 6, 1)),
        line(2, BudgetKind.SPENT, 250_050, date(2023, 9, 1)),
        line(3, BudgetKind.COMMITTED, -100_000, date(2024, 1, 15)),
        line(4, BudgetKind.SPENT, 99_999, date(2023, 9, 1), activity="pakketkluizen"),
    ]
    mid = budget_state(activity, lines, date(2023, 12, 31))
    assert (mid.committed_eur, mid.spent_eur) == (Decimal("10000"), Decimal("2500.50"))
    end = budget_state(activity, lines, date(2024, 12, 31))
    assert end.committed_eur == Decimal("9000")
    assert end.planned_as_written == "€ 0"
    assert not end.spent_over_committed


def test_roadmap_places_steps_in_the_years_they_name(agenda: Agenda) -> None:
    """Activities × years: the basisraamwerk's step 2 ("2024/2026") sits in 2024, 2025 and 2026, step 4 is undated."""
    rows = {r.activity.id: r for r in roadmap(agenda, step_states(agenda, Progress(), date(2023, 4, 17)))}
    assert len(rows) == 18
    row = rows["basisraamwerk-toegangsbeleid"]
    by_year = {cell.year: [s.step.seq for s in cell.steps] for cell in row.cells}
    assert by_year == {2023: [1, 3], 2024: [2, 3], 2025: [2], 2026: [2]}
    assert [s.step.seq for s in row.undated] == [4]


def test_status_counts_cover_every_status(agenda: Agenda) -> None:
    """Counts have every status (zeros included) and add up to the number of steps."""
    counts = status_counts(step_states(agenda, Progress(), date(2023, 4, 17)).values())
    assert set(counts) == {s.value for s in StepStatus} | {"overdue"}
    assert sum(counts[s.value] for s in StepStatus) == len(list(agenda.steps()))


STEPS = [s.id for s in AGENDA.steps()]
DAYS = st.dates(min_value=date(2023, 1, 1), max_value=date(2026, 12, 31))
EVENTS = st.lists(st.tuples(st.sampled_from(STEPS), st.sampled_from(list(StepStatus)), DAYS), max_size=25)


@settings(max_examples=60, deadline=None)
@given(events=EVENTS, on=DAYS, later=EVENTS)
def test_the_state_on_a_day_ignores_events_dated_after_it(
    events: list[tuple[str, StepStatus, date]], on: date, later: list[tuple[str, StepStatus, date]]
) -> None:
    """Adding events dated after ``on`` never changes the statuses shown for ``on`` (reports are repeatable)."""
    base = [change(i, s, status, d) for i, (s, status, d) in enumerate(events, 1)]
    extra = [
        change(1000 + i, s, status, date(on.year + 1, 1, 1) if d <= on else d) for i, (s, status, d) in enumerate(later)
    ]
    before = step_states(AGENDA, Progress(tuple(base)), on)
    after = step_states(AGENDA, Progress(tuple(base + extra)), on)
    assert {k: (v.status, v.as_of, v.note) for k, v in before.items()} == {
        k: (v.status, v.as_of, v.note) for k, v in after.items()
    }


@settings(max_examples=60, deadline=None)
@given(events=EVENTS, on=DAYS, order=st.randoms(use_true_random=False))
def test_the_state_does_not_depend_on_the_order_events_are_loaded_in(
    events: list[tuple[str, StepStatus, date]], on: date, order: object
) -> None:
    """Events are applied by (day, recording order), whatever order they come in."""
    import random

    base = [change(i, s, status, d) for i, (s, status, d) in enumerate(events, 1)]
    shuffled = list(base)
    assert isinstance(order, random.Random)
    order.shuffle(shuffled)
    a = step_states(AGENDA, Progress(tuple(base)), on)
    b = step_states(AGENDA, Progress(tuple(shuffled)), on)
    assert {k: v.status for k, v in a.items()} == {k: v.status for k, v in b.items()}


def test_between_is_half_open() -> None:
    """``between(since, until)`` keeps events after ``since`` up to and including ``until``."""
    days = [date(2024, 1, 1), date(2024, 6, 30), date(2024, 12, 31), date(2025, 1, 1)]
    progress = Progress(tuple(change(i, f"{ZE}/1", StepStatus.IN_PROGRESS, d) for i, d in enumerate(days, 1)))
    kept = progress.between(date(2024, 1, 1), date(2024, 12, 31))
    assert [c.as_of for c in kept.changes] == [date(2024, 6, 30), date(2024, 12, 31)]
