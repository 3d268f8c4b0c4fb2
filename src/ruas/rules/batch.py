"""The vectorised path: the same condition trees compiled to Polars expressions.

Used where many vehicles or many passages are decided at once (fleet reports,
camera passages, policy simulation). It gives the same answers as the single
path in :mod:`ruas.rules.engine`; ``tests/rules/test_batch.py`` checks that on
random vehicles, zones and moments.

Inputs are frames in the canonical vehicle schema
(:data:`ruas.register.vehicle_table.VEHICLE_SCHEMA`): ``plate``, ``category``,
``body``, ``fuels`` (list), ``emission_class`` ("0".."6", "Z"),
``first_admission`` (date), ``max_mass_kg``, sizes, and the code lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import polars as pl

from ruas.domain.conditions import FIELDS, All, Any_, Condition, Leaf, Not, Op, age_values, instant_thresholds, walk
from ruas.domain.errors import InvalidInput
from ruas.domain.regulation import Status, Zone
from ruas.domain.timeutil import LOCAL_TZ, local_midnight, require_aware
from ruas.domain.vehicle import EmissionClass
from ruas.domain.windows import TimeWindow
from ruas.rules.engine import RuleBook

UTC = UTC
_RANKS = {e.value: e.rank for e in EmissionClass}

AT = "_at"  # Datetime(us, UTC): the moment of entry
AGE = "_age"  # Int32: vehicle age in completed years on the local day of entry
STATE_DTYPE = pl.Enum(["allowed", "window_only", "not_allowed", "allowed_with_exemption"])


def _set_col(fname: str, value: str) -> str:
    return f"_s_{fname}_{value}"


@dataclass(frozen=True, slots=True)
class _Compiler:
    """Turns a condition tree into a Polars boolean expression over a prepared frame."""

    windows: dict[TimeWindow, str]
    window_mode: bool | None = None  # None: use window columns; True/False: force open/closed

    def expr(self, node: Condition) -> pl.Expr:
        if isinstance(node, Leaf):
            return self.leaf(node)
        if isinstance(node, Not):
            return ~self.expr(node.child)
        if isinstance(node, All):
            if not node.children:
                return pl.lit(True)
            return pl.all_horizontal([self.expr(c) for c in node.children])
        if not node.children:
            return pl.lit(False)
        return pl.any_horizontal([self.expr(c) for c in node.children])

    def leaf(self, leaf: Leaf) -> pl.Expr:
        op, value, fname = leaf.op, leaf.value, leaf.field
        if fname == "at":
            if op is Op.IN_WINDOW:
                if self.window_mode is not None:
                    return pl.lit(self.window_mode)
                return pl.col(self.windows[value])
            return _cmp(pl.col(AT), op, value.astimezone(UTC))
        if fname == "age_years":
            return _cmp(pl.col(AGE), op, value)
        spec = FIELDS[fname]
        if spec.kind == "set":
            if op is Op.CONTAINS:
                return pl.col(_set_col(fname, str(value)))
            if op is Op.INTERSECTS:
                cols = [pl.col(_set_col(fname, str(v))) for v in sorted(value)]
                return pl.any_horizontal(cols) if cols else pl.lit(False)
            # SUBSET_OF: non-empty and every element listed
            allowed = [str(v) for v in value]
            return (pl.col(fname).list.len() > 0) & pl.col(fname).list.eval(pl.element().is_in(allowed)).list.all()
        if fname == "emission_class":
            if op in (Op.IN, Op.NOT_IN):
                ranks = [_RANKS[v.value] for v in value]
                inside = pl.col("_ec").is_in(ranks)
                return inside if op is Op.IN else ~inside
            return _cmp(pl.col("_ec"), op, _RANKS[value.value])
        if fname == "zero_emission":
            col = pl.col("_ec") == 7
            return col if (op is Op.EQ) == bool(value) else ~col
        if fname == "category_group":
            return _cmp(pl.col("_group"), op, value)
        column = pl.col(fname)
        if spec.kind in ("enum", "text"):
            return _cmp(column, op, value.value if hasattr(value, "value") else value)
        return _cmp(column, op, value).fill_null(False)


def _cmp(col: pl.Expr, op: Op, value: Any) -> pl.Expr:
    if op in (Op.IN, Op.NOT_IN):
        items = sorted(v.value if hasattr(v, "value") else v for v in value)
        if items and all(isinstance(v, int | float) and not isinstance(v, bool) for v in items):
            col, items = col.cast(pl.Float64), [float(v) for v in items]  # compare numbers as numbers
        inside = col.is_in(items).fill_null(False)
        # like the single path, an unknown (null) value is neither in nor outside the list
        return inside if op is Op.IN else (col.is_not_null() & ~inside)
    lit = pl.lit(value.value if hasattr(value, "value") else value)
    if op is Op.EQ:
        return (col == lit).fill_null(False)
    if op is Op.NE:
        return (col != lit).fill_null(False)
    if op is Op.LT:
        return (col < lit).fill_null(False)
    if op is Op.LE:
        return (col <= lit).fill_null(False)
    if op is Op.GT:
        return (col > lit).fill_null(False)
    if op is Op.GE:
        return (col >= lit).fill_null(False)
    raise InvalidInput(f"operator {op.value!r} has no vectorised form", op=op.value)


def _set_literals(conditions: Sequence[Condition]) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for cond in conditions:
        for node in walk(cond):
            if isinstance(node, Leaf) and FIELDS[node.field].kind == "set" and node.op is not Op.SUBSET_OF:
                values = node.value if isinstance(node.value, frozenset) else {node.value}
                out.update((node.field, str(v)) for v in values)
    return out


def prepare_vehicles(df: pl.DataFrame, conditions: Sequence[Condition]) -> pl.DataFrame:
    """Add the derived columns the compiled expressions read (ranks, groups, set flags)."""
    extra = [
        pl.col("emission_class").replace_strict(_RANKS, return_dtype=pl.Int8).alias("_ec"),
        pl.when(pl.col("category") == "other")
        .then(pl.lit("other"))
        .otherwise(pl.col("category").str.slice(0, 1))
        .alias("_group"),
        pl.col("first_admission").dt.year().cast(pl.Int32).alias("_det_year"),
        (pl.col("first_admission").dt.month().cast(pl.Int32) * 100 + pl.col("first_admission").dt.day())
        .cast(pl.Int32)
        .alias("_det_md"),
    ]
    literals = sorted(_set_literals(conditions))
    fields = sorted({f for f, _ in literals})
    # a list column as one delimited string per row: membership becomes a fast literal substring test
    joined = df.select(
        [
            pl.concat_str(
                [pl.lit("|"), pl.col(f).cast(pl.List(pl.Utf8)).list.join("|").fill_null(""), pl.lit("|")]
            ).alias(f"_j_{f}")
            for f in fields
        ]
    )
    flags = joined.select(
        [pl.col(f"_j_{f}").str.contains(f"|{v}|", literal=True).alias(_set_col(f, v)) for f, v in literals]
    )
    return df.with_columns(extra).hstack(flags)


def _age_expr(day: pl.Expr) -> pl.Expr:
    """Completed years between DET and ``day`` (a Date expression)."""
    md = day.dt.month().cast(pl.Int32) * 100 + day.dt.day().cast(pl.Int32)
    return (day.dt.year().cast(pl.Int32) - pl.col("_det_year") - (md < pl.col("_det_md")).cast(pl.Int32)).alias(AGE)


def _window_column(window: TimeWindow, at_us: np.ndarray) -> np.ndarray:
    """Whether each instant (µs since epoch, UTC) lies inside the window, via sorted intervals."""
    if at_us.size == 0:
        return np.zeros(0, dtype=bool)
    lo = datetime.fromtimestamp(int(at_us.min()) // 1_000_000 - 1, tz=UTC).astimezone(LOCAL_TZ)
    hi = datetime.fromtimestamp(int(at_us.max()) // 1_000_000 + 2, tz=UTC).astimezone(LOCAL_TZ)
    spans = window.open_intervals(lo, hi)
    if not spans:
        return np.zeros(at_us.size, dtype=bool)
    starts = np.array([int(a.timestamp() * 1_000_000) for a, _ in spans], dtype=np.int64)
    ends = np.array([int(b.timestamp() * 1_000_000) for _, b in spans], dtype=np.int64)
    idx = np.searchsorted(starts, at_us, side="right") - 1
    ok = idx >= 0
    out = np.zeros(at_us.size, dtype=bool)
    out[ok] = at_us[ok] < ends[idx[ok]]
    return out


def _zone_conditions(zone: Zone, book: RuleBook) -> list[tuple[str, Condition]]:
    return [(r.id, book.compiled(r).condition) for r in zone.regulations if r.status is Status.IN_FORCE]


def decide_batch(
    book: RuleBook, frame: pl.DataFrame, *, at_column: str = "at", zone_column: str = "zone_id"
) -> pl.DataFrame:
    """Decide many (vehicle, zone, moment) rows at once.

    ``frame`` holds the vehicle columns plus ``at`` (timezone-aware Datetime) and
    ``zone_id``. Returns it with ``allowed`` (bool) and ``blocked_by`` (the first
    regulation id that prohibits, or null). Exemptions held are not considered here.
    """
    if frame.height == 0:
        return frame.with_columns(pl.lit(True).alias("allowed"), pl.lit(None, pl.Utf8).alias("blocked_by"))
    frame = frame.with_row_index("_row")
    parts: list[pl.DataFrame] = []
    for zone_id in frame.get_column(zone_column).unique().to_list():
        zone = book.zone(zone_id)
        conds = _zone_conditions(zone, book)
        sub = frame.filter(pl.col(zone_column) == zone_id)
        sub = prepare_vehicles(sub, [c for _, c in conds])
        at_utc = pl.col(at_column).dt.convert_time_zone("UTC")
        sub = sub.with_columns(at_utc.alias(AT))
        sub = sub.with_columns(_age_expr(pl.col(AT).dt.convert_time_zone("Europe/Amsterdam").dt.date()))
        windows = {
            w: f"_win_{i}"
            for i, w in enumerate(
                {n.value for _, c in conds for n in walk(c) if isinstance(n, Leaf) and n.op is Op.IN_WINDOW}
            )
        }
        if windows:
            at_us = sub.get_column(AT).dt.epoch("us").to_numpy()
            sub = sub.with_columns([pl.Series(col, _window_column(w, at_us)) for w, col in windows.items()])
        comp = _Compiler(windows)
        blocked_by = pl.lit(None, pl.Utf8)
        for reg_id, cond in reversed(conds):
            blocked_by = pl.when(comp.expr(cond)).then(pl.lit(reg_id)).otherwise(blocked_by)
        sub = sub.with_columns(blocked_by.alias("blocked_by"))
        parts.append(sub.select("_row", "blocked_by"))
    decided = pl.concat(parts)
    out = frame.join(decided, on="_row", how="left").sort("_row").drop("_row")
    return out.with_columns(pl.col("blocked_by").is_null().alias("allowed"))


def _zone_points(conds: Sequence[Condition], start: datetime, end: datetime) -> list[datetime]:
    pts = {start}
    for c in conds:
        pts.update(t for t in instant_thresholds(c) if start < t < end)
    return sorted(pts)


@dataclass(frozen=True, slots=True)
class _LeafTable:
    """Vehicle leaves computed once per vehicle as boolean columns ``_L0``, ``_L1``, ..."""

    names: dict[Leaf, str]

    @classmethod
    def of(cls, conds: Sequence[Condition]) -> _LeafTable:
        names: dict[Leaf, str] = {}
        for c in conds:
            for n in walk(c):
                if isinstance(n, Leaf) and n.field not in ("at", "age_years"):
                    key = Leaf(n.field, n.op, n.value)
                    if key not in names:
                        names[key] = f"_L{len(names)}"
        return cls(names)


@dataclass(frozen=True, slots=True)
class _PointCompiler(_Compiler):
    """Compiles for one moment: ``at`` leaves fold to constants, vehicle leaves read ``_L`` columns."""

    at: datetime | None = None
    leaves: _LeafTable | None = None
    age_col: str = AGE

    def leaf(self, leaf: Leaf) -> pl.Expr:
        if leaf.field == "age_years":
            return _cmp(pl.col(self.age_col), leaf.op, leaf.value)
        if leaf.field == "at" and leaf.op is not Op.IN_WINDOW and self.at is not None:
            return pl.lit(_cmp_py(leaf.op, self.at, leaf.value))
        if self.leaves is not None and leaf.field not in ("at", "age_years"):
            return pl.col(self.leaves.names[Leaf(leaf.field, leaf.op, leaf.value)])
        return _Compiler.leaf(self, leaf)


def _cmp_py(op: Op, a: datetime, b: datetime) -> bool:
    return {Op.LT: a < b, Op.LE: a <= b, Op.GT: a > b, Op.GE: a >= b}[op]


_CODES = {"allowed": 0, "window_only": 1, "not_allowed": 2}
_NAMES = np.array(["allowed", "window_only", "not_allowed"])


def _state_expr(conds: Sequence[Condition], windows: bool, **kw: Any) -> pl.Expr:
    """0 allowed, 1 window only, 2 not allowed, for the stretch starting at one moment."""
    tree = Any_(tuple(conds))
    if not windows:
        return pl.when(_PointCompiler({}, None, **kw).expr(tree)).then(2).otherwise(0).cast(pl.UInt8)
    b_open = _PointCompiler({}, True, **kw).expr(tree)
    b_closed = _PointCompiler({}, False, **kw).expr(tree)
    return pl.when(b_open & b_closed).then(2).when(b_open | b_closed).then(1).otherwise(0).cast(pl.UInt8)


def timeline_batch(
    book: RuleBook,
    vehicles: pl.DataFrame,
    zone_ids: Sequence[str],
    *,
    start: datetime,
    end: datetime,
) -> pl.DataFrame:
    """Timelines of many vehicles in many zones over ``[start, end)``, vectorised.

    Returns one row per segment: ``plate``, ``zone_id``, ``start``, ``end`` (UTC
    Datetime) and ``state`` (``allowed``, ``not_allowed``, ``window_only``) — the
    same segments as :func:`ruas.rules.engine.timeline` without exemptions held.

    How: the zone's answer can change only at its fixed instants (zone start,
    transition dates) and where a vehicle turns one of the ages its rules name.
    Vehicle leaves are computed once per vehicle; the tree is then evaluated once
    per fixed instant with the time leaves folded to constants, and once per age
    (at each vehicle's own birthday instant). Runs of equal states become segments.
    """
    require_aware(start, "start")
    require_aware(end, "end")
    if end <= start:
        raise InvalidInput("timeline end must be after its start", field="end")
    plates = vehicles.get_column("plate")
    n = vehicles.height
    out_frames: list[pl.DataFrame] = []
    end_us = _us(end)
    zones = [book.zone(z) for z in zone_ids]
    zone_conds = {z.id: [c for _, c in _zone_conditions(z, book)] for z in zones}
    # per-vehicle work is done once for all zones
    prepared = prepare_vehicles(vehicles, [c for cs in zone_conds.values() for c in cs])
    age_days: dict[int, pl.Series] = {}
    for zone in zones:
        zone_id = zone.id
        conds = zone_conds[zone_id]
        if not conds or n == 0:
            out_frames.append(
                _segments_frame(
                    plates,
                    np.arange(n),
                    np.full(n, _us(start)),
                    np.full(n, end_us),
                    np.zeros(n, dtype=np.uint8),
                    zone_id,
                )
            )
            continue
        leaves = _LeafTable.of(conds)
        comp0 = _Compiler({})
        table = prepared.select(
            [comp0.leaf(leaf).alias(name) for leaf, name in leaves.names.items()]
            + ["_det_year", "_det_md", "first_admission"]
        )
        windows = any(isinstance(x, Leaf) and x.op is Op.IN_WINDOW for c in conds for x in walk(c))
        points = _zone_points(conds, start, end)
        exprs = []
        for i, p in enumerate(points):
            day = p.astimezone(LOCAL_TZ).date()
            exprs.append(_state_expr(conds, windows, at=p, leaves=leaves).alias(f"_p{i}"))
            table = table.with_columns(_age_expr(pl.lit(day)).alias(f"_age{i}"))
        # each point reads its own age column
        states = np.empty((n, len(points)), dtype=np.uint8)
        for i, e in enumerate(exprs):
            col = table.with_columns(pl.col(f"_age{i}").alias(AGE)).select(e).to_series().to_numpy()
            states[:, i] = col
        point_us = np.array([_us(p) for p in points], dtype=np.int64)
        # age events: each vehicle's own instants where an age the rules name is reached
        ages = sorted(set().union(*(age_values(c) for c in conds)))
        extra_vid: list[np.ndarray] = []
        extra_t: list[np.ndarray] = []
        extra_s: list[np.ndarray] = []
        first_day = start.astimezone(LOCAL_TZ).date()
        last_day = end.astimezone(LOCAL_TZ).date()
        for age in ages:
            if age not in age_days:
                age_days[age] = _age_event_days(table, age)
            days = age_days[age]
            # local midnight of the day lies strictly inside (start, end)
            in_period = (days > first_day) & (
                (days < last_day) | ((days == last_day) & (local_midnight(last_day) < end))
            )
            ok = in_period.fill_null(False).to_numpy()
            if not ok.any():
                continue
            vids = np.nonzero(ok)[0]
            ev_days = days.filter(pl.Series(ok))
            sub = table.filter(pl.Series(ok)).with_columns(ev_days.alias("_day"), _local_midnights_utc(ev_days))
            sub = sub.with_columns(_age_expr(pl.col("_day")).alias(AGE))
            t_us = sub.get_column(AT).dt.epoch("us").to_numpy()
            st = sub.select(_state_expr(conds, windows, at=None, leaves=leaves)).to_series().to_numpy()
            # only events that change the state of their stretch matter
            seg = np.searchsorted(point_us, t_us, side="right") - 1
            keep = st != states[vids, seg]
            extra_vid.append(vids[keep])
            extra_t.append(t_us[keep])
            extra_s.append(st[keep])
        out_frames.append(_build_segments(plates, states, point_us, end_us, extra_vid, extra_t, extra_s, zone_id))
    if not out_frames:
        return _segments_frame(
            plates,
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=np.uint8),
            "",
        )
    return pl.concat(out_frames)


def _us(t: datetime) -> int:
    return int(t.timestamp() * 1_000_000) if t.microsecond == 0 else int(t.timestamp()) * 1_000_000 + t.microsecond


def _local_midnights_utc(days: pl.Series) -> pl.Series:
    """Local (Europe/Amsterdam) midnight of each day as a UTC instant; the zone is resolved per distinct day."""
    distinct = days.unique()
    instants = distinct.cast(pl.Datetime("us")).dt.replace_time_zone("Europe/Amsterdam").dt.convert_time_zone("UTC")
    mapping = pl.DataFrame({"_day": distinct, AT: instants})
    return pl.DataFrame({"_day": days}).join(mapping, on="_day", how="left", maintain_order="left").get_column(AT)


def _age_event_days(table: pl.DataFrame, age: int) -> pl.Series:
    """For every vehicle, the local day it turns ``age`` years (29 February counts from 1 March)."""
    det = pl.col("first_admission")
    feb29 = (det.dt.month() == 2) & (det.dt.day() == 29)
    base = pl.date(det.dt.year() + age, det.dt.month(), pl.when(feb29).then(28).otherwise(det.dt.day()))
    day = pl.when(feb29).then(base + pl.duration(days=1)).otherwise(base)
    return table.select(day.alias("_day")).to_series()


def _build_segments(
    plates: pl.Series,
    states: np.ndarray,
    point_us: np.ndarray,
    end_us: int,
    extra_vid: list[np.ndarray],
    extra_t: list[np.ndarray],
    extra_s: list[np.ndarray],
    zone_id: str,
) -> pl.DataFrame:
    n, k = states.shape
    change = np.ones((n, k), dtype=bool)
    if k > 1:
        change[:, 1:] = states[:, 1:] != states[:, :-1]
    vid, pi = np.nonzero(change)
    ev_vid = np.concatenate(extra_vid) if extra_vid else np.zeros(0, dtype=np.int64)
    if ev_vid.size == 0:
        starts = point_us[pi]
        st = states[vid, pi]
        # end of a segment: the start of the next segment of the same vehicle, else the period end
        ends = np.full(vid.size, end_us, dtype=np.int64)
        same = vid[1:] == vid[:-1]
        ends[:-1][same] = starts[1:][same]
        return _segments_frame(plates, vid, starts, ends, st, zone_id)
    # vehicles with age events: merge all their points and recompute runs
    special = np.unique(ev_vid)
    plain_mask = ~np.isin(vid, special)
    all_vid = np.concatenate([vid[plain_mask], np.repeat(special, k), ev_vid])
    all_t = np.concatenate([point_us[pi[plain_mask]], np.tile(point_us, special.size), np.concatenate(extra_t)])
    all_s = np.concatenate(
        [states[vid[plain_mask], pi[plain_mask]], states[special].reshape(-1), np.concatenate(extra_s)]
    )
    order = np.lexsort((all_t, all_vid))
    all_vid, all_t, all_s = all_vid[order], all_t[order], all_s[order]
    first = np.ones(all_vid.size, dtype=bool)
    first[1:] = (all_vid[1:] != all_vid[:-1]) | (all_s[1:] != all_s[:-1])
    all_vid, all_t, all_s = all_vid[first], all_t[first], all_s[first]
    ends = np.full(all_vid.size, end_us, dtype=np.int64)
    same = all_vid[1:] == all_vid[:-1]
    ends[:-1][same] = all_t[1:][same]
    return _segments_frame(plates, all_vid, all_t, ends, all_s, zone_id)


def _segments_frame(
    plates: pl.Series, vid: np.ndarray, starts: np.ndarray, ends: np.ndarray, states: np.ndarray, zone_id: str
) -> pl.DataFrame:
    """Assemble segment rows with Arrow-native gathers (no per-row Python strings)."""
    return pl.DataFrame(
        {
            "plate": plates.gather(pl.Series(vid, dtype=pl.UInt32)) if len(plates) else pl.Series([], dtype=pl.Utf8),
            "start": pl.Series(starts, dtype=pl.Int64).cast(pl.Datetime("us", "UTC")),
            "end": pl.Series(ends, dtype=pl.Int64).cast(pl.Datetime("us", "UTC")),
            "state": pl.Series(states.astype(np.uint8), dtype=pl.UInt8).replace_strict(
                dict(enumerate(_NAMES.tolist())), return_dtype=STATE_DTYPE
            ),
        }
    ).select("plate", pl.lit(zone_id, pl.Utf8).alias("zone_id"), "start", "end", "state")


__all__ = ["decide_batch", "prepare_vehicles", "timeline_batch"]
