"""Use case: the fleet report — for a list of plates or vehicle rows, until when each may enter each zone.

Input is CSV as people export it (comma or semicolon — Dutch Excel writes semicolons —
with or without a UTF-8 BOM; a header row, or no header and one plate per line) or an
Excel workbook (first sheet). Timelines come from the vectorised engine
(:func:`ruas.rules.batch.timeline_batch`) in one pass over all vehicles and zones.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import select

from ruas.domain.errors import InvalidInput, RuasError, SourceError
from ruas.domain.regulation import ExemptionGrant, GrantStatus, ZoneKind, ZoneStatus
from ruas.domain.timeutil import LOCAL_TZ, parse_date
from ruas.domain.vehicle import normalise_plate
from ruas.register.store import Register
from ruas.register.vehicle_table import vehicle_from_row, vehicles_to_frame
from ruas.rules.batch import grants_frame, timeline_batch
from ruas.services.check import VehicleInput, build_vehicle
from ruas.services.grants import grant_of
from ruas.store.db import session_scope
from ruas.store.models import Application

MAX_ROWS = 100_000
MAX_BYTES = 20 * 1024 * 1024
PLATE_COLUMNS = ("kenteken", "plate", "license_plate", "licence_plate", "registration")
ATTRIBUTE_COLUMNS = {
    "category": "category",
    "categorie": "category",
    "body": "body",
    "fuel": "fuel",
    "brandstof": "fuel",
    "emission_class": "emission_class",
    "emissieklasse": "emission_class",
    "first_admission": "first_admission",
    "det": "first_admission",
    "mass": "mass_kg",
    "mass_kg": "mass_kg",
    "max_mass_kg": "mass_kg",
    "tmm": "mass_kg",
    "length": "length_m",
    "length_m": "length_m",
}


_THOUSANDS = re.compile(r"^\d{1,3}([.\s]\d{3})+$")


def parse_mass(text: str) -> int:
    """A mass in kg as people type it: ``3500``, ``3.500`` or ``3 500`` (Dutch thousands), ``3500,0``.

    >>> parse_mass("3.500"), parse_mass("3500"), parse_mass("18 000")
    (3500, 3500, 18000)
    """
    raw = text.strip().lower().removesuffix("kg").strip()
    if _THOUSANDS.match(raw):
        raw = re.sub(r"[.\s]", "", raw)
    value = float(raw.replace(",", "."))
    if not value.is_integer() or value < 100:
        raise ValueError(f"mass {text!r}: expected whole kilograms (TMM), e.g. 3500")
    return int(value)


@dataclass(frozen=True, slots=True)
class FleetRow:
    """One input line: where it came from and what it says."""

    line: int
    given: VehicleInput


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise SourceError(f"{name}: not a text file (expected CSV in UTF-8 or Windows-1252)", file=name) from exc


def read_fleet_file(path: Path) -> list[FleetRow]:
    """Read a fleet list (CSV or .xlsx) into rows, naming file and line of anything malformed."""
    name = str(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise SourceError(f"{name}: file is larger than {MAX_BYTES // (1024 * 1024)} MB", file=name)
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{name}: cannot read ({exc.strerror})", file=name) from exc
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _rows_from_table(_xlsx_rows(data, name), name)
    text = _decode(data, name)
    if not text.strip():
        raise SourceError(f"{name}: the file is empty (expected a list of plates or vehicle rows)", file=name)
    first = text.splitlines()[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    return _rows_from_table(rows, name)


def _xlsx_rows(data: bytes, name: str) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken workbook
        raise SourceError(f"{name}: not a readable Excel workbook ({exc})", file=name) from exc
    sheet = wb.worksheets[0]
    out = []
    for row in sheet.iter_rows(values_only=True):
        out.append(["" if v is None else (v.date().isoformat() if isinstance(v, datetime) else str(v)) for v in row])
    return out


def _rows_from_table(rows: list[list[str]], name: str) -> list[FleetRow]:
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise SourceError(f"{name}: no rows", file=name)
    header = [c.strip().lower().lstrip("\ufeff") for c in rows[0]]
    has_header = any(h in PLATE_COLUMNS or h in ATTRIBUTE_COLUMNS for h in header)
    if not has_header:
        try:
            normalise_plate(rows[0][0])
        except RuasError:
            raise SourceError(
                f"{name}, line 1: no known column header (expected one of {', '.join(PLATE_COLUMNS)}, "
                "or attribute columns such as category;fuel;emission_class;first_admission;mass) "
                "and the first cell is not a plate",
                file=name,
                line=1,
            ) from None
        header = ["kenteken"]
        body = list(enumerate(rows, start=1))
    else:
        body = list(enumerate(rows[1:], start=2))
    if len(body) > MAX_ROWS:
        raise SourceError(f"{name}: {len(body)} rows; at most {MAX_ROWS} are accepted at once", file=name)
    plate_col = next((i for i, h in enumerate(header) if h in PLATE_COLUMNS), None)
    attr_cols = {i: ATTRIBUTE_COLUMNS[h] for i, h in enumerate(header) if h in ATTRIBUTE_COLUMNS}
    out: list[FleetRow] = []
    for line, row in body:
        if len(row) > len(header) and any(c.strip() for c in row[len(header) :]):
            raise SourceError(
                f"{name}, line {line}: {len(row)} fields but the header has {len(header)}", file=name, line=line
            )
        values: dict[str, Any] = {}
        try:
            if plate_col is not None and plate_col < len(row) and row[plate_col].strip():
                values["plate"] = normalise_plate(row[plate_col])
            for i, key in attr_cols.items():
                cell = row[i].strip() if i < len(row) else ""
                if not cell:
                    continue
                if key == "first_admission":
                    values[key] = parse_date(cell, "first_admission")
                elif key == "mass_kg":
                    values[key] = parse_mass(cell)
                elif key == "length_m":
                    values[key] = float(cell.replace(",", "."))
                else:
                    values[key] = cell
        except (RuasError, ValueError) as exc:
            raise SourceError(f"{name}, line {line}: {exc}", file=name, line=line) from exc
        if not values:
            continue
        out.append(FleetRow(line, VehicleInput(**values)))
    if not out:
        raise SourceError(f"{name}: no vehicles in the file", file=name)
    return out


@dataclass(frozen=True, slots=True)
class FleetReport:
    """Per vehicle and zone: the segments of access, plus a summary per year."""

    start: datetime
    end: datetime
    zones: tuple[tuple[str, str, str], ...]  # (id, name, status)
    vehicles: pl.DataFrame  # plate, description
    segments: pl.DataFrame  # plate, zone_id, start, end, state
    warnings: tuple[str, ...] = ()

    def verdicts(self) -> pl.DataFrame:
        """One row per vehicle and zone with a plain-language verdict."""
        seg = self.segments.with_columns(
            pl.col("start").dt.convert_time_zone("Europe/Amsterdam").dt.date().alias("from_day"),
            pl.col("end").dt.convert_time_zone("Europe/Amsterdam").dt.date().alias("to_day"),
        )
        rows = []
        for (plate, zone_id), part in seg.group_by(["plate", "zone_id"], maintain_order=True):
            rows.append(
                {
                    "plate": plate,
                    "zone_id": zone_id,
                    "verdict": _verdict(part.to_dicts(), self.end),
                    "loses_access": _loses(part.to_dicts()),
                }
            )
        return pl.DataFrame(
            rows, schema={"plate": pl.Utf8, "zone_id": pl.Utf8, "verdict": pl.Utf8, "loses_access": pl.Date}
        )

    def summary(self) -> pl.DataFrame:
        """How many vehicles lose access in which year, per zone (the replacement plan)."""
        v = self.verdicts().filter(pl.col("loses_access").is_not_null())
        return (
            v.with_columns(pl.col("loses_access").dt.year().alias("year"))
            .group_by(["zone_id", "year"])
            .agg(pl.len().alias("vehicles"))
            .sort(["year", "zone_id"])
        )


def _loses(parts: list[dict[str, Any]]) -> date | None:
    """The first day in the period the vehicle is refused (the period's first day if refused from the start)."""
    for p in parts:
        if p["state"] == "not_allowed":
            return date.fromisoformat(str(p["from_day"]))
    return None


def _verdict(parts: list[dict[str, Any]], end: datetime) -> str:
    words = {
        "allowed": "allowed",
        "not_allowed": "not allowed",
        "window_only": "only in time windows",
        "allowed_with_exemption": "allowed with an exemption held",
    }
    if len(parts) == 1:
        return words[parts[0]["state"]]
    pieces = []
    for i, p in enumerate(parts):
        state = words[p["state"]]
        if i + 1 < len(parts):
            pieces.append(f"{state} until {parts[i + 1]['from_day'].isoformat()}")
        else:
            pieces.append(f"then {state}" if i else state)
    return ", ".join(pieces)


def fleet_report(
    register: Register,
    rows: Sequence[FleetRow],
    *,
    start: datetime,
    end: datetime,
    zone_ids: Sequence[str] | None = None,
    file_name: str = "fleet",
) -> FleetReport:
    """Timelines for every row's vehicle in every zone (default: all zones except time windows)."""
    vehicles = []
    unknown = []
    warnings: list[str] = []
    first_line: dict[str, int] = {}
    unique_rows = []
    for row in rows:
        plate = row.given.plate
        if plate is not None and plate in first_line:
            warnings.append(f"{plate} is listed twice (lines {first_line[plate]} and {row.line}); reported once")
            continue
        if plate is not None:
            first_line[plate] = row.line
        unique_rows.append(row)
    rows = unique_rows
    # one query for every plate given without other attributes (the common case: a list of plates)
    plain = [r.given.plate for r in rows if r.given.plate is not None and not r.given.overrides()]
    registered = {row["plate"]: vehicle_from_row(row) for row in register.store.vehicle_rows(plain)} if plain else {}
    for row in rows:
        found = registered.get(row.given.plate or "") if not row.given.overrides() else None
        if found is not None:
            vehicles.append(found)
            continue
        try:
            vehicles.append(build_vehicle(register, row.given))
        except RuasError as exc:
            if row.given.plate and "not in the vehicle register" in exc.message:
                unknown.append(f"line {row.line}: {row.given.plate}")
                continue
            raise SourceError(f"{file_name}, line {row.line}: {exc.message}", file=file_name, line=row.line) from exc
    if unknown:
        raise SourceError(
            f"{file_name}: {len(unknown)} plate(s) not in the vehicle register: "
            + "; ".join(unknown[:20])
            + (" ..." if len(unknown) > 20 else ""),
            file=file_name,
            unknown=unknown,
        )
    # rows without a plate get a line-based label so the report can name them
    labelled = [v if v.plate else replace(v, plate=f"LINE{r.line}") for v, r in zip(vehicles, rows, strict=True)]
    frame = vehicles_to_frame(labelled)
    book = register.book
    if zone_ids is None:
        zone_ids = [z.id for z in book.zones if z.kind is not ZoneKind.TIME_WINDOW]
    if end <= start:
        raise InvalidInput("--to must be after --from", field="to")
    # the exemptions the fleet holds count as in a single check (one query for every registered plate)
    rows_of = {r.given.plate: i for i, r in enumerate(rows) if r.given.plate is not None}
    grants = grants_frame(held_grants(register, list(rows_of)), rows_of) if rows_of else None
    segments = timeline_batch(book, frame, zone_ids, start=start, end=end, grants=grants)
    zones = tuple((z, book.zone(z).name, book.zone(z).status.value) for z in zone_ids)
    described = pl.DataFrame(
        {"plate": [v.plate for v in labelled], "vehicle": [v.describe() for v in labelled]},
        schema={"plate": pl.Utf8, "vehicle": pl.Utf8},
    )
    return FleetReport(start, end, zones, described, segments, tuple(warnings))


def held_grants(register: Register, plates: Sequence[str]) -> list[ExemptionGrant]:
    """The granted exemptions of all ``plates`` in one query (chunked for the database's parameter limit).

    Pending, refused and revoked applications give no access and are not read.
    """
    out: list[ExemptionGrant] = []
    with session_scope(register.store.engine) as s:
        for i in range(0, len(plates), 900):
            chunk = list(plates[i : i + 900])
            found = s.scalars(
                select(Application)
                .where(Application.plate.in_(chunk), Application.status == GrantStatus.GRANTED.value)
                .order_by(Application.plate, Application.valid_from, Application.id)
            )
            out.extend(grant_of(a) for a in found)
    return out


def zone_label(name: str, status: str) -> str:
    """A zone's column title, marking announced zones."""
    if status == ZoneStatus.ANNOUNCED.value and "announced" not in name.lower():
        return f"{name} (announced)"
    return name


def default_period(today: date) -> tuple[datetime, datetime]:
    """From today's local midnight until 2031-01-01 (after the last national transition date)."""
    return datetime.combine(today, datetime.min.time(), LOCAL_TZ), datetime(2031, 1, 1, tzinfo=LOCAL_TZ)
