"""Delivery bundling in the portal: the shipped (illustrative) Lelystad scenario or an uploaded one, analysed
by :func:`ruas.bundling.report.analyse` — status quo vs bundled via a hub vs concession — with the rounds on a
map, the before/after KPI table per weekday and for the week, whether bundling pays, the sensitivity, the
deliveries nobody may make (with the rules engine's reasons, worded in the visitor's language) and downloads.

Solving is bounded and never holds a request worker for long: the form posts to ``POST /bundling``, which
validates the scenario (errors name the file, row and field as the scenario loader reports them), starts the
analysis in a background thread of this process and waits at most :data:`WAIT_INLINE_S` seconds for it; the
result page (``/bundling/runs/{id}``) shows the progress until the analysis is done (htmx polls
``/bundling/runs/{id}/progress``; without scripts the page refreshes itself). Each solve gets at most the API's
:data:`~ruas.api.routes.bundling.MAX_SOLVE_S` seconds and one analysis the API's
:data:`~ruas.api.routes.bundling.MAX_TOTAL_S` seconds of solving; at most :data:`MAX_RUNNING` analyses run at once
per process and :data:`MAX_WAITING` more may wait; beyond that the form says the planner is busy (503). Results
are kept in memory for :data:`KEEP_S` seconds (the newest :data:`KEEP_RUNS`), reachable by their unguessable id.
Travel times are the straight-line approximation, labelled as such on the page (as in the API).
"""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from babel.numbers import format_decimal
from fastapi import APIRouter, Request, Response
from shapely.geometry import box, shape
from starlette.datastructures import UploadFile

from ruas.api.deps import CurrentRegister, limit_anonymous
from ruas.api.errors import TooManyRequests
from ruas.api.routes.bundling import MAX_RECEIVERS, MAX_SOLVE_S, MAX_TOTAL_S
from ruas.bundling.access import AccessOracle
from ruas.bundling.cli import EXAMPLES, resolve_scenario
from ruas.bundling.matrix import StraightLineMatrix
from ruas.bundling.plan import Planner, Unserved, VariantPlan
from ruas.bundling.report import ASSUMPTIONS, BundlingReport, analyse
from ruas.bundling.scenario import Scenario, ScenarioError, Window, scenario_document, scenario_from_text
from ruas.domain.decision import Access, Effect
from ruas.domain.errors import InvalidInput, NotFound, RuasError
from ruas.domain.timeutil import local_midnight
from ruas.register.store import Register
from ruas.rules.engine import decide
from ruas.web.core import CurrentVisitor, PortalRoute, check_csrf, gettext, redirect, render
from ruas.web.texts import Words, words

router = APIRouter(route_class=PortalRoute, include_in_schema=False)

MAX_RUNNING = 1
"""Analyses solving at once in one process (the solver keeps a core busy; the machine serves pages too)."""
MAX_WAITING = 3
"""Analyses that may wait for a free solver; more and the form answers 503 (busy)."""
WAIT_INLINE_S = 2.0
"""How long ``POST /bundling`` waits for a quick analysis before sending the visitor to the progress page."""
KEEP_S = 3600.0
"""Seconds a finished analysis stays available (page and downloads)."""
KEEP_RUNS = 32
"""At most this many analyses are kept per process (the oldest finished ones go first)."""
MAX_UPLOAD_BYTES = 1_000_000
"""Upload limit per file (the scenario YAML and the CSV files it names)."""
MAX_FILES = 8
TIME_LIMITS: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0, 5.0)
"""Seconds per PyVRP solve offered on the form (all within the API's cap)."""
POLL_S = 1
"""Seconds between progress polls."""

_RUN_ID = re.compile(r"^[A-Za-z0-9_-]{16,32}$")
_FILE_NAME = re.compile(r"^[\w][\w.-]{0,80}$")
N_ = str  # marks messages for extraction (babel's N_ keyword) without translating them here

