"""National frameworks as data, and binding a municipal zone to one.

The law lives once, in ``frameworks/*.json``: the ZE-zone transition rules and
automatic exemptions (RVV 1990 art. 86c-86e, Stb. 2023, 241), the harmonised
milieuzone classes (Stb. 2019, 398) and the exemption types one can apply for.
A municipal zone *binds* to a framework with only its area, start date, legal
basis and local choices; :func:`bind_zero_emission` / :func:`bind_milieuzone`
turn that into a concrete :class:`~ruas.domain.regulation.Regulation`.

Proposed clauses (e.g. the class-6 van extension to 2029) are part of the data
with status ``proposed``; :class:`RuleSettings` says which ones to apply.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any

from ruas.domain.conditions import All, Any_, Condition, Leaf, Op, from_data
from ruas.domain.errors import InvalidInput
from ruas.domain.regulation import (
    Clause,
    ExemptionType,
    LegalSource,
    Regulation,
    Status,
    ZoneKind,
)
from ruas.domain.timeutil import Interval

ZE_FRAMEWORK = "nl-ze-zone"
MILIEUZONE_FRAMEWORK = "nl-milieuzone"
MILIEUZONE_COLOURS = {"green": ("light", 4), "blue": ("light", 5), "purple": ("heavy", 6)}


@dataclass(frozen=True, slots=True)
class RuleSettings:
    """Which proposed changes to apply (ids of proposed clauses, or ``"all"``)."""

    apply_proposed: frozenset[str] = frozenset()

    def applies(self, clause_id: str) -> bool:
        """True when the proposed clause ``clause_id`` is switched on."""
        return "all" in self.apply_proposed or clause_id in self.apply_proposed

    @classmethod
    def from_text(cls, text: str | None) -> RuleSettings:
        """Parse a comma-separated list such as ``"ze-van-class6-2029"`` (empty: none)."""
        items = frozenset(p.strip() for p in (text or "").split(",") if p.strip())
        return cls(items)


@dataclass(frozen=True, slots=True)
class Framework:
    """A national framework: subject, clauses with legal sources, and exemption types."""

    id: str
    name: str
    name_nl: str
    kind: ZoneKind
    legal_source: LegalSource
    subject_label: str
    clauses: tuple[Clause, ...]
    exemption_types: tuple[str, ...]
    subject: Condition | None = None
    fuel: Condition | None = None
    groups: tuple[Mapping[str, Any], ...] = ()
    assumptions: tuple[str, ...] = ()

    def clause(self, clause_id: str) -> Clause:
        """The clause with this id."""
        for c in self.clauses:
            if c.id == clause_id:
                return c
        raise InvalidInput(f"framework {self.id} has no clause {clause_id!r}", field="clause")

    def selected_clauses(self, settings: RuleSettings) -> tuple[Clause, ...]:
        """In-force clauses, with switched-on proposals added or replacing what they amend."""
        chosen = [c for c in self.clauses if c.status is Status.IN_FORCE]
        for c in self.clauses:
            if c.status is Status.PROPOSED and settings.applies(c.id):
                if c.replaces is not None:
                    chosen = [x for x in chosen if x.id != c.replaces]
                chosen.append(c)
        return tuple(chosen)

    def proposed_clauses(self) -> tuple[Clause, ...]:
        """Clauses that are proposed, not law."""
        return tuple(c for c in self.clauses if c.status is Status.PROPOSED)


def legal_source_from(data: Mapping[str, Any] | None) -> LegalSource | None:
    """Read ``{"citation", "title", "url", "note"}``."""
    if not data:
        return None
    return LegalSource(
        citation=str(data.get("citation", "")),
        title=str(data.get("title", "")),
        url=str(data.get("url", "")),
        note=str(data.get("note", "")),
    )


def _clause_from(data: Mapping[str, Any], fw_id: str) -> Clause:
    return Clause(
        id=str(data["id"]),
        label=str(data["label"]),
        condition=from_data(data["condition"], f"{fw_id}.{data['id']}"),
        kind=str(data.get("kind", "transition")),
        legal_source=legal_source_from(data.get("legal_source")),
        status=Status(data.get("status", "in_force")),
        replaces=data.get("replaces"),
    )


def framework_from_data(data: Mapping[str, Any]) -> Framework:
    """Build a framework from its JSON form."""
    fw_id = str(data["id"])
    source = legal_source_from(data["legal_source"])
    assert source is not None
    return Framework(
        id=fw_id,
        name=str(data["name"]),
        name_nl=str(data.get("name_nl", "")),
        kind=ZoneKind(data["kind"]),
        legal_source=source,
        subject_label=str(data["subject_label"]),
        clauses=tuple(_clause_from(c, fw_id) for c in data.get("clauses", ())),
        exemption_types=tuple(data.get("exemption_types", ())),
        subject=from_data(data["subject"], f"{fw_id}.subject") if "subject" in data else None,
        fuel=from_data(data["fuel"], f"{fw_id}.fuel") if "fuel" in data else None,
        groups=tuple(
            {**g, "condition": from_data(g["condition"], f"{fw_id}.groups.{g['id']}")} for g in data.get("groups", ())
        ),
        assumptions=tuple(data.get("assumptions", ())),
    )


def _read_json(name: str) -> Any:
    text = resources.files("ruas.rules").joinpath("frameworks", name).read_text(encoding="utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def national_frameworks() -> Mapping[str, Framework]:
    """The national frameworks shipped with RUAS, by id."""
    out = {}
    for name in ("ze_zone.json", "milieuzone.json"):
        fw = framework_from_data(_read_json(name))
        out[fw.id] = fw
    return out


def exemption_type_from_data(data: Mapping[str, Any], default_source: LegalSource) -> ExemptionType:
    """Build an exemption type from its JSON form."""
    return ExemptionType(
        id=str(data["id"]),
        name=str(data["name"]),
        name_nl=str(data.get("name_nl", "")),
        legal_source=legal_source_from(data.get("legal_source")) or default_source,
        eligibility=from_data(data.get("eligibility", {"all": []}), f"exemption_types.{data['id']}"),
        applies_to=tuple(ZoneKind(k) for k in data.get("applies_to", ())),
        fee_eur=float(data["fee_eur"]) if data.get("fee_eur") is not None else None,
        max_per_year=int(data["max_per_year"]) if data.get("max_per_year") is not None else None,
        duration=str(data.get("duration", "")),
        evidence=str(data.get("evidence", "")),
        note=str(data.get("note", "")),
    )


@lru_cache(maxsize=1)
def national_exemption_types() -> Mapping[str, ExemptionType]:
    """The exemption types (ontheffingen) known to RUAS, by id."""
    data = _read_json("exemption_types.json")
    default = legal_source_from(data["legal_source_default"])
    assert default is not None
    return {t["id"]: exemption_type_from_data(t, default) for t in data["types"]}


# --------------------------------------------------------------------------- binding


@dataclass(frozen=True, slots=True)
class ZoneBinding:
    """What a municipality adds to a framework: where, from when, on which legal basis, local choices."""

    zone_id: str
    zone_name: str
    authority: str
    start: datetime | None
    legal_source: LegalSource
    end: datetime | None = None
    local_clauses: tuple[Clause, ...] = ()
    extra_exemption_types: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)


def bind_zero_emission(binding: ZoneBinding, settings: RuleSettings) -> Regulation:
    """A municipal ZE-zone: the national ZE framework with the zone's area, start and decree."""
    fw = national_frameworks()[ZE_FRAMEWORK]
    assert fw.subject is not None
    return Regulation(
        id=f"{binding.zone_id}/ze",
        name=f"{binding.zone_name}: zero-emission zone",
        kind=ZoneKind.ZERO_EMISSION,
        authority=binding.authority,
        legal_source=_combine(binding.legal_source, fw.legal_source),
        subject=fw.subject,
        subject_label=fw.subject_label,
        validity=Interval(binding.start, binding.end),
        exemptions=fw.selected_clauses(settings) + binding.local_clauses,
        exemption_types=fw.exemption_types + binding.extra_exemption_types,
        framework=fw.id,
    )


