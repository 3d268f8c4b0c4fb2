"""Use cases of the enforcement back-office shared by the CLI and the API: report, export, purge, listings.

Exports (see ``docs/enforcement.md`` for the format ``ruas-sanctions/1``): every sanction whose current
revision was not yet exported is written once — new ones, changed ones and withdrawn ones — to a CSV file
for the collection agency (fines) and the letters (warnings), with a JSON manifest holding the row count and
the file's SHA-256. Writing is atomic (temporary file, then rename) and the sanctions are marked exported in
the same transaction.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from ruas.domain.errors import InvalidInput, NotFound
from ruas.domain.timeutil import LOCAL_TZ
from ruas.enforcement.privacy import EnforcementSettings, month_of
from ruas.enforcement.storage import Key, Store
from ruas.rules.engine import RuleBook
from ruas.services.accounts import Forbidden, Principal
from ruas.store.models import PseudonymKey, Sanction, ViolationAccess

EXPORT_FORMAT = "ruas-sanctions/1"
EXPORT_COLUMNS = (
    "record_type",
    "action",
    "sanction_id",
    "revision",
    "municipality",
    "zone_id",
    "zone_name",
    "offence_date",
    "offence_time",
    "camera_id",
    "plate",
    "vehicle_class",
    "amount_eur",
    "regulation_id",
    "legal_basis",
    "reason",
    "repeat_count",
    "passages",
)


def _local_iso(at: datetime) -> str:
    return at.astimezone(LOCAL_TZ).isoformat(timespec="seconds")


def sanction_data(s: Sanction) -> dict[str, Any]:
    """JSON form of a sanction (for officers)."""
    return {
        "id": s.id,
        "kind": s.kind,
        "status": s.status,
        "plate": s.plate,
        "zone_id": s.zone_id,
        "municipality": s.municipality,
        "day": s.day.isoformat(),
        "amount_eur": s.amount_eur,
        "vehicle_class": s.vehicle_class,
        "regulation_id": s.regulation_id,
        "reason": s.reason,
        "camera_id": s.camera_id,
        "passage_at": _local_iso(s.passage_at),
        "passages": s.passages,
        "repeat_count": s.repeat_count,
        "revision": s.revision,
        "exported_revision": s.exported_revision,
        "policy": s.policy,
    }


# --------------------------------------------------------------------------- export


@dataclass(frozen=True, slots=True)
class ExportResult:
    """The files written and how many sanctions they hold."""

    csv_path: Path | None
    manifest_path: Path | None
    rows: int

    def to_data(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "file": str(self.csv_path) if self.csv_path else None,
            "manifest": str(self.manifest_path) if self.manifest_path else None,
            "rows": self.rows,
        }


def export_rows(sanctions: Sequence[Sanction], book: RuleBook) -> list[dict[str, str]]:
    """The export rows of sanctions, in a stable order (day, municipality, zone, plate, slot)."""
    out = []
    for s in sorted(sanctions, key=lambda x: (x.day, x.municipality, x.zone_id, x.plate, x.slot)):
        zone_name = book.zone(s.zone_id).name if book.has_zone(s.zone_id) else ""
        legal = ""
        if book.has_zone(s.zone_id):
            for r in book.zone(s.zone_id).regulations:
                if r.id == s.regulation_id:
                    legal = r.legal_source.citation
        action = "withdrawn" if s.status == "withdrawn" else ("new" if s.exported_revision == 0 else "changed")
        out.append(
            {
                "record_type": s.kind,
                "action": action,
                "sanction_id": s.id,
                "revision": str(s.revision),
                "municipality": s.municipality,
                "zone_id": s.zone_id,
                "zone_name": zone_name,
                "offence_date": s.day.isoformat(),
                "offence_time": _local_iso(s.passage_at),
                "camera_id": s.camera_id,
                "plate": s.plate,
                "vehicle_class": s.vehicle_class,
                "amount_eur": "" if s.amount_eur is None else f"{s.amount_eur:.2f}",
                "regulation_id": s.regulation_id,
                "legal_basis": legal,
                "reason": s.reason,
                "repeat_count": str(s.repeat_count),
                "passages": str(s.passages),
            }
        )
    return out


def render_csv(rows: Sequence[dict[str, str]]) -> bytes:
    """The CSV bytes: UTF-8, comma-separated, header row, ``\\n`` line ends, every field quoted when needed."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(EXPORT_COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def export(session: Session, book: RuleBook, out_dir: Path, *, now: datetime, actor: str) -> ExportResult:
    """Write every sanction revision not yet exported (fines, warnings, withdrawals) and mark them exported."""
    pending = list(session.scalars(select(Sanction).where(Sanction.exported_revision < Sanction.revision)))
    pending = [s for s in pending if not (s.status == "withdrawn" and s.exported_revision == 0)]
    if not pending:
        return ExportResult(None, None, 0)
    rows = export_rows(pending, book)
    data = render_csv(rows)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = now.astimezone(LOCAL_TZ).strftime("%Y%m%dT%H%M%S")
    csv_path = out_dir / f"ruas-sanctions-{stamp}.csv"
    manifest_path = out_dir / f"ruas-sanctions-{stamp}.json"
    if csv_path.exists():
        raise InvalidInput(f"{csv_path} exists already; export again a second later", field="out")
    manifest = {
        "format": EXPORT_FORMAT,
        "created_at": _local_iso(now),
        "file": csv_path.name,
        "rows": len(rows),
        "fines": sum(1 for r in rows if r["record_type"] == "fine" and r["action"] != "withdrawn"),
        "warnings": sum(1 for r in rows if r["record_type"] == "warning" and r["action"] != "withdrawn"),
        "withdrawn": sum(1 for r in rows if r["action"] == "withdrawn"),
        "sha256": hashlib.sha256(data).hexdigest(),
        "columns": list(EXPORT_COLUMNS),
    }
    _atomic_write(csv_path, data)
    _atomic_write(manifest_path, (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode())
    for s in pending:
        s.exported_revision = s.revision
        s.exported_at = now
    for s in session.scalars(select(Sanction).where(Sanction.exported_revision < Sanction.revision)):
        s.exported_revision = s.revision  # withdrawn before ever being exported: nothing to tell anyone
    session.add(
        ViolationAccess(
            at=now, actor=actor, action="export", sanction_id=None, municipality=None, detail={"rows": len(rows)}
        )
    )
    return ExportResult(csv_path, manifest_path, len(rows))


# --------------------------------------------------------------------------- officers


def _scope(principal: Principal, municipality: str | None) -> list[str] | None:
    """The municipalities a principal may see (None: all, for the regional administrator)."""
    principal.require("officer", "admin")
    if municipality is not None:
        code = municipality.strip().upper()
        if principal.role != "admin" and code not in principal.municipalities:
            raise Forbidden(
                f"you act for {', '.join(sorted(principal.municipalities))}, not {code}", field="municipality"
            )
        return [code]
    return None if principal.role == "admin" else sorted(principal.municipalities)


def list_sanctions(
    session: Session,
    principal: Principal,
    *,
    now: datetime,
    municipality: str | None = None,
    day: date | None = None,
    kind: str | None = None,
    status: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    """The violation list (sanctions and warnings) an officer may see, newest first; the viewing is logged."""
    codes = _scope(principal, municipality)
    q = select(Sanction)
    count_q = select(func.count()).select_from(Sanction)
    conds: list[ColumnElement[bool]] = []
    if codes is not None:
        conds.append(Sanction.municipality.in_(codes))
    if day is not None:
        conds.append(Sanction.day == day)
    if kind is not None:
        if kind not in ("fine", "warning"):
            raise InvalidInput("kind must be fine or warning", field="kind")
        conds.append(Sanction.kind == kind)
    if status is not None:
        if status not in ("open", "withdrawn"):
            raise InvalidInput("status must be open or withdrawn", field="status")
        conds.append(Sanction.status == status)
    for c in conds:
        q, count_q = q.where(c), count_q.where(c)
    total = int(session.scalar(count_q) or 0)
    rows = list(
        session.scalars(q.order_by(Sanction.day.desc(), Sanction.passage_at.desc()).limit(limit).offset(offset))
    )
    session.add(
        ViolationAccess(
            at=now,
            actor=principal.username,
            action="list",
            sanction_id=None,
            municipality=municipality,
            detail={"ids": [r.id for r in rows], "day": day.isoformat() if day else None},
        )
    )
    return {"total": total, "items": [sanction_data(r) for r in rows]}


def view_sanction(
    session: Session, store: Store, principal: Principal, sanction_id: str, *, now: datetime
) -> dict[str, Any]:
    """One sanction with its evidence (the violating passages of that day); the viewing is logged."""
    principal.require("officer", "admin")
    s = session.get(Sanction, sanction_id)
    if s is None:
        raise NotFound(f"no sanction {sanction_id!r}", field="id", value=sanction_id)
    if principal.role != "admin" and s.municipality not in principal.municipalities:
        raise Forbidden(f"sanction {sanction_id} belongs to {s.municipality}", field="id")
    evidence: list[dict[str, Any]] = []
    frames = [store.read(k) for k in store.partitions("violations", s.day)]
    for f in frames:
        if f is None:
            continue
        for r in (
            f.filter((pl.col("plate") == s.plate) & (pl.col("zone_id") == s.zone_id)).sort("at").iter_rows(named=True)
        ):
            evidence.append(
                {
                    "camera_id": r["camera_id"],
                    "at": _local_iso(r["at"]),
                    "confidence": r["confidence"],
                    "regulation_id": r["regulation_id"],
                }
            )
    session.add(
        ViolationAccess(
            at=now, actor=principal.username, action="view", sanction_id=s.id, municipality=s.municipality, detail={}
        )
    )
    return {**sanction_data(s), "evidence": evidence}


def review_queue(
    store: Store, principal: Principal, *, municipality: str | None = None, day: date | None = None, limit: int = 100
) -> dict[str, Any]:
    """Reads that cannot be enforced as they are (low confidence, unknown plate), for the officer to check."""
    codes = _scope(principal, municipality)
    keys = [k for k in store.partitions("review", day) if codes is None or k.municipality in codes]
    f = store.read_many(keys)
    if f is None or f.height == 0:
        return {"total": 0, "items": []}
    f = f.sort("at", descending=True)
    items = [
        {
            "camera_id": r["camera_id"],
            "at": _local_iso(r["at"]),
            "plate_read": r["plate"],
            "confidence": r["confidence"],
            "country": r["country"],
            "zone_id": r["zone_id"],
            "reason": r["reason"],
            "municipality": r["municipality"],
        }
        for r in f.head(limit).iter_rows(named=True)
    ]
    return {"total": f.height, "items": items}


# --------------------------------------------------------------------------- report and purge


def report(session: Session, store: Store, days: Sequence[date] | None = None) -> list[dict[str, Any]]:
    """Per day: passages by outcome and zone (from the aggregates) and the sanctions by kind and status."""
    out = []
    for d in days or store.days("aggregates"):
        agg = store.read_many(store.partitions("aggregates", d))
        by_outcome: dict[str, int] = {}
        by_zone: dict[str, dict[str, int]] = {}
        if agg is not None:
            for zone, outcome, n in (
                agg.group_by("zone_id", "outcome").agg(pl.col("passages").sum()).sort("zone_id", "outcome").iter_rows()
            ):
                by_outcome[str(outcome)] = by_outcome.get(str(outcome), 0) + int(n)
                by_zone.setdefault(zone, {})[str(outcome)] = int(n)
        sanctions = session.execute(
            select(Sanction.kind, Sanction.status, func.count())
            .where(Sanction.day == d)
            .group_by(Sanction.kind, Sanction.status)
        ).all()
        out.append(
            {
                "day": d.isoformat(),
                "outcomes": by_outcome,
                "zones": by_zone,
                "sanctions": [{"kind": k, "status": s, "count": int(n)} for k, s, n in sanctions],
            }
        )
    return out


@dataclass(frozen=True, slots=True)
class PurgeResult:
    """What a purge deleted."""

    records: int = 0
    violations: int = 0
    review: int = 0
    inbox_expired: int = 0
    sanctions: int = 0
    keys: int = 0

    def to_data(self) -> dict[str, int]:
        """JSON form (partition files or rows deleted)."""
        return {
            "records_partitions": self.records,
            "violation_partitions": self.violations,
            "review_partitions": self.review,
            "inbox_partitions_expired": self.inbox_expired,
            "sanctions": self.sanctions,
            "pseudonym_keys": self.keys,
        }


def purge(session: Session, store: Store, settings: EnforcementSettings, *, now: datetime) -> PurgeResult:
    """Delete what is past its retention: records, violations (and their sanctions), review items, stale
    inbox partitions, and the pseudonym keys of months whose records are all gone."""
    today = now.astimezone(LOCAL_TZ).date()
    cut_records = today - timedelta(days=settings.records_retention_days)
    cut_viol = today - timedelta(days=settings.violation_retention_days)
    cut_review = today - timedelta(days=settings.review_retention_days)
    changes: dict[Key, pl.DataFrame | None] = {}
    counts = {"records": 0, "violations": 0, "review": 0, "inbox": 0}
    with store.locked():
        for dataset, cut in (("records", cut_records), ("violations", cut_viol), ("review", cut_review)):
            for k in store.partitions(dataset):
                if k.day < cut:
                    changes[k] = None
                    counts[dataset] += 1
        for k in store.partitions("inbox"):
            end = datetime.combine(k.day + timedelta(days=1), datetime.min.time(), tzinfo=LOCAL_TZ)
            if end + timedelta(hours=settings.inbox_max_hours) <= now:
                changes[k] = None
                counts["inbox"] += 1
        n_sanctions = session.execute(delete(Sanction).where(Sanction.day < cut_viol)).rowcount or 0  # type: ignore[attr-defined]
        keep_from = month_of(cut_records)
        n_keys = session.execute(delete(PseudonymKey).where(PseudonymKey.month < keep_from)).rowcount or 0  # type: ignore[attr-defined]
        session.flush()
        store.commit(changes)
    return PurgeResult(counts["records"], counts["violations"], counts["review"], counts["inbox"], n_sanctions, n_keys)
