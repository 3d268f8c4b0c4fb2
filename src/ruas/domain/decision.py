"""Answers: per-zone decisions with reasons and dates, and timelines over a period."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from ruas.domain.regulation import ZoneKind
from ruas.domain.vehicle import Vehicle


class Access(StrEnum):
    """The answer for one zone."""

    ALLOWED = "allowed"
    NOT_ALLOWED = "not_allowed"
    ALLOWED_WITH_EXEMPTION = "allowed_with_exemption"


class Effect(StrEnum):
    """What a reason says about a regulation."""

    PROHIBITS = "prohibits"  # the regulation applies and nothing exempts the vehicle
    EXEMPT = "exempt"  # subject, but an exemption clause holds
    NOT_SUBJECT = "not_subject"  # the regulation is not about this vehicle (or time of day)
    NOT_IN_FORCE = "not_in_force"  # outside its validity
    GRANT_HELD = "grant_held"  # an ontheffing held for this vehicle lifts it
    PROPOSED = "proposed"  # a proposed change would alter the answer


ParamValue = str | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Message:
    """A text the engine words, as a stable message id with parameters, so a front end can word it in the
    visitor's language (the English ``text`` next to it stays the default).

    Parameter values are plain strings or tuples of strings: ISO dates (``2027-01-01``) or moments
    (``2027-01-01T06:00+01:00``) as the engine formats them, and data texts (a regulation's subject label,
    a clause label, a zone note) exactly as they are in the register. The ids are listed in
    :data:`MESSAGE_IDS`.
    """

    id: str
    params: tuple[tuple[str, ParamValue], ...] = ()

    def param(self, name: str) -> ParamValue:
        """The value of parameter ``name`` (KeyError when it is not there)."""
        for key, value in self.params:
            if key == name:
                return value
        raise KeyError(name)

    def to_data(self) -> dict[str, Any]:
        """JSON form: ``{"id", "params": {name: value}}`` (tuples become lists)."""
        return {"id": self.id, "params": {k: list(v) if isinstance(v, tuple) else v for k, v in self.params}}


MESSAGE_IDS: dict[str, tuple[str, ...]] = {
    "reason.not_in_force_yet": ("from",),
    "reason.no_longer_in_force": ("since",),
    "reason.not_subject": ("subject",),
    "reason.exempt": ("clause",),
    "reason.grant_held": ("subject",),
    "reason.prohibits": ("subject",),
    "reason.announced": ("reason",),  # plus the parameters of the announced reason
    "note.text": ("text",),
    "note.announced.not_allowed": (),
    "note.announced.not_allowed_from": ("from",),
    "note.announced.allowed_until": ("until",),
    "note.announced.allowed": (),
    "note.proposal.not_allowed": ("clauses",),
    "note.proposal.not_allowed_from": ("clauses", "from"),
    "note.proposal.allowed_until": ("clauses", "until"),
    "note.proposal.allowed": ("clauses",),
}
"""Every message id the engine uses, with the parameters it always carries."""


@dataclass(frozen=True, slots=True)
class Reason:
    """Why: one regulation's effect, the clause that decided it, and its legal source.

    ``text`` is the English sentence; ``message`` the same as a message id with parameters.
    """

    regulation_id: str
    regulation: str
    effect: Effect
    text: str
    legal_basis: str
    clause_id: str | None = None
    message: Message | None = None

    def to_data(self) -> dict[str, Any]:
        """JSON form (``message`` was added later: clients that do not know it ignore it)."""
        return {
            "regulation_id": self.regulation_id,
            "regulation": self.regulation,
            "effect": self.effect.value,
            "text": self.text,
            "legal_basis": self.legal_basis,
            "clause_id": self.clause_id,
            "message": self.message.to_data() if self.message is not None else None,
        }


@dataclass(frozen=True, slots=True)
class ExemptionOption:
    """An ontheffing that could help (or is held), with its terms."""

    type_id: str
    name: str
    name_nl: str
    fee_eur: float | None
    terms: str
    legal_basis: str
    held: bool = False

    def to_data(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "type_id": self.type_id,
            "name": self.name,
            "name_nl": self.name_nl,
            "fee_eur": self.fee_eur,
            "terms": self.terms,
            "legal_basis": self.legal_basis,
            "held": self.held,
        }


@dataclass(frozen=True, slots=True)
class ZoneDecision:
    """The answer for one zone: allowed or not, why, until/from when, and what could help.

    ``allowed_until`` is the next moment a currently allowed vehicle loses access
    (None: not under the rules known); ``allowed_from`` the next moment a refused
    vehicle gains it (None: never under the rules known).
    """

    zone_id: str
    zone_name: str
    kind: ZoneKind
    authority: str
    access: Access
    allowed_until: datetime | None
    allowed_from: datetime | None
    reasons: tuple[Reason, ...]
    exemptions: tuple[ExemptionOption, ...] = ()
    notes: tuple[str, ...] = ()
    note_messages: tuple[Message, ...] = ()

    @property
    def allowed(self) -> bool:
        """True unless the answer is not allowed."""
        return self.access is not Access.NOT_ALLOWED

    def notes_with_messages(self) -> tuple[tuple[str, Message], ...]:
        """Each note with its message (a note without one is a data text: ``note.text``)."""
        out = []
        for i, note in enumerate(self.notes):
            msg = self.note_messages[i] if i < len(self.note_messages) else Message("note.text", (("text", note),))
            out.append((note, msg))
        return tuple(out)

    def to_data(self) -> dict[str, Any]:
        """The JSON form ``ruas check --json`` prints for each zone."""
        return {
            "id": self.zone_id,
            "name": self.zone_name,
            "kind": self.kind.value,
            "authority": self.authority,
            "allowed": self.allowed,
            "access": self.access.value,
            "allowed_until": _iso(self.allowed_until),
            "allowed_from": _iso(self.allowed_from),
            "reasons": [r.to_data() for r in self.reasons],
            "exemptions": [e.to_data() for e in self.exemptions],
            "notes": list(self.notes),
            "note_messages": [m.to_data() for _n, m in self.notes_with_messages()],
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer for one vehicle at one place and moment, over every zone that applies there."""

    at: datetime
    vehicle: Vehicle
    zones: tuple[ZoneDecision, ...]

    @property
    def allowed(self) -> bool:
        """Allowed in every zone (true when no zone applies)."""
        return all(z.allowed for z in self.zones)

    def to_data(self) -> dict[str, Any]:
        """JSON form: ``{"allowed", "at", "zones": [...]}``."""
        return {
            "allowed": self.allowed,
            "at": self.at.isoformat(),
            "zones": [z.to_data() for z in self.zones],
        }


