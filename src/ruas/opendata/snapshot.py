"""A frozen view of the published register for the exporters: records, version, version time.

Exports are deterministic: they depend only on the records, the register version and the
instant that version was published (``RegisterState.updated_at``) - never on the clock.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from ruas.register.ndw_records import records_from_feed
from ruas.register.records import Record
from ruas.register.store import Register, embedded_feed, embedded_region
from ruas.store.db import session_scope
from ruas.store.models import RegisterState, ZoneVersion

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""Version time of a register that was never published (keeps exports free of clock readings)."""


@dataclass(frozen=True)
class Snapshot:
    """The published register as the exporters see it.

    ``records`` are the published zone records in register order; ``version`` the register
    version (bumped by every published change); ``version_time`` when that version was
    published; ``zone_versions`` the version in force per zone id (absent: 1).
    """

    records: tuple[Record, ...]
    version: int
    version_time: datetime
    zone_versions: Mapping[str, int] = field(default_factory=dict)

    def zone_version(self, zone_id: str) -> int:
        """The version in force of one zone (1 when the register keeps no history for it)."""
        return int(self.zone_versions.get(zone_id, 1))

    def fingerprint(self) -> str:
        """A hash of everything an export depends on (for strong ETags of the published files)."""
        payload = json.dumps(
            {
                "records": list(self.records),
                "version": self.version,
                "time": self.version_time.isoformat(),
                "zones": dict(sorted(self.zone_versions.items())),
            },
            sort_keys=True,
            ensure_ascii=False,
            default=str,
        )
        return hashlib.sha256(payload.encode()).hexdigest()


def resolve_geometry(records: Sequence[Record]) -> list[Record]:
    """Records whose area is another zone's (``geometry_from``) get that polygon; the reference is kept."""
    by_id = {r["id"]: r for r in records}
    out: list[Record] = []
    for r in records:
        ref = r.get("geometry_from")
        if ref and by_id.get(ref, {}).get("geometry"):
            r = {**r, "geometry": by_id[ref]["geometry"]}
        out.append(r)
    return out


def snapshot_of(register: Register) -> Snapshot:
    """The register's published records with its version, version time and per-zone versions."""
    with session_scope(register.store.engine) as s:
        state = s.get(RegisterState, 1)
        rows = s.execute(
            select(ZoneVersion.zone_id, func.max(ZoneVersion.version))
            .where(ZoneVersion.status == "published")
            .group_by(ZoneVersion.zone_id)
        ).all()
        version = state.version if state else 0
        at = state.updated_at if state and state.updated_at else EPOCH
    return Snapshot(
        records=tuple(register.records),
        version=version,
        version_time=at.astimezone(UTC),
        zone_versions={str(z): int(v) for z, v in rows},
    )


def national_records() -> list[Record]:
    """Every zone of the embedded NDW feed (all 42) plus the region's own zones: the national register."""
    region = embedded_region()
    return records_from_feed(embedded_feed()) + [dict(z) for z in region["zones"]]


def records_snapshot(records: Sequence[Mapping[str, Any]], *, version: int = 1, at: datetime = EPOCH) -> Snapshot:
    """A snapshot of records held in memory (no database), e.g. for the benchmark or a file conversion."""
    return Snapshot(tuple(dict(r) for r in records), version, at.astimezone(UTC), {})
