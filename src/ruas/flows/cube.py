"""The flows cube: per local day, zone and breakdown, the passages and the distinct vehicles — no personal data.

The enforcement pipeline keeps two privacy-safe datasets (``docs/enforcement.md``, "Data layout for analytics"):
*aggregates* (passages per zone, hour, vehicle class, fuel, emission class and outcome; kept for ever) and
*de-identified records* (one row per passage and zone, with a monthly keyed-HMAC pseudonym; kept 8 weeks).
Small-cell suppression needs the number of distinct *vehicles* in a cell, which only the records hold, and the
dashboard wants breakdowns the aggregates lack (rigid vs tractor, which exemption was used, which camera).

So, while the records of a day are still kept, :func:`refresh` derives from them one small table per day::

    $RUAS_DATA_DIR/flows/cube/day=YYYY-MM-DD/part-0.parquet

with one row per (municipality, zone, dimension, value): ``passages`` (count) and ``vehicles`` (distinct
pseudonyms; passages of plates without one — foreign or not in the register — add passages but no vehicles,
so ``vehicles`` is a lower bound). Dimensions: ``total`` (value ``all``), ``hour`` (``00``..``23`` local),
``vehicle_class`` (:data:`FLOW_CLASSES`), ``fuel``, ``emission_class``, ``outcome``, ``exemption`` (only exempt
passages: the transition rule or vrijstelling clause, or ``grant:<type>`` for an ontheffing) and ``camera``.
Days whose records were purged before a refresh are derived from the aggregates (``source = aggregates``:
no vehicle counts, trucks not split, no exemption or camera breakdown). A records-based day is never replaced
by an aggregates-based one: the cube outlives the records, which is the point — it holds counts only.

Distinct counts do not add up across days or zones; queries use the *maximum* of the daily counts as a lower
bound of the distinct vehicles of a longer period or several zones (``ruas.flows.suppression``).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from ruas.domain.errors import SourceError
from ruas.enforcement.storage import read_records

DIMENSIONS = ("total", "hour", "vehicle_class", "fuel", "emission_class", "outcome", "exemption", "camera")
"""The breakdowns the cube holds, each summing to ``total`` (``exemption`` sums to ``outcome = exempt``)."""

FLOW_CLASSES = ("van", "rigid", "tractor", "truck", "car", "bus", "motorcycle", "other", "unknown")
"""Vehicle classes of the dashboard: goods vehicles split by body (van; truck as rigid / tractor / other
truck), then the enforcement pipeline's other classes; ``unknown`` = plate not in the register."""

GOODS_CLASSES = ("van", "rigid", "tractor", "truck")

CUBE_SCHEMA: dict[str, pl.DataType] = {
    "municipality": pl.Utf8(),
    "zone_id": pl.Utf8(),
    "dimension": pl.Utf8(),
    "value": pl.Utf8(),
    "passages": pl.UInt32(),
    "vehicles": pl.UInt32(),
    "source": pl.Utf8(),
}
"""One cube partition (``day`` comes from the path)."""

PART = "part-0.parquet"
UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class FlowsData:
    """Where the flows read and write: the enforcement datasets and the cube under one data directory."""

    data_dir: Path

    @property
    def enforcement(self) -> Path:
        """The enforcement pipeline's directory (read only)."""
        return Path(self.data_dir) / "enforcement"

    @property
    def cube_dir(self) -> Path:
        """The cube's directory."""
        return Path(self.data_dir) / "flows" / "cube"

    def cube_path(self, day: date) -> Path:
        """The cube partition of one local day."""
        return self.cube_dir / f"day={day.isoformat()}" / PART

    def cube_glob(self) -> str:
        """The glob DuckDB / Polars read the cube with (Hive partitions)."""
        return str(self.cube_dir / "day=*" / PART)

    def has_cube(self) -> bool:
        """True when at least one day of the cube exists."""
        return self.cube_dir.is_dir() and any(self.cube_dir.glob(f"day=*/{PART}"))

    def source_files(self, dataset: str, day: date | None = None) -> list[Path]:
        """Committed partition files of an enforcement dataset (``records`` or ``aggregates``)."""
        base = self.enforcement / dataset
        if not base.is_dir():
            return []
        pattern = f"day={day.isoformat()}/municipality=*/{PART}" if day else f"day=*/municipality=*/{PART}"
        return sorted(base.glob(pattern))

    def source_days(self, dataset: str) -> list[date]:
        """The local days an enforcement dataset holds."""
        base = self.enforcement / dataset
        if not base.is_dir():
            return []
        return sorted(
            date.fromisoformat(p.name.removeprefix("day="))
            for p in base.glob("day=*")
            if p.is_dir() and any(p.glob(f"municipality=*/{PART}"))
        )

    def cube_days(self) -> list[date]:
        """The days the cube holds."""
        if not self.cube_dir.is_dir():
            return []
        return sorted(
            date.fromisoformat(p.parent.name.removeprefix("day=")) for p in self.cube_dir.glob(f"day=*/{PART}")
        )


