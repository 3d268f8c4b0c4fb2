"""Benchmark the open-data export of the full national register.

The register: every zone of the embedded NDW feed (all 42) plus the region's own zones and
regulations (S100 heavy-vehicle rules, delivery windows, announced zones). Measured, as medians of
repeated runs (seconds):

- ``export``: all four published files - DATEX II ControlledZone (NDW profile), DATEX II
  TrafficRegulation, GeoJSON, OSM tags - from the records (target: <= 1 s);
- each file on its own;
- the baseline, in the same run: parsing the NDW DATEX II file (``parse_ndw`` of the 720 kB feed),
  i.e. what reading the same data costs. The ratio export / parse says how the writer compares.

The last line is one JSON object with every figure and the baseline's. The machine is shared and
noisy: compare the ratio, not the absolute figures.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from importlib import resources

from ruas.opendata.geojson import dumps, geojson_bytes
from ruas.opendata.ndw_profile import controlled_zone_xml
from ruas.opendata.osm import osm_document
from ruas.opendata.snapshot import national_records, records_snapshot
from ruas.opendata.traffic_regulation import traffic_regulation_xml
from ruas.register.store import EMBEDDED_NDW
from ruas.sources.ndw import parse_ndw

RUNS = 9


def _median(fn: Callable[[], object], runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    records = national_records()
    snapshot = records_snapshot(records)
    ndw_bytes = resources.files("ruas").joinpath(EMBEDDED_NDW).read_bytes()
    files: dict[str, Callable[[], bytes]] = {
        "datex_controlled_zones": lambda: controlled_zone_xml(snapshot),
        "datex_traffic_regulations": lambda: traffic_regulation_xml(snapshot),
        "geojson": lambda: geojson_bytes(snapshot),
        "osm_tags": lambda: dumps(osm_document(snapshot)),
    }
    sizes = {name: len(fn()) for name, fn in files.items()}  # warm-up and sizes

    def export_all() -> None:
        for fn in files.values():
            fn()

    baseline = _median(lambda: parse_ndw(ndw_bytes, source_name="bench"))
    total = _median(export_all)
    each = {name: _median(fn) for name, fn in files.items()}
    zones = len(records)
    regulations = sum(len(r.get("regulations", ())) for r in records)
    ndw = sum(1 for r in records if r.get("source", {}).get("kind") == "ndw")
    print(f"national register: {zones} zones ({ndw} NDW), {regulations} regulation entries")
    for name, value in each.items():
        print(f"  {name:28s} {value * 1000:8.1f} ms  {sizes[name]:>9,} bytes")
    print(f"export of all four files     {total * 1000:8.1f} ms  (target <= 1000 ms) median of {RUNS}")
    print(f"baseline: parse NDW feed     {baseline * 1000:8.1f} ms  ratio export/parse = {total / baseline:.2f}")
    print(
        json.dumps(
            {
                "bench": "export",
                "zones": zones,
                "export_all_s": round(total, 4),
                "files_s": {k: round(v, 4) for k, v in each.items()},
                "bytes": sizes,
                "baseline_parse_ndw_s": round(baseline, 4),
                "ratio_export_to_parse": round(total / baseline, 3),
                "target_s": 1.0,
                "runs": RUNS,
            }
        )
    )


if __name__ == "__main__":
    main()
