"""The register in the database: versioned zone records and the vehicle table.

Every change to the published register happens in one transaction: new zone versions,
the register version counter (used for ETags) and the audit entries commit together or
not at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import polars as pl
from sqlalchemy import Engine, Table, delete, func, insert, select, update
from sqlalchemy.orm import Session

from ruas.register.records import Record
from ruas.register.vehicle_table import VEHICLE_SCHEMA, validate_frame
from ruas.store.db import session_scope
from ruas.store.models import AuditEntry, Municipality, RegisterState, VehicleRow, ZoneVersion

VEHICLES_TABLE = cast(Table, VehicleRow.__table__)
VEHICLE_COLUMNS = list(VEHICLE_SCHEMA)
LIST_COLUMNS = [c for c, t in VEHICLE_SCHEMA.items() if isinstance(t, pl.List)]
BATCH = 5_000


def _to_db(frame: pl.DataFrame) -> pl.DataFrame:
    """Code lists as ``|``-separated text, the form the vehicles table stores."""
    return frame.with_columns([pl.col(c).list.join("|").alias(c) for c in LIST_COLUMNS])


def _from_db(frame: pl.DataFrame) -> pl.DataFrame:
    """Back from ``|``-separated text to lists (an empty text is an empty list)."""
    return frame.with_columns(
        [
            pl.when(pl.col(c) == "").then(pl.lit([], pl.List(pl.Utf8))).otherwise(pl.col(c).str.split("|")).alias(c)
            for c in LIST_COLUMNS
        ]
    ).select(VEHICLE_COLUMNS)


def now_utc() -> datetime:
    """The current instant (the store layer stamps audit and versions; the domain never reads the clock)."""
    return datetime.now(UTC)


class SqlRegisterStore:
    """Zone records and vehicles kept in the database behind one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # ------------------------------------------------------------------ state

    def is_seeded(self) -> bool:
        """True when the register has published zones."""
        with session_scope(self.engine) as s:
            return s.scalar(select(func.count()).select_from(ZoneVersion)) != 0

    def has_vehicles(self) -> bool:
        """True when the vehicle table has rows."""
        with session_scope(self.engine) as s:
            return s.scalar(select(VehicleRow.plate).limit(1)) is not None

    def version(self) -> int:
        """The register version: bumped by every published change."""
        with session_scope(self.engine) as s:
            state = s.get(RegisterState, 1)
            return state.version if state else 0

    # ------------------------------------------------------------------ zones

    def load_records(self) -> list[Record]:
        """The published record of every zone (highest published version), in insertion order."""
        with session_scope(self.engine) as s:
            latest = (
                select(ZoneVersion.zone_id, func.max(ZoneVersion.version).label("v"))
                .where(ZoneVersion.status == "published")
                .group_by(ZoneVersion.zone_id)
                .subquery()
            )
            rows = s.execute(
                select(ZoneVersion.record)
                .join(latest, (ZoneVersion.zone_id == latest.c.zone_id) & (ZoneVersion.version == latest.c.v))
                .order_by(ZoneVersion.id)
            ).all()
            return [dict(r[0]) for r in rows]

    def publish_records(self, records: Sequence[Record], *, actor: str, note: str = "") -> list[str]:
        """Publish records whose content differs from the version in force; returns the changed zone ids."""
        changed: list[str] = []
        at = now_utc()
        with session_scope(self.engine) as s:
            current = {r["id"]: r for r in self._published(s)}
            versions = dict(
                s.execute(
                    select(ZoneVersion.zone_id, func.max(ZoneVersion.version)).group_by(ZoneVersion.zone_id)
                ).all()
            )
            for rec in records:
                old = current.get(rec["id"])
                if old is not None and _canonical(old) == _canonical(rec):
                    continue
                version = int(versions.get(rec["id"], 0)) + 1
                s.add(
                    ZoneVersion(
                        zone_id=rec["id"],
                        version=version,
                        status="published",
                        authority=str(rec.get("authority") or ""),
                        kind=str(rec["kind"]),
                        record=rec,
                        effective_from=at,
                        created_by=actor,
                        created_at=at,
                        published_by=actor,
                        published_at=at,
                        note=note,
                    )
                )
                s.add(
                    AuditEntry(
                        at=at,
                        actor=actor,
                        action="publish" if old is None else "update",
                        entity="zone",
                        entity_id=rec["id"],
                        detail={"version": version, "note": note, "changed": _changed_keys(old, rec)},
                    )
                )
                changed.append(rec["id"])
            if changed:
                _bump(s, at)
        return changed

    def _published(self, s: Session) -> list[Record]:
        latest = (
            select(ZoneVersion.zone_id, func.max(ZoneVersion.version).label("v"))
            .where(ZoneVersion.status == "published")
            .group_by(ZoneVersion.zone_id)
            .subquery()
        )
        rows = s.execute(
            select(ZoneVersion.record).join(
                latest, (ZoneVersion.zone_id == latest.c.zone_id) & (ZoneVersion.version == latest.c.v)
            )
        ).all()
        return [dict(r[0]) for r in rows]

    # ------------------------------------------------------------------ municipalities

    def seed_municipalities(self, items: Iterable[dict[str, Any]]) -> None:
        """Insert the municipalities (code, name, province, population, geometry) once."""
        with session_scope(self.engine) as s:
            if s.scalar(select(func.count()).select_from(Municipality)):
                return
            s.execute(insert(Municipality), list(items))

    # ------------------------------------------------------------------ vehicles

    def vehicle_rows(self, plates: Sequence[str]) -> list[dict[str, Any]]:
        """Rows for the given plates (any order; missing plates are left out)."""
        out: list[dict[str, Any]] = []
        with session_scope(self.engine) as s:
            for i in range(0, len(plates), 900):
                chunk = list(plates[i : i + 900])
                rows = s.execute(select(*_vehicle_columns()).where(VehicleRow.plate.in_(chunk))).all()
                out.extend(_row_dict(r) for r in rows)
        return out

    def load_vehicles(self) -> pl.DataFrame:
        """The whole vehicle register as a frame in the canonical schema."""
        with session_scope(self.engine) as s:
            rows = s.execute(select(*_vehicle_columns()).order_by(VehicleRow.plate)).all()
        return _frame(rows)

    def upsert_vehicles(self, frame: pl.DataFrame, *, actor: str) -> tuple[list[str], list[str]]:
        """Add or replace vehicles by plate in one transaction; returns (added, updated) plates."""
        frame = validate_frame(frame)
        plates = frame.get_column("plate").to_list()
        at = now_utc()
        with session_scope(self.engine) as s:
            known: set[str] = set()
            for i in range(0, len(plates), 900):
                chunk = plates[i : i + 900]
                known.update(s.scalars(select(VehicleRow.plate).where(VehicleRow.plate.in_(chunk))).all())
            if known:
                for i in range(0, len(plates), 900):
                    chunk = [p for p in plates[i : i + 900] if p in known]
                    if chunk:
                        s.execute(delete(VehicleRow).where(VehicleRow.plate.in_(chunk)))
            rows = _to_db(frame).to_dicts()
            for i in range(0, len(rows), BATCH):
                s.connection().execute(VEHICLES_TABLE.insert(), rows[i : i + BATCH])
            added = [p for p in plates if p not in known]
            updated = [p for p in plates if p in known]
            s.add(
                AuditEntry(
                    at=at,
                    actor=actor,
                    action="import",
                    entity="vehicles",
                    entity_id=f"{len(plates)} vehicles",
                    detail={"added": len(added), "updated": len(updated)},
                )
            )
        return added, updated


