"""Evaluate camera passages: read -> decide (vectorised) -> sanctions -> records and aggregates, atomically.

One run covers one or more local days. For each day it reads the inbox (new raw passages) together with the
day's kept violations and review items (so a re-run revises them, e.g. after a day exemption granted
afterwards on the same day), and:

1. classifies what cannot be enforced by camera: a foreign plate, a read below the confidence threshold,
   a plate not in the vehicle register (the last two go to the review queue);
2. decides every other (passage, zone the camera guards) with :func:`ruas.rules.batch.decide_indexed`
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
from collections.abc import Mapping, Sequence
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
from ruas.enforcement.storage import Key, Store
from ruas.register.store import Register
from ruas.rules.batch import decide_arrays, grants_frame
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
"""Columns of a de-identified record (one per passage and zone the camera guards); no plate."""

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
    frames = []
    for dataset in ("inbox", "violations", "review"):
        keys = [k for d in days for k in store.partitions(dataset, d)]
        f = store.read_many(keys)
        if f is not None and f.height:
            frames.append(f.select([pl.col(c).cast(t) for c, t in INPUT_SCHEMA.items()] + [pl.col("day")]))
    if not frames:
        return pl.DataFrame(schema={**INPUT_SCHEMA, "day": pl.Date()})
    out = pl.concat(frames, how="vertical_relaxed").select(cols)
    if len(frames) > 1:
        out = out.unique(subset=["camera_id", "at", "plate"], keep="first", maintain_order=True)
    return out


# --------------------------------------------------------------------------- evaluation


def _codes(series: pl.Series) -> tuple[np.ndarray, pl.DataFrame]:
    """Physical codes of a categorical column and its distinct values with their code (``value``, ``code``)."""
    cat = series.cast(pl.Categorical)
    uniq = cat.unique().drop_nulls()
    table = pl.DataFrame({"value": uniq.cast(pl.Utf8), "code": uniq.to_physical().cast(pl.Int64)})
    return cat.to_physical().cast(pl.Int64).fill_null(-1).to_numpy(), table


def _lookup(codes: np.ndarray, table: pl.DataFrame, values: pl.Series, default: int = -1) -> np.ndarray:
    """For each code, the position in the table's ``values`` mapping (``default`` when absent)."""
    size = int(max(codes.max(initial=0), table.get_column("code").to_numpy().max(initial=0))) + 1
    lut = np.full(size + 1, default, dtype=np.int64)  # the last slot answers code -1
    pos = values.to_frame("value").with_row_index("_pos")
    hit = table.join(pos, on="value", how="inner")
    lut[hit.get_column("code").to_numpy()] = hit.get_column("_pos").cast(pl.Int64).to_numpy()
    return lut[np.where(codes >= 0, codes, size)]


