"""SYNTHETIC flows for demos, browser tests and benchmarks: seeded, labelled, through the real pipeline.

:func:`generate` puts SYNTHETIC cameras on the register's zones (unless cameras exist), draws a day of SYNTHETIC
passages per day (:func:`ruas.enforcement.synthetic.synthetic_passages`) and runs the enforcement pipeline on
them, so the records and aggregates are exactly what production writes; then it refreshes the flows cube.
:func:`extend_cube` makes a long history cheaply: it copies the cube of generated days onto earlier days with a
seeded seasonal factor (a year of dashboard data without a year of pipeline runs). Every synthetic row stays
labelled (cameras ``SYN-…``, records ``synthetic = true``, cube days copied from synthetic days).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl

from ruas.enforcement.cameras import load_cameras, save_cameras
from ruas.enforcement.passages import ingest, normalise
from ruas.enforcement.pipeline import Context, run
from ruas.enforcement.storage import Store
from ruas.enforcement.synthetic import synthetic_cameras, synthetic_passages
from ruas.flows.cube import FlowsData, refresh, write_cube
from ruas.register.store import Register
from ruas.store.db import session_scope


@dataclass(frozen=True, slots=True)
class Generated:
    """What :func:`generate` made."""

    days: tuple[date, ...]
    passages: int
    cameras: int


def generate(register: Register, days: Sequence[date], passages_per_day: int, *, seed: int = 1) -> Generated:
    """SYNTHETIC passages for ``days`` evaluated by the enforcement pipeline, then the cube refreshed."""
    now = datetime.combine(max(days) + timedelta(days=1), datetime.min.time(), UTC)
    store = Store(register.path)
    with session_scope(register.store.engine) as s:
        cams = [c for c in load_cameras(s) if c.active]
        if not cams:
            cams = synthetic_cameras(register.book, per_zone=4)
            save_cameras(s, cams, now)
    total = 0
    for i, day in enumerate(sorted(days)):
        batch = synthetic_passages(register.book, register.vehicles, cams, day, passages_per_day, seed=seed + i)
        with session_scope(register.store.engine) as s:
            ingest(store, s, normalise(batch.drop("synthetic")), now=now)
        total += batch.height
    run(Context(register, store), sorted(days), now=now)
    refresh(FlowsData(register.path), list(days))
    return Generated(tuple(sorted(days)), total, len(cams))


def extend_cube(data: FlowsData, start: date, end: date, *, seed: int = 1) -> int:
    """Fill the cube's missing days in ``[start, end)`` with copies of existing days (same weekday), scaled by a
    seeded seasonal factor (0.8-1.2; vehicle counts scaled alike). Returns the number of days written."""
    have = data.cube_days()
    if not have:
        return 0
    rng = np.random.default_rng(seed)
    frames = {d: pl.read_parquet(data.cube_path(d)) for d in have}
    by_weekday = {d.weekday(): d for d in have}
    written = 0
    day = start
    while day < end:
        if day not in frames:
            src = by_weekday.get(day.weekday(), have[0])
            season = 1.0 + 0.15 * math.sin(2 * math.pi * (day.timetuple().tm_yday / 365.0))
            factor = season * float(rng.uniform(0.9, 1.1))
            f = frames[src].with_columns(
                (pl.col("passages").cast(pl.Float64) * factor).round().cast(pl.UInt32),
                (pl.col("vehicles").cast(pl.Float64) * factor).round().cast(pl.UInt32),
            )
            write_cube(data, day, f)
            written += 1
        day += timedelta(days=1)
    return written


__all__ = ["Generated", "extend_cube", "generate"]
