"""Policy-impact simulation: replay kept de-identified passages against a draft zone record, next to the rules in force.

The draft is a full zone record (what the lifecycle stores as a draft: ``Lifecycle.draft``, or any record that
:func:`ruas.services.lifecycle.validate_record` accepts): a zone extension (a larger ``geometry``), an earlier end
(or start) date, a new or narrower delivery window, a weight limit. It is compiled exactly as publishing would
(:func:`ruas.register.records.compile_book` over the register with the draft in place of the zone) and both
books decide every replayed passage with the same engine (:func:`ruas.rules.batch.decide_arrays`) — the access
logic is never re-implemented here.

**Which passages.** The passages of the zone's cameras (the zone's records) are replayed against the rules in
force. Against the draft: the same cameras when the area is unchanged; otherwise the cameras whose position lies
within the draft area (grown by ``buffer_m`` metres, default 50 — cameras stand on the boundary) — so cameras of
a neighbouring zone that a zone extension takes in bring their passages. A passage seen for two zones by one
camera counts once. Passages without a pseudonym (foreign plates, plates not in the register) cannot be judged
and are counted apart (``not_evaluated``).

**Which vehicles.** Records carry the vehicle attributes the rules read (category, body, fuels, emission class,
month of first admission, mass, length), not the plate. Each distinct attribute profile becomes one row of a
vehicle table (the first admission is taken as the first day of its month). Vehicles that held an ontheffing
(basis ``grant:<type>`` on some record that day) get a row of their own and a grant of that type for that local
day, valid wherever the type is listed (the record does not say which zones the grant named). Attributes the
records do not keep (width, height, axle load, RDW body and special codes, usage, keeper facts) are unknown;
rules on them cannot match. ``fidelity`` measures the effect: the share of the zone's recorded passages whose
replay under the rules in force gives the recorded verdict (violation or not).

**What comes out.** For the rules in force and the draft: passages (trips) and distinct vehicles (pseudonyms;
the pseudonym changes each calendar month, so a period across a month boundary counts a vehicle once per
month) in the zone, subject, exempt, refused; the newly refused and the no longer refused, by vehicle class and
local hour; per exemption clause (transition rules, vrijstellingen) the passages it lifts; for the vehicles the
draft refuses, the ontheffing types they would be eligible for (the engine's eligibility tests); the
zero-emission share observed and expected (see :class:`Assumptions`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import shapely
from shapely.geometry import Point, shape
from sqlalchemy import Engine

from ruas.domain.errors import InvalidInput, NotFound
from ruas.domain.timeutil import LOCAL_TZ, local_midnight
from ruas.enforcement.storage import read_records
from ruas.flows.cube import FLOW_CLASSES, FlowsData, flow_class, local_hour
from ruas.flows.suppression import DEFAULT_MIN_VEHICLES, Count, Grid, grid_data, suppress
from ruas.register.records import Record, compile_book
from ruas.register.store import Register
from ruas.register.vehicle_table import VEHICLE_SCHEMA, frame_to_vehicles
from ruas.rules.batch import GRANT_SCHEMA, decide_arrays
from ruas.rules.engine import RuleBook

MAX_DAYS = 62
"""Records are kept 8 weeks; a replay covers at most this many days."""

PROFILE = ("category", "body", "fuel", "emission_class", "first_admission_month", "max_mass_kg", "length_m")
"""The record attributes that make a vehicle profile (what the rules can read)."""

STATES = ("outside", "compliant", "exempt", "refused")
"""Per passage and rule set: not in the zone's camera set, not subject, subject but lifted, refused."""


@dataclass(frozen=True, slots=True)
class Assumptions:
    """How the expected zero-emission share is estimated.

    A trip the draft newly refuses is made instead by a zero-emission vehicle with probability ``switch_share``
    (0..1) and otherwise stays away (another route, another moment outside the zone's cameras, no trip). Trips
    that already violate the rules in force are kept as observed.
    """

    switch_share: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 <= self.switch_share <= 1.0 or math.isnan(self.switch_share):
            raise InvalidInput("switch_share must be within 0..1", field="switch_share")


