"""Benchmark the bundling optimiser on a generated 200-receiver, 20-supplier scenario (SYNTHETIC).

Target (issue 9): the bundled variant (line-haul to the hub plus the hub's last-mile rounds for every
weekday, solved with PyVRP) is planned in <= 30 s, with a cost within 2 % of the best solution found in a
5-minute run on the same machine. The baseline is measured in this run: the same days solved again with
``--reference-seconds`` in all (default 300, spread over the days, another seed); "best found" per day is
the cheaper of the two runs. The status quo (20 suppliers' own rounds) is timed too, for information.

Usage: ``python benchmarks/bench_bundling.py [--seconds 30] [--reference-seconds 300] [--receivers 200]
[--suppliers 20] [--seed 1]``. The machine has 2 cores shared with other jobs: wall-clock limits make the
solution quality depend on the load (printed as the load average before and after). The last line is one
JSON object with every figure and the baseline's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from ruas.bundling.access import AccessOracle
from ruas.bundling.generate import generated_scenario
from ruas.bundling.matrix import StraightLineMatrix
from ruas.bundling.plan import Planner, VariantPlan
from ruas.bundling.scenario import Scenario, SolverSettings
from ruas.register.store import Register


def day_costs(plan: VariantPlan) -> dict[str, float]:
    """Cost (euro) per weekday: vehicles (line-haul and last mile) plus the hub."""
    return {d.day: d.totals().cost_eur for d in plan.days}


def run(scenario: Scenario, register: Register, per_day_s: float, seed: int) -> tuple[VariantPlan, float]:
    """Plan the bundled variant with a pure time limit per weekday; returns the plan and the wall time (s)."""
    sc = replace(
        scenario, solver=SolverSettings(seed=seed, time_limit_s=per_day_s, max_iterations=None, no_improvement=None)
    )
    planner = Planner(sc, AccessOracle(register), StraightLineMatrix())
    started = time.perf_counter()
    plan = planner.bundled(sc.hubs[0])
    return plan, time.perf_counter() - started


def main() -> None:
    """Run the quick solve, the reference solve, compare; print figures and one JSON line."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=30.0, help="budget of the measured run, all weekdays (s)")
    ap.add_argument("--reference-seconds", type=float, default=300.0, help="budget of the reference run (s)")
    ap.add_argument("--receivers", type=int, default=200)
    ap.add_argument("--suppliers", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    scenario = generated_scenario(args.receivers, args.suppliers, seed=args.seed)
    days = scenario.active_days()
    with tempfile.TemporaryDirectory() as tmp:
        register = Register.open(Path(tmp))
        load_before = os.getloadavg()
        # leave about 10 % of the budget for matrices, access decisions and bookkeeping
        quick, quick_s = run(scenario, register, 0.9 * args.seconds / len(days), args.seed)
        ref, ref_s = run(scenario, register, args.reference_seconds / len(days), args.seed + 1000)
        planner = Planner(scenario, AccessOracle(register), StraightLineMatrix(), time_limit_s=1.0)
        started = time.perf_counter()
        status_quo = planner.status_quo()
        sq_s = time.perf_counter() - started
        load_after = os.getloadavg()

    q_cost, r_cost = day_costs(quick), day_costs(ref)
    best = {d: min(q_cost[d], r_cost[d]) for d in q_cost}
    gaps = {d: 100 * (q_cost[d] - best[d]) / best[d] for d in q_cost}
    total_q, total_best, total_ref = sum(q_cost.values()), sum(best.values()), sum(r_cost.values())
    gap_total = 100 * (total_q - total_best) / total_best
    stops = {d.day: sum(r.drops for r in d.routes if r.role == "last_mile") for d in quick.days}

    print(f"scenario: {scenario.name}; {len(days)} weekdays; last-mile drops per day: {stops}")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (2 cores, shared: figures are noisy)")
    print(f"measured run:  {quick_s:6.1f} s wall, cost € {total_q:,.2f}, feasible {quick.feasible}")
    print(f"reference run: {ref_s:6.1f} s wall, cost € {total_ref:,.2f}, feasible {ref.feasible}")
    print(f"best found:    cost € {total_best:,.2f}; measured run is {gap_total:+.2f} % from it")
    for d in q_cost:
        print(f"  {d}: measured € {q_cost[d]:,.2f}  reference € {r_cost[d]:,.2f}  gap {gaps[d]:+.2f} %")
    print(f"status quo (for information): {sq_s:.1f} s wall, cost € {status_quo.totals().cost_eur:,.2f}")
    ok_time = quick_s <= args.seconds
    ok_gap = gap_total <= 2.0
    print(
        f"target <= {args.seconds:g} s: {'met' if ok_time else 'MISSED'}; "
        f"cost within 2 %: {'met' if ok_gap else 'MISSED'}"
    )
    result = {
        "benchmark": "bundling",
        "receivers": args.receivers,
        "suppliers": args.suppliers,
        "weekdays": len(days),
        "drops_per_day_median": statistics.median(stops.values()) if stops else 0,
        "seconds": round(quick_s, 2),
        "budget_seconds": args.seconds,
        "cost_eur": round(total_q, 2),
        "feasible": quick.feasible,
        "baseline_reference_seconds": round(ref_s, 2),
        "baseline_reference_cost_eur": round(total_ref, 2),
        "best_cost_eur": round(total_best, 2),
        "gap_pct": round(gap_total, 3),
        "gap_pct_per_day": {d: round(g, 3) for d, g in gaps.items()},
        "gap_pct_median_day": round(statistics.median(gaps.values()), 3),
        "status_quo_seconds": round(sq_s, 2),
        "status_quo_cost_eur": round(status_quo.totals().cost_eur, 2),
        "load_average": [round(load_before[0], 2), round(load_after[0], 2)],
        "target_time_met": ok_time,
        "target_gap_met": ok_gap,
    }
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
