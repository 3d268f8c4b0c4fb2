"""Partitioned Parquet under ``RUAS_DATA_DIR/enforcement``, committed atomically.

Layout (Hive-style partitions, readable with ``pl.scan_parquet(..., hive_partitioning=True)`` or DuckDB's
``read_parquet('.../**/*.parquet', hive_partitioning = true)``; ``day`` and ``municipality`` come from the
path, not from the file)::

    enforcement/
      inbox/day=YYYY-MM-DD/municipality=GMxxxx/part-0.parquet       raw passages until evaluated (identifiable)
      violations/day=.../municipality=.../part-0.parquet            evidence of violations (identifiable)
      review/day=.../municipality=.../part-0.parquet                not enforceable reads to review (identifiable)
      records/day=.../municipality=.../part-0.parquet               de-identified records (no plate): one row per
                                                                    passage and zone, the vehicle as a row number
      record_vehicles/day=.../municipality=.../part-0.parquet       of that partition's vehicles: pseudonym and the
                                                                    attributes the rules need, once per vehicle
      superseded/day=.../municipality=.../part-0.parquet            reads an officer corrected (pseudonym of the read)
      aggregates/day=.../municipality=.../part-0.parquet            counts per zone, hour, class, fuel, outcome
      exports/                                                      files for the collection agency and letters

The de-identified records are stored normalised (ADR 018): the passage rows carry a ``vehicle`` number into the
partition's ``record_vehicles`` table, so a vehicle's pseudonym and attributes are written once per partition,
not once per passage. :meth:`Store.read` and :func:`read_records` join the two and return the records with
every column of :data:`RECORD_COLUMNS`; :meth:`Store.commit` accepts records in that
joined form and splits them. The pair is written, replaced and deleted together.

A commit stages every new file as a hidden temporary file beside its target (``.part-0.parquet.<id>.tmp``,
flushed and ``fsync``-ed) and only when *all* are written replaces the targets with ``os.replace`` (atomic
per file) and removes emptied partitions. A crash while staging leaves the old files untouched and only
hidden temporaries, which readers never match (``*.parquet``) and the next commit sweeps away. Writers
take an exclusive lock (``enforcement/.lock``) so an ingest and a run never interleave.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from ruas.domain.errors import SourceError

DATASETS = ("inbox", "violations", "review", "records", "record_vehicles", "superseded", "aggregates")

SUPERSEDED_SCHEMA: dict[str, pl.DataType] = {
    "camera_id": pl.Utf8(),
    "at": pl.Datetime("us", "UTC"),
    "pseudonym": pl.Utf8(),
}
"""``superseded``: reads an officer corrected (camera, instant, pseudonym of the plate as read), so that ingest
recognises them when a batch is sent again; kept as long as the records."""
PART = "part-0.parquet"

RECORD_COLUMNS = (
    "at",
    "camera_id",
    "zone_id",
    "pseudonym",
    "outcome",
    "basis",
    "vehicle_class",
    "category",
    "body",
    "fuel",
    "emission_class",
    "first_admission_month",
    "max_mass_kg",
    "length_m",
    "synthetic",
)
"""Columns of a de-identified record (one per passage and zone the camera guards) as read; no plate."""

VEHICLE_COLUMNS = (
    "pseudonym",
    "vehicle_class",
    "category",
    "body",
    "fuel",
    "emission_class",
    "first_admission_month",
    "max_mass_kg",
    "length_m",
)
"""Columns of ``record_vehicles`` besides ``vehicle`` (its row number): one row per vehicle of the partition."""

PASSAGE_RECORD_COLUMNS = tuple(c for c in RECORD_COLUMNS if c not in VEHICLE_COLUMNS)
"""Columns of ``records`` besides ``vehicle``: what differs from one passage of a vehicle to the next."""


@dataclass(frozen=True, slots=True)
class Key:
    """One partition: dataset, local day, municipality (CBS code)."""

    dataset: str
    day: date
    municipality: str

    def path(self, root: Path) -> Path:
        """The partition's file under ``root``."""
        return root / self.dataset / f"day={self.day.isoformat()}" / f"municipality={self.municipality}" / PART


