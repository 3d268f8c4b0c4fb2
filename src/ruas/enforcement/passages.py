"""Camera passages in: batches (CSV, Parquet, JSON rows), validation, and the partitioned inbox.

A passage is ``camera_id``, ``at`` (timezone-aware; a time without an offset is refused: the camera's
clock must say which instant it means), ``plate`` as read, and optionally ``confidence`` (0..1) and
``country`` (ISO 3166 code of the plate; empty means Dutch). Plates are normalised (upper case, no dashes
or spaces). A batch is checked whole before anything is stored: unknown cameras, missing columns or bad
values reject it with an error naming the column (and the first offending row).

Ingest is idempotent on (camera, instant, plate): duplicates inside a batch, passages already in the inbox
and passages already evaluated (found in the de-identified records by their pseudonym) are dropped, so
sending a batch twice changes nothing. The inbox is partitioned by local day and the camera's municipality.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy.orm import Session

from ruas.domain.errors import InvalidInput, SourceError
from ruas.enforcement.cameras import load_cameras
from ruas.enforcement.privacy import month_keys, month_of, pseudonyms
from ruas.enforcement.storage import SUPERSEDED_SCHEMA, Key, Store

PASSAGE_SCHEMA: dict[str, pl.DataType] = {
    "camera_id": pl.Utf8(),
    "at": pl.Datetime("us", "UTC"),
    "plate": pl.Utf8(),
    "confidence": pl.Float32(),
    "country": pl.Utf8(),
}
"""The inbox's columns (plus ``day`` and ``municipality`` from the partition path)."""

REQUIRED = ("camera_id", "at", "plate")
MAX_BATCH_ROWS = 50_000_000


def _fail(message: str, column: str, **extra: Any) -> SourceError:
    return SourceError(message, field=column, column=column, **extra)


def normalise(frame: pl.DataFrame, source: str = "batch") -> pl.DataFrame:
    """Check a batch and bring it to :data:`PASSAGE_SCHEMA` (raises :class:`SourceError` naming the column)."""
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise _fail(f"{source}: missing column(s) {', '.join(missing)} (need camera_id, at, plate)", missing[0])
    if frame.height > MAX_BATCH_ROWS:
        raise _fail(f"{source}: {frame.height} rows is more than {MAX_BATCH_ROWS} in one batch", "rows")
    at = frame.get_column("at")
    if at.dtype == pl.Utf8 or at.dtype == pl.String:
        try:
            at = at.str.strip_chars().str.to_datetime(time_unit="us", strict=True)
        except Exception as exc:  # polars raises several types for unparseable text
            raise _fail(f"{source}: column at holds a value that is not an ISO-8601 date-time ({exc})", "at") from exc
    if not isinstance(at.dtype, pl.Datetime):
        raise _fail(f"{source}: column at must be a date-time, got {at.dtype}", "at")
    if at.dtype.time_zone is None:
        raise _fail(f"{source}: column at has no UTC offset; send instants such as 2025-07-01T09:00:00+02:00", "at")
    if at.null_count():
        raise _fail(f"{source}: column at has {at.null_count()} empty value(s)", "at")
    out = pl.DataFrame(
        {
            "camera_id": frame.get_column("camera_id").cast(pl.Utf8).str.strip_chars(),
            "at": at.dt.convert_time_zone("UTC").dt.cast_time_unit("us"),
            "plate": frame.get_column("plate").cast(pl.Utf8).str.to_uppercase().str.replace_all(r"[\s\-.]", ""),
            "confidence": (
                frame.get_column("confidence").cast(pl.Float32, strict=False)
                if "confidence" in frame.columns
                else pl.Series("confidence", [None] * frame.height, dtype=pl.Float32)
            ),
            "country": (
                frame.get_column("country").cast(pl.Utf8).str.strip_chars().str.to_uppercase().replace("", None)
                if "country" in frame.columns
                else pl.Series("country", [None] * frame.height, dtype=pl.Utf8)
            ),
        }
    )
    for col in ("camera_id", "plate"):
        empty = out.filter(pl.col(col).is_null() | (pl.col(col) == "")).height
        if empty:
            raise _fail(f"{source}: column {col} has {empty} empty value(s)", col)
    if "confidence" in frame.columns:
        raw = frame.get_column("confidence")
        bad_cast = out.get_column("confidence").is_null() & raw.is_not_null() & (raw.cast(pl.Utf8) != "")
        if bad_cast.any():
            raise _fail(f"{source}: column confidence holds values that are not numbers", "confidence")
    c = out.get_column("confidence")
    if ((c < 0) | (c > 1)).fill_null(False).any():
        raise _fail(f"{source}: column confidence must lie within 0..1", "confidence")
    if (out.get_column("plate").str.len_chars() > 16).any():
        raise _fail(f"{source}: column plate holds reads longer than 16 characters", "plate")
    return out


def read_batch(path: Path) -> pl.DataFrame:
    """A batch file (``.csv`` with a header, comma or semicolon; ``.parquet``) as :data:`PASSAGE_SCHEMA`."""
    if not path.is_file():
        raise SourceError(f"{path}: file not found", file=str(path))
    try:
        if path.suffix.lower() == ".parquet":
            frame = pl.read_parquet(path)
        elif path.suffix.lower() in (".csv", ".txt"):
            head = path.open("r", encoding="utf-8-sig").readline()
            sep = ";" if head.count(";") > head.count(",") else ","
            frame = pl.read_csv(path, separator=sep, infer_schema=False, encoding="utf8-lossy")
        else:
            raise SourceError(f"{path}: expected a .csv or .parquet batch", file=str(path))
    except SourceError:
        raise
    except Exception as exc:  # polars raises several types for malformed files
        raise SourceError(f"{path}: cannot read the batch ({exc})", file=str(path)) from exc
    return normalise(frame, path.name)