def _read_partitions(files: Sequence[Path]) -> pl.DataFrame | None:
    frames = []
    for f in files:
        if f.parent.parent.parent.name == "records":
            frame = read_records(f)  # the passages joined with the partition's vehicles
        else:
            try:
                frame = pl.read_parquet(f)
            except Exception as exc:  # polars raises several types for a corrupt file
                raise SourceError(f"{f}: not a readable Parquet file ({exc})", file=str(f)) from exc
        muni = f.parent.name.removeprefix("municipality=")
        text = [pl.col(c).cast(pl.Utf8) for c, t in frame.schema.items() if isinstance(t, pl.Categorical | pl.Enum)]
        frames.append(frame.with_columns(*text, pl.lit(muni).alias("municipality")))
    return pl.concat(frames, how="diagonal_relaxed") if frames else None


def flow_class(vehicle_class: pl.Expr, body: pl.Expr) -> pl.Expr:
    """The dashboard's class from the pipeline's class and the body: trucks split into rigid / tractor / truck."""
    return (
        pl.when(vehicle_class == "truck")
        .then(pl.when(body == "rigid").then(pl.lit("rigid")).when(body == "tractor").then(pl.lit("tractor")))
        .otherwise(vehicle_class)
        .fill_null(vehicle_class)
        .fill_null(pl.lit(UNKNOWN))
    )


def local_hour(at: pl.Expr) -> pl.Expr:
    """The Europe/Amsterdam wall-clock hour of an instant, as two digits."""
    return at.dt.convert_time_zone("Europe/Amsterdam").dt.hour().cast(pl.Utf8).str.zfill(2)


def _breakdowns(base: pl.DataFrame, exprs: dict[str, pl.Expr | None], with_vehicles: bool, source: str) -> pl.DataFrame:
    parts = []
    vehicles = pl.col("pseudonym").drop_nulls().n_unique().cast(pl.UInt32) if with_vehicles else pl.lit(None, pl.UInt32)
    weight = pl.col("passages").sum().cast(pl.UInt32) if "passages" in base.columns else pl.len().cast(pl.UInt32)
    for dim in DIMENSIONS:
        expr = exprs.get(dim)
        if expr is None:
            continue
        frame = base.filter(pl.col("outcome") == "exempt") if dim == "exemption" else base
        parts.append(
            frame.group_by("municipality", "zone_id", expr.cast(pl.Utf8).fill_null(UNKNOWN).alias("value"))
            .agg(weight.alias("passages"), vehicles.alias("vehicles"))
            .with_columns(pl.lit(dim).alias("dimension"), pl.lit(source).alias("source"))
        )
    out = pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame(schema=CUBE_SCHEMA)
    return out.select(list(CUBE_SCHEMA)).cast(CUBE_SCHEMA).sort("municipality", "zone_id", "dimension", "value")  # type: ignore[arg-type]


def cube_from_records(records: pl.DataFrame) -> pl.DataFrame:
    """One day's cube (:data:`CUBE_SCHEMA`) from its de-identified records (with a ``municipality`` column)."""
    base = records.select(
        "municipality",
        pl.col("zone_id").cast(pl.Utf8),
        pl.col("pseudonym").cast(pl.Utf8),
        pl.col("outcome").cast(pl.Utf8),
        local_hour(pl.col("at")).alias("_hour"),
        flow_class(pl.col("vehicle_class").cast(pl.Utf8), pl.col("body").cast(pl.Utf8)).alias("_class"),
        pl.col("fuel").cast(pl.Utf8),
        pl.col("emission_class").cast(pl.Utf8),
        pl.col("basis").cast(pl.Utf8),
        pl.col("camera_id").cast(pl.Utf8),
    )
    exprs: dict[str, pl.Expr | None] = {
        "total": pl.lit("all"),
        "hour": pl.col("_hour"),
        "vehicle_class": pl.col("_class"),
        "fuel": pl.col("fuel"),
        "emission_class": pl.col("emission_class"),
        "outcome": pl.col("outcome"),
        "exemption": pl.col("basis"),
        "camera": pl.col("camera_id"),
    }
    return _breakdowns(base, exprs, True, "records")


