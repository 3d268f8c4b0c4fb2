"""Consistency report: where an NDW zone's published conditions disagree with the national framework.

Every NDW zone is stored twice over: the condition tree *as published* by NDW
(``record["published_condition"]``) and the *binding* to a national framework
(``record["regulations"]``), which is what decisions follow. This module tells the
publisher where the two part ways, in two kinds of checks:

* **structural** -- what the published tree says, read against the framework's
  clauses: a placeholder ``regulationId``, a start at ``00:00Z`` instead of local
  midnight, vans and trucks split by EU category instead of TMM, van transition
  rules granted to trucks, missing first-admission (DET) rules, end dates that
  differ, exemptions the framework has and the feed lacks (or the reverse), and
  milieuzone classes that are not the harmonised ones;
* **behavioural** (decisive) -- both trees evaluated, with compiled closures, on a
  fixed grid of representative vehicles and moments. Every disagreement is
  reported with its direction (*feed allows, law refuses* or *feed refuses, law
  allows*), the kind of vehicle, the first and last moment, and examples.

The report is deterministic (no clock, fixed grid, stable ordering) so its
Markdown form can serve as a golden file.
"""

from __future__ import annotations

import json
import operator
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from itertools import pairwise
from typing import Any, Literal

from ruas.domain.conditions import (
    All,
    Any_,
    Condition,
    Leaf,
    Not,
    Op,
    Predicate,
    age_values,
    compile_condition,
    from_data,
    instant_thresholds,
    walk,
)
from ruas.domain.regulation import Clause, Regulation, Status
from ruas.domain.timeutil import LOCAL_TZ, add_years, local_midnight, parse_instant
from ruas.domain.vehicle import Body, Category, EmissionClass, Fuel, Vehicle
from ruas.register.records import PLACEHOLDER_IDS, compile_record
from ruas.rules.frameworks import (
    MILIEUZONE_FRAMEWORK,
    ZE_FRAMEWORK,
    Framework,
    RuleSettings,
    national_frameworks,
)
from ruas.sources.ndw import ExemptionGroup, NdwZone, exemption_groups, milieuzone_min_classes_by_category

__all__ = [
    "ConsistencyReport",
    "Disagreement",
    "Finding",
    "Probe",
    "Severity",
    "ZoneFindings",
    "behavioural_findings",
    "check_moments",
    "consistency_report",
    "disagreements",
    "fix_time",
    "is_behavioural",
    "probe_vehicles",
    "structural_findings",
    "zone_findings",
]

Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER: Mapping[str, int] = {"error": 0, "warning": 1, "info": 2}

FEED_ALLOWS = "feed allows, law refuses"
FEED_REFUSES = "feed refuses, law allows"
BEHAVIOUR_CODES: Mapping[str, str] = {FEED_ALLOWS: "feed-allows-law-refuses", FEED_REFUSES: "feed-refuses-law-allows"}
"""Finding code per direction of a behavioural disagreement."""

MAX_EXAMPLES = 4
LIGHT = ("M1", "N1")
HEAVY = ("M2", "M3", "N2", "N3")
CATEGORY_NAMES: Mapping[str, str] = {
    "M1": "passenger cars",
    "N1": "vans",
    "M2": "minibuses",
    "M3": "buses",
    "N2": "light trucks",
    "N3": "heavy trucks",
}
COLOURS: Mapping[tuple[str, int], str] = {("light", 4): "green", ("light", 5): "blue", ("heavy", 6): "purple"}
HARMONISED_MINIMUM: Mapping[str, int] = {"light": 4, "heavy": 6}
NEW_VEHICLE_DATE = date(2025, 1, 1)
WHEELCHAIR_CODES = ("145", "146", "147", "149")


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class Finding:
    """One disagreement between the published conditions and the framework, with what to fix."""

    code: str
    severity: Severity
    message: str
    examples: tuple[str, ...] = ()

    def to_data(self) -> dict[str, Any]:
        """JSON form ``{"code", "severity", "message", "examples"}``."""
        return {"code": self.code, "severity": self.severity, "message": self.message, "examples": list(self.examples)}


@dataclass(frozen=True, slots=True)
class ZoneFindings:
    """The findings for one NDW zone, errors first."""

    zone_id: str
    name: str
    authority_name: str
    kind: str
    findings: tuple[Finding, ...]

    def codes(self) -> tuple[str, ...]:
        """The finding codes in report order."""
        return tuple(f.code for f in self.findings)

    def with_code(self, code: str) -> tuple[Finding, ...]:
        """The findings with this code."""
        return tuple(f for f in self.findings if f.code == code)

    def count(self, severity: Severity) -> int:
        """How many findings have this severity."""
        return sum(1 for f in self.findings if f.severity == severity)

    def to_data(self) -> dict[str, Any]:
        """JSON form of the zone and its findings."""
        return {
            "id": self.zone_id,
            "name": self.name,
            "authority_name": self.authority_name,
            "kind": self.kind,
            "findings": [f.to_data() for f in self.findings],
        }


@dataclass(frozen=True, slots=True)
class ConsistencyReport:
    """Findings for every NDW zone of a register, in a stable order (zone name, then id)."""

    zones: tuple[ZoneFindings, ...]
    generated_from: tuple[str, ...] = ()

    def zone(self, key: str) -> ZoneFindings:
        """The findings of the zone with this id or (exact) name; ``KeyError`` when absent."""
        for z in self.zones:
            if key in (z.zone_id, z.name):
                return z
        raise KeyError(key)

    def summary(self) -> dict[str, int]:
        """Counts: zones, zones with findings, error and warning findings."""
        return {
            "zones": len(self.zones),
            "with_findings": sum(1 for z in self.zones if z.findings),
            "errors": sum(z.count("error") for z in self.zones),
            "warnings": sum(z.count("warning") for z in self.zones),
        }

    def to_data(self) -> dict[str, Any]:
        """JSON form ``{"generated_from", "zones", "summary"}``."""
        return {
            "generated_from": list(self.generated_from),
            "zones": [z.to_data() for z in self.zones],
            "summary": self.summary(),
        }

    def to_json(self) -> str:
        """The JSON form as text (stable key order)."""
        return json.dumps(self.to_data(), ensure_ascii=False, indent=2) + "\n"

    def to_markdown(self) -> str:
        """A readable report: one section per zone, findings grouped by severity (errors first)."""
        s = self.summary()
        lines = [
            "# Consistency of published NDW zone conditions with the national frameworks",
            "",
            "Decisions follow the national framework each zone is bound to; each finding tells the "
            "publisher where the conditions published in the NDW feed disagree with it and what to change.",
            "",
        ]
        if self.generated_from:
            lines.append("Generated from: " + ", ".join(f"`{name}`" for name in self.generated_from))
            lines.append("")
        lines.append(
            f"Zones: {s['zones']}; with findings: {s['with_findings']}; "
            f"errors: {s['errors']}; warnings: {s['warnings']}; "
            f"info: {sum(z.count('info') for z in self.zones)}."
        )
        for z in self.zones:
            lines += [
                "",
                f"## {z.name} ({z.authority_name}, {z.kind.replace('_', ' ')})",
                "",
                f"Zone id: `{z.zone_id}`",
            ]
            if not z.findings:
                lines += ["", "No findings."]
                continue
            for severity, title in (("error", "Errors"), ("warning", "Warnings"), ("info", "Information")):
                items = [f for f in z.findings if f.severity == severity]
                if not items:
                    continue
                lines += ["", f"### {title}", ""]
                for f in items:
                    lines.append(f"- **{f.code}**: {f.message}")
                    lines.extend(f"  - {example}" for example in f.examples)
        return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- entry points


