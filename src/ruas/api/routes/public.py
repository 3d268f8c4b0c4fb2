"""Public reads: health, version, municipalities, zones (JSON and GeoJSON), regulations, vehicles.

Lists are paginated; public reads carry an ETag derived from the register version and the
query, and cache headers, so navigation and planning software can poll cheaply.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import select, text

import ruas
from ruas.api.deps import CurrentRegister, DbSession
from ruas.domain.errors import NotFound
from ruas.domain.regulation import Regulation, Zone
from ruas.domain.timeutil import parse_instant
from ruas.store.models import Municipality

router = APIRouter(prefix="/api/v1")

CBS_CODE = re.compile(r"^GM\d{4}$")

CACHE = "public, max-age=60"


def _etag(register_version: int, request: Request) -> str:
    raw = f"{register_version}|{request.url.path}|{request.url.query}"
    return '"' + hashlib.sha256(raw.encode()).hexdigest()[:32] + '"'


def _matches(header: str | None, tag: str) -> bool:
    """RFC 9110 If-None-Match: ``*`` or a comma-separated list of (possibly weak) entity tags."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(t.strip().removeprefix("W/") == tag for t in header.split(","))


def cached(request: Request, response: Response, register_version: int) -> Response | None:
    """Set ETag and Cache-Control; return a 304 response when the client already has this version."""
    tag = _etag(register_version, request)
    if _matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers={"ETag": tag, "Cache-Control": CACHE})
    response.headers["ETag"] = tag
    response.headers["Cache-Control"] = CACHE
    return None


def _paginate(items: list[dict[str, Any]], page: int, page_size: int) -> dict[str, Any]:
    start = (page - 1) * page_size
    return {"items": items[start : start + page_size], "page": page, "page_size": page_size, "total": len(items)}


PageNo = Annotated[int, Query(ge=1, le=100_000, description="page number, from 1")]
PageSize = Annotated[int, Query(ge=1, le=500, description="items per page")]


@router.get("/health", operation_id="health", tags=["service"])
def health(db: DbSession, register: CurrentRegister) -> dict[str, Any]:
    """Liveness and readiness: the database answers and the register is loaded."""
    db.execute(text("SELECT 1"))
    return {"status": "ok", "database": "ok", "zones": len(register.zones)}


@router.get("/version", operation_id="version", tags=["service"])
def version(register: CurrentRegister) -> dict[str, Any]:
    """The software version and the version of the published register."""
    return {"version": ruas.__version__, "register_version": register.store.version()}


@router.get("/municipalities", operation_id="listMunicipalities", tags=["register"])
def list_municipalities(
    request: Request,
    response: Response,
    db: DbSession,
    register: CurrentRegister,
    page: PageNo = 1,
    page_size: PageSize = 100,
) -> Any:
    """The municipalities of Noord-Holland and Flevoland (CBS 2024), with the number of zones each governs."""
    not_modified = cached(request, response, register.store.version())
    if not_modified:
        return not_modified
    zones_by: dict[str, int] = {}
    for z in register.zones:
        zones_by[z.authority] = zones_by.get(z.authority, 0) + 1
    rows = db.execute(select(Municipality).order_by(Municipality.code)).scalars().all()
    items = [
        {
            "code": m.code,
            "name": m.name,
            "province_code": m.province_code,
            "province_name": m.province_name,
            "population": m.population,
            "zones": zones_by.get(m.code, 0),
        }
        for m in rows
    ]
    return _paginate(items, page, page_size)


@router.get("/municipalities/{code}", operation_id="getMunicipality", tags=["register"])
def get_municipality(code: str, request: Request, response: Response, db: DbSession, register: CurrentRegister) -> Any:
    """One municipality with its boundary (GeoJSON) and the ids of its zones."""
    code = code.strip().upper()
    m = db.get(Municipality, code) if CBS_CODE.match(code) else None
    if m is None:
        raise NotFound(f"municipality {code!r} is not in the register (expected e.g. GM0363)", field="code")
    not_modified = cached(request, response, register.store.version())
    if not_modified:
        return not_modified
    return {
        "code": m.code,
        "name": m.name,
        "province_code": m.province_code,
        "population": m.population,
        "geometry": m.geometry,
        "zones": [z.id for z in register.zones if z.authority == m.code],
    }


def _filter_zones(
    zones: tuple[Zone, ...], municipality: str | None, kind: str | None, status: str | None, at: str | None
) -> list[Zone]:
    moment: datetime | None = parse_instant(at, "at") if at else None
    out = []
    for z in zones:
        if municipality and z.authority != municipality.upper():
            continue
        if kind and z.kind.value != kind:
            continue
        if status and z.status.value != status:
            continue
        if moment is not None and not any(r.validity.contains(moment) for r in z.regulations):
            continue
        out.append(z)
    return out


def regulation_data(reg: Regulation) -> dict[str, Any]:
    """A regulation as published: its rules (condition trees), validity, exemptions and legal source."""
    return {
        "id": reg.id,
        "name": reg.name,
        "kind": reg.kind.value,
        "status": reg.status.value,
        "authority": reg.authority,
        "framework": reg.framework,
        "prohibition": reg.prohibition,
        "legal_source": reg.legal_source.to_data(),
        "valid_from": reg.validity.start.isoformat() if reg.validity.start else None,
        "valid_until": reg.validity.end.isoformat() if reg.validity.end else None,
        "subject": reg.subject_label,
        "subject_condition": reg.subject.to_data(),
        "exemptions": [
            {"id": c.id, "kind": c.kind, "label": c.label, "status": c.status.value, "condition": c.condition.to_data()}
            for c in reg.exemptions
        ],
        "exemption_types": list(reg.exemption_types),
    }