@dataclass(frozen=True, slots=True)
class Scenario:
    """What to replay: a zone, its draft record, local days ``[start, end)``."""

    zone_id: str
    draft: Record
    start: date
    end: date
    assumptions: Assumptions = field(default_factory=Assumptions)
    buffer_m: float = 50.0

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise InvalidInput("the period's end must be after its start", field="until")
        if (self.end - self.start).days > MAX_DAYS:
            raise InvalidInput(
                f"a replay covers at most {MAX_DAYS} days (de-identified records are kept 8 weeks)", field="until"
            )
        if not 0 <= self.buffer_m <= 1000:
            raise InvalidInput("buffer_m must be within 0..1000 metres", field="buffer_m")
        if str(self.draft.get("id", self.zone_id)) != self.zone_id:
            raise InvalidInput(
                f"the draft's id {self.draft.get('id')!r} differs from the zone {self.zone_id!r}", field="draft.id"
            )


@dataclass(frozen=True, slots=True)
class CameraPoint:
    """A camera's id, position and the zones it guards (from the enforcement registry)."""

    id: str
    lat: float
    lon: float
    zones: tuple[str, ...]
    name: str = ""


@dataclass
class Simulation:
    """The replay's raw answer (exact counts); :meth:`to_data` suppresses small cells."""

    scenario: Scenario
    passages: pl.DataFrame
    """Per replayed passage: ``pseudonym``, ``flow_class``, ``hour``, ``ze``, ``state_now``, ``state_draft``,
    ``regulation_now``/``regulation_draft`` (the refusing regulation), ``clause_now``/``clause_draft``."""
    not_evaluated: int
    fidelity: float | None
    eligible: dict[str, set[str]]
    """Ontheffing type -> pseudonyms the draft refuses that would be eligible for it."""
    eligible_new: dict[str, set[str]]
    """The same for the newly refused vehicles only."""
    exemption_names: dict[str, str]
    cameras_now: tuple[str, ...]
    cameras_draft: tuple[str, ...]
    months: int

    # ---------------------------------------------------------------- raw figures

    def _mask(self, column: str, states: Sequence[str]) -> pl.Expr:
        return pl.col(column).is_in(list(states))

    def count(self, expr: pl.Expr) -> tuple[int, int]:
        """(passages, distinct vehicles) of the passages matching ``expr``."""
        f = self.passages.filter(expr)
        return f.height, f.get_column("pseudonym").n_unique() if f.height else 0

    def figures(self) -> dict[str, dict[str, tuple[int, int]]]:
        """Per rule set (``in_force``, ``draft``) the (passages, vehicles) in the zone, subject, exempt, refused."""
        out: dict[str, dict[str, tuple[int, int]]] = {}
        for name, col in (("in_force", "state_now"), ("draft", "state_draft")):
            out[name] = {
                "in_zone": self.count(pl.col(col) != "outside"),
                "subject": self.count(self._mask(col, ["exempt", "refused"])),
                "exempt": self.count(pl.col(col) == "exempt"),
                "refused": self.count(pl.col(col) == "refused"),
                "zero_emission": self.count((pl.col(col) != "outside") & pl.col("ze")),
            }
        return out

    def newly_refused(self) -> pl.Expr:
        """Refused by the draft, not by the rules in force."""
        return (pl.col("state_draft") == "refused") & (pl.col("state_now") != "refused")

    def no_longer_refused(self) -> pl.Expr:
        """Refused by the rules in force, not by the draft."""
        return (pl.col("state_now") == "refused") & (pl.col("state_draft") != "refused")

    def zero_emission_share(self) -> tuple[float | None, float | None]:
        """Zero-emission share of the zone's passages: observed under the rules in force, expected under the draft."""
        p = self.passages
        now = p.filter(pl.col("state_now") != "outside")
        share_now = now.get_column("ze").mean() if now.height else None
        d = p.filter(pl.col("state_draft") != "outside")
        if d.height == 0:
            return (float(share_now) if share_now is not None else None), None  # type: ignore[arg-type]
        new = d.filter(self.newly_refused())
        s = self.scenario.assumptions.switch_share
        nb_other = new.filter(~pl.col("ze")).height
        nb_ze = new.filter(pl.col("ze")).height
        ze = d.filter(pl.col("ze")).height
        total = d.height - (1 - s) * (nb_other + nb_ze)
        expected = (ze - (1 - s) * nb_ze + s * nb_other) / total if total > 0 else None
        return (float(share_now) if share_now is not None else None), expected  # type: ignore[arg-type]

    def by(self, column: str, expr: pl.Expr, order: Sequence[str]) -> list[tuple[str, int, int]]:
        """(value, passages, vehicles) of the matching passages per value of ``column``."""
        f = self.passages.filter(expr)
        if f.height == 0:
            return []
        g = f.group_by(column).agg(pl.len().alias("p"), pl.col("pseudonym").n_unique().alias("v"))
        rows = {str(r[0]): (int(r[1]), int(r[2])) for r in g.iter_rows()}
        keys = [k for k in order if k in rows] + sorted(set(rows) - set(order))
        return [(k, *rows[k]) for k in keys]

    def clauses(self) -> list[dict[str, Any]]:
        """Per exemption clause: the passages and vehicles it lifts in force and under the draft."""
        out: dict[str, dict[str, Any]] = {}
        for name, col in (("in_force", "clause_now"), ("draft", "clause_draft")):
            for clause, p, v in self.by(col, pl.col(col).is_not_null(), []):
                out.setdefault(clause, {"clause": clause})[name] = (p, v)
        return [out[k] for k in sorted(out)]

    # ---------------------------------------------------------------- presentation

    def to_data(self, min_vehicles: int = DEFAULT_MIN_VEHICLES) -> dict[str, Any]:
        """JSON form: the comparison table, breakdowns by class and hour and exemptions, with cells describing
        fewer than ``min_vehicles`` distinct vehicles withheld (``null``; 1 withholds nothing)."""
        k = min_vehicles

        def shown(p: int, v: int) -> dict[str, int | None]:
            small = Count(p, v).small(k)
            return {"passages": None if small else p, "vehicles": None if small else v}

        figures = self.figures()
        table = []
        for metric in ("in_zone", "subject", "exempt", "refused", "zero_emission"):
            (pn, vn), (pd, vd) = figures["in_force"][metric], figures["draft"][metric]
            a, b = shown(pn, vn), shown(pd, vd)
            change = None if a["passages"] is None or b["passages"] is None else pd - pn
            table.append({"metric": metric, "in_force": a, "draft": b, "change_passages": change})
        new_p, new_v = self.count(self.newly_refused())
        gone_p, gone_v = self.count(self.no_longer_refused())
        ze_now, ze_draft = self.zero_emission_share()
        hours = [f"{h:02d}" for h in range(24)]
        breakdowns = {
            "class_refused_in_force": self._grid("flow_class", pl.col("state_now") == "refused", FLOW_CLASSES, k),
            "class_refused_draft": self._grid("flow_class", pl.col("state_draft") == "refused", FLOW_CLASSES, k),
            "class_newly_refused": self._grid("flow_class", self.newly_refused(), FLOW_CLASSES, k),
            "hour_refused_in_force": self._grid("hour", pl.col("state_now") == "refused", hours, k, full=True),
            "hour_refused_draft": self._grid("hour", pl.col("state_draft") == "refused", hours, k, full=True),
            "hour_newly_refused": self._grid("hour", self.newly_refused(), hours, k, full=True),
        }
        eligible = [
            {
                "type_id": t,
                "name": self.exemption_names.get(t, t),
                "refused_vehicles": None if 0 < len(v) < k else len(v),
                "newly_refused_vehicles": None
                if 0 < len(self.eligible_new.get(t, ())) < k
                else len(self.eligible_new.get(t, ())),
            }
            for t, v in sorted(self.eligible.items())
        ]
        clauses = []
        for c in self.clauses():
            row: dict[str, Any] = {"clause": c["clause"]}
            for name in ("in_force", "draft"):
                p, v = c.get(name, (0, 0))
                row[name] = shown(p, v)
            clauses.append(row)
        s = self.scenario
        return {
            "zone_id": s.zone_id,
            "from": s.start.isoformat(),
            "until": s.end.isoformat(),
            "min_vehicles": k,
            "assumptions": {"switch_share": s.assumptions.switch_share, "buffer_m": s.buffer_m},
            "cameras": {"in_force": list(self.cameras_now), "draft": list(self.cameras_draft)},
            "calendar_months": self.months,
            "not_evaluated_passages": self.not_evaluated,
            "fidelity": self.fidelity,
            "comparison": table,
            "newly_refused": shown(new_p, new_v),
            "no_longer_refused": shown(gone_p, gone_v),
            "zero_emission_share": {"in_force": ze_now, "draft_expected": ze_draft},
            "breakdowns": breakdowns,
            "eligible_exemptions": eligible,
            "exemption_clauses": clauses,
        }

    def _grid(self, column: str, expr: pl.Expr, order: Sequence[str], k: int, *, full: bool = False) -> dict[str, Any]:
        rows = self.by(column, expr, order)
        got = {v: Count(p, n) for v, p, n in rows}
        cols = list(order) if full else [v for v, _, _ in rows]
        p, n = self.count(expr)
        grid = suppress(Grid(["all"], cols, [[got.get(c, Count(0, 0)) for c in cols]], row_totals=[Count(p, n)]), k)
        data = grid_data(grid)
        vehicles = [None if grid.hidden[0][j] else got.get(c, Count(0, 0)).vehicles_lb for j, c in enumerate(cols)]
        return {
            "columns": cols,
            "passages": data["passages"][0],
            "vehicles": vehicles,
            "total_passages": data["row_totals"][0],
            "total_vehicles": None if grid.hidden_rows[0] else n,
        }


