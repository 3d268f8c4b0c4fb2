"""Delivery rounds with PyVRP: capacities (kg and m³), time windows, a heterogeneous fleet with a
travel matrix per vehicle class, reloads at the depot (the hub), a fixed seed and a time limit.

Access rules enter as the class's own routing profile: a stop the engine refuses to a class is
made unreachable in that class's matrices, so any solution using it would break its shift and
time windows (PyVRP treats it as infeasible). Stops no class may serve are never given to the
solver; they are returned as ``unserved`` with the reason.

Integer units inside PyVRP: metres, seconds, grams, litres and cost in 10⁻⁵ euro.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyvrp
from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria, NoImprovement, StoppingCriterion

from ruas.bundling.matrix import UNREACHABLE, TravelMatrix
from ruas.bundling.scenario import SolverSettings, VehicleClass, Window

COST_UNITS_PER_EUR = 100_000
"""PyVRP costs are integers: one unit is 10⁻⁵ euro."""


def distance_unit_cost(vc: VehicleClass) -> int:
    """Cost units per metre for a class (euro/km × 10⁵ / 1000)."""
    return round(vc.cost_per_km_eur * COST_UNITS_PER_EUR / 1000)


def duration_unit_cost(vc: VehicleClass) -> int:
    """Cost units per second for a class (euro/h × 10⁵ / 3600)."""
    return round(vc.cost_per_hour_eur * COST_UNITS_PER_EUR / 3600)


def load_units(kg: float, m3: float) -> list[int]:
    """Load in grams and litres, rounded up so a rounded plan never overloads a vehicle."""
    return [int(np.ceil(round(kg * 1000, 6))), int(np.ceil(round(m3 * 1000, 6)))]


@dataclass(frozen=True, slots=True)
class Stop:
    """One drop: a receiver's load for the round (part ``part`` of a split load), its window and service time."""

    key: str
    receiver: str
    lat: float
    lon: float
    kg: float
    m3: float
    window: Window
    service_s: int
    allowed: frozenset[str]
    suppliers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FleetType:
    """Vehicles of one class available for the round; ``reload``: may return to the depot to load again."""

    vehicle_class: VehicleClass
    count: int
    reload: bool = True


@dataclass
class RoundProblem:
    """Delivery rounds from one depot on one day."""

    name: str
    depot: tuple[float, float]
    depot_window: Window
    depot_load_s: int
    stops: list[Stop]
    fleet: list[FleetType]
    matrices: dict[str, TravelMatrix]
    """Per vehicle class id, over ``points()``: the depot first, then each stop in order."""

    def points(self) -> list[tuple[float, float]]:
        """Depot first, then one point per stop (split stops repeat their receiver's point)."""
        return [self.depot, *((s.lat, s.lon) for s in self.stops)]


@dataclass(frozen=True, slots=True)
class PlannedRoute:
    """One vehicle's day: its trips (stop keys per trip), the visited points in order, distance and time."""

    vehicle_class: str
    trips: tuple[tuple[str, ...], ...]
    path: tuple[int, ...]
    """Indices into ``RoundProblem.points()``: depot (0) at the start, between trips and at the end."""
    distance_m: int
    duration_s: int
    start_s: int
    end_s: int
    kg: float
    m3: float
    arrivals: tuple[tuple[str, int], ...] = ()
    """Per stop key: when service starts (seconds after local midnight)."""


@dataclass
class RoundSolution:
    """PyVRP's best solution for a round problem, as plain routes."""

    routes: list[PlannedRoute] = field(default_factory=list)
    feasible: bool = True
    objective: int = 0
    runtime_s: float = 0.0
    iterations: int = 0
    problems: list[str] = field(default_factory=list)


def stop_criterion(settings: SolverSettings, time_limit_s: float | None = None) -> StoppingCriterion:
    """A wall-clock limit, plus an iteration cap and a no-improvement stop when set (both count iterations, so a
    run that ends by them is repeatable whatever the machine's load)."""
    criteria: list[StoppingCriterion] = [
        MaxRuntime(time_limit_s if time_limit_s is not None else settings.time_limit_s)
    ]
    if settings.max_iterations:
        criteria.append(MaxIterations(settings.max_iterations))
    if settings.no_improvement:
        criteria.append(NoImprovement(settings.no_improvement))
    return criteria[0] if len(criteria) == 1 else MultipleCriteria(criteria)