ASSUMPTION_MESSAGES: tuple[str, ...] = (
    N_("Goods reaching the hub on a day are delivered that day (cross-dock); they arrive before the rounds start."),
    N_("A supplier's weekly demand is spread evenly over its delivery days."),
    N_("A load larger than any allowed vehicle is split into equal drops."),
    N_(
        "Status quo: each supplier's day is planned as optimised rounds from its own origin (a conservative "
        "baseline: real direct deliveries are rarely better planned)."
    ),
    N_("Line-haul to the hub: one return trip per supplier and delivery day, in the supplier's own vehicle class."),
    N_(
        "Access is decided by the rules engine at the start of each delivery window and must hold for the whole window."
    ),
    N_(
        "A vehicle movement into an area is a leg from a point outside it to a point inside it (stops, hub, "
        "origins); with straight-line matrices, crossings of an area between two outside points are not seen."
    ),
    N_(
        "Emission factors: see the table; CO2 is well-to-wheel, NOx tailpipe; figures marked 'assumption' are not "
        "published values."
    ),
)
"""The report's :data:`~ruas.bundling.report.ASSUMPTIONS`, as message ids (a test keeps them equal)."""


# --------------------------------------------------------------------------- analyses in the background


class Busy(RuasError):
    """Every solver slot of this process is taken and the waiting list is full."""


@dataclass
class Run:
    """One analysis: what was asked, how far it got, and its report (or the error that stopped it)."""

    id: str
    scenario: Scenario
    source: str
    time_limit_s: float
    sensitivity: bool
    steps: int
    register: Register
    created: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished_at: float | None = None
    step: int = 0
    stage: str = ""
    report: BundlingReport | None = None
    error: RuasError | None = None
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def finished(self) -> bool:
        """True once the report or an error is there."""
        return self.done.is_set()

    def progress(self, message: str) -> None:
        """The planner's progress callback: a new stage started."""
        self.step = min(self.step + 1, self.steps)
        self.stage = message


def analysis_steps(scenario: Scenario, sensitivity: bool) -> int:
    """How many planning stages :func:`analyse` announces for ``scenario`` (for the progress bar)."""
    steps = 1 + len(scenario.hubs)
    if scenario.hubs and scenario.districts:
        steps += 1
    if sensitivity and scenario.hubs:
        steps += sum(1 for f in scenario.demand_factors if f != 1.0)
    return steps


class Runner:
    """Runs analyses in daemon threads: at most ``running`` at once, ``waiting`` more queued (per process)."""

    def __init__(self, running: int = MAX_RUNNING, waiting: int = MAX_WAITING) -> None:
        self.slots = threading.BoundedSemaphore(running)
        self.capacity = running + waiting
        self.lock = threading.Lock()
        self.runs: OrderedDict[str, Run] = OrderedDict()

    def _prune(self, now: float) -> None:
        for rid, run in list(self.runs.items()):
            if run.finished and run.finished_at is not None and now - run.finished_at > KEEP_S:
                del self.runs[rid]
        finished = [rid for rid, run in self.runs.items() if run.finished]
        while len(self.runs) > KEEP_RUNS and finished:
            del self.runs[finished.pop(0)]

    def active(self) -> int:
        """Analyses running or waiting."""
        return sum(1 for run in self.runs.values() if not run.finished)

    def submit(
        self, scenario: Scenario, register: Register, *, source: str, time_limit_s: float, sensitivity: bool
    ) -> Run:
        """Queue an analysis (raises :class:`Busy` when the process has no room for it)."""
        with self.lock:
            self._prune(time.monotonic())
            if self.active() >= self.capacity:
                raise Busy("the planner is busy with other analyses: try again in a minute", field="scenario")
            run = Run(
                id=secrets.token_urlsafe(18),
                scenario=scenario,
                source=source,
                time_limit_s=time_limit_s,
                sensitivity=sensitivity,
                steps=analysis_steps(scenario, sensitivity),
                register=register,
            )
            self.runs[run.id] = run
        threading.Thread(target=self._work, args=(run,), name=f"ruas-bundling-{run.id[:6]}", daemon=True).start()
        return run

    def _work(self, run: Run) -> None:
        with self.slots:
            run.started = time.monotonic()
            try:
                run.report = analyse(
                    run.scenario,
                    run.register,
                    time_limit_s=run.time_limit_s,
                    sensitivity=run.sensitivity,
                    progress=run.progress,
                    budget_s=MAX_TOTAL_S,
                )
            except RuasError as exc:
                run.error = exc
            except Exception as exc:  # a failed analysis must not leave the page polling forever
                run.error = RuasError(f"the analysis failed: {type(exc).__name__}: {exc}")
            finally:
                run.finished_at = time.monotonic()
                run.done.set()

    def get(self, run_id: str) -> Run:
        """The analysis with this id (raises :class:`NotFound`, e.g. after a restart or when it expired)."""
        with self.lock:
            run = self.runs.get(run_id) if _RUN_ID.match(run_id) else None
        if run is None:
            raise NotFound(
                "this analysis is not (or no longer) known to the server: results are kept for an hour; run it again",
                field="run",
            )
        return run


