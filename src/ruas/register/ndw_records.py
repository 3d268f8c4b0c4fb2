"""From the NDW emission-zone feed to zone records bound to the national frameworks.

Each NDW zone is classified by what its conditions restrict (``ruas.sources.ndw.classify``),
not by its name, and bound to the framework the law gives it: ZE-zones to the
national ZE framework (only the zone's area, start date and decree are taken from
the feed), milieuzones to the harmonised milieuzone classes. The published condition
tree is kept as published, losslessly, next to the binding; the consistency report
(``ruas.register.consistency``) says where the two disagree.
"""

from __future__ import annotations

from typing import Any

from ruas.domain.conditions import walk
from ruas.domain.regulation import ZoneKind
from ruas.register.records import PLACEHOLDER_IDS, Record, authority_code, normalise_start
from ruas.rules.frameworks import MILIEUZONE_FRAMEWORK, ZE_FRAMEWORK
from ruas.sources.ndw import NdwFeed, NdwZone, classify, exemption_groups, milieuzone_min_classes_by_category

FRAMEWORK_GROUP_PREFIXES = (
    "euro",  # euroNExemption: the Euro-class exemptions the frameworks define themselves
    "camperExemption",
    "oldtimerExemption",
    "specialVehicleExemption",
    "wheelChairExemption",
    "zeroEmissionExemption",
)

LIGHT = ("M1", "N1")
HEAVY = ("M2", "M3", "N2", "N3")


def harmonised_milieuzone_params(zone: NdwZone) -> dict[str, int | None]:
    """The harmonised classes (Stb. 2019, 398) closest to what the feed publishes.

    Light vehicles (cars, vans): green (>= 4) or blue (>= 5) when the feed's strictest
    light class is 4 or 5; a published class below 4, or none, means the zone does not
    restrict light vehicles under the framework. Heavy vehicles: purple (>= 6) unless
    the feed leaves every heavy category effectively free (class <= 1).
    """
    by_cat = milieuzone_min_classes_by_category(zone)
    light_values = [v for k, v in by_cat.items() if k in LIGHT and v is not None]
    light = max(light_values) if light_values else None
    heavy_free = all(by_cat.get(k) is not None and (by_cat.get(k) or 0) <= 1 for k in HEAVY)
    return {
        "light": light if light in (4, 5) else None,
        "heavy": None if heavy_free else 6,
    }


def _local_clauses(zone: NdwZone) -> list[dict[str, Any]]:
    """Exemption groups the frameworks do not define (e.g. a taxi exemption), kept as local clauses."""
    nodes = {n.id: n for n in walk(zone.condition) if n.id}
    out = []
    for group in exemption_groups(zone):
        if group["prefix"].startswith(FRAMEWORK_GROUP_PREFIXES) or not group["id"]:
            continue
        node = nodes.get(group["id"])
        if node is None:
            continue
        out.append(
            {
                "id": f"{zone.id}#{group['prefix']}",
                "kind": "local",
                "label": f"local exemption as published by {zone.authority_name}: {group['prefix']}",
                "condition": node.to_data(),
            }
        )
    return out


def record_from_ndw(zone: NdwZone, *, source_name: str, publication_time: str) -> Record:
    """One NDW zone as a register record bound to its framework."""
    kind = classify(zone)
    placeholder = zone.regulation_id.strip().lower() in PLACEHOLDER_IDS
    legal: dict[str, Any] = {"citation": "" if placeholder else zone.regulation_id, "url": zone.url}
    notes: list[str] = []
    if placeholder:
        legal["note"] = f"the NDW feed names no traffic decree (regulationId {zone.regulation_id!r})"
        notes.append(f"legal basis not published in the NDW feed (regulationId {zone.regulation_id!r})")
    start = normalise_start(zone.start)
    end = normalise_start(zone.end) if zone.end is not None else None
    regulation: dict[str, Any] = {
        "framework": ZE_FRAMEWORK if kind is ZoneKind.ZERO_EMISSION else MILIEUZONE_FRAMEWORK,
        "start": start.isoformat(),
        "end": end.isoformat() if end else None,
        "legal_source": legal,
    }
    if kind is ZoneKind.ENVIRONMENTAL:
        regulation["params"] = harmonised_milieuzone_params(zone)
    local = _local_clauses(zone)
    if local:
        regulation["local_clauses"] = local
    authority = authority_code(zone.authority_name)
    return {
        "id": zone.id,
        "name": zone.name,
        "kind": kind.value,
        "authority": authority or "",
        "authority_name": zone.authority_name,
        "status": "in_force",
        "url": zone.url,
        "geometry": zone.geometry,
        "notes": notes,
        "source": {
            "kind": "ndw",
            "id": zone.id,
            "version": zone.version,
            "record_version_time": zone.record_version_time.isoformat(),
            "regulation_id": zone.regulation_id,
            "published_start": zone.start.isoformat(),
            "file": source_name,
            "publication_time": publication_time,
            "geometry_repaired": zone.geometry_repaired,
        },
        "published_condition": zone.condition.to_data(),
        "regulations": [regulation],
    }


def records_from_feed(feed: NdwFeed) -> list[Record]:
    """Every zone of a parsed feed as a record."""
    pub = feed.publication_time.isoformat()
    return [record_from_ndw(z, source_name=feed.source_name, publication_time=pub) for z in feed.zones]
