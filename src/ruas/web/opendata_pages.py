"""Open data: the links to every published file of the feed, and "Data voor logistiek" — per road authority of
Noord-Holland and Flevoland, which kinds of logistics data (Data Top 15, item 14) it publishes, since when.

The view is :func:`ruas.opendata.completeness.completeness` (the same as ``GET /api/v1/feed/completeness``),
computed once per register version and kept with the app."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from ruas.api.deps import CurrentRegister
from ruas.opendata.completeness import completeness, first_published, region_authorities
from ruas.opendata.snapshot import snapshot_of
from ruas.register.store import Register
from ruas.web.core import CurrentVisitor, PortalRoute, render

router = APIRouter(route_class=PortalRoute, include_in_schema=False)


def completeness_view(request: Request, register: Register) -> dict[str, Any]:
    """The completeness view of the register's current version (kept per version)."""
    version = register.store.version()
    cache: dict[int, dict[str, Any]] = request.app.state.__dict__.setdefault("portal_completeness", {})
    found = cache.get(version)
    if found is None:
        found = completeness(snapshot_of(register), region_authorities(), first_published(register.store.engine))
        cache.clear()
        cache[version] = found
    return found


def _day(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@router.get("/open-data")
def open_data(request: Request, visitor: CurrentVisitor) -> Response:
    """Where the machine-readable data are: the API, its contract, every file of the feed, the completeness view."""
    return render(request, visitor, "open_data.html")


@router.get("/open-data/logistics")
def logistics_data(request: Request, visitor: CurrentVisitor, register: CurrentRegister) -> Response:
    """ "Data voor logistiek": per road authority (50 municipalities and the two provinces) and kind of data,
    whether it is published through the platform, since when, and from when its rules apply."""
    view = completeness_view(request, register)
    province = request.query_params.get("province", "")
    rows = view["authorities"]
    provinces = sorted({r["province"] for r in rows if r["province"]})
    if province in provinces:
        rows = [r for r in rows if r["province"] == province]
    rows = sorted(rows, key=lambda r: (-r["published_kinds"], r["name"]))
    for row in rows:
        for cell in row["kinds"].values():
            cell["since"] = _day(cell["published_since"])
            cell["from"] = _day(cell["rules_apply_from"])
    return render(
        request,
        visitor,
        "logistics_data.html",
        {
            "view": view,
            "rows": rows,
            "provinces": provinces,
            "province": province if province in provinces else "",
            "published_at": _day(view["published_at"]),
        },
    )
