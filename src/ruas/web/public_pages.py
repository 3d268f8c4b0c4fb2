"""Public pages: the map (home), the region's harmonisation view, open data, the language switch."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from shapely.geometry import mapping, shape
from sqlalchemy import select

from ruas.api.deps import CurrentRegister, DbSession, now_utc
from ruas.services.lifecycle import embedded_framework, harmonisation
from ruas.store.models import Municipality
from ruas.web.core import CurrentVisitor, PortalRoute, redirect, render, safe_next, set_cookie
from ruas.web.i18n import LANG_COOKIE, LANGUAGES
from ruas.web.views import zone_view

router = APIRouter(route_class=PortalRoute, include_in_schema=False)

KIND_ORDER = ("zero_emission", "environmental", "vehicle_restriction", "time_window", "pedestrian")
BOUNDARY_TOLERANCE_DEG = 0.0005
"""Simplification of the municipal boundaries drawn under the zones (about 50 m)."""


@router.get("/")
def home(request: Request, visitor: CurrentVisitor, register: CurrentRegister) -> Response:
    """The region on a map: every zone coloured by kind and status; the same zones as a list below it."""
    now = now_utc()
    zones = [zone_view(z, now) for z in register.book.zones]
    zones.sort(key=lambda z: (z["state"] == "announced", z["authority_name"], z["name"]))
    kinds = [k for k in KIND_ORDER if any(z["kind"] == k for z in zones)]
    return render(request, visitor, "home.html", {"zones": zones, "kinds": kinds, "now": now})


@router.get("/portal/municipalities.geojson")
def municipalities_geojson(request: Request, db: DbSession) -> Response:
    """The municipal boundaries, simplified, as the map's offline background (kept per process)."""
    cache: dict[str, bytes] = request.app.state.__dict__.setdefault("portal_boundaries", {})
    body = cache.get("all")
    if body is None:
        features = []
        for m in db.scalars(select(Municipality).order_by(Municipality.code)):
            if not m.geometry:
                continue
            geom = shape(m.geometry).simplify(BOUNDARY_TOLERANCE_DEG, preserve_topology=True)
            features.append(
                {"type": "Feature", "id": m.code, "geometry": mapping(geom), "properties": {"name": m.name}}
            )
        body = json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":")).encode()
        cache["all"] = body
    return Response(body, media_type="application/geo+json", headers={"Cache-Control": "public, max-age=3600"})


@router.get("/region")
def region(request: Request, visitor: CurrentVisitor, register: CurrentRegister) -> Response:
    """Municipalities x framework items: adopted as is, with deviations (highlighted, listed), or not."""
    view: dict[str, Any] = harmonisation(register.store.engine, now=now_utc())
    if visitor.language == "nl":  # the framework's items carry their Dutch titles as data
        dutch = {i["id"]: i.get("title_nl") for i in embedded_framework().get("items", ())}
        view["items"] = [{**i, "title": dutch.get(i["id"]) or i["title"]} for i in view["items"]]
    only_active = request.query_params.get("all") != "1"
    rows = view["municipalities"]
    if only_active:
        zone_authorities = {z.authority for z in register.book.zones}
        rows = [r for r in rows if r["adopted"] or r["adopted_with_deviations"] or r["code"] in zone_authorities]
    return render(
        request,
        visitor,
        "region.html",
        {"items": view["items"], "rows": rows, "only_active": only_active, "total": len(view["municipalities"])},
    )


@router.get("/language")
def language(request: Request, lang: str = "nl", next_: Annotated[str, Query(alias="next")] = "/") -> Response:
    """Switch the portal's language (a cookie) and go back to the page."""
    response = redirect(safe_next(next_))
    if lang in LANGUAGES:
        set_cookie(response, request, LANG_COOKIE, lang, max_age=365 * 24 * 3600)
    return response
