"""Which edges a vehicle may use, and when: the rules engine's answer per edge signature.

For a vehicle (with the exemptions it holds) the state of a signature at instant ``t`` is
the conjunction of :func:`ruas.rules.engine.zone_decision` over its rule zones; the engine
also says until when that state holds (``allowed_until`` / ``allowed_from``), so one call
covers a stretch of time. Stretches are cached per zone and per vehicle in absolute time
and reused by every later query of that vehicle. Nothing here re-implements a rule: the
conjunction and the caching are the only logic.

Times in the search are integer milliseconds after the departure instant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from ruas.domain.decision import ZoneDecision
from ruas.domain.regulation import ExemptionGrant, Zone
from ruas.domain.vehicle import Vehicle
from ruas.routing.network import RoutingNetwork
from ruas.routing.restrictions import DELIVERY_FACT, DESTINATION_FACT
from ruas.rules.engine import RuleBook, zone_decision

OPEN, CLOSED, DYNAMIC, UNKNOWN = 0, 1, 2, 3
FAR = 1 << 62
"""A time (ms) beyond any search horizon: "no change known"."""


@dataclass(frozen=True, slots=True)
class Stretch:
    """One engine answer: state ``allowed`` holds over ``[start, end)`` (``end`` None: no change known)."""

    start: datetime
    end: datetime | None
    allowed: bool
    decision: ZoneDecision


class ZonePermits:
    """Cached engine answers for one vehicle (one set of grants): per zone, a list of stretches."""

    def __init__(self, vehicle: Vehicle, grants: Sequence[ExemptionGrant] = ()) -> None:
        self.vehicle = vehicle
        self.grants = tuple(grants)
        self._stretches: dict[tuple[int, str], list[Stretch]] = {}
        self.engine_calls = 0

    def stretch(self, book: RuleBook, zone: Zone, at: datetime) -> Stretch:
        """The engine's answer for ``zone`` at ``at`` and how long it holds."""
        key = (id(book), zone.id)
        found = self._stretches.get(key)
        if found is not None:
            for s in found:
                if s.start <= at and (s.end is None or at < s.end):
                    return s
        self.engine_calls += 1
        d = zone_decision(book, zone, self.vehicle, at=at, grants=self.grants)
        end = d.allowed_until if d.allowed else d.allowed_from
        s = Stretch(at, end, d.allowed, d)
        self._stretches.setdefault(key, []).append(s)
        return s


def local_vehicle(vehicle: Vehicle, facts: frozenset[str]) -> Vehicle:
    """The vehicle with the trip facts of a stop (``destination_in_area``/``delivery_in_area``) stated."""
    return replace(vehicle, holder=vehicle.holder | facts)


class QueryPermits:
    """Permissions for one search: departure instant, horizon, optional local (stop) variants.

    ``mode[s]`` is OPEN/CLOSED when signature ``s`` keeps its state over the whole horizon,
    DYNAMIC when it changes inside it, UNKNOWN until first asked. Signature ``s + n`` (n =
    number of signatures) is ``s`` evaluated for the vehicle *with* the facts of a stop,
    used on the destination/delivery roads around the trip's stops.
    """

    def __init__(
        self,
        network: RoutingNetwork,
        permits: ZonePermits,
        local_permits: ZonePermits | None,
        depart: datetime,
        *,
        horizon: timedelta = timedelta(hours=36),
        max_wait: timedelta = timedelta(hours=24),
        unrestricted: bool = False,
    ) -> None:
        self.network = network
        self.permits = permits
        self.local_permits = local_permits or permits
        self.depart = depart
        self.horizon_ms = int(horizon.total_seconds() * 1000)
        self.max_wait_ms = int(max_wait.total_seconds() * 1000)
        n = len(network.signatures)
        self.n = n
        self.unrestricted = unrestricted
        if unrestricted:
            self.mode = [OPEN] * (2 * n)
        else:
            self.mode = [UNKNOWN] * (2 * n)
            self.mode[0] = self.mode[n] = OPEN
            for s in range(1, n):
                if not network.rule_zones(s):
                    self.mode[s] = self.mode[s + n] = OPEN
        self._intervals: dict[int, list[tuple[int, int, bool]]] = {}

    def _at(self, t_ms: int) -> datetime:
        return self.depart + timedelta(milliseconds=t_ms)

    def _ms(self, at: datetime | None) -> int:
        if at is None:
            return FAR
        return int((at - self.depart) / timedelta(milliseconds=1))

    def state(self, s: int, t_ms: int) -> tuple[bool, int]:
        """(allowed, until_ms): the state of signature ``s`` at ``t_ms`` and when it may next change."""
        ivs = self._intervals.get(s)
        if ivs is not None:
            for a, b, ok in ivs:
                if a <= t_ms < b:
                    return ok, b
        base, permits = (s, self.permits) if s < self.n else (s - self.n, self.local_permits)
        at = self._at(t_ms)
        allowed, until = True, FAR
        for book, zone in self.network.rule_zones(base):
            st = permits.stretch(book, zone, at)
            allowed = allowed and st.allowed
            until = min(until, self._ms(st.end))
        until = max(until, t_ms + 1)
        self._intervals.setdefault(s, []).append((t_ms, until, allowed))
        return allowed, until

    def classify(self, s: int) -> int:
        """Fix ``mode[s]`` from the state at departure and the horizon; returns the mode."""
        m = self.mode[s]
        if m != UNKNOWN:
            return m
        ok, until = self.state(s, 0)
        m = (OPEN if ok else CLOSED) if until >= self.horizon_ms else DYNAMIC
        self.mode[s] = m
        return m

    def enter(self, s: int, t_ms: int) -> int:
        """The earliest instant >= ``t_ms`` the vehicle may enter an edge of signature ``s`` (waiting allowed),

        or -1 when it cannot within ``max_wait`` (or the horizon).
        """
        limit = min(t_ms + self.max_wait_ms, self.horizon_ms)
        t = t_ms
        while t <= limit:
            ok, until = self.state(s, t)
            if ok:
                return t
            t = until
        return -1

    def blocking(self, s: int, t_ms: int) -> list[ZoneDecision]:
        """The engine's decisions that refuse signature ``s`` at ``t_ms`` (for explanations)."""
        base, permits = (s, self.permits) if s < self.n else (s - self.n, self.local_permits)
        at = self._at(t_ms)
        return [
            st.decision
            for book, zone in self.network.rule_zones(base)
            if not (st := permits.stretch(book, zone, at)).allowed
        ]

    def decisions(self, s: int, t_ms: int) -> list[ZoneDecision]:
        """Every engine decision on signature ``s`` at ``t_ms``."""
        base, permits = (s, self.permits) if s < self.n else (s - self.n, self.local_permits)
        at = self._at(t_ms)
        return [permits.stretch(book, zone, at).decision for book, zone in self.network.rule_zones(base)]


def stop_facts(delivery: bool) -> frozenset[str]:
    """The facts a stop gives the roads around it: destination traffic, and delivery when loading/unloading."""
    return frozenset({DESTINATION_FACT, DELIVERY_FACT}) if delivery else frozenset({DESTINATION_FACT})
