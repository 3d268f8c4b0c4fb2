"""Database engine and sessions: SQLite (embedded default, WAL) or PostgreSQL (``RUAS_DATABASE_URL``).

The schema is created and upgraded by Alembic migrations (``ruas/store/migrations``), never by
``create_all``, so a deployed database and a fresh one follow the same path.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from ruas.domain.errors import RuasError

POOL_SIZE = 40
"""Pooled connections: at least the web server's worker threads (AnyIO's default is 40), one each."""
POOL_OVERFLOW = 10


class DatabaseError(RuasError):
    """The database cannot be reached or is not a RUAS database."""


def database_url(data_dir: Path) -> str:
    """``RUAS_DATABASE_URL`` if set, else a SQLite file ``ruas.db`` in the data directory."""
    url = os.environ.get("RUAS_DATABASE_URL")
    if url:
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return url
    return f"sqlite:///{data_dir / 'ruas.db'}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


@lru_cache(maxsize=16)
def make_engine(url: str) -> Engine:
    """One engine per URL (pooled); SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False}, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration of every branch (Alembic ``upgrade heads``).

    Features that own tables (enforcement, the agenda) branch from the initial schema independently;
    upgrading to all heads applies each branch, so they never conflict on one linear history.
    """
    from alembic import command
    from alembic.config import Config

    script_location = str(resources.files("ruas.store").joinpath("migrations"))
    cfg = Config()
    cfg.set_main_option("script_location", script_location)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        try:
            command.upgrade(cfg, "heads")
        except Exception as exc:  # alembic wraps driver errors in many types
            raise DatabaseError(f"database migration failed: {exc}") from exc


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A transaction: committed when the block ends, rolled back (nothing changed) on any error."""
    factory = sessionmaker(engine, expire_on_commit=False)
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