# --------------------------------------------------------------------------- building the replay


def resolve_geometry(record: Mapping[str, Any], context: Sequence[Record]) -> Record:
    """The record with ``geometry_from`` replaced by the named zone's area (as the register compiles it)."""
    ref = record.get("geometry_from")
    if not ref:
        return dict(record)
    target = next((r for r in context if r["id"] == ref), None)
    if target is None or not target.get("geometry"):
        raise InvalidInput(f"geometry_from names no zone with an area: {ref!r}", field="draft.geometry_from")
    return {**record, "geometry": target["geometry"]}


def draft_book(register: Register, zone_id: str, draft: Record) -> RuleBook:
    """The register's rule book with ``draft`` in place of the zone (or added), compiled as publishing would."""
    others = [r for r in register.records if r["id"] != zone_id]
    records = [resolve_geometry(r, register.records) for r in [*others, {**draft, "id": zone_id}]]
    try:
        return compile_book(records, register.settings)
    except (KeyError, ValueError, TypeError) as exc:
        raise InvalidInput(f"the draft does not compile: {exc}", field="draft") from exc


def _metric_geometry(geom: shapely.Geometry, lat0: float) -> shapely.Geometry:
    kx, ky = 111_320.0 * math.cos(math.radians(lat0)), 110_574.0
    return shapely.transform(geom, lambda xy: xy * np.array([kx, ky]))


