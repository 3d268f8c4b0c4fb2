"""The bundling scenario: receivers, suppliers, demand, candidate hubs, vehicle classes and fleets.

A scenario is one YAML file; any of its list sections may instead name a CSV file next to it
(``receivers: receivers.csv``), which is how planners keep long lists in a spreadsheet. Every
validation error names the file, the row (YAML: ``receivers[3]``; CSV: the line number, header
= line 1), the field and what was expected, and is raised as :class:`ScenarioError`.

Units: kilograms and cubic metres (demand and capacities), metres and seconds (travel), euros
(costs), local clock times ``HH:MM`` in Europe/Amsterdam on the days of the scenario week.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from ruas.domain.errors import InvalidInput

WEEKDAYS: tuple[str, ...] = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
"""Weekday names as OSM ``opening_hours`` writes them; index 0 is Monday."""

DEFAULT_DAYS_BY_FREQUENCY: dict[int, tuple[str, ...]] = {
    1: ("We",),
    2: ("Tu", "Th"),
    3: ("Mo", "We", "Fr"),
    4: ("Mo", "Tu", "Th", "Fr"),
    5: ("Mo", "Tu", "We", "Th", "Fr"),
    6: ("Mo", "Tu", "We", "Th", "Fr", "Sa"),
    7: WEEKDAYS,
}
"""Delivery days assumed when a supplier gives only ``deliveries_per_week`` (spread over the week)."""

VARIANTS: tuple[str, ...] = ("status_quo", "bundled", "concession")


class ScenarioError(InvalidInput):
    """A scenario file is malformed; ``details`` holds ``file``, ``row`` (or ``line``), ``field`` and ``value``."""


# --------------------------------------------------------------------------- value types


@dataclass(frozen=True, slots=True)
class Window:
    """A daily local-time window ``[start_s, end_s)`` in seconds after local midnight."""

    start_s: int
    end_s: int

    def text(self) -> str:
        """``HH:MM-HH:MM``."""
        return f"{_hhmm(self.start_s)}-{_hhmm(self.end_s)}"


@dataclass(frozen=True, slots=True)
class Area:
    """A named polygon (lon/lat ring) used to count vehicle movements into it (the city, a district, a centre)."""

    id: str
    name: str
    ring: tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True)
class VehicleClass:
    """A kind of vehicle in a fleet, with what the rules need to know and what it costs.

    ``category``/``body``/``fuel``/``emission_class``/``first_admission``/``mass_kg`` describe
    the vehicle for the rules engine (built by :func:`ruas.services.check.build_vehicle`).
    ``speed_kmh`` and ``detour_factor`` drive the straight-line travel approximation.
    """

    id: str
    name: str
    category: str
    fuel: str
    first_admission: date
    emission_class: str | None
    body: str | None
    mass_kg: int | None
    capacity_kg: float
    capacity_m3: float
    cost_per_hour_eur: float
    cost_per_km_eur: float
    emission_factor: str
    fixed_cost_per_day_eur: float = 0.0
    speed_kmh: float = 30.0
    detour_factor: float = 1.3
    max_shift_h: float = 9.0

    @property
    def zero_emission(self) -> bool:
        """True for electric or hydrogen vehicles."""
        return self.fuel.strip().lower() in ("electric", "hydrogen")


@dataclass(frozen=True, slots=True)
class Receiver:
    """A delivery address: where, when goods may be received, on which days, and how long a drop takes."""

    id: str
    name: str
    lat: float
    lon: float
    window: Window
    days: tuple[str, ...]
    service_min: float = 10.0
    district: str | None = None
    organisation: str | None = None


@dataclass(frozen=True, slots=True)
class Supplier:
    """A supplier delivering from ``lat``/``lon`` with its own vehicle class on ``days``."""

    id: str
    name: str
    lat: float
    lon: float
    vehicle_class: str
    days: tuple[str, ...]
    depot_window: Window = Window(5 * 3600, 22 * 3600)


@dataclass(frozen=True, slots=True)
class Demand:
    """What ``supplier`` delivers to ``receiver`` in a week (kilograms and cubic metres)."""

    receiver: str
    supplier: str
    weekly_kg: float
    weekly_m3: float


@dataclass(frozen=True, slots=True)
class Hub:
    """A candidate consolidation hub: where, its opening hours, its daily throughput and its costs."""

    id: str
    name: str
    lat: float
    lon: float
    hours: Window
    capacity_kg_per_day: float
    capacity_m3_per_day: float
    fixed_cost_per_day_eur: float = 0.0
    handling_eur_per_kg: float = 0.0
    load_min: float = 10.0


@dataclass(frozen=True, slots=True)
class FleetEntry:
    """``count`` vehicles of ``vehicle_class`` available at the hub (per operator in the concession variant)."""

    vehicle_class: str
    count: int


@dataclass(frozen=True, slots=True)
class District:
    """A concession district: receivers with ``district == id`` are served by one operator (from the chosen hub)."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class SolverSettings:
    """PyVRP settings: fixed seed, a wall-clock limit per solve, an iteration cap (reproducibility) and a stop
    after ``no_improvement`` iterations without a better solution (small instances finish early)."""

    seed: int = 1
    time_limit_s: float = 5.0
    max_iterations: int | None = 5000
    no_improvement: int | None = 500


