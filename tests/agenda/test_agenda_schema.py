"""Migration 0003 creates exactly the agenda tables the models describe."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from ruas.store.db import migrate
from ruas.store.models import Base

AGENDA_TABLES = {"agenda_step_status", "agenda_budget_lines", "agenda_progress_notes", "agenda_edits", "agenda_reports"}


def test_migration_matches_the_models(tmp_path: Path) -> None:
    """A fresh database upgraded to all heads has the agenda tables, and autogenerate finds nothing to change in
    them."""
    engine = create_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    migrate(engine)
    with engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) >= AGENDA_TABLES
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diffs if "agenda" in repr(d)] == []
    engine.dispose()
