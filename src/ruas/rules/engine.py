"""The rules engine: one vehicle, one place (a set of zones), one moment -> a decision.

Pure: no I/O and no clock; the caller passes ``at`` (timezone-aware).

For every zone the engine evaluates each regulation's condition tree, says why
(which regulation, which clause), finds ``allowed_until`` / ``allowed_from`` (the
next instant the answer changes under the rules known: transition end dates,
zone start dates, daily windows, the day the vehicle turns 13 or 40, the end of
an exemption held), and lists the exemption types that could help. The same
trees drive :mod:`ruas.rules.batch`, the vectorised path.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from ruas.domain.conditions import (
    All,
    Any_,
    Condition,
    Leaf,
    Not,
    Op,
    Predicate,
    Residual,
    age_values,
    compile_condition,
    eval_residual,
    has_windows,
    instant_thresholds,
    next_change_point,
    relax_time,
    residual,
    windows_in,
)
from ruas.domain.decision import (
    Access,
    Decision,
    Effect,
    ExemptionOption,
    Message,
    Reason,
    Segment,
    Timeline,
    TimelineState,
    ZoneDecision,
)
from ruas.domain.errors import UnknownZone
from ruas.domain.regulation import Clause, ExemptionGrant, ExemptionType, Regulation, Status, Zone, ZoneStatus
from ruas.domain.timeutil import LOCAL_TZ, add_years, local_midnight, require_aware
from ruas.domain.vehicle import Vehicle

HORIZON = timedelta(days=366 * 30)
"""How far ahead ``allowed_until``/``allowed_from`` look before answering "no change known"."""

MAX_STEPS = 20_000
"""Upper bound on change points visited when searching the next change (daily windows)."""


@dataclass(frozen=True, slots=True)
class CompiledRegulation:
    """A regulation with its trees built and compiled to closures once.

    ``maybe_fn`` is the subject with time ignored (false: the regulation can never apply to
    the vehicle); ``base_points``/``base_ages`` and ``clause_times`` hold the instants and
    vehicle ages (years) at which the validity, the subject or each clause can change.
    """

    regulation: Regulation
    condition: Condition
    fn: Predicate
    subject_fn: Predicate
    validity_fn: Predicate
    clause_fns: tuple[tuple[Clause, Predicate], ...]
    windows: bool
    maybe_fn: Predicate
    base_points: tuple[datetime, ...]
    base_ages: frozenset[int]
    clause_times: tuple[tuple[Predicate, tuple[datetime, ...], frozenset[int]], ...]
    reasons: dict[tuple[Effect, str], Reason]

    @classmethod
    def build(cls, reg: Regulation) -> CompiledRegulation:
        """Compile one regulation."""
        condition = reg.condition()
        return cls(
            regulation=reg,
            condition=condition,
            fn=compile_condition(condition),
            subject_fn=compile_condition(reg.subject),
            validity_fn=compile_condition(reg.validity_condition()),
            clause_fns=tuple((c, compile_condition(c.condition)) for c in reg.exemptions),
            windows=has_windows(condition),
            maybe_fn=compile_condition(relax_time(All((reg.validity_condition(), reg.subject)))),
            base_points=tuple(sorted(set(instant_thresholds(All((reg.validity_condition(), reg.subject)))))),
            base_ages=age_values(reg.subject),
            clause_times=tuple(
                (
                    compile_condition(relax_time(c.condition)),
                    tuple(sorted(set(instant_thresholds(c.condition)))),
                    age_values(c.condition),
                )
                for c in reg.exemptions
            ),
            reasons={},
        )

    def plan(self, vehicle: Vehicle, after: datetime) -> tuple[set[datetime], Callable[[datetime], bool]] | None:
        """Where and how this regulation's answer for the vehicle can change after ``after``.

        Returns the candidate instants and a time-only test "prohibited at t" that evaluates
        only the clauses that could ever hold for this vehicle; None when the regulation
        can never apply to it (its subject fails at every moment).
        """
        if not self.maybe_fn(vehicle, after):
            return None
        out = {p for p in self.base_points if p > after}
        ages = set(self.base_ages)
        live: list[Predicate] = []
        for (_clause, fn), (maybe, points, clause_ages) in zip(self.clause_fns, self.clause_times, strict=True):
            if maybe(vehicle, after):
                out.update(p for p in points if p > after)
                ages.update(clause_ages)
                live.append(fn)
        for n in ages:
            t = local_midnight(add_years(vehicle.first_admission, n))
            if t > after:
                out.add(t)
        validity, subject = self.validity_fn, self.subject_fn

        def prohibited(t: datetime) -> bool:
            if not validity(vehicle, t) or not subject(vehicle, t):
                return False
            for fn in live:  # noqa: SIM110 - a plain loop: no generator per call on the hot path
                if fn(vehicle, t):
                    return False
            return True

        return out, prohibited


@dataclass(frozen=True, slots=True)
class RuleBook:
    """Everything the engine needs: zones with their regulations, exemption types, settings.

    ``proposed`` is the same register compiled with every proposed change applied,
    used to show users the dates a proposal would give (None when there are none).
    """

    zones: tuple[Zone, ...]
    exemption_types: Mapping[str, ExemptionType]
    proposed: RuleBook | None = None
    _by_id: dict[str, Zone] = field(init=False, repr=False, compare=False)
    _compiled: dict[str, CompiledRegulation] = field(init=False, repr=False, compare=False)
    _eligibility: dict[str, Predicate] = field(init=False, repr=False, compare=False)
    _options: dict[tuple[str, bool], ExemptionOption] = field(init=False, repr=False, compare=False)
    _proposals: dict[str, tuple[tuple[str, Predicate], ...]] = field(init=False, repr=False, compare=False)
    _in_force: dict[str, tuple[Zone, tuple[CompiledRegulation, ...]]] = field(init=False, repr=False, compare=False)
    _reg_options: dict[str, tuple[tuple[Predicate, ...], tuple[tuple[str, int, ExemptionOption], ...]]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {z.id: z for z in self.zones})
        compiled = {}
        for zone in self.zones:
            for reg in zone.regulations:
                compiled[reg.id] = CompiledRegulation.build(reg)
        object.__setattr__(self, "_compiled", compiled)
        object.__setattr__(self, "_options", {})
        object.__setattr__(self, "_proposals", {})
        object.__setattr__(self, "_in_force", {})
        object.__setattr__(self, "_reg_options", {})
        object.__setattr__(
            self, "_eligibility", {k: compile_condition(t.eligibility) for k, t in self.exemption_types.items()}
        )

    def zone(self, zone_id: str) -> Zone:
        """The zone with this id (raises :class:`UnknownZone`)."""
        try:
            return self._by_id[zone_id]
        except KeyError:
            raise UnknownZone(f"zone {zone_id!r} is not in the register", field="zone", value=zone_id) from None

    def has_zone(self, zone_id: str) -> bool:
        """True when the register holds this zone."""
        return zone_id in self._by_id

    def in_force(self, zone: Zone) -> tuple[CompiledRegulation, ...]:
        """The compiled regulations of a zone that are in force (status), in order."""
        found = self._in_force.get(zone.id)
        if found is None or found[0] is not zone:
            regs = tuple(self._compiled[r.id] for r in zone.regulations if r.status is Status.IN_FORCE)
            self._in_force[zone.id] = (zone, regs)
            return regs
        return found[1]

    def compiled(self, regulation: Regulation) -> CompiledRegulation:
        """The compiled form of a regulation of this book."""
        return self._compiled[regulation.id]

    def applicable_proposals(self, zone: Zone, vehicle: Vehicle, at: datetime) -> list[str]:
        """Labels of the proposed clauses of this zone that could hold for the vehicle at some moment."""
        found = self._proposals.get(zone.id)
        if found is None:
            found = self._proposals[zone.id] = tuple(
                (c.label, compile_condition(relax_time(c.condition)))
                for r in zone.regulations
                for c in r.exemptions
                if c.status is Status.PROPOSED
            )
        return [label for label, fn in found if fn(vehicle, at)]

    def options_for(
        self, reg: Regulation
    ) -> tuple[tuple[Predicate, ...], tuple[tuple[str, int, ExemptionOption], ...]]:
        """The exemption types a regulation lists, in its order, with their eligibility tests.

        Types with an identical eligibility condition share one test (index into the first
        tuple), so a decision evaluates each distinct condition once.
        """
        found = self._reg_options.get(reg.id)
        if found is None:
            tests: list[Predicate] = []
            index: dict[str, int] = {}
            listed: list[tuple[str, int, ExemptionOption]] = []
            for t in reg.exemption_types:
                etype = self.exemption_types.get(t)
                if etype is None:
                    continue
                key = json.dumps(etype.eligibility.to_data(), sort_keys=True)
                if key not in index:
                    index[key] = len(tests)
                    tests.append(self._eligibility[t])
                listed.append((t, index[key], self.option(t, held=False)))
            found = self._reg_options[reg.id] = (tuple(tests), tuple(listed))
        return found

    def option(self, type_id: str, *, held: bool) -> ExemptionOption:
        """The exemption option shown for a type (built once per type and held flag)."""
        key = (type_id, held)
        opt = self._options.get(key)
        if opt is None:
            opt = self._options[key] = _option(self.exemption_types[type_id], held=held)
        return opt


_NONE_HELD: frozenset[str] = frozenset()


def decide(
    book: RuleBook,
    vehicle: Vehicle,
    zone_ids: Sequence[str],
    *,
    at: datetime,
    grants: Sequence[ExemptionGrant] = (),
) -> Decision:
    """Decide for ``vehicle`` entering each of ``zone_ids`` at instant ``at``."""
    require_aware(at)
    decisions = tuple(zone_decision(book, book.zone(z), vehicle, at=at, grants=grants) for z in zone_ids)
    return Decision(at=at, vehicle=vehicle, zones=decisions)


def zone_decision(
    book: RuleBook,
    zone: Zone,
    vehicle: Vehicle,
    *,
    at: datetime,
    grants: Sequence[ExemptionGrant] = (),
) -> ZoneDecision:
    """The decision for one zone, with reasons, next change and exemption options.

    An *announced* zone (no decree or area yet) never refuses: the answer is
    allowed, and a note says what the framework would mean once it is introduced.
    """
    require_aware(at)
    if zone.status is ZoneStatus.ANNOUNCED:
        return _announced(book, zone, vehicle, at, grants)
    reasons: list[Reason] = []
    blocked = False
    lifted = False
    options: dict[str, ExemptionOption] = {}
    for comp in book.in_force(zone):
        reg = comp.regulation
        held = {g.type_id for g in grants if g.covers(zone, reg, at)} if grants else _NONE_HELD
        subject = comp.subject_fn(vehicle, at)
        reason = _reason(comp, vehicle, at, subject, bool(held))
        reasons.append(reason)
        prohibited = reason.effect in (Effect.PROHIBITS, Effect.GRANT_HELD)
        if prohibited:
            if held:
                lifted = True
            else:
                blocked = True
        if prohibited or held or subject:
            tests, listed = book.options_for(reg)
            results: list[bool | None] = [None] * len(tests)
            for type_id, group, option in listed:
                if type_id in options:
                    continue
                if type_id in held:
                    options[type_id] = book.option(type_id, held=True)
                    continue
                ok = results[group]
                if ok is None:
                    ok = results[group] = tests[group](vehicle, at)
                if ok:
                    options[type_id] = option
    access = Access.NOT_ALLOWED if blocked else (Access.ALLOWED_WITH_EXEMPTION if lifted else Access.ALLOWED)
    change = zone_next_change(book, zone, vehicle, at, blocked, grants)
    notes = _proposal_notes(book, zone, vehicle, at, grants, blocked, change)
    zone_notes = tuple(Message("note.text", (("text", n),)) for n in zone.notes)
    return ZoneDecision(
        zone_id=zone.id,
        zone_name=zone.name,
        kind=zone.kind,
        authority=zone.authority,
        access=access,
        allowed_until=None if blocked else change,
        allowed_from=change if blocked else None,
        reasons=tuple(reasons),
        exemptions=tuple(options.values()),
        notes=tuple(n for n, _m in notes) + zone.notes,
        note_messages=tuple(m for _n, m in notes) + zone_notes,
    )


def _announced(
    book: RuleBook, zone: Zone, vehicle: Vehicle, at: datetime, grants: Sequence[ExemptionGrant]
) -> ZoneDecision:
    as_if = zone_decision(book, replace(zone, status=ZoneStatus.IN_FORCE), vehicle, at=at, grants=grants)
    if not as_if.allowed:
        outcome = "this vehicle would not be allowed" + (
            f" (allowed from {_local(as_if.allowed_from)})" if as_if.allowed_from else ""
        )
        message = (
            Message("note.announced.not_allowed_from", (("from", _local(as_if.allowed_from)),))
            if as_if.allowed_from
            else Message("note.announced.not_allowed")
        )
    elif as_if.allowed_until is not None:
        outcome = f"this vehicle would be allowed until {_local(as_if.allowed_until)}"
        message = Message("note.announced.allowed_until", (("until", _local(as_if.allowed_until)),))
    else:
        outcome = "this vehicle would be allowed"
        message = Message("note.announced.allowed")
    reasons = tuple(
        Reason(
            r.regulation_id,
            r.regulation,
            Effect.PROPOSED,
            f"announced, not yet law: {r.text}",
            r.legal_basis,
            r.clause_id,
            _announced_message(r.message),
        )
        for r in as_if.reasons
    )
    return ZoneDecision(
        zone_id=zone.id,
        zone_name=zone.name,
        kind=zone.kind,
        authority=zone.authority,
        access=Access.ALLOWED,
        allowed_until=None,
        allowed_from=None,
        reasons=reasons,
        exemptions=(),
        notes=(f"announced zone: if introduced as announced, {outcome}", *zone.notes),
        note_messages=(message, *(Message("note.text", (("text", n),)) for n in zone.notes)),
    )


def _announced_message(inner: Message | None) -> Message | None:
    """``reason.announced`` with the announced reason's id (``reason``) and parameters."""
    if inner is None:
        return None
    return Message("reason.announced", (("reason", inner.id), *inner.params))


