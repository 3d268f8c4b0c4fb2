"""Accounts over HTTP on both backends: login (HttpOnly session cookie + CSRF token), ``/auth/me``, CSRF on
unsafe session requests, logout, bearer tokens, wrong credentials; ``Settings.from_env`` refusing production
without a secret; ``ruas users create``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from ruas.cli import app as cli
from ruas.core.config import Settings
from ruas.domain.errors import InvalidInput
from ruas.register.store import Register
from ruas.services.accounts import create_token
from ruas.store.db import session_scope
from ruas.store.models import User

AUTH = "/api/v1/auth"
CHECKS = "/api/v1/checks"
COOKIE = "ruas_session"
DAM = [52.3731, 4.8926]
CHECK = {"plate": "VQ39HG", "point": DAM, "at": "2026-06-01T09:00"}
NEW_PASSWORD = "a-long-enough-password"

Problem = Callable[..., dict[str, Any]]
MakeUser = Callable[..., Any]
Login = Callable[..., str]


def on_postgresql() -> bool:
    """True when the test's register is the PostgreSQL one (``backend_dir`` sets RUAS_DATABASE_URL)."""
    return os.environ.get("RUAS_DATABASE_URL", "").startswith("postgresql")


def engine() -> Any:
    """The database engine of the test's register."""
    return Register(Path(os.environ["RUAS_DATA_DIR"])).store.engine


def bearer_problem(response: Any, problem: Problem, field: str = "authorization") -> dict[str, Any]:
    """Assert a 401 problem naming ``field`` that asks for a bearer token (WWW-Authenticate)."""
    found = problem(response, 401, field=field)
    assert response.headers["www-authenticate"].startswith("Bearer")
    return found


# --------------------------------------------------------------------------- login and sessions


@pytest.fixture
def officer(make_user: MakeUser) -> Any:
    """An Amsterdam officer (GM0363) without a token."""
    return make_user("officer-ams", "officer", municipalities=("GM0363",))


