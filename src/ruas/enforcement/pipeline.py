"""Evaluate camera passages: read -> decide (vectorised) -> sanctions -> records and aggregates, atomically.

One run covers one or more local days. For each day it reads the inbox (new raw passages) together with the
day's kept violations and review items (so a re-run revises them, e.g. after a day exemption granted
afterwards on the same day), and:

1. classifies what cannot be enforced by camera: a foreign plate, a read below the confidence threshold,
   a plate not in the vehicle register (the last two go to the review queue);
2. decides every other (passage, zone the camera guards) with :func:`ruas.rules.batch.decision_table`
   (one small code per row from a table evaluated once per vehicle and distinct stretch of time)
   against the vehicle register, the regulations in force at that instant (ZE-zone, milieuzone, vehicle
   restrictions, delivery windows at that time of day) and the exemptions held at that instant (granted
   ontheffingen from the desk; automatic exemptions are clauses of the national frameworks). Outcomes:
   ``compliant`` (no regulation applies to the vehicle), ``exempt`` (one applies, but a transition rule,
   vrijstelling or held ontheffing lifts it), ``violation``, ``not_enforceable``;
3. turns violations into sanctions under the harmonised policy (:mod:`ruas.enforcement.policy`): a warning
   inside the warning period after the violated rule started, else a fine by vehicle class and year; at
   most one per vehicle, zone and day when the policy says so; repeat-offence multipliers when defined.
   Sanctions are upserted on (plate, zone, day, slot), so a re-run never duplicates one; a sanction whose
   violation disappeared is *withdrawn* (and exported as such);
4. writes de-identified records (pseudonym, no plate), aggregates, the violations' evidence and the review
   queue as partitioned Parquet, deletes the day's raw inbox, and commits the database and the files
   together: a failure before the end changes nothing.

Compliant and exempt passages are never written with their plate: they survive only as records and counts.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from ruas.domain.regulation import Regulation, Zone
from ruas.domain.timeutil import LOCAL_TZ
from ruas.enforcement.cameras import load_cameras
from ruas.enforcement.passages import PASSAGE_SCHEMA
from ruas.enforcement.policy import PolicyBook
from ruas.enforcement.privacy import EnforcementSettings, month_keys, month_of, pseudonyms
from ruas.enforcement.storage import RECORD_COLUMNS, Key, Store
from ruas.register.store import Register
from ruas.rules.batch import decision_table, grants_frame
from ruas.services.desk import add_months
from ruas.services.grants import grant_of
from ruas.store.db import session_scope
from ruas.store.models import Application, Sanction

OUTCOMES = ("compliant", "exempt", "violation", "not_enforceable")
OUTCOME_DTYPE = pl.Enum(list(OUTCOMES))
VEHICLE_CLASSES = ("van", "truck", "car", "bus", "motorcycle", "other", "unknown")
CLASS_DTYPE = pl.Enum(list(VEHICLE_CLASSES))
REASONS = ("foreign_plate", "low_confidence", "unknown_plate")
REVIEW_REASONS = ("low_confidence", "unknown_plate")


AGGREGATE_KEYS = ("zone_id", "hour", "vehicle_class", "fuel", "emission_class", "outcome")
"""Aggregates count passages per these keys (plus ``day``/``municipality`` from the partition)."""


@dataclass(frozen=True, slots=True)
class DayResult:
    """What a run did for one day."""

    day: date
    passages: int
    outcomes: Mapping[str, int]
    sanctions_new: int = 0
    sanctions_updated: int = 0
    sanctions_withdrawn: int = 0
    warnings: int = 0
    fines: int = 0
    review: int = 0

    def to_data(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "day": self.day.isoformat(),
            "passages": self.passages,
            "outcomes": dict(self.outcomes),
            "sanctions": {
                "new": self.sanctions_new,
                "updated": self.sanctions_updated,
                "withdrawn": self.sanctions_withdrawn,
                "warnings": self.warnings,
                "fines": self.fines,
            },
            "review": self.review,
        }


@dataclass
class Context:
    """What a run reads once: the register (rule book, vehicles), the cameras, settings."""

    register: Register
    store: Store
    settings: EnforcementSettings = field(default_factory=EnforcementSettings)

    @property
    def engine(self) -> Engine:
        """The database."""
        return self.register.store.engine


# --------------------------------------------------------------------------- vehicles


def vehicle_attributes(vehicles: pl.DataFrame) -> pl.DataFrame:
    """Per register row: the attributes records and aggregates keep (no plate) and the vehicle class."""
    goods = pl.col("category").is_in(["N1", "N2", "N3"])
    cls = (
        pl.when(goods & (pl.col("max_mass_kg") <= 3500))
        .then(pl.lit("van"))
        .when(goods)
        .then(pl.lit("truck"))
        .when(pl.col("category") == "M1")
        .then(pl.lit("car"))
        .when(pl.col("category").is_in(["M2", "M3"]))
        .then(pl.lit("bus"))
        .when(pl.col("category") == "L")
        .then(pl.lit("motorcycle"))
        .otherwise(pl.lit("other"))
        .cast(CLASS_DTYPE)
    )
    return vehicles.select(
        cls.alias("vehicle_class"),
        pl.col("category").cast(pl.Categorical),
        pl.col("body").cast(pl.Categorical),
        pl.col("fuels").list.join("+").cast(pl.Categorical).alias("fuel"),
        pl.col("emission_class").cast(pl.Categorical),
        pl.col("first_admission").dt.strftime("%Y-%m").cast(pl.Categorical).alias("first_admission_month"),
        pl.col("max_mass_kg"),
        pl.col("length_m"),
        pl.col("synthetic"),
    )


# --------------------------------------------------------------------------- reading


INPUT_SCHEMA: dict[str, pl.DataType] = {
    "camera_id": pl.Categorical(),
    "at": pl.Datetime("us", "UTC"),
    "plate": pl.Categorical(),
    "confidence": pl.Float32(),
    "country": pl.Categorical(),
}
"""Passages as a run reads them: text columns as categoricals (the inbox stores them dictionary-encoded)."""


def _inputs(store: Store, days: Sequence[date]) -> pl.DataFrame:
    """The inbox plus the kept violations and review items of these days, deduplicated, with ``day``."""
    cols = [*PASSAGE_SCHEMA, "day"]
    frames: list[pl.DataFrame] = []
    n_inbox = 0
    for dataset in ("inbox", "violations", "review"):
        if dataset == "violations":
            n_inbox = len(frames)
        for k in (k for d in days for k in store.partitions(dataset, d)):
            f = store.read(k)
            if f is not None and f.height:
                # only the columns a run needs, with the day of the path (the municipality comes from the camera)
                frames.append(
                    f.select([pl.col(c).cast(t) for c, t in INPUT_SCHEMA.items()] + [pl.lit(k.day).alias("day")])
                )
    if not frames:
        return pl.DataFrame(schema={**INPUT_SCHEMA, "day": pl.Date()})
    out = pl.concat(frames, how="vertical_relaxed").select(cols)
    if any(f.height for f in frames[n_inbox:]):  # kept violations or review items: a read may come twice
        out = out.unique(subset=["camera_id", "at", "plate"], keep="first", maintain_order=True)
    return out


# --------------------------------------------------------------------------- evaluation


def _codes(series: pl.Series) -> tuple[np.ndarray, pl.DataFrame]:
    """Physical codes of a categorical column (-1: null) and its distinct values with their code (``value``,
    ``code``)."""
    cat = series.cast(pl.Categorical)
    uniq = cat.unique().drop_nulls()
    table = pl.DataFrame({"value": uniq.cast(pl.Utf8), "code": uniq.to_physical().cast(pl.Int64)})
    phys = cat.to_physical()
    codes = phys.to_numpy() if phys.null_count() == 0 else phys.cast(pl.Int64).fill_null(-1).to_numpy()
    return codes, table


def _lookup(codes: np.ndarray, table: pl.DataFrame, values: pl.Series, default: int = -1) -> np.ndarray:
    """For each code, the position in the table's ``values`` mapping (``default`` when absent), as int32."""
    top = int(table.get_column("code").to_numpy().max(initial=0))
    size = max(int(codes.max(initial=0)), top) + 1
    lut = np.full(size + 1, default, dtype=np.int32)  # the last slot answers code -1
    pos = values.to_frame("value").with_row_index("_pos")
    hit = table.join(pos, on="value", how="inner")
    lut[hit.get_column("code").to_numpy()] = hit.get_column("_pos").cast(pl.Int32).to_numpy()
    out: np.ndarray = lut[codes] if codes.dtype.kind == "u" else lut[np.where(codes >= 0, codes, size)]
    return out  # unsigned codes have no nulls: every code is a real one


