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
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from ruas.domain.errors import Conflict, InvalidInput, NotFound
from ruas.domain.timeutil import LOCAL_TZ
from ruas.domain.vehicle import normalise_plate
from ruas.enforcement.cameras import Camera, load_cameras
from ruas.enforcement.pipeline import (
    INPUT_SCHEMA,
    VIOLATION_COLUMNS,
    Context,
    aggregates,
    evaluate,
    plan_sanctions,
    prior_fines,
    upsert_sanctions,
    warning_ends,
)
from ruas.enforcement.policy import PolicyBook
from ruas.enforcement.privacy import EnforcementSettings, month_keys, month_of, pseudonyms
from ruas.enforcement.storage import RECORD_COLUMNS, SUPERSEDED_SCHEMA, Key, Store
from ruas.rules.engine import RuleBook
from ruas.services.accounts import Forbidden, Principal
from ruas.store.db import session_scope
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


def list_cameras(
    session: Session, principal: Principal, *, municipality: str | None = None, active: bool | None = None
) -> list[Camera]:
    """The camera registry as an officer may see it: the cameras of their municipalities (the administrator:
    all; ``municipality`` narrows it, and asking for one they do not act for is :class:`Forbidden`), optionally
    only active or only inactive ones, by id."""
    codes = _scope(principal, municipality)
    return [
        c
        for c in load_cameras(session)
        if (codes is None or c.municipality in codes) and (active is None or c.active == active)
    ]


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
    zone_id: str | None = None,
) -> dict[str, Any]:
    """The violation list (sanctions and warnings) an officer may see, newest first; the viewing is logged.

    Filters: ``municipality`` (within the officer's own), local ``day``, ``kind`` (fine, warning), ``status``
    (open, withdrawn) and ``zone_id``."""
    total, rows = _select_sanctions(
        session, principal, municipality, day, kind, status, zone_id, limit=limit, offset=offset
    )
    _log_listing(session, principal, "list", now, rows, municipality, day, zone_id)
    return {"total": total, "items": [sanction_data(r) for r in rows]}


def _select_sanctions(
    session: Session,
    principal: Principal,
    municipality: str | None,
    day: date | None,
    kind: str | None,
    status: str | None,
    zone_id: str | None,
    *,
    limit: int,
    offset: int = 0,
) -> tuple[int, list[Sanction]]:
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
    if zone_id is not None:
        conds.append(Sanction.zone_id == zone_id)
    for c in conds:
        q, count_q = q.where(c), count_q.where(c)
    total = int(session.scalar(count_q) or 0)
    rows = list(
        session.scalars(q.order_by(Sanction.day.desc(), Sanction.passage_at.desc()).limit(limit).offset(offset))
    )
    return total, rows


def _log_listing(
    session: Session,
    principal: Principal,
    action: str,
    now: datetime,
    rows: Sequence[Sanction],
    municipality: str | None,
    day: date | None,
    zone_id: str | None,
) -> None:
    session.add(
        ViolationAccess(
            at=now,
            actor=principal.username,
            action=action,
            sanction_id=None,
            municipality=municipality,
            detail={
                "ids": [r.id for r in rows],
                "day": day.isoformat() if day else None,
                **({"zone_id": zone_id} if zone_id is not None else {}),
            },
        )
    )


def view_sanction(
    session: Session,
    store: Store,
    principal: Principal,
    sanction_id: str,
    *,
    now: datetime,
    book: RuleBook | None = None,
) -> dict[str, Any]:
    """One sanction with its evidence (the violating passages of that day); the viewing is logged.

    With the ``book``, also ``explanation``: the violated regulation and the policy that made it a warning
    or a fine (:func:`sanction_explanation`). ``corrections``: the officers' review decisions that produced
    evidence of this sanction (who, when, the plate as read and as corrected)."""
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
    out = {**sanction_data(s), "evidence": evidence, "corrections": _corrections_of(session, s)}
    if book is not None:
        out["explanation"] = sanction_explanation(session, book, s)
    return out