def test_login_sets_an_httponly_session_cookie_and_returns_csrf(app_client: TestClient, officer: Any) -> None:
    """Login answers the CSRF token and sets an HttpOnly, SameSite=Lax session cookie on path /."""
    response = app_client.post(f"{AUTH}/login", json={"username": officer.username, "password": officer.password})
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == officer.username and body["role"] == "officer"
    assert len(body["csrf_token"]) >= 20
    cookie = response.headers["set-cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert cookie.startswith(f"{COOKIE}=")
    assert {"httponly", "path", "samesite", "max-age"} <= attributes
    assert "samesite=lax" in cookie.lower() and "path=/" in cookie.lower()
    assert "secure" not in attributes  # development serves plain http on loopback
    assert body["csrf_token"] not in cookie


def test_production_session_cookie_is_secure(
    backend_dir: Path, client_factory: Callable[..., TestClient], officer: Any
) -> None:
    """With production settings the session cookie is marked Secure."""
    client = client_factory(backend_dir, env="production", cookie_secure=True)
    response = client.post(f"{AUTH}/login", json={"username": officer.username, "password": officer.password})
    assert "secure" in {p.strip().lower() for p in response.headers["set-cookie"].split(";")}


def test_me_is_anonymous_without_credentials(app_client: TestClient) -> None:
    """Without credentials ``/auth/me`` says anonymous."""
    assert app_client.get(f"{AUTH}/me").json() == {
        "username": "anonymous",
        "role": "anonymous",
        "kvk": None,
        "municipalities": [],
        "authenticated_by": "none",
    }


def test_me_after_login_names_the_account_and_scope(app_client: TestClient, officer: Any, login: Login) -> None:
    """After login ``/auth/me`` names the officer, the municipality and the session."""
    login(app_client, officer.username)
    me = app_client.get(f"{AUTH}/me").json()
    assert me == {
        "username": officer.username,
        "role": "officer",
        "kvk": None,
        "municipalities": ["GM0363"],
        "authenticated_by": "session",
    }


def test_session_post_without_csrf_header_is_refused(
    app_client: TestClient, officer: Any, login: Login, problem: Problem
) -> None:
    """An unsafe request with the session cookie but no X-CSRF-Token is a 401 problem naming the header."""
    login(app_client, officer.username)
    found = bearer_problem(app_client.post(CHECKS, json=CHECK), problem, field="X-CSRF-Token")
    assert "X-CSRF-Token" in found["detail"]


def test_session_post_with_a_wrong_csrf_header_is_refused(
    app_client: TestClient, officer: Any, login: Login, problem: Problem
) -> None:
    """Another session's (or a made-up) CSRF token does not do."""
    login(app_client, officer.username)
    response = app_client.post(CHECKS, json=CHECK, headers={"X-CSRF-Token": "made-up"})
    bearer_problem(response, problem, field="X-CSRF-Token")


def test_session_post_with_the_csrf_header_passes(app_client: TestClient, officer: Any, login: Login) -> None:
    """With the CSRF token from login the same request is answered (and not rate limited as anonymous)."""
    csrf = login(app_client, officer.username)
    response = app_client.post(CHECKS, json=CHECK, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200 and response.json()["allowed"] is True


def test_session_get_needs_no_csrf_header(app_client: TestClient, officer: Any, login: Login) -> None:
    """Safe requests (GET) with the session cookie need no CSRF header."""
    login(app_client, officer.username)
    assert app_client.get(f"{AUTH}/me").json()["authenticated_by"] == "session"


def test_logout_ends_the_session(app_client: TestClient, officer: Any, login: Login, problem: Problem) -> None:
    """Logout (with CSRF) answers 204, clears the cookie, and the old session id no longer works."""
    csrf = login(app_client, officer.username)
    sid = app_client.cookies[COOKIE]
    bearer_problem(app_client.post(f"{AUTH}/logout"), problem, field="X-CSRF-Token")  # logout needs CSRF too
    response = app_client.post(f"{AUTH}/logout", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 204
    assert f'{COOKIE}=""' in response.headers["set-cookie"] or "max-age=0" in response.headers["set-cookie"].lower()
    assert app_client.get(f"{AUTH}/me").json()["role"] == "anonymous"
    app_client.cookies.set(COOKIE, sid)
    bearer_problem(app_client.get(f"{AUTH}/me"), problem, field="session")


def test_unknown_session_cookie_is_refused(app_client: TestClient, problem: Problem) -> None:
    """A made-up session cookie is a 401 problem naming the session, not an anonymous pass."""
    app_client.cookies.set(COOKIE, "not-a-session")
    bearer_problem(app_client.get(f"{AUTH}/me"), problem, field="session")


# --------------------------------------------------------------------------- wrong credentials


def test_wrong_password_does_not_say_which_part_was_wrong(
    app_client: TestClient, officer: Any, problem: Problem
) -> None:
    """A wrong password and an unknown username give the same 401 problem naming only ``credentials``."""
    wrong = app_client.post(f"{AUTH}/login", json={"username": officer.username, "password": "wrong-password-1"})
    unknown = app_client.post(f"{AUTH}/login", json={"username": "nobody-here", "password": officer.password})
    first = bearer_problem(wrong, problem, field="credentials")
    second = bearer_problem(unknown, problem, field="credentials")
    assert first == second
    assert COOKIE not in wrong.headers.get("set-cookie", "")


def test_disabled_account_cannot_log_in(app_client: TestClient, officer: Any, problem: Problem) -> None:
    """An account set inactive is refused with the same problem as a wrong password."""
    with session_scope(engine()) as session:
        session.execute(update(User).where(User.username == officer.username).values(active=False))
    response = app_client.post(f"{AUTH}/login", json={"username": officer.username, "password": officer.password})
    bearer_problem(response, problem, field="credentials")


@pytest.mark.parametrize(
    "body",
    [{"username": "x"}, {"username": "", "password": "p"}, {"username": "u", "password": "p", "remember": True}],
    ids=["missing-password", "empty-username", "extra-field"],
)
def test_malformed_login_is_a_422_problem(app_client: TestClient, problem: Problem, body: dict[str, Any]) -> None:
    """A login body without a password, with an empty name or an extra field is a 422 problem."""
    problem(app_client.post(f"{AUTH}/login", json=body), 422)


def test_a_nul_byte_in_a_username_is_a_client_error(
    backend_dir: Path, client_factory: Callable[..., TestClient], request: pytest.FixtureRequest
) -> None:
    """A username with a NUL byte is refused like any unknown name (401) or as malformed (422), never a 500."""
    client = client_factory(backend_dir, raise_server_exceptions=False)
    response = client.post(f"{AUTH}/login", json={"username": "a\u0000b", "password": "x"})
    assert response.status_code in (401, 422)


# --------------------------------------------------------------------------- bearer tokens


def test_token_created_while_logged_in_authenticates(
    app_client: TestClient, officer: Any, login: Login, problem: Problem
) -> None:
    """A token made via ``POST /auth/tokens`` (session + CSRF) is shown once and authenticates as the account."""
    csrf = login(app_client, officer.username)
    bearer_problem(app_client.post(f"{AUTH}/tokens", json={"name": "laptop"}), problem, field="X-CSRF-Token")
    response = app_client.post(f"{AUTH}/tokens", json={"name": "laptop"}, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 201
    body = response.json()
    assert body["token"].startswith("ruas_") and body["name"] == "laptop" and body["expires_in_days"] == 365
    app_client.cookies.clear()
    me = app_client.get(f"{AUTH}/me", headers={"Authorization": f"Bearer {body['token']}"}).json()
    assert (me["username"], me["authenticated_by"]) == (officer.username, "token")


@pytest.mark.parametrize("role", ["applicant", "officer", "admin"])
def test_every_role_may_create_tokens(app_client: TestClient, make_user: MakeUser, role: str) -> None:
    """Applicants, officers and administrators may each create a bearer token with their own token."""
    account = make_user(f"{role}-x", role, municipalities=("GM0392",) if role == "officer" else (), token=True)
    response = app_client.post(f"{AUTH}/tokens", json={"name": "ci", "days": 30}, headers=account.headers)
    assert response.status_code == 201 and response.json()["expires_in_days"] == 30
    new = {"Authorization": f"Bearer {response.json()['token']}"}
    assert app_client.get(f"{AUTH}/me", headers=new).json()["role"] == role


def test_applicant_token_shows_the_kvk_number(app_client: TestClient, make_user: MakeUser) -> None:
    """An applicant's bearer token authenticates as the business with its KvK number."""
    applicant = make_user("bakery-bv", "applicant", kvk="87654321", token=True)
    me = app_client.get(f"{AUTH}/me", headers=applicant.headers).json()
    assert (me["role"], me["kvk"], me["authenticated_by"]) == ("applicant", "87654321", "token")


def test_anonymous_cannot_create_tokens(app_client: TestClient, problem: Problem) -> None:
    """Creating a token needs an account: anonymous is a 401 problem."""
    bearer_problem(app_client.post(f"{AUTH}/tokens", json={"name": "x"}), problem)


@pytest.mark.parametrize(
    "header",
    ["Bearer ruas_not-a-real-token", "Bearer ", "Basic dXNlcjpwYXNz", "ruas_token-without-scheme"],
    ids=["unknown-token", "empty-token", "basic-scheme", "no-scheme"],
)
def test_wrong_bearer_token_is_a_401_with_www_authenticate(
    app_client: TestClient, problem: Problem, header: str
) -> None:
    """A wrong or malformed Authorization header is a 401 problem with ``WWW-Authenticate: Bearer``."""
    response = app_client.post(CHECKS, json=CHECK, headers={"Authorization": header})
    found = bearer_problem(response, problem)
    assert found["title"] == "AuthError"
    assert 'realm="ruas"' in response.headers["www-authenticate"]


def test_expired_token_is_refused(app_client: TestClient, officer: Any, problem: Problem) -> None:
    """A token past its expiry is a 401 problem."""
    with session_scope(engine()) as session:
        user = session.scalar(select(User).where(User.username == officer.username))
        assert user is not None
        token = create_token(session, user, name="old", now=datetime.now(UTC) - timedelta(days=3), days=1)
    response = app_client.get(f"{AUTH}/me", headers={"Authorization": f"Bearer {token}"})
    bearer_problem(response, problem)


def test_token_of_a_disabled_account_is_refused(app_client: TestClient, make_user: MakeUser, problem: Problem) -> None:
    """Disabling an account stops its bearer tokens at once."""
    account = make_user("leaving-officer", "officer", municipalities=("GM0363",), token=True)
    assert app_client.get(f"{AUTH}/me", headers=account.headers).status_code == 200
    with session_scope(engine()) as session:
        session.execute(update(User).where(User.username == account.username).values(active=False))
    bearer_problem(app_client.get(f"{AUTH}/me", headers=account.headers), problem)


def test_a_token_the_api_hands_out_works(
    backend_dir: Path,
    client_factory: Callable[..., TestClient],
    make_user: MakeUser,
    request: pytest.FixtureRequest,
) -> None:
    """Every token answered with 201 authenticates afterwards (the answer never precedes a failed commit)."""
    client = client_factory(backend_dir, raise_server_exceptions=False)
    admin = make_user("token-admin", "admin", token=True)
    response = client.post(f"{AUTH}/tokens", json={"name": "a\u0000b"}, headers=admin.headers)
    if response.status_code == 201:
        new = {"Authorization": f"Bearer {response.json()['token']}"}
        assert client.get(f"{AUTH}/me", headers=new).status_code == 200
    else:
        assert 400 <= response.status_code < 500


# --------------------------------------------------------------------------- settings


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The environment without any RUAS_ENV / RUAS_SECRET_KEY / RUAS_DEMO_ACCOUNTS."""
    for name in ("RUAS_ENV", "RUAS_SECRET_KEY", "RUAS_DEMO_ACCOUNTS", "RUAS_ANON_CHECKS_PER_MINUTE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize("secret", [None, "", "s" * 31], ids=["unset", "empty", "31-chars"])
def test_production_refuses_to_start_without_a_long_secret(clean_env: pytest.MonkeyPatch, secret: str | None) -> None:
    """RUAS_ENV=production without a RUAS_SECRET_KEY of 32+ characters is refused, naming the variable."""
    clean_env.setenv("RUAS_ENV", "production")
    if secret is not None:
        clean_env.setenv("RUAS_SECRET_KEY", secret)
    with pytest.raises(InvalidInput) as caught:
        Settings.from_env()
    assert caught.value.details["field"] == "RUAS_SECRET_KEY"


def test_production_with_a_long_secret_has_no_demo_and_secure_cookies(clean_env: pytest.MonkeyPatch) -> None:
    """A 32-character secret is enough; production never makes demo accounts and marks cookies Secure."""
    clean_env.setenv("RUAS_ENV", "Production")
    clean_env.setenv("RUAS_SECRET_KEY", "k" * 32)
    clean_env.setenv("RUAS_DEMO_ACCOUNTS", "1")
    settings = Settings.from_env()
    assert (settings.env, settings.secret_key, settings.development) == ("production", "k" * 32, False)
    assert settings.cookie_secure is True and settings.demo_accounts is False


def test_development_generates_a_fresh_secret(clean_env: pytest.MonkeyPatch) -> None:
    """Development without a secret gets a random one per start, never a fixed default."""
    first, second = Settings.from_env(), Settings.from_env()
    assert first.development and len(first.secret_key) >= 32 and first.secret_key != second.secret_key


def test_unknown_environment_is_refused(clean_env: pytest.MonkeyPatch) -> None:
    """RUAS_ENV other than development or production is refused, naming RUAS_ENV."""
    clean_env.setenv("RUAS_ENV", "staging")
    with pytest.raises(InvalidInput) as caught:
        Settings.from_env()
    assert caught.value.details["field"] == "RUAS_ENV"


def test_serve_refuses_production_without_a_secret(clean_env: pytest.MonkeyPatch, data_dir: Path) -> None:
    """``ruas serve`` in production without a secret exits 2 naming RUAS_SECRET_KEY, before listening."""
    import uvicorn

    started: list[Any] = []
    clean_env.setattr(uvicorn, "run", lambda *a, **k: started.append((a, k)))
    clean_env.setenv("RUAS_ENV", "production")
    result = CliRunner().invoke(cli, ["serve", "--port", "1"])
    assert result.exit_code == 2
    assert "RUAS_SECRET_KEY" in " ".join(result.stderr.split())
    assert started == []


# --------------------------------------------------------------------------- ruas users create


def users_create(*args: str, env: dict[str, str] | None = None) -> Any:
    """Run ``ruas users create ARGS`` (on the test's register) and return the result."""
    return CliRunner().invoke(cli, ["users", "create", *args], env=env)


def test_users_create_makes_an_account_that_can_log_in(app_client: TestClient, login: Login) -> None:
    """``ruas users create`` makes an applicant that logs in over HTTP with its role and KvK number."""
    result = users_create("bakker-bv", "--role", "applicant", "--kvk", "12345678", "--password", NEW_PASSWORD)
    assert result.exit_code == 0, result.output
    assert "account bakker-bv (applicant) created" in result.stdout
    login(app_client, "bakker-bv", NEW_PASSWORD)
    me = app_client.get(f"{AUTH}/me").json()
    assert (me["username"], me["role"], me["kvk"]) == ("bakker-bv", "applicant", "12345678")


def test_users_create_officer_with_token(app_client: TestClient) -> None:
    """An officer made with ``--token`` (password from RUAS_NEW_PASSWORD) gets a printed, working bearer token."""
    result = users_create(
        "officer-haarlem",
        "--role",
        "officer",
        "--municipality",
        "gm0392",
        "--municipality",
        "GM0363",
        "--token",
        env={"RUAS_NEW_PASSWORD": NEW_PASSWORD},
    )
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("ruas_")
    me = app_client.get(f"{AUTH}/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["role"] == "officer" and me["municipalities"] == ["GM0363", "GM0392"]


REFUSED = {
    "bad-role": (["someone", "--role", "superuser"], "role 'superuser'"),
    "applicant-without-kvk": (["shop-bv", "--role", "applicant"], "KvK"),
    "applicant-short-kvk": (["shop-bv", "--role", "applicant", "--kvk", "1234"], "KvK"),
    "unknown-cbs-code": (["off-x", "--role", "officer", "--municipality", "GM9999"], "GM9999"),
    "officer-without-municipality": (["off-y", "--role", "officer"], "municipality"),
    "bad-username": (["a b", "--role", "admin"], "username"),
}


@pytest.mark.parametrize(("args", "message"), REFUSED.values(), ids=REFUSED.keys())
def test_users_create_refuses_bad_input_with_exit_2(
    app_client: TestClient, args: list[str], message: str, problem: Problem
) -> None:
    """A bad role, an applicant without a valid KvK, an unknown CBS code... exit 2, say why, create nothing."""
    result = users_create(*args, "--password", NEW_PASSWORD)
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())
    response = app_client.post(f"{AUTH}/login", json={"username": args[0], "password": NEW_PASSWORD})
    problem(response, 401, field="credentials")


def test_users_create_refuses_a_short_password(app_client: TestClient) -> None:
    """A password under 10 characters is refused with exit 2."""
    result = users_create("admin-two", "--role", "admin", "--password", "short")
    assert result.exit_code == 2 and "10 characters" in " ".join(result.stderr.split())


def test_users_create_refuses_a_taken_username(app_client: TestClient, officer: Any, login: Login) -> None:
    """Creating an account with a taken name exits 2 and leaves the first account (and its password) intact."""
    result = users_create(officer.username, "--role", "admin", "--password", NEW_PASSWORD)
    assert result.exit_code == 2 and "taken" in result.stderr
    login(app_client, officer.username, officer.password)
    assert app_client.get(f"{AUTH}/me").json()["role"] == "officer"