def local_hours(at_us: np.ndarray) -> np.ndarray:
    """The Europe/Amsterdam wall-clock hour of each instant (UTC offsets change only on whole UTC hours, so the
    local hour is a function of the UTC hour: one division and one gather from a table of the span's hours)."""
    if at_us.size == 0:
        return np.zeros(0, dtype=np.int8)
    hour0 = int(at_us.min()) // 3_600_000_000
    span = int(at_us.max()) // 3_600_000_000 - hour0 + 1
    table = np.array(
        [datetime.fromtimestamp((hour0 + h) * 3600, tz=UTC).astimezone(LOCAL_TZ).hour for h in range(span)],
        dtype=np.int8,
    )
    index = at_us // 3_600_000_000
    index -= hour0
    hours: np.ndarray = table[index]
    return hours


@dataclass(frozen=True)
class _Core:
    """A run's evaluation as arrays: one decision row per (passage, zone its camera guards).

    ``passages`` are the input rows of active cameras (ordered by partition when asked), ``src`` the passage of
    each row (None: exactly one row per passage), and per row the zone, the outcome (index into
    :data:`OUTCOMES`) and the basis (index into ``labels``, -1: none). Per passage: the camera, the register
    row (-1: not in the register), the instant, the pseudonym's index into ``pseudonym_labels`` and the local
    hour. Text is touched only per distinct value: columns are built by gathering small dictionaries.
    """

    passages: pl.DataFrame
    src: np.ndarray | None
    zone: np.ndarray
    outcome: np.ndarray
    basis: np.ndarray
    labels: pl.Series
    zones: pl.Series
    munis: list[str]
    cams: pl.Series
    cam_synthetic: np.ndarray
    cam_muni: np.ndarray
    cam: np.ndarray
    vid: np.ndarray
    at_us: np.ndarray
    pseudonym: np.ndarray
    pseudonym_labels: pl.Series
    attrs: pl.DataFrame
    reason: np.ndarray

    @property
    def rows(self) -> int:
        """Decision rows."""
        return int(self.zone.size)

    def per_row(self, values: np.ndarray) -> np.ndarray:
        """A per-passage array repeated for each of the passage's rows."""
        return values if self.src is None else values[self.src]

    def passage_of(self, rows: np.ndarray) -> np.ndarray:
        """The passage of some rows."""
        return rows if self.src is None else self.src[rows]

    def attr_index(self) -> np.ndarray:
        """Per passage: the row of ``attrs`` (the register row, or the trailing 'unknown vehicle' row)."""
        return np.where(self.vid >= 0, self.vid, self.attrs.height - 1)

    def records(self, a: int = 0, b: int | None = None) -> pl.DataFrame:
        """The de-identified records (:data:`RECORD_COLUMNS`) of rows ``a:b`` (default: every row), joined."""
        b = self.rows if b is None else b
        p = np.arange(a, b) if self.src is None else self.src[a:b]
        attr = self.attr_index()[p]
        synth = self.attrs.get_column("synthetic").to_numpy()[attr] | self.cam_synthetic[self.cam[p]]
        basis = self.basis[a:b]
        front = pl.DataFrame(
            {
                "at": pl.Series(self.at_us[p], dtype=pl.Int64).cast(pl.Datetime("us", "UTC")),
                "camera_id": self.cams.gather(_u32(self.cam[p])),
                "zone_id": self.zones.gather(_u32(self.zone[a:b])),
                "pseudonym": self.pseudonym_labels.gather(_u32(self.pseudonym[p])),
                "outcome": _OUTCOME_CATS.gather(_u32(self.outcome[a:b])),
                "basis": self.labels.gather(_u32(np.where(basis >= 0, basis, self.labels.len() - 1))),
            }
        )
        attrs = self.attrs.drop("synthetic").gather(_u32(attr))
        return pl.concat([front, attrs, pl.DataFrame({"synthetic": synth})], how="horizontal")

    def record_parts(self, a: int, b: int) -> tuple[pl.DataFrame, pl.DataFrame]:
        """The records of rows ``a:b`` (one partition) as stored: the rows with a ``vehicle`` number, and the
        partition's vehicles (``vehicle``, pseudonym and attributes; see :mod:`ruas.enforcement.storage`).

        Each vehicle's pseudonym and attributes are gathered once, not once per row."""
        p = np.arange(a, b) if self.src is None else self.src[a:b]
        vid = self.vid[p]
        nv = self.attrs.height - 1
        seen = np.zeros(nv + 1, dtype=bool)
        seen[vid] = True  # -1 marks the trailing slot
        seen[nv] = False
        used = np.flatnonzero(seen)
        number = np.cumsum(seen, dtype=np.int64) - 1
        vehicle = pl.Series("vehicle", number[vid].astype(np.uint32), dtype=pl.UInt32)
        vehicle = vehicle.set(pl.Series(vid < 0), None) if (vid < 0).any() else vehicle
        cam = self.cam[p]
        synth = self.attrs.get_column("synthetic").to_numpy()[np.where(vid >= 0, vid, nv)] | self.cam_synthetic[cam]
        basis = self.basis[a:b]
        fact = pl.DataFrame(
            [
                pl.Series("at", self.at_us[p], dtype=pl.Int64).cast(pl.Datetime("us", "UTC")),
                self.cams.gather(_u32(cam)).alias("camera_id"),
                self.zones.gather(_u32(self.zone[a:b])).alias("zone_id"),
                _OUTCOME_CATS.gather(_u32(self.outcome[a:b])).alias("outcome"),
                self.labels.gather(_u32(np.where(basis >= 0, basis, self.labels.len() - 1))).alias("basis"),
                pl.Series("synthetic", synth),
                vehicle,
            ]
        )
        # pseudonyms: a partition is one local day, so one month's key (pseudonym index = month * nv + vid)
        k = int(np.argmax(vid >= 0))
        base = int(self.pseudonym[p[k]]) - int(vid[k]) if used.size else 0
        dim = pl.concat(
            [
                pl.DataFrame({"vehicle": pl.Series(np.arange(used.size, dtype=np.uint32), dtype=pl.UInt32)}),
                pl.DataFrame([self.pseudonym_labels.gather(_u32(base + used)).alias("pseudonym")]),
                self.attrs.drop("synthetic").gather(_u32(used)),
            ],
            how="horizontal",
        )
        return fact, dim

    def subset(self, rows: np.ndarray, columns: Sequence[str]) -> pl.DataFrame:
        """Some rows with identifiable columns (violations, review): ``columns`` from camera_id, at, plate,
        confidence, country, zone_id, regulation_id, reason, vehicle_class, day, municipality."""
        p = _u32(self.passage_of(rows))
        cam = self.cam[self.passage_of(rows)]
        basis = self.basis[rows]
        labels = self.labels
        null = labels.len() - 1
        violation = self.outcome[rows] == OUTCOMES.index("violation")
        unenforceable = self.outcome[rows] == OUTCOMES.index("not_enforceable")
        attr = self.attr_index()[self.passage_of(rows)]
        cols: dict[str, pl.Series] = {
            "camera_id": self.cams.gather(_u32(cam)),
            "at": self.passages.get_column("at").gather(p),
            "plate": self.passages.get_column("plate").gather(p),
            "confidence": self.passages.get_column("confidence").gather(p),
            "country": self.passages.get_column("country").gather(p),
            "zone_id": self.zones.gather(_u32(self.zone[rows])),
            "regulation_id": labels.gather(_u32(np.where(violation, basis, null))),
            "reason": labels.gather(_u32(np.where(unenforceable, basis, null))),
            "vehicle_class": self.attrs.get_column("vehicle_class").gather(_u32(attr)),
            "day": self.passages.get_column("day").gather(p),
            "municipality": _with_null(self.munis, pl.Enum(self.munis)).gather(_u32(self.cam_muni[cam])),
        }
        return pl.DataFrame([cols[c].alias(c) for c in columns])


