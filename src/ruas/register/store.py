"""The register: zone records and vehicles in the database, compiled for the engine.

``RUAS_DATA_DIR`` holds the embedded default database (``ruas.db``, SQLite in WAL mode);
``RUAS_DATABASE_URL`` points elsewhere (PostgreSQL in production). On first use the
schema is migrated and the register seeded from the embedded dataset. Every import is
one transaction: it either completes or leaves the register as it was.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import platformdirs
import polars as pl
from sqlalchemy.orm import Session

from ruas.domain.errors import InvalidInput, SourceError, UnknownMunicipality, UnknownVehicle
from ruas.domain.regulation import Zone
from ruas.domain.vehicle import Vehicle, normalise_plate
from ruas.register.ndw_records import records_from_feed
from ruas.register.records import Record, compile_book, municipality_names
from ruas.register.spatial import SpatialIndex
from ruas.register.vehicle_table import vehicle_from_row
from ruas.rules.engine import RuleBook
from ruas.rules.frameworks import RuleSettings
from ruas.sources.ndw import NdwFeed, parse_ndw
from ruas.store.db import database_url, make_engine, migrate
from ruas.store.register_store import SqlRegisterStore

DATABASE_FILE = "ruas.db"
EMBEDDED_NDW = "data/ndw/ndw_emissiezones_datex2_v3_2025-07-07.xml"
SYNTHETIC_SEED = 20250101
SYNTHETIC_SIZE = 100_000


def default_data_dir() -> Path:
    """``RUAS_DATA_DIR`` if set, else the per-user data directory (e.g. ``~/.local/share/ruas``)."""
    env = os.environ.get("RUAS_DATA_DIR")
    return Path(env) if env else Path(platformdirs.user_data_dir("ruas", appauthor=False))


def settings_from_env() -> RuleSettings:
    """Proposed changes to apply, from ``RUAS_APPLY_PROPOSED`` (comma-separated clause ids, or ``all``)."""
    return RuleSettings.from_text(os.environ.get("RUAS_APPLY_PROPOSED"))


def embedded_region() -> dict[str, Any]:
    """The embedded region definition (``data/region/region.json``)."""
    text = resources.files("ruas").joinpath("data/region/region.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def embedded_feed() -> NdwFeed:
    """The embedded national NDW feed of 2025-07-07."""
    data = resources.files("ruas").joinpath(EMBEDDED_NDW).read_bytes()
    return parse_ndw(data, source_name="ndw_emissiezones_datex2_v3_2025-07-07.xml (embedded)")


def embedded_records() -> list[Record]:
    """The default register: NDW zones of the region plus the region's own zones."""
    region = embedded_region()
    wanted = set(region["ndw_zones"])
    records = [r for r in records_from_feed(embedded_feed()) if r["id"] in wanted]
    missing = wanted - {r["id"] for r in records}
    if missing:
        raise SourceError(f"region.json names NDW zones missing from the embedded feed: {sorted(missing)}")
    for r in records:
        r["notes"] = list(r.get("notes", [])) + list(region.get("ndw_notes", {}).get(r["id"], []))
    return records + [dict(z) for z in region["zones"]]


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import changed."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    skipped_older: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def to_data(self) -> dict[str, Any]:
        """JSON form with counts and ids."""
        return {
            "added": list(self.added),
            "updated": list(self.updated),
            "unchanged": list(self.unchanged),
            "skipped_older": list(self.skipped_older),
            "warnings": list(self.warnings),
        }


