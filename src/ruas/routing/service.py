"""Use cases: route a vehicle, a travel-time matrix, and the accessibility map.

A :class:`Router` holds one :class:`RoutingNetwork` (graph + register zones), the landmarks
per vehicle class (preprocessing) and the engine answers already asked per vehicle. Every
answer about access comes from :mod:`ruas.rules.engine` via :mod:`ruas.routing.permits`.

Times: ``depart`` is timezone-aware; the search runs in integer milliseconds after it.
Distances in metres, durations in seconds in every output.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from ruas.domain.decision import Effect, ZoneDecision
from ruas.domain.errors import InvalidInput
from ruas.domain.regulation import ExemptionGrant
from ruas.domain.timeutil import LOCAL_TZ, require_aware
from ruas.domain.vehicle import Body, Category, EmissionClass, Fuel, Vehicle
from ruas.register.spatial import check_point
from ruas.routing.graph import ROAD_CLASSES, RoadGraph
from ruas.routing.network import RoutingNetwork
from ruas.routing.permits import CLOSED, OPEN, QueryPermits, ZonePermits, local_vehicle, stop_facts
from ruas.routing.search import INF, Landmarks, SearchResult, Waiver, build_landmarks, td_search
from ruas.rules.engine import RuleBook, zone_decision

MAX_SNAP_M = 2_000.0
"""A point farther than this from every road is refused (it is probably outside the graph)."""

REFERENCE = datetime(2000, 1, 1, tzinfo=LOCAL_TZ)
"""Instant at which OSM tag classes are asked whether they are closed for good (they carry no dates)."""

REFERENCE_CAR = Vehicle(
    category=Category.M1,
    body=Body.CAR,
    fuels=frozenset({Fuel.ELECTRIC}),
    emission_class=EmissionClass.Z,
    first_admission=date(2024, 1, 1),
    max_mass_kg=1500,
    length_m=4.5,
    width_m=1.8,
    height_m=1.5,
)
"""The "unrestricted" comparison: a new electric passenger car, which no goods-vehicle rule concerns.

Its route (timed with the routed vehicle's own speeds) is the one a route is compared with to say
which rules made it bend; roads closed to every motor vehicle stay closed for it too."""


@dataclass(frozen=True, slots=True)
class Stop:
    """A point of the trip snapped to the graph."""

    lat: float
    lon: float
    node: int
    snap_m: float

    def to_data(self) -> dict[str, Any]:
        """JSON form."""
        return {"lat": self.lat, "lon": self.lon, "snap_distance_m": round(self.snap_m, 1)}


@dataclass
class Leg:
    """One searched leg: the edges used, arrival times (ms after the trip's departure), waits."""

    edges: list[int]
    enter_ms: list[int]  # when each edge is entered (after any wait)
    arrive_ms: int
    settled: int
    sigs: list[int] = field(default_factory=list)  # the signature id each edge was decided by
    start_zones: frozenset[str] = frozenset()  # register zones the leg starts in (may be left)


@dataclass
class RouteResult:
    """A route (or the reason there is none) with its explanation."""

    vehicle: Vehicle
    depart: datetime
    stops: list[Stop]
    found: bool
    legs: list[Leg] = field(default_factory=list)
    distance_m: float = 0.0
    duration_s: float = 0.0
    zones: list[dict[str, Any]] = field(default_factory=list)
    waits: list[dict[str, Any]] = field(default_factory=list)
    explanation: dict[str, Any] = field(default_factory=dict)
    geometry: list[tuple[float, float]] = field(default_factory=list)
    settled: int = 0

    def to_data(self) -> dict[str, Any]:
        """The JSON answer of ``POST /routes`` and ``ruas route --json``."""
        arrive = self.depart + timedelta(seconds=self.duration_s) if self.found else None
        props = {
            "distance_m": round(self.distance_m, 1),
            "duration_s": round(self.duration_s, 1),
            "depart": self.depart.isoformat(),
            "arrive": arrive.isoformat() if arrive else None,
        }
        features: list[dict[str, Any]] = []
        if self.found and len(self.geometry) >= 2:
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "LineString", "coordinates": [list(p) for p in self.geometry]},
                    "properties": {"kind": "route", **props},
                }
            )
        for w in self.waits:
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [w["lon"], w["lat"]]},
                    "properties": {"kind": "wait", **{k: v for k, v in w.items() if k not in ("lat", "lon")}},
                }
            )
        return {
            "found": self.found,
            "vehicle": self.vehicle.describe(),
            "plate": self.vehicle.plate,
            **props,
            "stops": [s.to_data() for s in self.stops],
            "zones": self.zones,
            "waits": self.waits,
            "explanation": self.explanation,
            "geojson": {"type": "FeatureCollection", "features": features},
        }


