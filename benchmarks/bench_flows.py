"""Benchmark of the flows: dashboard queries over a year of (SYNTHETIC) cube data, and a simulation over four weeks.

    python benchmarks/bench_flows.py [--days 28] [--passages 20000] [--repeat 15]

1. A fresh seeded register in a temporary directory; ``--days`` days of SYNTHETIC camera passages evaluated by the
   real enforcement pipeline (records and aggregates), the flows cube refreshed from them, then the cube extended
   backwards to a full year (``ruas.flows.synthetic.extend_cube``).
2. Dashboard queries (DuckDB over the cube, suppression included): the year per month, the last four weeks per
   day, one zone per week, the last week. p50/p95 over ``--repeat`` runs each. Baseline in the same run: the same
   totals computed naively (every cube file read with Polars, concatenated, filtered and grouped in Python).
3. Simulation: ZE Amsterdam with a draft weight limit, replayed over the ``--days`` days of records. Baseline: the
   single-decision engine (``ruas.rules.engine.zone_decision``) on a sample of the same passages, per passage.

The machine has 2 cores shared with other jobs: figures are noisy. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from ruas.domain.timeutil import LOCAL_TZ
from ruas.flows.cube import FlowsData
from ruas.flows.queries import FlowFilter, dashboard
from ruas.flows.simulate import Scenario, camera_points, simulate
from ruas.flows.synthetic import extend_cube, generate
from ruas.register.store import Register
from ruas.register.vehicle_table import frame_to_vehicles
from ruas.rules.engine import zone_decision

ZE_AMS = "NDW11_64717e49-b364-4001-b6f9-14270d068764"
END = date(2025, 10, 1)


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def naive_totals(data: FlowsData, flt: FlowFilter) -> dict[str, int]:
    """The baseline: every cube file read eagerly, filtered and grouped in Python (value -> passages)."""
    frames = []
    for path in sorted(data.cube_dir.glob("day=*/part-0.parquet")):
        day = date.fromisoformat(path.parent.name.removeprefix("day="))
        if flt.start <= day < flt.end:
            frames.append(pl.read_parquet(path))
    f = pl.concat(frames)
    if flt.zones:
        f = f.filter(pl.col("zone_id").is_in(list(flt.zones)))
    out: dict[str, int] = {}
    for dim, value, p in f.select("dimension", "value", "passages").iter_rows():
        key = f"{dim}:{value}"
        out[key] = out.get(key, 0) + int(p)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--passages", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-flows-") as tmp:
        register = Register.open(Path(tmp) / "data")
        t0 = time.perf_counter()
        days = [END - timedelta(days=i + 1) for i in range(args.days)]
        made = generate(register, days, args.passages, seed=3)
        t_gen = time.perf_counter() - t0
        data = FlowsData(register.path)
        t0 = time.perf_counter()
        copied = extend_cube(data, END - timedelta(days=365), END, seed=3)
        t_extend = time.perf_counter() - t0
        rows = sum(pl.read_parquet(p).height for p in data.cube_dir.glob("day=*/part-0.parquet"))
        print(f"SYNTHETIC: {made.passages:,} passages on {len(made.days)} days through the pipeline in {t_gen:.1f} s; "
              f"cube extended by {copied} days ({rows:,} cube rows) in {t_extend:.1f} s")  # fmt: skip

        filters = {
            "year_by_month": FlowFilter(END - timedelta(days=365), END, granularity="month"),
            "4_weeks_by_day": FlowFilter(END - timedelta(days=28), END),
            "zone_year_by_week": FlowFilter(END - timedelta(days=365), END, zones=(ZE_AMS,), granularity="week"),
            "last_week": FlowFilter(END - timedelta(days=7), END),
        }
        figures: dict[str, Any] = {}
        baseline: dict[str, Any] = {}
        all_ms: list[float] = []
        for name, flt in filters.items():
            times, naive = [], []
            view = dashboard(data, flt, min_vehicles=1)
            check = naive_totals(data, flt)
            g = view.grid("vehicle_class")
            assert g.col_totals is not None
            for j, v in enumerate(g.cols):
                assert g.col_totals[j].passages == check[f"vehicle_class:{v}"], (name, v)
            for _ in range(args.repeat):
                t = time.perf_counter()
                dashboard(data, flt)
                times.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                naive_totals(data, flt)
                naive.append((time.perf_counter() - t) * 1000)
            all_ms += times
            figures[name] = {"p50_ms": round(pct(times, 0.5), 1), "p95_ms": round(pct(times, 0.95), 1)}
            baseline[name] = {"p50_ms": round(pct(naive, 0.5), 1), "p95_ms": round(pct(naive, 0.95), 1)}
            print(f"dashboard {name:>18}: p50 {figures[name]['p50_ms']:7.1f} ms  p95 {figures[name]['p95_ms']:7.1f} ms"
                  f"   | naive totals only: p50 {baseline[name]['p50_ms']:7.1f} ms")  # fmt: skip
        overall = {"p50_ms": round(pct(all_ms, 0.5), 1), "p95_ms": round(pct(all_ms, 0.95), 1)}
        print(f"dashboard, all queries: p50 {overall['p50_ms']} ms, p95 {overall['p95_ms']} ms (target p95 <= 500 ms)")

        record = next(r for r in register.records if r["id"] == ZE_AMS)
        draft = json.loads(json.dumps(record))
        draft["regulations"].append(
            {"custom": {
                "id": "bench-draft/over-7.5t", "name": "draft weight limit", "kind": "vehicle_restriction",
                "subject_label": "goods vehicles over 7,500 kg",
                "subject": {"all": [{"field": "category_group", "op": "eq", "value": "N"},
                                    {"field": "max_mass_kg", "op": "gt", "value": 7500}]},
                "legal_source": {"citation": "benchmark draft"}, "exemption_types": ["ams-ontheffing-zwaar"],
            }}
        )  # fmt: skip
        cams = camera_points(register.store.engine)
        scenario = Scenario(ZE_AMS, draft, min(days), END)
        sims = []
        for _ in range(3):
            t = time.perf_counter()
            sim = simulate(register, data, scenario, cameras=cams)
            sims.append(time.perf_counter() - t)
        n = sim.passages.height
        out = sim.to_data()
        nv = sim.passages.get_column("pseudonym").n_unique()
        print(f"simulation over {args.days} days: {n:,} passages of {nv:,} "
              f"vehicles; median {statistics.median(sims):.2f} s (target <= 10 s); newly refused: "
              f"{out['newly_refused']}; fidelity {sim.fidelity}")  # fmt: skip

        # baseline: the single-decision engine per passage, on a sample (register vehicles at the same moments)
        sample = sim.passages.head(2000)
        book = register.book
        zone = book.zone(ZE_AMS)
        vehicles = frame_to_vehicles(register.vehicles.head(2000))
        ats = sample.get_column("at").to_list()
        t = time.perf_counter()
        for v, at in zip(vehicles, ats, strict=False):
            zone_decision(book, zone, v, at=at.astimezone(LOCAL_TZ))
        per = (time.perf_counter() - t) / min(len(vehicles), len(ats))
        print(
            f"baseline: single-decision engine {per * 1e6:.0f} µs a passage -> {per * n * 2:.1f} s for both rule sets"
        )
        print(json.dumps({
            "bench": "flows",
            "pipeline_days": args.days, "passages_per_day": args.passages, "cube_days": 365, "cube_rows": rows,
            "dashboard": figures, "dashboard_overall": overall,
            "simulation_s": round(statistics.median(sims), 3), "simulation_passages": n,
            "baseline": {"dashboard_naive_totals": baseline,
                         "simulation_single_engine_s": round(per * n * 2, 1),
                         "single_engine_us_per_passage": round(per * 1e6, 1)},
        }))  # fmt: skip


if __name__ == "__main__":
    main()
