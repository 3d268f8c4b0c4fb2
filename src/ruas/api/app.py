"""The application factory: ``create_app()`` wires settings, database, register, routers and error mapping."""

from __future__ import annotations

import gc
import logging

from fastapi import FastAPI
from sqlalchemy.orm import sessionmaker

import ruas
from ruas import web
from ruas.api import errors
from ruas.api.deps import RateLimiter, RegisterHolder
from ruas.api.routes import agenda, applications, auth, bundling, checks, enforcement, feed, lifecycle, public, routing
from ruas.api.routes import flows as flows_routes
from ruas.core.config import Settings
from ruas.register.store import Register, settings_from_env

log = logging.getLogger("ruas")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service on the register in ``settings.data_dir`` (or ``RUAS_DATABASE_URL``), seeding it if new."""
    settings = settings or Settings.from_env()
    register = Register.open(settings.data_dir, settings_from_env())
    app = FastAPI(
        title="RUAS platform API",
        version=ruas.__version__,
        description=(
            "One register of urban access rules for Noord-Holland and Flevoland: zones, regulations, "
            "the 'may this vehicle enter here?' check, and the exemption desk. Errors are RFC 9457 problem details."
        ),
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.register = RegisterHolder(register)
    app.state.sessions = sessionmaker(register.store.engine, expire_on_commit=False)
    app.state.rate_limiter = RateLimiter(settings.anonymous_checks_per_minute)
    errors.install(app)
    for module in (public, checks, auth, applications, lifecycle, web, feed, routing, enforcement, bundling, agenda):
        app.include_router(module.router)
    app.include_router(flows_routes.router)
    return app


def serve_app() -> FastAPI:
    """The application as ``ruas serve`` runs it: :func:`create_app`, then the start-up heap frozen.

    The register, the compiled rule book and the imported libraries live as long as the process. Moving them
    out of the cyclic garbage collector's generations (``gc.freeze``) keeps the full collections that run
    during requests short: it halved the p99 latency of ``POST /checks`` in ``benchmarks/bench_api.py``.
    Tests build many apps in one process and use :func:`create_app` directly, which freezes nothing.
    """
    app = create_app()
    gc.collect()
    gc.freeze()
    return app
