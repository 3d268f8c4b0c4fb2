"""Regulations, zones, exemption types and granted exemptions.

A :class:`Regulation` prohibits (usually: no entry) for the vehicles its ``subject``
condition selects, during its ``validity`` ``[start, end)``, unless one of its
``exemptions`` (transition rules, vrijstellingen, local exemptions) holds. Each
regulation carries its status and legal source. National frameworks are
regulations too: a municipal zone binds to one and adds its area, start date,
legal basis and local choices (see ``ruas.rules.frameworks``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from ruas.domain.conditions import FALSE, All, Any_, Condition, Leaf, Not, Op
from ruas.domain.errors import InvalidInput
from ruas.domain.timeutil import Interval
from ruas.domain.windows import TimeWindow


class Status(StrEnum):
    """Legal status of a regulation or a clause."""

    IN_FORCE = "in_force"  # made (may start in the future: see validity)
    PROPOSED = "proposed"  # announced or agreed, legal text not (yet) found
    REPEALED = "repealed"


class ZoneKind(StrEnum):
    """What a zone or area restricts."""

    ZERO_EMISSION = "zero_emission"
    ENVIRONMENTAL = "environmental"  # milieuzone
    TIME_WINDOW = "time_window"  # venstertijden
    VEHICLE_RESTRICTION = "vehicle_restriction"  # weight, length, ...
    PEDESTRIAN = "pedestrian"


@dataclass(frozen=True, slots=True)
class LegalSource:
    """Where a rule comes from: a citation (``gmb-2024-282973``, ``Stb. 2023, 241``), title, URL."""

    citation: str
    title: str = ""
    url: str = ""
    note: str = ""

    def to_data(self) -> dict[str, str]:
        """JSON form, empty fields left out."""
        return {
            k: v
            for k, v in (("citation", self.citation), ("title", self.title), ("url", self.url), ("note", self.note))
            if v
        }


@dataclass(frozen=True, slots=True)
class Clause:
    """A named exemption inside a regulation: when its condition holds the vehicle may enter.

    ``kind`` is ``transition`` (overgangsregeling), ``vrijstelling`` (automatic
    exemption) or ``local`` (a municipality's own choice). A ``proposed`` clause is
    applied only when the settings switch it on; it then ``replaces`` the clause named.
    """

    id: str
    label: str
    condition: Condition
    kind: str = "transition"
    legal_source: LegalSource | None = None
    status: Status = Status.IN_FORCE
    replaces: str | None = None


@dataclass(frozen=True, slots=True)
class Regulation:
    """One rule: ``prohibition`` for ``subject`` vehicles in ``validity`` unless an exemption holds."""

    id: str
    name: str
    kind: ZoneKind
    authority: str  # CBS code (GM0363) or "NL" for national frameworks
    legal_source: LegalSource
    subject: Condition
    subject_label: str
    validity: Interval = field(default_factory=Interval)
    exemptions: tuple[Clause, ...] = ()
    exemption_types: tuple[str, ...] = ()
    status: Status = Status.IN_FORCE
    prohibition: str = "no_entry"
    framework: str | None = None

    def __post_init__(self) -> None:
        if not self.id:
            raise InvalidInput("a regulation needs an id", field="id")
        ids = [c.id for c in self.exemptions]
        if len(ids) != len(set(ids)):
            raise InvalidInput(f"regulation {self.id}: duplicate exemption clause ids", field="exemptions")

    def validity_condition(self) -> Condition:
        """The validity interval as ``at`` leaves."""
        parts: list[Condition] = []
        if self.validity.start is not None:
            parts.append(
                Leaf(
                    "at",
                    Op.GE,
                    self.validity.start,
                    f"{self.id}#from",
                    f"in force from {self.validity.start.isoformat()}",
                )
            )
        if self.validity.end is not None:
            parts.append(
                Leaf(
                    "at",
                    Op.LT,
                    self.validity.end,
                    f"{self.id}#until",
                    f"in force until {self.validity.end.isoformat()}",
                )
            )
        return All(tuple(parts), f"{self.id}#validity")

    def exemption_condition(self) -> Condition:
        """Any exemption clause holds (the clauses already selected by the settings)."""
        if not self.exemptions:
            return FALSE
        return Any_(tuple(_labelled(c) for c in self.exemptions), f"{self.id}#exemptions")

    def condition(self) -> Condition:
        """The whole prohibition as one tree: in force, subject, and no exemption."""
        if self.status is not Status.IN_FORCE:
            return FALSE
        return All((self.validity_condition(), _subject(self), Not(self.exemption_condition())), self.id, self.name)

    def change_instants(self) -> tuple[datetime, ...]:
        """Instants named by the validity (for timelines)."""
        return self.validity.boundaries()


def _subject(reg: Regulation) -> Condition:
    s = reg.subject
    if isinstance(s, Leaf):
        return Leaf(s.field, s.op, s.value, f"{reg.id}#subject", reg.subject_label)
    if isinstance(s, All):
        return All(s.children, f"{reg.id}#subject", reg.subject_label)
    if isinstance(s, Any_):
        return Any_(s.children, f"{reg.id}#subject", reg.subject_label)
    return Not(s.child, f"{reg.id}#subject", reg.subject_label)


def _labelled(c: Clause) -> Condition:
    node = c.condition
    if isinstance(node, Leaf):
        return Leaf(node.field, node.op, node.value, c.id, c.label)
    if isinstance(node, All):
        return All(node.children, c.id, c.label)
    if isinstance(node, Any_):
        return Any_(node.children, c.id, c.label)
    return Not(node.child, c.id, c.label)


class ZoneStatus(StrEnum):
    """Where a zone is in its life."""

    IN_FORCE = "in_force"  # published, its rules apply (possibly from a future date)
    ANNOUNCED = "announced"  # announced without published geometry or decree


@dataclass(frozen=True, slots=True)
class Zone:
    """A zone or area (or a set of road segments) with the regulations that apply in it.

    ``geometry`` is GeoJSON (EPSG:4326) or ``None`` for announced zones without a
    published area. ``source`` records where the data came from (e.g. NDW id and
    version); ``published_condition`` keeps NDW's condition tree as published.
    """

    id: str
    name: str
    kind: ZoneKind
    authority: str
    authority_name: str
    regulations: tuple[Regulation, ...]
    geometry: Mapping[str, Any] | None = None
    status: ZoneStatus = ZoneStatus.IN_FORCE
    url: str = ""
    illustrative: bool = False
    notes: tuple[str, ...] = ()
    source: Mapping[str, Any] = field(default_factory=dict)
    published_condition: Condition | None = None
    bindings: tuple[Mapping[str, Any], ...] = ()


class GrantStatus(StrEnum):
    """State of an exemption (ontheffing) application or grant."""

    GRANTED = "granted"
    PENDING = "pending"
    REFUSED = "refused"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class ExemptionType:
    """A kind of ontheffing one can apply for, with its eligibility and terms.

    ``eligibility`` is a vehicle condition; ``fee_eur`` what the application costs;
    ``max_per_year`` a yearly cap per vehicle and municipality (day exemptions);
    ``duration`` a human description of how long a grant lasts.
    """

    id: str
    name: str
    name_nl: str
    legal_source: LegalSource
    eligibility: Condition
    applies_to: tuple[ZoneKind, ...]
    fee_eur: float | None = None
    max_per_year: int | None = None
    duration: str = ""
    evidence: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True)
class ExemptionGrant:
    """An ontheffing held for one vehicle: valid ``[start, end)``, optionally only in a window.

    ``zones`` or ``municipalities`` (CBS codes) bound where it counts; a grant with
    neither counts in every zone whose regulation lists its type.
    """

    id: str
    type_id: str
    plate: str
    validity: Interval
    zones: frozenset[str] = frozenset()
    municipalities: frozenset[str] = frozenset()
    window: TimeWindow | None = None
    status: GrantStatus = GrantStatus.GRANTED

    def covers(self, zone: Zone, regulation: Regulation, at: datetime) -> bool:
        """True when this grant lifts ``regulation`` of ``zone`` at ``at``."""
        if self.status is not GrantStatus.GRANTED or self.type_id not in regulation.exemption_types:
            return False
        if self.zones and zone.id not in self.zones:
            return False
        if self.municipalities and zone.authority not in self.municipalities:
            return False
        if not self.validity.contains(at):
            return False
        return self.window is None or self.window.is_open(at)
