"""Benchmark the camera-enforcement back-office end to end, next to a hand-written DuckDB query.

Setup (not timed): a fresh data directory with the 100,000-vehicle SYNTHETIC register
(``ruas.sources.synthetic.generate_register``, seeded), SYNTHETIC cameras on the real zone boundaries,
``--passages`` SYNTHETIC passages (default 10,000,000) spread over ``--days`` working days of November 2025
(ZE Haarlem is then still in its warning period), 1,000 granted day exemptions for vehicles that violate,
and the passages ingested into the partitioned inbox.

Timed:
- **RUAS** ``ruas.enforcement.pipeline.run``: read the inbox Parquet -> classify (foreign, low confidence,
  unknown) -> decide every (passage, zone) with ``decide_indexed`` (vectorised rules engine, held exemptions)
  -> sanctions (warning period, one per vehicle/zone/day, fines by class) upserted in the database ->
  de-identified records (HMAC pseudonyms), aggregates, evidence and review queue written as Parquet, all
  committed atomically;
- **baseline** the same outcomes by one hand-written DuckDB SQL script over the same Parquet inbox (the
  rules of the zones with cameras written out as SQL: ZE framework with its transition rules and
  vrijstellingen, the milieuzones, the S100 restrictions, the day exemptions), materialising per-passage
  outcomes, sanctions and aggregates as DuckDB tables. It writes no files and no database rows, so it does
  less work than RUAS; both results are compared (outcome counts per zone, sanctions by kind) and must agree.

Figures: passages/s for both, their ratio, peak resident memory of each phase (sampled from /proc every
20 ms), and the median over ``--repeat`` runs of the DuckDB query. The machine has 2 cores shared with other
work: figures are noisy. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl

from ruas.enforcement.cameras import save_cameras
from ruas.enforcement.passages import ingest, normalise
from ruas.enforcement.pipeline import Context, run
from ruas.enforcement.storage import Store
from ruas.enforcement.synthetic import synthetic_cameras, synthetic_passages
from ruas.register.store import Register
from ruas.services.accounts import create_user
from ruas.services.desk import day_validity
from ruas.store.db import session_scope
from ruas.store.models import Application

FIRST_DAY = date(2025, 11, 24)  # Monday; ZE Haarlem (from 2025-06-01) warns until 2025-11-30
NOW = datetime(2025, 12, 1, 7, 0, tzinfo=UTC)


class PeakRss:
    """Samples the resident set size of this process every 20 ms; ``peak`` in MiB."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    @staticmethod
    def rss() -> float:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            time.sleep(0.02)

    def __enter__(self) -> PeakRss:
        self.peak = self.rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())