def cameras_within(cameras: Sequence[CameraPoint], geometry: Mapping[str, Any], buffer_m: float) -> set[str]:
    """Ids of the cameras within ``buffer_m`` metres of a GeoJSON area (a local metric projection)."""
    geom = shape(dict(geometry))
    lat0 = geom.centroid.y
    area = _metric_geometry(geom, lat0).buffer(buffer_m)
    return {c.id for c in cameras if area.covers(_metric_geometry(Point(c.lon, c.lat), lat0))}


def _geometry_of(record: Mapping[str, Any] | None, context: Sequence[Record]) -> Any:
    if record is None:
        return None
    return resolve_geometry(record, context).get("geometry")


def _records(data: FlowsData, start: date, end: date, cameras: set[str], zone_id: str) -> pl.DataFrame:
    files = [f for d in range((end - start).days) for f in data.source_files("records", start + timedelta(days=d))]
    cols = ["at", "camera_id", "zone_id", "pseudonym", "outcome", "basis", "vehicle_class", *PROFILE]
    if not files:
        return pl.DataFrame()
    frames = []
    for f in files:
        frame = read_records(f, cols)
        frame = frame.with_columns(
            [pl.col(c).cast(pl.Utf8) for c, t in frame.schema.items() if isinstance(t, pl.Categorical | pl.Enum)]
        )
        frames.append(frame.filter((pl.col("zone_id") == zone_id) | pl.col("camera_id").is_in(sorted(cameras))))
    return pl.concat(frames, how="vertical_relaxed")