RUNNER = Runner()
"""The analyses of this process."""


# --------------------------------------------------------------------------- the scenario from the form


def example_scenario(name: str) -> Scenario:
    """A shipped (illustrative) example scenario."""
    return resolve_scenario(f"example:{name}")


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ScenarioError(f"{name}: the file is not UTF-8 text", file=name) from None


def scenario_from_files(files: Mapping[str, bytes]) -> Scenario:
    """A scenario from uploaded files: one YAML file and the CSV files its sections name (by file name only).

    Errors name the file, row and field as :mod:`ruas.bundling.scenario` reports them; a section naming a
    CSV file that was not uploaded (or a path rather than a file name) is refused before anything is read.
    """
    if not files:
        raise InvalidInput("choose a scenario file (.yaml), with the CSV files it names", field="files")
    for name in files:
        if not _FILE_NAME.match(name) or not name.lower().endswith((".yaml", ".yml", ".csv")):
            raise InvalidInput(
                f"{name}: expected a scenario .yaml file and .csv files with plain names", field="files", file=name
            )
    yamls = [n for n in files if n.lower().endswith((".yaml", ".yml"))]
    if len(yamls) != 1:
        raise InvalidInput(
            f"upload exactly one scenario .yaml file (got {len(yamls)}), with the CSV files it names", field="files"
        )
    [main] = yamls
    text = _decode(files[main], main)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        data = None  # scenario_from_text reports it with the line
    if isinstance(data, Mapping):
        for key, value in data.items():
            if isinstance(value, str) and value.lower().endswith(".csv") and value not in files:
                raise ScenarioError(
                    f"{main}, field '{key}': CSV file {value!r} was not uploaded with the scenario "
                    "(choose it together with the .yaml file)",
                    file=main,
                    field=str(key),
                    value=value,
                )
    with tempfile.TemporaryDirectory(prefix="ruas-bundling-") as tmp:
        base = Path(tmp)
        for name, content in files.items():
            if name != main:
                _decode(content, name)
            (base / name).write_bytes(content)
        return scenario_from_text(text, main, base=base)


def _limit(text: str, scenario: Scenario) -> float:
    if not text:
        return min(scenario.solver.time_limit_s, MAX_SOLVE_S)
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        raise InvalidInput(f"time limit {text!r}: expected a number of seconds", field="time_limit") from None
    if not 0 < value <= MAX_SOLVE_S:
        raise InvalidInput(f"time limit: expected more than 0 and at most {MAX_SOLVE_S:g} s", field="time_limit")
    return value


def validate_for_planning(scenario: Scenario, register: Register) -> None:
    """What the planner checks before solving (emission factors, vehicle classes the check service accepts),
    and the API's size cap, so the form can show it at once."""
    if len(scenario.receivers) > MAX_RECEIVERS:
        raise InvalidInput(
            f"{scenario.source}: {len(scenario.receivers)} receivers is more than the portal's {MAX_RECEIVERS}; "
            "use `ruas bundle`",
            field="receivers",
            file=scenario.source,
        )
    Planner(scenario, AccessOracle(register), StraightLineMatrix())


# --------------------------------------------------------------------------- the result, worded


def number(value: float | int | None, digits: int, language: str) -> str:
    """A figure with ``digits`` decimals in the visitor's language (``1.413,1`` / ``1,413.1``)."""
    if value is None:
        return "–"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=language)


def signed(value: float | None, digits: int, language: str) -> str:
    """A change with its sign (``+3,2`` / ``−14,3``; zero without a sign)."""
    if value is None:
        return "–"
    text = number(abs(value), digits, language)
    if round(value, digits) == 0:
        return text
    return ("+" if value > 0 else "−") + text


KPI_DIGITS = {"vehicle_km": 1, "vehicle_hours": 1, "cost_eur": 0, "co2_kg": 1, "nox_g": 0, "routes": 0, "drops": 0}


