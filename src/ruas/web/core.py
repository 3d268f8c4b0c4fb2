"""What every portal page shares: settings, the visitor (session, CSRF token, language), rendering, errors.

- Pages are Jinja2 templates rendered on the server, one environment per language (gettext from
  :mod:`ruas.web.i18n`), autoescaped.
- The visitor: a portal session is the same ``ruas_session`` cookie as the API's (made by
  :func:`ruas.services.accounts.create_session`); its CSRF token goes into every form as ``csrf_token``.
  Anonymous visitors get a random token in the ``ruas_csrf`` cookie (double submit), so the login form
  is protected too.
- :class:`PortalRoute` turns service errors into pages: not logged in -> the login page (with ``next``),
  forbidden -> 403, not found -> 404, bad input -> 422 naming what is wrong; and adds ``Server-Timing``.
"""

from __future__ import annotations

import hmac
import os
import secrets
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape

import ruas
from ruas.api.deps import SESSION_COOKIE, DbSession, now_utc
from ruas.domain.errors import InvalidInput, NotFound, RuasError
from ruas.services.accounts import AuthError, Forbidden, Principal, principal_for_session
from ruas.web.i18n import LANG_COOKIE, LANGUAGES, Formatter, pick_language, translations
from ruas.web.texts import words

TEMPLATES = os.path.join(os.path.dirname(__file__), "templates")
CSRF_COOKIE = "ruas_csrf"
CSRF_FIELD = "csrf_token"
DEFAULT_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_TILE_ATTRIBUTION = "© OpenStreetMap contributors"


@dataclass(frozen=True, slots=True)
class PortalSettings:
    """Portal settings from the environment.

    ``RUAS_TILE_URL``: the base-map tile URL template (default the online OpenStreetMap tile server;
    empty: no base map, zones draw on a plain background with the municipal boundaries).
    ``RUAS_TILE_ATTRIBUTION``: the attribution shown with the tiles.
    """

    tile_url: str = DEFAULT_TILE_URL
    tile_attribution: str = DEFAULT_TILE_ATTRIBUTION

    @classmethod
    def from_env(cls) -> PortalSettings:
        """Read ``RUAS_TILE_URL`` and ``RUAS_TILE_ATTRIBUTION``."""
        url = os.environ.get("RUAS_TILE_URL", DEFAULT_TILE_URL).strip()
        if url and not url.startswith(("https://", "http://", "/")):
            raise InvalidInput(
                f"RUAS_TILE_URL={url!r}: expected an http(s) URL template or empty", field="RUAS_TILE_URL"
            )
        return cls(url, os.environ.get("RUAS_TILE_ATTRIBUTION", DEFAULT_TILE_ATTRIBUTION))

    @property
    def tile_origin(self) -> str | None:
        """The origin the tiles come from (for the Content-Security-Policy), ``None`` without tiles."""
        if not self.tile_url or self.tile_url.startswith("/"):
            return None
        parts = urlsplit(self.tile_url.replace("{s}", "a"))
        host = parts.netloc.replace("a.", "*.", 1) if "{s}" in self.tile_url else parts.netloc
        return f"{parts.scheme}://{host}"


def portal_settings(request: Request) -> PortalSettings:
    """The portal settings of this app (read from the environment once)."""
    state = request.app.state.__dict__
    if "portal_settings" not in state:
        state["portal_settings"] = PortalSettings.from_env()
    settings: PortalSettings = state["portal_settings"]
    return settings


# --------------------------------------------------------------------------- the visitor


@dataclass(frozen=True, slots=True)
class Visitor:
    """Who is looking at the page: the principal, the CSRF token for forms, and the language."""

    principal: Principal
    csrf: str
    language: str
    new_csrf_cookie: bool = False

    @property
    def logged_in(self) -> bool:
        """True with a valid portal session."""
        return not self.principal.anonymous

    def require(self, *roles: str) -> Principal:
        """The principal when it has one of ``roles`` (raises :class:`AuthError` / :class:`Forbidden`)."""
        self.principal.require(*roles)
        return self.principal


async def get_visitor(request: Request, db: DbSession) -> Visitor:
    """The visitor of this request: a portal session (cookie) or anonymous with a double-submit CSRF token."""
    language = pick_language(request.cookies.get(LANG_COOKIE), request.query_params.get("lang"))
    sid = request.cookies.get(SESSION_COOKIE)
    if sid:
        try:
            principal, csrf = principal_for_session(db, sid, now_utc())
            return Visitor(principal, csrf, language)
        except AuthError:
            pass  # an expired session: the visitor is anonymous again
    token = request.cookies.get(CSRF_COOKIE, "")
    if len(token) < 20:
        return Visitor(Principal(), secrets.token_urlsafe(24), language, new_csrf_cookie=True)
    return Visitor(Principal(), token, language)


