"""Alembic environment: runs against the connection handed over by ``ruas.store.db.migrate``."""

from __future__ import annotations

from alembic import context

from ruas.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - RUAS always passes its own connection
    raise RuntimeError("run migrations through ruas.store.db.migrate()")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