def consistency_report(records: Sequence[Mapping[str, Any]], settings: RuleSettings | None = None) -> ConsistencyReport:
    """Check every NDW-sourced record (``source.kind == "ndw"``) against the framework it is bound to."""
    chosen = settings or RuleSettings()
    ndw = [r for r in records if (r.get("source") or {}).get("kind") == "ndw"]
    cache: RunCache = {}
    zones = sorted(
        (zone_findings(r, chosen, cache=cache) for r in ndw),
        key=lambda z: (z.name.casefold(), z.zone_id),
    )
    files = sorted({str(r["source"]["file"]) for r in ndw if r["source"].get("file")})
    return ConsistencyReport(tuple(zones), tuple(files))


def zone_findings(
    record: Mapping[str, Any], settings: RuleSettings | None = None, *, cache: RunCache | None = None
) -> ZoneFindings:
    """Structural and behavioural findings for one record, errors first (stable within a severity)."""
    chosen = settings or RuleSettings()
    findings = structural_findings(record, chosen) + behavioural_findings(record, chosen, cache=cache)
    ordered = sorted(findings, key=lambda f: SEVERITY_ORDER[f.severity])
    return ZoneFindings(
        zone_id=str(record["id"]),
        name=str(record.get("name") or record["id"]),
        authority_name=str(record.get("authority_name") or ""),
        kind=str(record.get("kind") or ""),
        findings=tuple(ordered),
    )


# --------------------------------------------------------------------------- the published tree


@dataclass(frozen=True, slots=True)
class _Group:
    """One exemption branch of the published tree, summarised."""

    node: Condition
    info: ExemptionGroup
    leaves: tuple[Leaf, ...]

    @property
    def name(self) -> str:
        """The branch's name as the publisher knows it (DATEX id part, e.g. ``euro5Exemption``)."""
        return self.info["prefix"] or self.node.id or "exemption"

    @property
    def classes(self) -> frozenset[int]:
        """The Euro classes the branch exempts."""
        return frozenset(self.info["euro_classes"])

    def values(self, fname: str, op: Op | None = None) -> list[Any]:
        """Every value the branch compares ``fname`` against (with ``op`` when given); sets flattened."""
        out: list[Any] = []
        for leaf in self.leaves:
            if leaf.field != fname or (op is not None and leaf.op is not op):
                continue
            out.extend(sorted(leaf.value, key=str) if isinstance(leaf.value, frozenset) else [leaf.value])
        return out

    def role(self) -> str:
        """What the branch is by content: class, zero_emission, age40, wheelchair, special, camper or other."""
        info = self.info
        if self.classes:
            return "class"
        if info["fuels"] and set(info["fuels"]) <= {"electric", "hydrogen"}:
            return "zero_emission"
        if ("ge", 40) in info["age"] or ("gt", 39) in info["age"]:
            return "age40"
        codes = set(self.values("special_codes"))
        if "SH" in info["special_purposes"] or codes & set(WHEELCHAIR_CODES):
            return "wheelchair"
        if {"SB", "SF"} & set(info["special_purposes"]) or self.values("body_codes"):
            return "special"
        if "SA" in info["special_purposes"] and "permanent_resident" in info["holder"]:
            return "camper"
        return "other"


@dataclass(frozen=True, slots=True)
class _Published:
    """The published tree split into validity, restriction and exemption groups."""

    tree: Condition
    start: datetime
    validity: Condition | None
    restriction: tuple[Condition, ...]
    groups: tuple[_Group, ...]
    ndw: NdwZone
    shaped: bool  # top is All(validity, restriction..., Not(Any(groups)))

    def leaves(self) -> list[Leaf]:
        """Every leaf of the tree."""
        return [n for n in walk(self.tree) if isinstance(n, Leaf)]

    def by_role(self, role: str) -> list[_Group]:
        """The exemption groups with this role."""
        return [g for g in self.groups if g.role() == role]


def _is_validity(node: Condition) -> bool:
    return (
        isinstance(node, All)
        and bool(node.children)
        and all(isinstance(c, Leaf) and c.field == "at" and c.op in (Op.GE, Op.LT) for c in node.children)
    )


def _published(record: Mapping[str, Any]) -> _Published:
    tree = from_data(record["published_condition"], f"{record['id']}.published_condition")
    children = tree.children if isinstance(tree, All) else (tree,)
    validity = next((c for c in children if _is_validity(c)), None)
    restriction = tuple(c for c in children if c is not validity and not isinstance(c, Not))
    negated = [c for c in children if isinstance(c, Not)]
    group_nodes: list[Condition] = []
    for n in negated:
        inner = n.child
        group_nodes.extend(inner.children if isinstance(inner, Any_) else (inner,))
    source = record.get("source") or {}
    start = _published_start(source, validity)
    ndw = NdwZone(
        id=str(record["id"]),
        version=int(source.get("version") or 0),
        name=str(record.get("name") or ""),
        authority_name=str(record.get("authority_name") or ""),
        regulation_id=str(source.get("regulation_id") or ""),
        tro_status="",
        status="",
        url=str(record.get("url") or ""),
        record_version_time=start,
        start=start,
        end=None,
        geometry=dict(record.get("geometry") or {}),
        geometry_repaired=False,
        condition=tree,
        datex_leaf_values={},
        validity_id=(validity.id or "") if validity is not None else "",
    )
    infos = exemption_groups(ndw)
    groups = tuple(
        _Group(node, info, tuple(n for n in walk(node) if isinstance(n, Leaf)))
        for node, info in zip(group_nodes, infos, strict=True)
    )
    shaped = isinstance(tree, All) and validity is not None and len(negated) == 1
    return _Published(tree, start, validity, restriction, groups, ndw, shaped)