def review_queue(
    store: Store,
    principal: Principal,
    *,
    municipality: str | None = None,
    day: date | None = None,
    limit: int = 100,
    log: tuple[Session, datetime] | None = None,
) -> dict[str, Any]:
    """Reads that cannot be enforced as they are (low confidence, unknown plate), for the officer to check.

    The items show plates as read, so a listing is logged in the access log (action ``review_list``, the ids
    shown) when ``log`` gives the session and the instant; only counting the queue (``limit=0``) is not.
    """
    codes = _scope(principal, municipality)
    keys = [k for k in store.partitions("review", day) if codes is None or k.municipality in codes]
    f = store.read_many(keys)
    if f is None or f.height == 0:
        return {"total": 0, "items": []}
    f = f.sort("at", descending=True)
    items = [
        {
            "id": review_item_id(r["day"], r["municipality"], r["camera_id"], r["at"], r["plate"]),
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
    if log is not None and items:
        session, now = log
        session.add(
            ViolationAccess(
                at=now,
                actor=principal.username,
                action="review_list",
                sanction_id=None,
                municipality=municipality,
                detail={"ids": [i["id"] for i in items], "day": day.isoformat() if day else None},
            )
        )
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
    counts = {"records": 0, "superseded": 0, "violations": 0, "review": 0, "inbox": 0}
    with store.locked():
        kept = (("records", cut_records), ("superseded", cut_records), ("violations", cut_viol), ("review", cut_review))
        for dataset, cut in kept:
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
        _scrub_review_audit(session, cut_viol)
        keep_from = month_of(cut_records)
        n_keys = session.execute(delete(PseudonymKey).where(PseudonymKey.month < keep_from)).rowcount or 0  # type: ignore[attr-defined]
        session.flush()
        store.commit(changes)
    return PurgeResult(counts["records"], counts["violations"], counts["review"], counts["inbox"], n_sanctions, n_keys)


# --------------------------------------------------------------------------- review: officers resolve reads
# A review item is one camera read that could not be enforced as it was (low read confidence, or a plate the
# register does not know), kept per zone the camera guards in ``review/day=…/municipality=…``. An officer of
# the camera's municipality confirms the read, corrects the plate, or dismisses the passage as unreadable.
# A confirmed or corrected read is evaluated by the pipeline's own functions (``evaluate`` with the engine's
# batch path, ``plan_sanctions`` and ``upsert_sanctions`` under the policy's uniqueness rule), never by a
# separate decision; the review item, the records, the aggregates, the evidence, the sanctions and the audit
# row are committed together (files staged, then renamed inside the still-open database transaction).

REVIEW_ACTIONS = ("confirm", "correct", "dismiss")
"""What an officer does with a review item: confirm the read, correct the plate, or dismiss the passage."""
AUDIT_ACTIONS = {a: f"review_{a}" for a in REVIEW_ACTIONS}
"""The access-log actions of review decisions (``enforcement_access_log.action``)."""
CONFIRMED_CONFIDENCE = 1.0
"""The read confidence a confirmed or corrected read carries from then on (an officer has read it)."""
_PLATE_KEYS = ("plate_read", "plate", "confidence_read")
_ITEM_ID = re.compile(r"^(\d{8})-(GM\d{4})-([0-9a-f]{16})$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class PlateNotInRegister(InvalidInput):
    """A confirmed or corrected read names a plate the vehicle register does not hold."""


def _digest(camera_id: str, at: datetime, plate: str) -> str:
    micros = (at.astimezone(UTC) - _EPOCH) // timedelta(microseconds=1)
    return hashlib.sha256(f"{camera_id}|{micros}|{plate}".encode()).hexdigest()[:16]


def review_item_id(day: date, municipality: str, camera_id: str, at: datetime, plate: str) -> str:
    """The stable id of a review item (one camera read, whatever zones it concerns): ``YYYYMMDD-GMxxxx-<hex>``.

    The hex part is a SHA-256 of camera, instant (µs) and plate as read: it finds the read in its day's
    partition without putting the plate into URLs.

    >>> from datetime import datetime, date, UTC
    >>> review_item_id(date(2025, 9, 10), "GM0363", "CAM-1", datetime(2025, 9, 10, 7, tzinfo=UTC), "VQ401B")[:16]
    '20250910-GM0363-'
    """
    return f"{day:%Y%m%d}-{municipality}-{_digest(camera_id, at, plate)}"


def _parse_item_id(item_id: str) -> tuple[date, str, str]:
    found = _ITEM_ID.match(item_id.strip())
    if found is None:
        raise InvalidInput(
            f"review item {item_id!r}: expected YYYYMMDD-GMxxxx-<16 hex digits>", field="id", value=item_id
        )
    try:
        day = datetime.strptime(found.group(1), "%Y%m%d").date()
    except ValueError:
        raise InvalidInput(f"review item {item_id!r}: {found.group(1)} is not a date", field="id") from None
    return day, found.group(2), found.group(3)


@dataclass(frozen=True, slots=True)
class ReviewResult:
    """What a review decision did: per zone the outcome of the re-evaluated read (empty when dismissed),
    the open sanctions the read now belongs to, and the sanction changes of that day (new, updated,
    withdrawn)."""

    item: str
    action: str
    outcomes: dict[str, str]
    sanctions: tuple[str, ...] = ()
    new: int = 0
    updated: int = 0
    withdrawn: int = 0

    def to_data(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "item": self.item,
            "action": self.action,
            "outcomes": dict(self.outcomes),
            "sanctions": list(self.sanctions),
            "sanctions_changed": {"new": self.new, "updated": self.updated, "withdrawn": self.withdrawn},
        }


def _text(frame: pl.DataFrame) -> pl.DataFrame:
    """Categorical and enum columns as text (so partitions written by a run and by a correction concatenate)."""
    return frame.with_columns(
        [pl.col(c).cast(pl.Utf8) for c, t in frame.schema.items() if isinstance(t, pl.Categorical | pl.Enum)]
    )


def _item_mask(frame: pl.DataFrame, digest: str) -> pl.Series:
    found = [
        _digest(str(c), a, str(p))
        for c, a, p in frame.select(pl.col("camera_id").cast(pl.Utf8), "at", pl.col("plate").cast(pl.Utf8)).iter_rows()
    ]
    return pl.Series([d == digest for d in found], dtype=pl.Boolean)


def _audit_rows(session: Session, municipality: str, since: date) -> list[ViolationAccess]:
    start = datetime.combine(since, datetime.min.time(), tzinfo=LOCAL_TZ)
    return list(
        session.scalars(
            select(ViolationAccess)
            .where(
                ViolationAccess.action.in_(list(AUDIT_ACTIONS.values())),
                ViolationAccess.municipality == municipality,
                ViolationAccess.at >= start,
            )
            .order_by(ViolationAccess.id)
        )
    )


def _resolution(session: Session, item_id: str, day: date, municipality: str) -> ViolationAccess | None:
    found = [a for a in _audit_rows(session, municipality, day) if (a.detail or {}).get("item") == item_id]
    return found[-1] if found else None


def _audit_data(a: ViolationAccess) -> dict[str, Any]:
    d = dict(a.detail or {})
    return {
        "actor": a.actor,
        "at": _local_iso(a.at),
        "action": a.action.removeprefix("review_"),
        "item": d.get("item"),
        "camera_id": d.get("camera_id"),
        "passage_at": d.get("at"),
        "reason": d.get("reason"),
        "plate_read": d.get("plate_read"),
        "plate": d.get("plate"),
        "outcomes": d.get("outcomes", {}),
        "sanctions": d.get("sanctions", []),
    }


def review_resolution(session: Session, principal: Principal, item_id: str) -> dict[str, Any] | None:
    """How a review item was resolved (the last decision: who, when, what came of it), or None when it was not."""
    principal.require("officer", "admin")
    day, municipality, _ = _parse_item_id(item_id)
    if not principal.may_decide_for(municipality):
        raise Forbidden(f"review item {item_id} belongs to {municipality}", field="id")
    found = _resolution(session, item_id, day, municipality)
    return None if found is None else _audit_data(found)


def _corrections_of(session: Session, s: Sanction) -> list[dict[str, Any]]:
    """The officers' review decisions whose read became evidence of sanction ``s``."""
    return [
        _audit_data(a)
        for a in _audit_rows(session, s.municipality, s.day)
        if s.id in (a.detail or {}).get("sanctions", [])
    ]


def resolve_review(
    ctx: Context,
    principal: Principal,
    item_id: str,
    *,
    action: str,
    plate: str | None = None,
    now: datetime,
) -> ReviewResult:
    """An officer's decision on a review item: ``confirm`` the read, ``correct`` it to ``plate``, or ``dismiss``
    the passage as unreadable (``ctx``: the pipeline's context: register, store, settings).

    Confirm and correct evaluate the read again, with the officer's reading at full confidence, through the
    pipeline (a read whose plate is still not in the register is refused and nothing changes). The read's
    not-enforceable record is replaced by its new record (aggregates recounted); a violation joins the day's
    evidence and the day's sanctions are re-planned and upserted on (plate, zone, day, slot), so it joins an
    existing sanction of that vehicle, zone and day rather than adding one. Compliant and exempt reads keep no
    plate anywhere (the audit row of such a decision names no plate either). A dismissal deletes the read
    (with its plate) from the review queue; only its de-identified record and the counts stay.

    The audit row (``enforcement_access_log``, action ``review_<action>``) says who decided what, when; it
    names the plate as read and as decided only when the read became evidence of a sanction. Resolving an
    item that was already resolved raises :class:`Conflict` naming who resolved it; officers act only for
    their own municipalities (:class:`Forbidden`).
    """
    principal.require("officer", "admin")
    day, municipality, digest = _parse_item_id(item_id)
    if not principal.may_decide_for(municipality):
        raise Forbidden(
            f"review item {item_id} belongs to {municipality}; you act for "
            f"{', '.join(sorted(principal.municipalities)) or 'no municipality'}",
            field="id",
        )
    if action not in REVIEW_ACTIONS:
        raise InvalidInput("action must be confirm, correct or dismiss", field="action", value=action)
    corrected: str | None = None
    if action == "correct":
        if not (plate or "").strip():
            raise InvalidInput("give the plate as it really is on the vehicle, e.g. VQ-123-B", field="plate")
        try:
            corrected = normalise_plate(str(plate))
        except InvalidInput as exc:
            raise InvalidInput(exc.message, field="plate", value=plate) from None
    store: Store = ctx.store
    with store.locked(), session_scope(ctx.engine) as session:
        key = Key("review", day, municipality)
        review = store.read(key)
        mask = _item_mask(review, digest) if review is not None else None
        if review is None or mask is None or not mask.any():
            done = _resolution(session, item_id, day, municipality)
            if done is not None:
                raise Conflict(
                    f"review item {item_id} was already resolved ({done.action.removeprefix('review_')}) "
                    f"by {done.actor} at {_local_iso(done.at)}",
                    field="id",
                )
            raise NotFound(f"no review item {item_id!r} (resolved, or past its retention)", field="id", value=item_id)
        rows = _text(review.filter(mask))
        first = rows.row(0, named=True)
        read, camera_id, at, reason = str(first["plate"]), str(first["camera_id"]), first["at"], str(first["reason"])
        changes: dict[Key, pl.DataFrame | None] = {key: review.filter(~mask)}
        detail: dict[str, Any] = {
            "item": item_id,
            "day": day.isoformat(),
            "camera_id": camera_id,
            "at": _local_iso(at),
            "reason": reason,
            "zones": rows.get_column("zone_id").to_list(),
        }
        result = ReviewResult(item_id, action, {})
        if action != "dismiss":
            target = corrected if corrected is not None else read
            keys = month_keys(session, [month_of(day)], now)
            passage = pl.DataFrame(
                {
                    "camera_id": [camera_id],
                    "at": [at],
                    "plate": [target],
                    "confidence": [CONFIRMED_CONFIDENCE],
                    "country": [first["country"]],
                    "day": [day],
                },
                schema={**INPUT_SCHEMA, "day": pl.Date()},
            )
            evaluated = evaluate(ctx, passage, keys=keys)
            if evaluated.height == 0:
                raise InvalidInput(
                    f"camera {camera_id} is no longer active, so its read cannot be evaluated: dismiss it",
                    field="action",
                )
            stuck = evaluated.filter(pl.col("outcome") == "not_enforceable")
            if stuck.height:
                why = str(stuck.get_column("reason")[0])
                if why == "unknown_plate":
                    raise PlateNotInRegister(
                        f"plate {target} is not in the vehicle register: correct the read or dismiss the passage",
                        field="plate",
                        value=target,
                    )
                raise InvalidInput(f"the read is still not enforceable ({why})", field="plate", value=target)
            outcomes = {str(z): str(o) for z, o in evaluated.select("zone_id", "outcome").iter_rows()}
            detail["outcomes"] = outcomes
            # the read's not-enforceable record gives way to its new record; the day's counts follow
            rkey = Key("records", day, municipality)
            old_pseudonym = pseudonyms(keys[month_of(day)], [read])[0]
            fresh = _text(evaluated.select(RECORD_COLUMNS))
            old = store.read(rkey)
            if old is not None and old.height:
                old = _text(old)
                stale = (
                    (pl.col("camera_id") == camera_id)
                    & (pl.col("at") == pl.lit(at).cast(pl.Datetime("us", "UTC")))
                    & (pl.col("outcome") == "not_enforceable")
                    & (pl.col("basis") == reason)
                    & (pl.col("pseudonym").is_null() | (pl.col("pseudonym") == old_pseudonym))
                ).fill_null(False)
                kept = old.filter(~stale)
                records = pl.concat([kept, fresh.select(kept.columns)], how="vertical_relaxed").sort("at")
            else:
                records = fresh
            changes[rkey] = records
            if target != read:
                # the read as the camera sent it is done: a batch sent again must not bring it back (ingest)
                skey = Key("superseded", day, municipality)
                row = pl.DataFrame(
                    {"camera_id": [camera_id], "at": [at], "pseudonym": [old_pseudonym]}, schema=SUPERSEDED_SCHEMA
                )
                prev = store.read(skey)
                changes[skey] = row if prev is None else pl.concat([_text(prev), row], how="vertical_relaxed").unique()
            changes[Key("aggregates", day, municipality)] = aggregates(records)
            violations = evaluated.filter(pl.col("outcome") == "violation")
            if violations.height:
                vkey = Key("violations", day, municipality)
                new_evidence = _text(violations.select(VIOLATION_COLUMNS))
                old_evidence = store.read(vkey)
                evidence = (
                    new_evidence
                    if old_evidence is None
                    else pl.concat(
                        [_text(old_evidence), new_evidence.select(old_evidence.columns)], how="vertical_relaxed"
                    )
                )
                evidence = evidence.unique(
                    subset=["camera_id", "at", "plate", "zone_id"], keep="first", maintain_order=True
                ).sort("at")
                changes[vkey] = evidence
                new, updated, withdrawn = _revise_day(ctx, session, day, {vkey: evidence}, now, plate=target)
                zones = violations.get_column("zone_id").cast(pl.Utf8).to_list()
                ids = tuple(
                    session.scalars(
                        select(Sanction.id)
                        .where(
                            Sanction.plate == target,
                            Sanction.day == day,
                            Sanction.zone_id.in_(zones),
                            Sanction.status == "open",
                        )
                        .order_by(Sanction.zone_id, Sanction.slot)
                    )
                )
                detail.update(plate_read=read, plate=target, confidence_read=first["confidence"], sanctions=list(ids))
                result = ReviewResult(item_id, action, outcomes, ids, new, updated, withdrawn)
            else:
                result = ReviewResult(item_id, action, outcomes)
        session.add(
            ViolationAccess(
                at=now,
                actor=principal.username,
                action=AUDIT_ACTIONS[action],
                sanction_id=result.sanctions[0] if result.sanctions else None,
                municipality=municipality,
                detail=detail,
            )
        )
        session.flush()
        store.commit(changes)
    return result


def _revise_day(
    ctx: Context, session: Session, day: date, replaced: dict[Key, pl.DataFrame], now: datetime, *, plate: str
) -> tuple[int, int, int]:
    """Re-plan the sanctions of one vehicle (``plate``) on ``day`` from the day's evidence (with ``replaced``
    partitions instead of the files) and upsert them as a run does: the policy's uniqueness rule holds, a
    sanction is updated, never doubled. Other vehicles' sanctions are not touched."""
    store: Store = ctx.store
    keys = {*store.partitions("violations", day), *replaced}
    frames = []
    for k in sorted(keys, key=lambda k: k.municipality):
        f = replaced[k] if k in replaced else store.read(k)
        if f is not None and f.height:
            frames.append(
                _text(f)
                .filter(pl.col("plate") == plate)
                .select(
                    "plate", "zone_id", pl.lit(day).alias("day"), "at", "camera_id", "regulation_id", "vehicle_class"
                )
            )
    violations = pl.concat(frames, how="vertical_relaxed")
    policies = PolicyBook.load(session)
    zones = ctx.register.zones
    windows = [w for w in {policies.policy(z.authority, day).repeat_window_days for z in zones} if w is not None]
    prior: dict[str, list[date]] = {}
    if windows:
        prior = prior_fines(session, violations.get_column("plate").unique().to_list(), day, max(windows))
    planned = plan_sanctions(violations, zones, policies, prior)
    return upsert_sanctions(session, planned, [day], now, plates=[plate]).get(day, (0, 0, 0))


def sanction_explanation(session: Session, book: RuleBook, s: Sanction) -> dict[str, Any]:
    """Why a sanction is what it is: the violated regulation (name, what it prohibits, legal basis) and the
    harmonised policy of the zone's municipality on that day that made it a warning or a fine."""
    pol = PolicyBook.load(session).policy(s.municipality, s.day)
    zone = book.zone(s.zone_id) if book.has_zone(s.zone_id) else None
    reg = next((r for r in (zone.regulations if zone else ()) if r.id == s.regulation_id), None)
    fines_from = warning_ends(reg, pol.warning_period_months) if reg is not None else None
    sources = list((s.policy or {}).get("sources") or pol.sources)
    return {
        "zone_name": zone.name if zone else s.zone_id,
        "regulation": None
        if reg is None
        else {
            "id": reg.id,
            "name": reg.name,
            "subject_label": reg.subject_label,
            "legal_basis": reg.legal_source.citation,
            "legal_title": reg.legal_source.title,
            "legal_url": reg.legal_source.url,
            "start": reg.validity.start.astimezone(LOCAL_TZ).date().isoformat() if reg.validity.start else None,
        },
        "warning_period_months": pol.warning_period_months,
        "fines_from": fines_from.isoformat() if fines_from else None,
        "fine_year": (s.policy or {}).get("fine_year", pol.fine_year),
        "fine_eur": dict(pol.fine_eur),
        "one_sanction_per_vehicle_per_zone_per_day": pol.one_per_day,
        "repeat_window_days": pol.repeat_window_days,
        "sources": sources,
    }


def sanctions_csv(
    session: Session,
    book: RuleBook,
    principal: Principal,
    *,
    now: datetime,
    municipality: str | None = None,
    day: date | None = None,
    kind: str | None = None,
    status: str | None = None,
    zone_id: str | None = None,
    limit: int = 100_000,
) -> bytes:
    """The officer's violation list (same scope and filters as :func:`list_sanctions`) in the export format
    ``ruas-sanctions/1``, for letters and their own records. Unlike :func:`export` it marks nothing exported;
    the download is written to the access log (action ``download``) with the ids it held."""
    _total, rows = _select_sanctions(session, principal, municipality, day, kind, status, zone_id, limit=limit)
    _log_listing(session, principal, "download", now, rows, municipality, day, zone_id)
    return render_csv(export_rows(rows, book))


def _scrub_review_audit(session: Session, cut: date) -> int:
    """Drop the plates from review decisions about days past the violations' retention (the sanctions they
    explained are deleted by then); the decision itself (who, when, what) stays."""
    n = 0
    for a in session.scalars(select(ViolationAccess).where(ViolationAccess.action.in_(list(AUDIT_ACTIONS.values())))):
        d = dict(a.detail or {})
        if any(k in d for k in _PLATE_KEYS) and date.fromisoformat(str(d.get("day", "9999-12-31"))) < cut:
            a.detail = {k: v for k, v in d.items() if k not in _PLATE_KEYS}
            n += 1
    return n