@dataclass
class Register:
    """The register opened for use: records, compiled rule book, vehicles and spatial index."""

    path: Path
    settings: RuleSettings = field(default_factory=RuleSettings)

    # ------------------------------------------------------------------ opening and seeding

    @classmethod
    def open(cls, path: Path | None = None, settings: RuleSettings | None = None) -> Register:
        """Open the register in ``path`` (or ``RUAS_DATABASE_URL``), migrating and seeding on first use."""
        reg = cls(path or default_data_dir(), settings or settings_from_env())
        reg.ensure_seeded()
        return reg

    @cached_property
    def store(self) -> SqlRegisterStore:
        """The database behind this register (schema migrated on first access in a process)."""
        url = database_url(self.path)
        engine = make_engine(url)
        if url not in _MIGRATED:
            migrate(engine)
            _MIGRATED.add(url)
        return SqlRegisterStore(engine)

    def ensure_seeded(self) -> None:
        """Create the register from the embedded dataset if the database holds none yet."""
        if not self.store.is_seeded():
            self._write_records(embedded_records(), actor="seed", note="embedded default dataset")
            self.store.seed_municipalities(_municipality_rows())
        if not self.store.has_vehicles():
            from ruas.sources.synthetic import generate_register

            self.store.upsert_vehicles(generate_register(SYNTHETIC_SIZE, seed=SYNTHETIC_SEED), actor="seed")

    # ------------------------------------------------------------------ zones

    def refresh(self) -> None:
        """Forget the cached records, rule book and spatial index (after another process published)."""
        for name in ("records", "book", "spatial"):
            self.__dict__.pop(name, None)

    @cached_property
    def records(self) -> list[Record]:
        """The published zone records."""
        return self.store.load_records()

    def _write_records(self, records: Sequence[Record], *, actor: str, note: str = "") -> list[str]:
        # compile before writing: a record that does not compile never reaches the database
        compile_book(_resolve_geometry(records), self.settings)
        changed = self.store.publish_records(records, actor=actor, note=note)
        self.refresh()
        return changed

    @cached_property
    def book(self) -> RuleBook:
        """The compiled rule book for the current settings."""
        return compile_book(_resolve_geometry(self.records), self.settings)

    @property
    def zones(self) -> tuple[Zone, ...]:
        """Every zone in the register."""
        return self.book.zones

    @cached_property
    def spatial(self) -> SpatialIndex:
        """Point lookup over zone polygons and the embedded municipalities."""
        return SpatialIndex.with_embedded_municipalities(self.book.zones)

    def zones_at_point(self, lat: float, lon: float) -> list[str]:
        """Ids of the zones whose area covers the point."""
        return self.spatial.zones_at(lat, lon)

    def zones_of_municipality(self, code: str) -> list[str]:
        """Ids of the zones a municipality (CBS code) is the authority for, announced ones included."""
        code = code.strip().upper()
        if code not in municipality_names():
            raise UnknownMunicipality(
                f"municipality {code!r} is not a CBS municipality code of 2024 (expected e.g. GM0363)",
                field="municipality",
                value=code,
            )
        return [z.id for z in self.book.zones if z.authority == code]

    def import_ndw(self, path: Path, *, actor: str = "cli") -> ImportResult:
        """Import an NDW DATEX II feed: new zones are added, newer versions replace older ones by NDW id."""
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SourceError(f"{path}: cannot read ({exc.strerror})", file=str(path)) from exc
        feed = parse_ndw(data, source_name=path.name)
        incoming = records_from_feed(feed)
        current = {r["id"]: r for r in self.records}
        added, updated, unchanged, older = [], [], [], []
        merged = list(self.records)
        index = {r["id"]: i for i, r in enumerate(merged)}
        for rec in incoming:
            old = current.get(rec["id"])
            if old is None:
                merged.append(rec)
                added.append(rec["id"])
                continue
            if old.get("source", {}).get("kind") != "ndw":
                raise InvalidInput(f"zone {rec['id']} exists and does not come from NDW", zone=rec["id"])
            cmp = _compare_versions(rec["source"], old["source"])
            if cmp > 0 or (cmp == 0 and not _same_content(rec, old)):
                # a newer version, or the same version edited without a version bump: take it
                rec["notes"] = _keep_local_notes(old, rec)
                merged[index[rec["id"]]] = rec
                updated.append(rec["id"])
            elif cmp == 0:
                unchanged.append(rec["id"])
            else:
                older.append(rec["id"])
        if added or updated:
            self._write_records(merged, actor=actor, note=f"NDW import of {path.name}")
        return ImportResult(tuple(added), tuple(updated), tuple(unchanged), tuple(older))

    # ------------------------------------------------------------------ vehicles

    @cached_property
    def vehicles(self) -> pl.DataFrame:
        """The whole vehicle register as a frame in the canonical schema (loaded on first use)."""
        return self.store.load_vehicles()

    def vehicle(self, plate: str, session: Session | None = None) -> Vehicle:
        """The registered vehicle with this plate (raises :class:`UnknownVehicle`); ``session``: use that connection."""
        norm = normalise_plate(plate)
        rows = self.store.vehicle_rows([norm], session)
        if not rows:
            raise UnknownVehicle(
                f"plate {norm} is not in the vehicle register; "
                "give the vehicle's attributes instead (--category, --mass, --fuel, ...)",
                field="plate",
                value=norm,
            )
        return vehicle_from_row(rows[0])

    def import_vehicles(self, frame: pl.DataFrame, *, actor: str = "cli") -> ImportResult:
        """Add or replace vehicles by plate (one transaction)."""
        added, updated = self.store.upsert_vehicles(frame, actor=actor)
        self.__dict__.pop("vehicles", None)
        return ImportResult(added=tuple(added), updated=tuple(updated))


_MIGRATED: set[str] = set()


def _municipality_rows() -> list[dict[str, Any]]:
    from ruas.sources.cbs import embedded_municipalities

    return [
        {
            "code": m.code,
            "name": m.name,
            "province_code": m.province_code,
            "province_name": m.province_name,
            "population": m.population,
            "geometry": dict(m.geometry),
        }
        for m in embedded_municipalities()
    ]


def _resolve_geometry(records: Sequence[Record]) -> list[Record]:
    """Records whose area is another zone's (``geometry_from``) get that zone's polygon."""
    by_id = {r["id"]: r for r in records}
    out = []
    for r in records:
        ref = r.get("geometry_from")
        if ref:
            if ref not in by_id or not by_id[ref].get("geometry"):
                raise InvalidInput(f"zone {r['id']}: geometry_from {ref!r} names no zone with an area", zone=r["id"])
            r = {**r, "geometry": by_id[ref]["geometry"]}
        out.append(r)
    return out


def _compare_versions(new: dict[str, Any], old: dict[str, Any]) -> int:
    key_new = (int(new.get("version", 0)), str(new.get("record_version_time", "")))
    key_old = (int(old.get("version", 0)), str(old.get("record_version_time", "")))
    return (key_new > key_old) - (key_new < key_old)


def _same_content(a: Record, b: Record) -> bool:
    keys = ("name", "kind", "geometry", "published_condition", "regulations")
    return all(json.dumps(a.get(k), sort_keys=True) == json.dumps(b.get(k), sort_keys=True) for k in keys)


def _keep_local_notes(old: Record, new: Record) -> list[str]:
    notes = list(new.get("notes", []))
    return notes + [n for n in old.get("notes", []) if n not in notes and "NDW feed" not in n]