@dataclass(frozen=True, slots=True)
class Scenario:
    """A complete, validated scenario. ``illustrative`` scenarios must say so in every output."""

    id: str
    name: str
    week_of: date
    illustrative: bool
    notice: str
    vehicle_classes: tuple[VehicleClass, ...]
    receivers: tuple[Receiver, ...]
    suppliers: tuple[Supplier, ...]
    demand: tuple[Demand, ...]
    hubs: tuple[Hub, ...]
    hub_fleet: tuple[FleetEntry, ...]
    districts: tuple[District, ...] = ()
    city: Area | None = None
    areas: tuple[Area, ...] = ()
    solver: SolverSettings = field(default_factory=SolverSettings)
    demand_factors: tuple[float, ...] = (1.0,)
    emission_factors: tuple[Mapping[str, Any], ...] = ()
    source: str = ""

    def vehicle_class(self, class_id: str) -> VehicleClass:
        """The vehicle class with this id."""
        for vc in self.vehicle_classes:
            if vc.id == class_id:
                return vc
        raise ScenarioError(f"unknown vehicle class {class_id!r}", field="vehicle_class", value=class_id)

    def receiver(self, receiver_id: str) -> Receiver:
        """The receiver with this id."""
        for r in self.receivers:
            if r.id == receiver_id:
                return r
        raise ScenarioError(f"unknown receiver {receiver_id!r}", field="receiver", value=receiver_id)

    def supplier(self, supplier_id: str) -> Supplier:
        """The supplier with this id."""
        for s in self.suppliers:
            if s.id == supplier_id:
                return s
        raise ScenarioError(f"unknown supplier {supplier_id!r}", field="supplier", value=supplier_id)

    def hub(self, hub_id: str) -> Hub:
        """The hub with this id."""
        for h in self.hubs:
            if h.id == hub_id:
                return h
        raise ScenarioError(f"unknown hub {hub_id!r}", field="hub", value=hub_id)

    def day_date(self, day: str) -> date:
        """The calendar date of weekday ``day`` (``Mo``..``Su``) in the scenario week."""
        return self.week_of + timedelta(days=WEEKDAYS.index(day))

    def active_days(self) -> tuple[str, ...]:
        """The weekdays on which any supplier delivers, Monday first."""
        used = {d for s in self.suppliers for d in s.days}
        return tuple(d for d in WEEKDAYS if d in used)

    def scaled(self, factor: float) -> Scenario:
        """The same scenario with every demand multiplied by ``factor`` (sensitivity runs)."""
        return replace(
            self,
            demand=tuple(
                replace(d, weekly_kg=d.weekly_kg * factor, weekly_m3=d.weekly_m3 * factor) for d in self.demand
            ),
        )

    def with_hubs(self, hubs: Sequence[Hub]) -> Scenario:
        """The same scenario restricted to the given candidate hubs."""
        return replace(self, hubs=tuple(hubs))


# --------------------------------------------------------------------------- parsing helpers