def _published_start(source: Mapping[str, Any], validity: Condition | None) -> datetime:
    raw = source.get("published_start")
    if raw:
        return parse_instant(str(raw), "published_start")
    if isinstance(validity, All):
        for leaf in validity.children:
            if isinstance(leaf, Leaf) and leaf.op is Op.GE:
                start: datetime = leaf.value
                return start
    return datetime(1970, 1, 1, tzinfo=UTC)


# --------------------------------------------------------------------------- formatting helpers


def _local_text(at: datetime) -> str:
    """``2027-01-01`` for local midnight, else ``2026-12-31 23:59`` (Europe/Amsterdam)."""
    local = at.astimezone(LOCAL_TZ)
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        return local.date().isoformat()
    return local.strftime("%Y-%m-%d %H:%M")


def _utc_text(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _instant_text(at: datetime) -> str:
    """``2026-12-31T23:00:00Z (= 2027-01-01 00:00 local)``."""
    return f"{_utc_text(at)} (= {at.astimezone(LOCAL_TZ).strftime('%Y-%m-%d %H:%M')} local)"


def _names(groups: Iterable[_Group]) -> str:
    return ", ".join(sorted({g.name for g in groups}))


def _clause_end(clause: Clause) -> datetime | None:
    ends = [n.value for n in walk(clause.condition) if isinstance(n, Leaf) and n.field == "at" and n.op is Op.LT]
    return min(ends) if ends else None


def _group_end(group: _Group) -> datetime | None:
    return group.info["end"]


# --------------------------------------------------------------------------- structural checks


def structural_findings(record: Mapping[str, Any], settings: RuleSettings | None = None) -> list[Finding]:
    """Findings from reading the published tree against the bound framework's clauses."""
    chosen = settings or RuleSettings()
    pub = _published(record)
    binding = next((r for r in record.get("regulations", ()) if "framework" in r), None)
    out: list[Finding] = []
    out += _legal_basis(record)
    law_start = _instant(binding.get("start")) if binding else None
    out += _start_offset(pub, law_start)
    if binding is None:
        return out
    fw = national_frameworks().get(str(binding["framework"]))
    if fw is None:
        return out
    clauses = {c.id: c for c in fw.selected_clauses(chosen)}
    if fw.id == ZE_FRAMEWORK:
        out += _ze_findings(pub, fw, clauses, law_start)
    elif fw.id == MILIEUZONE_FRAMEWORK:
        out += _milieuzone_findings(pub, binding)
    out += _exemptions_not_in_framework(pub, fw, binding)
    return out


def _instant(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, datetime) else parse_instant(str(value))


def _legal_basis(record: Mapping[str, Any]) -> list[Finding]:
    reg_id = str((record.get("source") or {}).get("regulation_id") or "")
    if reg_id.strip().lower() not in PLACEHOLDER_IDS:
        return []
    return [
        Finding(
            "legal-basis-missing",
            "error",
            f"The feed names no traffic decree: regulationId is {reg_id!r}, a placeholder. Without it the zone "
            "has no published legal basis. Publish the verkeersbesluit that creates the zone as regulationId "
            "(its official publication number, e.g. gmb-2024-282973).",
            (f"regulationId {reg_id!r}",),
        )
    ]


def _start_offset(pub: _Published, law_start: datetime | None) -> list[Finding]:
    """Starts published at ``00:00Z``: 01:00 (02:00 in summer) local instead of local midnight."""
    if law_start is None or pub.start == law_start:
        return []
    examples = []
    ends = [leaf.value for leaf in pub.leaves() if leaf.field == "at" and leaf.op is Op.LT]
    ends_local = bool(ends) and all(e == local_midnight(e.astimezone(LOCAL_TZ).date()) for e in ends)
    for leaf in pub.leaves():
        if (
            leaf.field == "at"
            and leaf.op is Op.GE
            and leaf.value != local_midnight(leaf.value.astimezone(LOCAL_TZ).date())
        ):
            examples.append(f"{leaf.id or 'start'}: {_instant_text(leaf.value)}")
    return [
        Finding(
            "start-not-local-midnight",
            "info",
            f"The zone's start is published as {_instant_text(pub.start)}; the decree starts it at local midnight, "
            f"{_instant_text(law_start)}. The register uses local midnight. Publish overallStartTime as "
            f"{_utc_text(law_start)} (or with the local offset, "
            f"{law_start.astimezone(LOCAL_TZ).isoformat()})"
            + (", as the end dates in the feed already are." if ends_local else "."),
            tuple(sorted(set(examples))),
        )
    ]


# ---- zero-emission zones


def _covers_trucks(group: _Group) -> bool:
    """True when a branch's categories (or lack of them) reach goods vehicles over 3,500 kg."""
    cats = set(group.info["categories"])
    light_mass = any(v <= 3500 for v in group.values("max_mass_kg", Op.LE)) or any(
        v <= 3501 for v in group.values("max_mass_kg", Op.LT)
    )
    if light_mass:
        return False
    return not cats or bool(cats & {"N2", "N3", "N"})


def _covers_vans(group: _Group) -> bool:
    """True when a branch reaches goods vehicles of at most 3,500 kg (N1 or no category; no lower mass bound)."""
    cats = set(group.info["categories"])
    heavy_only = any(v >= 3500 for v in group.values("max_mass_kg", Op.GT)) or any(
        v > 3500 for v in group.values("max_mass_kg", Op.GE)
    )
    return not heavy_only and (not cats or bool(cats & {"N1", "N"}))


def _ze_findings(
    pub: _Published, fw: Framework, clauses: Mapping[str, Clause], law_start: datetime | None
) -> list[Finding]:
    out: list[Finding] = []
    start = law_start or pub.start

    def relevant(clause_id: str) -> Clause | None:
        clause = clauses.get(clause_id) or next((c for c in clauses.values() if c.replaces == clause_id), None)
        if clause is None:
            return None
        end = _clause_end(clause)
        return clause if end is None or end > start else None

    # restriction: the framework's subject is every goods vehicle (N1, N2, N3) that is not zero-emission
    cats = {
        str(value)
        for c in pub.restriction
        for leaf in walk(c)
        if isinstance(leaf, Leaf) and leaf.field in ("category", "category_group") and leaf.op in (Op.EQ, Op.IN)
        for value in (leaf.value if isinstance(leaf.value, frozenset) else (leaf.value,))
    }
    if cats and not ({"N1", "N2", "N3"} <= cats or "N" in cats):
        missing = sorted({"N1", "N2", "N3"} - cats)
        out.append(
            Finding(
                "ze-restriction-differs",
                "error",
                f"The restriction names EU categories {', '.join(sorted(cats))}; the ZE framework restricts every "
                f"goods vehicle (N1, N2 and N3) that is not zero-emission. Add {', '.join(missing)}.",
                tuple(f"{c} not restricted" for c in missing),
            )
        )

    class_groups = pub.by_role("class")
    uses_mass = any(leaf.field == "max_mass_kg" for leaf in pub.leaves())
    by_category = [g for g in class_groups if g.info["categories"]]
    if by_category and not uses_mass:
        out.append(
            Finding(
                "ze-split-by-category",
                "warning",
                "The feed separates vans from trucks by EU category (N1/N2/N3) only; the law separates them by "
                "maximum permitted mass (TMM): a van has TMM <= 3,500 kg, a truck more. Vehicles whose category "
                "and TMM disagree get the wrong rule. Select the van transition rules with a "
                "grossWeightCharacteristic (typeOfWeight maximumPermitted, lessThanOrEqualTo 3.5 t) instead of "
                "euVehicleCategory.",
                tuple(f"{g.name}: categories {', '.join(g.info['categories'])}" for g in by_category),
            )
        )

    van_groups = [g for g in class_groups if g.classes & {5, 6}]
    # class 5 never reaches trucks; class 6 reaches them only through the truck rules (not shared with vans)
    to_trucks = [g for g in van_groups if _covers_trucks(g) and (5 in g.classes or _covers_vans(g))]
    if to_trucks:
        out.append(
            Finding(
                "ze-van-rules-to-trucks",
                "error",
                "The class-5 and class-6 transition exemptions are granted to trucks: "
                f"{_names(to_trucks)} include EU category N2 (TMM over 3,500 kg). Under RVV art. 86e these are "
                "van rules (TMM <= 3,500 kg): a light truck of class 5 gets no transition at all, and a class-6 truck "
                "only the truck rules by first admission. Restrict these exemptions to vans (remove N2, or select "
                "by TMM <= 3,500 kg).",
                tuple(
                    f"{g.name}: class {', '.join(str(c) for c in sorted(g.classes))} for "
                    f"{', '.join(g.info['categories']) or 'every category'}"
                    + (f" until {_instant_text(end)}" if (end := _group_end(g)) else "")
                    for g in to_trucks
                ),
            )
        )

    truck_ids = ("ze-tractor-class6", "ze-rigid-class6-2020", "ze-rigid-class6-2017")
    truck_rules = [c for c in (relevant(i) for i in truck_ids) if c is not None]
    has_truck_det = any(
        6 in g.classes and g.values("first_admission", Op.GE) and _covers_trucks(g) for g in class_groups
    )
    if truck_rules and not has_truck_det:
        out.append(
            Finding(
                "ze-truck-det-rules-missing",
                "error",
                "The truck transition rules are missing: the feed has no condition on the date of first admission "
                "(DET), so class-6 trucks the law admits are refused (or, where N2 shares the van rule, admitted on "
                "the van's terms). Add one exemption per rule below for trucks (TMM > 3,500 kg) of emission class 6: "
                "tractor unit or rigid truck, first admission as an ageCharacteristic (yearOfFirstRegistration), "
                "and the rule's end date as overallEndTime.",
                tuple(c.label for c in truck_rules),
            )
        )

    new_rule = [g for g in van_groups if not any(v <= NEW_VEHICLE_DATE for v in g.values("first_admission", Op.LT))]
    if new_rule and (law_start is None or law_start < local_midnight(date(2030, 1, 1))):
        out.append(
            Finding(
                "ze-new-vehicle-rule-missing",
                "error",
                "The transition exemptions do not exclude vehicles first admitted on or after 2025-01-01: by law every "
                "van and truck first admitted from 2025-01-01 must be zero-emission, whatever its class. Add "
                "'first admitted before 2025-01-01' (ageCharacteristic yearOfFirstRegistration lessThan 2025) to "
                f"{_names(new_rule)}.",
                tuple(f"{g.name}: no first-admission condition" for g in new_rule),
            )
        )

    out += _ze_transition_ends(class_groups, relevant)
    out += _ze_vrijstellingen(pub, clauses, start)

    zero = pub.by_role("zero_emission")
    contains = [g for g in zero if g.values("fuels", Op.CONTAINS) and not g.values("fuels", Op.SUBSET_OF)]
    if contains:
        out.append(
            Finding(
                "ze-zero-emission-by-fuel",
                "warning",
                f"The zero-emission exemption ({_names(contains)}) exempts a vehicle that has an electric or "
                "hydrogen fuel; read that way it also exempts plug-in hybrids (petrol or diesel + electric), which "
                "are not zero-emission (emission class Z needs every fuel to be electric or hydrogen). Publish the "
                "exemption so that it requires every fuel to be electric or hydrogen, e.g. by also negating the "
                "combustion fuels.",
                tuple(f"{g.name}: fuels {', '.join(g.info['fuels'])}" for g in contains),
            )
        )
    return out


def _ze_transition_ends(class_groups: list[_Group], relevant: Callable[[str], Clause | None]) -> list[Finding]:
    out: list[Finding] = []
    diffs: list[str] = []
    missing: list[str] = []
    for cls, clause_id in ((5, "ze-van-class5"), (6, "ze-van-class6")):
        clause = relevant(clause_id)
        if clause is None:
            continue
        want = _clause_end(clause)
        groups = [g for g in class_groups if cls in g.classes and _covers_vans(g)]
        if not groups:
            missing.append(clause.label)
            continue
        for g in groups:
            end = _group_end(g)
            if end != want:
                got = _instant_text(end) if end else "no end date"
                diffs.append(
                    f"{g.name}: ends {got}; framework ({clause.id}): "
                    f"{_instant_text(want) if want else 'no end date'}"
                    + (f" ({clause.status.value})" if clause.status is not Status.IN_FORCE else "")
                )
    if diffs:
        out.append(
            Finding(
                "ze-transition-end-differs",
                "error",
                "Transition exemptions end on other dates than the framework: vans of class 5 may enter until "
                "2027-01-01 and of class 6 until 2028-01-01 (local midnight; 2026-12-31T23:00:00Z is "
                "2027-01-01 00:00 local and is consistent). Set overallEndTime to the framework's date.",
                tuple(diffs),
            )
        )
    if missing:
        out.append(
            Finding(
                "ze-transition-missing",
                "error",
                "A van transition rule of the framework is missing from the feed, so vans the law admits are "
                "refused. Add an exemption for each rule below.",
                tuple(missing),
            )
        )
    return out


def _ze_vrijstellingen(pub: _Published, clauses: Mapping[str, Clause], start: datetime) -> list[Finding]:
    out: list[Finding] = []
    live = {cid: c for cid, c in clauses.items() if c.kind == "vrijstelling" and (_clause_end(c) or start) > start}
    role_of = {
        "ze-vrijstelling-40-years": "age40",
        "ze-vrijstelling-wheelchair": "wheelchair",
        "ze-vrijstelling-special-truck": "special",
    }
    missing = [c.label for cid, c in live.items() if cid in role_of and not pub.by_role(role_of[cid])]
    if missing:
        out.append(
            Finding(
                "framework-exemption-missing",
                "warning",
                "Automatic exemptions (vrijstellingen) of the ZE framework are missing from the feed; vehicles "
                "they cover are refused by the feed but admitted by law. Add them.",
                tuple(missing),
            )
        )
    special = live.get("ze-vrijstelling-special-truck")
    special_groups = pub.by_role("special")
    if special is not None and special_groups:
        codes = {str(v) for g in special_groups for v in g.values("body_codes")}
        want = sorted(_clause_set_values(special, "body_codes"), key=int)
        lacking = [c for c in want if c not in codes]
        if lacking:
            out.append(
                Finding(
                    "ze-special-truck-body-codes-missing",
                    "warning",
                    f"The special-vehicle exemption ({_names(special_groups)}) names only special-purpose codes "
                    f"{', '.join(sorted({p for g in special_groups for p in g.info['special_purposes']}))}; the "
                    f"framework also exempts trucks younger than 13 years with RDW body code "
                    f"{', '.join(lacking)}. DATEX II has no standard element for RDW body codes "
                    "(carrosserie-specifiek): publish them through an extension, or at least on the further-"
                    "information page.",
                    tuple(f"body code {c} missing" for c in lacking),
                )
            )
    wheel = live.get("ze-vrijstelling-wheelchair")
    wheel_groups = pub.by_role("wheelchair")
    if wheel is not None and wheel_groups and not any(g.values("special_codes") for g in wheel_groups):
        out.append(
            Finding(
                "ze-wheelchair-codes-not-expressible",
                "info",
                f"The wheelchair exemption ({_names(wheel_groups)}) names special-purpose code SH only; the "
                f"framework also exempts vans with RDW code {'/'.join(WHEELCHAIR_CODES)}, which DATEX II cannot "
                "express. Mention these codes on the further-information page; the register applies them.",
                tuple(f"RDW code {c} not in the feed" for c in WHEELCHAIR_CODES),
            )
        )
    law_end = min((e for c in live.values() if (e := _clause_end(c)) is not None), default=None)
    vrij = [g for g in pub.groups if g.role() in ("age40", "wheelchair", "special")]
    if vrij:
        stop = local_midnight(date(2030, 1, 1))
        open_ended = [g for g in vrij if (end := _group_end(g)) is None or end > stop]
        if open_ended:
            never = "" if law_end is not None else " The zone starts when these exemptions have already ended."
            out.append(
                Finding(
                    "ze-vrijstelling-end-missing",
                    "warning",
                    f"Automatic exemptions have no end date in the feed ({_names(open_ended)}); in the ZE framework "
                    f"every automatic exemption ends on 2030-01-01.{never} Add overallEndTime "
                    f"{_utc_text(stop)} (= 2030-01-01 00:00 local) to each.",
                    tuple(f"{g.name}: no end date" for g in open_ended),
                )
            )
    return out


def _clause_set_values(clause: Clause, fname: str) -> set[str]:
    out: set[str] = set()
    for n in walk(clause.condition):
        if isinstance(n, Leaf) and n.field == fname:
            out.update(str(v) for v in (n.value if isinstance(n.value, frozenset) else {n.value}))
    return out


# ---- milieuzones


def _bucket(category: str) -> str:
    return "light" if category in LIGHT else "heavy"


def _harmonised_text(params: Mapping[str, Any]) -> str:
    parts = []
    for bucket, words in (("light", "cars and vans"), ("heavy", "trucks and buses")):
        value = params.get(bucket)
        if value is None:
            parts.append(f"{words} not restricted")
        else:
            parts.append(f"{words} class >= {value} ({COLOURS.get((bucket, int(value)), '?')})")
    return "; ".join(parts)


def _milieuzone_findings(pub: _Published, binding: Mapping[str, Any]) -> list[Finding]:
    params = dict(binding.get("params") or {})
    per = milieuzone_min_classes_by_category(pub.ndw)
    bound = _harmonised_text(params)
    out: list[Finding] = []
    no_class = [c for c, v in per.items() if v is None]
    if no_class:
        out.append(
            Finding(
                "milieuzone-restricted-without-class",
                "error",
                f"Diesel {', '.join(f'{CATEGORY_NAMES[c]} ({c})' for c in no_class)} are restricted with no Euro-class "
                "exemption: the feed refuses every diesel vehicle of these categories, whatever its class. A "
                "harmonised milieuzone restricts cars and vans only below class 4 (green) or 5 (blue) and trucks "
                f"and buses below class 6 (purple); this zone as bound: {bound}. Add a Euro-class exemption for "
                "these categories, or leave them out of the restriction if the zone does not restrict them.",
                tuple(
                    f"{c}: restricted, no class exemption; framework as bound: "
                    + (f"class >= {params.get(_bucket(c))}" if params.get(_bucket(c)) is not None else "not restricted")
                    for c in no_class
                ),
            )
        )
    below = [(c, v) for c, v in per.items() if v is not None and v < HARMONISED_MINIMUM[_bucket(c)]]
    if below:
        out.append(
            Finding(
                "milieuzone-class-below-minimum",
                "error",
                "The feed admits diesel vehicles from Euro classes below the harmonised minimum (Stb. 2019, 398): "
                "cars and vans need class >= 4 (green) or >= 5 (blue), trucks and buses class >= 6 (purple). "
                f"This zone as bound: {bound}. Publish the harmonised class for each category below.",
                tuple(
                    f"{c} ({CATEGORY_NAMES[c]}): class >= {v} published; harmonised: "
                    + ("purple >= 6" if _bucket(c) == "heavy" else "green >= 4 or blue >= 5")
                    + (
                        f", bound: class >= {params.get(_bucket(c))}"
                        if params.get(_bucket(c)) is not None
                        else ", bound: not restricted"
                    )
                    for c, v in below
                ),
            )
        )
    differs = [
        (c, v)
        for c, v in per.items()
        if v is not None and v >= HARMONISED_MINIMUM[_bucket(c)] and params.get(_bucket(c)) not in (None, v)
    ]
    if differs:
        out.append(
            Finding(
                "milieuzone-class-differs",
                "error",
                f"Published minimum classes differ from the harmonised classes the zone is bound to ({bound}). "
                "Publish one class per group: cars and vans (TMM <= 3,500 kg) one of green/blue, trucks and buses "
                "purple.",
                tuple(f"{c}: class >= {v} published, bound: class >= {params.get(_bucket(c))}" for c, v in differs),
            )
        )
    role_of = {
        "mz-vrijstelling-40-years": "age40",
        "mz-vrijstelling-camper-resident": "camper",
        "mz-vrijstelling-special": "special",
        "mz-vrijstelling-wheelchair": "wheelchair",
    }
    fw = national_frameworks()[MILIEUZONE_FRAMEWORK]
    missing = [c.label for c in fw.clauses if c.id in role_of and not pub.by_role(role_of[c.id])]
    if missing:
        out.append(
            Finding(
                "framework-exemption-missing",
                "warning",
                "Automatic exemptions (vrijstellingen) of the milieuzone framework are missing from the feed; "
                "vehicles they cover are refused by the feed but admitted by law. Add them.",
                tuple(missing),
            )
        )
    return out


def _exemptions_not_in_framework(pub: _Published, fw: Framework, binding: Mapping[str, Any]) -> list[Finding]:
    known = {"class", "age40", "wheelchair", "special"}
    known |= {"zero_emission"} if fw.id == ZE_FRAMEWORK else {"camper"}
    extra = [g for g in pub.groups if g.role() not in known]
    if not extra:
        return []
    local = {str(c.get("id", "")).rsplit("#", 1)[-1] for c in binding.get("local_clauses", ())}
    what = {
        "camper": "motor caravans (SA) whose keeper lives in the zone",
        "zero_emission": "vehicles by fuel",
    }
    examples = []
    for g in extra:
        kept = "kept in the register as a local exemption" if g.name in local else "not applied by the register"
        desc = what.get(g.role()) or ", ".join(f for f in g.info["fields"] if f != "at")
        examples.append(f"{g.name} ({desc}): {kept}")
    return [
        Finding(
            "exemption-not-in-framework",
            "warning",
            f"The feed publishes exemptions that the national framework ({fw.name_nl or fw.name}) does not have: "
            f"{_names(extra)}. If the zone's traffic decree grants them, cite that decree; otherwise remove them "
            "from the feed.",
            tuple(examples),
        )
    ]


# --------------------------------------------------------------------------- behavioural check


@dataclass(frozen=True, slots=True)
class Probe:
    """One vehicle of the check grid: its kind (for grouping) and a short description (for examples)."""

    kind: str
    description: str
    vehicle: Vehicle


@dataclass(frozen=True, slots=True)
class Disagreement:
    """One vehicle at one moment where the feed and the law answer differently.

    ``reasons`` say why the allowing side allows: the feed's exemption groups (``euro5Exemption``),
    the framework clauses (``ze-tractor-class6``), ``not restricted`` or ``not in force``.
    """

    probe: Probe
    at: datetime
    direction: str
    reasons: tuple[str, ...]

    def example(self) -> str:
        """The example line, e.g. ``... at 2026-07-01: feed allows (exemption euro5Exemption), law refuses``."""
        why = ", ".join(self.reasons)
        if self.direction == FEED_ALLOWS:
            label = why if why in ("not restricted", "not in force") else f"exemption {why}"
            return f"{self.probe.description} at {_local_text(self.at)}: feed allows ({label}), law refuses"
        return f"{self.probe.description} at {_local_text(self.at)}: feed refuses, law allows ({why})"


DETS = (
    date(1980, 6, 1),
    date(2012, 6, 1),
    date(2016, 6, 1),
    date(2018, 6, 1),
    date(2021, 6, 1),
    date(2024, 6, 1),
    date(2025, 6, 1),
)
"""Dates of first admission in the grid: 40+ years old, before and after the DET limits of the truck rules."""

FUELS: tuple[tuple[str, frozenset[Fuel]], ...] = (
    ("diesel", frozenset({Fuel.DIESEL})),
    ("petrol", frozenset({Fuel.PETROL})),
    ("electric", frozenset({Fuel.ELECTRIC})),
    ("hydrogen", frozenset({Fuel.HYDROGEN})),
    ("phev", frozenset({Fuel.PETROL, Fuel.ELECTRIC})),
)
KINDS: tuple[tuple[str, str, Category, Body, int], ...] = (
    ("van N1 2,800 kg", "N1 van 2,800 kg", Category.N1, Body.VAN, 2800),
    ("van N1 3,500 kg", "N1 van 3,500 kg", Category.N1, Body.VAN, 3500),
    ("light truck N2 rigid 4,500 kg", "N2 rigid 4,500 kg", Category.N2, Body.RIGID, 4500),
    ("truck N2 rigid 12,000 kg", "N2 rigid 12,000 kg", Category.N2, Body.RIGID, 12000),
    ("tractor unit N3 18,000 kg", "N3 tractor 18,000 kg", Category.N3, Body.TRACTOR, 18000),
    ("rigid truck N3 26,000 kg", "N3 rigid 26,000 kg", Category.N3, Body.RIGID, 26000),
    ("passenger car M1", "M1 car 1,800 kg", Category.M1, Body.CAR, 1800),
    ("bus M3", "M3 bus 18,000 kg", Category.M3, Body.BUS, 18000),
)
"""Vehicle kinds of the grid: (kind for grouping, label for examples, category, body, TMM)."""


def _probe(
    kind: str,
    label: str,
    spec: tuple[Category, Body, int],
    fuel: tuple[str, frozenset[Fuel]],
    cls: EmissionClass,
    det: date,
    *,
    special_purpose: frozenset[str] = frozenset(),
    special_codes: frozenset[str] = frozenset(),
    body_codes: frozenset[str] = frozenset(),
) -> Probe:
    category, body, mass = spec
    vehicle = Vehicle(
        category=category,
        body=body,
        fuels=fuel[1],
        emission_class=cls,
        first_admission=det,
        max_mass_kg=mass,
        special_purpose=special_purpose,
        special_codes=special_codes,
        body_codes=body_codes,
        synthetic=True,
    )
    cls_text = "zero-emission" if cls is EmissionClass.Z else f"class {cls.value}"
    return Probe(kind, f"{fuel[0]} {label} {cls_text} DET {det.isoformat()}", vehicle)


@lru_cache(maxsize=1)
def probe_vehicles() -> tuple[Probe, ...]:
    """The fixed grid: 8 vehicle kinds x 5 fuels x classes 0-6 (Z when electric/hydrogen) x 7 DETs, plus 4 specials.

    The specials: a wheelchair-accessible van with SH and one with RDW code 145, a
    special truck with body code 15 (DET 2016) and an armoured truck (SB).
    """
    out: list[Probe] = []
    for kind, label, category, body, mass in KINDS:
        for fuel in FUELS:
            zero = fuel[1] <= {Fuel.ELECTRIC, Fuel.HYDROGEN}
            classes = (EmissionClass.Z,) if zero else tuple(EmissionClass(str(i)) for i in range(7))
            for cls in classes:
                for det in DETS:
                    out.append(_probe(kind, label, (category, body, mass), fuel, cls, det))
    diesel = FUELS[0]
    van = (Category.N1, Body.VAN, 2800)
    out += [
        _probe(
            "wheelchair-accessible van (SH)",
            "N1 van 2,800 kg SH",
            van,
            diesel,
            EmissionClass.E4,
            date(2016, 6, 1),
            special_purpose=frozenset({"SH"}),
        ),
        _probe(
            "wheelchair-accessible van (RDW code 145)",
            "N1 van 2,800 kg code 145",
            van,
            diesel,
            EmissionClass.E4,
            date(2016, 6, 1),
            special_codes=frozenset({"145"}),
        ),
        _probe(
            "special truck (body code 15)",
            "N3 rigid 26,000 kg body code 15",
            (Category.N3, Body.RIGID, 26000),
            diesel,
            EmissionClass.E6,
            date(2016, 6, 1),
            body_codes=frozenset({"15"}),
        ),
        _probe(
            "armoured truck (SB)",
            "N2 rigid 12,000 kg SB",
            (Category.N2, Body.RIGID, 12000),
            diesel,
            EmissionClass.E5,
            date(2018, 6, 1),
            special_purpose=frozenset({"SB"}),
        ),
    ]
    return tuple(out)


FIXED_DAYS = (
    date(2025, 7, 1),
    date(2026, 7, 1),
    date(2027, 7, 1),
    date(2028, 7, 1),
    date(2029, 7, 1),
    date(2030, 7, 1),
)
BOUNDARY_DAYS = (date(2027, 1, 1), date(2028, 1, 1), date(2030, 1, 1))
_MINUTE = timedelta(minutes=1)


def check_moments(
    law_start: datetime | None, published_start: datetime, thresholds: Iterable[datetime] = ()
) -> tuple[datetime, ...]:
    """The moments checked, in order: fixed mid-year days, and 1 minute either side of each boundary.

    Boundaries: the zone's start (local midnight), 2027-01-01, 2028-01-01 and
    2030-01-01 (local), and any further ``thresholds`` (dates the trees name). The
    published start itself is checked too; moments before it are left out (before
    it the feed says nothing; the start offset is a structural finding).
    """
    points: set[datetime] = {local_midnight(d) for d in FIXED_DAYS}
    edges = {local_midnight(d) for d in BOUNDARY_DAYS} | set(thresholds)
    if law_start is not None:
        edges.add(law_start)
    for t in edges:
        points.update((t - _MINUTE, t + _MINUTE))
    points.add(published_start)
    return tuple(sorted(p for p in points if p >= published_start))


_AT_CMP: Mapping[Op, Callable[[datetime, datetime], bool]] = {
    Op.LT: operator.lt,
    Op.LE: operator.le,
    Op.GT: operator.gt,
    Op.GE: operator.ge,
}


def fix_time(node: Condition, at: datetime) -> Condition | bool:
    """``node`` with every ``at`` leaf decided for instant ``at`` and simplified (vehicle leaves kept).

    Age leaves stay: they depend on the vehicle. Used to compile, once per stretch of
    time, a smaller closure that is then run for every vehicle of the grid.
    """
    if isinstance(node, Leaf):
        if node.field != "at":
            return node
        if node.op is Op.IN_WINDOW:
            return bool(node.value.is_open(at))
        return bool(_AT_CMP[node.op](at, node.value))
    if isinstance(node, Not):
        inner = fix_time(node.child, at)
        return (not inner) if isinstance(inner, bool) else Not(inner, node.id, node.label)
    is_all = isinstance(node, All)
    kept: list[Condition] = []
    for child in node.children:
        r = fix_time(child, at)
        if isinstance(r, bool):
            if r != is_all:
                return r
            continue
        kept.append(r)
    if not kept:
        return is_all
    if len(kept) == 1:
        return kept[0]
    return All(tuple(kept), node.id, node.label) if is_all else Any_(tuple(kept), node.id, node.label)


def _closure(node: Condition | bool) -> Predicate:
    if isinstance(node, bool):
        value = node
        return lambda v, at: value
    return compile_condition(node)


class _Side:
    """One side of the comparison (feed or law): a tree, its closures per stretch of time, and an explainer."""

    def __init__(self, trees: Sequence[Condition], explain: Callable[[Vehicle, datetime], tuple[str, ...]]) -> None:
        self.trees = tuple(trees)
        self.explain = explain
        self.points = sorted({t for tree in self.trees for t in instant_thresholds(tree)})
        self.ages = sorted({n for tree in self.trees for n in age_values(tree)})
        self._fns: dict[int, tuple[Predicate, ...]] = {}

    def fns_at(self, stretch: int, at: datetime) -> tuple[Predicate, ...]:
        """The closures valid in one stretch between time thresholds (built once per stretch)."""
        fns = self._fns.get(stretch)
        if fns is None:
            fns = self._fns[stretch] = tuple(_closure(fix_time(tree, at)) for tree in self.trees)
        return fns


def _feed_explainer(pub: _Published) -> Callable[[Vehicle, datetime], tuple[str, ...]]:
    validity = compile_condition(pub.validity) if pub.validity is not None else None
    restriction = tuple(compile_condition(c) for c in pub.restriction)
    groups = tuple((g.name, compile_condition(g.node)) for g in pub.groups)

    def why(v: Vehicle, at: datetime) -> tuple[str, ...]:
        if not pub.shaped:
            return ("exempt or not restricted",)
        if validity is not None and not validity(v, at):
            return ("not in force",)
        if not all(r(v, at) for r in restriction):
            return ("not restricted",)
        return tuple(name for name, fn in groups if fn(v, at)) or ("exempt",)

    return why


def _law_explainer(regs: Sequence[Regulation]) -> Callable[[Vehicle, datetime], tuple[str, ...]]:
    parts = tuple(
        (
            compile_condition(r.validity_condition()),
            compile_condition(r.subject),
            tuple((c.id, compile_condition(c.condition)) for c in r.exemptions),
        )
        for r in regs
    )

    def why(v: Vehicle, at: datetime) -> tuple[str, ...]:
        out: list[str] = []
        for validity, subject, clauses in parts:
            if not validity(v, at):
                out.append("not in force")
            elif not subject(v, at):
                out.append("not restricted")
            else:
                out.extend([cid for cid, fn in clauses if fn(v, at)] or ["exempt"])
        return tuple(dict.fromkeys(out)) or ("no regulation",)

    return why


@dataclass(frozen=True, slots=True)
class _Run:
    """One grid vehicle disagreeing at consecutive moments, for the same reasons."""

    probe: Probe
    moments: tuple[datetime, ...]
    direction: str
    reasons: tuple[str, ...]


RunCache = dict[tuple[Any, ...], tuple[_Run, ...]]


def _strip(data: Any) -> Any:
    """The JSON form of a tree without ids and labels (two zones with equal trees share their runs)."""
    if isinstance(data, dict):
        return {k: _strip(v) for k, v in data.items() if k not in ("id", "label")}
    if isinstance(data, list):
        return [_strip(v) for v in data]
    return data


def _runs(record: Mapping[str, Any], settings: RuleSettings, cache: RunCache | None = None) -> tuple[_Run, ...]:
    """Evaluate both sides on the grid; return the disagreeing runs (cached by tree content when asked)."""
    pub = _published(record)
    regs = [r for r in compile_record(record, settings).regulations if r.status is Status.IN_FORCE]
    law_trees = tuple(r.condition() for r in regs)
    key: tuple[Any, ...] | None = None
    if cache is not None:
        key = (
            json.dumps(_strip(pub.tree.to_data()), sort_keys=True),
            tuple(g.name for g in pub.groups),
            json.dumps([_strip(t.to_data()) for t in law_trees], sort_keys=True),
            tuple(c.id for r in regs for c in r.exemptions),
            pub.start,
        )
        hit = cache.get(key)
        if hit is not None:
            return hit
    feed = _Side((pub.tree,), _feed_explainer(pub))
    law = _Side(law_trees, _law_explainer(regs))
    law_start = min((r.validity.start for r in regs if r.validity.start is not None), default=None)
    moments = check_moments(law_start, pub.start, [*feed.points, *law.points])
    points = sorted({*feed.points, *law.points})
    stretches = [bisect_right(points, m) for m in moments]
    splits = {i for i in range(1, len(moments)) if stretches[i] != stretches[i - 1]}
    ages = sorted({*feed.ages, *law.ages})
    out: list[_Run] = []
    for probe in probe_vehicles():
        v = probe.vehicle
        cuts = set(splits)
        for n in ages:
            cuts.add(bisect_left(moments, local_midnight(add_years(v.first_admission, n))))
        bounds = [0, *sorted(c for c in cuts if 0 < c < len(moments)), len(moments)]
        for i, j in pairwise(bounds):
            at, stretch = moments[i], stretches[i]
            f = any(fn(v, at) for fn in feed.fns_at(stretch, at))
            if f == any(fn(v, at) for fn in law.fns_at(stretch, at)):
                continue
            why = law.explain(v, at) if f else feed.explain(v, at)
            out.append(_Run(probe, moments[i:j], FEED_REFUSES if f else FEED_ALLOWS, why))
    result = tuple(out)
    if cache is not None and key is not None:
        cache[key] = result
    return result


def disagreements(record: Mapping[str, Any], settings: RuleSettings | None = None) -> list[Disagreement]:
    """Every (grid vehicle, moment) where the published tree and the bound regulations answer differently.

    Both sides are compiled once per stretch of time between the instants their
    trees name, and each vehicle is evaluated once per stretch and age bracket; the
    answer is the same at every moment of that stretch.
    """
    return [
        Disagreement(run.probe, at, run.direction, run.reasons)
        for run in _runs(record, settings or RuleSettings())
        for at in run.moments
    ]


@dataclass(slots=True)
class _Bucket:
    """Disagreements of one (direction, vehicle kind)."""

    variants: dict[str, None] = field(default_factory=dict)
    moments: int = 0
    first: datetime | None = None
    last: datetime | None = None
    reasons: dict[str, None] = field(default_factory=dict)
    examples: dict[tuple[str, ...], Disagreement] = field(default_factory=dict)


_PREFERRED = frozenset(local_midnight(d) for d in FIXED_DAYS)


def behavioural_findings(
    record: Mapping[str, Any], settings: RuleSettings | None = None, *, cache: RunCache | None = None
) -> list[Finding]:
    """Group the :func:`disagreements` by direction and vehicle kind into findings with examples.

    ``cache`` (a dict kept across zones) lets zones with the same trees share one evaluation.
    """
    buckets: dict[tuple[str, str], _Bucket] = {}
    for run in _runs(record, settings or RuleSettings(), cache):
        b = buckets.setdefault((run.direction, run.probe.kind), _Bucket())
        b.variants.setdefault(run.probe.description, None)
        b.moments += len(run.moments)
        b.first = run.moments[0] if b.first is None else min(b.first, run.moments[0])
        b.last = run.moments[-1] if b.last is None else max(b.last, run.moments[-1])
        for r in run.reasons:
            b.reasons.setdefault(r, None)
        at = next((m for m in run.moments if m in _PREFERRED), run.moments[0])
        held = b.examples.get(run.reasons)
        if held is None or (held.at not in _PREFERRED and at in _PREFERRED):
            b.examples[run.reasons] = Disagreement(run.probe, at, run.direction, run.reasons)
    grid = probe_vehicles()
    kinds = list(dict.fromkeys(p.kind for p in grid))
    per_kind = {k: sum(1 for p in grid if p.kind == k) for k in kinds}
    binding = next((r for r in record.get("regulations", ()) if "framework" in r), None)
    law_name = f"the {binding['framework']} framework as bound" if binding else "the zone's regulations"
    out: list[Finding] = []
    for direction in (FEED_ALLOWS, FEED_REFUSES):
        for kind in kinds:
            bucket = buckets.get((direction, kind))
            if bucket is None or bucket.first is None or bucket.last is None:
                continue
            when = (
                f"at {_local_text(bucket.first)}"
                if bucket.first == bucket.last
                else f"from {_local_text(bucket.first)} to {_local_text(bucket.last)}"
            )
            reasons = ", ".join(bucket.reasons)
            head = (
                f"{direction[0].upper()}{direction[1:]}: {kind}: {len(bucket.variants)} of {per_kind[kind]} grid "
                f"vehicles disagree at {bucket.moments} vehicle-moments, {when} (local time). "
            )
            if direction == FEED_ALLOWS:
                body = (
                    f"The feed lets them in ({reasons}); under {law_name} they may not enter. Narrow or end "
                    "these exemptions in the feed so that these vehicles are refused."
                )
            else:
                body = (
                    f"Under {law_name} they may enter ({reasons}); the feed refuses them. Publish the "
                    "corresponding exemption (or narrow the restriction) so that these vehicles are allowed."
                )
            examples = tuple(d.example() for d in list(bucket.examples.values())[:MAX_EXAMPLES])
            out.append(Finding(BEHAVIOUR_CODES[direction], "error", head + body, examples))
    return out


def is_behavioural(finding: Finding) -> bool:
    """True for findings of the behavioural (evaluation) check."""
    return finding.code in BEHAVIOUR_CODES.values()
