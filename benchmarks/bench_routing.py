"""Routing benchmark: point-to-point queries with every restriction on a generated ~1,000,000-edge network.

- Network: ``ruas.routing.generate.generate_grid(512)`` (synthetic, seeded) laid over Amsterdam, so the real
  register's zones (ZE, LEZ, milieuzone, S100 heavy-vehicle area, a delivery-window area) are tagged on it,
  plus OSM-style weight/height/width/length limits, ``hgv=no``/``destination`` and conditional windows.
- Vehicle classes: van (N1 3 t diesel 6), 12 t rigid (N2 diesel 6), 40 t combination (N3 tractor, 16.5 m, 4 m).
- Ours: time-dependent A* with ALT landmarks, the engine deciding each edge signature at its arrival time.
  Preprocessing per vehicle class (reported): 16 landmarks (planar selection) on the class's graph without the
  edge signatures the engine closes to it over the whole horizon (tag classes and zones such as the S100 area).
  Random origin/destination pairs, departures spread over a weekday.
- Baseline in the same run: SciPy ``csgraph.dijkstra`` (C) from the same sources on the same graph, free-flow,
  no restrictions (it cannot do time-dependent windows), single source to all nodes.
- Import time of the real OSM extracts (``RUAS_BENCH_OSM`` directory, default ``/work/shared/data``).

Figures are medians/percentiles of wall-clock times on a shared, noisy 2-core machine. The last line is JSON.

    python benchmarks/bench_routing.py [--queries 200] [--size 512]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from ruas.domain.timeutil import LOCAL_TZ
from ruas.domain.vehicle import Body, Category, EmissionClass, Fuel, Vehicle
from ruas.register.store import Register
from ruas.routing.generate import generate_grid
from ruas.routing.osm import import_osm
from ruas.routing.service import Router

CLASSES = {
    "van": Vehicle(Category.N1, Body.VAN, frozenset({Fuel.DIESEL}), EmissionClass.E6, date(2020, 3, 1), 3000,
                   length_m=5.5, width_m=2.0, height_m=2.6, axle_load_kg=1800),
    "rigid_12t": Vehicle(Category.N2, Body.RIGID, frozenset({Fuel.DIESEL}), EmissionClass.E6, date(2021, 5, 1), 12000,
                         length_m=9.0, width_m=2.55, height_m=3.6, axle_load_kg=8000),
    "combination_40t": Vehicle(Category.N3, Body.TRACTOR, frozenset({Fuel.DIESEL}), EmissionClass.E6,
                               date(2019, 6, 1), 40000, length_m=16.5, width_m=2.55, height_m=4.0,
                               axle_load_kg=11500),
}  # fmt: skip


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--queries", type=int, default=200, help="queries per vehicle class")
    ap.add_argument("--baseline", type=int, default=30, help="SciPy single-source runs")
    ap.add_argument("--size", type=int, default=512, help="grid side (512: about 1,000,000 edges)")
    args = ap.parse_args()

    t0 = time.perf_counter()
    graph = generate_grid(args.size)
    gen_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        register = Register.open(Path(tmp))
        book = register.book
        t0 = time.perf_counter()
        router = Router.build(graph, book)
        tag_s = time.perf_counter() - t0
    net = router.network
    print(f"network: {graph.node_count:,} nodes, {graph.edge_count:,} edges (generated in {gen_s:.1f} s)")
    print(f"register zones tagged on the graph once: {tag_s:.2f} s, {len(net.signatures)} edge signatures")

    rng = random.Random(42)
    n = graph.node_count
    routable = np.flatnonzero(graph.routable_nodes())
    pairs = [(int(rng.choice(routable)), int(rng.choice(routable))) for _ in range(args.queries)]
    monday = datetime(2025, 9, 1, 6, 0, tzinfo=LOCAL_TZ)
    departs = [monday + timedelta(minutes=rng.randrange(0, 14 * 60)) for _ in pairs]

    results: dict[str, Any] = {}
    for name, vehicle in CLASSES.items():
        t0 = time.perf_counter()
        lm = router.prepare(vehicle, monday)  # class landmarks (+ the explanation's truck set, once)
        prep_s = time.perf_counter() - t0
        closed = router.closed_tagclasses(vehicle)
        times: list[float] = []
        settled: list[int] = []
        found = 0
        waits = 0
        for (s, t), dep in zip(pairs, departs, strict=True):
            pts = [(float(graph.lat[s]), float(graph.lon[s])), (float(graph.lat[t]), float(graph.lon[t]))]
            t1 = time.perf_counter()
            res = router.route(vehicle, pts, dep, explain=False)
            times.append((time.perf_counter() - t1) * 1000)
            settled.append(res.settled)
            found += res.found
            waits += bool(res.waits)
        explained: list[float] = []
        for (s, t), dep in list(zip(pairs, departs, strict=True))[:20]:
            pts = [(float(graph.lat[s]), float(graph.lon[s])), (float(graph.lat[t]), float(graph.lon[t]))]
            t1 = time.perf_counter()
            router.route(vehicle, pts, dep, explain=True)
            explained.append((time.perf_counter() - t1) * 1000)
        results[name] = {
            "p50_ms": round(statistics.median(times), 2),
            "p95_ms": round(pct(times, 95), 2),
            "mean_ms": round(statistics.fmean(times), 2),
            "settled_p50": int(statistics.median(settled)),
            "found": found,
            "with_wait": waits,
            "preprocessing_s": round(prep_s, 2),
            "class_landmarks_s": round(lm.seconds, 2),
            "closed_tag_classes": len(closed),
            "signatures_left_out": len(lm.removed),
            "landmarks": len(lm.nodes),
            "p50_with_explanation_ms": round(statistics.median(explained), 2),
        }
        r = results[name]
        print(
            f"{name:16s} p50 {r['p50_ms']:7.2f} ms  p95 {r['p95_ms']:7.2f} ms  (settled p50 {r['settled_p50']:,}; "
            f"found {found}/{len(pairs)}; preprocessing {r['preprocessing_s']} s, "
            f"{len(lm.removed)} signatures left out; with explanation p50 "
            f"{r['p50_with_explanation_ms']} ms)"
        )

    # baseline: SciPy csgraph Dijkstra (C), same graph, free-flow, no restrictions, one source to all nodes
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    w = graph.time_ms().astype(np.float64)
    mat = csr_matrix((w, (graph.tail, graph.head)), shape=(n, n))
    base: list[float] = []
    for s, _t in pairs[: args.baseline]:
        t1 = time.perf_counter()
        dijkstra(mat, directed=True, indices=s)
        base.append((time.perf_counter() - t1) * 1000)
    base_p50 = statistics.median(base)
    print(f"SciPy csgraph dijkstra (no restrictions, C): p50 {base_p50:.2f} ms  p95 {pct(base, 95):.2f} ms")
    for name, r in results.items():
        r["ratio_p50_vs_scipy"] = round(r["p50_ms"] / base_p50, 3)
        print(f"  {name}: p50 / SciPy p50 = {r['ratio_p50_vs_scipy']}")

    # import time of the real extracts
    imports: dict[str, Any] = {}
    root = Path(os.environ.get("RUAS_BENCH_OSM", "/work/shared/data"))
    for rel in ("osm/amsterdam_oost_valhalla_testextract.osm.pbf", "roads/delft_region_dsol_2025.osm.pbf"):
        path = root / rel
        if not path.exists():
            continue
        t1 = time.perf_counter()
        g = import_osm(path)
        dt = time.perf_counter() - t1
        imports[path.name] = {"seconds": round(dt, 3), "nodes": g.node_count, "edges": g.edge_count}
        print(f"import {path.name}: {dt:.3f} s ({g.node_count:,} nodes, {g.edge_count:,} edges)")
    print(
        json.dumps(
            {
                "benchmark": "routing",
                "nodes": n,
                "edges": graph.edge_count,
                "queries_per_class": len(pairs),
                "zone_tagging_s": round(tag_s, 2),
                "classes": results,
                "baseline_scipy_dijkstra": {"p50_ms": round(base_p50, 2), "p95_ms": round(pct(base, 95), 2)},
                "imports": imports,
                "note": "shared 2-core machine, other jobs running: figures are noisy",
            }
        )
    )


if __name__ == "__main__":
    main()
