"""Accounts and roles: password hashing (argon2), bearer tokens, portal sessions with CSRF tokens.

Roles:
- ``applicant``: a business identified by its KvK number; sees only its own applications.
- ``officer``: a municipal officer bound to one or more CBS codes; decides that municipality's cases.
- ``admin``: a regional administrator.
Anonymous callers may check, read rules and open data.

Only hashes of tokens and session ids are stored; the clear values are shown once.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ruas.domain.errors import InvalidInput, RuasError
from ruas.register.records import municipality_names
from ruas.store.models import ApiToken, User, WebSession

ROLES = ("applicant", "officer", "admin")
SESSION_HOURS = 12
_HASHER = PasswordHasher()
_KVK = re.compile(r"^\d{8}$")
_USERNAME = re.compile(r"^[A-Za-z0-9._@+-]{3,200}$")


class AuthError(RuasError):
    """Credentials missing or wrong (HTTP 401)."""


class Forbidden(RuasError):
    """Authenticated, but this role or municipality may not do this (HTTP 403)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: an account with its role and scope, or anonymous (``user_id`` None)."""

    user_id: int | None = None
    username: str = "anonymous"
    role: str = "anonymous"
    kvk: str | None = None
    municipalities: frozenset[str] = field(default_factory=frozenset)
    via: str = "none"  # "token", "session" or "none"

    @property
    def anonymous(self) -> bool:
        """True for a caller without credentials."""
        return self.user_id is None

    def require(self, *roles: str) -> None:
        """Raise unless the principal has one of ``roles`` (401 when anonymous, 403 otherwise)."""
        if self.anonymous:
            raise AuthError("this needs an account: log in or send a bearer token", field="authorization")
        if self.role not in roles:
            raise Forbidden(f"role {self.role!r} may not do this (needs {' or '.join(roles)})", field="role")

    def may_decide_for(self, municipality: str) -> bool:
        """Officers decide for their own municipalities; the regional administrator for all."""
        return self.role == "admin" or (self.role == "officer" and municipality in self.municipalities)


def hash_password(password: str) -> str:
    """An argon2id hash of the password (at least 10 characters)."""
    if len(password) < 10:
        raise InvalidInput("a password needs at least 10 characters", field="password")
    return _HASHER.hash(password)


def verify_password(stored: str, password: str) -> bool:
    """True when ``password`` matches the stored argon2 hash."""
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    now: datetime,
    kvk: str | None = None,
    municipalities: tuple[str, ...] = (),
) -> User:
    """Create an account, validating role, KvK number and municipality codes."""
    if not _USERNAME.match(username):
        raise InvalidInput(f"username {username!r}: 3-200 letters, digits or ._@+-", field="username")
    if role not in ROLES:
        raise InvalidInput(f"role {role!r} is not one of {', '.join(ROLES)}", field="role")
    if role == "applicant" and (kvk is None or not _KVK.match(kvk)):
        raise InvalidInput("an applicant needs a KvK number of 8 digits", field="kvk")
    codes = tuple(c.strip().upper() for c in municipalities)
    unknown = [c for c in codes if c not in municipality_names()]
    if unknown:
        raise InvalidInput(f"unknown municipality codes: {', '.join(unknown)}", field="municipalities")
    if role == "officer" and not codes:
        raise InvalidInput("an officer needs at least one municipality (CBS code)", field="municipalities")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise InvalidInput(f"username {username!r} is taken", field="username")
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role,
        kvk=kvk,
        municipalities=list(codes),
        active=True,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


def principal_of(user: User, via: str) -> Principal:
    """The principal for an account."""
    return Principal(
        user_id=user.id,
        username=user.username,
        role=user.role,
        kvk=user.kvk,
        municipalities=frozenset(user.municipalities or ()),
        via=via,
    )


def authenticate(session: Session, username: str, password: str) -> User:
    """The active account with these credentials (raises :class:`AuthError`, never saying which part was wrong)."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active or not verify_password(user.password_hash, password):
        raise AuthError("unknown username or wrong password", field="credentials")
    return user


def create_token(session: Session, user: User, *, name: str, now: datetime, days: int | None = 365) -> str:
    """A new bearer token for ``user``; only its hash is stored, the clear token is returned once."""
    token = "ruas_" + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            user_id=user.id,
            token_hash=_digest(token),
            name=name,
            created_at=now,
            expires_at=now + timedelta(days=days) if days else None,
        )
    )
    return token


def principal_for_token(session: Session, token: str, now: datetime) -> Principal:
    """The principal of a bearer token (raises :class:`AuthError` when unknown or expired)."""
    row = session.execute(
        select(ApiToken, User).join(User, User.id == ApiToken.user_id).where(ApiToken.token_hash == _digest(token))
    ).first()
    if row is None:
        raise AuthError("unknown bearer token", field="authorization")
    tok, user = row
    if (tok.expires_at is not None and tok.expires_at <= now) or not user.active:
        raise AuthError("bearer token expired or account disabled", field="authorization")
    return principal_of(user, "token")


def create_session(session: Session, user: User, now: datetime) -> tuple[str, str]:
    """A portal session: returns (session id for the cookie, CSRF token for forms and headers)."""
    sid = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    session.add(
        WebSession(
            session_hash=_digest(sid),
            user_id=user.id,
            csrf_token=csrf,
            created_at=now,
            expires_at=now + timedelta(hours=SESSION_HOURS),
        )
    )
    return sid, csrf


def principal_for_session(session: Session, sid: str, now: datetime) -> tuple[Principal, str]:
    """The principal of a session cookie and its CSRF token (raises :class:`AuthError` when invalid)."""
    row = session.execute(
        select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.session_hash == _digest(sid))
    ).first()
    if row is None:
        raise AuthError("session expired or unknown: log in again", field="session")
    web, user = row
    if web.expires_at <= now or not user.active:
        raise AuthError("session expired: log in again", field="session")
    return principal_of(user, "session"), web.csrf_token


def end_session(session: Session, sid: str) -> None:
    """Log out: forget the session."""
    session.execute(delete(WebSession).where(WebSession.session_hash == _digest(sid)))