_OUTCOME_CATS = pl.Series(list(OUTCOMES), dtype=OUTCOME_DTYPE)
_VIOLATION = OUTCOMES.index("violation")


def _u32(index: np.ndarray) -> pl.Series:
    """A gather index."""
    return pl.Series(index.astype(np.uint32, copy=False), dtype=pl.UInt32)


def _with_null(values: Sequence[str], dtype: pl.DataType) -> pl.Series:
    """The values as a series of ``dtype`` with one trailing null: index ``len(values)`` gathers a null."""
    return pl.Series([*values, None], dtype=dtype)


def _pseudonym_parts(
    passages: pl.DataFrame, vehicles: pl.DataFrame, keys: Mapping[str, bytes]
) -> tuple[np.ndarray, list[str | None]]:
    """Per passage the index of its month among the run's months, and the pseudonyms of every register vehicle
    under each of those months' keys, month after month (vehicle ``v`` of month ``m``: ``m * nv + v``)."""
    # months from the few distinct days, not per passage
    day_num = passages.get_column("day").to_physical().to_numpy()
    d0 = int(day_num.min(initial=0))
    span = [date(1970, 1, 1) + timedelta(days=d0 + i) for i in range(int(day_num.max(initial=d0)) - d0 + 1)]
    month_of_day = np.array([d.year * 100 + d.month for d in span] or [0], dtype=np.int64)
    day_index = (day_num - d0).astype(np.int32)
    month_list = sorted({int(m) for m, used in zip(month_of_day, np.bincount(day_index), strict=False) if used})
    plates = vehicles.get_column("plate").to_list()
    labels: list[str | None] = []
    for m in month_list:
        labels.extend(pseudonyms(keys[f"{m // 100:04d}-{m % 100:02d}"], plates).to_list())
    month_index_of_day = np.searchsorted(np.array(month_list, dtype=np.int64), month_of_day).astype(np.int32)
    return month_index_of_day[day_index], labels