def _zone_blocked_fn(
    book: RuleBook, zone: Zone, vehicle: Vehicle, grants: Sequence[ExemptionGrant]
) -> Callable[[datetime], bool]:
    regs = [book.compiled(r) for r in zone.regulations if r.status is Status.IN_FORCE]

    def blocked(t: datetime) -> bool:
        return any(c.fn(vehicle, t) and not any(g.covers(zone, c.regulation, t) for g in grants) for c in regs)

    return blocked


def zone_next_change(
    book: RuleBook,
    zone: Zone,
    vehicle: Vehicle,
    at: datetime,
    state: bool,
    grants: Sequence[ExemptionGrant] = (),
) -> datetime | None:
    """The first instant after ``at`` where the zone's blocked/unblocked answer differs from ``state``.

    Without daily windows the candidates are few (transition dates, the zone's
    start, the days the vehicle turns 13 or 40, grant bounds) and each is checked
    with the compiled closures. With windows, the time-only residual is walked.
    """
    regs = book.in_force(zone)
    if any(c.windows for c in regs) or any(g.window is not None for g in grants):
        regs_all = [r for r in zone.regulations if r.status is Status.IN_FORCE]
        res = _any(_blocked_residual(book.compiled(r), vehicle, zone, grants) for r in regs_all)
        return next_change(res, at, state)
    candidates: set[datetime] = set()
    live: list[tuple[Regulation, Callable[[datetime], bool]]] = []
    for c in regs:
        planned = c.plan(vehicle, at)
        if planned is not None:
            candidates.update(planned[0])
            live.append((c.regulation, planned[1]))
    if not live:
        return None
    for g in grants:
        candidates.update(p for p in g.validity.boundaries() if p > at)

    def blocked(t: datetime) -> bool:
        return any(fn(t) and not any(g.covers(zone, reg, t) for g in grants) for reg, fn in live)

    limit = at + HORIZON
    for t in sorted(candidates):
        if t > limit:
            break
        if blocked(t) != state:
            return t
    return None


