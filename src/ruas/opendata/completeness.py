"""The "Data voor logistiek" completeness view: what each road authority publishes through the platform.

Data Top 15 item 14 asks every road authority for the logistics data: ZE-zones, milieuzones,
delivery windows (venstertijden), vehicle restrictions and loading zones. Per municipality of
Noord-Holland and Flevoland (and the two provinces, also road authorities) this view says which of
these it publishes, since when (first published through the platform) and from when the rules
apply. The register has no loading-zone kind yet: that column is always unpublished and says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select

from ruas.opendata.snapshot import Snapshot
from ruas.store.db import session_scope
from ruas.store.models import ZoneVersion

CATEGORIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("ze_zone", "ZE-zone (zero-emissiezone)", ("zero_emission",)),
    ("milieuzone", "milieuzone", ("environmental",)),
    ("delivery_windows", "venstertijden", ("time_window",)),
    ("vehicle_restrictions", "voertuigbeperkingen (gewicht, lengte, ...)", ("vehicle_restriction",)),
    ("loading_zones", "laad- en loszones", ()),
)
PROVINCES = (("PV27", "Noord-Holland"), ("PV24", "Flevoland"))


def first_published(engine: Engine) -> dict[str, datetime]:
    """When each zone was first published through the platform."""
    with session_scope(engine) as s:
        rows = s.execute(
            select(ZoneVersion.zone_id, func.min(ZoneVersion.published_at))
            .where(ZoneVersion.published_at.is_not(None))
            .group_by(ZoneVersion.zone_id)
        ).all()
    return {str(z): at for z, at in rows if at is not None}


def completeness(
    snapshot: Snapshot,
    authorities: Sequence[tuple[str, str, str]],
    published: Mapping[str, datetime],
) -> dict[str, Any]:
    """The view for ``authorities`` (code, name, province name); ``published``: first publication per zone."""
    by_authority: dict[str, list[Mapping[str, Any]]] = {}
    for record in snapshot.records:
        by_authority.setdefault(str(record.get("authority") or ""), []).append(record)
    rows: list[dict[str, Any]] = []
    for code, name, province in authorities:
        records = by_authority.get(code, [])
        kinds: dict[str, Any] = {}
        for key, label, zone_kinds in CATEGORIES:
            matching = [r for r in records if r.get("kind") in zone_kinds]
            in_force = [r for r in matching if r.get("status", "in_force") == "in_force"]
            announced = [r for r in matching if r.get("status") == "announced"]
            firsts = [published[r["id"]] for r in in_force if r["id"] in published]
            kinds[key] = {
                "label": label,
                "published": bool(in_force),
                "announced": bool(announced),
                "zones": [r["id"] for r in in_force],
                "announced_zones": [r["id"] for r in announced],
                "published_since": min(firsts).isoformat() if firsts else None,
                "rules_apply_from": _earliest_start(in_force),
            }
            if not zone_kinds:
                kinds[key]["note"] = "the register has no loading-zone kind yet"
        covered = sum(1 for key, _, zk in CATEGORIES if zk and kinds[key]["published"])
        rows.append({"code": code, "name": name, "province": province, "published_kinds": covered, "kinds": kinds})
    summary: dict[str, int] = {
        "authorities": len(rows),
        "publishing_any": sum(1 for r in rows if r["published_kinds"]),
    }
    for key, _, _ in CATEGORIES:
        summary[key] = sum(1 for r in rows if r["kinds"][key]["published"])
    return {
        "register_version": snapshot.version,
        "published_at": snapshot.version_time.isoformat(),
        "categories": [{"id": k, "label": label} for k, label, _ in CATEGORIES],
        "authorities": rows,
        "summary": summary,
    }


def _earliest_start(records: Sequence[Mapping[str, Any]]) -> str | None:
    starts: list[str] = []
    for r in records:
        for reg in r.get("regulations", ()):
            start = reg.get("start") if "framework" in reg else reg.get("custom", {}).get("validity", {}).get("start")
            if start:
                starts.append(str(start)[:10])
    return min(starts) if starts else None


def region_authorities() -> list[tuple[str, str, str]]:
    """The road authorities of NH and Flevoland: the 50 municipalities (CBS 2024) and the two provinces."""
    from ruas.sources.cbs import embedded_municipalities

    municipalities = sorted(
        (m.code, m.name, m.province_name or "") for m in embedded_municipalities() if m.province_code
    )
    return municipalities + [(code, name, name) for code, name in PROVINCES]
