"""Recording progress in the database: status changes with history, role rules, budgets, notes (both backends)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select

from ruas.agenda import service
from ruas.agenda.loader import embedded_agenda
from ruas.agenda.model import StepStatus
from ruas.agenda.progress import budget_state, step_states
from ruas.domain.errors import Conflict, InvalidInput, NotFound
from ruas.services.accounts import AuthError, Forbidden, Principal
from ruas.store.db import session_scope
from ruas.store.models import AgendaBudgetLine, AgendaEdit, AgendaProgressNote, AgendaStepStatus

AGENDA = embedded_agenda()
NOW = datetime(2024, 11, 20, 10, 0, tzinfo=UTC)
ZE = "ze-zones-kennis-delen"


def counts(engine: Engine) -> tuple[int, int, int, int]:
    """Rows in the four progress tables."""
    with session_scope(engine) as s:
        return tuple(  # type: ignore[return-value]
            s.scalar(select(func.count()).select_from(m)) or 0
            for m in (AgendaStepStatus, AgendaBudgetLine, AgendaProgressNote, AgendaEdit)
        )


@pytest.fixture
def admin(principal_factory: Callable[..., Principal]) -> Principal:
    """The regional administrator."""
    return principal_factory("regio-beheerder", "admin")


def test_status_change_is_stored_with_its_history(engine: Engine, admin: Principal) -> None:
    """A status change shows in the state from its day and leaves a history entry with before and after."""
    with session_scope(engine) as s:
        result = service.set_step_status(
            s, AGENDA, admin, activity_id=ZE, step_seq=1, status="done", as_of=date(2023, 10, 2),
            note="Regionale projectgroep opgestart", now=NOW,
        )  # fmt: skip
    assert result["before"] == {"status": "not_started", "since": None, "note": None}
    with session_scope(engine) as s:
        progress = service.load_progress(s)
        edits = service.history(s, activity_id=ZE)
    state = step_states(AGENDA, progress, date(2023, 10, 2))[f"{ZE}/1"]
    assert (state.status, state.as_of, state.actor) == (StepStatus.DONE, date(2023, 10, 2), "regio-beheerder")
    assert len(edits) == 1
    edit = edits[0]
    assert (edit.actor, edit.action, edit.entity_id, edit.at) == ("regio-beheerder", "step_status", f"{ZE}/1", NOW)
    assert edit.before == {"status": "not_started", "since": None, "note": None}
    assert edit.after == {"status": "done", "since": "2023-10-02", "note": "Regionale projectgroep opgestart"}


def test_history_follows_every_edit_newest_first(engine: Engine, admin: Principal) -> None:
    """Two changes of a step: the second's 'before' is the first's 'after'."""
    with session_scope(engine) as s:
        for status, day in (("in_progress", date(2024, 1, 8)), ("delayed", date(2024, 6, 1))):
            service.set_step_status(
                s, AGENDA, admin, activity_id=ZE, step_seq=2, status=status, as_of=day,
                note="minder bijeenkomsten dan gepland" if status == "delayed" else "", now=NOW,
            )  # fmt: skip
    with session_scope(engine) as s:
        edits = service.history(s)
    assert [e.after["status"] for e in edits] == ["delayed", "in_progress"]
    assert edits[0].before == {"status": "in_progress", "since": "2024-01-08", "note": None}


@pytest.mark.parametrize(
    ("role", "error"),
    [("anonymous", AuthError), ("applicant", Forbidden), ("officer", Forbidden)],
)
def test_only_the_regional_administrator_edits(
    engine: Engine, principal_factory: Callable[..., Principal], role: str, error: type[Exception]
) -> None:
    """Anonymous callers, applicants and officers (even of an action-holding municipality) may not edit, and a
    refused edit stores nothing."""
    who = (
        Principal() if role == "anonymous" else principal_factory(f"u-{role}", role, ("GM0479",) * (role == "officer"))
    )
    edits: list[Callable[..., object]] = [
        lambda s: service.set_step_status(
            s, AGENDA, who, activity_id="bundeling-inkoop-anpr", step_seq=2, status="done",
            as_of=date(2024, 1, 1), now=NOW,
        ),
        lambda s: service.add_budget_line(
            s, AGENDA, who, activity_id=ZE, kind="committed", amount_eur="100", as_of=date(2024, 1, 1),
            note="x", now=NOW,
        ),
        lambda s: service.add_progress_note(s, AGENDA, who, activity_id=ZE, text="x", as_of=date(2024, 1, 1), now=NOW),
    ]  # fmt: skip
    for edit in edits:
        with pytest.raises(error), session_scope(engine) as s:
            edit(s)
    assert counts(engine) == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"status": "finished"}, "status"),
        ({"as_of": date(2024, 11, 21)}, "as_of"),  # tomorrow, seen from NOW
        ({"as_of": date(2022, 12, 31)}, "as_of"),  # before the programme's first year
        ({"status": "delayed", "note": "  "}, "note"),  # delayed needs a reason
        ({"note": "x" * 2001}, "note"),
    ],
    ids=["unknown-status", "future", "before-programme", "delayed-without-reason", "note-too-long"],
)
def test_bad_status_changes_are_refused_naming_the_field(
    engine: Engine, admin: Principal, kwargs: dict[str, object], field: str
) -> None:
    """Bad input gets an InvalidInput naming the field, and nothing is stored."""
    args: dict[str, object] = {"status": "in_progress", "as_of": date(2024, 11, 20), "note": ""} | kwargs
    with pytest.raises(InvalidInput) as info, session_scope(engine) as s:
        service.set_step_status(s, AGENDA, admin, activity_id=ZE, step_seq=1, now=NOW, **args)  # type: ignore[arg-type]
    assert info.value.details["field"] == field
    assert counts(engine) == (0, 0, 0, 0)


def test_unknown_activity_or_step_is_not_found(engine: Engine, admin: Principal) -> None:
    """An activity or step that does not exist is a NotFound."""
    for activity, step in (("geen-activiteit", 1), (ZE, 3)):
        with pytest.raises(NotFound), session_scope(engine) as s:
            service.set_step_status(
                s, AGENDA, admin, activity_id=activity, step_seq=step, status="done", as_of=date(2024, 1, 1), now=NOW
            )


def test_a_stale_write_is_a_conflict(engine: Engine, admin: Principal) -> None:
    """``expected_changes`` from an earlier read refuses the write when someone changed the step meanwhile."""
    with session_scope(engine) as s:
        service.set_step_status(
            s, AGENDA, admin, activity_id=ZE, step_seq=1, status="in_progress", as_of=date(2023, 6, 1),
            now=NOW, expected_changes=0,
        )  # fmt: skip
    with pytest.raises(Conflict), session_scope(engine) as s:
        service.set_step_status(
            s, AGENDA, admin, activity_id=ZE, step_seq=1, status="done", as_of=date(2023, 12, 1),
            now=NOW, expected_changes=0,
        )  # fmt: skip
    assert counts(engine)[0] == 1


def test_setting_the_same_status_again_is_refused(engine: Engine, admin: Principal) -> None:
    """Recording what is already so is a mistake, not a change."""
    with pytest.raises(InvalidInput), session_scope(engine) as s:
        service.set_step_status(
            s, AGENDA, admin, activity_id="bundeling-inkoop-anpr", step_seq=1, status="in_progress",
            as_of=date(2024, 1, 1), note="Volgens de agenda van 17 april 2023: loopt.", now=NOW,
        )  # fmt: skip


def test_budget_committed_and_spent(engine: Engine, admin: Principal) -> None:
    """Budget lines add up per kind; the history shows the totals before and after."""
    activity = "basisraamwerk-toegangsbeleid"
    with session_scope(engine) as s:
        service.add_budget_line(
            s, AGENDA, admin, activity_id=activity, kind="committed", amount_eur="50000", as_of=date(2023, 9, 1),
            note="opdracht raamwerk", now=NOW,
        )  # fmt: skip
        result = service.add_budget_line(
            s, AGENDA, admin, activity_id=activity, kind="spent", amount_eur="12500.50", as_of=date(2024, 3, 1),
            note="factuur 1", now=NOW,
        )  # fmt: skip
    assert result["before"] == {"committed_eur": "50000.00", "spent_eur": "0.00"}
    assert result["after"]["spent_eur"] == "12500.50"
    with session_scope(engine) as s:
        progress = service.load_progress(s)
    state = budget_state(AGENDA.activity(activity), progress.budget_lines, date(2024, 12, 31))
    assert (state.committed_eur, state.spent_eur) == (Decimal("50000"), Decimal("12500.50"))
    assert state.planned_as_written == "€ 50.000"


@pytest.mark.parametrize(
    ("amount", "field"),
    [("0", "amount_eur"), ("12.345", "amount_eur"), ("abc", "amount_eur"), ("-1", "amount_eur"), ("1e9", "amount_eur")],
    ids=["zero", "three-decimals", "not-a-number", "negative-total", "too-large"],
)
def test_bad_budget_lines_are_refused(engine: Engine, admin: Principal, amount: str, field: str) -> None:
    """Zero, sub-cent, non-numeric, too large, or making a total negative: refused, nothing stored."""
    with pytest.raises(InvalidInput) as info, session_scope(engine) as s:
        service.add_budget_line(
            s, AGENDA, admin, activity_id=ZE, kind="spent", amount_eur=amount, as_of=date(2024, 1, 1),
            note="x", now=NOW,
        )  # fmt: skip
    assert info.value.details["field"] == field
    assert counts(engine) == (0, 0, 0, 0)


def test_a_correction_may_not_make_an_earlier_day_negative(engine: Engine, admin: Principal) -> None:
    """A negative line dated before the line it corrects would leave a negative total in between: refused."""
    with session_scope(engine) as s:
        service.add_budget_line(
            s, AGENDA, admin, activity_id=ZE, kind="committed", amount_eur="1000", as_of=date(2024, 6, 1),
            note="opdracht", now=NOW,
        )  # fmt: skip
    with pytest.raises(InvalidInput), session_scope(engine) as s:
        service.add_budget_line(
            s, AGENDA, admin, activity_id=ZE, kind="committed", amount_eur="-1000", as_of=date(2024, 5, 1),
            note="correctie", now=NOW,
        )  # fmt: skip
    with session_scope(engine) as s:
        service.add_budget_line(
            s, AGENDA, admin, activity_id=ZE, kind="committed", amount_eur="-1000", as_of=date(2024, 7, 1),
            note="correctie", now=NOW,
        )  # fmt: skip
    assert counts(engine)[1] == 2


def test_progress_notes_keep_the_previous_one_in_the_history(engine: Engine, admin: Principal) -> None:
    """A new note's history entry shows the note it follows."""
    with session_scope(engine) as s:
        service.add_progress_note(s, AGENDA, admin, activity_id=ZE, text="Eerste", as_of=date(2024, 1, 1), now=NOW)
        result = service.add_progress_note(
            s, AGENDA, admin, activity_id=ZE, text="Tweede", as_of=date(2024, 6, 1), now=NOW
        )
    assert result["before"] == {"as_of": "2024-01-01", "text": "Eerste"}


def test_issued_reports_set_the_start_of_the_next(engine: Engine, admin: Principal) -> None:
    """The next report lists changes after the previous issued one; the first starts at the agenda's date."""
    with session_scope(engine) as s:
        assert service.previous_report_date(AGENDA, service.issued_reports(s), date(2023, 12, 31)) == date(2023, 4, 17)
        service.record_issued_report(
            s, admin, report_date=date(2023, 12, 31), since=date(2023, 4, 17), title="t", sha256="0" * 64, now=NOW
        )
    with session_scope(engine) as s:
        reports = service.issued_reports(s)
        assert service.previous_report_date(AGENDA, reports, date(2024, 11, 20)) == date(2023, 12, 31)
        with pytest.raises(Conflict):
            service.record_issued_report(
                s, admin, report_date=date(2023, 12, 31), since=date(2023, 4, 17), title="t", sha256="0" * 64, now=NOW
            )
