"""PyVRP rounds on tiny instances: feasible (capacity, windows, access) and equal to a brute-force optimum."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator, Sequence
from datetime import date

import pytest

from ruas.bundling.matrix import StraightLineMatrix, TravelMatrix
from ruas.bundling.scenario import SolverSettings, VehicleClass, Window
from ruas.bundling.solver import (
    COST_UNITS_PER_EUR,
    FleetType,
    PlannedRoute,
    RoundProblem,
    Stop,
    distance_unit_cost,
    duration_unit_cost,
    load_units,
    solve_rounds,
    total_cost_units,
)
from ruas.domain.vehicle import Body, Category, EmissionClass, Fuel, Vehicle

EXACT = SolverSettings(seed=7, time_limit_s=20.0, max_iterations=4000, no_improvement=None)
INF = math.inf
ANY_VEHICLE = Vehicle(Category.N1, Body.VAN, frozenset({Fuel.ELECTRIC}), EmissionClass.Z, date(2025, 1, 1), 3000)


def vclass(ident: str, **over: object) -> VehicleClass:
    base: dict[str, object] = dict(
        id=ident,
        name=ident,
        category="N1",
        fuel="electric",
        first_admission=date(2025, 1, 1),
        emission_class=None,
        body=None,
        mass_kg=3000,
        capacity_kg=300,
        capacity_m3=3,
        cost_per_hour_eur=40,
        cost_per_km_eur=0.3,
        emission_factor="van-electric",
        speed_kmh=25,
        detour_factor=1.3,
    )
    base.update(over)
    return VehicleClass(**base)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- brute force


def schedule(problem: RoundProblem, vc: VehicleClass, trips: Sequence[Sequence[int]]) -> tuple[int, int] | None:
    """(distance, minimal duration) of a vehicle doing ``trips`` (stop indices), or None when infeasible."""
    m = problem.matrices[vc.id]
    seq: list[int] = []  # location indices: 0 depot, i+1 stop i; a depot at the start of every trip
    for trip in trips:
        seq.append(0)
        seq.extend(i + 1 for i in trip)
    seq.append(0)
    dist = sum(int(m.distance_m[a, b]) for a, b in itertools.pairwise(seq))
    dw = problem.depot_window

    def run(start: int) -> int | None:
        t = start
        for pos, loc in enumerate(seq):
            if pos > 0:
                t += int(m.duration_s[seq[pos - 1], loc])
            if loc == 0:
                t = max(t, dw.start_s)
                if t > dw.end_s:
                    return None
                if pos < len(seq) - 1:
                    t += problem.depot_load_s
            else:
                s = problem.stops[loc - 1]
                t = max(t, s.window.start_s)
                if t > s.window.end_s:
                    return None
                t += s.service_s
        duration = t - start
        return duration if duration <= round(vc.max_shift_h * 3600) else None

    # the best start is the depot opening or a start that reaches some stop exactly at its opening
    candidates = {dw.start_s}
    offset = 0
    for pos, loc in enumerate(seq):
        if pos > 0:
            offset += int(m.duration_s[seq[pos - 1], loc])
        if loc == 0:
            if pos < len(seq) - 1:
                offset += problem.depot_load_s
            continue
        s = problem.stops[loc - 1]
        candidates.add(s.window.start_s - offset)
        offset += s.service_s
    best: int | None = None
    for start in candidates:
        if start < dw.start_s:
            continue
        d = run(start)
        if d is not None and (best is None or d < best):
            best = d
    return None if best is None else (dist, best)


def trip_loads_fit(problem: RoundProblem, vc: VehicleClass, trip: Sequence[int]) -> bool:
    cap = load_units(vc.capacity_kg, vc.capacity_m3)
    total = [0, 0]
    for i in trip:
        u = load_units(problem.stops[i].kg, problem.stops[i].m3)
        total = [total[0] + u[0], total[1] + u[1]]
    return total[0] <= cap[0] and total[1] <= cap[1]


def route_cost(problem: RoundProblem, ft: FleetType, trips: Sequence[Sequence[int]]) -> float:
    vc = ft.vehicle_class
    if any(vc.id not in problem.stops[i].allowed for t in trips for i in t):
        return INF
    if not all(trip_loads_fit(problem, vc, t) for t in trips):
        return INF
    sched = schedule(problem, vc, trips)
    if sched is None:
        return INF
    dist, dur = sched
    fixed = round(vc.fixed_cost_per_day_eur * COST_UNITS_PER_EUR)
    return dist * distance_unit_cost(vc) + dur * duration_unit_cost(vc) + fixed


def splits(seq: Sequence[int], reload: bool) -> Iterator[list[list[int]]]:
    """Every way to cut an ordered sequence into consecutive trips (one trip without reloads)."""
    if not reload:
        yield [list(seq)]
        return
    n = len(seq)
    for mask in range(1 << (n - 1)):
        trips, cur = [], [seq[0]]
        for k in range(1, n):
            if mask >> (k - 1) & 1:
                trips.append(cur)
                cur = []
            cur.append(seq[k])
        trips.append(cur)
        yield trips


def best_block(problem: RoundProblem, ft: FleetType, block: Sequence[int]) -> float:
    return min(
        (route_cost(problem, ft, trips) for perm in itertools.permutations(block) for trips in splits(perm, ft.reload)),
        default=INF,
    )


def partitions(items: list[int]) -> Iterator[list[list[int]]]:
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for part in partitions(rest):
        yield [[first], *part]
        for k in range(len(part)):
            yield [*part[:k], [first, *part[k]], *part[k + 1 :]]


def brute_force(problem: RoundProblem) -> float:
    """The optimal objective (cost units) over every partition, order, trip split and class assignment."""
    best = INF
    n = len(problem.stops)
    cache: dict[tuple[int, tuple[int, ...]], float] = {}
    for part in partitions(list(range(n))):
        if len(part) > sum(ft.count for ft in problem.fleet):
            continue
        costs = []
        for block in part:
            row = []
            for f, ft in enumerate(problem.fleet):
                key = (f, tuple(sorted(block)))
                if key not in cache:
                    cache[key] = best_block(problem, ft, block)
                row.append(cache[key])
            costs.append(row)
        for assign in itertools.product(range(len(problem.fleet)), repeat=len(part)):
            if any(assign.count(f) > ft.count for f, ft in enumerate(problem.fleet)):
                continue
            total = sum(costs[b][f] for b, f in enumerate(assign))
            best = min(best, total)
    return best


# --------------------------------------------------------------------------- instances


def tiny_problem(seed: int, *, n: int = 5, reload: bool = True) -> RoundProblem:
    """A random tiny instance near Lelystad: a cargo bike (small, cheap, reloads) and a van, windows, one refusal."""
    rng = random.Random(seed)
    depot = (52.50, 5.47)
    bike = vclass(
        "bike",
        capacity_kg=120,
        capacity_m3=1.0,
        cost_per_hour_eur=30,
        cost_per_km_eur=0.05,
        speed_kmh=15,
        detour_factor=1.2,
        fixed_cost_per_day_eur=5,
    )
    van = vclass("van", capacity_kg=400, capacity_m3=4, fixed_cost_per_day_eur=20, speed_kmh=25)
    windows = [Window(8 * 3600, 10 * 3600), Window(9 * 3600, 12 * 3600), Window(8 * 3600, 16 * 3600)]
    stops = []
    for i in range(n):
        allowed = {"bike", "van"} if i != 0 else {"van"}  # stop 0: the engine refuses the bike (e.g. a pedestrian area)
        stops.append(
            Stop(
                key=f"s{i}",
                receiver=f"r{i}",
                lat=depot[0] + rng.uniform(-0.02, 0.02),
                lon=depot[1] + rng.uniform(-0.03, 0.03),
                kg=rng.choice([30, 50, 70, 90]),
                m3=rng.choice([0.2, 0.4, 0.6]),
                window=rng.choice(windows),
                service_s=rng.choice([300, 600]),
                allowed=frozenset(allowed),
            )
        )
    fleet = [FleetType(bike, 1, reload=reload), FleetType(van, 2, reload=reload)]
    problem = RoundProblem(f"tiny-{seed}", depot, Window(7 * 3600, 18 * 3600), 300, stops, fleet, {})
    provider = StraightLineMatrix()
    for ft in fleet:
        problem.matrices[ft.vehicle_class.id] = provider.matrix(
            ft.vehicle_class,
            ANY_VEHICLE,
            problem.points(),
            None,  # type: ignore[arg-type]
        )
    return problem


def check_feasible(problem: RoundProblem, routes: Sequence[PlannedRoute]) -> None:
    """Independent feasibility: every stop once, access, capacity per trip, windows, shift, fleet size."""
    served = [k for r in routes for t in r.trips for k in t]
    assert sorted(served) == sorted(s.key for s in problem.stops)
    by_key = {s.key: i for i, s in enumerate(problem.stops)}
    fleet = {ft.vehicle_class.id: ft for ft in problem.fleet}
    for cls, ft in fleet.items():
        assert sum(r.vehicle_class == cls for r in routes) <= ft.count
    for r in routes:
        ft = fleet[r.vehicle_class]
        trips = [[by_key[k] for k in t] for t in r.trips]
        assert ft.reload or len(trips) == 1
        for t in trips:
            assert all(r.vehicle_class in problem.stops[i].allowed for i in t), "access refused stop served"
            assert trip_loads_fit(problem, ft.vehicle_class, t), "capacity exceeded"
        for key, start in r.arrivals:
            w = problem.stops[by_key[key]].window
            assert w.start_s <= start <= w.end_s, f"{key} served at {start} outside {w}"
        assert route_cost(problem, ft, trips) < INF


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_tiny_rounds_equal_the_brute_force_optimum(seed: int) -> None:
    problem = tiny_problem(seed)
    solution = solve_rounds(problem, EXACT)
    assert solution.feasible, solution.problems
    check_feasible(problem, solution.routes)
    optimum = brute_force(problem)
    assert optimum < INF
    classes = {ft.vehicle_class.id: ft.vehicle_class for ft in problem.fleet}
    assert solution.objective == optimum
    assert total_cost_units(solution.routes, classes) == optimum


def test_without_reloads_the_optimum_still_matches() -> None:
    problem = tiny_problem(11, n=4, reload=False)
    solution = solve_rounds(problem, EXACT)
    assert solution.feasible
    check_feasible(problem, solution.routes)
    assert solution.objective == brute_force(problem)


def test_same_seed_same_routes() -> None:
    a = solve_rounds(tiny_problem(5), EXACT)
    b = solve_rounds(tiny_problem(5), EXACT)
    assert [r.trips for r in a.routes] == [r.trips for r in b.routes]


def test_a_refused_stop_is_never_given_to_that_class() -> None:
    problem = tiny_problem(3)
    solution = solve_rounds(problem, EXACT)
    assert all(r.vehicle_class == "van" for r in solution.routes if any("s0" in t for t in r.trips))


def test_too_small_a_fleet_is_reported_infeasible() -> None:
    problem = tiny_problem(2)
    # one van only, no reloads, all stops in a 2-hour morning window far apart: cannot serve all
    van = problem.fleet[1].vehicle_class
    problem.fleet = [FleetType(van, 1, reload=False)]
    problem.stops = [
        Stop(s.key, s.receiver, s.lat, s.lon, 200, 1, Window(8 * 3600, 8 * 3600 + 600), 1800, frozenset({"van"}))
        for s in problem.stops
    ]
    problem.matrices = {"van": problem.matrices["van"]}
    solution = solve_rounds(problem, SolverSettings(seed=1, time_limit_s=5, max_iterations=500, no_improvement=None))
    assert not solution.feasible
    assert solution.problems


def test_stops_no_class_may_serve_are_refused_before_solving() -> None:
    problem = tiny_problem(1)
    s = problem.stops[0]
    problem.stops[0] = Stop(s.key, s.receiver, s.lat, s.lon, s.kg, s.m3, s.window, s.service_s, frozenset({"truck"}))
    with pytest.raises(ValueError, match=r"no vehicle of the fleet"):
        solve_rounds(problem, EXACT)


def test_matrix_is_symmetric_haversine_times_detour() -> None:
    vc = vclass("v", detour_factor=1.5, speed_kmh=36)
    m: TravelMatrix = StraightLineMatrix().matrix(vc, ANY_VEHICLE, [(52.0, 5.0), (52.0, 5.0), (53.0, 5.0)], None)  # type: ignore[arg-type]
    one_degree = 2 * math.pi * 6_371_008.8 / 360
    assert m.distance_m[0, 2] == round(one_degree * 1.5)
    assert m.distance_m[2, 0] == m.distance_m[0, 2]
    assert m.distance_m[0, 1] == 0
    assert m.duration_s[0, 2] == round(m.distance_m[0, 2] / 10)  # 36 km/h = 10 m/s
    assert m.approximate and "approximation" in m.source