def _decision_rows(cam: np.ndarray, n_zones: np.ndarray, zmat: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """One decision row per (passage, zone its camera guards): per row the passage (None when every passage
    has exactly one row) and the zone code, both int32. A passage's rows are consecutive, in its camera's zone
    order. Built by scattering each zone rank's rows into place (no per-element repeat)."""
    per = n_zones[cam]
    if per.size and (per == 1).all():
        return None, zmat[:, 0][cam]
    dtype = np.int32 if per.size * zmat.shape[1] < np.iinfo(np.int32).max else np.int64
    start: np.ndarray = np.cumsum(per, dtype=dtype)
    start -= per
    total = int(start[-1] + per[-1]) if per.size else 0
    src = np.empty(total, dtype=np.int32)
    zone = np.empty(total, dtype=np.int32)
    for j in range(zmat.shape[1]):
        zone_j = np.ascontiguousarray(zmat[:, j])
        has = per > j
        if has.all():
            at = start + j if j else start
            src[at] = np.arange(per.size, dtype=np.int32)
            zone[at] = zone_j[cam]
        else:
            p = np.flatnonzero(has).astype(np.int32)
            at = start[p] + j
            src[at] = p
            zone[at] = zone_j[cam[p]]
    return src, zone


def _evaluate(ctx: Context, passages: pl.DataFrame, *, keys: Mapping[str, bytes], by_partition: bool = False) -> _Core:
    """Decide every (passage, zone its camera guards) on arrays; see :func:`evaluate`.

    ``by_partition``: order the passages by (day, municipality) first (stable), so that each output partition
    is one slice of rows (the inbox is read in that order, so this is usually free).
    """
    register = ctx.register
    book = register.book
    vehicles = register.vehicles
    nv = vehicles.height
    with session_scope(ctx.engine) as s:
        cams = [c for c in load_cameras(s) if c.active]
    zone_names = sorted({z for c in cams for z in c.zones}) or ["-"]
    muni_names = sorted({c.municipality for c in cams}) or ["-"]
    cam_ids = pl.Series([c.id for c in cams], dtype=pl.Utf8)
    # cameras: passages of unknown or inactive cameras give no rows
    cam_codes, cam_table = _codes(passages.get_column("camera_id"))
    cam = _lookup(cam_codes, cam_table, cam_ids)
    if (cam < 0).any():
        keep = cam >= 0
        passages, cam = passages.filter(pl.Series(keep)), cam[keep]
    cam_muni = np.array([muni_names.index(c.municipality) for c in cams] + [0], dtype=np.int32)
    if by_partition and passages.height > 1:
        day_num = passages.get_column("day").to_physical().to_numpy()
        part = (day_num - day_num.min()).astype(np.int32) * np.int32(len(muni_names)) + cam_muni[cam]
        if (np.diff(part) < 0).any():
            order = np.argsort(part, kind="stable")
            passages, cam = passages.gather(_u32(order)), cam[order]
    n_p = passages.height
    at_us = passages.get_column("at").dt.epoch("us").to_numpy()
    # one row per (passage, zone the camera guards)
    n_zones = np.array([len(c.zones) for c in cams] + [0], dtype=np.int32)
    zmat = np.full((len(cams) + 1, max(int(n_zones.max()), 1)), 0, dtype=np.int32)
    for i, c in enumerate(cams):
        zmat[i, : len(c.zones)] = [zone_names.index(z) for z in c.zones]
    src, zone = _decision_rows(cam, n_zones, zmat)
    # plates: resolved once per distinct read
    plate_codes, plate_table = _codes(passages.get_column("plate"))
    vid = _lookup(plate_codes, plate_table, vehicles.get_column("plate"))
    country = passages.get_column("country")
    foreign = (country.is_not_null() & (country != "NL")).fill_null(False).to_numpy()  # compared per category
    conf = passages.get_column("confidence")
    # why a read cannot be enforced (index into REASONS; -1: it can), the first that applies
    reason = np.full(n_p, -1, dtype=np.int8)
    reason[vid < 0] = REASONS.index("unknown_plate")
    if conf.null_count() < n_p:
        reason[(conf < ctx.settings.min_read_confidence).fill_null(False).to_numpy()] = REASONS.index("low_confidence")
    reason[foreign] = REASONS.index("foreign_plate")
    # the rules: one code per row from the decision table; unenforceable reads route to extra codes
    present = np.nonzero(np.bincount(zone, minlength=len(zone_names)))[0].tolist() if zone.size else []
    table, cell = decision_table(book, vehicles, zone_names, present, at_us, extra=len(REASONS))
    vrow = vid.copy()
    routed = reason >= 0
    vrow[routed] = nv + reason[routed].astype(np.int32)
    code = table.lookup(vrow if src is None else vrow[src], zone, cell if src is None else cell[src])
    grants = _grants(ctx, passages, vehicles)
    grant_types = grants.get_column("type_id").to_list() if grants.height else []
    nr, ng, nc = len(REASONS), len(table.regulation_ids), len(table.clause_ids)
    names = [*REASONS, *table.regulation_ids, *table.clause_ids, *(f"grant:{t}" for t in grant_types)]
    categories = list(dict.fromkeys(names)) or ["-"]
    label_pos = np.array([categories.index(x) for x in names] or [0], dtype=np.int64)
    labels = _with_null(categories, pl.Enum(categories))
    # per code: outcome and basis
    ncode = table.blocked.size
    outcome_of = np.where(table.blocked, 2, np.where(table.subject, 1, 0)).astype(np.uint8)
    basis_of = np.where(
        table.blocked,
        label_pos[np.maximum(nr + table.regulation, 0)],
        np.where(table.clause >= 0, label_pos[np.maximum(nr + ng + table.clause, 0)], -1),
    )
    extra = np.arange(table.extra_base, ncode)
    outcome_of[extra] = OUTCOMES.index("not_enforceable")
    basis_of[extra] = label_pos[extra - table.extra_base]
    outcome = outcome_of[code]
    basis = basis_of.astype(np.int32)[code]
    if grants.height:
        # held exemptions: only rows of vehicles that hold one and are blocked
        holders = table.holders(grants)
        hp = np.nonzero(holders[vrow])[0]
        if src is None:
            rows = hp
        else:
            mark = np.zeros(n_p, dtype=bool)
            mark[hp] = True
            rows = np.nonzero(mark[src])[0]
        rows = rows[table.blocked[code[rows]]]
        if rows.size:
            p = rows if src is None else src[rows]
            effective, first = table.lift(book, grants, vid[p], zone[rows], at_us[p], cell[p])
            still = effective != 0
            reg = table.first_regulation(zone[rows], effective)
            outcome[rows] = np.where(still, 2, 1)
            basis[rows] = np.where(
                still, label_pos[np.maximum(nr + reg, 0)], label_pos[np.maximum(nr + ng + nc + first, 0)]
            )
    # pseudonyms of register vehicles under the key of the passage's month
    month_idx, pseud_labels = _pseudonym_parts(passages, vehicles, keys)
    pseud = np.where(vid >= 0, month_idx * np.int32(nv) + vid, len(pseud_labels))
    # categorical, not enum: an enum would carry every register vehicle's pseudonym in each file's schema
    pseud_s = pl.Series([*pseud_labels, None], dtype=pl.Utf8).cast(pl.Categorical)
    attrs = vehicle_attributes(vehicles)
    attrs = pl.concat([attrs, attrs.clear(1)]).with_columns(
        pl.col("vehicle_class").fill_null("unknown"), pl.col("synthetic").fill_null(False)
    )
    return _Core(
        passages=passages,
        src=src,
        zone=zone,
        outcome=outcome,
        basis=basis,
        labels=labels,
        zones=_with_null(zone_names, pl.Enum(zone_names)),
        munis=muni_names,
        cams=_with_null(cam_ids.to_list(), pl.Categorical()),
        cam_synthetic=np.array([c.synthetic for c in cams] + [False]),
        cam_muni=cam_muni,
        cam=cam,
        vid=vid,
        at_us=at_us,
        pseudonym=pseud,
        pseudonym_labels=pseud_s,
        attrs=attrs,
        reason=reason,
    )


def evaluate(ctx: Context, passages: pl.DataFrame, *, keys: Mapping[str, bytes]) -> pl.DataFrame:
    """Outcome of every (passage, zone its camera guards), with the vehicle's attributes and pseudonym.

    Columns: ``camera_id``, ``at``, ``plate`` (as read), ``confidence``, ``country``, ``day``,
    ``municipality`` (the camera's), ``zone_id``, ``outcome``, ``basis`` (the regulation violated, the clause
    or ``grant:<type>`` that exempts, or why not enforceable), ``regulation_id`` (violations), ``reason``
    (not enforceable), ``pseudonym`` (register vehicles only) and the record attributes. Rows follow the
    passages (a passage's zones in the camera's order).

    Text is kept as categoricals and the work is done on arrays: plates and cameras are resolved once per
    distinct value, the rules by :func:`ruas.rules.batch.decision_table` (one code per row).
    """
    core = _evaluate(ctx, passages, keys=keys)
    rows = np.arange(core.rows)
    ids = core.subset(
        rows, ("camera_id", "zone_id", "municipality", "regulation_id", "reason", "plate", "confidence", "country")
    )
    rec = core.records()
    p = _u32(core.passage_of(rows))
    return pl.DataFrame(
        [
            ids.get_column("camera_id"),
            rec.get_column("at"),
            ids.get_column("zone_id"),
            ids.get_column("municipality"),
            rec.get_column("outcome"),
            rec.get_column("basis"),
            ids.get_column("regulation_id"),
            ids.get_column("reason"),
            rec.get_column("pseudonym"),
            ids.get_column("plate"),
            ids.get_column("confidence"),
            ids.get_column("country"),
            core.passages.get_column("day").gather(p),
            *rec.select(RECORD_COLUMNS[6:]).get_columns(),
        ]
    )


def _grants(ctx: Context, frame: pl.DataFrame, vehicles: pl.DataFrame) -> pl.DataFrame:
    """Granted exemptions valid at some moment of the frame, for the vehicles in it."""
    if frame.height == 0:
        return grants_frame([], {})
    lo = frame.get_column("at").min()
    hi = frame.get_column("at").max()
    assert isinstance(lo, datetime) and isinstance(hi, datetime)
    with session_scope(ctx.engine) as s:
        apps = s.scalars(
            select(Application).where(
                Application.status == "granted", Application.valid_from <= hi, Application.valid_until > lo
            )
        ).all()
        grants = [grant_of(a) for a in apps]
    if not grants:
        return grants_frame([], {})
    plates = sorted({g.plate for g in grants})
    rows = (
        vehicles.select(pl.col("plate"), pl.int_range(pl.len(), dtype=pl.UInt32).alias("vehicle"))
        .filter(pl.col("plate").is_in(plates))
        .iter_rows()
    )
    return grants_frame(grants, {p: int(v) for p, v in rows})


# --------------------------------------------------------------------------- sanctions


SANCTION_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.Utf8(),
    "plate": pl.Utf8(),
    "zone_id": pl.Utf8(),
    "municipality": pl.Utf8(),
    "day": pl.Date(),
    "slot": pl.Int64(),
    "kind": pl.Utf8(),
    "amount_eur": pl.Float64(),
    "vehicle_class": pl.Utf8(),
    "regulation_id": pl.Utf8(),
    "reason": pl.Utf8(),
    "camera_id": pl.Utf8(),
    "passage_at": pl.Datetime("us", "UTC"),
    "passages": pl.Int64(),
    "repeat_count": pl.Int64(),
    "policy": pl.Utf8(),
}
"""Planned sanctions, one row each (``policy`` is the applied policy as JSON text)."""