def _option(etype: ExemptionType, *, held: bool) -> ExemptionOption:
    terms = "; ".join(p for p in (etype.duration, etype.evidence and f"evidence: {etype.evidence}", etype.note) if p)
    return ExemptionOption(
        type_id=etype.id,
        name=etype.name,
        name_nl=etype.name_nl,
        fee_eur=etype.fee_eur,
        terms=terms,
        legal_basis=etype.legal_source.citation,
        held=held,
    )


def _reason(comp: CompiledRegulation, vehicle: Vehicle, at: datetime, subject: bool, granted: bool) -> Reason:
    """Why this regulation does or does not stop the vehicle at ``at`` (same truth as ``comp.fn``)."""
    reg = comp.regulation
    basis = reg.legal_source.citation
    cache = comp.reasons

    def make(effect: Effect, text: str, message: Message, clause: str | None = None) -> Reason:
        key = (effect, clause or text)
        found = cache.get(key)
        if found is None:
            found = cache[key] = Reason(reg.id, reg.name, effect, text, basis, clause, message)
        return found

    label = reg.subject_label
    if not comp.validity_fn(vehicle, at):
        start, end = reg.validity.start, reg.validity.end
        if start is not None and at < start:
            return make(
                Effect.NOT_IN_FORCE,
                f"not in force yet: applies from {_local(start)}",
                Message("reason.not_in_force_yet", (("from", _local(start)),)),
            )
        since = _local(end) if end else "?"
        return make(
            Effect.NOT_IN_FORCE,
            f"no longer in force since {since}",
            Message("reason.no_longer_in_force", (("since", since),)),
        )
    if not subject:
        return make(
            Effect.NOT_SUBJECT,
            f"does not apply to this vehicle: only {label}",
            Message("reason.not_subject", (("subject", label),)),
        )
    for clause, fn in comp.clause_fns:
        if fn(vehicle, at):
            return make(Effect.EXEMPT, clause.label, Message("reason.exempt", (("clause", clause.label),)), clause.id)
    if granted:
        return make(
            Effect.GRANT_HELD,
            f"an exemption held for this vehicle lifts: {label}",
            Message("reason.grant_held", (("subject", label),)),
        )
    return make(
        Effect.PROHIBITS,
        f"{label}; no exemption applies to this vehicle",
        Message("reason.prohibits", (("subject", label),)),
    )


