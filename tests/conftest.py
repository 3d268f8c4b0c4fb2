"""Shared fixtures: a register seeded once per test session, copied fresh for every test that uses it.

Store tests run against both backends: SQLite (the embedded default) and PostgreSQL (production),
which runs locally; ``.ci/run`` fails when PostgreSQL cannot be reached, and so do these fixtures.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ruas.register.store import DATABASE_FILE, Register
from ruas.rules.frameworks import RuleSettings
from ruas.store.db import make_engine

PG_ADMIN_URL = os.environ.get("RUAS_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1/postgres")


def _admin() -> sa.Engine:
    return sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def seeded_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite data directory seeded once per session from the embedded data; tests copy it."""
    path = tmp_path_factory.getbasetemp() / "ruas-seeded"
    if not (path / DATABASE_FILE).exists():
        saved = os.environ.pop("RUAS_DATABASE_URL", None)
        try:
            Register(path, RuleSettings()).ensure_seeded()
            engine = make_engine(f"sqlite:///{path / DATABASE_FILE}")
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            engine.dispose()
        finally:
            if saved is not None:
                os.environ["RUAS_DATABASE_URL"] = saved
    return path


@pytest.fixture(scope="session")
def pg_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL database seeded once per session, used as the template of per-test databases."""
    name = f"ruas_tpl_{uuid.uuid4().hex[:8]}"
    try:
        with _admin().connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required for the store tests and is not reachable: {exc}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    os.environ["RUAS_DATABASE_URL"] = url
    try:
        Register(tmp_path_factory.mktemp("pg-seed"), RuleSettings()).ensure_seeded()
    finally:
        del os.environ["RUAS_DATABASE_URL"]
    make_engine(url).dispose()
    make_engine.cache_clear()
    yield name
    with _admin().connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def data_dir(seeded_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the seeded SQLite register, set as RUAS_DATA_DIR, with no proposals applied."""
    path = tmp_path / "data"
    shutil.copytree(seeded_dir, path)
    monkeypatch.setenv("RUAS_DATA_DIR", str(path))
    monkeypatch.delenv("RUAS_DATABASE_URL", raising=False)
    monkeypatch.delenv("RUAS_APPLY_PROPOSED", raising=False)
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_dir(
    request: pytest.FixtureRequest, seeded_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """A fresh seeded register on each backend: a SQLite copy, or a PostgreSQL database cloned from the template."""
    path = tmp_path / "data"
    monkeypatch.delenv("RUAS_APPLY_PROPOSED", raising=False)
    if request.param == "sqlite":
        shutil.copytree(seeded_dir, path)
        monkeypatch.setenv("RUAS_DATA_DIR", str(path))
        monkeypatch.delenv("RUAS_DATABASE_URL", raising=False)
        yield path
        return
    template = request.getfixturevalue("pg_template")
    name = f"ruas_t_{uuid.uuid4().hex[:10]}"
    with _admin().connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    path.mkdir()
    monkeypatch.setenv("RUAS_DATA_DIR", str(path))
    monkeypatch.setenv("RUAS_DATABASE_URL", url)
    yield path
    make_engine(url).dispose()
    with _admin().connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
