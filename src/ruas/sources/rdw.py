"""Adapter for RDW open-data exports (the Dutch vehicle register) into the canonical vehicle table.

Input files are exports from opendata.rdw.nl in the real column layout:

* CSV as the portal exports it: a header row, comma-separated (semicolons are accepted
  too), optionally starting with a UTF-8 byte-order mark. Header cells may be the API
  field names (``datum_eerste_toelating``) or the portal's labels (``Datum eerste
  toelating``); both are normalised to the field names (the label ``Emissieklasse``
  is the field ``emissiecode_omschrijving``).
* JSON in the shape of the Socrata ``/resource/<id>.json`` API: an array of objects
  whose values are strings (Socrata leaves out keys whose value is null).

A file's dataset is recognised by its columns, never by its name:

=============  ===========================================  =============================
dataset id     RDW name                                     recognised by the column
=============  ===========================================  =============================
``m9d7-ebf2``  Gekentekende_voertuigen (vehicles)           ``voertuigsoort``
``8ys7-d773``  Gekentekende_voertuigen_brandstof (fuel)     ``brandstof_omschrijving``
``vezc-m2t6``  Gekentekende_voertuigen_carrosserie          ``carrosserietype``
``jhie-znh9``  Gekentekende_voertuigen_carrosserie_spec.    ``carrosseriecode``
``7ug8-2dtt``  Gekentekende_voertuigen_bijzonderheden       ``bijzonderheid_code`` or
                                                            ``code_bijzonderheid``
=============  ===========================================  =============================

All datasets are joined on ``kenteken``. The column names of ``m9d7-ebf2`` and
``8ys7-d773`` were checked against the RDW metadata (``/work/shared/data/rdw``).
**The column names of ``vezc-m2t6``, ``jhie-znh9`` and ``7ug8-2dtt`` could not be
verified offline against RDW's own metadata**: they follow third-party clients
(e.g. github NiekNijland/rdw-php, ``src/Fields/RegisteredVehicleSpecialFeatureField.php``
lists ``bijzonderheid_code``), so both spellings of the special-code column are accepted.

Derivation per vehicle (units: kg, metres):

* ``plate``: ``kenteken`` normalised (``"vq-123-b"`` -> ``"VQ123B"``);
* ``category``: ``europese_voertuigcategorie`` (M1..N3 as is, L*/O*/T* -> L/O/T, else
  ``other``); when it is empty (old vehicles), from ``voertuigsoort`` and the TMM, with
  a warning;
* ``max_mass_kg``: ``toegestane_maximum_massa_voertuig`` (TMM); when empty, the first
  of ``technische_max_massa_voertuig``, ``massa_rijklaar``, with a warning;
* ``length_m``/``width_m``/``height_m``: ``lengte``, ``breedte``, ``hoogte_voertuig``
  in **centimetres** -> metres (0 or empty -> unknown);
* ``first_admission``: ``datum_eerste_toelating`` (YYYYMMDD), else ``..._dt``;
* ``fuels``: every fuel row's ``brandstof_omschrijving`` (Diesel, Benzine, LPG,
  CNG/Aardgas, LNG, Elektriciteit, Waterstof; anything else ``other``);
* ``emission_class``: ``Z`` when every fuel is electric or hydrogen (a plug-in hybrid,
  combustion fuel + Elektriciteit, is never Z); otherwise the lowest class over the
  combustion fuel rows, read from ``emissiecode_omschrijving`` (``"5"``, ``"Euro 6"``,
  ``"VI"``, the old letter codes ``A`` = 2005 requirements -> 4 and ``E`` = EEV -> 5) or
  else ``uitlaatemissieniveau`` (``"EURO 6 AP"``); unknown -> ``"0"`` with a warning;
* ``body``: tractor when a ``carrosserietype`` is ``BC`` (opleggertrekker) or
  ``inrichting`` says opleggertrekker; goods vehicle (N) with TMM <= 3,500 kg -> van,
  heavier -> rigid; M2/M3 -> bus; M1 -> car, or special with an S* body type; L ->
  motorcycle; anything else -> other;
* ``special_purpose``: ``carrosserietype`` values starting with ``S`` (SA..SH);
  ``body_codes``: ``carrosseriecode`` values; ``special_codes``: bijzonderheid codes;
  ``usage``: ``{"taxi"}`` when ``taxi_indicator`` is ``Ja``. ``axle_load_kg`` stays
  unknown (the axle dataset is not read).

Every problem in the input raises :class:`SourceError` whose ``details`` name the
``file``, the ``line`` (CSV, 1-based, the header is line 1) or ``index`` (JSON array
position, 0-based), the ``column`` and what was ``expected``. A load either succeeds
as a whole or raises: there is no partial result. Recoverable gaps (no fuel rows,
unknown emission class, missing EU category) become aggregated warnings.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from ruas.domain.errors import InvalidInput, InvalidPlate, SourceError
from ruas.domain.vehicle import (
    ZERO_EMISSION_FUELS,
    Body,
    Category,
    EmissionClass,
    Fuel,
    Vehicle,
    normalise_plate,
)
from ruas.register.vehicle_table import vehicles_to_frame

VEHICLES = "m9d7-ebf2"
"""Dataset id of Gekentekende_voertuigen (one row per vehicle)."""
FUEL = "8ys7-d773"
"""Dataset id of Gekentekende_voertuigen_brandstof (one row per fuel of a vehicle)."""
BODY = "vezc-m2t6"
"""Dataset id of Gekentekende_voertuigen_carrosserie (EU body type, e.g. BB, BC, SH)."""
BODY_SPECIFIC = "jhie-znh9"
"""Dataset id of Gekentekende_voertuigen_carrosserie_specificatie (body code, e.g. ``"15"``)."""
SPECIAL = "7ug8-2dtt"
"""Dataset id of Gekentekende_voertuigen_bijzonderheden (special codes, e.g. ``"145"``)."""

DATASET_NAMES: dict[str, str] = {
    VEHICLES: "Gekentekende_voertuigen",
    FUEL: "Gekentekende_voertuigen_brandstof",
    BODY: "Gekentekende_voertuigen_carrosserie",
    BODY_SPECIFIC: "Gekentekende_voertuigen_carrosserie_specificatie",
    SPECIAL: "Gekentekende_voertuigen_bijzonderheden",
}

_SPECIAL_CODE_COLUMNS = ("bijzonderheid_code", "code_bijzonderheid")

_NEEDED: dict[str, frozenset[str]] = {
    VEHICLES: frozenset(
        {
            "kenteken",
            "voertuigsoort",
            "europese_voertuigcategorie",
            "toegestane_maximum_massa_voertuig",
            "technische_max_massa_voertuig",
            "massa_rijklaar",
            "lengte",
            "breedte",
            "hoogte_voertuig",
            "datum_eerste_toelating",
            "datum_eerste_toelating_dt",
            "inrichting",
            "taxi_indicator",
        }
    ),
    FUEL: frozenset(
        {
            "kenteken",
            "brandstof_volgnummer",
            "brandstof_omschrijving",
            "emissiecode_omschrijving",
            "uitlaatemissieniveau",
            "klasse_hybride_elektrisch_voertuig",
        }
    ),
    BODY: frozenset({"kenteken", "carrosserie_volgnummer", "carrosserietype"}),
    BODY_SPECIFIC: frozenset({"kenteken", "carrosseriecode"}),
    SPECIAL: frozenset({"kenteken", *_SPECIAL_CODE_COLUMNS}),
}

_LABEL_ALIASES = {"emissieklasse": "emissiecode_omschrijving"}
"""Portal labels whose normalised form differs from the API field name."""

FUEL_NAMES: dict[str, Fuel] = {
    "diesel": Fuel.DIESEL,
    "benzine": Fuel.PETROL,
    "lpg": Fuel.LPG,
    "cng": Fuel.CNG,
    "aardgas": Fuel.CNG,
    "lng": Fuel.LNG,
    "elektriciteit": Fuel.ELECTRIC,
    "waterstof": Fuel.HYDROGEN,
}
"""``brandstof_omschrijving`` (lower case) -> fuel; every other description is ``Fuel.OTHER``."""

EMISSION_LETTER_CODES: dict[str, EmissionClass] = {
    "A": EmissionClass.E4,  # "voldoet aan emissie-eisen van 2005" (light vehicles, Euro 4 era)
    "E": EmissionClass.E5,  # EEV, Enhanced Environmentally friendly Vehicle (heavy; between V and VI)
    "EEV": EmissionClass.E5,
}
"""Old letter values of the RDW emission code (BRV "Emissiecode") that map onto a class."""

_HYBRID_COMBUSTION = frozenset({"OVC-HEV", "NOVC-HEV"})
"""``klasse_hybride_elektrisch_voertuig`` values of hybrids with a combustion engine."""

_GOODS = (Category.N1, Category.N2, Category.N3)
_VAN_MAX_MASS_KG = 3500
_MAX_WARNING_EXAMPLES = 5


@dataclass(frozen=True, slots=True)
class RdwLoad:
    """The result of :func:`load_rdw`: the vehicle table, warnings, and the files read.

    ``vehicles`` has the canonical schema (:data:`ruas.register.vehicle_table.VEHICLE_SCHEMA`);
    ``warnings`` are aggregated, one message per kind of gap with a count and examples;
    ``files`` are the paths in the order given; ``datasets`` maps each path to its dataset id.
    """

    vehicles: pl.DataFrame
    warnings: list[str]
    files: list[str]
    datasets: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Where:
    """Where a record came from: file plus CSV line (1-based, header = 1) or JSON index (0-based)."""

    file: str
    line: int | None = None
    index: int | None = None

    def describe(self) -> str:
        if self.line is not None:
            return f"{self.file} line {self.line}"
        if self.index is not None:
            return f"{self.file} item [{self.index}]"
        return self.file

    def details(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.file}
        if self.line is not None:
            out["line"] = self.line
        if self.index is not None:
            out["index"] = self.index
        return out


@dataclass(frozen=True, slots=True)
class _Record:
    """One row of one dataset: normalised plate, the needed non-empty values, its origin."""

    plate: str
    values: dict[str, str]
    where: _Where

    def get(self, column: str) -> str:
        return self.values.get(column, "")


@dataclass(frozen=True, slots=True)
class _Table:
    path: Path
    dataset: str | None
    records: list[_Record]


def _error(where: _Where, column: str | None, problem: str, expected: str, value: Any = None) -> SourceError:
    """A :class:`SourceError` naming file, line or index, column and what was expected."""
    col = f", column {column!r}" if column else ""
    details = where.details()
    details.update(column=column, expected=expected)
    if value is not None:
        details["value"] = value
    return SourceError(f"{where.describe()}{col}: {problem} (expected {expected})", **details)


class _Warnings:
    """Aggregates recoverable gaps: one message per kind, with a count and a few examples."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._examples: dict[str, list[str]] = {}

    def add(self, kind: str, example: str) -> None:
        self._counts[kind] = self._counts.get(kind, 0) + 1
        examples = self._examples.setdefault(kind, [])
        if len(examples) < _MAX_WARNING_EXAMPLES:
            examples.append(example)

    def messages(self) -> list[str]:
        out = []
        for kind, count in self._counts.items():
            examples = "; ".join(self._examples[kind])
            more = ", ..." if count > len(self._examples[kind]) else ""
            out.append(f"{kind}: {count} row(s), e.g. {examples}{more}")
        return out


