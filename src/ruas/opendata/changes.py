"""The change feed: what was added, changed or repealed in the register, by register version.

Derived from the register's own history - no table of its own: every published ``ZoneVersion``
row (its zone version, ``effective_from``, ``published_at``) and every withdrawal in the audit log.
Each transaction that changes the published register bumps ``RegisterState.version`` once and
stamps its rows with one instant, so the k-th distinct publication instant is register version k:
a consumer that remembers the last version it saw asks for ``since=that`` and gets the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from ruas.domain.errors import InvalidInput
from ruas.store.db import session_scope
from ruas.store.models import AuditEntry, RegisterState, ZoneVersion


@dataclass(frozen=True, slots=True)
class Change:
    """One change of one zone: ``added``, ``changed`` or ``repealed``, at a register version."""

    register_version: int
    zone_id: str
    zone_version: int
    change: str
    kind: str
    authority: str
    published_at: datetime
    effective_from: datetime | None

    def to_data(self) -> dict[str, Any]:
        """JSON form, with a link to the zone."""
        return {
            "register_version": self.register_version,
            "zone_id": self.zone_id,
            "zone_version": self.zone_version,
            "change": self.change,
            "kind": self.kind,
            "authority": self.authority,
            "published_at": self.published_at.isoformat(),
            "effective_from": self.effective_from.isoformat() if self.effective_from else None,
            "href": f"/api/v1/zones/{self.zone_id}",
        }


@dataclass(frozen=True, slots=True)
class _Event:
    at: datetime
    order: int
    zone_id: str
    zone_version: int
    repeal: bool
    kind: str
    authority: str
    effective_from: datetime | None


def history(engine: Engine) -> tuple[list[Change], int]:
    """Every change since the register began, oldest first, and the current register version."""
    with session_scope(engine) as s:
        rows = s.execute(
            select(
                ZoneVersion.id,
                ZoneVersion.zone_id,
                ZoneVersion.version,
                ZoneVersion.kind,
                ZoneVersion.authority,
                ZoneVersion.published_at,
                ZoneVersion.effective_from,
            ).where(ZoneVersion.version > 0, ZoneVersion.published_at.is_not(None))
        ).all()
        withdrawals = s.execute(
            select(AuditEntry.id, AuditEntry.entity_id, AuditEntry.at, AuditEntry.detail).where(
                AuditEntry.entity == "zone", AuditEntry.action == "withdraw"
            )
        ).all()
        state = s.get(RegisterState, 1)
        current = state.version if state else 0
    kinds = {(r.zone_id, r.version): (r.kind, r.authority) for r in rows}
    events = [
        _Event(r.published_at, r.id, r.zone_id, r.version, False, r.kind, r.authority, r.effective_from) for r in rows
    ]
    for w in withdrawals:
        version = int((w.detail or {}).get("version", 0))
        kind, authority = kinds.get((w.entity_id, version), ("", ""))
        events.append(_Event(w.at, w.id, w.entity_id, version, True, kind, authority, None))
    return derive(events), current


def derive(events: Sequence[_Event]) -> list[Change]:
    """Number the events' distinct instants as register versions and name each change."""
    ordered = sorted(events, key=lambda e: (e.at, e.repeal, e.order))
    out: list[Change] = []
    live: set[str] = set()
    version = 0
    last: datetime | None = None
    for e in ordered:
        if e.at != last:
            version += 1
            last = e.at
        if e.repeal:
            change = "repealed"
            live.discard(e.zone_id)
        else:
            change = "changed" if e.zone_id in live else "added"
            live.add(e.zone_id)
        out.append(Change(version, e.zone_id, e.zone_version, change, e.kind, e.authority, e.at, e.effective_from))
    return out


def changes_since(engine: Engine, since: int) -> dict[str, Any]:
    """The changes after register version ``since`` (0: everything), for incremental sync."""
    if since < 0:
        raise InvalidInput(f"since must be a register version (0 or more), got {since}", field="since")
    changes, current = history(engine)
    if since > current:
        raise InvalidInput(
            f"since={since} is ahead of the register (version {current}); start again from 0",
            field="since",
            current=current,
        )
    return {
        "since": since,
        "register_version": current,
        "changes": [c.to_data() for c in changes if c.register_version > since],
    }
