"""Log in (session cookie + CSRF token for the portal), log out, bearer tokens for machine clients, ``/me``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from ruas.api.deps import SESSION_COOKIE, AppSettings, CurrentPrincipal, DbSession, now_utc
from ruas.api.schemas import LoginRequest, TokenRequest
from ruas.services.accounts import SESSION_HOURS, authenticate, create_session, create_token, end_session
from ruas.store.models import User

router = APIRouter(prefix="/api/v1/auth", tags=["accounts"])


def _me(p: Any) -> dict[str, Any]:
    return {
        "username": p.username,
        "role": p.role,
        "kvk": p.kvk,
        "municipalities": sorted(p.municipalities),
        "authenticated_by": p.via,
    }


@router.post("/login", operation_id="login")
def login(body: LoginRequest, response: Response, db: DbSession, settings: AppSettings) -> dict[str, Any]:
    """Start a portal session: sets an HttpOnly session cookie and returns the CSRF token to send back."""
    user = authenticate(db, body.username, body.password)
    sid, csrf = create_session(db, user, now_utc())
    response.set_cookie(
        SESSION_COOKIE,
        sid,
        max_age=SESSION_HOURS * 3600,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
        path="/",
    )
    return {"csrf_token": csrf, "username": user.username, "role": user.role}


@router.post("/logout", operation_id="logout", status_code=204)
def logout(request: Request, response: Response, db: DbSession, principal: CurrentPrincipal) -> Response:
    """End the portal session (needs the CSRF header like every unsafe session request)."""
    sid = request.cookies.get(SESSION_COOKIE)
    if sid and principal.via == "session":
        end_session(db, sid)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", operation_id="me")
def me(principal: CurrentPrincipal) -> dict[str, Any]:
    """Who the credentials belong to (anonymous without credentials)."""
    return _me(principal)


@router.post("/tokens", operation_id="createToken", status_code=201)
def tokens(body: TokenRequest, db: DbSession, principal: CurrentPrincipal) -> dict[str, Any]:
    """A new bearer token for the logged-in account; the clear token is shown only in this response."""
    principal.require("applicant", "officer", "admin")
    user = db.get(User, principal.user_id)
    assert user is not None
    token = create_token(db, user, name=body.name, now=now_utc(), days=body.days)
    return {"token": token, "name": body.name, "expires_in_days": body.days}