def _row_dict(row: Sequence[Any]) -> dict[str, Any]:
    """One database row as a canonical vehicle dict (code lists split back into lists)."""
    out = dict(zip(VEHICLE_COLUMNS, row, strict=True))
    for c in LIST_COLUMNS:
        out[c] = out[c].split("|") if out[c] else []
    return out


def _frame(rows: Sequence[Any]) -> pl.DataFrame:
    db_schema = {c: (pl.Utf8 if c in LIST_COLUMNS else t) for c, t in VEHICLE_SCHEMA.items()}
    raw = pl.DataFrame([tuple(r) for r in rows], schema=db_schema, orient="row")
    return _from_db(raw)


def _vehicle_columns() -> list[Any]:
    return [getattr(VehicleRow, c) for c in VEHICLE_COLUMNS]


def _canonical(record: Record) -> str:
    return json.dumps(record, sort_keys=True, ensure_ascii=False)


def _changed_keys(old: Record | None, new: Record) -> list[str]:
    if old is None:
        return sorted(new)
    keys = set(old) | set(new)
    return sorted(k for k in keys if json.dumps(old.get(k), sort_keys=True) != json.dumps(new.get(k), sort_keys=True))


def _bump(s: Session, at: datetime) -> None:
    state = s.get(RegisterState, 1)
    if state is None:
        s.add(RegisterState(id=1, version=1, updated_at=at))
    else:
        s.execute(
            update(RegisterState).where(RegisterState.id == 1).values(version=RegisterState.version + 1, updated_at=at)
        )
