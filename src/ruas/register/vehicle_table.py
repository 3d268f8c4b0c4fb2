"""The canonical Polars table of vehicles: one row per :class:`~ruas.domain.vehicle.Vehicle`.

The batch rules engine and the register both work on this table, so its schema is
fixed here once (:data:`VEHICLE_SCHEMA`) and every producer (the RDW adapter, the
synthetic generator, hand entry) converts into it. Units follow the domain model:
masses in kilograms (Int32), sizes in metres (Float64), dates as calendar dates.

Set-valued attributes of a vehicle (``fuels``, ``body_codes``, ...) are stored as
sorted ``List(Utf8)`` columns, so equal vehicles always give equal rows and the
round trip ``frame_to_vehicles(vehicles_to_frame(vs)) == vs`` is exact.

On disk the table is Parquet, written atomically (temp file in the same directory,
``fsync``, ``os.replace``) so a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from ruas.domain.errors import InvalidInput, SourceError
from ruas.domain.vehicle import Body, Category, EmissionClass, Fuel, Vehicle

VEHICLE_SCHEMA: dict[str, pl.DataType] = {
    "plate": pl.Utf8(),
    "category": pl.Utf8(),
    "body": pl.Utf8(),
    "fuels": pl.List(pl.Utf8()),
    "emission_class": pl.Utf8(),
    "first_admission": pl.Date(),
    "max_mass_kg": pl.Int32(),
    "length_m": pl.Float64(),
    "width_m": pl.Float64(),
    "height_m": pl.Float64(),
    "axle_load_kg": pl.Int32(),
    "body_codes": pl.List(pl.Utf8()),
    "special_purpose": pl.List(pl.Utf8()),
    "special_codes": pl.List(pl.Utf8()),
    "usage": pl.List(pl.Utf8()),
    "holder": pl.List(pl.Utf8()),
    "synthetic": pl.Boolean(),
}
"""Column name -> Polars type of the canonical vehicle table, in column order.

