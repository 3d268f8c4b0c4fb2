"""Log in and out of the portal with the accounts service (the same session cookie as the API)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from ruas.api.deps import SESSION_COOKIE, DbSession, now_utc
from ruas.services.accounts import SESSION_HOURS, AuthError, authenticate, create_session, end_session
from ruas.web.core import (
    CSRF_COOKIE,
    CurrentVisitor,
    PortalRoute,
    check_csrf,
    gettext,
    redirect,
    render,
    safe_next,
    set_cookie,
)

router = APIRouter(route_class=PortalRoute, include_in_schema=False)

HOME_OF_ROLE = {"applicant": "/exemptions", "officer": "/officer/queue", "admin": "/officer/queue"}


@router.get("/login")
def login_form(request: Request, visitor: CurrentVisitor, next_: Annotated[str, Query(alias="next")] = "") -> Response:
    """The login form."""
    return render(request, visitor, "login.html", {"next": safe_next(next_, ""), "errors": {}, "username": ""})


@router.post("/login")
async def login(request: Request, visitor: CurrentVisitor, db: DbSession) -> Response:
    """Check the credentials, start a session (cookie) and go on to where the visitor was going."""
    form = await request.form()
    check_csrf(visitor, form)
    username = str(form.get("username", "")).strip()
    password = str(form.get("password", ""))
    target = safe_next(str(form.get("next", "")), "")
    _ = gettext(visitor.language)
    try:
        if not username or not password:
            raise AuthError(_("Fill in your username and password."), field="credentials")
        user = authenticate(db, username, password)
    except AuthError:
        message = (
            _("Unknown username or wrong password.")
            if username and password
            else _("Fill in your username and password.")
        )
        return render(
            request,
            visitor,
            "login.html",
            {"next": target, "errors": {"credentials": message}, "username": username},
            status=401,
        )
    sid, _csrf = create_session(db, user, now_utc())
    response = redirect(target or HOME_OF_ROLE.get(user.role, "/"))
    set_cookie(response, request, SESSION_COOKIE, sid, max_age=SESSION_HOURS * 3600)
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.post("/logout")
async def logout(request: Request, visitor: CurrentVisitor, db: DbSession) -> Response:
    """End the session."""
    form = await request.form()
    check_csrf(visitor, form)
    sid = request.cookies.get(SESSION_COOKIE)
    if sid and visitor.logged_in:
        end_session(db, sid)
    response = redirect("/")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
