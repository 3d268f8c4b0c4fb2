"""RuasError -> RFC 9457 problem details, in one place."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ruas.domain.errors import Conflict, InvalidInput, NotFound, RuasError
from ruas.services.accounts import AuthError, Forbidden

PROBLEM = "application/problem+json"

__all__ = ["Conflict", "TooManyRequests", "install", "problem", "status_of"]


class TooManyRequests(RuasError):
    """The caller exceeded the rate limit."""


def status_of(exc: RuasError) -> int:
    """The HTTP status for a domain error."""
    if isinstance(exc, AuthError):
        return 401
    if isinstance(exc, Forbidden):
        return 403
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, TooManyRequests):
        return 429
    if isinstance(exc, InvalidInput):
        return 422
    return 400


def problem(status: int, title: str, detail: str, instance: str, **extra: Any) -> JSONResponse:
    """A problem-details response."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, "instance": instance, **extra}
    headers = {"WWW-Authenticate": 'Bearer realm="ruas"'} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def install(app: FastAPI) -> None:
    """Register the handlers that turn errors into problem details naming the field."""

    @app.exception_handler(RuasError)
    async def _ruas(request: Request, exc: RuasError) -> JSONResponse:
        status = status_of(exc)
        details = {k: v for k, v in exc.details.items() if isinstance(v, str | int | float | bool | list | None)}
        return problem(status, type(exc).__name__, exc.message, request.url.path, errors=[details] if details else [])

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
        return problem(422, "InvalidInput", detail, request.url.path, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, "HTTPError", str(exc.detail), request.url.path)