SQL = r"""
CREATE OR REPLACE TABLE passages AS
SELECT camera_id, "at" AS ts, plate, confidence, country, day::DATE AS day
FROM read_parquet('{inbox}/**/*.parquet', hive_partitioning = true);

CREATE OR REPLACE TABLE decided AS
WITH pz AS (
  SELECT p.*, c.zone_id, c.municipality, c.authority
  FROM passages p JOIN cams c USING (camera_id)
), pv AS (
  SELECT pz.*, v.category, v.body, v.fuels, v.emission_class AS ec, v.first_admission AS det, v.max_mass_kg AS mass,
         v.length_m, v.body_codes, v.special_purpose AS sp, v.special_codes AS sc, v.usage, v.holder,
         v.plate IS NOT NULL AS known,
         CASE v.emission_class WHEN 'Z' THEN 7 ELSE TRY_CAST(v.emission_class AS INTEGER) END AS rank,
         year(pz.day) - year(v.first_admission)
           - CASE WHEN month(pz.day) * 100 + day(pz.day) < month(v.first_admission) * 100 + day(v.first_admission)
                  THEN 1 ELSE 0 END AS age
  FROM pz LEFT JOIN veh v ON v.plate = pz.plate
), r AS (
  SELECT pv.*,
    category IN ('N1', 'N2', 'N3') AS goods,
    category = 'M1' OR (category IN ('N1', 'N2', 'N3') AND mass <= 3500) AS light,
    category IN ('M2', 'M3') OR (category IN ('N1', 'N2', 'N3') AND mass > 3500) AS heavy
  FROM pv
), s AS (
  SELECT r.*,
    -- ZE framework (RVV 86c-86e): subject and clauses (transition rules, vrijstellingen)
    goods AND ec <> 'Z' AS ze_subject,
    (mass <= 3500 AND ec = '5' AND det < DATE '2025-01-01' AND ts < TIMESTAMPTZ '2026-12-31 23:00:00+00')
    OR (mass <= 3500 AND ec = '6' AND det < DATE '2025-01-01' AND ts < TIMESTAMPTZ '2027-12-31 23:00:00+00')
    OR (mass > 3500 AND body = 'tractor' AND ec = '6' AND det >= DATE '2017-01-01' AND det < DATE '2025-01-01'
        AND ts < TIMESTAMPTZ '2029-12-31 23:00:00+00')
    OR (mass > 3500 AND body <> 'tractor' AND ec = '6' AND det >= DATE '2020-01-01' AND det < DATE '2025-01-01'
        AND ts < TIMESTAMPTZ '2029-12-31 23:00:00+00')
    OR (mass > 3500 AND body <> 'tractor' AND ec = '6' AND det >= DATE '2017-01-01' AND det < DATE '2020-01-01'
        AND ts < TIMESTAMPTZ '2027-12-31 23:00:00+00')
    OR (age >= 40 AND ts < TIMESTAMPTZ '2029-12-31 23:00:00+00')
    OR (mass <= 3500 AND (list_contains(sp, 'SH') OR list_has_any(sc, ['145', '146', '147', '149']))
        AND ts < TIMESTAMPTZ '2029-12-31 23:00:00+00')
    OR (mass > 3500 AND (list_has_any(body_codes, ['15', '16', '19', '23', '26', '27', '31'])
        OR list_has_any(sp, ['SB', 'SF'])) AND age < 13 AND ts < TIMESTAMPTZ '2029-12-31 23:00:00+00')
      AS ze_exempt,
    -- milieuzones (Stb. 2019, 398): diesel below the zone's class; vrijstellingen
    list_contains(fuels, 'diesel') AND (
      (light AND rank < CASE zone_id WHEN '{lez_ams}' THEN 4 WHEN '{mz_ams}' THEN 5 ELSE 0 END)
      OR (heavy AND rank < 6)) AS mz_subject,
    age >= 40 OR (list_contains(sp, 'SA') AND list_contains(holder, 'permanent_resident'))
      OR (list_has_any(sp, ['SB', 'SF']) AND age < 13) OR list_contains(sp, 'SH')
      OR (zone_id = '{lez_ams}' AND list_contains(usage, 'taxi') AND det >= DATE '2009-01-01') AS mz_exempt,
    EXISTS (SELECT 1 FROM grants g WHERE g.plate = r.plate AND g.valid_from <= r.ts AND r.ts < g.valid_until
            AND g.municipality = r.authority) AS ze_granted
  FROM r
)
SELECT camera_id, ts, plate, day, zone_id, municipality,
  CASE WHEN category IN ('N1', 'N2', 'N3') AND mass <= 3500 THEN 'van'
       WHEN category IN ('N1', 'N2', 'N3') THEN 'truck'
       WHEN category = 'M1' THEN 'car' WHEN category IN ('M2', 'M3') THEN 'bus'
       WHEN category = 'L' THEN 'motorcycle' WHEN known THEN 'other' ELSE 'unknown' END AS vehicle_class,
  array_to_string(fuels, '+') AS fuel, ec AS emission_class,
  hour(timezone('Europe/Amsterdam', ts)) AS hour,
  CASE
    WHEN country IS NOT NULL AND country <> 'NL' THEN 'not_enforceable'
    WHEN confidence < 0.8 THEN 'not_enforceable'
    WHEN NOT known THEN 'not_enforceable'
    WHEN zone_id IN ('{ze_ams}', '{ze_hlm}') AND ze_subject AND NOT ze_exempt AND NOT ze_granted THEN 'violation'
    WHEN zone_id IN ('{ze_ams}', '{ze_hlm}') AND ze_subject THEN 'exempt'
    WHEN zone_id IN ('{lez_ams}', '{mz_ams}', '{lez_hlm}') AND mz_subject AND NOT mz_exempt THEN 'violation'
    WHEN zone_id IN ('{lez_ams}', '{mz_ams}', '{lez_hlm}') AND mz_subject THEN 'exempt'
    WHEN zone_id = 'ams-s100-heavy' AND ((category LIKE 'N%' AND mass > 7500) OR mass > 30000 OR length_m > 10)
      THEN 'violation'
    ELSE 'compliant'
  END AS outcome,
  CASE WHEN zone_id = 'ams-s100-heavy' THEN
         CASE WHEN category LIKE 'N%' AND mass > 7500 THEN 'ams-s100-heavy/over-7.5t'
              WHEN mass > 30000 THEN 'ams-s100-heavy/over-30t' ELSE 'ams-s100-heavy/length-10m' END
       WHEN zone_id IN ('{ze_ams}', '{ze_hlm}') THEN zone_id || '/ze' ELSE zone_id || '/milieuzone' END AS regulation_id
FROM s;

CREATE OR REPLACE TABLE sanctions AS
SELECT plate, zone_id, day, min(ts) AS first_at, count(*) AS passages, any_value(vehicle_class) AS vehicle_class,
  CASE WHEN zone_id = '{ze_hlm}' AND day < DATE '2025-12-01' THEN 'warning'
       WHEN zone_id IN ('{ze_ams}', '{mz_ams}') AND day < DATE '2025-07-01' THEN 'warning'
       ELSE 'fine' END AS kind
FROM decided WHERE outcome = 'violation' GROUP BY plate, zone_id, day;

UPDATE sanctions SET vehicle_class = vehicle_class;
CREATE OR REPLACE TABLE sanction_amounts AS
SELECT *, CASE WHEN kind = 'fine' THEN CASE vehicle_class WHEN 'van' THEN 120 WHEN 'truck' THEN 310 END END AS amount
FROM sanctions;

CREATE OR REPLACE TABLE aggregates AS
SELECT day, municipality, zone_id, hour, vehicle_class, fuel, emission_class, outcome, count(*) AS passages
FROM decided GROUP BY ALL;
"""