def _local(at: datetime) -> str:
    local = at.astimezone(LOCAL_TZ)
    if local.hour == 0 and local.minute == 0 and local.second == 0:
        return local.date().isoformat()
    return local.isoformat(timespec="minutes")


def grant_condition(grant: ExemptionGrant) -> Condition:
    """When a grant counts, as a condition on ``at`` (its validity and optional window)."""
    parts: list[Condition] = []
    if grant.validity.start is not None:
        parts.append(Leaf("at", Op.GE, grant.validity.start))
    if grant.validity.end is not None:
        parts.append(Leaf("at", Op.LT, grant.validity.end))
    if grant.window is not None:
        parts.append(Leaf("at", Op.IN_WINDOW, grant.window))
    return All(tuple(parts), grant.id)


def _blocked_residual(
    comp: CompiledRegulation, vehicle: Vehicle, zone: Zone, grants: Sequence[ExemptionGrant]
) -> Residual:
    """When this regulation blocks the vehicle, as a function of time only."""
    res = residual(comp.condition, vehicle)
    if res is False:
        return False
    reg = comp.regulation
    relevant = [
        grant_condition(g)
        for g in grants
        if g.type_id in reg.exemption_types
        and (not g.zones or zone.id in g.zones)
        and (not g.municipalities or zone.authority in g.municipalities)
        and g.status.value == "granted"
    ]
    if not relevant:
        return res
    base: Condition = res if not isinstance(res, bool) else All(())
    return All((base, Not(Any_(tuple(relevant)))))