CurrentVisitor = Annotated[Visitor, Depends(get_visitor)]


class CsrfError(AuthError):
    """A form arrived without the visitor's CSRF token."""


def check_csrf(visitor: Visitor, form: Mapping[str, Any]) -> None:
    """Raise :class:`CsrfError` unless the form carries the visitor's CSRF token."""
    sent = form.get(CSRF_FIELD)
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), visitor.csrf.encode()):
        raise CsrfError("the form expired or did not come from this site: reload the page and try again", field="csrf")


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go to after logging in (never another site).

    >>> safe_next("/officer/queue"), safe_next("//evil.example/"), safe_next("https://x.example"), safe_next(None)
    ('/officer/queue', '/', '/', '/')
    """
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


# --------------------------------------------------------------------------- rendering


@lru_cache(maxsize=len(LANGUAGES))
def environment(language: str) -> Environment:
    """The Jinja2 environment of ``language`` (templates compiled once per language)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.globals["version"] = ruas.__version__
    env.globals["languages"] = LANGUAGES
    env.filters["fromiso"] = datetime.fromisoformat
    return env


def gettext(language: str) -> Callable[[str], str]:
    """The gettext function of ``language`` for messages made in Python code."""
    return translations(language).gettext


def security_headers(response: Response, settings: PortalSettings) -> None:
    """Content-Security-Policy (scripts only from this site, tiles from the tile server) and friends."""
    img = "'self' data:" + (f" {settings.tile_origin}" if settings.tile_origin else "")
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; img-src {img}; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"


def render(
    request: Request, visitor: Visitor, template: str, context: Mapping[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    """Render ``template`` for the visitor: language, CSRF token, who is logged in, the current path."""
    settings = portal_settings(request)
    env = environment(visitor.language)
    path = request.url.path
    query = request.url.query
    html = env.get_template(template).render(
        {
            "request": request,
            "visitor": visitor,
            "principal": visitor.principal,
            "lang": visitor.language,
            "csrf_token": visitor.csrf,
            "fmt": Formatter(visitor.language),
            "words": words(visitor.language),
            "path": path,
            "here": path + (f"?{query}" if query else ""),
            "here_quoted": quote(path + (f"?{query}" if query else ""), safe=""),
            "portal": settings,
            **(context or {}),
        }
    )
    response = HTMLResponse(html, status_code=status)
    security_headers(response, settings)
    response.headers["Cache-Control"] = "no-store" if visitor.logged_in else "private, no-cache"
    response.headers["Content-Language"] = visitor.language
    if visitor.new_csrf_cookie:
        set_cookie(response, request, CSRF_COOKIE, visitor.csrf, max_age=12 * 3600)
    return response


def set_cookie(response: Response, request: Request, name: str, value: str, *, max_age: int) -> None:
    """An HttpOnly, SameSite=Lax cookie for the whole site (Secure in production)."""
    secure = bool(getattr(request.app.state.settings, "cookie_secure", False))
    response.set_cookie(name, value, max_age=max_age, httponly=True, secure=secure, samesite="lax", path="/")


def redirect(target: str) -> RedirectResponse:
    """A 303 See Other (after a POST the browser GETs the target)."""
    return RedirectResponse(target, status_code=303)


# --------------------------------------------------------------------------- errors as pages


def _visitor_for_error(request: Request) -> Visitor:
    language = pick_language(request.cookies.get(LANG_COOKIE), request.query_params.get("lang"))
    return Visitor(Principal(), request.cookies.get(CSRF_COOKIE, ""), language)


def error_page(request: Request, exc: RuasError) -> Response:
    """The page for an error that escaped a handler."""
    visitor = _visitor_for_error(request)
    if isinstance(exc, AuthError) and not isinstance(exc, CsrfError):
        if request.method == "GET":
            return redirect(
                "/login?next="
                + quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""), safe="")
            )
        status = 401
    elif isinstance(exc, CsrfError | Forbidden):
        status = 403
    elif isinstance(exc, NotFound):
        status = 404
    elif isinstance(exc, InvalidInput):
        status = 422
    else:
        status = 400
    return render(
        request, visitor, "error.html", {"status": status, "message": exc.message, "details": exc.details}, status
    )


class PortalRoute(APIRoute):
    """A portal route: service errors become pages, and the response says its server time (``Server-Timing``)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            started = time.perf_counter()
            try:
                response = await original(request)
            except RuasError as exc:
                response = error_page(request, exc)
            response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
            return response

        return handler