def _vehicle_table(profiles: pl.DataFrame) -> pl.DataFrame:
    """Canonical vehicle rows (:data:`VEHICLE_SCHEMA`) from record profiles; unknown attributes empty."""
    n = profiles.height
    empty = pl.Series([[]] * n, dtype=pl.List(pl.Utf8)) if n else pl.Series([], dtype=pl.List(pl.Utf8))
    return pl.DataFrame(
        {
            "plate": pl.Series([None] * n, dtype=pl.Utf8),
            "category": profiles.get_column("category"),
            "body": profiles.get_column("body"),
            "fuels": profiles.get_column("fuel").str.split("+").list.sort(),
            "emission_class": profiles.get_column("emission_class"),
            "first_admission": (profiles.get_column("first_admission_month") + "-01").str.to_date("%Y-%m-%d"),
            "max_mass_kg": profiles.get_column("max_mass_kg"),
            "length_m": profiles.get_column("length_m"),
            "width_m": pl.Series([None] * n, dtype=pl.Float64),
            "height_m": pl.Series([None] * n, dtype=pl.Float64),
            "axle_load_kg": pl.Series([None] * n, dtype=pl.Int32),
            "body_codes": empty,
            "special_purpose": empty,
            "special_codes": empty,
            "usage": empty,
            "holder": empty,
            "synthetic": pl.Series([False] * n, dtype=pl.Boolean),
        }
    ).cast(VEHICLE_SCHEMA)  # type: ignore[arg-type]


def _states(
    book: RuleBook | None,
    zone_id: str,
    vehicles: pl.DataFrame,
    vid: np.ndarray,
    at_us: np.ndarray,
    grants: pl.DataFrame,
    mask: np.ndarray,
) -> tuple[np.ndarray, list[str | None], list[str | None]]:
    """Per row: state code (index into :data:`STATES`), refusing regulation, exempting clause."""
    n = vid.size
    state = np.zeros(n, dtype=np.int8)
    regulation = np.full(n, None, dtype=object)
    clause = np.full(n, None, dtype=object)
    rows = np.nonzero(mask)[0]
    if book is None or not book.has_zone(zone_id) or rows.size == 0:
        return state, list(regulation), list(clause)
    zone_code = np.zeros(rows.size, dtype=np.int64)
    d = decide_arrays(book, vehicles, vid[rows], [zone_id], zone_code, at_us[rows], grants=grants)
    state[rows] = np.where(d.blocked, 3, np.where(d.subject | (d.grant >= 0) | (d.access == 2), 2, 1))
    reg_labels = np.array([*d.regulation_ids, None], dtype=object)  # index -1 reads the trailing None
    clause_labels = np.array([*d.clause_ids, None], dtype=object)
    regulation[rows] = reg_labels[d.regulation]
    clause[rows] = clause_labels[d.clause]
    return state, list(regulation), list(clause)