def _any(parts: Iterable[Residual]) -> Residual:
    kept: list[Condition] = []
    for p in parts:
        if p is True:
            return True
        if p is False:
            continue
        assert not isinstance(p, bool)
        kept.append(p)
    if not kept:
        return False
    return kept[0] if len(kept) == 1 else Any_(tuple(kept))


def next_change(blocked: Residual, at: datetime, state: bool, horizon: timedelta = HORIZON) -> datetime | None:
    """The first instant after ``at`` where ``blocked`` differs from ``state``, or None."""
    if isinstance(blocked, bool):
        return None
    limit = at + horizon
    t = at
    for _ in range(MAX_STEPS):
        nxt = next_change_point(blocked, t)
        if nxt is None or nxt > limit:
            return None
        if eval_residual(blocked, nxt) != state:
            return nxt
        t = nxt
    return None


def _proposal_notes(
    book: RuleBook,
    zone: Zone,
    vehicle: Vehicle,
    at: datetime,
    grants: Sequence[ExemptionGrant],
    blocked: bool,
    change: datetime | None,
) -> tuple[tuple[str, Message], ...]:
    """Show what a proposed (not yet legal) change would do to this answer (the note and its message)."""
    alt_book = book.proposed
    if alt_book is None or not alt_book.has_zone(zone.id):
        return ()
    alt_zone = alt_book.zone(zone.id)
    proposals = alt_book.applicable_proposals(alt_zone, vehicle, at)
    if not proposals:
        return ()
    alt_blocked = _zone_blocked_fn(alt_book, alt_zone, vehicle, grants)(at)
    alt_change = zone_next_change(alt_book, alt_zone, vehicle, at, alt_blocked, grants)
    if alt_blocked == blocked and alt_change == change:
        return ()
    labels = tuple(sorted(set(proposals)))
    what = "; ".join(labels)
    clauses: tuple[str, tuple[str, ...]] = ("clauses", labels)
    if alt_blocked:
        outcome = "not allowed" + (f", allowed from {_local(alt_change)}" if alt_change else "")
        message = (
            Message("note.proposal.not_allowed_from", (clauses, ("from", _local(alt_change))))
            if alt_change
            else Message("note.proposal.not_allowed", (clauses,))
        )
    else:
        outcome = "allowed" + (f" until {_local(alt_change)}" if alt_change else ", no end known")
        message = (
            Message("note.proposal.allowed_until", (clauses, ("until", _local(alt_change))))
            if alt_change
            else Message("note.proposal.allowed", (clauses,))
        )
    return ((f"if the proposed change is adopted ({what}): {outcome}", message),)