def kpi_rows(
    variants: Sequence[Mapping[str, Any]],
    totals_of: Callable[[Mapping[str, Any]], Mapping[str, Any] | None],
    areas: Mapping[str, str],
) -> list[dict[str, Any]]:
    """Rows of a before/after table: one per KPI (movements into each area first), a value per variant and the
    change of the bundled variant against the status quo. ``totals_of`` picks the week's or a day's totals."""
    totals = [totals_of(v) for v in variants]
    keys: list[tuple[str, str | None, int]] = [(f"movements:{k}", k, 0) for k in areas]
    keys += [(k, None, d) for k, d in KPI_DIGITS.items()] + [("unserved", None, 0)]
    rows = []
    for key, area, digits in keys:
        values: list[float | None] = []
        for t in totals:
            if t is None:
                values.append(None)
            elif area is not None:
                values.append(float(dict(t.get("movements") or {}).get(area, 0)))
            else:
                values.append(float(t[key]))
        change = pct = None
        if len(values) > 1 and values[0] is not None and values[1] is not None:
            change = values[1] - values[0]
            pct = 100 * change / values[0] if values[0] else None
        rows.append({"key": key, "area": area, "digits": digits, "values": values, "change": change, "pct": pct})
    return rows


def _day_totals(day: str) -> Callable[[Mapping[str, Any]], Mapping[str, Any] | None]:
    """Picks one weekday's totals out of a variant's JSON form (``None`` when the variant has no such day)."""

    def pick(variant: Mapping[str, Any]) -> Mapping[str, Any] | None:
        return next((d["totals"] for d in variant["days"] if d["day"] == day), None)

    return pick


def variant_label(variant: Mapping[str, Any], scenario: Scenario, _: Callable[[str], str]) -> str:
    """``status quo`` / ``bundled via <hub name>`` / ``concession via <hub name>``."""
    hub = scenario.hub(str(variant["hub"])).name if variant.get("hub") else ""
    if variant["variant"] == "status_quo":
        return _("status quo")
    if variant["variant"] == "bundled":
        return _("bundled via %(hub)s") % {"hub": hub}
    return _("concession via %(hub)s") % {"hub": hub}


def verdict(report: BundlingReport, language: str) -> dict[str, Any]:
    """Whether bundling pays, in words, with the figures it rests on."""
    _ = gettext(language)
    c = report.comparison
    if c is None or report.bundled is None:
        return {"pays": None, "text": _("The scenario has no candidate hubs: only the status quo was planned.")}
    hub = report.scenario.hub(report.bundled.hub or "").name
    delta = c.bundled.cost_eur - c.status_quo.cost_eur
    pct = 100 * delta / c.status_quo.cost_eur if c.status_quo.cost_eur else 0.0
    problems = [p for d in report.bundled.days for p in d.problems]
    if not report.bundled.feasible:
        text = _("Bundling via %(hub)s is not feasible as specified.") % {"hub": hub}
    elif c.pays:
        text = _("Bundling via %(hub)s pays: it saves %(eur)s a week (%(pct)s %%).") % {
            "hub": hub,
            "eur": "€ " + number(-delta, 0, language),
            "pct": number(-pct, 1, language),
        }
    else:
        text = _(
            "Bundling via %(hub)s does not pay: it costs %(eur)s a week more (+%(pct)s %%) than the status quo."
        ) % {
            "hub": hub,
            "eur": "€ " + number(delta, 0, language),
            "pct": number(pct, 1, language),
        }
    extra = ""
    if c.status_quo.unserved:
        extra = _("The status quo cannot make %(n)s deliveries (access rules); its cost leaves them out.") % {
            "n": c.status_quo.unserved
        }
    return {"pays": c.pays, "feasible": report.bundled.feasible, "text": text, "extra": extra, "problems": problems}


def _window_moments(day: date, window: Window) -> tuple[Any, Any]:
    midnight = local_midnight(day)
    return midnight + timedelta(seconds=window.start_s), midnight + timedelta(seconds=window.end_s)