def setup(data_dir: Path, n: int, days: int, seed: int) -> tuple[Context, dict[str, str]]:
    register = Register.open(data_dir)
    book, vehicles = register.book, register.vehicles
    cams = synthetic_cameras(book)
    with session_scope(register.store.engine) as s:
        save_cameras(s, cams, NOW)
    store = Store(data_dir)
    ctx = Context(register, store)
    per_day = n // days
    violators: list[str] = []
    for i in range(days):
        day = FIRST_DAY + timedelta(days=i)
        batch = synthetic_passages(
            book, vehicles, cams, day, per_day + (n - per_day * days if i == 0 else 0), seed=seed + i
        )
        with session_scope(register.store.engine) as s:
            ingest(store, s, normalise(batch.drop("synthetic")), now=NOW)
        if i == 0:
            violators = batch.get_column("plate").unique(maintain_order=True).head(1000).to_list()
    # 1,000 granted ZE day exemptions (Amsterdam) for the first day
    with session_scope(register.store.engine) as s:
        user = create_user(
            s, username="bench-carrier", password="bench-password-1", role="applicant", now=NOW, kvk="12345678"
        )
        v = day_validity(FIRST_DAY)
        for i, plate in enumerate(violators):
            s.add(
                Application(
                    id=f"bench-{i}", applicant_id=user.id, kvk="12345678", type_id="ze-dagontheffing", plate=plate,
                    municipality="GM0363", zones=[], valid_from=v.start, valid_until=v.end, window=None,
                    status="granted", eligibility=[], details={}, fee_eur=30.0, payment_status="due",
                    motivation="", decided_by="ruas-desk", decided_at=NOW, created_at=NOW, row_version=1,
                )
            )  # fmt: skip
    ids = {z.name: z.id for z in book.zones}
    return ctx, {
        "ze_ams": ids["ZE Amsterdam"],
        "ze_hlm": ids["ZE Haarlem"],
        "lez_ams": ids["LEZ Amsterdam"],
        "mz_ams": ids["Milieuzone Amsterdam"],
        "lez_hlm": ids["LEZ Haarlem"],
    }


