"""The three ways of delivering a scenario's week, and their KPIs.

- **status quo** — every supplier delivers directly to its receivers from its own origin with its own
  vehicle class, on its own delivery days (each supplier's day is solved as its own rounds);
- **bundled** — every supplier drives once per delivery day to one hub (origin → hub → origin), and the
  hub's last-mile fleet (e.g. zero-emission vans and cargo bikes) distributes the day's consolidated
  goods in optimised rounds, reloading at the hub;
- **concession** — as bundled, but one operator per district: rounds never mix districts.

Assumptions (also in ``docs/bundling.md``): goods reaching the hub on a day are delivered that day
(cross-dock; they arrive before the rounds start); a supplier's weekly demand is split evenly over its
delivery days; a load larger than any allowed vehicle is split into equal drops; access is decided
at the start of each delivery window and must hold for the whole window.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import pairwise
from typing import Any

import shapely

from ruas.bundling.access import AccessOracle, AccessVerdict
from ruas.bundling.emissions import EmissionFactor, factor_table
from ruas.bundling.matrix import UNREACHABLE, TravelMatrix, TravelMatrixProvider
from ruas.bundling.scenario import Hub, Scenario, ScenarioError, VehicleClass, Window
from ruas.bundling.solver import FleetType, PlannedRoute, RoundProblem, RoundSolution, Stop, solve_rounds
from ruas.domain.errors import InvalidInput
from ruas.domain.timeutil import local_midnight

MIN_SOLVE_S = 0.05
"""The token limit a solve gets once the analysis's time budget is spent."""

MAX_DROPS_PER_RECEIVER = 200
"""A receiver's daily load is split into at most this many drops (more means the demand is wrong)."""

SMALL_SOLVE_LIMIT_S = 1.0
"""Wall-clock limit for one supplier's direct rounds (few stops; the iteration cap usually stops it first)."""


# --------------------------------------------------------------------------- KPI records


@dataclass(frozen=True, slots=True)
class RouteKpi:
    """One vehicle's day in a variant, with its KPIs."""

    day: str
    role: str  # "direct", "linehaul" or "last_mile"
    operator: str  # supplier id, hub id, or district id (concession)
    vehicle_class: str
    trips: tuple[tuple[str, ...], ...]
    drops: int
    km: float
    hours: float
    cost_eur: float
    co2_kg: float
    nox_g: float
    movements: dict[str, int]
    kg: float
    m3: float

    def to_data(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "day": self.day,
            "role": self.role,
            "operator": self.operator,
            "vehicle_class": self.vehicle_class,
            "trips": [list(t) for t in self.trips],
            "drops": self.drops,
            "km": round(self.km, 3),
            "hours": round(self.hours, 3),
            "cost_eur": round(self.cost_eur, 2),
            "co2_kg": round(self.co2_kg, 3),
            "nox_g": round(self.nox_g, 2),
            "movements": dict(self.movements),
            "kg": round(self.kg, 1),
            "m3": round(self.m3, 3),
        }


@dataclass(frozen=True, slots=True)
class Unserved:
    """A delivery the variant cannot make, and why."""

    day: str
    receiver: str
    supplier: str | None
    kg: float
    m3: float
    reason: str
    access: AccessVerdict | None = None

    def to_data(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "day": self.day,
            "receiver": self.receiver,
            "supplier": self.supplier,
            "kg": round(self.kg, 1),
            "m3": round(self.m3, 3),
            "reason": self.reason,
            "access": self.access.to_data() if self.access else None,
        }