def build_data(problem: RoundProblem) -> pyvrp.ProblemData:
    """The PyVRP instance: one routing profile per vehicle class, refused stops unreachable in that profile."""
    points = problem.points()
    locations = [pyvrp.Location(x=lon, y=lat) for lat, lon in points]
    depot = pyvrp.Depot(
        0,
        tw_early=problem.depot_window.start_s,
        tw_late=problem.depot_window.end_s,
        service_duration=problem.depot_load_s,
    )
    clients = [
        pyvrp.Client(
            i + 1,
            delivery=load_units(s.kg, s.m3),
            service_duration=s.service_s,
            tw_early=s.window.start_s,
            tw_late=s.window.end_s,
            name=s.key,
        )
        for i, s in enumerate(problem.stops)
    ]
    dist_mats: list[Any] = []
    dur_mats: list[Any] = []
    vehicle_types: list[pyvrp.VehicleType] = []
    for profile, ft in enumerate(problem.fleet):
        vc = ft.vehicle_class
        m = problem.matrices[vc.id]
        dist = np.array(m.distance_m, dtype=np.int64, copy=True)
        dur = np.array(m.duration_s, dtype=np.int64, copy=True)
        refused = [i + 1 for i, s in enumerate(problem.stops) if vc.id not in s.allowed]
        if refused:
            dist[refused, :] = UNREACHABLE
            dist[:, refused] = UNREACHABLE
            dur[refused, :] = UNREACHABLE
            dur[:, refused] = UNREACHABLE
            dist[refused, refused] = 0
            dur[refused, refused] = 0
        dist_mats.append(dist)
        dur_mats.append(dur)
        vehicle_types.append(
            pyvrp.VehicleType(
                num_available=ft.count,
                capacity=load_units(vc.capacity_kg, vc.capacity_m3),
                start_depot=0,
                end_depot=0,
                fixed_cost=round(vc.fixed_cost_per_day_eur * COST_UNITS_PER_EUR),
                tw_early=problem.depot_window.start_s,
                tw_late=problem.depot_window.end_s,
                shift_duration=round(vc.max_shift_h * 3600),
                unit_distance_cost=distance_unit_cost(vc),
                unit_duration_cost=duration_unit_cost(vc),
                profile=profile,
                reload_depots=[0] if ft.reload else [],
                name=vc.id,
            )
        )
    return pyvrp.ProblemData(
        locations=locations,
        clients=clients,
        depots=[depot],
        vehicle_types=vehicle_types,
        distance_matrices=dist_mats,
        duration_matrices=dur_mats,
    )


def solve_rounds(
    problem: RoundProblem, settings: SolverSettings, *, time_limit_s: float | None = None
) -> RoundSolution:
    """Solve the rounds with PyVRP (fixed seed, time limit); stops must each be allowed to some class in the fleet."""
    if not problem.stops:
        return RoundSolution()
    fleet_ids = {ft.vehicle_class.id for ft in problem.fleet}
    orphans = [s.key for s in problem.stops if not (s.allowed & fleet_ids)]
    if orphans:
        raise ValueError(f"stops no vehicle of the fleet may serve were given to the solver: {orphans}")
    data = build_data(problem)
    started = time.perf_counter()
    result = pyvrp.solve(
        data, stop_criterion(settings, time_limit_s), seed=settings.seed, collect_stats=False, display=False
    )
    elapsed = time.perf_counter() - started
    best = result.best
    out = RoundSolution(
        routes=[_route(problem, r) for r in best.routes()],
        feasible=bool(best.is_feasible()),
        objective=int(result.cost()) if best.is_feasible() else -1,
        runtime_s=elapsed,
        iterations=int(result.num_iterations),
    )
    if not best.is_feasible():
        if best.has_excess_load():
            out.problems.append("capacity exceeded")
        if best.has_time_warp():
            out.problems.append("delivery windows or shift length cannot all be met (or a refused stop was used)")
        if not best.is_complete():
            out.problems.append("not every stop could be planned")
    return out


def _route(problem: RoundProblem, route: pyvrp.Route) -> PlannedRoute:
    vt = route.vehicle_type()
    vc = problem.fleet[vt].vehicle_class
    trips: list[list[str]] = []
    path: list[int] = []
    arrivals: list[tuple[str, int]] = []
    current: list[str] | None = None
    for act in route.schedule():
        if act.is_depot():
            path.append(0)
            if current is not None and current:
                trips.append(current)
            current = []
        else:
            stop = problem.stops[act.idx]  # a client visit's idx is the client's index (depots not counted)
            path.append(act.idx + 1)
            arrivals.append((stop.key, int(act.start_time)))
            if current is None:
                current = []
            current.append(stop.key)
    if current:
        trips.append(current)
    kg = sum(problem.stops[i - 1].kg for i in path if i)
    m3 = sum(problem.stops[i - 1].m3 for i in path if i)
    return PlannedRoute(
        vehicle_class=vc.id,
        trips=tuple(tuple(t) for t in trips),
        path=tuple(path),
        distance_m=int(route.distance()),
        duration_s=int(route.duration()),
        start_s=int(route.start_time()),
        end_s=int(route.end_time()),
        kg=kg,
        m3=m3,
        arrivals=tuple(arrivals),
    )


def total_cost_units(routes: Sequence[PlannedRoute], classes: dict[str, VehicleClass]) -> int:
    """The PyVRP objective of a set of routes: distance, duration and fixed costs in cost units."""
    total = 0
    for r in routes:
        vc = classes[r.vehicle_class]
        total += r.distance_m * distance_unit_cost(vc) + r.duration_s * duration_unit_cost(vc)
        total += round(vc.fixed_cost_per_day_eur * COST_UNITS_PER_EUR)
    return total