def decision_data(d: ZoneDecision) -> dict[str, Any]:
    """A zone decision for route answers: the engine's own JSON with only the reasons that bite."""
    data = d.to_data()
    shown = [r for r in d.reasons if r.effect in (Effect.PROHIBITS, Effect.GRANT_HELD, Effect.EXEMPT)]
    data["reasons"] = [r.to_data() for r in (shown or list(d.reasons[:1]))]
    return data


class Router:
    """Routing on one network; thread-safe for queries (per-vehicle caches are guarded)."""

    def __init__(self, network: RoutingNetwork, *, landmarks: int = 16, active: int = 16) -> None:
        self.network = network
        self.graph: RoadGraph = network.graph
        self.landmark_count = landmarks
        self.active = active
        self._landmarks: dict[tuple[bool, frozenset[int]], Landmarks] = {}  # (truck, signatures left out)
        self._permits: OrderedDict[tuple[Vehicle, tuple[ExemptionGrant, ...]], ZonePermits] = OrderedDict()
        self._lock = threading.Lock()
        self._tail_list: list[int] | None = None

    @classmethod
    def build(cls, graph: RoadGraph, book: RuleBook, **kwargs: Any) -> Router:
        """Tag ``graph`` with ``book``'s zones and make a router on it."""
        return cls(RoutingNetwork.build(graph, book), **kwargs)

    # ------------------------------------------------------------------ preprocessing

    def closed_tagclasses(self, vehicle: Vehicle) -> frozenset[int]:
        """OSM tag classes the engine refuses this vehicle for good (also with a stop on them)."""
        out: set[int] = set()
        book = self.network.osm_book
        facts = stop_facts(True)
        for tc, zone in enumerate(book.zones):
            if not zone.regulations:
                continue
            d = zone_decision(book, zone, vehicle, at=REFERENCE)
            if d.allowed or d.allowed_from is not None:
                continue
            if zone_decision(book, zone, local_vehicle(vehicle, facts), at=REFERENCE).allowed:
                continue
            out.add(tc)
        return frozenset(out)

    def closed_signatures(
        self, vehicle: Vehicle, at: datetime, grants: Sequence[ExemptionGrant] = ()
    ) -> frozenset[int]:
        """Edge signatures the engine closes for this vehicle over the whole horizon from ``at``.

        Closed also with a stop on them (the destination/delivery facts), so no search of the
        vehicle departing at ``at`` can use an edge of one of them.
        """
        permits = self.query_permits(vehicle, grants, at, delivery=True)
        n = len(self.network.signatures)
        return frozenset(s for s in range(1, n) if permits.classify(s) == CLOSED and permits.classify(s + n) == CLOSED)

    def prepare(
        self,
        vehicle: Vehicle,
        at: datetime | None = None,
        *,
        grants: Sequence[ExemptionGrant] = (),
        explain: bool = True,
    ) -> Landmarks:
        """Landmarks for the vehicle's class: its travel times, on the graph without the edges closed to it.

        The edges left out are those of the signatures :meth:`closed_signatures` finds at ``at``
        (default: now): tag classes it may never use (weight, height, ``hgv=no`` ...) and zones
        closed to it (the S100 area for a 40 t truck, a ZE zone after its transition date);
        windows are kept, at their most permissive (free-flow time). The landmarks serve every
        later query of a vehicle for which those signatures are still closed over its horizon
        (checked per query, see :meth:`landmarks_for_leg`). Cached per (truck, signatures left out).
        ``explain``: for a truck, also the set the explanation's unrestricted comparison route uses
        (the reference car's closed roads, truck travel times; shared by every truck class).
        """
        at = datetime.now(LOCAL_TZ) if at is None else require_aware(at, "at")
        truck = vehicle.is_truck
        found = self._build(self.closed_signatures(vehicle, at, grants), truck)
        if explain and truck:
            self._build(self.closed_signatures(REFERENCE_CAR, at), truck)
        return found

    def _build(self, removed: frozenset[int], truck: bool) -> Landmarks:
        """The landmark set without signatures ``removed`` with car or truck travel times (cached)."""
        with self._lock:
            found = self._landmarks.get((truck, removed))
        if found is None:
            g = self.graph
            usable = ~np.isin(self.network.edge_signature, np.fromiter(removed, dtype=np.int32, count=len(removed)))
            found = build_landmarks(
                g.node_count,
                g.tail[usable],
                g.head[usable],
                g.time_ms(truck=truck)[usable],
                count=self.landmark_count,
                removed=removed,
                truck=truck,
                lat=g.lat,
                lon=g.lon,
            )
            with self._lock:
                self._landmarks[(truck, removed)] = found
        return found

    def base_landmarks(self) -> Landmarks:
        """Landmarks on every edge with car times: valid lower bounds for any vehicle at any time."""
        key = (False, frozenset[int]())
        with self._lock:
            found = self._landmarks.get(key)
        if found is None:
            g = self.graph
            found = build_landmarks(
                g.node_count, g.tail, g.head, g.time_ms(), count=self.landmark_count, lat=g.lat, lon=g.lon
            )
            with self._lock:
                self._landmarks[key] = found
        return found

    def landmarks_for_leg(
        self,
        vehicle: Vehicle,
        permits: QueryPermits,
        start_zones: frozenset[str] = frozenset(),
        *,
        truck: bool | None = None,
    ) -> tuple[Landmarks, npt.NDArray[np.bool_] | None]:
        """The prepared landmarks whose bounds are admissible for this search, and the nodes to bound by 0.

        Landmarks built without signatures ``R`` are admissible when every signature of ``R`` is
        CLOSED in this search (also with a stop's facts): the search can then use only edges the
        landmark graph holds, at no less than its travel times (truck landmarks serve trucks
        only; car times are lower bounds for every vehicle). A leg that starts inside a zone may
        drive inside it (:class:`~ruas.routing.search.Waiver`): when that zone's signatures are
        all in ``R``, its inside is bounded by 0 (those inner edges are not in the landmark
        graph; entering it from outside stays closed, so nodes outside keep their bounds), and
        when only some are, the landmarks are not used. The most restricted admissible set
        wins; without one, the base landmarks (car times, every edge) are used.
        """
        truck = vehicle.is_truck if truck is None else truck  # the travel times the search uses
        n = len(self.network.signatures)
        with self._lock:
            candidates = sorted(
                (lm for lm in self._landmarks.values() if truck or not lm.truck),
                key=lambda lm: (-len(lm.removed), not lm.truck),
            )
        for lm in candidates:
            if not lm.removed:  # nothing left out: admissible for any search with these travel times
                return lm, None
            if not all(permits.classify(s) == CLOSED and permits.classify(s + n) == CLOSED for s in lm.removed):
                continue
            # zones the leg may drive inside of whose lifting opens a signature the landmark graph lacks
            region: set[str] = set()
            for s in lm.removed:
                if start_zones.isdisjoint(self.network.signatures[s].zones):
                    continue
                for variant in (permits.waived(s, start_zones), permits.waived(s + n, start_zones)):
                    if permits.classify(variant) != CLOSED:
                        region |= permits.lifted(variant)
            if not region:
                return lm, None
            # bounded by 0 inside; sound when no edge into those zones is open (nodes outside keep their bounds)
            if all(s in lm.removed for z in region for s in self.network.signatures_with_zone(z)):
                sets = [k for k, zs in enumerate(self.network.zone_sets) if zs & region]
                return lm, np.isin(self.network.node_zoneset, sets)
        return self.base_landmarks(), None

    def waiver(self, node: int, target: int | None = None) -> Waiver | None:
        """The zones a search from ``node`` may drive inside of on its way out (None when there are none).

        The rules restrict *entering* a zone (the engine decides a vehicle entering it; edges are
        tagged with the zones their head lies in): a vehicle standing inside a zone it may not
        enter may still leave it. A trip that does not leave (``target`` in the same zone) drives
        in the zone and stays restricted, so the zones ``target`` lies in are not lifted.
        """
        zones = self.network.zones_at(node)
        if target is not None:
            zones = zones - self.network.zones_at(target)
        if not zones:
            return None
        drop = {k: zones & zs for k, zs in enumerate(self.network.zone_sets) if zones & zs}
        return Waiver(self.network.node_zoneset_list(), drop)

    def permits_for(self, vehicle: Vehicle, grants: Sequence[ExemptionGrant] = ()) -> ZonePermits:
        """The cached engine answers for this vehicle and grants (kept for the 64 most recent vehicles)."""
        key = (vehicle, tuple(grants))
        with self._lock:
            found = self._permits.get(key)
            if found is None:
                found = self._permits[key] = ZonePermits(vehicle, grants)
                while len(self._permits) > 64:
                    self._permits.popitem(last=False)
            else:
                self._permits.move_to_end(key)
            return found

    # ------------------------------------------------------------------ helpers

    def tails(self) -> list[int]:
        """Tail node per edge as a list (path reconstruction)."""
        if self._tail_list is None:
            self._tail_list = self.graph.tail.tolist()
        return self._tail_list

    def snap(self, lat: float, lon: float, what: str = "point") -> Stop:
        """The routable node nearest to a point (raises :class:`InvalidInput` when it is too far from any road)."""
        lat, lon = check_point(lat, lon)
        node, dist = self.graph.nearest_routable(lat, lon)
        if dist > MAX_SNAP_M:
            raise InvalidInput(
                f"{what} {lat:.5f},{lon:.5f} is {dist / 1000:.1f} km from the nearest road of the graph "
                f"({self.graph.meta.get('source', 'road graph')}); import an extract that covers it",
                field=what,
            )
        return Stop(lat, lon, node, dist)

    def query_permits(
        self,
        vehicle: Vehicle,
        grants: Sequence[ExemptionGrant],
        depart: datetime,
        *,
        delivery: bool = True,
        unrestricted: bool = False,
        max_wait: timedelta = timedelta(hours=24),
    ) -> QueryPermits:
        """Permissions for one search starting at ``depart``."""
        base = self.permits_for(vehicle, grants)
        local = self.permits_for(local_vehicle(vehicle, stop_facts(delivery)), grants)
        return QueryPermits(self.network, base, local, depart, max_wait=max_wait, unrestricted=unrestricted)

    def local_edges(self, nodes: Sequence[int]) -> dict[int, int]:
        """Destination/delivery roads connected to the stops: edge id -> offset of the stop variant signature."""
        mask = self.network.local_tagclass_mask()
        if not mask.any():
            return {}
        g = self.graph
        first_in, in_edges = g.reverse_csr()
        offset = len(self.network.signatures)
        out: dict[int, int] = {}
        seen: set[int] = set()
        todo = list(nodes)
        while todo:
            v = todo.pop()
            if v in seen:
                continue
            seen.add(v)
            outs = range(int(g.first_out[v]), int(g.first_out[v + 1]))
            ins = in_edges[int(first_in[v]) : int(first_in[v + 1])].tolist()
            for e in [*outs, *ins]:
                if mask[e]:
                    out[e] = offset
                    todo.append(int(g.head[e]) if e in outs else int(g.tail[e]))
        return out

    def _leg(
        self,
        vehicle: Vehicle,
        source: int,
        target: int,
        permits: QueryPermits,
        start_ms: int,
        local: dict[int, int] | None,
        *,
        truck: bool | None = None,
    ) -> Leg | None:
        """One leg: the search from ``source`` (leaving at ``start_ms``) to ``target``; None when unreachable.

        ``truck``: the travel times to use (default: the vehicle's).
        """
        truck = vehicle.is_truck if truck is None else truck
        lists = self.network.lists(truck=truck)
        waiver = self.waiver(source, target)
        start_zones = frozenset().union(*waiver.drop.values()) if waiver is not None else frozenset()
        landmarks, zero = self.landmarks_for_leg(vehicle, permits, start_zones, truck=truck)
        pot = landmarks.potential(source, target, self.active, zero=zero) if len(landmarks.nodes) else None
        res = td_search(
            lists,
            self.tails(),
            source,
            permits=permits,
            target=target,
            potential=pot,
            local=local,
            start_ms=start_ms,
            waiver=waiver,
        )
        if target not in res.dist:
            return None
        edges = res.path_edges(target)
        weight = lists[2]
        # an edge is entered after any wait: the arrival at its head minus its travel time
        heads = lists[1]
        enter = [res.dist[heads[e]] - weight[e] for e in edges]
        sigs = [self._edge_sig(e, permits, local, waiver) for e in edges]
        return Leg(edges, enter, res.dist[target], res.settled, sigs, start_zones)

    def _edge_sig(self, e: int, permits: QueryPermits, local: dict[int, int] | None, waiver: Waiver | None) -> int:
        """The signature id edge ``e`` is decided by in a search (stop variant, zones lifted), as the search does."""
        s = int(self.network.edge_signature[e])
        if permits.mode[s] == OPEN:
            return s
        if local and e in local:
            s += local[e]
        if waiver is not None:
            drop = waiver.drop.get(waiver.node_set[int(self.graph.tail[e])])
            if drop is not None:
                s = permits.waived(s, drop)
        return s

    # ------------------------------------------------------------------ route

    def route(
        self,
        vehicle: Vehicle,
        points: Sequence[tuple[float, float]],
        depart: datetime,
        *,
        grants: Sequence[ExemptionGrant] = (),
        delivery: bool = True,
        explain: bool = True,
        max_wait: timedelta = timedelta(hours=24),
    ) -> RouteResult:
        """The quickest legal route through ``points`` (from, vias..., to) departing at ``depart``."""
        require_aware(depart, "depart")
        if len(points) < 2:
            raise InvalidInput("a route needs a start and an end point", field="points")
        names = ["from", *(f"via[{i}]" for i in range(len(points) - 2)), "to"]
        stops = [self.snap(lat, lon, name) for (lat, lon), name in zip(points, names, strict=True)]
        truck = vehicle.is_truck
        permits = self.query_permits(vehicle, grants, depart, delivery=delivery, max_wait=max_wait)
        local = self.local_edges([s.node for s in stops]) or None
        result = RouteResult(vehicle, depart, stops, found=True)
        t = 0
        for a, b in pairwise(stops):
            leg = self._leg(vehicle, a.node, b.node, permits, t, local)
            if leg is None:
                result.found = False
                break
            result.legs.append(leg)
            result.settled += leg.settled
            t = leg.arrive_ms
        if result.found:
            self._describe(result, permits, truck, local)
        if explain:
            result.explanation = self._explain(result, permits, truck, local)
        return result

    def _describe(self, result: RouteResult, permits: QueryPermits, truck: bool, local: dict[int, int] | None) -> None:
        g = self.graph
        weight = self.network.lists(truck=truck)[2]
        zones: dict[str, dict[str, Any]] = {}
        seen: set[int] = set()
        prev_ms = 0
        edges: list[int] = []
        for leg in result.legs:
            for e, te, s in zip(leg.edges, leg.enter_ms, leg.sigs, strict=True):
                arrive_tail = prev_ms
                if te > arrive_tail:
                    v = int(g.tail[e])
                    blockers = permits.blocking(s, arrive_tail)
                    result.waits.append(
                        {
                            "lat": float(g.lat[v]),
                            "lon": float(g.lon[v]),
                            "from": _iso(permits.depart, arrive_tail),
                            "until": _iso(permits.depart, te),
                            "seconds": round((te - arrive_tail) / 1000, 1),
                            "reason": "; ".join(f"{d.zone_name}: {_why(d)}" for d in blockers) or "window closed",
                        }
                    )
                if s and s not in seen:  # the first entry into each rule set is the one reported
                    seen.add(s)
                    lifted = permits.lifted(s)
                    decisions = permits.decisions(s, te)
                    if lifted:  # zones the stop lies in: driving inside and out of them is not entering
                        decisions += [d for d in permits.decisions(permits.unwaived(s), te) if d.zone_id in lifted]
                    for d in decisions:
                        if d.zone_id not in zones:
                            entry = decision_data(d)
                            entry["source"] = "osm" if d.authority == "OSM" else "register"
                            if d.zone_id in lifted:
                                entry["entered_at"] = None
                                entry["started_inside"] = True
                                entry["note"] = "the stop lies inside this zone; leaving it is not restricted"
                            else:
                                entry["entered_at"] = _iso(permits.depart, te)
                            zones[d.zone_id] = entry
                edges.append(e)
                prev_ms = te + weight[e]
        result.distance_m = float(g.length_m[edges].sum(dtype=np.float64)) if edges else 0.0
        coords = path_coords(g, edges)
        result.duration_s = prev_ms / 1000.0
        result.geometry = coords
        result.zones = list(zones.values())

    def _explain(
        self,
        result: RouteResult,
        permits: QueryPermits,
        truck: bool,
        local: dict[int, int] | None,
    ) -> dict[str, Any]:
        """Why the route bends (or is impossible): the rules on the unrestricted route this vehicle may not use."""
        free_legs: list[Leg] = []
        t = 0
        reference = self.query_permits(REFERENCE_CAR, (), permits.depart)
        for a, b in pairwise(result.stops):
            leg = self._leg(REFERENCE_CAR, a.node, b.node, reference, t, local, truck=truck)
            if leg is None:
                return {
                    "differs": False,
                    "summary": "the points are not connected by roads open to motor vehicles in this graph",
                    "avoided": [],
                }
            free_legs.append(leg)
            t = leg.arrive_ms
        weight = self.network.lists(truck=truck)[2]
        avoided: dict[str, dict[str, Any]] = {}
        t = 0
        for leg, (a, b) in zip(free_legs, pairwise(result.stops), strict=True):
            waiver = self.waiver(a.node, b.node)
            for e in leg.edges:
                s = self._edge_sig(e, permits, local, waiver)
                if permits.classify(s) != CLOSED and permits.enter(s, t) == t:
                    t += weight[e]
                    continue
                for d in permits.blocking(s, t):
                    entry = avoided.get(d.zone_id)
                    if entry is None:
                        entry = decision_data(d)
                        entry["source"] = "osm" if d.authority == "OSM" else "register"
                        entry["at"] = _iso(permits.depart, t)
                        entry["where"] = {
                            "lat": float(self.graph.lat[self.graph.tail[e]]),
                            "lon": float(self.graph.lon[self.graph.tail[e]]),
                        }
                        entry["exemptions_that_would_open_it"] = [x.to_data() for x in d.exemptions if not x.held]
                        avoided[d.zone_id] = entry
                t += weight[e]
        free_dist = sum(float(self.graph.length_m[e]) for leg in free_legs for e in leg.edges)
        free_time = free_legs[-1].arrive_ms / 1000.0
        same = result.found and [e for leg in result.legs for e in leg.edges] == [
            e for leg in free_legs for e in leg.edges
        ]
        out: dict[str, Any] = {
            "differs": not same,
            "unrestricted": {"distance_m": round(free_dist, 1), "duration_s": round(free_time, 1)},
            "avoided": list(avoided.values()),
        }
        if not result.found:
            names = ", ".join(f"{a['name']}" for a in avoided.values()) or "rules on every way in"
            helps = sorted({x["name"] for a in avoided.values() for x in a["exemptions_that_would_open_it"]})
            out["summary"] = f"no legal route: the roads to the destination are closed to this vehicle by {names}" + (
                f"; an exemption would open it: {', '.join(helps)}" if helps else "; no exemption type is listed"
            )
        elif same:
            out["summary"] = "the route is the unrestricted quickest route"
        else:
            extra = result.duration_s - free_time
            names = ", ".join(a["name"] for a in avoided.values())
            out["summary"] = (
                f"the route avoids {names or 'restrictions at the time of passage'}: "
                f"{extra / 60:+.1f} min and {(result.distance_m - free_dist) / 1000:+.2f} km "
                "compared with the unrestricted route"
            )
            out["extra_duration_s"] = round(extra, 1)
            out["extra_distance_m"] = round(result.distance_m - free_dist, 1)
        return out

    # ------------------------------------------------------------------ matrix

    def matrix(
        self,
        vehicle: Vehicle,
        origins: Sequence[tuple[float, float]],
        destinations: Sequence[tuple[float, float]],
        depart: datetime,
        *,
        grants: Sequence[ExemptionGrant] = (),
        delivery: bool = True,
    ) -> dict[str, Any]:
        """Travel times (s) and distances (m) from every origin to every destination (None: no legal route)."""
        require_aware(depart, "depart")
        src = [self.snap(a, b, f"origins[{i}]") for i, (a, b) in enumerate(origins)]
        dst = [self.snap(a, b, f"destinations[{i}]") for i, (a, b) in enumerate(destinations)]
        truck = vehicle.is_truck
        lists = self.network.lists(truck=truck)
        durations: list[list[float | None]] = []
        distances: list[list[float | None]] = []
        for s in src:
            permits = self.query_permits(vehicle, grants, depart, delivery=delivery)
            local = self.local_edges([s.node, *(d.node for d in dst)]) or None
            # destinations grouped by the zones the origin's search may leave on the way to them
            groups: dict[frozenset[str], list[int]] = {}
            for d in dst:
                groups.setdefault(self.network.zones_at(s.node) - self.network.zones_at(d.node), []).append(d.node)
            found: dict[int, tuple[int, float]] = {}
            for nodes in groups.values():
                res = td_search(
                    lists,
                    self.tails(),
                    s.node,
                    permits=permits,
                    targets=nodes,
                    local=local,
                    waiver=self.waiver(s.node, nodes[0]),
                )
                for v in nodes:
                    if v in res.dist:
                        found[v] = (res.dist[v], float(self.graph.length_m[res.path_edges(v)].sum()))
            durations.append([round(found[d.node][0] / 1000.0, 1) if d.node in found else None for d in dst])
            distances.append([round(found[d.node][1], 1) if d.node in found else None for d in dst])
        return {
            "vehicle": vehicle.describe(),
            "depart": depart.isoformat(),
            "origins": [s.to_data() for s in src],
            "destinations": [d.to_data() for d in dst],
            "durations_s": durations,
            "distances_m": distances,
        }

    # ------------------------------------------------------------------ accessibility

    def accessibility(
        self,
        vehicle: Vehicle,
        point: tuple[float, float],
        at: datetime,
        minutes: float,
        *,
        grants: Sequence[ExemptionGrant] = (),
        max_segments: int = 20_000,
    ) -> dict[str, Any]:
        """The road segments the vehicle may use at ``at`` near the point, and the area reachable in ``minutes``."""
        require_aware(at, "at")
        if not 0 < minutes <= 240:
            raise InvalidInput(f"minutes {minutes!r} must be between 0 and 240", field="minutes", value=minutes)
        start = self.snap(*point)
        truck = vehicle.is_truck
        permits = self.query_permits(vehicle, grants, at, delivery=False)
        limit = int(minutes * 60_000)
        res: SearchResult = td_search(
            self.network.lists(truck=truck),
            self.tails(),
            start.node,
            permits=permits,
            limit_ms=limit,
            waiver=self.waiver(start.node),
        )
        reached = np.fromiter((v for v, t in res.dist.items() if t <= limit), dtype=np.int64)
        g = self.graph
        features: list[dict[str, Any]] = []
        if len(reached) >= 3:
            pts = shapely.multipoints(np.column_stack([g.lon[reached], g.lat[reached]]))
            area = shapely.concave_hull(pts, ratio=0.2)
            features.append(
                {
                    "type": "Feature",
                    "geometry": shapely.geometry.mapping(area),
                    "properties": {"kind": "reachable_area", "minutes": minutes, "nodes": len(reached)},
                }
            )
        # segments around the reachable area: usable or not at ``at``, with the engine's reason when not
        in_area = np.zeros(g.node_count, dtype=np.bool_)
        in_area[reached] = True
        edges = np.flatnonzero(in_area[g.tail])[:max_segments]
        sig = self.network.edge_signature
        state: dict[int, tuple[bool, str]] = {}
        for e in edges.tolist():
            s = int(sig[e])
            if s not in state:
                blockers = permits.blocking(s, 0)
                state[s] = (not blockers, "; ".join(f"{d.zone_name}: {_why(d)}" for d in blockers))
            ok, why = state[s]
            reach_t = res.dist.get(int(g.head[e]))
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "LineString", "coordinates": [list(p) for p in g.edge_coords(e)]},
                    "properties": {
                        "kind": "segment",
                        "edge": e,
                        "way_id": int(g.way_id[e]),
                        "road_class": ROAD_CLASSES[int(g.road_class[e])],
                        "usable": ok,
                        "reached_s": round(reach_t / 1000.0, 1) if reach_t is not None and reach_t <= limit else None,
                        **({"why_not": why} if not ok else {}),
                    },
                }
            )
        return {
            "type": "FeatureCollection",
            "features": features,
            "properties": {
                "vehicle": vehicle.describe(),
                "at": at.isoformat(),
                "minutes": minutes,
                "start": start.to_data(),
                "segments_truncated": bool(int(in_area[g.tail].sum()) > max_segments),
                "attribution": g.meta.get("attribution", ""),
            },
        }