@dataclass
class Totals:
    """Summed KPIs."""

    km: float = 0.0
    hours: float = 0.0
    vehicle_cost_eur: float = 0.0
    hub_cost_eur: float = 0.0
    co2_kg: float = 0.0
    nox_g: float = 0.0
    routes: int = 0
    drops: int = 0
    movements: dict[str, int] = field(default_factory=dict)
    unserved: int = 0

    @property
    def cost_eur(self) -> float:
        """Vehicle and hub costs."""
        return self.vehicle_cost_eur + self.hub_cost_eur

    def add(self, r: RouteKpi) -> None:
        """Add one route's KPIs."""
        self.km += r.km
        self.hours += r.hours
        self.vehicle_cost_eur += r.cost_eur
        self.co2_kg += r.co2_kg
        self.nox_g += r.nox_g
        self.routes += 1
        self.drops += r.drops
        for k, v in r.movements.items():
            self.movements[k] = self.movements.get(k, 0) + v

    def merge(self, other: Totals) -> None:
        """Add another total."""
        self.km += other.km
        self.hours += other.hours
        self.vehicle_cost_eur += other.vehicle_cost_eur
        self.hub_cost_eur += other.hub_cost_eur
        self.co2_kg += other.co2_kg
        self.nox_g += other.nox_g
        self.routes += other.routes
        self.drops += other.drops
        self.unserved += other.unserved
        for k, v in other.movements.items():
            self.movements[k] = self.movements.get(k, 0) + v

    def to_data(self) -> dict[str, Any]:
        """JSON form (km, hours, euros, kilograms CO2, grams NOx)."""
        return {
            "vehicle_km": round(self.km, 2),
            "vehicle_hours": round(self.hours, 2),
            "cost_eur": round(self.cost_eur, 2),
            "vehicle_cost_eur": round(self.vehicle_cost_eur, 2),
            "hub_cost_eur": round(self.hub_cost_eur, 2),
            "co2_kg": round(self.co2_kg, 2),
            "nox_g": round(self.nox_g, 1),
            "routes": self.routes,
            "drops": self.drops,
            "movements": dict(sorted(self.movements.items())),
            "unserved": self.unserved,
        }


@dataclass
class DayPlan:
    """One weekday of a variant."""

    day: str
    date: date
    routes: list[RouteKpi] = field(default_factory=list)
    unserved: list[Unserved] = field(default_factory=list)
    hub_cost_eur: float = 0.0
    problems: list[str] = field(default_factory=list)
    solve_seconds: float = 0.0

    def totals(self) -> Totals:
        """The day's KPIs."""
        t = Totals(hub_cost_eur=self.hub_cost_eur, unserved=len(self.unserved))
        for r in self.routes:
            t.add(r)
        return t


@dataclass
class VariantPlan:
    """A variant's week."""

    variant: str
    hub: str | None
    demand_factor: float
    days: list[DayPlan] = field(default_factory=list)

    @property
    def feasible(self) -> bool:
        """No solver or capacity problem on any day (unserved deliveries are reported separately)."""
        return not any(d.problems for d in self.days)

    def totals(self) -> Totals:
        """The week's KPIs."""
        t = Totals()
        for d in self.days:
            t.merge(d.totals())
        return t

    def to_data(self, *, routes: bool = True) -> dict[str, Any]:
        """JSON form: totals for the week and per weekday, routes, unserved deliveries, problems."""
        return {
            "variant": self.variant,
            "hub": self.hub,
            "demand_factor": self.demand_factor,
            "feasible": self.feasible,
            "totals": self.totals().to_data(),
            "days": [
                {
                    "day": d.day,
                    "date": d.date.isoformat(),
                    "totals": d.totals().to_data(),
                    "problems": list(d.problems),
                    "solve_seconds": round(d.solve_seconds, 2),
                    **({"routes": [r.to_data() for r in d.routes]} if routes else {}),
                }
                for d in self.days
            ],
            "unserved": [u.to_data() for d in self.days for u in d.unserved],
        }


# --------------------------------------------------------------------------- the planner


@dataclass(frozen=True, slots=True)
class AreaIndex:
    """The areas movements are counted into: the city, the scenario's areas and the register's zones."""

    ids: tuple[str, ...]
    names: dict[str, str]
    polygons: dict[str, shapely.Polygon]