def _hhmm(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


@dataclass(frozen=True, slots=True)
class _Where:
    """Where a value came from, for error messages: file and row label (``receivers[2]`` or ``line 4``)."""

    file: str
    row: str
    line: int | None = None

    def error(self, fld: str, message: str, value: Any = None) -> ScenarioError:
        details: dict[str, Any] = {"file": self.file, "row": self.row, "field": fld}
        if self.line is not None:
            details["line"] = self.line
        if value is not None:
            details["value"] = str(value)
        return ScenarioError(f"{self.file}, {self.row}, field '{fld}': {message}", **details)


class _Row:
    """One record (a YAML mapping or a CSV row) with typed accessors that raise errors naming the place."""

    def __init__(self, data: Mapping[str, Any], where: _Where) -> None:
        if not isinstance(data, Mapping):
            raise ScenarioError(
                f"{where.file}, {where.row}: expected a mapping of fields, got {type(data).__name__}",
                file=where.file,
                row=where.row,
            )
        self.data = {str(k).strip(): v for k, v in data.items()}
        self.where = where

    def _raw(self, key: str) -> Any:
        value = self.data.get(key)
        if isinstance(value, str):
            value = value.strip()
            if value == "":
                return None
        return value

    def has(self, key: str) -> bool:
        return self._raw(key) is not None

    def text(self, key: str, default: str | None = None) -> str:
        value = self._raw(key)
        if value is None:
            if default is None:
                raise self.where.error(key, "is required")
            return default
        return str(value)

    def opt_text(self, key: str) -> str | None:
        value = self._raw(key)
        return None if value is None else str(value)

    def number(
        self,
        key: str,
        default: float | None = None,
        *,
        minimum: float = 0.0,
        positive: bool = False,
        maximum: float = 1e9,
    ) -> float:
        value = self._raw(key)
        if value is None:
            if default is None:
                raise self.where.error(key, "is required")
            return default
        try:
            out = float(str(value).replace(",", ".")) if not isinstance(value, int | float) else float(value)
        except ValueError:
            raise self.where.error(key, f"{value!r} is not a number", value) from None
        if not math.isfinite(out) or out < minimum or (positive and out <= 0):
            need = "a positive number" if positive else f"a number >= {minimum:g}"
            raise self.where.error(key, f"{value!r} must be {need}", value)
        if out > maximum:
            raise self.where.error(key, f"{value!r} is more than the maximum {maximum:g}", value)
        return out

    def integer(self, key: str, default: int | None = None, *, minimum: int = 0, maximum: int = 10**9) -> int:
        value = self.number(key, None if default is None else float(default), minimum=minimum, maximum=maximum)
        if value != int(value):
            raise self.where.error(key, f"{value!r} must be a whole number", value)
        return int(value)

    def coordinate(self, key: str, low: float, high: float) -> float:
        value = self.number(key, minimum=-1e9)
        if not low <= value <= high:
            raise self.where.error(key, f"{value!r} is outside {low:g}..{high:g}", value)
        return value

    def day(self, key: str) -> date:
        value = self._raw(key)
        if value is None:
            raise self.where.error(key, "is required (a date YYYY-MM-DD)")
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise self.where.error(key, f"{value!r} is not a date YYYY-MM-DD", value) from None

    def window(self, key: str, default: str | None = None) -> Window:
        raw = self.text(key, default)
        try:
            return parse_window(raw)
        except ValueError as exc:
            raise self.where.error(key, str(exc), raw) from None

    def days(self, key: str, default: Sequence[str] | None = None) -> tuple[str, ...]:
        value = self._raw(key)
        if value is None:
            if default is None:
                raise self.where.error(key, "is required (e.g. 'Mo-Fr' or 'Mo,We,Fr')")
            return tuple(default)
        try:
            return parse_days(value)
        except ValueError as exc:
            raise self.where.error(key, str(exc), value) from None

    def boolean(self, key: str, default: bool) -> bool:
        value = self._raw(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        word = str(value).lower()
        if word in ("true", "yes", "1", "ja"):
            return True
        if word in ("false", "no", "0", "nee"):
            return False
        raise self.where.error(key, f"{value!r} is not true or false", value)


def parse_window(text: str) -> Window:
    """``"08:00-12:30"`` -> seconds after midnight; the end may be ``24:00``; the window must not be empty."""
    parts = str(text).replace("–", "-").split("-")
    if len(parts) != 2:
        raise ValueError(f"{text!r} is not a time window HH:MM-HH:MM")
    bounds: list[int] = []
    for part in parts:
        hh, sep, mm = part.strip().partition(":")
        if not sep or not hh.isdigit() or not mm.isdigit() or len(mm) != 2:
            raise ValueError(f"{text!r} is not a time window HH:MM-HH:MM")
        h, m = int(hh), int(mm)
        if h > 24 or m > 59 or (h == 24 and m != 0):
            raise ValueError(f"{text!r} has a time outside 00:00-24:00")
        bounds.append(h * 3600 + m * 60)
    if bounds[1] <= bounds[0]:
        raise ValueError(f"{text!r} ends before it starts (windows past midnight are not supported)")
    return Window(bounds[0], bounds[1])


def parse_days(value: Any) -> tuple[str, ...]:
    """``"Mo-Fr"``, ``"Mo,We,Fr"`` or a list of day names -> weekdays in week order."""
    items = [str(v) for v in value] if isinstance(value, list | tuple) else str(value).replace(";", ",").split(",")
    found: set[str] = set()
    for item in items:
        token = item.strip()
        if not token:
            continue
        if "-" in token:
            a, _, b = token.partition("-")
            a, b = a.strip().capitalize(), b.strip().capitalize()
            if a not in WEEKDAYS or b not in WEEKDAYS:
                raise ValueError(f"{token!r} is not a day range like Mo-Fr")
            i, j = WEEKDAYS.index(a), WEEKDAYS.index(b)
            if j < i:
                raise ValueError(f"{token!r} runs backwards")
            found.update(WEEKDAYS[i : j + 1])
        else:
            name = token.capitalize()
            if name not in WEEKDAYS:
                raise ValueError(f"{token!r} is not a weekday ({', '.join(WEEKDAYS)})")
            found.add(name)
    if not found:
        raise ValueError("no weekday given")
    return tuple(d for d in WEEKDAYS if d in found)


# --------------------------------------------------------------------------- loading


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario YAML file (list sections may be CSV files next to it)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ScenarioError(f"{path}: scenario file not found", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read the scenario file ({exc})", file=str(path)) from None
    return scenario_from_text(text, path.name, base=path.parent)


def scenario_from_text(text: str, name: str = "scenario.yaml", *, base: Path | None = None) -> Scenario:
    """Parse a scenario from YAML text; ``name`` is used in errors, ``base`` resolves CSV references."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ScenarioError(
            f"{name}{f', line {line}' if line else ''}: not valid YAML ({getattr(exc, 'problem', exc)})",
            file=name,
            line=line,
        ) from None
    if not isinstance(data, Mapping):
        raise ScenarioError(f"{name}: expected a mapping with sections such as 'receivers' and 'suppliers'", file=name)
    return scenario_from_data(data, name, base=base)


def _records(data: Mapping[str, Any], key: str, name: str, base: Path | None, *, required: bool) -> Iterator[_Row]:
    """The records of a list section: inline YAML items, or the rows of a CSV file the section names."""
    value = data.get(key)
    if value is None:
        if required:
            raise ScenarioError(f"{name}: section '{key}' is required", file=name, field=key)
        return
    if isinstance(value, str):
        if base is None:
            raise ScenarioError(
                f"{name}, field '{key}': a CSV file reference ({value!r}) needs a scenario read from a file",
                file=name,
                field=key,
            )
        csv_path = (base / value).resolve()
        if not csv_path.is_relative_to(base.resolve()):
            raise ScenarioError(
                f"{name}, field '{key}': CSV file {value!r} must lie in the scenario's folder", file=name, field=key
            )
        try:
            raw = csv_path.read_text(encoding="utf-8-sig")
        except OSError:
            raise ScenarioError(
                f"{name}, field '{key}': CSV file {value!r} not found next to the scenario", file=name, field=key
            ) from None
        yield from csv_rows(raw, value)
        return
    if not isinstance(value, list):
        raise ScenarioError(
            f"{name}, field '{key}': expected a list of records or the name of a CSV file", file=name, field=key
        )
    for i, item in enumerate(value):
        yield _Row(item, _Where(name, f"{key}[{i}]"))


def csv_rows(text: str, file: str) -> Iterator[_Row]:
    """Rows of a comma- or semicolon-separated CSV text (header on line 1), each labelled with its line."""
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    if not reader.fieldnames:
        raise ScenarioError(f"{file}: the CSV file is empty (expected a header row)", file=file, line=1)
    for row in reader:
        line = reader.line_num
        if None in row:
            raise ScenarioError(f"{file}, line {line}: more values than header columns", file=file, line=line)
        if all((v or "").strip() == "" for v in row.values()):
            continue
        yield _Row(row, _Where(file, f"line {line}", line))


def _unique(rows: list[tuple[str, _Where]], what: str) -> None:
    seen: dict[str, _Where] = {}
    for ident, where in rows:
        if ident in seen:
            raise where.error("id", f"duplicate {what} id {ident!r} (first at {seen[ident].row})", ident)
        seen[ident] = where


def _area(value: Any, where: _Where, fld: str, ident: str, label: str) -> Area:
    if isinstance(value, Mapping):
        row = _Row(value, where)
        ident = row.text("id", ident)
        label = row.text("name", label)
        value = row.data.get("polygon")
    if not isinstance(value, list) or len(value) < 3:
        raise where.error(fld, "expected a polygon: a list of at least 3 [lon, lat] points")
    ring: list[tuple[float, float]] = []
    for k, pt in enumerate(value):
        if not isinstance(pt, list | tuple) or len(pt) != 2:
            raise where.error(f"{fld}[{k}]", "expected a [lon, lat] pair", pt)
        try:
            lon, lat = float(pt[0]), float(pt[1])
        except (TypeError, ValueError):
            raise where.error(f"{fld}[{k}]", "expected numbers [lon, lat]", pt) from None
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise where.error(f"{fld}[{k}]", "is not a [lon, lat] pair in degrees", pt)
        ring.append((lon, lat))
    return Area(ident, label, tuple(ring))


def scenario_from_data(data: Mapping[str, Any], name: str = "scenario.yaml", *, base: Path | None = None) -> Scenario:
    """Build and validate a scenario from parsed YAML data."""
    head = _Row(data.get("scenario") or {}, _Where(name, "scenario"))
    settings = _Row(data.get("settings") or {}, _Where(name, "settings"))

    classes = [(_vehicle_class(row), row.where) for row in _records(data, "vehicle_classes", name, base, required=True)]
    _unique([(c.id, where) for c, where in classes], "vehicle class")
    class_ids = {c.id for c, _ in classes}

    receivers = [_receiver(row) for row in _records(data, "receivers", name, base, required=True)]
    suppliers = [_supplier(row, class_ids) for row in _records(data, "suppliers", name, base, required=True)]
    hubs = [_hub(row) for row in _records(data, "hubs", name, base, required=False)]
    for what, items in (("receiver", receivers), ("supplier", suppliers), ("hub", hubs)):
        _unique([(it.id, it_where) for it, it_where in items], what)
    receiver_ids = {r.id: r for r, _ in receivers}
    supplier_ids = {s.id: s for s, _ in suppliers}

    demand: list[Demand] = []
    seen_pairs: dict[tuple[str, str], str] = {}
    for row in _records(data, "demand", name, base, required=True):
        d = Demand(
            receiver=row.text("receiver"),
            supplier=row.text("supplier"),
            weekly_kg=row.number("weekly_kg", maximum=1e7),
            weekly_m3=row.number("weekly_m3", maximum=1e5),
        )
        if d.receiver not in receiver_ids:
            raise row.where.error("receiver", f"unknown receiver {d.receiver!r}", d.receiver)
        if d.supplier not in supplier_ids:
            raise row.where.error("supplier", f"unknown supplier {d.supplier!r}", d.supplier)
        pair = (d.receiver, d.supplier)
        if pair in seen_pairs:
            raise row.where.error("supplier", f"demand for {pair} is given twice (first at {seen_pairs[pair]})")
        seen_pairs[pair] = row.where.row
        if d.weekly_kg <= 0 and d.weekly_m3 <= 0:
            raise row.where.error("weekly_kg", "a demand row needs weekly_kg or weekly_m3 above zero")
        missing = [day for day in supplier_ids[d.supplier].days if day not in receiver_ids[d.receiver].days]
        if missing:
            raise row.where.error(
                "supplier",
                f"supplier {d.supplier!r} delivers on {', '.join(missing)} but receiver {d.receiver!r} "
                f"receives only on {', '.join(receiver_ids[d.receiver].days)}",
            )
        demand.append(d)

    fleet: list[FleetEntry] = []
    for row in _records(data, "hub_fleet", name, base, required=False):
        entry = FleetEntry(row.text("vehicle_class"), row.integer("count", minimum=1, maximum=10_000))
        if entry.vehicle_class not in class_ids:
            raise row.where.error(
                "vehicle_class", f"unknown vehicle class {entry.vehicle_class!r}", entry.vehicle_class
            )
        fleet.append(entry)
    if hubs and not fleet:
        raise ScenarioError(
            f"{name}: section 'hub_fleet' is required when hubs are given (the vehicles that serve the last mile)",
            file=name,
            field="hub_fleet",
        )

    districts: list[District] = []
    for row in _records(data, "districts", name, base, required=False):
        districts.append(District(row.text("id"), row.text("name", row.text("id"))))
    _unique([(d.id, _Where(name, "districts")) for d in districts], "district")
    district_ids = {d.id for d in districts}
    for r, where in receivers:
        if r.district is not None and districts and r.district not in district_ids:
            raise where.error("district", f"unknown district {r.district!r}", r.district)

    city = None
    if data.get("city") is not None:
        city = _area(data["city"], _Where(name, "city"), "polygon", "city", "city")
    areas = []
    for i, item in enumerate(_list(data, "areas", name)):
        areas.append(_area(item, _Where(name, f"areas[{i}]"), "polygon", f"area-{i}", f"area {i}"))

    factors_raw = data.get("demand_factors", settings.data.get("demand_factors", [1.0]))
    if not isinstance(factors_raw, list) or not factors_raw:
        raise settings.where.error("demand_factors", "expected a list of positive numbers such as [0.5, 1, 1.5]")
    factors: list[float] = []
    for k, value in enumerate(factors_raw):
        try:
            f = float(value)
        except (TypeError, ValueError):
            raise settings.where.error(f"demand_factors[{k}]", f"{value!r} is not a number", value) from None
        if not 0 < f <= 100:
            raise settings.where.error(f"demand_factors[{k}]", f"{value!r} must lie in (0, 100]", value)
        factors.append(f)

    max_iter = settings.integer("max_iterations", 5000, minimum=0)
    solver = SolverSettings(
        seed=settings.integer("seed", 1, maximum=2**31 - 1),
        time_limit_s=settings.number("time_limit_s", 5.0, positive=True, maximum=86_400.0),
        max_iterations=max_iter or None,
        no_improvement=settings.integer("no_improvement", 500, minimum=0) or None,
    )
    extra_factors = []
    for i, item in enumerate(_list(data, "emission_factors", name)):
        row = _Row(item, _Where(name, f"emission_factors[{i}]"))
        for key in ("id", "source", "year", "basis"):
            row.text(key)
        row.number("co2_g_per_km")
        row.number("nox_g_per_km")
        extra_factors.append(dict(row.data))
    return Scenario(
        id=head.text("id", Path(name).stem),
        name=head.text("name", Path(name).stem),
        week_of=_monday(head),
        illustrative=head.boolean("illustrative", False),
        notice=head.text("notice", ""),
        vehicle_classes=tuple(c for c, _ in classes),
        receivers=tuple(r for r, _ in receivers),
        suppliers=tuple(s for s, _ in suppliers),
        demand=tuple(demand),
        hubs=tuple(h for h, _ in hubs),
        hub_fleet=tuple(fleet),
        districts=tuple(districts),
        city=city,
        areas=tuple(areas),
        solver=solver,
        demand_factors=tuple(factors),
        emission_factors=tuple(extra_factors),
        source=name,
    )


def _list(data: Mapping[str, Any], key: str, name: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ScenarioError(f"{name}, field '{key}': expected a list", file=name, field=key)
    return value


def _monday(head: _Row) -> date:
    day = head.day("week_of")
    if day.weekday() != 0:
        raise head.where.error("week_of", f"{day.isoformat()} is not a Monday (the scenario week starts on Monday)")
    return day


def _vehicle_class(row: _Row) -> VehicleClass:
    fuel = row.text("fuel")
    zero = fuel.strip().lower() in ("electric", "hydrogen")
    emission = row.opt_text("emission_class")
    if emission is None and not zero:
        raise row.where.error("emission_class", "is required for a combustion vehicle (0-6)")
    return VehicleClass(
        id=row.text("id"),
        name=row.text("name", row.text("id")),
        category=row.text("category"),
        fuel=fuel,
        first_admission=row.day("first_admission"),
        emission_class=emission,
        body=row.opt_text("body"),
        mass_kg=row.integer("mass_kg", minimum=1, maximum=100_000) if row.has("mass_kg") else None,
        capacity_kg=row.number("capacity_kg", positive=True, maximum=1e6),
        capacity_m3=row.number("capacity_m3", positive=True, maximum=1e4),
        cost_per_hour_eur=row.number("cost_per_hour_eur", maximum=1e4),
        cost_per_km_eur=row.number("cost_per_km_eur", maximum=1e3),
        emission_factor=row.text("emission_factor"),
        fixed_cost_per_day_eur=row.number("fixed_cost_per_day_eur", 0.0, maximum=1e6),
        speed_kmh=row.number("speed_kmh", 30.0, minimum=1.0, maximum=200.0),
        detour_factor=row.number("detour_factor", 1.3, minimum=1.0, maximum=10.0),
        max_shift_h=row.number("max_shift_h", 9.0, positive=True, maximum=24.0),
    )


def _receiver(row: _Row) -> tuple[Receiver, _Where]:
    return (
        Receiver(
            id=row.text("id"),
            name=row.text("name", row.text("id")),
            lat=row.coordinate("lat", -90, 90),
            lon=row.coordinate("lon", -180, 180),
            window=row.window("window", "07:00-17:00"),
            days=row.days("days", WEEKDAYS[:5]),
            service_min=row.number("service_min", 10.0, maximum=600.0),
            district=row.opt_text("district"),
            organisation=row.opt_text("organisation"),
        ),
        row.where,
    )


def _supplier(row: _Row, class_ids: set[str]) -> tuple[Supplier, _Where]:
    vc = row.text("vehicle_class")
    if vc not in class_ids:
        raise row.where.error(
            "vehicle_class", f"unknown vehicle class {vc!r} (known: {', '.join(sorted(class_ids))})", vc
        )
    if row.has("days"):
        days = row.days("days")
        if row.has("deliveries_per_week") and row.integer("deliveries_per_week") != len(days):
            raise row.where.error("deliveries_per_week", f"does not match the {len(days)} days given in 'days'")
    else:
        n = row.integer("deliveries_per_week", minimum=1)
        if n > 7:
            raise row.where.error("deliveries_per_week", f"{n} is more than 7 (give at most one delivery a day)", n)
        days = DEFAULT_DAYS_BY_FREQUENCY[n]
    return (
        Supplier(
            id=row.text("id"),
            name=row.text("name", row.text("id")),
            lat=row.coordinate("lat", -90, 90),
            lon=row.coordinate("lon", -180, 180),
            vehicle_class=vc,
            days=days,
            depot_window=row.window("depot_hours", "05:00-22:00"),
        ),
        row.where,
    )


def _hub(row: _Row) -> tuple[Hub, _Where]:
    return (
        Hub(
            id=row.text("id"),
            name=row.text("name", row.text("id")),
            lat=row.coordinate("lat", -90, 90),
            lon=row.coordinate("lon", -180, 180),
            hours=row.window("hours", "06:00-20:00"),
            capacity_kg_per_day=row.number("capacity_kg_per_day", positive=True, maximum=1e8),
            capacity_m3_per_day=row.number("capacity_m3_per_day", positive=True, maximum=1e6),
            fixed_cost_per_day_eur=row.number("fixed_cost_per_day_eur", 0.0, maximum=1e6),
            handling_eur_per_kg=row.number("handling_eur_per_kg", 0.0, maximum=1e3),
            load_min=row.number("load_min", 10.0, maximum=600.0),
        ),
        row.where,
    )


def scenario_document(path: Path) -> dict[str, Any]:
    """A scenario file as one JSON-ready document: CSV sections read in as lists of records (for the API)."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8-sig"))
    if not isinstance(data, dict):
        raise ScenarioError(f"{path.name}: expected a mapping", file=path.name)
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, str) and value.lower().endswith(".csv"):
            out[key] = [dict(row.data) for row in _records(data, key, path.name, path.parent, required=True)]
        elif isinstance(value, date):
            out[key] = value.isoformat()
        else:
            out[key] = value
    head = out.get("scenario")
    if isinstance(head, dict):
        out["scenario"] = {k: v.isoformat() if isinstance(v, date) else v for k, v in head.items()}
    return out
