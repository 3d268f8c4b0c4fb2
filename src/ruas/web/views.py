"""What the pages show, computed from the register and the engine's answers (no access logic here).

Pure helpers: the display state of a zone on the map, a timeline as bar segments, a fleet timeline
cut into calendar years. Everything about access comes from :mod:`ruas.rules.engine` results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ruas.domain.decision import Timeline
from ruas.domain.regulation import Regulation, Status, Zone, ZoneStatus
from ruas.domain.timeutil import LOCAL_TZ

TIMELINE_START = datetime(2025, 1, 1, tzinfo=LOCAL_TZ)
TIMELINE_END = datetime(2031, 1, 1, tzinfo=LOCAL_TZ)
"""The check page's timeline bar: 2025 up to and including 2030 (the national transition years)."""


def zone_state(zone: Zone, now: datetime) -> str:
    """``announced`` (no decree or area yet), ``in_force`` (a regulation applies now), ``scheduled`` (its
    regulations start later) or ``ended`` (none applies any more)."""
    if zone.status is ZoneStatus.ANNOUNCED:
        return "announced"
    regs = [r for r in zone.regulations if r.status is Status.IN_FORCE]
    if any(r.validity.contains(now) for r in regs):
        return "in_force"
    if any(r.validity.start is not None and r.validity.start > now for r in regs):
        return "scheduled"
    return "ended"


def regulation_view(reg: Regulation) -> dict[str, Any]:
    """A regulation as the map and the zone list show it: name, who it is for, dates, legal basis."""
    return {
        "id": reg.id,
        "name": reg.name,
        "status": reg.status.value,
        "subject": reg.subject_label,
        "valid_from": reg.validity.start,
        "valid_until": reg.validity.end,
        "citation": reg.legal_source.citation,
        "title": reg.legal_source.title,
        "url": reg.legal_source.url,
        "note": reg.legal_source.note,
        "exemption_types": list(reg.exemption_types),
    }


def zone_view(zone: Zone, now: datetime) -> dict[str, Any]:
    """A zone as the map and the zone list show it."""
    starts = [r.validity.start for r in zone.regulations if r.validity.start is not None]
    return {
        "id": zone.id,
        "name": zone.name,
        "kind": zone.kind.value,
        "state": zone_state(zone, now),
        "authority": zone.authority,
        "authority_name": zone.authority_name,
        "url": zone.url,
        "illustrative": zone.illustrative,
        "has_area": zone.geometry is not None,
        "valid_from": min(starts) if starts else None,
        "notes": list(zone.notes),
        "regulations": [regulation_view(r) for r in zone.regulations],
    }


@dataclass(frozen=True, slots=True)
class Bar:
    """One stretch of a timeline bar: its state, its dates and its share of the bar in percent."""

    state: str
    start: datetime
    end: datetime
    percent: float


def timeline_bars(tl: Timeline, start: datetime = TIMELINE_START, end: datetime = TIMELINE_END) -> list[Bar]:
    """The timeline's segments clipped to ``[start, end)`` as shares of the bar (they add up to 100)."""
    total = (end - start).total_seconds()
    bars = []
    for seg in tl.segments:
        a, b = max(seg.start, start), min(seg.end, end)
        if b <= a:
            continue
        bars.append(Bar(seg.state.value, a, b, round(100 * (b - a).total_seconds() / total, 3)))
    return bars


def position(at: datetime, start: datetime = TIMELINE_START, end: datetime = TIMELINE_END) -> float | None:
    """Where ``at`` lies on the bar in percent (``None`` outside it)."""
    if not start <= at < end:
        return None
    return round(100 * (at - start).total_seconds() / (end - start).total_seconds(), 3)


@dataclass(frozen=True, slots=True)
class YearCell:
    """A vehicle's state in a zone during one calendar year: one state, or ``changes`` with the dates."""

    year: int
    state: str
    changes: tuple[tuple[date, str], ...] = ()


def year_cells(segments: Sequence[dict[str, Any]], years: Sequence[int]) -> list[YearCell]:
    """Cut fleet-report segments (``start``, ``end``, ``state``) into calendar years (Amsterdam time).

    A year with one state gets that state; a year in which the state changes gets ``changes`` with the
    day of each change and the state from then on. Years outside the segments get ``unknown``.

    >>> from datetime import datetime
    >>> d = lambda y, m: datetime(y, m, 1, tzinfo=LOCAL_TZ)
    >>> segs = [{"start": d(2026, 1), "end": d(2027, 1), "state": "allowed"},
    ...         {"start": d(2027, 1), "end": d(2028, 7), "state": "not_allowed"}]
    >>> [(c.year, c.state) for c in year_cells(segs, [2026, 2027, 2028, 2029])]
    [(2026, 'allowed'), (2027, 'not_allowed'), (2028, 'not_allowed'), (2029, 'unknown')]
    """
    out = []
    for year in years:
        y0 = datetime(year, 1, 1, tzinfo=LOCAL_TZ)
        y1 = datetime(year + 1, 1, 1, tzinfo=LOCAL_TZ)
        parts = [s for s in segments if s["start"] < y1 and s["end"] > y0]
        if not parts:
            out.append(YearCell(year, "unknown"))
        elif len({str(p["state"]) for p in parts}) == 1:
            out.append(YearCell(year, str(parts[0]["state"])))
        else:
            changes = tuple(
                (p["start"].astimezone(LOCAL_TZ).date(), str(p["state"])) for p in parts[1:] if p["start"] >= y0
            )
            out.append(YearCell(year, "changes", changes))
    return out
