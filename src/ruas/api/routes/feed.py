"""The open data feed: change feed, the published files (DATEX II, GeoJSON, OSM tags) and completeness.

The files are built once per register version and kept in memory; each carries a strong ETag (a
hash of its bytes: the export is deterministic) and answers ``If-None-Match`` with 304.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from ruas.api.deps import CurrentRegister
from ruas.opendata.changes import changes_since
from ruas.opendata.completeness import completeness, first_published, region_authorities
from ruas.opendata.geojson import dumps, geojson_bytes
from ruas.opendata.ndw_profile import controlled_zone_xml
from ruas.opendata.osm import osm_document
from ruas.opendata.snapshot import Snapshot, snapshot_of
from ruas.opendata.traffic_regulation import traffic_regulation_xml
from ruas.register.store import Register

router = APIRouter(prefix="/api/v1/feed", tags=["open data"])

CACHE = "public, max-age=60"
_LOCK = threading.Lock()


def _matches(header: str | None, tag: str) -> bool:
    """``If-None-Match`` (RFC 9110, weak comparison): ``*`` or a list of entity tags."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(t.strip().removeprefix("W/") == tag for t in header.split(","))


def _published(
    request: Request, register: Register, name: str, build: Callable[[Snapshot, Register], bytes]
) -> tuple[bytes, str]:
    """The file ``name`` for the register's current version: (bytes, strong ETag), built once per version."""
    version = register.store.version()
    cache: dict[tuple[int, str], tuple[bytes, str]] = request.app.state.__dict__.setdefault("feed_cache", {})
    found = cache.get((version, name))
    if found is None:
        with _LOCK:
            found = cache.get((version, name))
            if found is None:
                body = build(snapshot_of(register), register)
                found = (body, '"' + hashlib.sha256(body).hexdigest()[:40] + '"')
                for key in [k for k in cache if k[0] != version]:
                    del cache[key]
                cache[(version, name)] = found
    return found


def _file(
    request: Request, register: Register, name: str, media_type: str, build: Callable[[Snapshot, Register], bytes]
) -> Response:
    body, tag = _published(request, register, name, build)
    headers = {"ETag": tag, "Cache-Control": CACHE}
    if _matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


@router.get("/changes", operation_id="feedChanges")
def feed_changes(
    register: CurrentRegister,
    since: Annotated[int, Query(ge=0, le=2**31 - 1, description="the last register version you have; 0: all")] = 0,
) -> dict[str, Any]:
    """What was added, changed or repealed after register version ``since``, each with its zone version.

    Keep ``register_version`` from the answer and pass it as ``since`` next time to sync incrementally.
    """
    return changes_since(register.store.engine, since)


@router.get("/datex/controlled-zones.xml", operation_id="feedDatexControlledZones")
def datex_controlled_zones(request: Request, register: CurrentRegister) -> Response:
    """The emission zones as DATEX II v3 ControlledZoneTablePublication in NDW's profile."""
    return _file(request, register, "cz", "application/xml", lambda s, r: controlled_zone_xml(s))


@router.get("/datex/traffic-regulations.xml", operation_id="feedDatexTrafficRegulations")
def datex_traffic_regulations(request: Request, register: CurrentRegister) -> Response:
    """Delivery windows, vehicle restrictions and platform zones as DATEX II v3 TrafficRegulationPublication."""
    return _file(request, register, "tr", "application/xml", lambda s, r: traffic_regulation_xml(s, r.settings))


@router.get("/zones.geojson", operation_id="feedGeoJSON")
def feed_geojson(request: Request, register: CurrentRegister) -> Response:
    """Every zone (announced ones with a null geometry) with its regulations and rules as properties."""
    return _file(request, register, "geojson", "application/geo+json", lambda s, r: geojson_bytes(s, r.settings))


@router.get("/osm-tags.json", operation_id="feedOsmTags")
def feed_osm(request: Request, register: CurrentRegister) -> Response:
    """OSM tagging suggestions (maxweightrating, maxlength, hgv/motor_vehicle conditional access, ...)."""
    return _file(request, register, "osm", "application/json", lambda s, r: dumps(osm_document(s, r.settings)))


@router.get("/completeness", operation_id="feedCompleteness")
def feed_completeness(request: Request, register: CurrentRegister) -> Response:
    """'Data voor logistiek': per road authority of NH and Flevoland, which logistics data it publishes, since when."""

    def build(snapshot: Snapshot, reg: Register) -> bytes:
        return dumps(completeness(snapshot, region_authorities(), first_published(reg.store.engine)))

    return _file(request, register, "completeness", "application/json", build)
