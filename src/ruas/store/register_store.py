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

    def vehicle_rows(self, plates: Sequence[str], session: Session | None = None) -> list[dict[str, Any]]:
        """Rows for the given plates (any order; missing plates are left out).

        With ``session`` the lookup runs on the caller's connection (a request never holds two).
        """
        if session is not None:
            return self._vehicle_rows(session, plates)
        with session_scope(self.engine) as s:
            return self._vehicle_rows(s, plates)

    def _vehicle_rows(self, s: Session, plates: Sequence[str]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
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

    # ------------------------------------------------------------------ drafts and versions (regulation lifecycle)
    # A zone's one open draft is the row with status "draft" and version 0: it is never in force and the
    # unique (zone_id, version) constraint keeps it single. Publishing turns that row into the next version.

    def zone_history(self, zone_id: str) -> list[ZoneVersion]:
        """Every stored row of a zone, the open draft (version 0) first, then the versions oldest first."""
        with session_scope(self.engine) as s:
            return list(
                s.scalars(select(ZoneVersion).where(ZoneVersion.zone_id == zone_id).order_by(ZoneVersion.version))
            )

    def save_draft(
        self,
        zone_id: str,
        record: Record,
        *,
        actor: str,
        at: datetime,
        detail: dict[str, Any],
        session: Session | None = None,
    ) -> ZoneVersion:
        """Create or replace the zone's open draft and audit it (in ``session`` if given, else on its own)."""
        if session is not None:
            return self._save_draft(session, zone_id, record, actor=actor, at=at, detail=detail)
        with session_scope(self.engine) as s:
            return self._save_draft(s, zone_id, record, actor=actor, at=at, detail=detail)

    def _save_draft(
        self, s: Session, zone_id: str, record: Record, *, actor: str, at: datetime, detail: dict[str, Any]
    ) -> ZoneVersion:
        row = s.scalar(select(ZoneVersion).where(ZoneVersion.zone_id == zone_id, ZoneVersion.status == "draft"))
        if row is None:
            row = ZoneVersion(zone_id=zone_id, version=0, status="draft", note="")
            s.add(row)
        row.record = record
        row.authority = str(record.get("authority") or "")
        row.kind = str(record["kind"])
        row.created_by = actor
        row.created_at = at
        s.add(AuditEntry(at=at, actor=actor, action="draft", entity="zone", entity_id=zone_id, detail=detail))
        s.flush()
        return row

    def discard_draft(self, zone_id: str, *, actor: str, at: datetime) -> bool:
        """Delete the zone's open draft (audited); False when there was none."""
        with session_scope(self.engine) as s:
            result = s.connection().execute(
                delete(ZoneVersion).where(ZoneVersion.zone_id == zone_id, ZoneVersion.status == "draft")
            )
            if result.rowcount == 0:
                return False
            s.add(AuditEntry(at=at, actor=actor, action="discard_draft", entity="zone", entity_id=zone_id, detail={}))
        return True

    def in_force_changes_since(self, zone_id: str, since: datetime) -> list[AuditEntry]:
        """Audit entries that changed what is in force for the zone after ``since`` (publish, update, withdraw)."""
        with session_scope(self.engine) as s:
            return list(s.scalars(self._in_force_changes(zone_id, since).order_by(AuditEntry.id)))

    def publish_draft(
        self,
        zone_id: str,
        *,
        draft_saved_at: datetime,
        record: Record,
        actor: str,
        at: datetime,
        effective_from: datetime,
        note: str,
        action: str,
        detail: dict[str, Any],
    ) -> int | None:
        """Turn the open draft into the next published version, audit it and bump the register, in one transaction.

        Returns the new version number, or ``None`` (nothing changed) when the draft is no longer the one saved at
        ``draft_saved_at`` or the zone's version in force changed after it was saved.
        """
        with session_scope(self.engine) as s:
            # the conditional write comes first: it takes the write lock (SQLite) or the row lock (PostgreSQL),
            # so the checks below read what is committed and a second publish of the same draft finds nothing
            claimed = s.connection().execute(
                update(ZoneVersion)
                .where(
                    ZoneVersion.zone_id == zone_id,
                    ZoneVersion.status == "draft",
                    ZoneVersion.created_at == draft_saved_at,
                )
                .values(status="publishing")
            )
            if claimed.rowcount != 1 or s.scalar(
                select(func.count()).select_from(self._in_force_changes(zone_id, draft_saved_at).subquery())
            ):
                s.rollback()
                return None
            version = (
                int(s.scalar(select(func.max(ZoneVersion.version)).where(ZoneVersion.zone_id == zone_id)) or 0) + 1
            )
            s.connection().execute(
                update(ZoneVersion)
                .where(ZoneVersion.zone_id == zone_id, ZoneVersion.status == "publishing")
                .values(
                    version=version,
                    status="published",
                    record=record,
                    authority=str(record.get("authority") or ""),
                    kind=str(record["kind"]),
                    effective_from=effective_from,
                    published_by=actor,
                    published_at=at,
                    note=note,
                )
            )
            s.add(
                AuditEntry(
                    at=at,
                    actor=actor,
                    action=action,
                    entity="zone",
                    entity_id=zone_id,
                    detail={**detail, "version": version},
                )
            )
            _bump(s, at)
        return version

    def withdraw_zone(
        self, zone_id: str, *, actor: str, at: datetime, note: str, expected_version: int | None = None
    ) -> int | None:
        """Take the zone out of force (every published version becomes withdrawn), audit it and bump the register.

        Returns the version that was in force, or ``None`` (nothing changed) when no version is in force or it is
        not ``expected_version``.
        """
        with session_scope(self.engine) as s:
            taken = s.connection().execute(
                update(ZoneVersion)
                .where(ZoneVersion.zone_id == zone_id, ZoneVersion.status == "published")
                .values(status="withdrawn")
            )
            # published versions are numbered above every earlier withdrawn one: the highest withdrawn was in force
            in_force = s.scalar(
                select(func.max(ZoneVersion.version)).where(
                    ZoneVersion.zone_id == zone_id, ZoneVersion.status == "withdrawn"
                )
            )
            if taken.rowcount == 0 or in_force is None or expected_version not in (None, in_force):
                s.rollback()
                return None
            s.add(
                AuditEntry(
                    at=at,
                    actor=actor,
                    action="withdraw",
                    entity="zone",
                    entity_id=zone_id,
                    detail={"version": in_force, "note": note},
                )
            )
            _bump(s, at)
        return int(in_force)

    @staticmethod
    def _in_force_changes(zone_id: str, since: datetime) -> Any:
        return select(AuditEntry).where(
            AuditEntry.entity == "zone",
            AuditEntry.entity_id == zone_id,
            AuditEntry.action.in_(("publish", "update", "withdraw")),
            AuditEntry.at > since,
        )


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