def engine_reasons(
    register: Register,
    oracle: AccessOracle,
    said: Words,
    class_id: str,
    report: BundlingReport,
    point: tuple[float, float],
    day: date,
    window: Window,
) -> tuple[list[str], Any]:
    """Why the rules engine refuses ``class_id`` at ``point`` for the delivery ``window`` on ``day``, worded
    from the engine's message ids (the planner's own reasons are English sentences); and from when it would
    be allowed (``None``: no date known). The same question the planner asked (:class:`AccessOracle`)."""
    sc = report.scenario
    vc = sc.vehicle_class(class_id)
    zones = oracle.zones_at(*point)
    if not zones:
        return [], None
    start, end = _window_moments(day, window)
    decision = decide(register.book, oracle.vehicle(vc), zones, at=start)
    refused = [z for z in decision.zones if z.access is Access.NOT_ALLOWED]
    texts: list[str] = []
    for z in refused:
        for r in z.reasons:
            if r.effect is Effect.PROHIBITS:
                basis = f" ({r.legal_basis})" if r.legal_basis else ""
                texts.append(f"{said.data(z.zone_name)}: {said.reason(r)}{basis}")
        if not any(r.effect is Effect.PROHIBITS for r in z.reasons):
            texts.append(f"{said.data(z.zone_name)}: {gettext(said.language)('not allowed')}")
    if refused:
        froms = [z.allowed_from for z in refused]
        allowed_from = None if any(f is None for f in froms) else max(f for f in froms if f is not None)
        return texts, allowed_from
    untils = [z.allowed_until for z in decision.zones if z.allowed_until is not None]
    if untils and min(untils) < end:
        _ = gettext(said.language)
        texts.append(
            _("allowed only until %(until)s, before the delivery window ends (%(window)s)")
            % {"until": said.fmt.moment(min(untils)), "window": window.text()}
        )
    return texts, None


def unserved_rows(report: BundlingReport, register: Register, language: str) -> list[dict[str, Any]]:
    """The deliveries a variant cannot make, per variant and day, with the engine's reasons in words."""
    sc = report.scenario
    said = words(language)
    oracle = AccessOracle(register)
    fleet = list(dict.fromkeys(f.vehicle_class for f in sc.hub_fleet))
    out = []
    plans: list[VariantPlan] = [p for p in (report.status_quo, report.bundled, report.concession) if p is not None]
    for plan in plans:
        for dp in plan.days:
            for u in dp.unserved:
                out.append(_unserved_row(report, register, oracle, said, plan, dp.date, u, fleet))
    return out


def _unserved_row(
    report: BundlingReport,
    register: Register,
    oracle: AccessOracle,
    said: Words,
    plan: VariantPlan,
    day: date,
    u: Unserved,
    fleet: list[str],
) -> dict[str, Any]:
    sc = report.scenario
    receiver = sc.receiver(u.receiver)
    supplier = sc.supplier(u.supplier) if u.supplier else None
    at_hub = plan.variant != "status_quo" and supplier is not None and plan.hub is not None
    if supplier is not None and at_hub:
        hub = sc.hub(plan.hub or "")
        classes, point, window = [supplier.vehicle_class], (hub.lat, hub.lon), hub.hours
    elif supplier is not None:
        classes, point, window = [supplier.vehicle_class], (receiver.lat, receiver.lon), receiver.window
    else:
        classes, point, window = fleet, (receiver.lat, receiver.lon), receiver.window
    per_class = []
    worded = True
    for cid in classes:
        texts, allowed_from = engine_reasons(register, oracle, said, cid, report, point, day, window)
        if not texts:
            worded = False
        per_class.append({"vehicle_class": sc.vehicle_class(cid).name, "reasons": texts, "allowed_from": allowed_from})
    return {
        "variant": plan.variant,
        "day": u.day,
        "date": day,
        "receiver": receiver.name,
        "receiver_id": receiver.id,
        "supplier": supplier.name if supplier else None,
        "at_hub": at_hub,
        "hub": sc.hub(plan.hub).name if at_hub and plan.hub else None,
        "kg": u.kg,
        "m3": u.m3,
        "classes": per_class,
        "worded": worded,
        "english": u.reason,
    }