def simulate(
    register: Register,
    data: FlowsData,
    scenario: Scenario,
    *,
    cameras: Sequence[CameraPoint] = (),
) -> Simulation:
    """Replay the scenario's period against the rules in force and against the draft (see the module doc)."""
    zone_id = scenario.zone_id
    book_now = register.book
    known = book_now.has_zone(zone_id)
    draft = {**scenario.draft, "id": zone_id}
    book_draft = draft_book(register, zone_id, draft)
    current = next((r for r in register.records if r["id"] == zone_id), None)
    if current is None and not draft.get("geometry") and not draft.get("geometry_from"):
        raise NotFound(f"zone {zone_id!r} is not in the register and the draft has no area", field="zone_id")
    cams_now = {c.id for c in cameras if zone_id in c.zones}
    geom_now = _geometry_of(current, register.records)
    geom_draft = _geometry_of(draft, register.records)
    same_area = json.dumps(geom_now, sort_keys=True) == json.dumps(geom_draft, sort_keys=True)
    records = _records(data, scenario.start, scenario.end, cams_now, zone_id)
    if records.height:
        cams_now |= set(records.filter(pl.col("zone_id") == zone_id).get_column("camera_id").unique().to_list())
    if same_area or geom_draft is None:
        cams_draft = set(cams_now)
    else:
        cams_draft = cameras_within(cameras, geom_draft, scenario.buffer_m)
        extra = cams_draft - cams_now
        if extra:
            more = _records(data, scenario.start, scenario.end, extra, zone_id)
            records = pl.concat([records, more], how="vertical_relaxed") if records.height else more
    if not known:
        cams_now = set()
    if records.height == 0:
        records = pl.DataFrame(
            schema={"at": pl.Datetime("us", "UTC"), "camera_id": pl.Utf8, "zone_id": pl.Utf8, "pseudonym": pl.Utf8,
                    "outcome": pl.Utf8, "basis": pl.Utf8, "vehicle_class": pl.Utf8, "category": pl.Utf8,
                    "body": pl.Utf8, "fuel": pl.Utf8, "emission_class": pl.Utf8, "first_admission_month": pl.Utf8,
                    "max_mass_kg": pl.Int32, "length_m": pl.Float64}
        )  # fmt: skip
    records = records.filter(pl.col("camera_id").is_in(sorted(cams_now | cams_draft)))
    # the zone's recorded verdicts (for fidelity), then one row per passage
    recorded = records.filter(pl.col("zone_id") == zone_id).select(
        "camera_id", "at", "pseudonym", pl.col("outcome").alias("_recorded")
    )
    grants_seen = records.filter(pl.col("basis").str.starts_with("grant:") & pl.col("pseudonym").is_not_null())
    passages = records.unique(subset=["camera_id", "at", "pseudonym"], keep="first", maintain_order=True).join(
        recorded, on=["camera_id", "at", "pseudonym"], how="left", nulls_equal=True
    )
    not_evaluated = passages.filter(pl.col("pseudonym").is_null() | pl.col("category").is_null()).height
    passages = passages.filter(pl.col("pseudonym").is_not_null() & pl.col("category").is_not_null())
    passages = passages.with_columns(
        (pl.col("at").dt.convert_time_zone("Europe/Amsterdam").dt.date()).alias("_day"),
        pl.col("first_admission_month").fill_null("1900-01"),
    )
    # vehicle rows: one per profile; holders of an ontheffing get a row of their own
    grant_days = grants_seen.select(
        "pseudonym",
        pl.col("basis").str.strip_prefix("grant:").alias("type_id"),
        pl.col("at").dt.convert_time_zone("Europe/Amsterdam").dt.date().alias("_day"),
    ).unique()
    holders = set(grant_days.get_column("pseudonym").to_list()) if grant_days.height else set()
    passages = passages.with_columns(
        pl.when(pl.col("pseudonym").is_in(sorted(holders)))
        .then(pl.col("pseudonym"))
        .otherwise(pl.lit(None, pl.Utf8))
        .alias("_holder")
    )
    keys = ["_holder", *PROFILE]
    profiles = passages.select(keys).unique(maintain_order=True).with_row_index("_vid")
    passages = passages.join(profiles, on=keys, how="left", nulls_equal=True)
    vehicles = _vehicle_table(profiles)
    grants = _grants(grant_days, profiles)
    vid = passages.get_column("_vid").cast(pl.Int64).to_numpy()
    at_us = passages.get_column("at").dt.epoch("us").to_numpy()
    cam = passages.get_column("camera_id")
    in_now = cam.is_in(sorted(cams_now)).to_numpy()
    in_draft = cam.is_in(sorted(cams_draft)).to_numpy()
    s_now, r_now, c_now = _states(book_now if known else None, zone_id, vehicles, vid, at_us, grants, in_now)
    s_draft, r_draft, c_draft = _states(book_draft, zone_id, vehicles, vid, at_us, grants, in_draft)
    labels = pl.Series(list(STATES))
    out = passages.select(
        "pseudonym",
        "_vid",
        "at",
        "_recorded",
        flow_class(pl.col("vehicle_class"), pl.col("body")).alias("flow_class"),
        local_hour(pl.col("at")).alias("hour"),
        (pl.col("emission_class") == "Z").fill_null(False).alias("ze"),
    ).with_columns(
        labels.gather(pl.Series(s_now, dtype=pl.UInt32)).alias("state_now"),
        labels.gather(pl.Series(s_draft, dtype=pl.UInt32)).alias("state_draft"),
        pl.Series("regulation_now", r_now, dtype=pl.Utf8),
        pl.Series("regulation_draft", r_draft, dtype=pl.Utf8),
        pl.Series("clause_now", c_now, dtype=pl.Utf8),
        pl.Series("clause_draft", c_draft, dtype=pl.Utf8),
    )
    fidelity = _fidelity(out)
    eligible, eligible_new = _eligibility(book_draft, vehicles, out)
    names = {t: e.name for t, e in book_draft.exemption_types.items()}
    months = len({(d.year, d.month) for d in _days(scenario.start, scenario.end)})
    return Simulation(
        scenario,
        out.drop("_recorded"),
        not_evaluated,
        fidelity,
        eligible,
        eligible_new,
        names,
        tuple(sorted(cams_now)),
        tuple(sorted(cams_draft)),
        months,
    )


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days)]