# --------------------------------------------------------------------------- timelines


def zone_blocked_residual(
    book: RuleBook, zone: Zone, vehicle: Vehicle, grants: Sequence[ExemptionGrant] = ()
) -> tuple[Residual, Residual]:
    """(blocked with grants, blocked without grants) for one zone, as functions of time."""
    regs = [r for r in zone.regulations if r.status is Status.IN_FORCE]
    with_grants = _any(_blocked_residual(book.compiled(r), vehicle, zone, grants) for r in regs)
    without = _any(_blocked_residual(book.compiled(r), vehicle, zone, ()) for r in regs)
    return with_grants, without


def _state_at(blocked: Residual, plain: Residual, at: datetime) -> TimelineState:
    """The timeline state in the stretch starting at ``at``: windows are read as open or closed."""
    has_window = any(True for _ in windows_in(blocked))
    if not has_window:
        b = eval_residual(blocked, at)
        if b:
            return TimelineState.NOT_ALLOWED
        return TimelineState.ALLOWED_WITH_EXEMPTION if eval_residual(plain, at) else TimelineState.ALLOWED
    b_open = _eval_forced(blocked, at, True)
    b_closed = _eval_forced(blocked, at, False)
    if b_open and b_closed:
        return TimelineState.NOT_ALLOWED
    if b_open != b_closed:
        return TimelineState.WINDOW_ONLY
    plain_open = _eval_forced(plain, at, True)
    plain_closed = _eval_forced(plain, at, False)
    return TimelineState.ALLOWED_WITH_EXEMPTION if (plain_open or plain_closed) else TimelineState.ALLOWED


def _eval_forced(res: Residual, at: datetime, window_open: bool) -> bool:
    if isinstance(res, bool):
        return res
    if isinstance(res, Leaf):
        if res.op is Op.IN_WINDOW:
            return window_open
        return eval_residual(res, at)
    if isinstance(res, All):
        return all(_eval_forced(c, at, window_open) for c in res.children)
    if isinstance(res, Any_):
        return any(_eval_forced(c, at, window_open) for c in res.children)
    return not _eval_forced(res.child, at, window_open)


def timeline(
    book: RuleBook,
    vehicle: Vehicle,
    zone_ids: Sequence[str],
    *,
    start: datetime,
    end: datetime,
    grants: Sequence[ExemptionGrant] = (),
) -> tuple[Timeline, ...]:
    """States of ``vehicle`` in each zone over ``[start, end)``.

    Daily windows are not expanded day by day: a stretch where access depends on
    the time of day is ``window_only``.
    """
    require_aware(start, "start")
    require_aware(end, "end")
    out = []
    for zone_id in zone_ids:
        zone = book.zone(zone_id)
        blocked, plain = zone_blocked_residual(book, zone, vehicle, grants)
        points = sorted({start, *(t for r in (blocked, plain) for t in instant_thresholds(r) if start < t < end)})
        segments: list[Segment] = []
        for i, p in enumerate(points):
            q = points[i + 1] if i + 1 < len(points) else end
            state = _state_at(blocked, plain, p)
            if segments and segments[-1].state is state:
                segments[-1] = Segment(segments[-1].start, q, state)
            else:
                segments.append(Segment(p, q, state))
        out.append(Timeline(zone.id, zone.name, tuple(segments)))
    return tuple(out)