def rows_frame(rows: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """JSON rows (as the HTTP ingest receives them) as a raw frame for :func:`normalise`."""
    cols = {name: [r.get(name) for r in rows] for name in ("camera_id", "at", "plate", "confidence", "country")}
    return pl.DataFrame(
        {
            "camera_id": pl.Series(cols["camera_id"], dtype=pl.Utf8),
            "at": pl.Series(cols["at"], dtype=pl.Utf8),
            "plate": pl.Series(cols["plate"], dtype=pl.Utf8),
            "confidence": pl.Series(cols["confidence"], dtype=pl.Float64, strict=False),
            "country": pl.Series(cols["country"], dtype=pl.Utf8),
        }
    )


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What an ingest stored: rows received, new passages, duplicates dropped, partitions written."""

    received: int
    stored: int
    duplicates: int
    partitions: tuple[str, ...]

    def to_data(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "received": self.received,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "partitions": list(self.partitions),
        }


def local_days(at: pl.Expr) -> pl.Expr:
    """The Europe/Amsterdam calendar day of each instant."""
    return at.dt.convert_time_zone("Europe/Amsterdam").dt.date()


def ingest(
    store: Store,
    session: Session,
    batch: pl.DataFrame,
    *,
    now: datetime,
    municipalities: frozenset[str] | None = None,
) -> IngestResult:
    """Add a normalised batch to the inbox (idempotent; all or nothing).

    ``municipalities``: when given, every camera of the batch must belong to one of them (an officer
    ingests only for their own municipalities).
    """
    received = batch.height
    if received == 0:
        return IngestResult(0, 0, 0, ())
    ids = batch.get_column("camera_id").unique().to_list()
    cams = {c.id: c for c in load_cameras(session, ids)}
    unknown = sorted(set(ids) - set(cams))
    if unknown:
        raise InvalidInput(
            f"unknown camera(s) {', '.join(unknown[:5])}: import them first (ruas enforcement cameras import)",
            field="camera_id",
            value=unknown[:5],
        )
    if municipalities is not None:
        foreign = sorted({c.municipality for c in cams.values()} - municipalities)
        if foreign:
            from ruas.services.accounts import Forbidden

            raise Forbidden(f"cameras of {', '.join(foreign)} are outside your municipalities", field="camera_id")
    cam_muni = pl.DataFrame(
        {"camera_id": list(cams), "municipality": [c.municipality for c in cams.values()]},
        schema={"camera_id": pl.Utf8, "municipality": pl.Utf8},
    )
    frame = (
        batch.unique(subset=["camera_id", "at", "plate"], keep="first", maintain_order=True)
        .with_columns(local_days(pl.col("at")).alias("day"))
        .join(cam_muni, on="camera_id", how="left")
    )
    with store.locked():
        changes: dict[Key, pl.DataFrame | None] = {}
        stored = 0
        keys = month_keys(session, {month_of(d) for d in frame.get_column("day").unique()}, now)
        for (day, muni), part in frame.group_by(["day", "municipality"], maintain_order=True):
            assert isinstance(day, date) and isinstance(muni, str)
            new = part.drop("day", "municipality")
            done = store.read(Key("records", day, muni))
            if done is not None and done.height:
                # already evaluated: the record has the passage's pseudonym, or none (plate not in the register)
                done_keys = done.select(pl.col("camera_id").cast(pl.Utf8), "at", pl.col("pseudonym").cast(pl.Utf8))
                new = new.with_columns(pseudonyms(keys[month_of(day)], new.get_column("plate").to_list()))
                new = new.join(done_keys.unique(), on=["camera_id", "at", "pseudonym"], how="anti")
                blind = done_keys.filter(pl.col("pseudonym").is_null()).select("camera_id", "at").unique()
                new = new.join(blind, on=["camera_id", "at"], how="anti")
                # reads an officer corrected: their record carries the corrected plate's pseudonym
                superseded = store.read(Key("superseded", day, muni))
                if superseded is not None and superseded.height:
                    new = new.join(
                        superseded.select(pl.col(c).cast(t) for c, t in SUPERSEDED_SCHEMA.items()),
                        on=["camera_id", "at", "pseudonym"],
                        how="anti",
                    )
                new = new.drop("pseudonym")
            key = Key("inbox", day, muni)
            old = store.read(key)
            if old is not None:
                old = old.with_columns([pl.col(c).cast(pl.Utf8) for c in ("camera_id", "plate", "country")])
                new = new.join(old.select("camera_id", "at", "plate"), on=["camera_id", "at", "plate"], how="anti")
            if new.height == 0:
                continue
            stored += new.height
            merged = new if old is None else pl.concat([old, new.select(old.columns)], how="vertical_relaxed")
            # text stored dictionary-encoded: a run reads it back as categoricals without hashing every row
            changes[key] = merged.sort("at").with_columns(
                [pl.col(c).cast(pl.Categorical) for c in ("camera_id", "plate", "country")]
            )
        store.commit(changes)
    return IngestResult(
        received, stored, received - stored, tuple(f"{k.day.isoformat()}/{k.municipality}" for k in changes)
    )


def inbox_days(store: Store) -> list[date]:
    """Days with passages waiting to be evaluated."""
    return store.days("inbox")