def local_hours(at_us: np.ndarray) -> np.ndarray:
    """The Europe/Amsterdam wall-clock hour of each instant (UTC offsets change only on whole UTC hours)."""
    if at_us.size == 0:
        return np.zeros(0, dtype=np.int8)
    hour0 = int(at_us.min()) // 3_600_000_000
    span = int(at_us.max()) // 3_600_000_000 - hour0 + 1
    offsets = np.array(
        [
            int(datetime.fromtimestamp((hour0 + h) * 3600, tz=UTC).astimezone(LOCAL_TZ).utcoffset().total_seconds())  # type: ignore[union-attr]
            for h in range(span)
        ],
        dtype=np.int64,
    )
    idx = at_us // 3_600_000_000 - hour0
    hours: np.ndarray = (((at_us // 1_000_000 + offsets[idx]) // 3600) % 24).astype(np.int8)
    return hours


def evaluate(ctx: Context, passages: pl.DataFrame, *, keys: Mapping[str, bytes]) -> pl.DataFrame:
    """Outcome of every (passage, zone its camera guards), with the vehicle's attributes and pseudonym.

    Columns: ``camera_id``, ``at``, ``plate`` (as read), ``confidence``, ``country``, ``day``,
    ``municipality`` (the camera's), ``zone_id``, ``outcome``, ``basis`` (the regulation violated, the clause
    or ``grant:<type>`` that exempts, or why not enforceable), ``regulation_id`` (violations), ``reason``
    (not enforceable), ``pseudonym`` (register vehicles only) and the record attributes.

    Text is kept as categoricals and the work is done on arrays: plates and cameras are resolved once per
    distinct value, the rules by :func:`ruas.rules.batch.decide_arrays`.
    """
    register = ctx.register
    book = register.book
    vehicles = register.vehicles
    nv = vehicles.height
    with session_scope(ctx.engine) as s:
        cams = [c for c in load_cameras(s) if c.active]
    zone_names = sorted({z for c in cams for z in c.zones}) or ["-"]
    zone_enum = pl.Enum(zone_names)
    # cameras: one output row per (passage, zone the camera guards)
    cam_codes, cam_table = _codes(passages.get_column("camera_id"))
    cam_ids = pl.Series([c.id for c in cams], dtype=pl.Utf8)
    cam_pos = _lookup(cam_codes, cam_table, cam_ids)
    known_cam = cam_pos >= 0
    n_zones = np.array([len(c.zones) for c in cams] + [0], dtype=np.int64)
    per_row = n_zones[cam_pos]  # unknown camera (-1) reads the trailing 0: the row is dropped
    src = np.repeat(np.arange(passages.height), per_row)
    first = np.repeat(np.cumsum(per_row) - per_row, per_row)
    k = np.arange(src.size) - first  # which of the camera's zones
    zmat = np.full((len(cams) + 1, int(n_zones.max()) if len(cams) else 1), -1, dtype=np.int64)
    for i, c in enumerate(cams):
        zmat[i, : len(c.zones)] = [zone_names.index(z) for z in c.zones]
    cam_row = cam_pos[src]
    zone_code = zmat[cam_row, k]
    muni_names = sorted({c.municipality for c in cams}) or ["-"]
    muni_of_cam = np.array([muni_names.index(c.municipality) for c in cams] + [0], dtype=np.int64)
    synth_cam = np.array([c.synthetic for c in cams] + [False])
    del known_cam
    # plates: resolved once per distinct read
    plate_codes, plate_table = _codes(passages.get_column("plate"))
    vid_all = _lookup(plate_codes, plate_table, vehicles.get_column("plate"))
    vid = vid_all[src]
    at_all = passages.get_column("at").dt.epoch("us").to_numpy()
    at_us = at_all[src]
    # what cannot be enforced by camera
    country_codes, country_table = _codes(passages.get_column("country"))
    nl = _lookup(country_codes, country_table, pl.Series(["NL"]))
    foreign = (country_codes >= 0) & (nl < 0)
    conf = passages.get_column("confidence").fill_null(1.0).to_numpy()
    reason_all = np.where(
        foreign, 0, np.where(conf < ctx.settings.min_read_confidence, 1, np.where(vid_all < 0, 2, -1))
    )
    reason = reason_all[src]
    grants = _grants(ctx, passages, vehicles)
    d = decide_arrays(book, vehicles, np.where(vid >= 0, vid, 0), zone_names, zone_code, at_us, grants=grants)
    # outcomes and their basis as codes into one label list
    outcome = np.where(reason >= 0, 3, np.where(d.blocked, 2, np.where(d.subject | (d.grant >= 0), 1, 0)))
    grant_types = grants.get_column("type_id").to_list() if grants.height else []
    labels = [*REASONS, *d.regulation_ids, *d.clause_ids, *(f"grant:{t}" for t in grant_types)]
    nr, ng = len(REASONS), len(d.regulation_ids)
    nc = len(d.clause_ids)
    basis = np.where(
        reason >= 0,
        reason,
        np.where(
            d.blocked,
            nr + d.regulation,
            np.where(d.grant >= 0, nr + ng + nc + d.grant, np.where(d.clause >= 0, nr + ng + d.clause, -1)),
        ),
    )
    label_enum = pl.Enum(list(dict.fromkeys(labels)) or ["-"])
    label_pos = np.array([label_enum.categories.to_list().index(x) for x in labels] or [0], dtype=np.int64)
    basis_s = _enum_of(label_enum, np.where(basis >= 0, label_pos[np.maximum(basis, 0)], -1))
    regulation = _enum_of(
        label_enum, np.where((reason < 0) & d.blocked, label_pos[np.maximum(nr + d.regulation, 0)], -1)
    )
    reason_s = _enum_of(label_enum, np.where(reason >= 0, label_pos[np.maximum(reason, 0)], -1))
    # pseudonyms of register vehicles under the key of the passage's month
    months = passages.get_column("day").dt.year().cast(pl.Int64) * 100 + passages.get_column("day").dt.month()
    month_all = months.to_numpy()
    month_list = sorted(set(np.unique(month_all).tolist()))
    pseud_labels: list[str] = []
    for m in month_list:
        pseud_labels.extend(
            pseudonyms(keys[f"{m // 100:04d}-{m % 100:02d}"], vehicles.get_column("plate").to_list()).to_list()
        )
    month_idx = np.searchsorted(np.array(month_list, dtype=np.int64), month_all[src])
    pseud_idx = np.where(vid >= 0, month_idx * nv + vid, -1)
    # categorical, not enum: an enum would carry every register vehicle's pseudonym in each file's schema
    pseud_s = pl.Series(pseud_labels or [""], dtype=pl.Utf8).cast(pl.Categorical).gather(_nullable_index(pseud_idx))
    attrs = vehicle_attributes(vehicles).gather(_nullable_index(vid))
    out = pl.DataFrame(
        {
            "camera_id": cam_ids.cast(pl.Categorical).gather(_nullable_index(cam_row)),
            "at": pl.Series(at_us, dtype=pl.Int64).cast(pl.Datetime("us", "UTC")),
            "zone_id": _enum_of(zone_enum, zone_code),
            "municipality": _enum_of(pl.Enum(muni_names), muni_of_cam[cam_row]),
            "outcome": pl.Series(outcome.astype(np.uint8)).replace_strict(
                dict(enumerate(OUTCOMES)), return_dtype=OUTCOME_DTYPE
            ),
            "basis": basis_s,
            "regulation_id": regulation,
            "reason": reason_s,
            "pseudonym": pseud_s,
        }
    )
    src_s = pl.Series(src, dtype=pl.UInt32)
    passage_cols = passages.select("plate", "confidence", "country", "day").gather(src_s)
    synthetic = attrs.get_column("synthetic").fill_null(False) | pl.Series(synth_cam[cam_row])
    return pl.concat(
        [
            out,
            passage_cols,
            attrs.drop("synthetic").with_columns(pl.col("vehicle_class").fill_null("unknown")),
            synthetic.alias("synthetic").to_frame(),
        ],
        how="horizontal",
    )


def _nullable_index(index: np.ndarray) -> pl.Series:
    """A UInt32 gather index with nulls where ``index`` is negative."""
    idx = pl.Series(np.where(index >= 0, index, 0), dtype=pl.UInt32)
    if (index >= 0).all():
        return idx
    return pl.select(pl.when(pl.lit(pl.Series(index >= 0))).then(idx)).to_series()


def _enum_of(dtype: pl.Enum, index: np.ndarray) -> pl.Series:
    """An Enum column from category positions (-1: null), built without touching text."""
    cats = pl.Series(dtype.categories, dtype=dtype)
    return cats.gather(_nullable_index(index))


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
    """``n`` random UUIDs (version 4) as text, made in bulk.

    A sanction's id is assigned once, when it is first stored; re-runs find it by its natural key
    (plate, zone, day, slot), so ids never need to be recomputed and carry nothing about the vehicle.

    >>> import uuid
    >>> ids = new_ids(3).to_list()
    >>> len(set(ids)) == 3 and all(uuid.UUID(i).version == 4 for i in ids)
    True
    """
    raw = np.frombuffer(os.urandom(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexes = pl.Series(raw.view("S16").ravel(), dtype=pl.Binary).bin.encode("hex")
    return pl.select(
        pl.concat_str(
            [
                hexes.str.slice(0, 8),
                hexes.str.slice(8, 4),
                hexes.str.slice(12, 4),
                hexes.str.slice(16, 4),
                hexes.str.slice(20, 12),
            ],
            separator="-",
        ).alias("id")
    ).to_series()


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
    return planned.with_columns(new_ids(planned.height)).select(list(SANCTION_SCHEMA)).cast(SANCTION_SCHEMA)  # type: ignore[arg-type]


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


def _prior_fines(session: Session, plates: Sequence[str], before: date, window: int) -> dict[str, list[date]]:
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
    session: Session, planned: pl.DataFrame, days: Sequence[date], now: datetime
) -> dict[date, tuple[int, int, int]]:
    """Write planned sanctions for ``days``: insert new, update changed (revision + 1), withdraw vanished.

    Returns per day (new, updated, withdrawn). New rows go in with one bulk insert.
    """
    key = ["plate", "zone_id", "day", "slot"]
    cols = ["id", *key, "status", "revision", *_MATERIAL]
    existing_rows = session.execute(
        select(*[getattr(Sanction, c) for c in cols]).where(Sanction.day.in_(list(days)))
    ).all()
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
    """Insert planned sanctions in one statement per batch (the DB-API's executemany on SQLite)."""
    cols = list(SANCTION_SCHEMA)
    extra = ["status", "revision", "exported_revision", "exported_at", "created_at", "updated_at"]
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        # SQLAlchemy stores datetimes on SQLite as naive UTC text; dates as ISO text; JSON as text
        stamp = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        frame = new.with_columns(
            pl.col("day").dt.strftime("%Y-%m-%d"),
            pl.col("passage_at").dt.strftime("%Y-%m-%d %H:%M:%S.%6f"),
        )
        rows = [(*r, "open", 1, 0, None, stamp, stamp) for r in frame.select(cols).iter_rows()]
        names = ", ".join(cols + extra)
        marks = ", ".join("?" * len(cols + extra))
        raw = conn.connection.driver_connection
        assert raw is not None
        raw.cursor().executemany(f"INSERT INTO enforcement_sanctions ({names}) VALUES ({marks})", rows)
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
            evaluated = evaluate(ctx, passages, keys=keys)
            violations = evaluated.filter(pl.col("outcome") == "violation")
            prior: dict[str, list[date]] = {}
            windows = {policies.policy(z.authority, d).repeat_window_days for z in ctx.register.zones for d in todo}
            window = max((w for w in windows if w is not None), default=None)
            if window is not None and violations.height:
                prior = _prior_fines(session, violations.get_column("plate").unique().to_list(), todo[0], window)
            planned = plan_sanctions(violations, ctx.register.zones, policies, prior)
            counts = upsert_sanctions(session, planned, todo, now)
            changes, results = _outputs(store, evaluated, todo, passages)
            store.commit(changes, fail_after=fail_after)
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


def _outputs(
    store: Store, evaluated: pl.DataFrame, days: Sequence[date], passages: pl.DataFrame
) -> tuple[dict[Key, pl.DataFrame | None], list[DayResult]]:
    """Every partition the run replaces: records, aggregates, violations, review; the inbox emptied."""
    changes: dict[Key, pl.DataFrame | None] = {}
    for dataset in ("inbox", "violations", "review"):
        for d in days:
            for k in store.partitions(dataset, d):
                changes[k] = None
    # one sort by (day, municipality), then each partition is a slice
    day_codes = (evaluated.get_column("day").to_physical().cast(pl.Int64)).to_numpy()
    muni = evaluated.get_column("municipality")
    muni_codes = muni.to_physical().cast(pl.Int64).to_numpy()
    muni_names = list(muni.dtype.categories.to_list()) if isinstance(muni.dtype, pl.Enum) else []
    part = (day_codes - (day_codes.min(initial=0))) * max(len(muni_names), 1) + muni_codes
    order = np.argsort(part, kind="stable")
    sorted_part = part[order]
    bounds = np.flatnonzero(np.diff(sorted_part)) + 1
    starts = np.concatenate([[0], bounds]) if sorted_part.size else np.zeros(0, dtype=np.int64)
    ends = np.concatenate([bounds, [sorted_part.size]]) if sorted_part.size else np.zeros(0, dtype=np.int64)
    ordered = evaluated.select([*RECORD_COLUMNS, "day", "municipality"]).gather(pl.Series(order, dtype=pl.UInt32))
    hours = local_hours(ordered.get_column("at").dt.epoch("us").to_numpy())
    ordered = ordered.with_columns(pl.Series("hour", hours))
    slices: dict[tuple[date, str], pl.DataFrame] = {}
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        piece = ordered.slice(a, b - a)
        key = (piece.get_column("day")[0], str(piece.get_column("municipality")[0]))
        slices[key] = piece.drop("day", "municipality")
    for d in days:
        for k in store.partitions("records", d):
            slices.setdefault((d, k.municipality), ordered.clear().drop("day", "municipality"))
    counts: dict[date, dict[str, int]] = {d: dict.fromkeys(OUTCOMES, 0) for d in days}
    for (d, m), new in slices.items():
        old = store.read(Key("records", d, m))
        if old is not None and old.height:
            text = [c for c in ("camera_id", "zone_id", "outcome", "basis", "pseudonym") if c in old.columns]
            cast = [pl.col(c).cast(pl.Utf8) for c in text]
            old, fresh = old.with_columns(cast), new.drop("hour").with_columns(cast)
            kept = old.join(
                fresh.select("camera_id", "at", "pseudonym").unique(),
                on=["camera_id", "at", "pseudonym"],
                how="anti",
                nulls_equal=True,
            )
            rec = pl.concat([kept, fresh.select(old.columns)], how="vertical_relaxed").sort("at")
            rec_hours = rec.with_columns(pl.Series("hour", local_hours(rec.get_column("at").dt.epoch("us").to_numpy())))
        else:
            rec, rec_hours = new.drop("hour"), new
        if rec.height == 0:
            continue
        changes[Key("records", d, m)] = rec
        agg = (
            rec_hours.group_by(list(AGGREGATE_KEYS))
            .agg(pl.len().cast(pl.UInt32).alias("passages"))
            .sort(list(AGGREGATE_KEYS))
        )
        changes[Key("aggregates", d, m)] = agg
        for o, c in agg.group_by("outcome").agg(pl.col("passages").sum()).iter_rows():
            counts[d][str(o)] += int(c)
    small = evaluated.filter(pl.col("outcome").is_in(["violation", "not_enforceable"]))
    viol_all = small.filter(pl.col("outcome") == "violation").select([*VIOLATION_COLUMNS, "day", "municipality"])
    for (d, m), f in viol_all.partition_by(["day", "municipality"], as_dict=True).items():
        changes[Key("violations", d, str(m))] = _as_text(f.drop("day", "municipality")).sort("at")
    rev_all = small.filter(pl.col("reason").is_in(list(REVIEW_REASONS))).select(
        [*REVIEW_COLUMNS, "day", "municipality"]
    )
    review_counts: dict[date, int] = {}
    for (d, m), f in rev_all.partition_by(["day", "municipality"], as_dict=True).items():
        changes[Key("review", d, str(m))] = _as_text(f.drop("day", "municipality")).sort("at")
        review_counts[d] = review_counts.get(d, 0) + f.height
    per_day = dict(passages.group_by("day").len().iter_rows())
    results = [DayResult(d, int(per_day.get(d, 0)), counts[d], review=review_counts.get(d, 0)) for d in days]
    return changes, results


def _as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Categorical and enum columns as text (small identifiable partitions, re-read by later runs)."""
    return frame.with_columns(
        [pl.col(c).cast(pl.Utf8) for c, t in frame.schema.items() if isinstance(t, pl.Categorical | pl.Enum)]
    )


__all__ = ["Context", "DayResult", "aggregates", "evaluate", "plan_sanctions", "run", "upsert_sanctions"]