def _regulations(zones: Sequence[Zone]) -> dict[str, tuple[Regulation, Zone]]:
    return {r.id: (r, z) for z in zones for r in z.regulations}


def warning_ends(regulation: Regulation, months: int) -> date | None:
    """The first local day of fines: the rule's start day plus the warning period (None: no warning period)."""
    start = regulation.validity.start
    if start is None:
        return None
    return add_months(start.astimezone(LOCAL_TZ).date(), months)


def new_ids(n: int) -> pl.Series:
    """``n`` new UUIDs (version 7: creation time in milliseconds, then 74 random bits) as text, in ascending
    order, made in bulk.

    A sanction's id is assigned once, when it is first stored; re-runs find it by its natural key
    (plate, zone, day, slot), so ids never need to be recomputed and carry nothing about the vehicle.
    Time-ordered ids land at the end of the primary-key index instead of at random pages, which keeps a run's
    bulk insert of many sanctions cheap (RFC 9562, section 5.7).

    >>> import uuid
    >>> ids = new_ids(3).to_list()
    >>> len(set(ids)) == 3 and all(uuid.UUID(i).version == 7 for i in ids) and ids == sorted(ids)
    True
    """
    raw = np.frombuffer(os.urandom(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    ms = time.time_ns() // 1_000_000
    raw[:, :6] = np.frombuffer(ms.to_bytes(6, "big"), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x70
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    # the 36 characters of each id as ASCII codes (not through a fixed-width bytes view: that drops a
    # trailing zero byte, which would shorten one id in 256)
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    nibbles = np.empty((n, 32), dtype=np.uint8)
    nibbles[:, 0::2] = raw >> 4
    nibbles[:, 1::2] = raw & 0x0F
    text = np.full((n, 36), ord("-"), dtype=np.uint8)
    for start, end, at in ((0, 8, 0), (8, 12, 9), (12, 16, 14), (16, 20, 19), (20, 32, 24)):
        text[:, at : at + end - start] = digits[nibbles[:, start:end]]
    return pl.Series("id", text.view("S36").ravel(), dtype=pl.Binary).cast(pl.Utf8).sort()


def plan_sanctions(
    violations: pl.DataFrame,
    zones: Sequence[Zone],
    policies: PolicyBook,
    prior_fines: Mapping[str, Sequence[date]] | None = None,
) -> pl.DataFrame:
    """Sanctions (:data:`SANCTION_SCHEMA`) for a frame of violations (``plate``, ``zone_id``, ``day``, ``at``,
    ``camera_id``, ``regulation_id``, ``vehicle_class``); ``prior_fines``: days of earlier fines per plate.

    Vectorised: the policy is resolved once per (violated regulation, day) and joined; one row per vehicle,
    zone and day (the first violating passage is the offence) unless the policy fines every passage.
    """
    if violations.height == 0:
        return pl.DataFrame(schema=SANCTION_SCHEMA)
    regs = _regulations(zones)
    v = violations.select(
        pl.col("plate").cast(pl.Utf8),
        pl.col("zone_id").cast(pl.Utf8),
        "day",
        "at",
        pl.col("camera_id").cast(pl.Utf8),
        pl.col("regulation_id").cast(pl.Utf8),
        pl.col("vehicle_class").cast(pl.Utf8),
    ).sort("at")
    combos = v.select("regulation_id", "day").unique()
    rows = []
    for reg_id, day in combos.iter_rows():
        reg, zone = regs[reg_id]
        pol = policies.policy(zone.authority, day)
        fine_from = warning_ends(reg, pol.warning_period_months)
        warning = fine_from is not None and day < fine_from
        reason = f"{reg.subject_label} ({reg.legal_source.citation})"
        rows.append(
            {
                "regulation_id": reg_id,
                "day": day,
                "municipality": zone.authority,
                "_warning": warning,
                "_van": pol.fine_for("van"),
                "_truck": pol.fine_for("truck"),
                "_other": pol.fine_for("other"),
                "_per_day": pol.one_per_day,
                "_repeat": pol.repeat_window_days is not None,
                "reason": reason
                + (f"; warning period: fines from {fine_from.isoformat()}" if warning and fine_from else ""),
                # the layers applied (versions are add-only, so they pin the parameters); see PolicyBook.policy
                "policy": json.dumps({"sources": list(pol.sources), "fine_year": pol.fine_year}),
                "_window": pol.repeat_window_days,
                "_after": pol.repeat_after,
                "_mult": pol.repeat_multiplier,
            }
        )
    table = pl.DataFrame(
        rows,
        schema={
            "regulation_id": pl.Utf8,
            "day": pl.Date,
            "municipality": pl.Utf8,
            "_warning": pl.Boolean,
            "_van": pl.Float64,
            "_truck": pl.Float64,
            "_other": pl.Float64,
            "_per_day": pl.Boolean,
            "_repeat": pl.Boolean,
            "reason": pl.Utf8,
            "policy": pl.Utf8,
            "_window": pl.Int64,
            "_after": pl.Int64,
            "_mult": pl.Float64,
        },
    )
    # the regulation of the first violating passage decides the day's sanction
    first = v.group_by(["plate", "zone_id", "day"], maintain_order=True).agg(pl.col("regulation_id").first())
    v = v.join(first.rename({"regulation_id": "_first_reg"}), on=["plate", "zone_id", "day"]).join(
        table, left_on=["_first_reg", "day"], right_on=["regulation_id", "day"]
    )
    per_day = (
        v.filter(pl.col("_per_day"))
        .group_by(["plate", "zone_id", "day"], maintain_order=True)
        .agg(
            pl.col("at").first().alias("passage_at"),
            pl.col("camera_id").first(),
            pl.col("_first_reg").first().alias("regulation_id"),
            pl.col("vehicle_class").first(),
            pl.len().cast(pl.Int64).alias("passages"),
            pl.lit(0, pl.Int64).alias("slot"),
            *[pl.col(c).first() for c in table.columns if c not in ("regulation_id", "day")],
        )
    )
    each = v.filter(~pl.col("_per_day")).select(
        "plate",
        "zone_id",
        "day",
        pl.col("at").alias("passage_at"),
        "camera_id",
        pl.col("_first_reg").alias("regulation_id"),
        "vehicle_class",
        pl.lit(1, pl.Int64).alias("passages"),
        (pl.col("at").dt.epoch("s")).cast(pl.Int64).alias("slot"),
        *[c for c in table.columns if c not in ("regulation_id", "day")],
    )
    planned = pl.concat([per_day, each.select(per_day.columns)], how="vertical_relaxed").sort(
        ["day", "passage_at", "plate", "zone_id"]
    )
    cls = pl.col("vehicle_class")
    fine_class = pl.when(cls.is_in(["van", "truck"])).then(cls).otherwise(pl.lit("other"))
    amount = (
        pl.when(pl.col("_warning"))
        .then(pl.lit(None, pl.Float64))
        .when(fine_class == "van")
        .then(pl.col("_van"))
        .when(fine_class == "truck")
        .then(pl.col("_truck"))
        .otherwise(pl.col("_other"))
    )
    planned = planned.with_columns(
        pl.when(pl.col("_warning")).then(pl.lit("warning")).otherwise(pl.lit("fine")).alias("kind"),
        amount.alias("amount_eur"),
        fine_class.alias("vehicle_class"),
        pl.lit(0, pl.Int64).alias("repeat_count"),
    )
    if planned.get_column("_repeat").any():
        planned = _repeat_offences(planned, prior_fines or {})
    # ids ascend with the natural key, so a bulk insert appends to both unique indexes
    key = ["plate", "zone_id", "day", "slot"]
    planned = planned.with_row_index("_row").sort(key).with_columns(new_ids(planned.height)).sort("_row")
    return planned.select(list(SANCTION_SCHEMA)).cast(SANCTION_SCHEMA)  # type: ignore[arg-type]


def _repeat_offences(planned: pl.DataFrame, prior: Mapping[str, Sequence[date]]) -> pl.DataFrame:
    """Apply repeat-offence rules in day order: count earlier fines of the plate within the window."""
    seen: dict[str, list[date]] = {k: list(v) for k, v in prior.items()}
    counts: list[int] = []
    amounts: list[float | None] = []
    cols = ("plate", "day", "kind", "amount_eur", "_repeat", "_window", "_after", "_mult")
    for plate, day, kind, amount, repeat, window, after, mult in planned.select(cols).iter_rows():
        n = 0
        if kind == "fine" and repeat:
            since = day - timedelta(days=window)
            n = sum(1 for d in seen.get(plate, []) if since <= d < day)
            if amount is not None and n >= after:
                amount = round(amount * mult, 2)
        if kind == "fine":
            seen.setdefault(plate, []).append(day)
        counts.append(n)
        amounts.append(amount)
    return planned.with_columns(
        pl.Series("repeat_count", counts, dtype=pl.Int64), pl.Series("amount_eur", amounts, dtype=pl.Float64)
    )


def prior_fines(session: Session, plates: Sequence[str], before: date, window: int) -> dict[str, list[date]]:
    """Per plate, the days of its open fines in the ``window`` days before ``before`` (repeat-offence rules)."""
    out: dict[str, list[date]] = {}
    for i in range(0, len(plates), 5000):
        rows = session.execute(
            select(Sanction.plate, Sanction.day).where(
                Sanction.kind == "fine",
                Sanction.status == "open",
                Sanction.day < before,
                Sanction.day >= before - timedelta(days=window),
                Sanction.plate.in_(plates[i : i + 5000]),
            )
        ).all()
        for plate, day in rows:
            out.setdefault(plate, []).append(day)
    return out


_MATERIAL = ("kind", "amount_eur", "regulation_id", "passage_at", "passages", "camera_id", "repeat_count")


def upsert_sanctions(
    session: Session,
    planned: pl.DataFrame,
    days: Sequence[date],
    now: datetime,
    *,
    plates: Sequence[str] | None = None,
) -> dict[date, tuple[int, int, int]]:
    """Write planned sanctions for ``days``: insert new, update changed (revision + 1), withdraw vanished.

    ``plates``: the plan covers only these vehicles (a review correction); other vehicles' sanctions stay as
    they are. Returns per day (new, updated, withdrawn). New rows go in with one bulk insert.
    """
    key = ["plate", "zone_id", "day", "slot"]
    cols = ["id", *key, "status", "revision", *_MATERIAL]
    query = select(*[getattr(Sanction, c) for c in cols]).where(Sanction.day.in_(list(days)))
    if plates is not None:
        query = query.where(Sanction.plate.in_(list(plates)))
    existing_rows = session.execute(query).all()
    existing = pl.DataFrame(
        [tuple(r) for r in existing_rows],
        schema={
            "id": pl.Utf8,
            "plate": pl.Utf8,
            "zone_id": pl.Utf8,
            "day": pl.Date,
            "slot": pl.Int64,
            "status": pl.Utf8,
            "revision": pl.Int64,
            "kind": pl.Utf8,
            "amount_eur": pl.Float64,
            "regulation_id": pl.Utf8,
            "passage_at": pl.Datetime("us", "UTC"),
            "passages": pl.Int64,
            "camera_id": pl.Utf8,
            "repeat_count": pl.Int64,
        },
        orient="row",
    )
    counts = {d: [0, 0, 0] for d in days}
    new = planned.join(existing.select(key), on=key, how="anti")
    if new.height:
        _bulk_insert(session, new, now)
        for d, n in new.group_by("day").len().iter_rows():
            counts[d][0] += int(n)
    both = planned.join(existing, on=key, how="inner", suffix="_old")
    changed = both.filter(
        (pl.col("status_old" if "status_old" in both.columns else "status") != "open")
        | pl.any_horizontal([pl.col(c).ne_missing(pl.col(f"{c}_old")) for c in _MATERIAL])
    )
    if changed.height:
        by_id = {
            r.id: r
            for r in session.scalars(select(Sanction).where(Sanction.id.in_(changed.get_column("id_old").to_list())))
        }
        for row in changed.iter_rows(named=True):
            s = by_id[row["id_old"]]
            for c in (*_MATERIAL, "reason", "vehicle_class", "municipality"):
                setattr(s, c, row[c])
            s.policy = json.loads(row["policy"])
            s.status = "open"
            s.revision += 1
            s.updated_at = now
            counts[row["day"]][1] += 1
    gone = existing.filter(pl.col("status") == "open").join(planned.select(key), on=key, how="anti")
    if gone.height:
        for s in session.scalars(select(Sanction).where(Sanction.id.in_(gone.get_column("id").to_list()))):
            s.status = "withdrawn"
            s.reason = s.reason + "; withdrawn on reprocessing: no violation any more (e.g. an exemption held)"
            s.revision += 1
            s.updated_at = now
            counts[s.day][2] += 1
    session.flush()
    return {d: (c[0], c[1], c[2]) for d, c in counts.items()}


def _bulk_insert(session: Session, new: pl.DataFrame, now: datetime) -> None:
    """Insert planned sanctions in one prepared statement (the DB-API's executemany on SQLite).

    Rows go in ordered by the natural key, and their ids ascend with it (:func:`plan_sanctions`), so the
    primary key and the unique index both grow at their ends rather than at random places; the statement
    runs with a larger page cache (restored afterwards).
    """
    cols = list(SANCTION_SCHEMA)
    extra = ["status", "revision", "exported_revision", "exported_at", "created_at", "updated_at"]
    conn = session.connection()
    new = new.sort(["plate", "zone_id", "day", "slot"])
    if conn.dialect.name == "sqlite":
        # SQLAlchemy stores datetimes on SQLite as naive UTC text; dates as ISO text; JSON as text
        stamp = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        rows = new.select(cols).with_columns(
            pl.col("day").dt.strftime("%Y-%m-%d"),
            pl.col("passage_at").dt.strftime("%Y-%m-%d %H:%M:%S.%6f"),
        )
        # the columns every new sanction shares are literals (``stamp`` is digits and separators by construction):
        # fewer parameters to bind per row
        names = ", ".join(cols + extra)
        marks = ", ".join(["?"] * len(cols) + ["'open'", "1", "0", "NULL", f"'{stamp}'", f"'{stamp}'"])
        raw = conn.connection.driver_connection
        assert raw is not None
        cursor = raw.cursor()
        (cache,) = cursor.execute("PRAGMA cache_size").fetchone()
        cursor.execute("PRAGMA cache_size = -262144")  # up to 256 MiB, allocated only as pages are used
        try:
            cursor.executemany(f"INSERT INTO enforcement_sanctions ({names}) VALUES ({marks})", rows.iter_rows())
        finally:
            cursor.execute(f"PRAGMA cache_size = {int(cache)}")
        return
    dicts = [
        {**r, "policy": json.loads(r["policy"]), "status": "open", "revision": 1, "exported_revision": 0,
         "exported_at": None, "created_at": now, "updated_at": now}
        for r in new.select(cols).iter_rows(named=True)
    ]  # fmt: skip
    session.execute(insert(Sanction), dicts)


# --------------------------------------------------------------------------- outputs


def aggregates(records: pl.DataFrame) -> pl.DataFrame:
    """Counts per zone, local hour, vehicle class, fuel, emission class and outcome."""
    hours = pl.Series("hour", local_hours(records.get_column("at").dt.epoch("us").to_numpy()))
    return (
        records.select(*(c for c in AGGREGATE_KEYS if c != "hour"))
        .with_columns(hours)
        .group_by(list(AGGREGATE_KEYS))
        .agg(pl.len().cast(pl.UInt32).alias("passages"))
        .sort(list(AGGREGATE_KEYS))
    )


VIOLATION_COLUMNS = (
    "camera_id",
    "at",
    "plate",
    "confidence",
    "country",
    "zone_id",
    "regulation_id",
    "vehicle_class",
)
REVIEW_COLUMNS = ("camera_id", "at", "plate", "confidence", "country", "zone_id", "reason")


def run(
    ctx: Context,
    days: Sequence[date] | None = None,
    *,
    now: datetime,
    fail_after: int | None = None,
) -> list[DayResult]:
    """Evaluate the given days (default: every day with passages in the inbox) and commit all outputs at once.

    The output files are written (staged as hidden temporaries, in worker threads) while the sanctions go into
    the database; they are renamed into place only when both are done, inside the still-open transaction.
    ``fail_after`` injects a crash after staging that many output files (tests of the all-or-nothing commit).
    """
    store = ctx.store
    with store.locked():
        todo = sorted(set(days if days is not None else store.days("inbox")))
        if not todo:
            return []
        passages = _inputs(store, todo)
        with session_scope(ctx.engine) as session:
            keys = month_keys(session, {month_of(d) for d in todo}, now)
            policies = PolicyBook.load(session)
            core = _evaluate(ctx, passages, keys=keys, by_partition=True)
            violations = core.subset(
                np.nonzero(core.outcome == _VIOLATION)[0], [*VIOLATION_COLUMNS, "day", "municipality"]
            )
            prior: dict[str, list[date]] = {}
            windows = {policies.policy(z.authority, d).repeat_window_days for z in ctx.register.zones for d in todo}
            window = max((w for w in windows if w is not None), default=None)
            if window is not None and violations.height:
                plates = violations.get_column("plate").cast(pl.Utf8).unique().to_list()
                prior = prior_fines(session, plates, todo[0], window)
            planned = plan_sanctions(violations, ctx.register.zones, policies, prior)
            # the sanctions go into the database (one thread; SQLite works outside the GIL) while this thread
            # builds the output partitions and the staging threads write them. Leaving the executor's block
            # waits for that thread, so on a failure the session is rolled back only once it is idle.
            with ThreadPoolExecutor(1, thread_name_prefix="ruas-sanctions") as database:
                upsert = database.submit(upsert_sanctions, session, planned, todo, now)
                with store.staging(fail_after=fail_after) as staged:
                    results = _outputs(store, core, todo, passages, violations, staged.add)
                    counts = upsert.result()
                    staged.publish()
    kinds = {(d, k): int(n) for d, k, n in planned.group_by("day", "kind").len().iter_rows()}
    out = []
    for r in results:
        new, updated, withdrawn = counts.get(r.day, (0, 0, 0))
        out.append(
            DayResult(
                r.day,
                r.passages,
                r.outcomes,
                sanctions_new=new,
                sanctions_updated=updated,
                sanctions_withdrawn=withdrawn,
                warnings=kinds.get((r.day, "warning"), 0),
                fines=kinds.get((r.day, "fine"), 0),
                review=r.review,
            )
        )
    return out


def _partition_bounds(core: _Core) -> list[tuple[date, str, int, int]]:
    """(day, municipality, first row, end row) of each partition; rows are in partition order."""
    if core.rows == 0:
        return []
    day_num = core.passages.get_column("day").to_physical().to_numpy()
    part = (day_num - day_num.min()).astype(np.int32) * np.int32(len(core.munis)) + core.cam_muni[core.cam]
    starts = np.concatenate([[0], np.flatnonzero(np.diff(part)) + 1])
    # the first row of each partition's first passage (rows follow passages, so ``src`` ascends)
    bounds = np.append(starts, part.size)
    row_start = bounds if core.src is None else np.searchsorted(core.src, bounds, side="left")
    first: list[int] = starts.tolist()
    row_at: list[int] = row_start.tolist()
    days = core.passages.get_column("day")
    out = []
    for i, a in enumerate(first):
        if row_at[i + 1] > row_at[i]:
            out.append((days[a], core.munis[int(core.cam_muni[core.cam[a]])], row_at[i], row_at[i + 1]))
    return out


def _aggregate_codes(core: _Core) -> tuple[np.ndarray, pl.DataFrame, int]:
    """Per row one integer for its aggregate group (zone, local hour, vehicle class/fuel/emission class,
    outcome), the table of distinct (vehicle class, fuel, emission class), and the number of groups."""
    kinds = core.attrs.select("vehicle_class", "fuel", "emission_class")
    phys = [kinds.get_column(c).to_physical().cast(pl.Int64).fill_null(-1).to_numpy() + 1 for c in kinds.columns]
    key = phys[0]
    for a in phys[1:]:
        key = key * (int(a.max(initial=0)) + 1) + a
    uniq, first, kind = np.unique(key, return_index=True, return_inverse=True)
    n_kind = uniq.size
    n_out = len(OUTCOMES)
    # int32 arithmetic: every group number is below zones x 24 x kinds x outcomes (checked)
    assert (core.zones.len() - 1) * 24 * n_kind * n_out < np.iinfo(np.int32).max
    per_passage = local_hours(core.at_us).astype(np.int32)
    per_passage *= np.int32(n_kind)
    per_passage += kind.astype(np.int32)[core.attr_index()]
    group = core.zone.astype(np.int32) * np.int32(24 * n_kind)
    group += core.per_row(per_passage)
    group *= np.int32(n_out)
    group += core.outcome
    return group, kinds.gather(_u32(first)), (core.zones.len() - 1) * 24 * n_kind * n_out


def _aggregate_frame(counts: np.ndarray, core: _Core, kinds: pl.DataFrame) -> pl.DataFrame:
    """The aggregates partition from counts per group (see :func:`_aggregate_codes`)."""
    groups = np.nonzero(counts)[0]
    n_out, n_kind = len(OUTCOMES), kinds.height
    outcome = groups % n_out
    rest = groups // n_out
    zone, hk = rest // (24 * n_kind), rest % (24 * n_kind)
    hour, kind = hk // n_kind, hk % n_kind
    k = kinds.gather(_u32(kind))
    return pl.DataFrame(
        [
            core.zones.gather(_u32(zone)).alias("zone_id"),
            pl.Series("hour", hour.astype(np.int8)),
            k.get_column("vehicle_class"),
            k.get_column("fuel"),
            k.get_column("emission_class"),
            _OUTCOME_CATS.gather(_u32(outcome)).alias("outcome"),
            pl.Series("passages", counts[groups].astype(np.uint32)),
        ]
    ).sort(list(AGGREGATE_KEYS))


def _outputs(
    store: Store,
    core: _Core,
    days: Sequence[date],
    passages: pl.DataFrame,
    viol_all: pl.DataFrame,
    stage: Callable[[Mapping[Key, pl.DataFrame | None]], None],
) -> list[DayResult]:
    """Build every partition the run replaces (records, aggregates, violations, review; the inbox emptied) and
    hand each to ``stage`` as soon as it is built (the staging threads write it while the next is built);
    returns the results per day. ``viol_all`` are the run's violations (``core.subset`` of them, with day and
    municipality)."""
    emptied = {k for dataset in ("inbox", "violations", "review") for d in days for k in store.partitions(dataset, d)}
    group, kinds, n_groups = _aggregate_codes(core)
    slices: dict[tuple[date, str], tuple[int, int]] = {(d, m): (a, b) for d, m, a, b in _partition_bounds(core)}
    for d in days:
        for k in store.partitions("records", d):
            slices.setdefault((d, k.municipality), (0, 0))
    counts: dict[date, dict[str, int]] = {d: dict.fromkeys(OUTCOMES, 0) for d in days}
    for (d, m), (a, b) in slices.items():
        old = store.read(Key("records", d, m))
        if old is not None and old.height:
            new = core.records(a, b)
            # a re-run: records of passages evaluated before are replaced by their natural key
            text = [c for c in ("camera_id", "zone_id", "outcome", "basis", "pseudonym") if c in old.columns]
            cast = [pl.col(c).cast(pl.Utf8) for c in text]
            old, fresh = old.with_columns(cast), new.with_columns(cast)
            kept = old.join(
                fresh.select("camera_id", "at", "pseudonym").unique(),
                on=["camera_id", "at", "pseudonym"],
                how="anti",
                nulls_equal=True,
            )
            rec = pl.concat([kept, fresh.select(old.columns)], how="vertical_relaxed").sort("at")
            agg = aggregates(rec)
            # the store splits the joined form into rows and vehicles
            stage({Key("records", d, m): rec, Key("aggregates", d, m): agg})
        elif b > a:
            agg = _aggregate_frame(np.bincount(group[a:b], minlength=n_groups), core, kinds)
            fact, dim = core.record_parts(a, b)
            stage({Key("records", d, m): fact, Key("record_vehicles", d, m): dim, Key("aggregates", d, m): agg})
        else:
            continue
        for o, c in agg.group_by("outcome").agg(pl.col("passages").sum()).iter_rows():
            counts[d][str(o)] += int(c)
    rest: dict[Key, pl.DataFrame | None] = {}
    for (d, m), f in viol_all.partition_by(["day", "municipality"], as_dict=True).items():
        rest[Key("violations", d, str(m))] = _as_text(f.drop("day", "municipality")).sort("at")
    review_codes = [REASONS.index(r) for r in REVIEW_REASONS]
    rev_rows = np.nonzero(np.isin(core.per_row(core.reason), review_codes))[0]
    rev_all = core.subset(rev_rows, [*REVIEW_COLUMNS, "day", "municipality"])
    review_counts: dict[date, int] = {}
    for (d, m), f in rev_all.partition_by(["day", "municipality"], as_dict=True).items():
        rest[Key("review", d, str(m))] = _as_text(f.drop("day", "municipality")).sort("at")
        review_counts[d] = review_counts.get(d, 0) + f.height
    stage(rest | {k: None for k in emptied if k not in rest})
    per_day = dict(passages.group_by("day").len().iter_rows())
    return [DayResult(d, int(per_day.get(d, 0)), counts[d], review=review_counts.get(d, 0)) for d in days]


def _as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Categorical and enum columns as text (small identifiable partitions, re-read by later runs)."""
    return frame.with_columns(
        [pl.col(c).cast(pl.Utf8) for c, t in frame.schema.items() if isinstance(t, pl.Categorical | pl.Enum)]
    )


__all__ = ["Context", "DayResult", "aggregates", "evaluate", "plan_sanctions", "run", "upsert_sanctions"]
