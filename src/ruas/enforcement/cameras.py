"""The camera registry: id, location, direction, the zone entrance it watches, municipality.

Importable from CSV (``id,name,lat,lon,direction_deg,zones,municipality``; ``zones`` separated by ``|``;
comma or semicolon as delimiter) or GeoJSON (a FeatureCollection of Points whose properties carry the
same names; ``zone`` is accepted for a single zone). An import is one transaction: every row is checked
first (known zones with an area, CBS code, coordinates) and a bad row rejects the whole file, naming it.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from ruas.domain.errors import InvalidInput, SourceError
from ruas.domain.regulation import ZoneStatus
from ruas.register.records import municipality_names
from ruas.register.spatial import check_point
from ruas.rules.engine import RuleBook
from ruas.store.models import Camera as CameraRow

CAMERA_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


@dataclass(frozen=True, slots=True)
class Camera:
    """An ANPR camera: ``direction_deg`` is the compass bearing of the traffic it reads (into the zone)."""

    id: str
    lat: float
    lon: float
    zones: tuple[str, ...]
    municipality: str
    name: str = ""
    direction_deg: float | None = None
    synthetic: bool = False
    active: bool = True

    def to_data(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "id": self.id,
            "name": self.name,
            "lat": self.lat,
            "lon": self.lon,
            "direction_deg": self.direction_deg,
            "zones": list(self.zones),
            "municipality": self.municipality,
            "synthetic": self.synthetic,
            "active": self.active,
        }


def validate_camera(raw: Mapping[str, Any], book: RuleBook, where: str) -> Camera:
    """A camera from one CSV row or GeoJSON feature's properties (``where`` names it in errors)."""

    def bad(field: str, problem: str) -> SourceError:
        return SourceError(f"{where}: {field} {problem}", field=field, where=where)

    cid = str(raw.get("id") or "").strip()
    if not CAMERA_ID.match(cid):
        raise bad("id", f"{cid!r} must be 1-64 letters, digits or _ . : - (starting with a letter or digit)")
    try:
        lat, lon = check_point(float(raw["lat"]), float(raw["lon"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise bad("lat/lon", "must be WGS84 degrees, e.g. lat 52.37 lon 4.89") from exc
    except InvalidInput as exc:
        raise bad("lat/lon", exc.message) from exc
    zones_raw = raw.get("zones", raw.get("zone"))
    if isinstance(zones_raw, str):
        zones = tuple(z.strip() for z in zones_raw.split("|") if z.strip())
    elif isinstance(zones_raw, list):
        zones = tuple(str(z).strip() for z in zones_raw if str(z).strip())
    else:
        zones = ()
    if not zones:
        raise bad("zones", "must name at least one zone id (see `ruas zones`), separated by |")
    for z in zones:
        if not book.has_zone(z):
            raise bad("zones", f"{z!r} is not a zone of the register")
        zone = book.zone(z)
        if zone.status is ZoneStatus.ANNOUNCED or zone.geometry is None:
            raise bad("zones", f"{z!r} is announced without an area: no entrance to watch yet")
    muni = str(raw.get("municipality") or "").strip().upper() or book.zone(zones[0]).authority
    if muni not in municipality_names():
        raise bad("municipality", f"{muni!r} is not a CBS municipality code (e.g. GM0363)")
    direction: float | None = None
    if raw.get("direction_deg") not in (None, ""):
        try:
            direction = float(raw["direction_deg"])
        except (TypeError, ValueError) as exc:
            raise bad("direction_deg", "must be a compass bearing in degrees (0-360)") from exc
        if not 0 <= direction <= 360:
            raise bad("direction_deg", "must be within 0..360")
    synthetic = str(raw.get("synthetic", "")).strip().lower() in ("1", "true", "yes")
    return Camera(cid, lat, lon, zones, muni, str(raw.get("name") or ""), direction, synthetic)


def read_cameras(path: Path, book: RuleBook) -> list[Camera]:
    """Cameras from a CSV or GeoJSON file; raises :class:`SourceError` naming the file and row."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise SourceError(f"{path}: cannot read ({exc.strerror})", file=str(path)) from exc
    return parse_cameras(text, book, path.name)


def parse_cameras(text: str, book: RuleBook, name: str = "cameras") -> list[Camera]:
    """Cameras from CSV or GeoJSON text (sniffed: GeoJSON starts with ``{``)."""
    cams: list[Camera] = []
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SourceError(f"{name}: not valid JSON ({exc.msg}, line {exc.lineno})", file=name) from exc
        features = data.get("features") if isinstance(data, dict) else None
        if not isinstance(features, list):
            raise SourceError(f"{name}: expected a GeoJSON FeatureCollection", file=name)
        for i, f in enumerate(features):
            geom = (f or {}).get("geometry") or {}
            if geom.get("type") != "Point" or not isinstance(geom.get("coordinates"), list):
                raise SourceError(f"{name}: feature {i}: geometry must be a Point", file=name, feature=i)
            lon, lat = geom["coordinates"][:2]
            props = dict(f.get("properties") or {})
            cams.append(validate_camera({**props, "lat": lat, "lon": lon}, book, f"{name} feature {i}"))
    else:
        sample = text[:2048]
        delimiter = ";" if sample.count(";") > sample.count(",") else ","
        reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
        missing = {"id", "lat", "lon"} - set(reader.fieldnames or ())
        if missing:
            raise SourceError(f"{name}: missing columns {sorted(missing)}", file=name, missing=sorted(missing))
        for i, row in enumerate(reader, start=2):
            cams.append(validate_camera(row, book, f"{name} line {i}"))
    ids = [c.id for c in cams]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise SourceError(f"{name}: camera ids appear twice: {dup[:5]}", file=name, field="id")
    if not cams:
        raise SourceError(f"{name}: no cameras in the file", file=name)
    return cams


def save_cameras(session: Session, cameras: Sequence[Camera], now: datetime) -> tuple[list[str], list[str]]:
    """Add or replace cameras by id (in the caller's transaction); returns (added, updated) ids."""
    added, updated = [], []
    for cam in cameras:
        row = session.get(CameraRow, cam.id)
        if row is None:
            row = CameraRow(id=cam.id)
            added.append(cam.id)
        else:
            updated.append(cam.id)
        row.name, row.lat, row.lon, row.direction_deg = cam.name, cam.lat, cam.lon, cam.direction_deg
        row.zones, row.municipality, row.synthetic, row.active = list(cam.zones), cam.municipality, cam.synthetic, True
        row.updated_at = now
        session.add(row)
    session.flush()
    return added, updated


def load_cameras(session: Session, ids: Iterable[str] | None = None) -> list[Camera]:
    """Cameras of the registry (all, or those with these ids), by id."""
    q = select(CameraRow).order_by(CameraRow.id)
    if ids is not None:
        q = q.where(CameraRow.id.in_(sorted(set(ids))))
    return [
        Camera(
            r.id,
            r.lat,
            r.lon,
            tuple(r.zones or ()),
            r.municipality,
            r.name,
            r.direction_deg,
            r.synthetic,
            r.active,
        )
        for r in session.scalars(q)
    ]


def camera_zone_frame(cameras: Sequence[Camera]) -> pl.DataFrame:
    """One row per (camera, zone it watches): ``camera_id``, ``zone_id``, ``municipality``."""
    rows = [(c.id, z, c.municipality) for c in cameras if c.active for z in c.zones]
    return pl.DataFrame(
        {
            "camera_id": [r[0] for r in rows],
            "zone_id": [r[1] for r in rows],
            "municipality": [r[2] for r in rows],
        },
        schema={"camera_id": pl.Utf8, "zone_id": pl.Utf8, "municipality": pl.Utf8},
    )