def cube_from_aggregates(aggregates: pl.DataFrame) -> pl.DataFrame:
    """One day's cube from the aggregates: passages only (no vehicle counts, exemptions or cameras)."""
    base = aggregates.select(
        "municipality",
        pl.col("zone_id").cast(pl.Utf8),
        pl.col("hour").cast(pl.Int32).cast(pl.Utf8).str.zfill(2).alias("_hour"),
        pl.col("vehicle_class").cast(pl.Utf8).fill_null(UNKNOWN).alias("_class"),
        pl.col("fuel").cast(pl.Utf8),
        pl.col("emission_class").cast(pl.Utf8),
        pl.col("outcome").cast(pl.Utf8),
        pl.col("passages").cast(pl.UInt32),
    )
    exprs: dict[str, pl.Expr | None] = {
        "total": pl.lit("all"),
        "hour": pl.col("_hour"),
        "vehicle_class": pl.col("_class"),
        "fuel": pl.col("fuel"),
        "emission_class": pl.col("emission_class"),
        "outcome": pl.col("outcome"),
    }
    return _breakdowns(base, exprs, False, "aggregates")


def write_cube(data: FlowsData, day: date, cube: pl.DataFrame) -> Path:
    """Write one day's cube atomically (hidden temporary, ``fsync``, ``os.replace``); an empty cube removes it."""
    target = data.cube_path(day)
    if cube.height == 0:
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{PART}.{uuid.uuid4().hex}.tmp"
    try:
        with open(tmp, "wb") as handle:
            cube.select(list(CUBE_SCHEMA)).write_parquet(handle, compression="zstd", statistics=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return target


def _mtime(files: Iterable[Path]) -> float:
    return max((f.stat().st_mtime for f in files), default=0.0)


def _cube_source(path: Path) -> str | None:
    if not path.is_file():
        return None
    try:
        src = pl.read_parquet(path, columns=["source"]).get_column("source")
    except Exception:  # a damaged cube file is rebuilt
        return None
    return "records" if (src == "records").any() else "aggregates"


@dataclass(frozen=True, slots=True)
class RefreshResult:
    """What :func:`refresh` did: days rebuilt from records, from aggregates, and left as they were."""

    from_records: tuple[date, ...]
    from_aggregates: tuple[date, ...]
    unchanged: int

    def to_data(self) -> dict[str, object]:
        """JSON form."""
        return {
            "from_records": [d.isoformat() for d in self.from_records],
            "from_aggregates": [d.isoformat() for d in self.from_aggregates],
            "unchanged": self.unchanged,
        }


def refresh(data: FlowsData, days: Sequence[date] | None = None) -> RefreshResult:
    """Bring the cube up to date with the enforcement datasets (incremental: compares file times).

    A day is rebuilt from its records when they are newer than its cube; from its aggregates when it has no
    records and either no cube or an aggregates-based cube older than them. Idempotent and safe to run
    concurrently (each day is replaced atomically). Schedule it daily, before the records' purge.
    """
    wanted = set(days) if days is not None else None
    rec_days = set(data.source_days("records"))
    agg_days = set(data.source_days("aggregates"))
    todo = sorted((rec_days | agg_days) if wanted is None else (rec_days | agg_days) & wanted)
    from_records: list[date] = []
    from_aggregates: list[date] = []
    unchanged = 0
    for day in todo:
        target = data.cube_path(day)
        cube_time = target.stat().st_mtime if target.is_file() else -1.0
        if day in rec_days:
            files = data.source_files("records", day)
            if _mtime(files) > cube_time or _cube_source(target) != "records":
                frame = _read_partitions(files)
                write_cube(data, day, cube_from_records(frame) if frame is not None else pl.DataFrame())
                from_records.append(day)
                continue
        elif _cube_source(target) != "records":
            files = data.source_files("aggregates", day)
            if _mtime(files) > cube_time:
                frame = _read_partitions(files)
                write_cube(data, day, cube_from_aggregates(frame) if frame is not None else pl.DataFrame())
                from_aggregates.append(day)
                continue
        unchanged += 1
    return RefreshResult(tuple(from_records), tuple(from_aggregates), unchanged)


__all__ = [
    "CUBE_SCHEMA",
    "DIMENSIONS",
    "FLOW_CLASSES",
    "FlowsData",
    "RefreshResult",
    "cube_from_aggregates",
    "cube_from_records",
    "flow_class",
    "refresh",
    "write_cube",
]