def zone_data(z: Zone, *, full: bool) -> dict[str, Any]:
    """A zone's summary, or (``full``) with its regulations and published NDW condition."""
    starts = [r.validity.start for r in z.regulations if r.validity.start]
    data: dict[str, Any] = {
        "id": z.id,
        "name": z.name,
        "kind": z.kind.value,
        "status": z.status.value,
        "authority": z.authority,
        "authority_name": z.authority_name,
        "valid_from": min(starts).isoformat() if starts else None,
        "url": z.url,
        "illustrative": z.illustrative,
        "has_area": z.geometry is not None,
        "notes": list(z.notes),
    }
    if full:
        data["regulations"] = [regulation_data(r) for r in z.regulations]
        data["source"] = dict(z.source)
        data["published_condition"] = z.published_condition.to_data() if z.published_condition else None
        data["geometry"] = z.geometry
    return data


Filter = Annotated[str | None, Query(max_length=40)]


def zone_filter(
    register: CurrentRegister,
    municipality: Filter = None,
    kind: Filter = None,
    status: Filter = None,
    at: Filter = None,
) -> list[Zone]:
    """The zones matching the query's municipality (CBS code), kind, status and moment in force."""
    return _filter_zones(register.zones, municipality, kind, status, at)


FilteredZones = Annotated[list[Zone], Depends(zone_filter)]


@router.get("/zones", operation_id="listZones", tags=["register"])
def list_zones(
    request: Request,
    response: Response,
    register: CurrentRegister,
    zones: FilteredZones,
    page: PageNo = 1,
    page_size: PageSize = 100,
) -> Any:
    """Zones and areas, filtered by municipality (CBS code), kind, status and a moment they are in force."""
    not_modified = cached(request, response, register.store.version())
    if not_modified:
        return not_modified
    return _paginate([zone_data(z, full=False) for z in zones], page, page_size)


@router.get("/zones.geojson", operation_id="listZonesGeoJSON", tags=["register"])
def zones_geojson(
    request: Request,
    response: Response,
    register: CurrentRegister,
    zones: FilteredZones,
) -> Any:
    """Every zone with an area as a GeoJSON FeatureCollection, its rules as properties.

    The serialised document is kept per (register version, query) for this app: it only changes
    when the register does.
    """
    not_modified = cached(request, response, register.store.version())
    if not_modified:
        return not_modified
    cache: dict[tuple[int, str], bytes] = request.app.state.__dict__.setdefault("geojson_cache", {})
    key = (register.store.version(), request.url.query)
    body = cache.get(key)
    if body is None:
        features = [
            {
                "type": "Feature",
                "id": z.id,
                "geometry": z.geometry,
                "properties": {
                    **zone_data(z, full=False),
                    "regulations": [
                        {k: v for k, v in regulation_data(r).items() if k not in ("subject_condition", "exemptions")}
                        for r in z.regulations
                    ],
                },
            }
            for z in zones
            if z.geometry is not None
        ]
        body = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False).encode()
        if len(cache) >= 64:
            cache.clear()
        cache[key] = body
    headers = {k: v for k, v in response.headers.items() if k.lower() in ("etag", "cache-control")}
    return Response(body, media_type="application/geo+json", headers=headers)


@router.get("/zones/{zone_id}", operation_id="getZone", tags=["register"])
def get_zone(zone_id: str, request: Request, response: Response, register: CurrentRegister) -> Any:
    """One zone with its regulations, legal sources, area and the condition tree NDW published."""
    not_modified = cached(request, response, register.store.version())
    if not_modified:
        return not_modified
    return zone_data(register.book.zone(zone_id), full=True)


@router.get("/regulations", operation_id="listRegulations", tags=["register"])
def list_regulations(
    request: Request,
    response: Response,
    register: CurrentRegister,
    zones: FilteredZones,
    page: PageNo = 1,
    page_size: PageSize = 100,
) -> Any:
    """Every regulation of the filtered zones, with its rules as data."""
    not_modified = cached(request, response, register.store.version())
    if not_modified:
        return not_modified
    items = [{"zone_id": z.id, **regulation_data(r)} for z in zones for r in z.regulations]
    return _paginate(items, page, page_size)


@router.get("/vehicles/{plate}", operation_id="getVehicle", tags=["vehicles"])
def get_vehicle(plate: str, register: CurrentRegister) -> dict[str, Any]:
    """The register's attributes of a vehicle (RDW open data, or synthetic in the embedded default)."""
    v = register.vehicle(plate)
    return {
        "plate": v.plate,
        "category": v.category.value,
        "body": v.body.value,
        "fuels": sorted(f.value for f in v.fuels),
        "emission_class": v.emission_class.value,
        "first_admission": v.first_admission.isoformat(),
        "max_mass_kg": v.max_mass_kg,
        "length_m": v.length_m,
        "width_m": v.width_m,
        "height_m": v.height_m,
        "body_codes": sorted(v.body_codes),
        "special_purpose": sorted(v.special_purpose),
        "special_codes": sorted(v.special_codes),
        "synthetic": v.synthetic,
        "description": v.describe(),
    }