def path_coords(g: RoadGraph, edges: list[int]) -> list[tuple[float, float]]:
    """The polyline of consecutive edges as ``(lon, lat)`` pairs (vectorised when edges have no shape points)."""
    if not edges:
        return []
    idx = np.asarray(edges, dtype=np.int64)
    if not np.any(g.geom_offsets[idx + 1] - g.geom_offsets[idx]):
        nodes = np.concatenate([g.tail[idx[:1]], g.head[idx]])
        return list(zip(g.lon[nodes].tolist(), g.lat[nodes].tolist(), strict=True))
    coords: list[tuple[float, float]] = []
    for e in edges:
        pts = g.edge_coords(e)
        coords.extend(pts if not coords else pts[1:])
    return coords


def _iso(depart: datetime, t_ms: int) -> str:
    return (depart + timedelta(milliseconds=t_ms)).astimezone(LOCAL_TZ).isoformat(timespec="seconds")


def _why(d: ZoneDecision) -> str:
    texts = [r.text for r in d.reasons if r.effect is Effect.PROHIBITS]
    until = (
        f" (allowed from {d.allowed_from.astimezone(LOCAL_TZ).isoformat(timespec='minutes')})" if d.allowed_from else ""
    )
    return ("; ".join(texts) or "not allowed") + until


__all__ = ["INF", "RouteResult", "Router", "Stop"]
