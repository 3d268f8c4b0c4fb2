"""The enforcement tables: the migration creates exactly what the models declare."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ruas.store.db import make_engine, migrate
from ruas.store.models import Base

TABLES = {
    "enforcement_cameras",
    "enforcement_policy_versions",
    "enforcement_sanctions",
    "enforcement_pseudonym_keys",
    "enforcement_access_log",
}


def test_migration_matches_the_models(tmp_path: Path) -> None:
    """No difference between the migrated enforcement tables and the SQLAlchemy models."""
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    migrate(engine)
    assert set(sa.inspect(engine).get_table_names()) >= TABLES
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)

    def mine(d: object) -> bool:
        text = repr(d)
        return any(t in text for t in TABLES)

    assert [d for d in diff if mine(d)] == []
