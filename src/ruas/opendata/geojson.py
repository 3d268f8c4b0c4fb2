"""The register as GeoJSON: one feature per zone, its regulations and their rules as properties.

Zones without a published area (announced zones) are features with a ``null`` geometry, so a
consumer sees them too. The document is serialised deterministically (fixed key order, compact
separators): the same register gives the same bytes.
"""

from __future__ import annotations

import json
from typing import Any

from ruas.domain.regulation import Regulation, Zone
from ruas.opendata.snapshot import Snapshot, resolve_geometry
from ruas.register.records import compile_record
from ruas.rules.frameworks import RuleSettings

ATTRIBUTION = "RUAS register; emission zones: Bron: NDW (Nationaal Dataportaal Wegverkeer)"


def regulation_properties(reg: Regulation) -> dict[str, Any]:
    """A regulation with its rules as data: subject, validity, exemption clauses and types, legal source."""
    return {
        "id": reg.id,
        "name": reg.name,
        "kind": reg.kind.value,
        "status": reg.status.value,
        "framework": reg.framework,
        "prohibition": reg.prohibition,
        "valid_from": reg.validity.start.isoformat() if reg.validity.start else None,
        "valid_until": reg.validity.end.isoformat() if reg.validity.end else None,
        "subject": reg.subject_label,
        "subject_condition": reg.subject.to_data(),
        "exemptions": [
            {"id": c.id, "kind": c.kind, "label": c.label, "condition": c.condition.to_data()} for c in reg.exemptions
        ],
        "exemption_types": list(reg.exemption_types),
        "legal_source": reg.legal_source.to_data(),
    }


def zone_feature(zone: Zone, version: int) -> dict[str, Any]:
    """One zone as a GeoJSON feature."""
    return {
        "type": "Feature",
        "id": zone.id,
        "geometry": dict(zone.geometry) if zone.geometry is not None else None,
        "properties": {
            "id": zone.id,
            "name": zone.name,
            "kind": zone.kind.value,
            "status": zone.status.value,
            "authority": zone.authority,
            "authority_name": zone.authority_name,
            "version": version,
            "url": zone.url,
            "illustrative": zone.illustrative,
            "source": zone.source.get("kind", "ruas") if zone.source else "ruas",
            "source_id": zone.source.get("id") if zone.source else None,
            "notes": list(zone.notes),
            "regulations": [regulation_properties(r) for r in zone.regulations],
        },
    }


def geojson_document(snapshot: Snapshot, settings: RuleSettings | None = None) -> dict[str, Any]:
    """The register as a GeoJSON FeatureCollection (with the register version and attribution)."""
    settings = settings or RuleSettings()
    features = [
        zone_feature(compile_record(r, settings), snapshot.zone_version(str(r["id"])))
        for r in resolve_geometry(snapshot.records)
    ]
    return {
        "type": "FeatureCollection",
        "register_version": snapshot.version,
        "published_at": snapshot.version_time.isoformat(),
        "attribution": ATTRIBUTION,
        "features": features,
    }


def geojson_bytes(snapshot: Snapshot, settings: RuleSettings | None = None) -> bytes:
    """:func:`geojson_document` serialised deterministically (UTF-8)."""
    return dumps(geojson_document(snapshot, settings))


def dumps(data: Any) -> bytes:
    """Deterministic compact JSON (UTF-8, insertion order kept, newline at the end)."""
    return (json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