class Store:
    """The enforcement data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir) / "enforcement"

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Exclusive writer lock for the whole enforcement directory (blocks until free)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def partitions(self, dataset: str, day: date | None = None) -> list[Key]:
        """The partitions of a dataset (optionally of one day) that hold a committed file."""
        base = self.root / dataset
        if not base.is_dir():
            return []
        out = []
        pattern = f"day={day.isoformat()}/municipality=*/{PART}" if day else f"day=*/municipality=*/{PART}"
        for f in sorted(base.glob(pattern)):
            d = date.fromisoformat(f.parent.parent.name.removeprefix("day="))
            out.append(Key(dataset, d, f.parent.name.removeprefix("municipality=")))
        return out

    def days(self, dataset: str) -> list[date]:
        """The days a dataset holds partitions for."""
        return sorted({k.day for k in self.partitions(dataset)})

    def read(self, key: Key) -> pl.DataFrame | None:
        """One partition's frame, or None when it has no file."""
        path = key.path(self.root)
        if not path.is_file():
            return None
        if key.dataset == "records":
            return read_records(path)
        return _read_parquet(path)

    def read_many(self, keys: list[Key]) -> pl.DataFrame | None:
        """Several partitions concatenated, with ``day`` and ``municipality`` columns from their paths."""
        frames = []
        for k in keys:
            f = self.read(k)
            if f is not None:
                frames.append(f.with_columns(pl.lit(k.day).alias("day"), pl.lit(k.municipality).alias("municipality")))
        return pl.concat(frames, how="vertical_relaxed") if frames else None

    def commit(self, changes: Mapping[Key, pl.DataFrame | None], *, fail_after: int | None = None) -> None:
        """Write every partition in ``changes`` (None or an empty frame: delete it) all-or-nothing.

        ``fail_after`` is for fault-injection tests: raise after staging that many files.
        """
        with self.staging(changes, fail_after=fail_after) as staged:
            staged.publish()

    def staging(
        self,
        changes: Mapping[Key, pl.DataFrame | None] | None = None,
        *,
        fail_after: int | None = None,
        workers: int = 2,
    ) -> Staging:
        """Start staging ``changes`` in worker threads; use as a context manager, add more partitions with
        ``add()`` as they are built, and call ``publish()``.

        Writing Parquet releases the GIL, so the caller can do other work (e.g. database writes) meanwhile.
        Leaving the block without ``publish()`` (or by an exception) discards every staged file.
        """
        self.sweep()
        return Staging(self.root, changes or {}, fail_after=fail_after, workers=workers)

    def sweep(self) -> None:
        """Remove hidden temporaries left by a crashed commit."""
        if self.root.is_dir():
            for tmp in self.root.glob(f"*/day=*/municipality=*/.{PART}.*.tmp"):
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()

    def delete_day(self, dataset: str, day: date) -> int:
        """Remove every partition of a dataset for one day; returns how many files went."""
        keys = self.partitions(dataset, day)
        self.commit(dict.fromkeys(keys))
        shutil.rmtree(self.root / dataset / f"day={day.isoformat()}", ignore_errors=True)
        return len(keys)


def _read_parquet(path: Path, columns: list[str] | None = None) -> pl.DataFrame:
    try:
        return pl.read_parquet(path, columns=columns)
    except Exception as exc:  # polars raises several types for a corrupt file
        raise SourceError(f"{path}: not a readable Parquet file ({exc})", file=str(path)) from exc


def read_records(path: Path, columns: Sequence[str] | None = None) -> pl.DataFrame:
    """One ``records`` partition file joined with its ``record_vehicles`` companion: every record column
    (``vehicle_class`` 'unknown' where the plate was not in the register), in the stored row order.

    ``columns``: only these (fewer files and columns read)."""
    wanted = list(columns) if columns is not None else None
    fact = _read_parquet(
        path, None if wanted is None else [c for c in wanted if c in PASSAGE_RECORD_COLUMNS] + ["vehicle"]
    )
    if "vehicle" not in fact.columns:  # a file of the joined form (written before ADR 018)
        return fact if wanted is None else fact.select(wanted)
    vcols = list(VEHICLE_COLUMNS) if wanted is None else [c for c in wanted if c in VEHICLE_COLUMNS]
    if vcols:
        companion = path.parent.parent.parent.parent / "record_vehicles" / path.parent.parent.name / path.parent.name
        dim = _read_parquet(companion / PART, ["vehicle", *vcols]) if (companion / PART).is_file() else None
        if dim is None:
            raise SourceError(f"{path}: its record_vehicles partition is missing", file=str(path))
        fact = fact.join(dim, on="vehicle", how="left", maintain_order="left")
        if "vehicle_class" in fact.columns:
            fact = fact.with_columns(pl.col("vehicle_class").fill_null("unknown"))
    order = wanted if wanted is not None else [c for c in RECORD_COLUMNS if c in fact.columns]
    return fact.select(order)


