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
    used on the destination/delivery roads around the trip's stops. Ids from ``2n`` on are
    made per query by :meth:`waived`: a signature with some register zones lifted (a
    vehicle standing inside a zone may drive inside it and out; the rules restrict entering).
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
        self._enter_memo: dict[int, tuple[int, int, bool, int]] = {}  # s -> (from, until, open, opens at)
        self._variants: list[tuple[int, frozenset[str]]] = []  # id 2n + i -> (signature < 2n, lifted zones)
        self._variant_ids: dict[tuple[int, frozenset[str]], int] = {}

    def waived(self, s: int, drop: frozenset[str]) -> int:
        """The id of signature ``s`` (``< 2n``) with the register zones ``drop`` lifted (``s`` if none applies)."""
        key = (s, drop)
        found = self._variant_ids.get(key)
        if found is None:
            zones = self.network.signatures[s % self.n].zones
            lifted = drop.intersection(zones)
            if not lifted:
                found = s
            else:
                canon = (s, frozenset(lifted))
                found = self._variant_ids.get(canon)
                if found is None:
                    found = len(self.mode)
                    self._variants.append(canon)
                    self.mode.append(UNKNOWN)
                    if self.unrestricted or not self._rules(found)[1]:
                        self.mode[found] = OPEN
                    self._variant_ids[canon] = found
            self._variant_ids[key] = found
        return found

    def lifted(self, s: int) -> frozenset[str]:
        """The register zones lifted on signature id ``s`` (empty unless made by :meth:`waived`)."""
        return self._variants[s - 2 * self.n][1] if s >= 2 * self.n else frozenset()

    def unwaived(self, s: int) -> int:
        """The signature id (``< 2n``) a waived id was made from (``s`` itself when it is one)."""
        return self._variants[s - 2 * self.n][0] if s >= 2 * self.n else s

    def _rules(self, s: int) -> tuple[ZonePermits, list[tuple[RuleBook, Zone]]]:
        """The cached engine answers and the zones that decide signature id ``s``."""
        lifted: frozenset[str] = frozenset()
        if s >= 2 * self.n:
            s, lifted = self._variants[s - 2 * self.n]
        base, permits = (s, self.permits) if s < self.n else (s - self.n, self.local_permits)
        zones = self.network.rule_zones(base)
        if lifted:
            zones = [(b, z) for b, z in zones if not (b is self.network.book and z.id in lifted)]
        return permits, zones

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
        permits, zones = self._rules(s)
        at = self._at(t_ms)
        allowed, until = True, FAR
        for book, zone in zones:
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

        or -1 when it cannot within ``max_wait`` (or the horizon). The answer for the stretch of
        time ``t_ms`` falls in (open, or closed until the next opening) is remembered per signature,
        as a search asks it again for every edge of the signature it reaches in that stretch.
        """
        c = self._enter_memo.get(s)
        if c is None or not c[0] <= t_ms < c[1]:
            ok, until = self.state(s, t_ms)
            opens = t_ms
            if not ok:  # the first instant it opens (FAR: not within the horizon)
                opens = until
                while opens <= self.horizon_ms:
                    ok2, until2 = self.state(s, opens)
                    if ok2:
                        break
                    opens = until2
                else:
                    opens = FAR
            c = self._enter_memo[s] = (t_ms, until, ok, opens)
        if c[2]:
            return t_ms if t_ms <= self.horizon_ms else -1
        opens = c[3]
        return opens if opens <= min(t_ms + self.max_wait_ms, self.horizon_ms) else -1

    def blocking(self, s: int, t_ms: int) -> list[ZoneDecision]:
        """The engine's decisions that refuse signature ``s`` at ``t_ms`` (for explanations)."""
        permits, zones = self._rules(s)
        at = self._at(t_ms)
        return [st.decision for book, zone in zones if not (st := permits.stretch(book, zone, at)).allowed]

    def decisions(self, s: int, t_ms: int) -> list[ZoneDecision]:
        """Every engine decision on signature ``s`` at ``t_ms``."""
        permits, zones = self._rules(s)
        at = self._at(t_ms)
        return [permits.stretch(book, zone, at).decision for book, zone in zones]


def stop_facts(delivery: bool) -> frozenset[str]:
    """The facts a stop gives the roads around it: destination traffic, and delivery when loading/unloading."""
    return frozenset({DESTINATION_FACT, DELIVERY_FACT}) if delivery else frozenset({DESTINATION_FACT})