# --------------------------------------------------------------------------- reading files


def normalise_column(name: str) -> str:
    """An API field name from a header cell: ``'Datum eerste toelating'`` -> ``'datum_eerste_toelating'``.

    >>> normalise_column("\\ufeffTechnische max. massa voertuig")
    'technische_max_massa_voertuig'
    >>> normalise_column("Emissieklasse")
    'emissiecode_omschrijving'
    """
    key = re.sub(r"[^0-9a-z]+", "_", name.replace("\ufeff", "").strip().lower()).strip("_")
    return _LABEL_ALIASES.get(key, key)


def _recognise(columns: set[str], where: _Where) -> str:
    """The dataset id whose marker column is among ``columns``."""
    if "kenteken" not in columns:
        raise _error(where, "kenteken", "no 'kenteken' column", "a 'kenteken' column (the plate) in every dataset")
    matches = []
    if "voertuigsoort" in columns:
        matches.append(VEHICLES)
    if "brandstof_omschrijving" in columns:
        matches.append(FUEL)
    if "carrosserietype" in columns:
        matches.append(BODY)
    if "carrosseriecode" in columns:
        matches.append(BODY_SPECIFIC)
    if any(c.startswith("bijzonderheid") or c in _SPECIAL_CODE_COLUMNS for c in columns):
        matches.append(SPECIAL)
    expected = (
        "the columns of one RDW dataset: voertuigsoort (m9d7-ebf2), brandstof_omschrijving (8ys7-d773), "
        "carrosserietype (vezc-m2t6), carrosseriecode (jhie-znh9) or bijzonderheid_code (7ug8-2dtt)"
    )
    if not matches:
        raise _error(where, None, "the columns match no known RDW dataset", expected, value=sorted(columns)[:20])
    if len(matches) > 1:
        raise _error(where, None, f"the columns match several RDW datasets ({', '.join(matches)})", expected)
    if matches[0] == SPECIAL and not any(c in columns for c in _SPECIAL_CODE_COLUMNS):
        raise _error(
            where,
            "bijzonderheid_code",
            "bijzonderheden file without a code column",
            "a 'bijzonderheid_code' or 'code_bijzonderheid' column",
        )
    return matches[0]


