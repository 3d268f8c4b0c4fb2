"""Portal fixtures: a TestClient on a fresh register, accounts, and for the browser tests a real uvicorn
server on a free port with Debian's Chromium driven by Playwright (never a downloaded browser).

``/usr/bin/chromium`` missing is a failure, not a skip: ``.ci/run`` installs it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from portal_support import CHROMIUM, PASSWORD, csrf_of, running_server

from ruas.api.app import create_app
from ruas.core.config import Settings
from ruas.register.store import Register
from ruas.services.accounts import create_user
from ruas.store.db import session_scope

ACCOUNTS = (
    ("applicant", "applicant", "12345678", ()),
    ("officer-ams", "officer", None, ("GM0363",)),
    ("officer-hlm", "officer", None, ("GM0392",)),
)


def add_accounts(data_dir: Path) -> None:
    """The test accounts (password :data:`PASSWORD`) in the register of ``data_dir``."""
    engine = Register(data_dir).store.engine
    with session_scope(engine) as session:
        for username, role, kvk, codes in ACCOUNTS:
            create_user(
                session,
                username=username,
                password=PASSWORD,
                role=role,
                now=datetime.now(UTC),
                kvk=kvk,
                municipalities=codes,
            )


# --------------------------------------------------------------------------- TestClient


@pytest.fixture
def portal(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """A TestClient over the whole app (API + portal) on a fresh seeded register with the test accounts."""
    monkeypatch.setenv("RUAS_TILE_URL", "")
    add_accounts(data_dir)
    settings = Settings(env="development", data_dir=data_dir, secret_key="x" * 40, anonymous_checks_per_minute=100_000)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def log_in() -> Callable[[TestClient, str], None]:
    """``log_in(client, username)``: a portal session for one of the test accounts."""

    def do(client: TestClient, username: str) -> None:
        page = client.get("/login")
        response = client.post(
            "/login",
            data={"csrf_token": csrf_of(page.text), "username": username, "password": PASSWORD, "next": ""},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text

    return do


# --------------------------------------------------------------------------- the browser


@pytest.fixture(scope="session")
def portal_dir(seeded_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded register of its own for the browser tests, with the test accounts."""
    path = tmp_path_factory.mktemp("portal") / "data"
    shutil.copytree(seeded_dir, path)
    saved = os.environ.pop("RUAS_DATABASE_URL", None)
    try:
        add_accounts(path)
    finally:
        if saved is not None:
            os.environ["RUAS_DATABASE_URL"] = saved
    return path


@pytest.fixture(scope="session")
def server(portal_dir: Path) -> Iterator[str]:
    """``ruas``'s app under uvicorn on a free loopback port; yields its base URL."""
    with running_server(portal_dir, RUAS_ANON_CHECKS_PER_MINUTE="100000") as base:
        yield base


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, through Playwright (fails when ``/usr/bin/chromium`` is missing)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium); .ci/run does")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser: Any, server: str) -> Iterator[Callable[..., Any]]:
    """``new_page(width=1280, height=900)``: a page in a fresh context (own cookies) that can reach only the
    test server: every other request is aborted and recorded (tests never reach the internet)."""
    contexts = []
    outside: list[str] = []

    def make(width: int = 1280, height: int = 900, **options: Any) -> Any:
        context = browser.new_context(
            base_url=server,
            viewport={"width": width, "height": height},
            accept_downloads=True,
            bypass_csp=True,  # lets the test inject axe-core; the pages themselves never need it
            locale="nl-NL",
            timezone_id="Europe/Amsterdam",
            **options,
        )
        context.set_default_timeout(15_000)

        def route(r: Any) -> None:
            if r.request.url.startswith(server):
                r.continue_()
            else:
                outside.append(r.request.url)
                r.abort()

        context.route("**/*", route)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
    assert not outside, f"pages asked for resources outside the server: {outside[:5]}"


@pytest.fixture
def browser_login() -> Callable[[Any, str], None]:
    """``browser_login(page, username)``: log in through the login form."""

    def do(page: Any, username: str) -> None:
        page.goto("/login")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("form[action='/login'] button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert "/login" not in page.url, page.content()[:500]

    return do
