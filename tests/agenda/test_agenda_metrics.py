"""The platform's figures in the agenda do not depend on what else ran before them."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Engine, func, select

from ruas.agenda.metrics import MetricContext, compute
from ruas.services.lifecycle import embedded_framework, seed_framework
from ruas.store.db import session_scope
from ruas.store.models import FrameworkItem

ON = date(2025, 6, 1)


def adoption_figure(engine: Engine) -> tuple[bool, str]:
    with session_scope(engine) as s:
        result = compute("basisraamwerk_adoptions", MetricContext(on=ON, zones=None, municipalities={}, session=s))
    return result.available, result.summary


def test_framework_adoptions_are_the_same_before_and_after_the_framework_is_seeded(engine: Engine) -> None:
    """A fresh register has not seeded the framework's items yet; the figure counts the shipped framework."""
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(FrameworkItem)) == 0
    before = adoption_figure(engine)
    seed_framework(engine, now=datetime(2025, 1, 1, tzinfo=UTC))
    after = adoption_figure(engine)
    items = len(embedded_framework()["items"])
    assert before == after
    assert before[0] is True
    assert f"telt {items} onderdelen" in before[1]