def map_data(report: BundlingReport, data: Mapping[str, Any], register: Register) -> dict[str, Any]:
    """What the map draws: receivers, suppliers, hubs, the city and areas (and register zones nearby) as
    polygons, and every round per variant and weekday as a line through its stops (straight legs)."""
    sc = report.scenario
    chosen = report.bundled.hub if report.bundled else None
    points = [
        {"kind": "receiver", "id": r.id, "name": r.name, "lat": r.lat, "lon": r.lon, "district": r.district}
        for r in sc.receivers
    ]
    points += [{"kind": "supplier", "id": s.id, "name": s.name, "lat": s.lat, "lon": s.lon} for s in sc.suppliers]
    points += [
        {"kind": "hub", "id": h.id, "name": h.name, "lat": h.lat, "lon": h.lon, "chosen": h.id == chosen}
        for h in sc.hubs
    ]
    areas: list[dict[str, Any]] = []
    if sc.city is not None:
        areas.append(
            {"kind": "city", "id": "city", "name": sc.city.name, "ring": [[lat, lon] for lon, lat in sc.city.ring]}
        )
    for a in sc.areas:
        areas.append({"kind": "area", "id": a.id, "name": a.name, "ring": [[lat, lon] for lon, lat in a.ring]})
    local = [(r.lon, r.lat) for r in sc.receivers] + [(h.lon, h.lat) for h in sc.hubs]
    if local:
        lons, lats = [p[0] for p in local], [p[1] for p in local]
        frame = box(min(lons) - 0.05, min(lats) - 0.05, max(lons) + 0.05, max(lats) + 0.05)
        for z in register.book.zones:
            if z.geometry and shape(z.geometry).intersects(frame):
                areas.append(
                    {"kind": "zone", "id": z.id, "name": z.name, "zone_kind": str(z.kind), "geojson": z.geometry}
                )
    where: dict[str, tuple[float, float]] = {r.id: (r.lat, r.lon) for r in sc.receivers}
    origins = {s.id: (s.lat, s.lon) for s in sc.suppliers}
    routes = []
    for v in data["variants"]:
        hub = sc.hub(v["hub"]) if v.get("hub") else None
        for d in v["days"]:
            for r in d.get("routes", ()):
                if r["role"] == "linehaul" and hub is not None:
                    o = origins[r["operator"]]
                    path = [o, (hub.lat, hub.lon), o]
                else:
                    depot = origins[r["operator"]] if r["role"] == "direct" else (hub.lat, hub.lon) if hub else None
                    if depot is None:
                        continue
                    path = [depot]
                    for trip in r["trips"]:
                        path += [where[k.split("#", 1)[0]] for k in trip] + [depot]
                routes.append(
                    {
                        "variant": v["variant"],
                        "day": d["day"],
                        "role": r["role"],
                        "operator": r["operator"],
                        "vehicle_class": r["vehicle_class"],
                        "km": r["km"],
                        "path": [[round(lat, 6), round(lon, 6)] for lat, lon in path],
                    }
                )
    return {"points": points, "areas": areas, "routes": routes}


def result_context(run: Run, language: str) -> dict[str, Any]:
    """Everything the result page shows, from the report's JSON form (the same document as the download)."""
    report = run.report
    assert report is not None
    _ = gettext(language)
    sc = report.scenario
    data = report.to_data(routes=True)
    variants = data["variants"]
    areas: dict[str, str] = dict(report.area_names)
    days = [d["day"] for d in variants[0]["days"]] if variants else []
    labels = [variant_label(v, sc, _) for v in variants]
    week = kpi_rows(variants, lambda v: v["totals"], areas)
    per_day = []
    for day in days:
        rows = kpi_rows(variants, _day_totals(day), areas)
        date_of = next(d["date"] for d in variants[0]["days"] if d["day"] == day)
        per_day.append({"day": day, "date": date.fromisoformat(date_of), "rows": rows})
    names = {r.id: r.name for r in sc.receivers}
    operators = {s.id: s.name for s in sc.suppliers} | {h.id: h.name for h in sc.hubs}
    operators |= {d.id: d.name for d in sc.districts}
    classes = {vc.id: vc.name for vc in sc.vehicle_classes}
    warnings = [w for w in report.warnings if "straight-line" not in w]
    return {
        "run": run,
        "report": report,
        "scenario": sc,
        "data": data,
        "variants": variants,
        "labels": labels,
        "variant_labels": {v["variant"]: label for v, label in zip(variants, labels, strict=True)},
        "areas": areas,
        "days": days,
        "week": week,
        "per_day": per_day,
        "verdict": verdict(report, language),
        "unserved": unserved_rows(report, run.register, language),
        "names": names,
        "operators": operators,
        "classes": classes,
        "hub_names": {h.id: h.name for h in sc.hubs},
        "assumptions": [_(a) for a in ASSUMPTIONS],
        "budget_warning": any("budget" in w for w in warnings),
        "other_warnings": [w for w in warnings if "budget" not in w],
        "map_json": json.dumps(map_data(report, data, run.register), ensure_ascii=False).replace("</", "<\\/"),
        "num": lambda value, digits=1: number(value, digits, language),
        "signed": lambda value, digits=1: signed(value, digits, language),
    }