def duckdb_baseline(ctx: Context, zones: dict[str, str], inbox: Path) -> tuple[float, duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    veh = ctx.register.vehicles
    with session_scope(ctx.engine) as s:
        from ruas.enforcement.cameras import load_cameras

        cams = load_cameras(s)
        grants = s.query(Application).filter(Application.status == "granted").all()
        g = pl.DataFrame(
            {
                "plate": [a.plate for a in grants],
                "valid_from": [a.valid_from for a in grants],
                "valid_until": [a.valid_until for a in grants],
                "municipality": [a.municipality for a in grants],
            },
            schema={
                "plate": pl.Utf8,
                "valid_from": pl.Datetime("us", "UTC"),
                "valid_until": pl.Datetime("us", "UTC"),
                "municipality": pl.Utf8,
            },
        )
    book = ctx.register.book
    c = pl.DataFrame(
        [(cam.id, z, cam.municipality, book.zone(z).authority) for cam in cams for z in cam.zones],
        schema=["camera_id", "zone_id", "municipality", "authority"],
        orient="row",
    )
    side = inbox.parent / "duckdb-inputs"
    side.mkdir(exist_ok=True)
    for name, frame in (("veh", veh), ("cams", c), ("grants", g)):
        frame.write_parquet(side / f"{name}.parquet")
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet('{side / name}.parquet')")
    con.execute("SET TimeZone = 'UTC'")
    sql = SQL.format(inbox=inbox, **zones)
    t = time.perf_counter()
    con.execute(sql)
    return time.perf_counter() - t, con


def ruas_in_memory(ctx: Context) -> dict[str, int]:
    """RUAS without writing anything: the inbox read, evaluated, sanctions planned, aggregates counted."""
    import numpy as np

    from ruas.enforcement.pipeline import (
        OUTCOMES,
        VIOLATION_COLUMNS,
        _aggregate_codes,
        _aggregate_frame,
        _evaluate,
        _inputs,
        plan_sanctions,
    )
    from ruas.enforcement.policy import PolicyBook
    from ruas.enforcement.privacy import month_keys, month_of

    days = ctx.store.days("inbox")
    passages = _inputs(ctx.store, days)
    with session_scope(ctx.engine) as s:
        keys = month_keys(s, {month_of(d) for d in days}, NOW)
        policies = PolicyBook.load(s)
    core = _evaluate(ctx, passages, keys=keys, by_partition=True)
    violations = core.subset(
        np.nonzero(core.outcome == OUTCOMES.index("violation"))[0], [*VIOLATION_COLUMNS, "day", "municipality"]
    )
    plan_sanctions(violations, ctx.register.zones, policies)
    group, kinds, n_groups = _aggregate_codes(core)
    agg = _aggregate_frame(np.bincount(group, minlength=n_groups), core, kinds)
    return {str(o): int(n) for o, n in agg.group_by("outcome").agg(pl.col("passages").sum()).iter_rows()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="DuckDB runs (median reported)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ruas-bench-enf-"))
    os.environ["RUAS_DATA_DIR"] = str(tmp)
    os.environ.pop("RUAS_DATABASE_URL", None)
    try:
        t = time.perf_counter()
        ctx, zones = setup(tmp, args.passages, args.days, args.seed)
        print(
            f"setup (register, cameras, {args.passages:,} synthetic passages ingested): {time.perf_counter() - t:.1f} s"
        )
        inbox_copy = tmp / "inbox-copy"
        shutil.copytree(ctx.store.root / "inbox", inbox_copy)
        # baseline first (the RUAS run consumes the inbox)
        duck_times, duck_cpus = [], []
        with PeakRss() as duck_mem:
            for _ in range(args.repeat):
                cpu = time.process_time()
                secs, con = duckdb_baseline(ctx, zones, inbox_copy)
                duck_times.append(secs)
                duck_cpus.append(time.process_time() - cpu)
        duck_counts = dict(con.execute("SELECT outcome, count(*) FROM decided GROUP BY ALL").fetchall())
        duck_sanctions = dict(con.execute("SELECT kind, count(*) FROM sanction_amounts GROUP BY ALL").fetchall())
        duck_fines_eur = con.execute("SELECT coalesce(sum(amount), 0) FROM sanction_amounts").fetchone()[0]  # type: ignore[index]
        duck_zone = {
            (z, o): n
            for z, o, n in con.execute("SELECT zone_id, outcome, count(*) FROM decided GROUP BY ALL").fetchall()
        }
        con.close()
        # the same scope as the DuckDB query: read -> evaluate -> sanctions -> aggregates, in memory, no writes
        compute_times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            compute_outcomes = ruas_in_memory(ctx)
            compute_times.append(time.perf_counter() - t)
        rss_before = PeakRss.rss()
        with PeakRss() as ruas_mem:
            t, cpu = time.perf_counter(), time.process_time()
            results = run(ctx, now=NOW)
            ruas_secs, ruas_cpu = time.perf_counter() - t, time.process_time() - cpu
        ours = {o: sum(r.outcomes[o] for r in results) for o in ("compliant", "exempt", "violation", "not_enforceable")}
        recs = pl.read_parquet(ctx.store.root / "records/**/*.parquet", hive_partitioning=True)
        our_zone = {(z, str(o)): n for z, o, n in recs.group_by("zone_id", "outcome").len().iter_rows()}
        with session_scope(ctx.engine) as s:
            from sqlalchemy import func, select

            from ruas.store.models import Sanction

            our_sanctions = dict(s.execute(select(Sanction.kind, func.count()).group_by(Sanction.kind)).all())
            our_fines_eur = s.scalar(select(func.coalesce(func.sum(Sanction.amount_eur), 0)))
        agree = (
            ours == {k: duck_counts.get(k, 0) for k in ours}
            and compute_outcomes == {k: v for k, v in ours.items() if v}
            and our_zone == duck_zone
            and our_sanctions == duck_sanctions
            and float(our_fines_eur or 0) == float(duck_fines_eur)
        )
        n = args.passages
        duck_med = statistics.median(duck_times)
        ruas_rate, duck_rate = n / ruas_secs, n / duck_med
        print(f"decisions (passage x zone): {sum(ours.values()):,}  outcomes: {ours}")
        print(f"sanctions: {our_sanctions}  fines EUR {float(our_fines_eur or 0):,.0f}")
        print(
            f"RUAS end to end: {ruas_secs:.2f} s = {ruas_rate:,.0f} passages/s, CPU {ruas_cpu:.2f} s "
            f"(peak RSS {ruas_mem.peak:,.0f} MiB, {ruas_mem.peak - rss_before:+,.0f} MiB during the run)"
        )
        print(
            f"DuckDB SQL baseline: median {duck_med:.2f} s of {[round(x, 2) for x in duck_times]} "
            f"= {duck_rate:,.0f} passages/s, CPU median {statistics.median(duck_cpus):.2f} s "
            f"(peak RSS {duck_mem.peak:,.0f} MiB)"
        )
        compute_med = statistics.median(compute_times)
        print(
            f"RUAS in memory (same scope as the DuckDB query): median {compute_med:.2f} s of "
            f"{[round(x, 2) for x in compute_times]} = {n / compute_med:,.0f} passages/s"
        )
        print(f"ratio RUAS/DuckDB: end to end {ruas_rate / duck_rate:.2f}x, in memory {duck_med / compute_med:.2f}x")
        print(f"outcomes agree: {agree}")
        if not agree:
            print(
                f"  DuckDB outcomes {duck_counts}, sanctions {duck_sanctions}, fines {duck_fines_eur}", file=sys.stderr
            )
            diff = {
                k: (our_zone.get(k), duck_zone.get(k))
                for k in set(our_zone) | set(duck_zone)
                if our_zone.get(k) != duck_zone.get(k)
            }
            print(f"  differences per (zone, outcome): {diff}", file=sys.stderr)
        print(
            json.dumps(
                {
                    "passages": n,
                    "days": args.days,
                    "decisions": sum(ours.values()),
                    "ruas_seconds": round(ruas_secs, 3),
                    "ruas_passages_per_s": round(ruas_rate),
                    "ruas_cpu_seconds": round(ruas_cpu, 3),
                    "ruas_peak_rss_mib": round(ruas_mem.peak),
                    "duckdb_seconds_median": round(duck_med, 3),
                    "duckdb_seconds": [round(x, 3) for x in duck_times],
                    "duckdb_passages_per_s": round(duck_rate),
                    "duckdb_cpu_seconds_median": round(statistics.median(duck_cpus), 3),
                    "load_average_1min": round(os.getloadavg()[0], 2),
                    "duckdb_peak_rss_mib": round(duck_mem.peak),
                    "ratio_ruas_over_duckdb": round(ruas_rate / duck_rate, 3),
                    "ruas_in_memory_seconds_median": round(compute_med, 3),
                    "ruas_in_memory_seconds": [round(x, 3) for x in compute_times],
                    "ruas_in_memory_passages_per_s": round(n / compute_med),
                    "ratio_in_memory_ruas_over_duckdb": round(duck_med / compute_med, 3),
                    "outcomes": ours,
                    "sanctions": our_sanctions,
                    "outcomes_agree": agree,
                    "target_passages_per_s": 2_000_000,
                }
            )
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
    sys.exit(0)