def _grants(grant_days: pl.DataFrame, profiles: pl.DataFrame) -> pl.DataFrame:
    """Held ontheffingen seen on the records: one grant per holder, type and local day, valid anywhere listed."""
    if grant_days.height == 0:
        return pl.DataFrame(schema=GRANT_SCHEMA)
    rows = grant_days.join(
        profiles.filter(pl.col("_holder").is_not_null()).select("_holder", "_vid"),
        left_on="pseudonym",
        right_on="_holder",
    )
    out = []
    for pseud, type_id, day, vid in rows.select("pseudonym", "type_id", "_day", "_vid").iter_rows():
        out.append(
            {
                "vehicle": int(vid),
                "grant_id": f"seen:{pseud}:{type_id}:{day.isoformat()}",
                "type_id": type_id,
                "start": local_midnight(day),
                "end": local_midnight(day + timedelta(days=1)),
                "zones": [],
                "municipalities": [],
                "window": None,
            }
        )
    return pl.DataFrame(out, schema=GRANT_SCHEMA)


def _fidelity(out: pl.DataFrame) -> float | None:
    """Share of the zone's recorded (enforceable) passages whose replay in force gives the recorded verdict."""
    f = out.filter(pl.col("_recorded").is_in(["compliant", "exempt", "violation"]) & (pl.col("state_now") != "outside"))
    if f.height == 0:
        return None
    same = (f.get_column("_recorded") == "violation") == (f.get_column("state_now") == "refused")
    return float(same.mean())  # type: ignore[arg-type]


def _eligibility(
    book: RuleBook, vehicles: pl.DataFrame, out: pl.DataFrame
) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Per ontheffing type, the refused vehicles (pseudonyms) the engine finds eligible, overall and newly refused."""
    refused = out.filter(pl.col("state_draft") == "refused")
    if refused.height == 0:
        return {}, {}
    regs = {r.id: r for z in book.zones for r in z.regulations}
    firsts = refused.group_by("_vid", "regulation_draft").agg(pl.col("at").min())
    wanted = sorted({int(v) for v in firsts.get_column("_vid").to_list()})
    objs = dict(zip(wanted, frame_to_vehicles(vehicles[wanted]), strict=True))
    ok: dict[tuple[int, str], list[str]] = {}
    for vid, reg_id, at in firsts.iter_rows():
        tests, listed = book.options_for(regs[reg_id])
        results: dict[int, bool] = {}
        types = []
        when = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
        for type_id, group, _option in listed:
            if group not in results:
                results[group] = bool(tests[group](objs[int(vid)], when.astimezone(LOCAL_TZ)))
            if results[group]:
                types.append(type_id)
        ok[(int(vid), str(reg_id))] = types
    eligible: dict[str, set[str]] = {}
    new: dict[str, set[str]] = {}
    newly = (pl.col("state_now") != "refused").alias("_new")
    pairs = refused.select("_vid", "regulation_draft", "pseudonym", newly).unique()
    for vid, reg_id, pseud, is_new in pairs.iter_rows():
        for t in ok.get((int(vid), str(reg_id)), []):
            eligible.setdefault(t, set()).add(str(pseud))
            if is_new:
                new.setdefault(t, set()).add(str(pseud))
    return eligible, new


def camera_points(engine: Engine) -> list[CameraPoint]:
    """The enforcement registry's cameras (active ones) as points."""
    from ruas.enforcement.cameras import load_cameras
    from ruas.store.db import session_scope

    with session_scope(engine) as s:
        return [CameraPoint(c.id, c.lat, c.lon, tuple(c.zones), c.name) for c in load_cameras(s) if c.active]


__all__ = [
    "Assumptions",
    "CameraPoint",
    "Scenario",
    "Simulation",
    "camera_points",
    "cameras_within",
    "draft_book",
    "simulate",
]