# --------------------------------------------------------------------------- downloads

CSV_KPIS = ("vehicle_km", "vehicle_hours", "cost_eur", "vehicle_cost_eur", "hub_cost_eur", "co2_kg", "nox_g")
CSV_COUNTS = ("routes", "drops", "unserved")


def result_csv(report: BundlingReport, language: str) -> bytes:
    """The KPIs per variant and weekday plus the week (``day`` = ``week``): semicolon-separated UTF-8 with a BOM
    (opens as columns in Excel); decimal comma for Dutch visitors, point for English. Column names are the
    JSON keys; movements into an area are ``movements:<area key>``."""
    data = report.to_data(routes=False)
    areas = list(report.area_names)
    header = ["variant", "hub", "day", "date", *CSV_KPIS, *CSV_COUNTS, *(f"movements:{a}" for a in areas)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)

    def figure(value: Any) -> str:
        text = f"{float(value):.2f}"
        return text.replace(".", ",") if language == "nl" else text

    for v in data["variants"]:
        rows = [(d["day"], d["date"], d["totals"]) for d in v["days"]] + [("week", "", v["totals"])]
        for day, on, t in rows:
            writer.writerow(
                [
                    v["variant"],
                    v.get("hub") or "",
                    day,
                    on,
                    *(figure(t[k]) for k in CSV_KPIS),
                    *(t[k] for k in CSV_COUNTS),
                    *(t["movements"].get(a, 0) for a in areas),
                ]
            )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _filename(report: BundlingReport, ext: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", report.scenario.id).strip("-") or "scenario"
    return f"bundling-{stem}.{ext}"


# --------------------------------------------------------------------------- pages


def _form_context(values: Mapping[str, str] | None = None, errors: Mapping[str, Any] | None = None) -> dict[str, Any]:
    chosen = dict(values or {})
    chosen.setdefault("source", "example")
    chosen.setdefault("example", "lelystad")
    chosen.setdefault("time_limit", "0.5")
    chosen.setdefault("sensitivity", "1")
    examples = []
    for name in sorted(EXAMPLES):
        sc = example_scenario(name)
        examples.append({"name": name, "title": sc.name, "notice": sc.notice, "receivers": len(sc.receivers)})
    return {
        "values": chosen,
        "errors": dict(errors or {}),
        "examples": examples,
        "time_limits": TIME_LIMITS,
        "max_solve_s": MAX_SOLVE_S,
        "max_total_s": MAX_TOTAL_S,
        "max_receivers": MAX_RECEIVERS,
    }


def form_error(exc: RuasError) -> dict[str, Any]:
    """An error for the form: the service's message, and the file, row (or line) and field it names."""
    d = exc.details
    row = d.get("row") or (f"line {d['line']}" if d.get("line") else None)
    return {
        "message": exc.message,
        "file": d.get("file"),
        "row": row,
        "line": d.get("line"),
        "field": d.get("field"),
        "busy": isinstance(exc, Busy),
    }


@router.get("/bundling")
def bundling_form(request: Request, visitor: CurrentVisitor) -> Response:
    """Choose the illustrative example or upload a scenario; solving options."""
    return render(request, visitor, "bundling_form.html", _form_context())


@router.get("/bundling/examples/{name}.yaml")
def example_yaml(name: str) -> Response:
    """A shipped scenario as one YAML file (CSV sections read in), to edit and upload."""
    if name not in EXAMPLES:
        raise NotFound(f"no bundling example {name!r}", field="name")
    with resources.as_file(resources.files("ruas.data").joinpath(EXAMPLES[name])) as path:
        doc = scenario_document(Path(path))
    head = "# ILLUSTRATIVE SCENARIO - NOT REAL DEMAND (shipped with RUAS; edit and upload it on /bundling)\n"
    body = head + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120)
    return Response(
        body.encode("utf-8"),
        media_type="application/yaml; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}-scenario.yaml"'},
    )