class Planner:
    """Plans the variants of one scenario with one travel-matrix provider and the register's rules."""

    def __init__(
        self,
        scenario: Scenario,
        oracle: AccessOracle,
        matrices: TravelMatrixProvider,
        *,
        time_limit_s: float | None = None,
        budget_s: float | None = None,
    ) -> None:
        self.scenario = scenario
        self.deadline = time.monotonic() + budget_s if budget_s is not None else None
        self.budget_exhausted = False
        self.oracle = oracle
        self.provider = matrices
        self.time_limit_s = time_limit_s if time_limit_s is not None else scenario.solver.time_limit_s
        self.classes = {vc.id: vc for vc in scenario.vehicle_classes}
        self.factors = factor_table(scenario.emission_factors)
        for vc in scenario.vehicle_classes:
            if vc.emission_factor not in self.factors:
                raise ScenarioError(
                    f"{scenario.source}, vehicle class {vc.id!r}, field 'emission_factor': unknown factor "
                    f"{vc.emission_factor!r} (known: {', '.join(sorted(self.factors))})",
                    file=scenario.source,
                    field="emission_factor",
                    value=vc.emission_factor,
                )
            try:
                oracle.vehicle(vc)  # the check service validates every class up front
            except InvalidInput as exc:
                raise ScenarioError(
                    f"{scenario.source}, vehicle class {vc.id!r}: {exc.message}",
                    file=scenario.source,
                    row=f"vehicle class {vc.id}",
                    field=str(exc.details.get("field", "vehicle_class")),
                ) from None
        self.areas = self._areas()
        self._inside: dict[tuple[float, float], frozenset[str]] = {}

    # ------------------------------------------------------------------ areas and movements

    def _areas(self) -> AreaIndex:
        names: dict[str, str] = {}
        polys: dict[str, shapely.Polygon] = {}
        sc = self.scenario
        for area in ([sc.city] if sc.city else []) + list(sc.areas):
            key = "city" if area is sc.city else f"area:{area.id}"
            names[key] = area.name
            polys[key] = shapely.Polygon(area.ring)
        points = [(r.lat, r.lon) for r in sc.receivers] + [(h.lat, h.lon) for h in sc.hubs]
        for lat, lon in points:
            for z in self.oracle.zones_at(lat, lon):
                names.setdefault(f"zone:{z}", self.oracle.register.book.zone(z).name)
        return AreaIndex(tuple(names), names, polys)

    def inside(self, lat: float, lon: float) -> frozenset[str]:
        """The movement areas a point lies in (register zones only when they hold a receiver or hub)."""
        key = (lat, lon)
        found = self._inside.get(key)
        if found is None:
            ids = {k for k, poly in self.areas.polygons.items() if shapely.intersects_xy(poly, lon, lat)}
            ids.update(f"zone:{z}" for z in self.oracle.zones_at(lat, lon) if f"zone:{z}" in self.areas.names)
            found = self._inside[key] = frozenset(ids)
        return found

    def movements(self, points: Sequence[tuple[float, float]], path: Sequence[int]) -> dict[str, int]:
        """Entries into each area along ``path``: legs from a point outside the area to a point inside it."""
        out = dict.fromkeys(self.areas.ids, 0)
        for a, b in pairwise(path):
            before, after = self.inside(*points[a]), self.inside(*points[b])
            for k in after - before:
                out[k] += 1
        return out

    # ------------------------------------------------------------------ KPIs

    def factor(self, vc: VehicleClass) -> EmissionFactor:
        """The emission factor of a vehicle class."""
        return self.factors[vc.emission_factor]

    def route_kpi(
        self, day: str, role: str, operator: str, route: PlannedRoute, points: Sequence[tuple[float, float]]
    ) -> RouteKpi:
        """KPIs of a planned route: km, hours, cost (per km, per hour, fixed per day), CO2, NOx, movements."""
        vc = self.classes[route.vehicle_class]
        km = route.distance_m / 1000.0
        hours = route.duration_s / 3600.0
        ef = self.factor(vc)
        return RouteKpi(
            day=day,
            role=role,
            operator=operator,
            vehicle_class=vc.id,
            trips=route.trips,
            drops=sum(len(t) for t in route.trips),
            km=km,
            hours=hours,
            cost_eur=km * vc.cost_per_km_eur + hours * vc.cost_per_hour_eur + vc.fixed_cost_per_day_eur,
            co2_kg=km * ef.co2_g_per_km / 1000.0,
            nox_g=km * ef.nox_g_per_km,
            movements=self.movements(points, route.path),
            kg=route.kg,
            m3=route.m3,
        )

    # ------------------------------------------------------------------ matrices

    def matrix(self, vc: VehicleClass, points: Sequence[tuple[float, float]], day: date, start_s: int) -> TravelMatrix:
        """The class's travel matrix over ``points`` for a departure on ``day`` at ``start_s``."""
        depart = local_midnight(day) + timedelta(seconds=start_s)
        return self.provider.matrix(vc, self.oracle.vehicle(vc), points, depart)

    # ------------------------------------------------------------------ status quo

    def status_quo(self, scenario: Scenario | None = None, *, factor: float = 1.0) -> VariantPlan:
        """Every supplier delivers directly on its days with its own vehicle class."""
        sc = scenario or self.scenario
        plan = VariantPlan("status_quo", None, factor)
        for day in sc.active_days():
            dp = DayPlan(day, sc.day_date(day))
            for supplier in sc.suppliers:
                if day not in supplier.days:
                    continue
                vc = self.classes[supplier.vehicle_class]
                rows = [d for d in sc.demand if d.supplier == supplier.id]
                stops: list[Stop] = []
                for d in rows:
                    r = sc.receiver(d.receiver)
                    n = len(supplier.days)
                    verdict = self.oracle.verdict(vc, r.lat, r.lon, dp.date, r.window)
                    if not verdict.allowed:
                        dp.unserved.append(
                            Unserved(
                                day, r.id, supplier.id, d.weekly_kg / n, d.weekly_m3 / n,
                                f"{vc.name} may not deliver here: " + "; ".join(verdict.reasons), verdict,
                            )
                        )  # fmt: skip
                        continue
                    stops.extend(self._drops(r.id, d.weekly_kg / n, d.weekly_m3 / n, [vc], {vc.id}, (supplier.id,)))
                if not stops:
                    continue
                fleet = [FleetType(vc, len(stops), reload=False)]
                sol = self._solve(
                    f"status quo {supplier.id} {day}",
                    (supplier.lat, supplier.lon),
                    supplier.depot_window,
                    0,
                    stops,
                    fleet,
                    dp,
                    min(self.time_limit_s, SMALL_SOLVE_LIMIT_S),
                    operator=supplier.id,
                    role="direct",
                )
                if not sol.feasible:
                    dp.problems.append(f"supplier {supplier.id}: " + "; ".join(sol.problems))
            plan.days.append(dp)
        return plan

    # ------------------------------------------------------------------ bundled and concession

    def bundled(
        self, hub: Hub, scenario: Scenario | None = None, *, factor: float = 1.0, concession: bool = False
    ) -> VariantPlan:
        """Suppliers deliver to ``hub``; the hub fleet distributes in rounds (per district when ``concession``)."""
        sc = scenario or self.scenario
        plan = VariantPlan("concession" if concession else "bundled", hub.id, factor)
        fleet_classes = [self.classes[f.vehicle_class] for f in sc.hub_fleet]
        for day in sc.active_days():
            dp = DayPlan(day, sc.day_date(day))
            # line-haul: origin -> hub -> origin, one per supplier and delivery day
            loads: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
            senders: dict[str, set[str]] = defaultdict(set)
            for supplier in sc.suppliers:
                if day not in supplier.days:
                    continue
                rows = [d for d in sc.demand if d.supplier == supplier.id]
                if not rows:
                    continue
                vc = self.classes[supplier.vehicle_class]
                n = len(supplier.days)
                verdict = self.oracle.verdict(vc, hub.lat, hub.lon, dp.date, hub.hours)
                if not verdict.allowed:
                    for d in rows:
                        dp.unserved.append(
                            Unserved(
                                day, d.receiver, supplier.id, d.weekly_kg / n, d.weekly_m3 / n,
                                f"{vc.name} may not deliver at hub {hub.id}: " + "; ".join(verdict.reasons), verdict,
                            )
                        )  # fmt: skip
                    continue
                haul = self._linehaul(day, dp.date, supplier.id, vc, (supplier.lat, supplier.lon), hub)
                if haul is None:
                    dp.problems.append(f"supplier {supplier.id}: no route between its origin and hub {hub.id}")
                    continue
                dp.routes.append(haul)
                for d in rows:
                    loads[d.receiver][0] += d.weekly_kg / n
                    loads[d.receiver][1] += d.weekly_m3 / n
                    senders[d.receiver].add(supplier.id)
            total_kg = sum(v[0] for v in loads.values())
            total_m3 = sum(v[1] for v in loads.values())
            if total_kg > hub.capacity_kg_per_day + 1e-9 or total_m3 > hub.capacity_m3_per_day + 1e-9:
                dp.problems.append(
                    f"hub {hub.id} capacity exceeded: {total_kg:,.0f} kg / {total_m3:,.1f} m³ on {day} "
                    f"(capacity {hub.capacity_kg_per_day:,.0f} kg / {hub.capacity_m3_per_day:,.1f} m³ a day)"
                )
            if loads:
                dp.hub_cost_eur = hub.fixed_cost_per_day_eur + hub.handling_eur_per_kg * total_kg
            # last mile
            groups: dict[str, list[str]] = defaultdict(list)
            for rid in loads:
                r = sc.receiver(rid)
                groups[(r.district or "(no district)") if concession else hub.id].append(rid)
            total_stops = max(1, len(loads))
            for operator, rids in sorted(groups.items()):
                stops: list[Stop] = []
                for rid in rids:
                    r = sc.receiver(rid)
                    kg, m3 = loads[rid]
                    verdicts = {vc.id: self.oracle.verdict(vc, r.lat, r.lon, dp.date, r.window) for vc in fleet_classes}
                    allowed = {k for k, v in verdicts.items() if v.allowed}
                    if not allowed:
                        reasons = "; ".join(sorted({x for v in verdicts.values() for x in v.reasons}))
                        dp.unserved.append(
                            Unserved(day, rid, None, kg, m3, f"no vehicle of the hub fleet may deliver here: {reasons}")
                        )
                        continue
                    usable = [vc for vc in fleet_classes if vc.id in allowed]
                    stops.extend(self._drops(rid, kg, m3, usable, allowed, tuple(sorted(senders[rid]))))
                if not stops:
                    continue
                fleet = [FleetType(self.classes[f.vehicle_class], f.count, reload=True) for f in sc.hub_fleet]
                limit = self.time_limit_s * (len(rids) / total_stops if concession else 1.0)
                sol = self._solve(
                    f"{plan.variant} {operator} {day}",
                    (hub.lat, hub.lon),
                    hub.hours,
                    round(hub.load_min * 60),
                    stops,
                    fleet,
                    dp,
                    max(limit, 0.1),
                    operator=operator,
                    role="last_mile",
                )
                if not sol.feasible:
                    dp.problems.append(f"{operator}: " + "; ".join(sol.problems))
            plan.days.append(dp)
        return plan

    def concession(self, hub: Hub, scenario: Scenario | None = None, *, factor: float = 1.0) -> VariantPlan:
        """One operator per district, all from ``hub`` with the hub fleet's composition each."""
        return self.bundled(hub, scenario, factor=factor, concession=True)

    # ------------------------------------------------------------------ helpers

    def _drops(
        self,
        rid: str,
        kg: float,
        m3: float,
        usable: Sequence[VehicleClass],
        allowed: set[str],
        suppliers: tuple[str, ...],
    ) -> list[Stop]:
        """The drops for a receiver's load: split evenly when it exceeds the largest allowed vehicle."""
        r = self.scenario.receiver(rid)
        parts = min(max(1, math.ceil(max(kg / vc.capacity_kg, m3 / vc.capacity_m3) - 1e-9)) for vc in usable)
        if parts > MAX_DROPS_PER_RECEIVER:
            raise ScenarioError(
                f"{self.scenario.source}: receiver {rid!r} would need {parts} drops a day ({kg:,.0f} kg, {m3:,.1f} m³) "
                f"with the largest allowed vehicle; at most {MAX_DROPS_PER_RECEIVER} are planned — check the demand",
                file=self.scenario.source,
                field="demand",
                value=rid,
            )
        return [
            Stop(
                key=rid if parts == 1 else f"{rid}#{k + 1}",
                receiver=rid,
                lat=r.lat,
                lon=r.lon,
                kg=kg / parts,
                m3=m3 / parts,
                window=r.window,
                service_s=round(r.service_min * 60),
                allowed=frozenset(allowed),
                suppliers=suppliers,
            )
            for k in range(parts)
        ]

    def _solve(
        self,
        name: str,
        depot: tuple[float, float],
        window: Window,
        load_s: int,
        stops: list[Stop],
        fleet: list[FleetType],
        dp: DayPlan,
        limit: float,
        *,
        operator: str,
        role: str,
    ) -> RoundSolution:
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left < limit:
                self.budget_exhausted = True
                limit = max(MIN_SOLVE_S, left)
        problem = RoundProblem(name, depot, window, load_s, stops, fleet, {})
        points = problem.points()
        for ft in fleet:
            problem.matrices[ft.vehicle_class.id] = self.matrix(ft.vehicle_class, points, dp.date, window.start_s)
        sol = solve_rounds(problem, self.scenario.solver, time_limit_s=limit)
        dp.solve_seconds += sol.runtime_s
        for route in sol.routes:
            dp.routes.append(self.route_kpi(dp.day, role, operator, route, points))
        return sol

    def _linehaul(
        self, day: str, on: date, supplier: str, vc: VehicleClass, origin: tuple[float, float], hub: Hub
    ) -> RouteKpi | None:
        """Origin -> hub -> origin in the supplier's own vehicle (None when the matrix has no route)."""
        points = [origin, (hub.lat, hub.lon)]
        m = self.matrix(vc, points, on, hub.hours.start_s)
        there, back = int(m.distance_m[0, 1]), int(m.distance_m[1, 0])
        t_there, t_back = int(m.duration_s[0, 1]), int(m.duration_s[1, 0])
        if max(there, back, t_there, t_back) >= UNREACHABLE:
            return None
        duration = t_there + t_back + round(hub.load_min * 60)
        route = PlannedRoute(vc.id, (), (0, 1, 0), there + back, duration, 0, duration, 0.0, 0.0)
        return self.route_kpi(day, "linehaul", supplier, route, points)
