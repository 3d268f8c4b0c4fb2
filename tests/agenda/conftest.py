"""Fixtures of the agenda tests: an app over a fresh register (SQLite and PostgreSQL), accounts with tokens."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ruas.api.app import create_app
from ruas.core.config import Settings
from ruas.register.store import Register
from ruas.services.accounts import Principal, create_token, create_user, principal_of
from ruas.store.db import session_scope

PASSWORD = "correct-horse-battery"


@pytest.fixture
def engine(backend_dir: Path) -> Engine:
    """The database of a fresh seeded register, on SQLite and on PostgreSQL."""
    return Register(Path(os.environ["RUAS_DATA_DIR"])).store.engine


@pytest.fixture
def principal_factory(engine: Engine) -> Callable[..., Principal]:
    """``principal_factory(username, role, municipalities=())``: an account in the database, as a principal."""

    def make(username: str, role: str, municipalities: tuple[str, ...] = ()) -> Principal:
        with session_scope(engine) as s:
            user = create_user(
                s,
                username=username,
                password=PASSWORD,
                role=role,
                now=datetime.now(UTC),
                kvk="12345678" if role == "applicant" else None,
                municipalities=municipalities,
            )
            return principal_of(user, "token")

    return make


@pytest.fixture
def client(backend_dir: Path) -> Iterator[TestClient]:
    """A started TestClient over the app on the fresh register."""
    settings = Settings(
        env="development", data_dir=backend_dir, secret_key="x" * 40, anonymous_checks_per_minute=100_000
    )
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture
def token_headers(engine: Engine) -> Callable[..., dict[str, str]]:
    """``token_headers(username, role, municipalities=())``: an account with a bearer token; its headers."""

    def make(username: str, role: str, municipalities: tuple[str, ...] = ()) -> dict[str, str]:
        now = datetime.now(UTC)
        with session_scope(engine) as s:
            user = create_user(
                s,
                username=username,
                password=PASSWORD,
                role=role,
                now=now,
                kvk="12345678" if role == "applicant" else None,
                municipalities=municipalities,
            )
            token = create_token(s, user, name="test", now=now)
        return {"Authorization": f"Bearer {token}"}

    return make