@router.post("/bundling")
async def bundling_start(request: Request, visitor: CurrentVisitor, register: CurrentRegister) -> Response:
    """Validate the scenario and start its analysis; on to the result page (or the form with the error)."""
    form = await request.form(max_files=MAX_FILES, max_fields=12, max_part_size=MAX_UPLOAD_BYTES)
    check_csrf(visitor, form)
    values = {k: str(form.get(k) or "").strip() for k in ("source", "example", "time_limit", "sensitivity")}
    if not values["sensitivity"]:
        values["sensitivity"] = "0"
    try:
        limit_anonymous(request, visitor.principal)
        if values["source"] == "upload":
            files: dict[str, bytes] = {}
            for item in form.getlist("files"):
                if isinstance(item, UploadFile) and item.filename:
                    content = await item.read(MAX_UPLOAD_BYTES + 1)
                    name = Path(item.filename.replace("\\", "/")).name
                    if len(content) > MAX_UPLOAD_BYTES:
                        raise InvalidInput(
                            f"{name}: larger than {MAX_UPLOAD_BYTES // 1000} kB", field="files", file=name
                        )
                    files[name] = content
            scenario = scenario_from_files(files)
            source = ", ".join(sorted(files))
        elif values["source"] == "example":
            if values["example"] not in EXAMPLES:
                raise InvalidInput(f"unknown example {values['example']!r}", field="example")
            scenario = example_scenario(values["example"])
            source = f"example:{values['example']}"
        else:
            raise InvalidInput("choose the example or upload a scenario", field="source")
        limit = _limit(values["time_limit"], scenario)
        validate_for_planning(scenario, register)
        run = RUNNER.submit(
            scenario, register, source=source, time_limit_s=limit, sensitivity=values["sensitivity"] == "1"
        )
    except RuasError as exc:
        status = 503 if isinstance(exc, Busy) else 429 if isinstance(exc, TooManyRequests) else 422
        context = _form_context(values, {"scenario": form_error(exc)})
        response = render(request, visitor, "bundling_form.html", context, status=status)
        if status == 503:
            response.headers["Retry-After"] = "30"
        return response
    run.done.wait(WAIT_INLINE_S)
    return redirect(f"/bundling/runs/{run.id}")


@router.get("/bundling/runs/{run_id}")
def bundling_run(request: Request, visitor: CurrentVisitor, run_id: str) -> Response:
    """The analysis: its progress while it runs, then the result (or the error that stopped it)."""
    run = RUNNER.get(run_id)
    if not run.finished:
        return render(request, visitor, "bundling_run.html", _progress_context(run))
    if run.error is not None:
        context = _form_context({"source": "example"}, {"scenario": form_error(run.error)})
        return render(request, visitor, "bundling_form.html", context, status=422)
    return render(request, visitor, "bundling_result.html", result_context(run, visitor.language))


def _progress_context(run: Run) -> dict[str, Any]:
    waiting = run.started is None
    return {"run": run, "waiting": waiting, "poll_s": POLL_S, "ahead": RUNNER.active() - 1 if waiting else 0}


@router.get("/bundling/runs/{run_id}/progress")
def bundling_progress(request: Request, visitor: CurrentVisitor, run_id: str) -> Response:
    """The progress fragment htmx polls; once the analysis is done, htmx is sent to the result page."""
    run = RUNNER.get(run_id)
    if run.finished:
        response = Response(status_code=200)
        response.headers["HX-Redirect"] = f"/bundling/runs/{run.id}"
        return response
    return render(request, visitor, "bundling_progress.html", _progress_context(run))


def _finished_report(run_id: str) -> BundlingReport:
    run = RUNNER.get(run_id)
    if run.report is None:
        raise NotFound("the analysis has no result (yet)", field="run")
    return run.report


@router.get("/bundling/runs/{run_id}/result.json")
def bundling_json(run_id: str) -> Response:
    """The whole result as ``POST /api/v1/bundling/analyses`` answers it (routes included)."""
    report = _finished_report(run_id)
    body = json.dumps(report.to_data(routes=True), ensure_ascii=False, indent=1).encode("utf-8")
    return Response(
        body,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{_filename(report, "json")}"'},
    )


@router.get("/bundling/runs/{run_id}/result.csv")
def bundling_csv(request: Request, visitor: CurrentVisitor, run_id: str) -> Response:
    """The KPIs per variant and weekday and for the week, as CSV (see :func:`result_csv`)."""
    report = _finished_report(run_id)
    return Response(
        result_csv(report, visitor.language),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_filename(report, "csv")}"'},
    )
