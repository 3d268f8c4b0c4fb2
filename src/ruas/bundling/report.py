"""The analysis a planner asks for: status quo vs bundled vs concession, whether bundling pays, and how
that answer moves with demand and with the hub's location. Rendered as JSON (API, ``--json``) or Markdown.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ruas.bundling.access import AccessOracle
from ruas.bundling.matrix import StraightLineMatrix, TravelMatrixProvider
from ruas.bundling.plan import Planner, Totals, VariantPlan
from ruas.bundling.scenario import Scenario
from ruas.register.store import Register

ASSUMPTIONS: tuple[str, ...] = (
    "Goods reaching the hub on a day are delivered that day (cross-dock); they arrive before the rounds start.",
    "A supplier's weekly demand is spread evenly over its delivery days.",
    "A load larger than any allowed vehicle is split into equal drops.",
    "Status quo: each supplier's day is planned as optimised rounds from its own origin (a conservative "
    "baseline: real direct deliveries are rarely better planned).",
    "Line-haul to the hub: one return trip per supplier and delivery day, in the supplier's own vehicle class.",
    "Access is decided by the rules engine at the start of each delivery window and must hold for the whole window.",
    "A vehicle movement into an area is a leg from a point outside it to a point inside it (stops, hub, origins); "
    "with straight-line matrices, crossings of an area between two outside points are not seen.",
    "Emission factors: see the table; CO2 is well-to-wheel, NOx tailpipe; figures marked 'assumption' are not "
    "published values.",
)


@dataclass
class Comparison:
    """Whether bundling pays against the status quo, in euros and in the other KPIs."""

    pays: bool
    verdict: str
    status_quo: Totals
    bundled: Totals

    def to_data(self) -> dict[str, Any]:
        """JSON form with absolute and relative differences (bundled minus status quo)."""
        sq, bu = self.status_quo, self.bundled

        def diff(a: float, b: float) -> dict[str, float | None]:
            return {"change": round(b - a, 2), "change_pct": round(100 * (b - a) / a, 1) if a else None}

        return {
            "pays": self.pays,
            "verdict": self.verdict,
            "cost_eur": diff(sq.cost_eur, bu.cost_eur),
            "vehicle_km": diff(sq.km, bu.km),
            "vehicle_hours": diff(sq.hours, bu.hours),
            "co2_kg": diff(sq.co2_kg, bu.co2_kg),
            "nox_g": diff(sq.nox_g, bu.nox_g),
            "movements_into_city": diff(sq.movements.get("city", 0), bu.movements.get("city", 0)),
        }


def compare(status_quo: VariantPlan, bundled: VariantPlan) -> Comparison:
    """Does bundling pay? Cheaper per week is the test; the verdict also names km, CO2 and movements."""
    sq, bu = status_quo.totals(), bundled.totals()
    pays = bu.cost_eur < sq.cost_eur and bundled.feasible
    delta = bu.cost_eur - sq.cost_eur
    pct = 100 * delta / sq.cost_eur if sq.cost_eur else 0.0
    if not bundled.feasible:
        head = "Bundling via hub {} is not feasible as specified ({})".format(
            bundled.hub, "; ".join(p for d in bundled.days for p in d.problems)
        )
    elif pays:
        head = f"Bundling via hub {bundled.hub} pays: it saves € {-delta:,.0f} a week ({-pct:.1f} %)"
    else:
        head = (
            f"Bundling via hub {bundled.hub} does not pay: it costs € {delta:,.0f} a week more "
            f"(+{pct:.1f} %) than the status quo"
        )
    rest = (
        f"vehicle-km {sq.km:,.0f} → {bu.km:,.0f}, CO2 {sq.co2_kg:,.0f} → {bu.co2_kg:,.0f} kg, "
        f"NOx {sq.nox_g:,.0f} → {bu.nox_g:,.0f} g"
    )
    if "city" in sq.movements:
        rest += f", movements into the city {sq.movements['city']} → {bu.movements.get('city', 0)}"
    verdict = f"{head}; {rest}."
    if sq.unserved:
        verdict += f" The status quo cannot make {sq.unserved} deliveries (access rules); its cost leaves them out."
    return Comparison(pays, verdict, sq, bu)


@dataclass
class BundlingReport:
    """Everything ``ruas bundle`` prints and ``POST /bundling/analyses`` returns."""

    scenario: Scenario
    matrix_label: str
    matrix_approximate: bool
    status_quo: VariantPlan
    bundled: VariantPlan | None
    concession: VariantPlan | None
    comparison: Comparison | None
    hub_sensitivity: list[dict[str, Any]] = field(default_factory=list)
    demand_sensitivity: list[dict[str, Any]] = field(default_factory=list)
    engine_calls: int = 0
    area_names: dict[str, str] = field(default_factory=dict)
    factors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_data(self, *, routes: bool = True) -> dict[str, Any]:
        """The JSON document (stable keys; see ``docs/bundling.md``)."""
        sc = self.scenario
        return {
            "scenario": {
                "id": sc.id,
                "name": sc.name,
                "week_of": sc.week_of.isoformat(),
                "illustrative": sc.illustrative,
                "notice": sc.notice,
                "receivers": len(sc.receivers),
                "suppliers": len(sc.suppliers),
                "hubs": [h.id for h in sc.hubs],
            },
            "travel_matrix": {"source": self.matrix_label, "approximate": self.matrix_approximate},
            "solver": {
                "engine": f"PyVRP {pyvrp_version()}",
                "seed": sc.solver.seed,
                "time_limit_s": sc.solver.time_limit_s,
                "max_iterations": sc.solver.max_iterations,
                "no_improvement": sc.solver.no_improvement,
            },
            "areas": self.area_names,
            "variants": [v.to_data(routes=routes) for v in (self.status_quo, self.bundled, self.concession) if v],
            "comparison": self.comparison.to_data() if self.comparison else None,
            "sensitivity": {"hubs": self.hub_sensitivity, "demand": self.demand_sensitivity},
            "access": {"engine_calls": self.engine_calls},
            "emission_factors": self.factors,
            "assumptions": list(ASSUMPTIONS),
            "warnings": list(self.warnings),
        }


def pyvrp_version() -> str:
    """The installed PyVRP version."""
    try:
        return importlib.metadata.version("pyvrp")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"


def analyse(
    scenario: Scenario,
    register: Register,
    matrices: TravelMatrixProvider | None = None,
    *,
    time_limit_s: float | None = None,
    sensitivity: bool = True,
    progress: Callable[[str], None] | None = None,
    budget_s: float | None = None,
) -> BundlingReport:
    """Plan the status quo, bundling via each candidate hub (the cheapest is "bundled"), the concession
    variant when districts are given, and the demand sensitivity for the chosen hub."""
    say = progress or (lambda _msg: None)
    provider = matrices or StraightLineMatrix()
    planner = Planner(scenario, AccessOracle(register), provider, time_limit_s=time_limit_s, budget_s=budget_s)
    say("status quo")
    sq = planner.status_quo()
    hub_runs: list[VariantPlan] = []
    for hub in scenario.hubs:
        say(f"bundled via {hub.id}")
        hub_runs.append(planner.bundled(hub))
    best: VariantPlan | None = None
    if hub_runs:
        feasible = [p for p in hub_runs if p.feasible] or hub_runs
        best = min(feasible, key=lambda p: p.totals().cost_eur)
    concession = None
    if best is not None and scenario.districts:
        say("concession")
        concession = planner.concession(scenario.hub(best.hub or ""))
    comparison = compare(sq, best) if best is not None else None
    hubs_table = []
    for run in hub_runs:
        c = compare(sq, run)
        hubs_table.append({"hub": run.hub, "feasible": run.feasible, "chosen": run is best, **c.to_data()})
    demand_table = []
    if sensitivity and best is not None:
        hub = scenario.hub(best.hub or "")
        for factor in scenario.demand_factors:
            if factor == 1.0:
                s_sq, s_bu = sq, best
            else:
                say(f"demand × {factor:g}")
                scaled = scenario.scaled(factor)
                s_sq = planner.status_quo(scaled, factor=factor)
                s_bu = planner.bundled(hub, scaled, factor=factor)
            c = compare(s_sq, s_bu)
            demand_table.append({"demand_factor": factor, "hub": hub.id, "feasible": s_bu.feasible, **c.to_data()})
    used = {vc.emission_factor for vc in scenario.vehicle_classes}
    warnings = []
    if provider.approximate:
        warnings.append("travel times and distances are a straight-line approximation, not road routes")
    if planner.budget_exhausted:
        warnings.append(
            f"the solving-time budget ({budget_s:g} s) ran out: later solves had a token time limit, "
            "so their routes may be far from optimal"
        )
    return BundlingReport(
        warnings=warnings,
        scenario=scenario,
        matrix_label=provider.label,
        matrix_approximate=provider.approximate,
        status_quo=sq,
        bundled=best,
        concession=concession,
        comparison=comparison,
        hub_sensitivity=hubs_table,
        demand_sensitivity=demand_table,
        engine_calls=planner.oracle.engine_calls,
        area_names=dict(planner.areas.names),
        factors=[planner.factors[f].to_data() for f in sorted(used)],
    )


def markdown(report: BundlingReport) -> str:
    """A Markdown summary: notice, verdict, before/after table, per weekday, sensitivity, sources."""
    sc = report.scenario
    out: list[str] = [f"# Bundling scenario: {sc.name}", ""]
    if sc.illustrative:
        out += [f"> **ILLUSTRATIVE — not real demand.** {sc.notice}".rstrip(), ""]
    out += [
        f"Week of {sc.week_of.isoformat()} · {len(sc.receivers)} receivers · {len(sc.suppliers)} suppliers · "
        f"travel: {report.matrix_label}" + (" — **approximation**" if report.matrix_approximate else ""),
        "",
    ]
    warned = [f"> warning: {w}" for w in report.warnings if "straight-line" not in w]
    out += [*warned, ""] if warned else []
    if report.comparison:
        out += [f"**{report.comparison.verdict}**", ""]
    variants = [v for v in (report.status_quo, report.bundled, report.concession) if v]
    out += ["| KPI (week) | " + " | ".join(_title(v) for v in variants) + " |"]
    out += ["|---|" + "---:|" * len(variants)]
    totals = [v.totals() for v in variants]
    rows: list[tuple[str, Callable[[Totals], str]]] = [
        ("vehicle-km", lambda t: f"{t.km:,.1f}"),
        ("vehicle-hours", lambda t: f"{t.hours:,.1f}"),
        ("cost (€)", lambda t: f"{t.cost_eur:,.0f}"),
        ("CO2 (kg, WTW)", lambda t: f"{t.co2_kg:,.1f}"),
        ("NOx (g)", lambda t: f"{t.nox_g:,.0f}"),
        ("routes (vehicle-days)", lambda t: str(t.routes)),
        ("drops", lambda t: str(t.drops)),
        ("unserved deliveries", lambda t: str(t.unserved)),
    ]
    for label, fmt in rows:
        out.append(f"| {label} | " + " | ".join(fmt(t) for t in totals) + " |")
    for key, name in report.area_names.items():
        out.append(f"| movements into {name} | " + " | ".join(str(t.movements.get(key, 0)) for t in totals) + " |")
    out += ["", "## Per weekday (cost € / vehicle-km / movements into the city)", ""]
    days = [d.day for d in report.status_quo.days]
    out += ["| day | " + " | ".join(_title(v) for v in variants) + " |", "|---|" + "---:|" * len(variants)]
    for day in days:
        cells = []
        for v in variants:
            dp = next((d for d in v.days if d.day == day), None)
            if dp is None:
                cells.append("–")
                continue
            t = dp.totals()
            cells.append(f"{t.cost_eur:,.0f} / {t.km:,.1f} / {t.movements.get('city', 0)}")
        out.append(f"| {day} | " + " | ".join(cells) + " |")
    if report.hub_sensitivity:
        out += [
            "",
            "## Hub location",
            "",
            "| hub | cost change | km change | CO2 change | feasible |",
            "|---|---:|---:|---:|---|",
        ]
        for row in report.hub_sensitivity:
            out.append(
                f"| {row['hub']}{' (chosen)' if row['chosen'] else ''} | {_pct(row['cost_eur'])} | "
                f"{_pct(row['vehicle_km'])} | {_pct(row['co2_kg'])} | {'yes' if row['feasible'] else 'no'} |"
            )
    if report.demand_sensitivity:
        out += [
            "",
            "## Demand sensitivity (bundled vs status quo)",
            "",
            "| demand × | cost change | km change | pays |",
        ]
        out += ["|---:|---:|---:|---|"]
        for row in report.demand_sensitivity:
            out.append(
                f"| {row['demand_factor']:g} | {_pct(row['cost_eur'])} | {_pct(row['vehicle_km'])} | "
                f"{'yes' if row['pays'] else 'no'} |"
            )
    problems = [(v.variant, p) for v in variants for d in v.days for p in d.problems]
    unserved = [(v.variant, u) for v in variants for d in v.days for u in d.unserved]
    if problems or unserved:
        out += ["", "## Problems and unserved deliveries", ""]
        out += [f"- {variant}: {p}" for variant, p in problems]
        out += [f"- {variant}, {u.day}, {u.receiver}: {u.reason}" for variant, u in unserved[:50]]
        if len(unserved) > 50:
            out.append(f"- … and {len(unserved) - 50} more")
    out += ["", "## Emission factors", ""]
    for f in report.factors:
        out.append(
            f"- `{f['id']}` ({f['description']}): "
            f"CO2 {f['co2_g_per_km']:g} g/km [{f['co2_basis']}: {f['co2_source']}]; "
            f"NOx {f['nox_g_per_km']:g} g/km [{f['nox_basis']}: {f['nox_source']}] ({f['year']})"
        )
    out += ["", "## Assumptions", ""] + [f"- {a}" for a in ASSUMPTIONS]
    return "\n".join(out) + "\n"


def _title(v: VariantPlan) -> str:
    return {"status_quo": "status quo", "bundled": f"bundled ({v.hub})", "concession": f"concession ({v.hub})"}[
        v.variant
    ]


def _pct(d: dict[str, Any]) -> str:
    pct = d.get("change_pct")
    return f"{d['change']:+,.1f}" + (f" ({pct:+.1f} %)" if pct is not None else "")