class TimelineState(StrEnum):
    """State of a vehicle in a zone over a stretch of time."""

    ALLOWED = "allowed"
    NOT_ALLOWED = "not_allowed"
    WINDOW_ONLY = "window_only"  # allowed only inside daily time windows
    ALLOWED_WITH_EXEMPTION = "allowed_with_exemption"


@dataclass(frozen=True, slots=True)
class Segment:
    """One stretch ``[start, end)`` of a timeline with one state."""

    start: datetime
    end: datetime
    state: TimelineState


@dataclass(frozen=True, slots=True)
class Timeline:
    """A vehicle's states in one zone over a period."""

    zone_id: str
    zone_name: str
    segments: tuple[Segment, ...] = field(default_factory=tuple)

    def allowed_until(self) -> datetime | None:
        """End of the first stretch if the timeline starts with some access and later loses it."""
        if not self.segments or self.segments[0].state is TimelineState.NOT_ALLOWED:
            return None
        for seg in self.segments[1:]:
            if seg.state is TimelineState.NOT_ALLOWED:
                return seg.start
        return None

    def to_data(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "zone_id": self.zone_id,
            "zone_name": self.zone_name,
            "segments": [
                {"start": s.start.isoformat(), "end": s.end.isoformat(), "state": s.state.value} for s in self.segments
            ],
        }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()
