"""Benchmark the rules engine on the embedded register and the synthetic vehicle register.

Prints:
- single ``decide`` latency (median, p90) for one vehicle at one zone (ZE Amsterdam) and at one place
  (the Dam, Amsterdam: 4 zones), with the register loaded, over random vehicles and moments 2025-2030;
- batch throughput of ``timeline_batch``: vehicle x zone timelines per second over 2025-01-01..2031-01-01
  for 100,000 vehicles x every zone of the register (>= 1,000,000 timelines);
- the baseline measured in the same run: a naive per-vehicle Python loop (``engine.timeline`` for each
  vehicle) on a sample, and the single path's uncompiled tree interpreter.

Targets (issue 2): single decide <= 100 us median; batch >= 1,000,000 timelines/s.
The last line is one JSON object with every figure and the baseline's. Machines are noisy: compare ratios.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from ruas.domain.conditions import evaluate
from ruas.domain.timeutil import local_midnight
from ruas.register.store import Register
from ruas.register.vehicle_table import frame_to_vehicles
from ruas.rules.batch import timeline_batch
from ruas.rules.engine import decide, timeline

DAM = (52.3731, 4.8926)
ZE_AMSTERDAM = "NDW11_64717e49-b364-4001-b6f9-14270d068764"
START = local_midnight(date(2025, 1, 1))
END = local_midnight(date(2031, 1, 1))


def _moments(n: int, rng: random.Random) -> list[datetime]:
    span = int((END - START).total_seconds() // 60)
    return [START + timedelta(minutes=rng.randrange(span)) for _ in range(n)]


def _latencies(fn, items) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for item in items:
        t = time.perf_counter_ns()
        fn(*item)
        out.append((time.perf_counter_ns() - t) / 1000)
    return out


def _stats(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    return {
        "median_us": round(statistics.median(values), 2),
        "p90_us": round(values[int(len(values) * 0.9)], 2),
    }


def main() -> None:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        register = Register.open(Path(tmp))
        book = register.book
        frame = register.vehicles
        load_s = time.perf_counter() - t0
        zones = [z.id for z in book.zones]
        place = register.zones_at_point(*DAM)
        sample = frame.sample(n=5000, seed=11)
        vehicles = frame_to_vehicles(sample)
        moments = _moments(len(vehicles), rng)

        # warm-up
        for v, at in zip(vehicles[:200], moments[:200], strict=True):
            decide(book, v, place, at=at)

        one_zone = _latencies(lambda v, at: decide(book, v, [ZE_AMSTERDAM], at=at), zip(vehicles, moments, strict=True))
        at_place = _latencies(lambda v, at: decide(book, v, place, at=at), zip(vehicles, moments, strict=True))
        lookup = _latencies(lambda: register.zones_at_point(*DAM), [()] * len(vehicles))
        with_lookup = _latencies(
            lambda v, at: decide(book, v, register.zones_at_point(*DAM), at=at), zip(vehicles, moments, strict=True)
        )

        # baseline for the single path: interpret the uncompiled trees (no closures, no next-change search)
        trees = [r.condition() for zid in place for r in book.zone(zid).regulations]
        interpreted = _latencies(lambda v, at: [evaluate(t, v, at) for t in trees], zip(vehicles, moments, strict=True))

        # batch: every vehicle x every zone
        runs = []
        for _ in range(3):
            t = time.perf_counter()
            segments = timeline_batch(book, frame, zones, start=START, end=END)
            runs.append(time.perf_counter() - t)
        batch_s = statistics.median(runs)
        timelines = frame.height * len(zones)

        # baseline: naive per-vehicle Python loop over the single path
        naive_vehicles = vehicles[:300]
        t = time.perf_counter()
        for v in naive_vehicles:
            timeline(book, v, zones, start=START, end=END)
        naive_s = time.perf_counter() - t
        naive_rate = len(naive_vehicles) * len(zones) / naive_s

    figures = {
        "register_load_s": round(load_s, 3),
        "zones": len(zones),
        "zones_at_place": len(place),
        "decide_one_zone": _stats(one_zone),
        "decide_place": _stats(at_place),
        "point_lookup": _stats(lookup),
        "decide_place_with_point_lookup": _stats(with_lookup),
        "batch_vehicles": frame.height,
        "batch_timelines": timelines,
        "batch_segments": segments.height,
        "batch_seconds_median": round(batch_s, 3),
        "batch_timelines_per_s": round(timelines / batch_s),
        "targets": {"decide_median_us": 100, "batch_timelines_per_s": 1_000_000},
    }
    baseline = {
        "naive_loop_timelines_per_s": round(naive_rate),
        "naive_loop_vehicles": len(naive_vehicles),
        "interpreted_trees_place": _stats(interpreted),
    }
    ratios = {
        "batch_vs_naive_loop": round(figures["batch_timelines_per_s"] / naive_rate, 1),
        "decide_one_zone_vs_target": round(figures["decide_one_zone"]["median_us"] / 100, 2),
        "decide_place_vs_target": round(figures["decide_place"]["median_us"] / 100, 2),
        "batch_vs_target": round(figures["batch_timelines_per_s"] / 1_000_000, 2),
    }
    print(f"register loaded in {load_s:.2f} s: {len(zones)} zones, {frame.height:,} vehicles")
    print(
        f"decide, one zone (ZE Amsterdam): median {figures['decide_one_zone']['median_us']} us, "
        f"p90 {figures['decide_one_zone']['p90_us']} us"
    )
    print(
        f"decide, one place ({len(place)} zones at the Dam): median {figures['decide_place']['median_us']} us "
        f"(point lookup alone {figures['point_lookup']['median_us']} us; "
        f"lookup + decide {figures['decide_place_with_point_lookup']['median_us']} us)"
    )
    print(
        f"  baseline: interpreting the place's trees once: median {baseline['interpreted_trees_place']['median_us']} us"
    )
    print(
        f"batch timelines: {timelines:,} in {batch_s:.2f} s = {figures['batch_timelines_per_s']:,}/s "
        f"(naive per-vehicle loop: {round(naive_rate):,}/s; x{ratios['batch_vs_naive_loop']})"
    )
    sys.stdout.write(json.dumps({"figures": figures, "baseline": baseline, "ratios": ratios}) + "\n")


if __name__ == "__main__":
    main()
