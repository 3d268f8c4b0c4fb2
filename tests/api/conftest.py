"""Shared API fixtures: a TestClient over the app on a fresh register, and account/token helpers.

Store-touching tests take ``backend_dir`` (SQLite and PostgreSQL) through ``app_client``; the helpers
create accounts directly in the database so a test can start logged in or with a bearer token.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ruas.api.app import create_app
from ruas.core.config import Settings
from ruas.services.accounts import create_token, create_user
from ruas.store.db import session_scope

PASSWORD = "correct-horse-battery"
"""The password of every account the helpers create."""


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


def make_client(data_dir: Path, *, raise_server_exceptions: bool = True, **overrides: Any) -> TestClient:
    """A TestClient (not yet entered) over ``create_app`` on ``data_dir`` with ``api_settings`` overrides."""
    app = create_app(api_settings(data_dir, **overrides))
    return TestClient(app, raise_server_exceptions=raise_server_exceptions)


@pytest.fixture
def app_client(backend_dir: Path) -> Iterator[TestClient]:
    """A TestClient over the app on a fresh seeded register, on SQLite and on PostgreSQL."""
    with make_client(backend_dir) as client:
        yield client


@pytest.fixture
def sqlite_client(data_dir: Path) -> Iterator[TestClient]:
    """A TestClient over the app on a fresh seeded SQLite register only (for runs that need not repeat per backend)."""
    with make_client(data_dir) as client:
        yield client


def add_user(
    app: FastAPI,
    username: str,
    role: str = "applicant",
    *,
    kvk: str | None = None,
    municipalities: tuple[str, ...] = (),
    token: bool = False,
) -> str | None:
    """Create an account with password ``PASSWORD`` in the app's database; return a bearer token if ``token``."""
    if role == "applicant" and kvk is None:
        kvk = "12345678"
    engine = app.state.register.register.store.engine
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        user = create_user(
            session, username=username, password=PASSWORD, role=role, now=now, kvk=kvk, municipalities=municipalities
        )
        return create_token(session, user, name="test", now=now) if token else None


@pytest.fixture
def make_user(app_client: TestClient) -> Callable[..., str | None]:
    """``make_user(username, role="applicant", kvk=..., municipalities=..., token=False)`` on ``app_client``'s app."""

    def make(username: str, role: str = "applicant", **kwargs: Any) -> str | None:
        return add_user(app_client.app, username, role, **kwargs)  # type: ignore[arg-type]

    return make


def bearer(token: str | None) -> dict[str, str]:
    """The Authorization header for a bearer token."""
    assert token, "no token was created"
    return {"Authorization": f"Bearer {token}"}


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log ``client`` in (the session cookie stays on the client); return the CSRF token."""
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    csrf: str = response.json()["csrf_token"]
    return csrf


@pytest.fixture
def officer_token(make_user: Callable[..., str | None]) -> str:
    """A bearer token of an Amsterdam (GM0363) officer."""
    token = make_user("officer-ams", "officer", municipalities=("GM0363",), token=True)
    assert token
    return token


@pytest.fixture
def applicant_token(make_user: Callable[..., str | None]) -> str:
    """A bearer token of an applicant with KvK 12345678."""
    token = make_user("applicant-one", "applicant", kvk="12345678", token=True)
    assert token
    return token


def problem_of(response: Any, status: int) -> dict[str, Any]:
    """Assert ``response`` is an RFC 9457 problem with ``status``; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail", "instance"} <= set(body), body
    assert body["status"] == status
    assert body["instance"] == response.request.url.path
    return body


def problem_fields(body: dict[str, Any]) -> set[str]:
    """The field names a problem body names in its ``errors`` list."""
    return {str(e.get("field")) for e in body.get("errors", [])}