``plate`` is the normalised plate (``"VQ123B"``; null only for a hand-entered
vehicle without one); ``category``, ``body``, ``emission_class`` and the elements
of ``fuels`` hold the string values of :class:`Category`, :class:`Body`,
:class:`EmissionClass` and :class:`Fuel`. ``max_mass_kg`` is the TMM in kg,
``length_m``/``width_m``/``height_m`` are metres, ``axle_load_kg`` kg.
"""

NULLABLE_COLUMNS: frozenset[str] = frozenset({"plate", "length_m", "width_m", "height_m", "axle_load_kg"})
"""Columns that may hold nulls (unknown size or axle load; a vehicle without a plate)."""

_LIST_COLUMNS = ("fuels", "body_codes", "special_purpose", "special_codes", "usage", "holder")
_SET_FIELDS = ("body_codes", "special_purpose", "special_codes", "usage", "holder")
_ENUM_VALUES: dict[str, frozenset[str]] = {
    "category": frozenset(c.value for c in Category),
    "body": frozenset(b.value for b in Body),
    "emission_class": frozenset(e.value for e in EmissionClass),
    "fuels": frozenset(f.value for f in Fuel),
}


def empty_frame() -> pl.DataFrame:
    """A vehicle table with the canonical schema and no rows."""
    return pl.DataFrame(schema=VEHICLE_SCHEMA)


_SEPARATOR = "\x1f"
"""ASCII unit separator: joins list elements for the fast List(Utf8) construction."""


def _list_column(name: str, rows: list[list[str]]) -> pl.Series:
    """A ``List(Utf8)`` series from Python lists, built fast via join + split.

    Polars builds nested series from Python lists one inner list at a time (about 1 s
    per 100,000 rows); joining each list into one string and splitting it again in
    Polars is some 20 times faster. Lists with an empty element or one containing the
    separator take the plain (slow but exact) path.
    """
    joined = []
    for items in rows:
        for item in items:
            if not item or _SEPARATOR in item:
                return pl.Series(name, rows, dtype=pl.List(pl.Utf8()))
        joined.append(_SEPARATOR.join(items))
    strings = pl.Series(name, joined, dtype=pl.Utf8())
    empty = pl.lit([], dtype=pl.List(pl.Utf8()))
    return pl.select(
        pl.when(strings == "").then(empty).otherwise(strings.str.split(_SEPARATOR)).alias(name)
    ).to_series()


def vehicles_to_frame(vehicles: Iterable[Vehicle]) -> pl.DataFrame:
    """Build the canonical table from vehicles, one row each, in the order given.

    Set-valued attributes become sorted lists; enum members become their string values.
    """
    scalars: dict[str, list[Any]] = {name: [] for name in VEHICLE_SCHEMA if name not in _LIST_COLUMNS}
    lists: dict[str, list[list[str]]] = {name: [] for name in _LIST_COLUMNS}
    for v in vehicles:
        scalars["plate"].append(v.plate)
        scalars["category"].append(v.category.value)
        scalars["body"].append(v.body.value)
        lists["fuels"].append(sorted(f.value for f in v.fuels))
        scalars["emission_class"].append(v.emission_class.value)
        scalars["first_admission"].append(v.first_admission)
        scalars["max_mass_kg"].append(v.max_mass_kg)
        scalars["length_m"].append(v.length_m)
        scalars["width_m"].append(v.width_m)
        scalars["height_m"].append(v.height_m)
        scalars["axle_load_kg"].append(v.axle_load_kg)
        for name in _SET_FIELDS:
            lists[name].append(sorted(getattr(v, name)))
        scalars["synthetic"].append(v.synthetic)
    columns = [
        _list_column(name, lists[name]) if name in lists else pl.Series(name, scalars[name], dtype=dtype, strict=True)
        for name, dtype in VEHICLE_SCHEMA.items()
    ]
    return pl.DataFrame(columns)


def _row_error(column: str, value: Any, expected: str) -> SourceError:
    return SourceError(
        f"vehicle table column {column!r}: {value!r} is not valid (expected {expected})",
        column=column,
        value=value,
        expected=expected,
    )


_MEMBERS: dict[str, dict[str, Any]] = {
    "category": {m.value: m for m in Category},
    "body": {m.value: m for m in Body},
    "emission_class": {m.value: m for m in EmissionClass},
    "fuels": {m.value: m for m in Fuel},
}


def _enum(column: str, value: Any) -> Any:
    """The enum member for ``value`` in ``column`` (a dict lookup: this runs once per row)."""
    members = _MEMBERS[column]
    try:
        return members[value]
    except (KeyError, TypeError) as exc:
        raise _row_error(column, value, "one of " + ", ".join(sorted(members))) from exc


def vehicle_from_row(row: Mapping[str, Any]) -> Vehicle:
    """Turn one row of the table (as from ``DataFrame.iter_rows(named=True)``) into a :class:`Vehicle`.

    Raises :class:`SourceError` naming the column when a value is missing or not one of
    the allowed enum values, and when the vehicle itself is inconsistent (e.g. class Z
    with a combustion fuel).
    """
    for name in VEHICLE_SCHEMA:
        if name not in row:
            raise SourceError(f"vehicle row has no column {name!r}", column=name, expected="present")
        if row[name] is None and name not in NULLABLE_COLUMNS:
            raise _row_error(name, None, "a value (the column is not nullable)")
    first_admission = row["first_admission"]
    if not isinstance(first_admission, date):
        raise _row_error("first_admission", first_admission, "a date")
    try:
        return Vehicle(
            category=_enum("category", row["category"]),
            body=_enum("body", row["body"]),
            fuels=frozenset(_enum("fuels", f) for f in row["fuels"]),
            emission_class=_enum("emission_class", row["emission_class"]),
            first_admission=first_admission,
            max_mass_kg=int(row["max_mass_kg"]),
            plate=row["plate"],
            length_m=row["length_m"],
            width_m=row["width_m"],
            height_m=row["height_m"],
            axle_load_kg=row["axle_load_kg"],
            body_codes=frozenset(row["body_codes"]),
            special_purpose=frozenset(row["special_purpose"]),
            special_codes=frozenset(row["special_codes"]),
            usage=frozenset(row["usage"]),
            holder=frozenset(row["holder"]),
            synthetic=bool(row["synthetic"]),
        )
    except SourceError:
        raise
    except InvalidInput as exc:
        raise SourceError(
            f"vehicle {row['plate']!r}: {exc.message}",
            column=exc.details.get("field"),
            value=exc.details.get("value"),
            plate=row["plate"],
        ) from exc


def frame_to_vehicles(df: pl.DataFrame) -> list[Vehicle]:
    """Turn a canonical table back into vehicles, in row order (exact inverse of :func:`vehicles_to_frame`).

    The frame is validated first (:func:`validate_frame`).
    """
    frame = validate_frame(df)
    names = list(VEHICLE_SCHEMA)
    columns = [frame.get_column(name).to_list() for name in names]  # much faster than iter_rows
    return [vehicle_from_row(dict(zip(names, values, strict=True))) for values in zip(*columns, strict=True)]


def validate_frame(df: pl.DataFrame) -> pl.DataFrame:
    """Check ``df`` against :data:`VEHICLE_SCHEMA` and return it with the canonical column order.

    Raises :class:`SourceError` whose details name the ``missing`` and ``mistyped``
    columns (name -> ``"got X, expected Y"``), or the column holding nulls where none
    are allowed, empty ``fuels`` lists, or values outside the enum value sets.
    Extra columns are dropped from the result.
    """
    missing = [name for name in VEHICLE_SCHEMA if name not in df.columns]
    mistyped = {
        name: f"got {df.schema[name]}, expected {dtype}"
        for name, dtype in VEHICLE_SCHEMA.items()
        if name in df.columns and df.schema[name] != dtype
    }
    if missing or mistyped:
        parts = []
        if missing:
            parts.append("missing columns " + ", ".join(missing))
        if mistyped:
            parts.append("mistyped columns " + "; ".join(f"{k} ({v})" for k, v in mistyped.items()))
        first = missing[0] if missing else next(iter(mistyped))
        raise SourceError(
            "vehicle table does not match the canonical schema: " + "; ".join(parts),
            missing=missing,
            mistyped=mistyped,
            column=first,
            expected={k: str(v) for k, v in VEHICLE_SCHEMA.items()},
        )
    frame = df.select(list(VEHICLE_SCHEMA))
    if frame.height == 0:
        return frame
    null_counts = frame.null_count().row(0, named=True)
    for name, count in null_counts.items():
        if count and name not in NULLABLE_COLUMNS:
            raise SourceError(
                f"vehicle table column {name!r} has {count} null value(s); it is not nullable",
                column=name,
                expected="no nulls",
            )
    for name in _LIST_COLUMNS:
        holes = frame.get_column(name).explode(empty_as_null=False, keep_nulls=False).null_count()
        if holes:
            raise SourceError(
                f"vehicle table column {name!r} has {holes} null list element(s)",
                column=name,
                expected="lists of strings without nulls",
            )
    empty_fuels = frame.filter(pl.col("fuels").list.len() == 0).height
    if empty_fuels:
        raise SourceError(
            f"vehicle table column 'fuels' has {empty_fuels} empty list(s); every vehicle needs a fuel",
            column="fuels",
            expected="at least one fuel",
        )
    for name, allowed in _ENUM_VALUES.items():
        values = frame.get_column(name)
        flat = values.explode(empty_as_null=False, keep_nulls=False) if name in _LIST_COLUMNS else values
        bad = flat.filter(~flat.is_in(sorted(allowed))).unique(maintain_order=True).to_list()
        if bad:
            raise SourceError(
                f"vehicle table column {name!r} holds {bad[:5]!r}; allowed: {', '.join(sorted(allowed))}",
                column=name,
                value=bad[:5],
                expected=sorted(allowed),
            )
    return frame


def write_vehicle_table(df: pl.DataFrame, path: Path | str) -> Path:
    """Validate ``df`` and write it to ``path`` as Parquet, atomically; return the path.

    The data goes to a temporary file in the same directory, is flushed and
    ``fsync``-ed, and then replaces ``path`` with ``os.replace``: a concurrent reader
    sees either the old file or the new one, never a partial write.
    """
    target = Path(path)
    frame = validate_frame(df)
    directory = target.parent if str(target.parent) else Path(".")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            frame.write_parquet(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    _fsync_directory(directory)
    return target


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable where the platform allows opening a directory (POSIX)."""
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def read_vehicle_table(path: Path | str) -> pl.DataFrame:
    """Read a Parquet vehicle table written by :func:`write_vehicle_table` and validate it.

    Raises :class:`SourceError` naming the file when it is missing, unreadable or not
    in the canonical schema.
    """
    source = Path(path)
    if not source.is_file():
        raise SourceError(f"{source}: vehicle table not found", file=str(source), expected="a Parquet file")
    try:
        df = pl.read_parquet(source)
    except Exception as exc:  # polars raises several error types for a corrupt file
        raise SourceError(
            f"{source}: not a readable Parquet file ({exc})", file=str(source), expected="a Parquet file"
        ) from exc
    try:
        return validate_frame(df)
    except SourceError as exc:
        raise SourceError(f"{source}: {exc.message}", file=str(source), **exc.details) from exc