def milieuzone_subject(params: Mapping[str, Any]) -> tuple[Condition, str]:
    """The subject of a milieuzone with classes ``{"light": 4|5, "heavy": 6}`` (None: group not restricted).

    Returns the condition and a sentence describing it.
    """
    fw = national_frameworks()[MILIEUZONE_FRAMEWORK]
    assert fw.fuel is not None
    parts: list[Condition] = []
    words: list[str] = []
    for group in fw.groups:
        min_class = params.get(group["id"])
        if min_class is None:
            continue
        allowed = {int(v) for v in group["classes"].values()}
        if int(min_class) not in allowed:
            raise InvalidInput(
                f"milieuzone {group['id']} class {min_class} is not a harmonised class "
                f"({', '.join(f'{k} >= {v}' for k, v in group['classes'].items())})",
                field=group["id"],
            )
        colour = next(k for k, v in group["classes"].items() if int(v) == int(min_class))
        parts.append(
            All(
                (group["condition"], Leaf("emission_class", Op.LT, str(min_class))),
                f"milieuzone-{group['id']}-{colour}",
                f"{group['label']} below emission class {min_class} ({colour} zone)",
            )
        )
        words.append(f"diesel {group['label']} below class {min_class} ({colour})")
    if not parts:
        raise InvalidInput("a milieuzone needs at least one restricted group (light or heavy)", field="params")
    subject = All((fw.fuel, Any_(tuple(parts))))
    return subject, "; ".join(words) + " may not enter"


def bind_milieuzone(binding: ZoneBinding, settings: RuleSettings) -> Regulation:
    """A municipal milieuzone: harmonised classes chosen per vehicle group, with its area and decree."""
    fw = national_frameworks()[MILIEUZONE_FRAMEWORK]
    subject, label = milieuzone_subject(binding.params)
    return Regulation(
        id=f"{binding.zone_id}/milieuzone",
        name=f"{binding.zone_name}: milieuzone",
        kind=ZoneKind.ENVIRONMENTAL,
        authority=binding.authority,
        legal_source=_combine(binding.legal_source, fw.legal_source),
        subject=subject,
        subject_label=label,
        validity=Interval(binding.start, binding.end),
        exemptions=fw.selected_clauses(settings) + binding.local_clauses,
        exemption_types=fw.exemption_types + binding.extra_exemption_types,
        framework=fw.id,
    )


def _combine(local: LegalSource, national: LegalSource) -> LegalSource:
    """The zone's own decree first, then the national framework it applies."""
    return LegalSource(
        citation=f"{local.citation}; {national.citation}" if local.citation else national.citation,
        title=local.title or national.title,
        url=local.url or national.url,
        note=local.note,
    )


def clauses_from_data(items: Sequence[Mapping[str, Any]], owner: str) -> tuple[Clause, ...]:
    """Local clauses given in region data."""
    return tuple(_clause_from(c, owner) for c in items)