def _plate(raw: str, where: _Where) -> str:
    if not raw.strip():
        raise _error(where, "kenteken", "empty plate", "a Dutch plate, e.g. 'VQ123B'")
    try:
        return normalise_plate(raw)
    except InvalidPlate as exc:
        raise _error(
            where, "kenteken", f"plate {raw!r} is malformed", "6 letters and digits, e.g. 'VQ123B'", raw
        ) from exc


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _error(_Where(str(path), line=line), None, "the file is not valid UTF-8", "UTF-8 text") from exc


def _csv_rows(path: Path, text: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """Header (normalised) and an iterator of (line number, fields) for a CSV text."""
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    name = str(path)
    try:
        header_cells = next(reader)
    except StopIteration:
        raise _error(_Where(name, line=1), None, "the file is empty", "a header row") from None
    except csv.Error as exc:
        raise _error(_Where(name, line=reader.line_num), None, f"malformed CSV ({exc})", "a header row") from exc
    header = [normalise_column(c) for c in header_cells]
    if not any(header):
        raise _error(_Where(name, line=1), None, "the header row is empty", "a header row with column names")

    def rows() -> Iterator[tuple[int, list[str]]]:
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise _error(
                    _Where(name, line=reader.line_num),
                    None,
                    f"malformed CSV ({exc}); the file may be truncated",
                    f"{len(header)} fields with balanced quotes",
                ) from exc
            if not fields:
                continue  # a blank line
            yield reader.line_num, fields

    return header, rows()


def _read_csv(path: Path, text: str) -> _Table:
    name = str(path)
    header, rows = _csv_rows(path, text)
    dataset = _recognise(set(header), _Where(name, line=1))
    keep = [(i, c) for i, c in enumerate(header) if c in _NEEDED[dataset]]
    plate_col = header.index("kenteken")
    records: list[_Record] = []
    for line, fields in rows:
        where = _Where(name, line=line)
        if len(fields) != len(header):
            missing = header[len(fields)] if len(fields) < len(header) else None
            raise _error(
                where,
                missing,
                f"row has {len(fields)} fields, the header has {len(header)}; the file may be truncated",
                f"{len(header)} fields per row",
            )
        values = {c: fields[i].strip() for i, c in keep if fields[i].strip()}
        records.append(_Record(_plate(fields[plate_col], where), values, where))
    return _Table(path, dataset, records)


def _json_value(value: Any, where: _Where, column: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "Ja" if value else "Nee"
    if isinstance(value, int | float):
        return str(value)
    raise _error(where, column, f"value of type {type(value).__name__}", "a string", value=repr(value)[:80])


def _read_json(path: Path, text: str, warnings: _Warnings) -> _Table:
    name = str(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        where = _Where(name, line=exc.lineno)
        raise _error(
            where, None, f"invalid JSON at character {exc.colno} ({exc.msg}); the file may be truncated", "JSON"
        ) from exc
    if not isinstance(data, list):
        raise _error(_Where(name), None, f"JSON {type(data).__name__}", "a JSON array of objects (Socrata .json)")
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            raise _error(_Where(name, index=i), None, f"JSON {type(item).__name__}", "an object per array item")
    if not data:
        warnings.add("empty JSON file skipped (no rows, so no dataset can be recognised)", name)
        return _Table(path, None, [])
    normalised = [{normalise_column(k): v for k, v in item.items()} for item in data]
    columns: set[str] = set().union(*(item.keys() for item in normalised))
    dataset = _recognise(columns, _Where(name))
    needed = _NEEDED[dataset]
    records: list[_Record] = []
    for i, item in enumerate(normalised):
        where = _Where(name, index=i)
        if "kenteken" not in item:
            raise _error(where, "kenteken", "object without 'kenteken'", "a 'kenteken' value in every object")
        values = {}
        for column in needed:
            if column in item:
                value = _json_value(item[column], where, column)
                if value:
                    values[column] = value
        records.append(_Record(_plate(values.get("kenteken", ""), where), values, where))
    return _Table(path, dataset, records)


def _read_table(path: Path, warnings: _Warnings) -> _Table:
    """Read one RDW export (CSV or JSON, told apart by content) and recognise its dataset."""
    name = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _error(_Where(name), None, f"cannot read the file ({exc.strerror})", "a readable file") from exc
    text = _decode(path, data)
    if not text.strip():
        raise _error(_Where(name, line=1), None, "the file is empty", "a CSV header row or a JSON array")
    if text.lstrip()[0] in "[{":
        return _read_json(path, text, warnings)
    return _read_csv(path, text)


# --------------------------------------------------------------------------- derivation


def _category(code: str) -> Category | None:
    """``europese_voertuigcategorie`` -> category; ``None`` when empty."""
    c = code.strip().upper()
    if not c:
        return None
    if c[:2] in {"M1", "M2", "M3", "N1", "N2", "N3"}:
        return Category(c[:2])
    return {"L": Category.L, "O": Category.O, "T": Category.T}.get(c[0], Category.OTHER)


def _category_from_kind(kind: str, mass_kg: int) -> Category:
    """Fallback category from ``voertuigsoort`` and the TMM (EU mass limits of N1/N2 and M2)."""
    k = kind.strip().lower()
    if k == "personenauto":
        return Category.M1
    if k == "bedrijfsauto":
        if mass_kg <= _VAN_MAX_MASS_KG:
            return Category.N1
        return Category.N2 if mass_kg <= 12_000 else Category.N3
    if k == "bus":
        return Category.M2 if mass_kg <= 5_000 else Category.M3
    if k.startswith(("motorfiets", "bromfiets", "driewielig")):
        return Category.L
    if k in {"aanhangwagen", "oplegger", "middenasaanhangwagen"}:
        return Category.O
    if "trekker" in k:
        return Category.T
    return Category.OTHER


def parse_emission_class(text: str) -> EmissionClass | None:
    """Read an RDW emission value as a combustion class 0-6, or ``None`` when it holds none.

    >>> [str(parse_emission_class(t)) for t in ("5", "Euro 6", "VI", "EURO 6 AP", "EURO VI C", "A", "R")]
    ['5', '6', '6', '6', '6', '4', 'None']
    """
    t = text.strip().upper()
    if not t:
        return None
    if t in EMISSION_LETTER_CODES:
        return EMISSION_LETTER_CODES[t]
    t = re.sub(r"^EURO[\s\-]*", "", t)
    digit = re.match(r"([0-6])(?!\d)", t)
    if digit:
        return EmissionClass(digit.group(1))
    roman = re.match(r"(VI|IV|V|III|II|I)(?=$|[^A-Z])", t)
    if roman:
        return EmissionClass(str(["I", "II", "III", "IV", "V", "VI"].index(roman.group(1)) + 1))
    return None


def _int(rec: _Record, column: str, expected: str) -> int | None:
    """A whole number (e.g. kg) from ``column``, or ``None`` when the cell is empty."""
    value = _number(rec, column, expected)
    return None if value is None else round(value)


def _number(rec: _Record, column: str, expected: str) -> float | None:
    """A non-negative finite number from ``column``, or ``None`` when the cell is empty."""
    raw = rec.get(column)
    if not raw:
        return None
    try:
        value = float(raw.replace(",", "."))
    except ValueError:
        raise _error(rec.where, column, f"{raw!r} is not a number", expected, raw) from None
    if not math.isfinite(value) or value < 0:
        raise _error(rec.where, column, f"{raw!r} is not a valid number", expected, raw)
    return value


def _metres(rec: _Record, column: str) -> float | None:
    """A size in metres from an RDW size in centimetres; 0 or empty means unknown."""
    cm = _number(rec, column, "a size in centimetres")
    return cm / 100 if cm else None


def _date(rec: _Record) -> date:
    """DET from ``datum_eerste_toelating`` (YYYYMMDD) or ``datum_eerste_toelating_dt`` (ISO)."""
    raw = rec.get("datum_eerste_toelating")
    column = "datum_eerste_toelating"
    if not raw:
        raw = rec.get("datum_eerste_toelating_dt")
        column = "datum_eerste_toelating_dt"
    if not raw:
        raise _error(rec.where, "datum_eerste_toelating", "no date of first admission (DET)", "YYYYMMDD")
    try:
        if re.fullmatch(r"\d{8}(\.0+)?", raw):
            return date(int(raw[:4]), int(raw[4:6]), int(raw[6:8]))
        iso = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})([T ].*)?", raw)
        if iso:
            return date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        us = re.fullmatch(r"(\d{2})/(\d{2})/(\d{4})( .*)?", raw)  # Socrata CSV calendar format
        if column.endswith("_dt") and us:
            return date(int(us.group(3)), int(us.group(1)), int(us.group(2)))
    except ValueError:
        pass
    expected = "YYYYMMDD" if column == "datum_eerste_toelating" else "an ISO date, e.g. 2018-03-01T00:00:00.000"
    raise _error(rec.where, column, f"{raw!r} is not a valid date", expected, raw)


def _fuel(description: str) -> Fuel:
    return FUEL_NAMES.get(description.strip().lower(), Fuel.OTHER)


def _example(rec: _Record) -> str:
    return f"{rec.plate} ({rec.where.describe()})"


def _fuels_and_class(rec: _Record, fuel_rows: list[_Record], warn: _Warnings) -> tuple[frozenset[Fuel], EmissionClass]:
    """Fuels and emission class of one vehicle from its fuel rows (see the module docstring)."""
    if not fuel_rows:
        warn.add("no fuel rows (8ys7-d773): fuel set to 'other' and emission class to 0", _example(rec))
        return frozenset({Fuel.OTHER}), EmissionClass.E0
    fuels = {_fuel(r.get("brandstof_omschrijving")) for r in fuel_rows}
    hybrid = any(r.get("klasse_hybride_elektrisch_voertuig").upper() in _HYBRID_COMBUSTION for r in fuel_rows)
    if fuels <= ZERO_EMISSION_FUELS and hybrid:
        warn.add("hybrid (OVC-HEV/NOVC-HEV) without a combustion fuel row: fuel 'other' added", _example(rec))
        fuels.add(Fuel.OTHER)
    if fuels <= ZERO_EMISSION_FUELS:
        return frozenset(fuels), EmissionClass.Z
    classes = []
    for r in fuel_rows:
        if _fuel(r.get("brandstof_omschrijving")) in ZERO_EMISSION_FUELS:
            continue
        found = parse_emission_class(r.get("emissiecode_omschrijving"))
        if found is None:
            found = parse_emission_class(r.get("uitlaatemissieniveau"))
        if found is not None:
            classes.append(found)
    if not classes:
        warn.add("emission class unknown: set to class 0", _example(rec))
        return frozenset(fuels), EmissionClass.E0
    return frozenset(fuels), min(classes, key=lambda c: c.rank)


def _max_mass(rec: _Record, warn: _Warnings) -> int:
    expected = "a mass in kg"
    tmm = _int(rec, "toegestane_maximum_massa_voertuig", expected)
    if tmm:
        return tmm
    for column in ("technische_max_massa_voertuig", "massa_rijklaar"):
        value = _int(rec, column, expected)
        if value:
            warn.add(f"no TMM: max_mass_kg taken from {column}", _example(rec))
            return value
    raise _error(
        rec.where,
        "toegestane_maximum_massa_voertuig",
        "no maximum permitted mass (TMM)",
        "a mass in kg (or technische_max_massa_voertuig / massa_rijklaar)",
    )


def _body(category: Category, mass_kg: int, body_types: set[str], rec: _Record) -> Body:
    if category is Category.L:
        return Body.MOTORCYCLE
    if "BC" in body_types or "opleggertrekker" in rec.get("inrichting").lower():
        return Body.TRACTOR
    if category in _GOODS:
        return Body.VAN if mass_kg <= _VAN_MAX_MASS_KG else Body.RIGID
    if category in (Category.M2, Category.M3):
        return Body.BUS
    if category is Category.M1:
        return Body.SPECIAL if any(t.startswith("S") for t in body_types) else Body.CAR
    return Body.OTHER


def _vehicle(
    rec: _Record,
    fuel_rows: list[_Record],
    body_rows: list[_Record],
    spec_rows: list[_Record],
    special_rows: list[_Record],
    warn: _Warnings,
) -> Vehicle:
    mass = _max_mass(rec, warn)
    category = _category(rec.get("europese_voertuigcategorie"))
    if category is None:
        category = _category_from_kind(rec.get("voertuigsoort"), mass)
        warn.add("no europese_voertuigcategorie: category derived from voertuigsoort and TMM", _example(rec))
    fuels, emission = _fuels_and_class(rec, fuel_rows, warn)
    body_types = {r.get("carrosserietype").upper() for r in body_rows if r.get("carrosserietype")}
    codes = set()
    for r in special_rows:
        code = r.get("bijzonderheid_code") or r.get("code_bijzonderheid")
        if code:
            codes.add(code)
    usage = {"taxi"} if rec.get("taxi_indicator").lower() == "ja" else set()
    try:
        return Vehicle(
            category=category,
            body=_body(category, mass, body_types, rec),
            fuels=fuels,
            emission_class=emission,
            first_admission=_date(rec),
            max_mass_kg=mass,
            plate=rec.plate,
            length_m=_metres(rec, "lengte"),
            width_m=_metres(rec, "breedte"),
            height_m=_metres(rec, "hoogte_voertuig"),
            body_codes=frozenset(r.get("carrosseriecode") for r in spec_rows if r.get("carrosseriecode")),
            special_purpose=frozenset(t for t in body_types if t.startswith("S")),
            special_codes=frozenset(codes),
            usage=frozenset(usage),
        )
    except SourceError:
        raise
    except InvalidInput as exc:
        column = {
            "max_mass_kg": "toegestane_maximum_massa_voertuig",
            "length_m": "lengte",
            "width_m": "breedte",
            "height_m": "hoogte_voertuig",
        }.get(str(exc.details.get("field")), exc.details.get("field"))
        raise _error(rec.where, column, exc.message, "a value in range", exc.details.get("value")) from exc


def _group(tables: list[_Table], dataset: str) -> dict[str, list[_Record]]:
    grouped: dict[str, list[_Record]] = {}
    for table in tables:
        if table.dataset == dataset:
            for rec in table.records:
                grouped.setdefault(rec.plate, []).append(rec)
    return grouped


def load_rdw(paths: Sequence[Path | str]) -> RdwLoad:
    """Load RDW exports (CSV or JSON, any of the five datasets) into the canonical vehicle table.

    At least one file must be the vehicles dataset ``m9d7-ebf2``; the others add fuel,
    body and special-code rows by ``kenteken``. Rows of the other datasets for plates
    not among the vehicles are ignored with a warning. Raises :class:`SourceError`
    (naming file, line or index, column and what was expected) on any malformed input;
    nothing is returned then.
    """
    if not paths:
        raise SourceError("no RDW files given", expected="at least the vehicles file (m9d7-ebf2)")
    warn = _Warnings()
    tables = [_read_table(Path(p), warn) for p in paths]
    files = [str(Path(p)) for p in paths]
    datasets = {str(t.path): t.dataset for t in tables if t.dataset is not None}
    if VEHICLES not in datasets.values():
        raise SourceError(
            "none of the files is the RDW vehicles dataset m9d7-ebf2 (Gekentekende_voertuigen)",
            files=files,
            datasets=datasets,
            column="voertuigsoort",
            expected="a file with the columns of m9d7-ebf2 (kenteken, voertuigsoort, ...)",
        )
    seen: dict[str, _Record] = {}
    vehicle_records: list[_Record] = []
    for table in tables:
        if table.dataset != VEHICLES:
            continue
        for rec in table.records:
            if rec.plate in seen:
                raise _error(
                    rec.where,
                    "kenteken",
                    f"plate {rec.plate} appears twice (first at {seen[rec.plate].where.describe()})",
                    "one row per vehicle in m9d7-ebf2",
                    rec.plate,
                )
            seen[rec.plate] = rec
            vehicle_records.append(rec)
    if FUEL not in datasets.values():
        warn.add("no fuel file (8ys7-d773) among the inputs", ", ".join(files))
    grouped = {ds: _group(tables, ds) for ds in (FUEL, BODY, BODY_SPECIFIC, SPECIAL)}
    for ds, by_plate in grouped.items():
        for plate, recs in by_plate.items():
            if plate not in seen:
                warn.add(f"{ds} rows for plates not in the vehicles file: ignored", _example(recs[0]))
    empty: list[_Record] = []

    def get(ds: str, plate: str) -> list[_Record]:
        return grouped[ds].get(plate, empty)

    vehicles = [
        _vehicle(
            rec,
            get(FUEL, rec.plate),
            get(BODY, rec.plate),
            get(BODY_SPECIFIC, rec.plate),
            get(SPECIAL, rec.plate),
            warn,
        )
        for rec in vehicle_records
    ]
    return RdwLoad(vehicles=vehicles_to_frame(vehicles), warnings=warn.messages(), files=files, datasets=datasets)
