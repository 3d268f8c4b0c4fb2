"""Request-scoped dependencies: the database session, the register, who is asking, rate limits."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from ruas.api.errors import TooManyRequests
from ruas.core.config import Settings
from ruas.register.store import Register
from ruas.services.accounts import AuthError, Principal, principal_for_session, principal_for_token

SESSION_COOKIE = "ruas_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def now_utc() -> datetime:
    """The current instant (the HTTP layer is where the clock is read)."""
    return datetime.now(UTC)


@dataclass
class RegisterHolder:
    """The register shared by all requests, reloaded when another process published a change."""

    register: Register
    checked_at: float = 0.0
    version: int = -1
    lock: threading.Lock = field(default_factory=threading.Lock)

    def current(self) -> Register:
        """The register, re-reading the published version at most once a second."""
        now = time.monotonic()
        if now - self.checked_at >= 1.0:
            with self.lock:
                if now - self.checked_at >= 1.0:
                    version = self.register.store.version()
                    if version != self.version:
                        self.register.refresh()
                        self.version = version
                    self.checked_at = now
        return self.register


# The dependencies below are ``async def`` on purpose: they do little (a pooled, local database call at
# most), and running them on the event loop saves a worker-thread round trip each, which dominated the
# cost of a check. The route handlers themselves stay synchronous and run in the thread pool.


async def get_settings(request: Request) -> Settings:
    """The service settings."""
    settings: Settings = request.app.state.settings
    return settings


async def get_db(request: Request) -> AsyncIterator[Session]:
    """A database session for this request: committed on success, rolled back on any error."""
    factory: sessionmaker[Session] = request.app.state.sessions
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


async def get_register(request: Request) -> Register:
    """The published register (with its compiled rule book)."""
    holder: RegisterHolder = request.app.state.register
    return holder.current()


async def get_principal(request: Request, db: Annotated[Session, Depends(get_db, scope="function")]) -> Principal:
    """Who is asking: a bearer token, a session cookie (with CSRF on unsafe methods), or anonymous."""
    auth = request.headers.get("authorization", "")
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError("Authorization header must be 'Bearer <token>'", field="authorization")
        return principal_for_token(db, token.strip(), now_utc())
    sid = request.cookies.get(SESSION_COOKIE)
    if sid:
        principal, csrf = principal_for_session(db, sid, now_utc())
        if request.method not in SAFE_METHODS and request.headers.get(CSRF_HEADER) != csrf:
            raise AuthError(f"missing or wrong {CSRF_HEADER} header for a session request", field=CSRF_HEADER)
        return principal
    return Principal()


class RateLimiter:
    """A token bucket per client address (in memory: one process serves one region)."""

    def __init__(self, per_minute: int) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(max(per_minute, 1))
        self.buckets: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def take(self, key: str) -> None:
        """Spend one token or raise :class:`TooManyRequests`."""
        now = time.monotonic()
        with self.lock:
            tokens, last = self.buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self.buckets[key] = (tokens, now)
                raise TooManyRequests(
                    "too many anonymous checks from this address; wait a little or use an API token",
                    field="rate_limit",
                )
            self.buckets[key] = (tokens - 1.0, now)
            if len(self.buckets) > 100_000:  # forget idle clients
                self.buckets = {k: v for k, v in self.buckets.items() if now - v[1] < 120}


def limit_anonymous(request: Request, principal: Principal) -> None:
    """Anonymous callers are rate limited; accounts and tokens are not."""
    if principal.anonymous:
        limiter: RateLimiter = request.app.state.rate_limiter
        limiter.take(request.client.host if request.client else "unknown")


# scope="function": the transaction commits before the response is sent, so a failed commit is an error
DbSession = Annotated[Session, Depends(get_db, scope="function")]
CurrentRegister = Annotated[Register, Depends(get_register)]
CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
AppSettings = Annotated[Settings, Depends(get_settings)]
