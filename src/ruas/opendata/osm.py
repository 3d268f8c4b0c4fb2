"""OSM tagging suggestions for the register's rules, for mappers to copy.

Each regulation whose subject OSM can express becomes tags on the ways inside its area:
weight, length, width, height and axle-load limits (``maxweightrating``, ``maxlength``, ...; scoped
to ``hgv`` when the rule is for goods vehicles), delivery windows as conditional access
(``motor_vehicle=no`` + ``motor_vehicle:conditional=yes @ (Mo-Sa 07:00-11:00; PH off)``) and
exemptions one can apply for as ``permit``. Emission zones become area tags
(``boundary=low_emission_zone``); their vehicle rules are the national framework and are published
in DATEX II. Anything else gets no tag and a note saying why: a suggestion is never a guess.

Values are in OSM units: tonnes and metres. ``maxweightrating`` is used because the register's
weight rules are on the maximum permitted mass (TMM), not on the actual weight (``maxweight``).
"""

from __future__ import annotations

from typing import Any

from ruas.domain.conditions import All, Condition, Leaf, Not, Op
from ruas.domain.regulation import Regulation, Status, Zone, ZoneKind, ZoneStatus
from ruas.domain.windows import TimeWindow
from ruas.opendata.snapshot import Snapshot, resolve_geometry
from ruas.opendata.xmlutil import number_text
from ruas.register.records import compile_record
from ruas.rules.frameworks import RuleSettings

LIMIT_KEYS = {
    "max_mass_kg": ("maxweightrating", 0.001),
    "axle_load_kg": ("maxaxleload", 0.001),
    "length_m": ("maxlength", 1.0),
    "width_m": ("maxwidth", 1.0),
    "height_m": ("maxheight", 1.0),
}


def _flat(node: Condition) -> list[Condition]:
    if isinstance(node, All):
        out: list[Condition] = []
        for c in node.children:
            out.extend(_flat(c))
        return out
    return [node]


def _vehicle_key(leaves: list[Condition]) -> tuple[str | None, list[Condition]]:
    """The OSM vehicle key the class leaves select (``hgv`` for goods vehicles, ...) and the leaves left."""
    rest: list[Condition] = []
    key: str | None = None
    for leaf in leaves:
        if isinstance(leaf, Leaf) and leaf.field == "category_group" and leaf.op is Op.EQ and leaf.value == "N":
            key = "hgv"
        elif (
            isinstance(leaf, Leaf)
            and leaf.field == "category_group"
            and leaf.op is Op.IN
            and set(leaf.value) == {"M", "N"}
        ):
            key = "motor_vehicle"
        else:
            rest.append(leaf)
    return key, rest


def regulation_tags(reg: Regulation) -> tuple[dict[str, str], list[str]]:
    """Suggested OSM tags for the ways a regulation covers, and notes (why none, permits, caveats)."""
    notes: list[str] = []
    if reg.status is not Status.IN_FORCE:
        return {}, [f"not in force ({reg.status.value}): no tags until it is"]
    if reg.framework is not None:
        return {}, [f"vehicle rules of the national framework {reg.framework}: see the DATEX II publication"]
    if reg.exemptions:
        notes.append("automatic exemptions apply: " + "; ".join(c.label for c in reg.exemptions))
    permit = bool(reg.exemption_types)
    if permit:
        notes.append("an exemption (ontheffing) can be applied for: " + ", ".join(reg.exemption_types))
    key, rest = _vehicle_key(_flat(reg.subject))
    tags: dict[str, str] = {}
    if len(rest) == 1 and isinstance(rest[0], Leaf) and rest[0].field in LIMIT_KEYS and rest[0].op in (Op.GT, Op.GE):
        leaf = rest[0]
        base, factor = LIMIT_KEYS[leaf.field]
        tag = f"{base}:{key}" if key == "hgv" else base
        tags[tag] = number_text(round(float(leaf.value) * factor, 3))
        if leaf.op is Op.GE:
            notes.append(f"the rule is 'at least {leaf.value}'; OSM limits mean 'more than': check the sign")
        if permit:
            tags[f"{tag}:conditional"] = "none @ permit"
            notes.append("':conditional=none @ permit' is a suggestion: OSM has no settled tag for permit holders")
    elif (
        len(rest) == 1
        and isinstance(rest[0], Not)
        and isinstance(rest[0].child, Leaf)
        and rest[0].child.op is Op.IN_WINDOW
        and key is not None
    ):
        window: TimeWindow = rest[0].child.value
        tags[key] = "permit" if permit else "no"
        tags[f"{key}:conditional"] = f"yes @ ({window.expression})"
    elif not rest and key is not None:
        tags[key] = "permit" if permit else "no"
    else:
        return {}, [*notes, "no OSM tag expresses this rule exactly: see the DATEX II publication"]
    return tags, notes


def area_tags(zone: Zone) -> dict[str, str]:
    """Tags for the zone's area itself (emission zones as ``boundary=low_emission_zone``)."""
    if zone.kind not in (ZoneKind.ZERO_EMISSION, ZoneKind.ENVIRONMENTAL) or zone.geometry is None:
        return {}
    tags = {"boundary": "low_emission_zone", "name": zone.name, "type": "boundary"}
    starts = [r.validity.start for r in zone.regulations if r.validity.start]
    if starts:
        tags["start_date"] = min(starts).date().isoformat()
    if zone.url:
        tags["website"] = zone.url
    citation = zone.source.get("regulation_id") if zone.source else None
    if citation and str(citation).lower() not in ("onbekend", "xxxx", "geen", "ntb", "unknown"):
        tags["ref"] = str(citation)
    return dict(sorted(tags.items()))


def osm_document(snapshot: Snapshot, settings: RuleSettings | None = None) -> dict[str, Any]:
    """Tagging suggestions for every zone in force with an area."""
    settings = settings or RuleSettings()
    zones: list[dict[str, Any]] = []
    for record in resolve_geometry(snapshot.records):
        zone = compile_record(record, settings)
        if zone.status is ZoneStatus.ANNOUNCED or zone.geometry is None:
            continue
        regulations = []
        for reg in zone.regulations:
            tags, notes = regulation_tags(reg)
            regulations.append({"id": reg.id, "name": reg.name, "tags": dict(sorted(tags.items())), "notes": notes})
        zones.append(
            {
                "id": zone.id,
                "name": zone.name,
                "kind": zone.kind.value,
                "authority": zone.authority,
                "illustrative": zone.illustrative,
                "applies_to": "the ways inside the zone's area (GET /api/v1/feed/zones.geojson)",
                "area_tags": area_tags(zone),
                "regulations": regulations,
            }
        )
    return {
        "register_version": snapshot.version,
        "published_at": snapshot.version_time.isoformat(),
        "note": "Suggestions for OSM mappers; check on the ground and against the decree before editing OSM.",
        "zones": zones,
    }
