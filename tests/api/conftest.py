"""Shared API fixtures: TestClients over the app on a fresh register, accounts with tokens, problem checks.

Everything here is a fixture (test modules import nothing from this file). Store-touching tests take
``app_client`` (or ``client_factory(backend_dir, ...)``) and so run on SQLite and on PostgreSQL.
``make_user`` writes accounts into the register of the test's ``data_dir``/``backend_dir`` (the
``RUAS_DATA_DIR``/``RUAS_DATABASE_URL`` those fixtures set), so every client on that register sees them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from ruas.api.app import create_app
from ruas.core.config import Settings
from ruas.register.store import Register
from ruas.services.accounts import create_token, create_user
from ruas.store.db import session_scope

PASSWORD = "correct-horse-battery"


@dataclass(frozen=True)
class Account:
    """An account made by ``make_user``: its login, role and (if asked for) a bearer token."""

    username: str
    role: str
    password: str = PASSWORD
    token: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        """The Authorization header of the account's bearer token."""
        assert self.token, f"{self.username} was made without token=True"
        return {"Authorization": f"Bearer {self.token}"}


def api_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Development settings on ``data_dir`` with a fixed secret and (unless overridden) no practical rate limit."""
    values: dict[str, Any] = {
        "env": "development",
        "data_dir": data_dir,
        "secret_key": "x" * 40,
        "anonymous_checks_per_minute": 100_000,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def client_factory() -> Iterator[Callable[..., TestClient]]:
    """``client_factory(data_dir, raise_server_exceptions=True, **settings)``: a started TestClient over a new app."""
    clients: list[TestClient] = []

    def make(data_dir: Path, *, raise_server_exceptions: bool = True, **overrides: Any) -> TestClient:
        app = create_app(api_settings(data_dir, **overrides))
        client = TestClient(app, raise_server_exceptions=raise_server_exceptions)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def app_client(backend_dir: Path, client_factory: Callable[..., TestClient]) -> TestClient:
    """A TestClient over the app on a fresh seeded register, on SQLite and on PostgreSQL."""
    return client_factory(backend_dir)


@pytest.fixture
def make_user() -> Callable[..., Account]:
    """``make_user(username, role="applicant", kvk=None, municipalities=(), token=False)`` -> :class:`Account`.

    The account is written to the register of the test's data directory; an applicant without ``kvk``
    gets 12345678.
    """

    def make(
        username: str,
        role: str = "applicant",
        *,
        kvk: str | None = None,
        municipalities: tuple[str, ...] = (),
        token: bool = False,
    ) -> Account:
        if role == "applicant" and kvk is None:
            kvk = "12345678"
        engine = Register(Path(os.environ["RUAS_DATA_DIR"])).store.engine
        now = datetime.now(UTC)
        with session_scope(engine) as session:
            user = create_user(
                session,
                username=username,
                password=PASSWORD,
                role=role,
                now=now,
                kvk=kvk,
                municipalities=municipalities,
            )
            clear = create_token(session, user, name="test", now=now) if token else None
        return Account(username, role, PASSWORD, clear)

    return make


@pytest.fixture
def login() -> Callable[..., str]:
    """``login(client, username, password=PASSWORD)``: start a session on ``client``; returns the CSRF token."""

    def do(client: TestClient, username: str, password: str = PASSWORD) -> str:
        response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        csrf: str = response.json()["csrf_token"]
        return csrf

    return do


@pytest.fixture
def problem() -> Callable[..., dict[str, Any]]:
    """``problem(response, status, field=None)``: assert an RFC 9457 problem (naming ``field``); return its body."""

    def check(response: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
        assert response.status_code == status, response.text
        assert response.headers["content-type"].split(";")[0] == "application/problem+json", response.headers
        body: dict[str, Any] = response.json()
        assert {"type", "title", "status", "detail", "instance"} <= set(body), body
        assert body["status"] == status
        assert body["instance"] == response.request.url.path
        assert body["title"] and body["detail"]
        if field is not None:
            named = {str(e.get("field")) for e in body.get("errors", [])}
            assert field in named, (field, body)
        return body

    return check