def split_records(records: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Records in their joined form -> (passage rows with a ``vehicle`` number, the partition's vehicles).

    Vehicles are the distinct pseudonyms (numbered in order of first appearance); rows without a pseudonym
    (plate not in the register) get no number."""
    pseud = records.get_column("pseudonym").cast(pl.Utf8)
    known = records.filter(pseud.is_not_null())
    dim = known.select(VEHICLE_COLUMNS).unique(subset=["pseudonym"], keep="first", maintain_order=True)
    dim = dim.with_row_index("vehicle")
    number = (
        records.select(pseud.alias("pseudonym"))
        .join(dim.select(pl.col("pseudonym").cast(pl.Utf8), "vehicle"), on="pseudonym", how="left",
              maintain_order="left")
        .get_column("vehicle")
    )  # fmt: skip
    fact = records.select(PASSAGE_RECORD_COLUMNS).with_columns(number.alias("vehicle"))
    return fact, dim


def _expand(changes: Mapping[Key, pl.DataFrame | None]) -> dict[Key, pl.DataFrame | None]:
    """Records given in their joined form become the pair of files; deleting records deletes both."""
    out: dict[Key, pl.DataFrame | None] = {}
    for k, f in changes.items():
        if k.dataset != "records":
            out.setdefault(k, f)
            continue
        companion = Key("record_vehicles", k.day, k.municipality)
        if f is None or f.height == 0:
            out[k] = None
            out[companion] = None
        elif "pseudonym" in f.columns:
            out[k], out[companion] = split_records(f)
        else:
            out[k] = f
    return out


def _deletes(key: Key, frame: pl.DataFrame | None) -> bool:
    """None or an empty frame deletes a partition; but a records partition whose passages are all of vehicles
    not in the register keeps its (empty) vehicles file."""
    return frame is None or (frame.height == 0 and key.dataset != "record_vehicles")


class Staging:
    """Output files being written as hidden temporaries beside their targets (see :meth:`Store.staging`)."""

    def __init__(
        self, root: Path, changes: Mapping[Key, pl.DataFrame | None], *, fail_after: int | None, workers: int
    ) -> None:
        self._root = root
        self._fail_after = fail_after
        self._deletes: list[Path] = []
        self._keys: set[Key] = set()
        self._pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="ruas-stage")
        self._futures: list[Future[tuple[Path, Path] | None]] = []
        self._published = False
        # the largest files first, so the workers finish together
        expanded = _expand(changes)
        self._submit(sorted(expanded.items(), key=lambda kf: -(kf[1].height if kf[1] is not None else 0)))

    def add(self, changes: Mapping[Key, pl.DataFrame | None]) -> None:
        """Stage more partitions now, while the caller builds the next ones (each partition at most once)."""
        self._submit(list(_expand(changes).items()))

    def _submit(self, items: Sequence[tuple[Key, pl.DataFrame | None]]) -> None:
        for key, frame in items:
            if key in self._keys:
                raise ValueError(f"partition {key.dataset}/{key.day}/{key.municipality} staged twice")
            self._keys.add(key)
            if _deletes(key, frame):
                self._deletes.append(key.path(self._root))
            self._futures.append(self._pool.submit(self._stage, len(self._futures), key, frame))

    def _stage(self, i: int, key: Key, frame: pl.DataFrame | None) -> tuple[Path, Path] | None:
        if self._fail_after is not None and i >= self._fail_after:
            raise RuntimeError(f"injected fault after staging {self._fail_after} partition(s)")
        if _deletes(key, frame) or frame is None:
            return None
        target = key.path(self._root)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".{PART}.{uuid.uuid4().hex}.tmp"
        try:
            with open(tmp, "wb") as handle:
                frame.write_parquet(handle, compression="zstd", compression_level=1, statistics=True)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
        return tmp, target

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._published:
            self.discard()

    def _wait(self) -> list[tuple[Path, Path]]:
        """Every staged file; on any failure all are removed and the first error is raised."""
        staged: list[tuple[Path, Path]] = []
        error: BaseException | None = None
        for f in self._futures:
            try:
                r = f.result()
            except BaseException as exc:
                error = error or exc
                continue
            if r is not None:
                staged.append(r)
        self._pool.shutdown(wait=True)
        if error is not None:
            for tmp, _ in staged:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
            raise error
        return staged

    def discard(self) -> None:
        """Stop staging and remove what was staged."""
        for f in self._futures:
            f.cancel()
        with contextlib.suppress(BaseException):
            for tmp, _ in self._wait():
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()

    def publish(self) -> None:
        """Wait for every file, then rename them into place and delete the emptied partitions."""
        staged = self._wait()
        self._published = True
        for tmp, target in staged:
            os.replace(tmp, target)
        for target in self._deletes:
            with contextlib.suppress(FileNotFoundError):
                target.unlink()
            _prune(target.parent, self._root)
        for directory in {t.parent for _, t in staged}:
            _fsync_dir(directory)


def _prune(directory: Path, root: Path) -> None:
    """Remove empty partition directories up to the dataset directory."""
    d = directory
    while d != root and d.parent != root:
        try:
            d.rmdir()
        except OSError:
            return
        d = d.parent


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
