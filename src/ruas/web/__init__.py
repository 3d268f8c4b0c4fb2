"""The portal ("één loket"): server-rendered pages for businesses, officers and the region.

``router`` holds every page and the static files; ``ruas.api.app.create_app`` includes it. Pages call the
services (check, fleet, desk, lifecycle, accounts) and the rules engine directly; see ``docs/portal.md``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.staticfiles import StaticFiles

from ruas.web import (
    agenda_pages,
    auth_pages,
    bundling_pages,
    check_pages,
    enforcement_pages,
    exemption_pages,
    fleet_pages,
    flows_pages,
    opendata_pages,
    public_pages,
    route_pages,
    rules_pages,
)

router = APIRouter(include_in_schema=False)
for _module in (
    public_pages,
    check_pages,
    fleet_pages,
    exemption_pages,
    rules_pages,
    auth_pages,
    agenda_pages,
    opendata_pages,
    route_pages,
    flows_pages,
    bundling_pages,
    enforcement_pages,
):
    router.include_router(_module.router)
router.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="portal-static")

__all__ = ["router"]
