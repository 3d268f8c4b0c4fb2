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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from ruas.domain.conditions import FIELDS, All, Any_, Condition, Leaf, Not, Op, age_values, instant_thresholds, walk
from ruas.domain.errors import InvalidInput
from ruas.domain.regulation import Clause, ExemptionGrant, GrantStatus, Regulation, Status, Zone, ZoneStatus
from ruas.domain.timeutil import LOCAL_TZ, add_years, local_midnight, require_aware
from ruas.domain.vehicle import EmissionClass
from ruas.domain.windows import TimeWindow, parse_window
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


_CODES = {"allowed": 0, "window_only": 1, "not_allowed": 2, "allowed_with_exemption": 3}
_NAMES = np.array(["allowed", "window_only", "not_allowed", "allowed_with_exemption"])


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
    grants: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Timelines of many vehicles in many zones over ``[start, end)``, vectorised.

    Returns one row per segment: ``plate``, ``zone_id``, ``start``, ``end`` (UTC
    Datetime) and ``state`` (``allowed``, ``not_allowed``, ``window_only``, and
    ``allowed_with_exemption`` where a held exemption lifts a prohibition) — the
    same segments as :func:`ruas.rules.engine.timeline` with the same grants.

    ``grants`` (:data:`GRANT_SCHEMA`, ``vehicle`` = row of ``vehicles``; see
    :func:`grants_frame`) are the exemptions the vehicles hold. A grant counts in a
    zone as :meth:`ruas.domain.regulation.ExemptionGrant.covers` says: its type is
    listed by the regulation, the zone (or its municipality) is one it names, and the
    moment lies in its validity ``[start, end)``; a grant with a daily window is
    read like the zone's own windows (the stretch becomes ``window_only``).

    How: the zone's answer can change only at its fixed instants (zone start,
    transition dates) and where a vehicle turns one of the ages its rules name.
    Vehicle leaves are computed once per vehicle; the tree is then evaluated once
    per fixed instant with the time leaves folded to constants, and once per age
    (at each vehicle's own birthday instant). Runs of equal states become segments.
    Vehicles holding a grant that can count in a zone are then redone there per
    regulation, at the zone's instants plus their own grant bounds and birthdays.
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
    held = _held_grants(grants, n)
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
        zone_frame = _build_segments(plates, states, point_us, end_us, extra_vid, extra_t, extra_s, zone_id)
        relevant = _zone_grants(held, zone, book)
        if relevant:
            zone_frame = _with_grant_holders(
                zone_frame, plates, table, zone, book, conds, leaves, relevant, point_us, start, end, ages
            )
        out_frames.append(zone_frame)
    if not out_frames:
        return _segments_frame(
            plates,
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=np.uint8),
            "",
        ).drop("_vid")
    return pl.concat(out_frames).drop("_vid")


@dataclass(frozen=True, slots=True)
class _HeldGrant:
    """One held grant as the timeline reads it: vehicle row, validity in µs (None: unbounded), where, window."""

    vehicle: int
    type_id: str
    start_us: int | None
    end_us: int | None
    zones: frozenset[str]
    municipalities: frozenset[str]
    window: TimeWindow | None


def _held_grants(grants: pl.DataFrame | None, n_vehicles: int) -> list[_HeldGrant]:
    """The rows of a :data:`GRANT_SCHEMA` frame (few: the exemptions a fleet holds) as :class:`_HeldGrant`."""
    if grants is None or grants.height == 0:
        return []
    missing = [c for c in GRANT_SCHEMA if c not in grants.columns]
    if missing:
        raise InvalidInput(f"grants frame lacks the columns {missing}", field=missing[0])
    g = grants.select(list(GRANT_SCHEMA)).cast(GRANT_SCHEMA)  # type: ignore[arg-type]
    if g.get_column("vehicle").null_count():
        raise InvalidInput("grants frame: every grant needs a vehicle row", field="vehicle")
    starts = g.get_column("start").dt.epoch("us").to_list()
    ends = g.get_column("end").dt.epoch("us").to_list()
    out = []
    for k, row in enumerate(g.iter_rows(named=True)):
        vid = int(row["vehicle"])
        if vid >= n_vehicles:
            raise InvalidInput(f"grant {row['grant_id']} points outside the vehicle table", field="vehicle")
        out.append(
            _HeldGrant(
                vehicle=vid,
                type_id=str(row["type_id"]),
                start_us=starts[k],
                end_us=ends[k],
                zones=frozenset(row["zones"] or ()),
                municipalities=frozenset(row["municipalities"] or ()),
                window=None if row["window"] is None else parse_window(row["window"]),
            )
        )
    return out


def _zone_grants(held: Sequence[_HeldGrant], zone: Zone, book: RuleBook) -> list[tuple[_HeldGrant, np.ndarray]]:
    """The grants that can count in ``zone``, each with the in-force regulations (bool per regulation) it lifts."""
    regs = [r for r in zone.regulations if r.status is Status.IN_FORCE]
    out = []
    for g in held:
        if (g.zones and zone.id not in g.zones) or (g.municipalities and zone.authority not in g.municipalities):
            continue
        lifts = np.array([g.type_id in r.exemption_types for r in regs], dtype=bool)
        if lifts.any():
            out.append((g, lifts))
    return out


def _with_grant_holders(
    zone_frame: pl.DataFrame,
    plates: pl.Series,
    table: pl.DataFrame,
    zone: Zone,
    book: RuleBook,
    conds: Sequence[Condition],
    leaves: _LeafTable,
    relevant: Sequence[tuple[_HeldGrant, np.ndarray]],
    point_us: np.ndarray,
    start: datetime,
    end: datetime,
    ages: Sequence[int],
) -> pl.DataFrame:
    """``zone_frame`` with the segments of the vehicles holding ``relevant`` grants redone with their grants.

    As :func:`ruas.rules.engine.timeline`: a regulation blocks at a moment unless a grant listed for it is
    valid then; daily windows (the zone's and the grants') are read all open and all closed; a stretch
    where some regulation prohibits but every prohibition is lifted is ``allowed_with_exemption``.
    """
    start_us, end_us = _us(start), _us(end)
    holders = sorted({g.vehicle for g, _ in relevant})
    first_adm = table.get_column("first_admission").gather(pl.Series(holders, dtype=pl.UInt32)).to_list()
    vid_parts: list[np.ndarray] = []
    t_parts: list[np.ndarray] = []
    for vid, det in zip(holders, first_adm, strict=True):
        own = {_us(local_midnight(add_years(det, a))) for a in ages}
        for g, _ in relevant:
            if g.vehicle == vid:
                own.update(b for b in (g.start_us, g.end_us) if b is not None)
        inside = np.array(sorted(t for t in own if start_us < t < end_us), dtype=np.int64)
        times = np.union1d(point_us, inside)
        vid_parts.append(np.full(times.size, vid, dtype=np.int64))
        t_parts.append(times)
    vids, t_us = np.concatenate(vid_parts), np.concatenate(t_parts)  # sorted by vehicle, then instant
    long = (
        pl.DataFrame({"_vid": pl.Series(vids, dtype=pl.UInt32)})
        .join(table.with_row_index("_vid"), on="_vid", how="left", maintain_order="left")
        .with_columns(pl.Series(AT, t_us, dtype=pl.Int64).cast(pl.Datetime("us", "UTC")))
    )
    long = long.with_columns(_age_expr(pl.col(AT).dt.convert_time_zone("Europe/Amsterdam").dt.date()))
    exprs = []
    for i, c in enumerate(conds):
        exprs.append(_PointCompiler({}, True, at=None, leaves=leaves).expr(c).alias(f"_o{i}"))
        exprs.append(_PointCompiler({}, False, at=None, leaves=leaves).expr(c).alias(f"_c{i}"))
    evaluated = long.select(exprs)
    r = len(conds)
    p_open = np.column_stack([evaluated.get_column(f"_o{i}").to_numpy() for i in range(r)]).astype(bool)
    p_closed = np.column_stack([evaluated.get_column(f"_c{i}").to_numpy() for i in range(r)]).astype(bool)
    cov_open = np.zeros_like(p_open)
    cov_closed = np.zeros_like(p_closed)
    for g, lifts in relevant:
        lo = np.searchsorted(vids, g.vehicle, side="left")
        hi = np.searchsorted(vids, g.vehicle, side="right")
        t = t_us[lo:hi]
        valid = np.ones(t.size, dtype=bool)
        if g.start_us is not None:
            valid &= t >= g.start_us
        if g.end_us is not None:
            valid &= t < g.end_us
        cov_open[lo:hi] |= valid[:, None] & lifts[None, :]
        if g.window is None:  # a windowed grant counts only while its window is open
            cov_closed[lo:hi] |= valid[:, None] & lifts[None, :]
    b_open = (p_open & ~cov_open).any(axis=1)
    b_closed = (p_closed & ~cov_closed).any(axis=1)
    plain = p_open.any(axis=1) | p_closed.any(axis=1)
    state = np.where(b_open & b_closed, 2, np.where(b_open != b_closed, 1, np.where(plain, 3, 0))).astype(np.uint8)
    keep = np.ones(vids.size, dtype=bool)
    keep[1:] = (vids[1:] != vids[:-1]) | (state[1:] != state[:-1])
    vids, t_us, state = vids[keep], t_us[keep], state[keep]
    ends = np.full(vids.size, end_us, dtype=np.int64)
    same = vids[1:] == vids[:-1]
    ends[:-1][same] = t_us[1:][same]
    redone = _segments_frame(plates, vids, t_us, ends, state, zone.id)
    others = zone_frame.filter(pl.Series(~np.isin(zone_frame.get_column("_vid").to_numpy(), holders)))
    return pl.concat([others, redone]).sort("_vid", maintain_order=True)


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
            "_vid": pl.Series(vid, dtype=pl.UInt32),
            "plate": plates.gather(pl.Series(vid, dtype=pl.UInt32)) if len(plates) else pl.Series([], dtype=pl.Utf8),
            "start": pl.Series(starts, dtype=pl.Int64).cast(pl.Datetime("us", "UTC")),
            "end": pl.Series(ends, dtype=pl.Int64).cast(pl.Datetime("us", "UTC")),
            "state": pl.Series(states.astype(np.uint8), dtype=pl.UInt8).replace_strict(
                dict(enumerate(_NAMES.tolist())), return_dtype=STATE_DTYPE
            ),
        }
    ).select("_vid", "plate", pl.lit(zone_id, pl.Utf8).alias("zone_id"), "start", "end", "state")


# --------------------------------------------------------------------------- indexed decisions (many moments)

MAX_REGULATIONS_PER_ZONE = 16
"""``decide_indexed`` packs one bit per regulation of a zone into a 64-bit code."""

_NO_CLAUSE = 0xFFFF

GRANT_SCHEMA: dict[str, pl.DataType] = {
    "vehicle": pl.UInt32(),
    "grant_id": pl.Utf8(),
    "type_id": pl.Utf8(),
    "start": pl.Datetime("us", "UTC"),
    "end": pl.Datetime("us", "UTC"),
    "zones": pl.List(pl.Utf8()),
    "municipalities": pl.List(pl.Utf8()),
    "window": pl.Utf8(),
}
"""Held exemptions (ontheffingen) as ``decide_indexed`` reads them: one row per granted exemption.

``vehicle`` is the row of the vehicle table the grant belongs to; ``start``/``end`` bound its validity
``[start, end)`` (null: unbounded); empty ``zones``/``municipalities`` lists mean "anywhere its type is
listed"; ``window`` an optional OSM ``opening_hours`` expression. Only *granted* exemptions belong here.
"""


def grants_frame(grants: Sequence[ExemptionGrant], vehicle_rows: Mapping[str, int]) -> pl.DataFrame:
    """The :data:`GRANT_SCHEMA` frame of granted exemptions whose plate is in ``vehicle_rows`` (plate -> row)."""
    rows = [
        {
            "vehicle": vehicle_rows[g.plate],
            "grant_id": g.id,
            "type_id": g.type_id,
            "start": None if g.validity.start is None else g.validity.start.astimezone(UTC),
            "end": None if g.validity.end is None else g.validity.end.astimezone(UTC),
            "zones": sorted(g.zones),
            "municipalities": sorted(g.municipalities),
            "window": None if g.window is None else g.window.expression,
        }
        for g in grants
        if g.status is GrantStatus.GRANTED and g.plate in vehicle_rows
    ]
    return pl.DataFrame(rows, schema=GRANT_SCHEMA)


@dataclass(frozen=True, slots=True)
class _CellCompiler(_PointCompiler):
    """Compiles for one moment with each window forced open or closed (``open_windows``)."""

    open_windows: frozenset[TimeWindow] = frozenset()

    def leaf(self, leaf: Leaf) -> pl.Expr:
        if leaf.field == "at" and leaf.op is Op.IN_WINDOW:
            return pl.lit(leaf.value in self.open_windows)
        return _PointCompiler.leaf(self, leaf)


@dataclass(frozen=True, slots=True)
class _ZonePlan:
    """The trees of one zone: per in-force regulation its prohibition, its subject (in force) and clauses."""

    regulations: tuple[Regulation, ...]
    prohibits: tuple[Condition, ...]
    subjects: tuple[Condition, ...]
    clauses: tuple[tuple[Clause, ...], ...]

    @classmethod
    def of(cls, zone: Zone, book: RuleBook) -> _ZonePlan:
        regs = () if zone.status is ZoneStatus.ANNOUNCED else tuple(c.regulation for c in book.in_force(zone))
        if len(regs) > MAX_REGULATIONS_PER_ZONE:
            raise InvalidInput(
                f"zone {zone.id} has {len(regs)} regulations in force; the indexed path handles at most "
                f"{MAX_REGULATIONS_PER_ZONE}",
                zone=zone.id,
            )
        return cls(
            regulations=regs,
            prohibits=tuple(book.compiled(r).condition for r in regs),
            subjects=tuple(All((r.validity_condition(), r.subject)) for r in regs),
            clauses=tuple(r.exemptions for r in regs),
        )

    def trees(self) -> list[Condition]:
        return [*self.prohibits, *self.subjects, *(c.condition for cs in self.clauses for c in cs)]

    def clause_ids(self) -> list[str]:
        return [c.id for cs in self.clauses for c in cs]

    def code(self, comp: _Compiler) -> pl.Expr:
        """One UInt64 per vehicle: prohibiting regulations (bits 0-15), subject regulations (bits 16-31) and
        the index of the exemption clause that holds for the first subject regulation (bits 32-47)."""
        zero, code = pl.lit(0, pl.UInt64), pl.lit(0, pl.UInt64)
        clause: Any = pl
        k = 0
        for i, (prohibit, subject, clauses) in enumerate(zip(self.prohibits, self.subjects, self.clauses, strict=True)):
            subj = comp.expr(subject)
            code = code + pl.when(comp.expr(prohibit)).then(pl.lit(1 << i, pl.UInt64)).otherwise(zero)
            code = code + pl.when(subj).then(pl.lit(1 << (16 + i), pl.UInt64)).otherwise(zero)
            for c in clauses:
                clause = clause.when(subj & comp.expr(c.condition)).then(pl.lit(k, pl.UInt64))
                k += 1
        found = pl.lit(_NO_CLAUSE, pl.UInt64) if clause is pl else clause.otherwise(pl.lit(_NO_CLAUSE, pl.UInt64))
        return code + found * pl.lit(1 << 32, pl.UInt64)


def _local_day_starts_us(first_us: int, last_us: int) -> list[datetime]:
    """Local midnights (Europe/Amsterdam) of every local day from the one holding ``first_us`` to ``last_us``."""
    first = datetime.fromtimestamp(first_us // 1_000_000, tz=UTC).astimezone(LOCAL_TZ).date()
    last = datetime.fromtimestamp(last_us // 1_000_000, tz=UTC).astimezone(LOCAL_TZ).date()
    out = []
    day = first
    while day <= last:
        out.append(local_midnight(day))
        day = day + timedelta(days=1)
    return out


def decide_indexed(
    book: RuleBook,
    vehicles: pl.DataFrame,
    frame: pl.DataFrame,
    *,
    vehicle_column: str = "vehicle",
    zone_column: str = "zone_id",
    at_column: str = "at",
    grants: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Decide many (vehicle, zone, moment) rows at once against a vehicle table, honouring held exemptions.

    ``vehicles`` is a frame in the canonical vehicle schema; ``frame[vehicle_column]`` holds row numbers
    into it (unsigned integers, no nulls), ``frame[zone_column]`` zone ids (text, categorical or enum)
    and ``frame[at_column]`` timezone-aware instants. ``grants`` (:data:`GRANT_SCHEMA`) are the held
    exemptions; a grant lifts a regulation exactly as :meth:`ExemptionGrant.covers` says.

    Returns ``frame`` with, per row:

    - ``access`` (``allowed``, ``allowed_with_exemption`` when a held exemption lifted every prohibition,
      ``not_allowed``) and ``allowed`` (bool), as :func:`ruas.rules.engine.zone_decision` answers;
    - ``blocked_by``: the first in-force regulation that prohibits and no grant lifts (null when allowed);
    - ``subject``: the vehicle is subject to some regulation of the zone in force at that moment;
    - ``exempted_by``: for an allowed subject vehicle, the exemption clause (transition rule or
      vrijstelling) that holds for its first subject regulation; ``grant_id``: the held exemption that
      lifted a prohibition.

    How: the answer depends on the vehicle, on which side of the zone's fixed instants (validity and
    transition dates, local midnights for the vehicle's age) the moment lies, and on which daily
    windows are open. Each distinct (stretch, window state) is evaluated once for every vehicle of the
    table with the time leaves folded to constants; each row then reads its answer by index. The work
    per row is a few integer operations, so millions of rows a second are decided.
    """
    n = frame.height
    out_cols = ("access", "allowed", "blocked_by", "subject", "exempted_by", "grant_id")
    if n == 0:
        return frame.with_columns(
            pl.lit(None, STATE_DTYPE).alias("access"),
            pl.lit(None, pl.Boolean).alias("allowed"),
            pl.lit(None, pl.Utf8).alias("blocked_by"),
            pl.lit(None, pl.Boolean).alias("subject"),
            pl.lit(None, pl.Utf8).alias("exempted_by"),
            pl.lit(None, pl.Utf8).alias("grant_id"),
        )
    clash = [c for c in out_cols if c in frame.columns]
    if clash:
        raise InvalidInput(f"frame already has the output columns {clash}", field=clash[0])
    vid = frame.get_column(vehicle_column)
    if vid.null_count():
        raise InvalidInput(f"{vehicle_column} holds nulls: every row needs a vehicle", field=vehicle_column)
    zones_s = frame.get_column(zone_column)
    if not isinstance(zones_s.dtype, pl.Enum):
        zones_s = zones_s.cast(pl.Utf8).cast(pl.Enum(sorted(zones_s.cast(pl.Utf8).unique().drop_nulls().to_list())))
    zone_names: list[str] = list(zones_s.dtype.categories.to_list())  # type: ignore[attr-defined]
    d = decide_arrays(
        book,
        vehicles,
        vid.cast(pl.Int64).to_numpy(),
        zone_names,
        zones_s.to_physical().cast(pl.Int64).to_numpy(),
        frame.get_column(at_column).dt.convert_time_zone("UTC").dt.cast_time_unit("us").dt.epoch("us").to_numpy(),
        grants=grants,
        vehicle_column=vehicle_column,
    )
    grant_ids = grants.get_column("grant_id") if grants is not None else pl.Series([], dtype=pl.Utf8)
    return frame.with_columns(
        pl.Series("access", d.access).replace_strict(dict(enumerate(ACCESS_CODES)), return_dtype=STATE_DTYPE),
        pl.Series("allowed", ~d.blocked),
        _labels(list(d.regulation_ids), d.regulation).alias("blocked_by"),
        pl.Series("subject", d.subject),
        _labels(list(d.clause_ids), d.clause).alias("exempted_by"),
        _labels(grant_ids.cast(pl.Utf8).to_list(), d.grant).alias("grant_id"),
    )


ACCESS_CODES = ("allowed", "not_allowed", "allowed_with_exemption")
"""``IndexedDecisions.access`` codes: 0 allowed, 1 not allowed, 2 allowed with an exemption held."""


@dataclass(frozen=True, slots=True)
class IndexedDecisions:
    """:func:`decide_arrays`'s answer as arrays, one entry per row (see :func:`decide_indexed`).

    ``regulation`` indexes ``regulation_ids`` (the first prohibiting regulation not lifted; -1: none),
    ``clause`` indexes ``clause_ids`` (the exemption clause that holds; -1: none), ``grant`` the row of the
    grants frame that lifted a prohibition (-1: none), ``access`` holds :data:`ACCESS_CODES` indices.
    """

    access: np.ndarray
    blocked: np.ndarray
    subject: np.ndarray
    regulation: np.ndarray
    clause: np.ndarray
    grant: np.ndarray
    regulation_ids: tuple[str, ...]
    clause_ids: tuple[str, ...]


_LOW_BIT = np.full(1 << 16, -1, dtype=np.int16)
for _b in range(15, -1, -1):
    _LOW_BIT[np.arange(1 << 16) & (1 << _b) != 0] = _b
del _b


def decide_arrays(
    book: RuleBook,
    vehicles: pl.DataFrame,
    vid_np: np.ndarray,
    zone_names: Sequence[str],
    zone_code: np.ndarray,
    at_us: np.ndarray,
    *,
    grants: pl.DataFrame | None = None,
    vehicle_column: str = "vehicle",
) -> IndexedDecisions:
    """The array core of :func:`decide_indexed`: rows given as vehicle rows, zone codes into ``zone_names``
    and instants in microseconds since the epoch (UTC). For callers that keep their data as arrays.

    Built on :func:`decision_table`: each row reads one small code from the table and the code's answer."""
    n = vid_np.size
    if n and (vid_np.min() < 0 or vid_np.max() >= vehicles.height):
        raise InvalidInput(f"{vehicle_column} points outside the vehicle table", field=vehicle_column)
    zone_code = np.asarray(zone_code, dtype=np.int64)
    present = np.nonzero(np.bincount(zone_code, minlength=len(zone_names)))[0] if n else np.zeros(0, np.int64)
    table, cell = decision_table(book, vehicles, zone_names, present.tolist(), at_us)
    code = table.lookup(vid_np, zone_code, cell)
    blocked0 = table.blocked[code]
    blocked = blocked0.copy()
    regulation = table.regulation[code].astype(np.int64)
    subject = table.subject[code]
    clause = table.clause[code].astype(np.int64)
    grant_row = np.full(n, -1, dtype=np.int64)
    if grants is not None and grants.height and blocked0.any():
        holders = table.holders(grants)
        rows = np.nonzero(blocked0 & holders[vid_np])[0]
        if rows.size:
            effective, first = table.lift(book, grants, vid_np[rows], zone_code[rows], at_us[rows], cell[rows])
            blocked[rows] = effective != 0
            regulation[rows] = table.first_regulation(zone_code[rows], effective)
            grant_row[rows] = first
    exempt_clause = np.where(~blocked & subject & (clause >= 0), clause, -1)
    access = np.where(blocked, 1, np.where(blocked0, 2, 0)).astype(np.uint8)
    return IndexedDecisions(
        access,
        blocked,
        subject,
        regulation,
        exempt_clause,
        grant_row,
        table.regulation_ids,
        table.clause_ids,
    )


_REG_SLOTS = MAX_REGULATIONS_PER_ZONE + 1
"""Compact codes store the first prohibiting regulation + 1 (0: none) in this many values."""


@dataclass(frozen=True, slots=True)
class DecisionTable:
    """Every vehicle's answer in every (zone, time cell) that a set of instants touches, as small integer codes.

    A zone's answer for a vehicle can change only at the zone's fixed instants (validity and transition dates),
    at local midnights (the vehicle's age) and where a daily window opens or closes. :func:`decision_table`
    cuts time at all of them (a *time cell* is one stretch between cuts with one state of every window),
    evaluates each zone's condition trees once per distinct (zone stretch, window state) for the whole
    vehicle table, and stores per vehicle and column one compact code: the first prohibiting regulation,
    whether the vehicle is subject to a regulation in force, and the exemption clause that holds. A row
    (vehicle, zone, cell) then reads its code with two array gathers (:meth:`lookup`), and the per-code
    arrays (``blocked``, ``regulation``, ``subject``, ``clause``, ``zone``) answer for every row at once.

    ``extra`` rows appended after the vehicles answer every column with the caller's own codes
    ``extra_base + j`` (j = 0, 1, ...): a caller can route rows that need no rule (e.g. unreadable plates)
    through the same gather. Held exemptions lift prohibitions afterwards, for the few rows whose vehicle
    holds one (:meth:`holders`, :meth:`lift`), as :meth:`ruas.domain.regulation.ExemptionGrant.covers` says.
    """

    codes: np.ndarray
    """(vehicles + extra) x columns: the code of each vehicle in each column (uint16, or uint32 if needed)."""
    raw: np.ndarray
    """vehicles x columns: the packed answer (prohibiting regulations in bits 0-15, subject regulations in
    bits 16-31, the holding clause in bits 32-47), for lifting prohibitions by held exemptions."""
    column_of: np.ndarray
    """zones x cells: the column a zone reads in a time cell (-1: zone not in the table)."""
    zone: np.ndarray
    """Per code: the zone code (-1 for extra codes)."""
    blocked: np.ndarray
    """Per code: some regulation prohibits (before held exemptions)."""
    regulation: np.ndarray
    """Per code: the first prohibiting regulation, an index into ``regulation_ids`` (-1: none)."""
    subject: np.ndarray
    """Per code: the vehicle is subject to a regulation of the zone in force."""
    clause: np.ndarray
    """Per code: the exemption clause that holds, an index into ``clause_ids`` (-1: none)."""
    regulation_ids: tuple[str, ...]
    clause_ids: tuple[str, ...]
    reg_base: np.ndarray
    """Per zone code: the index of its first regulation in ``regulation_ids``."""
    plans: Mapping[int, _ZonePlan]
    zone_names: tuple[str, ...]
    extra_base: int
    n_vehicles: int

    def lookup(self, vid: np.ndarray, zone: np.ndarray, cell: np.ndarray) -> np.ndarray:
        """The code of each row (vehicle row or extra row ``n_vehicles + j``, zone code, time cell)."""
        out: np.ndarray = self.codes.ravel()[self._flat(self.codes, vid, zone, cell)]
        return out

    def raw_lookup(self, vid: np.ndarray, zone: np.ndarray, cell: np.ndarray) -> np.ndarray:
        """The packed answer of each row (vehicle rows only)."""
        out: np.ndarray = self.raw.ravel()[self._flat(self.raw, vid, zone, cell)]
        return out

    def _flat(self, table: np.ndarray, vid: np.ndarray, zone: np.ndarray, cell: np.ndarray) -> np.ndarray:
        """Flat positions in ``table`` (rows x columns) of each row's (vehicle, column of its zone and cell).

        Index arithmetic runs in 32 bits when every position fits (half the memory traffic of 64 bits)."""
        n_cells = self.column_of.shape[1]
        small = max(self.column_of.size, table.size) < np.iinfo(np.int32).max
        dtype: type[np.signedinteger[Any]] = np.int32 if small else np.int64
        zone_at: np.ndarray = zone.astype(dtype, copy=False) * dtype(n_cells) + cell
        col = self.column_of.astype(dtype).ravel()[zone_at]
        flat: np.ndarray = vid.astype(dtype, copy=False) * dtype(table.shape[1]) + col
        return flat

    def holders(self, grants: pl.DataFrame) -> np.ndarray:
        """Per vehicle row (and extra row): whether it holds one of ``grants`` (:data:`GRANT_SCHEMA`)."""
        out = np.zeros(self.codes.shape[0], dtype=bool)
        if grants.height:
            held = grants.get_column("vehicle").cast(pl.Int64).to_numpy()
            out[held[held < self.n_vehicles]] = True
        return out

    def first_regulation(self, zone: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The first regulation set in each row's prohibition mask, as an index into ``regulation_ids``."""
        low = _LOW_BIT[(mask & np.uint64(0xFFFF)).astype(np.int64)]
        return np.where(low >= 0, self.reg_base[zone] + low, -1).astype(np.int64)

    def lift(
        self,
        book: RuleBook,
        grants: pl.DataFrame,
        vid: np.ndarray,
        zone: np.ndarray,
        at_us: np.ndarray,
        cell: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """For rows (vehicle rows, zone codes, instants, cells): the prohibitions left after the held
        ``grants`` lift what they cover (bit mask per row), and the first grant that lifted one (-1: none)."""
        prohibit = self.raw_lookup(vid, zone, cell) & np.uint64(0xFFFF)
        lifted, first = _lifted(book, self.plans, self.zone_names, zone, vid, at_us, prohibit, grants)
        return prohibit & ~lifted, first


def decision_table(
    book: RuleBook,
    vehicles: pl.DataFrame,
    zone_names: Sequence[str],
    zones: Sequence[int],
    at_us: np.ndarray,
    *,
    extra: int = 0,
) -> tuple[DecisionTable, np.ndarray]:
    """The :class:`DecisionTable` of ``vehicles`` in the zones ``zones`` (codes into ``zone_names``) for the
    instants ``at_us`` (µs since the epoch, UTC), and the time cell of each instant.

    The work is per vehicle and distinct (zone stretch, window state), not per instant: a million instants
    over a few days cost a handful of vectorised tree evaluations over the vehicle table plus one
    ``searchsorted`` per instant.
    """
    at_us = np.asarray(at_us, dtype=np.int64)
    plans = {int(z): _ZonePlan.of(book.zone(zone_names[int(z)]), book) for z in zones}
    all_trees = [t for p in plans.values() for t in p.trees()]
    prepared = prepare_vehicles(vehicles, all_trees) if all_trees else vehicles
    nv = vehicles.height
    # global cuts: local midnights over the instants and every fixed instant of every tree in that span
    zone_cuts: dict[int, list[datetime]] = {}
    zone_windows: dict[int, list[TimeWindow]] = {}
    if at_us.size:
        days = _local_day_starts_us(int(at_us.min()), int(at_us.max()))
        lo, hi = days[0], days[-1] + timedelta(days=2)
    else:
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        days, lo, hi = [epoch], epoch, epoch  # no instants: one empty stretch, no thresholds
    for z, plan in plans.items():
        if not plan.regulations:
            continue
        trees = plan.trees()
        zone_cuts[z] = sorted({*days, *(p for c in trees for p in instant_thresholds(c) if lo < p < hi)})
        wins = sorted(
            {n.value for c in trees for n in walk(c) if isinstance(n, Leaf) and n.op is Op.IN_WINDOW},
            key=lambda w: w.expression,
        )
        if len(wins) > 8:
            raise InvalidInput(f"zone {zone_names[z]} tests {len(wins)} windows; at most 8 are supported")
        zone_windows[z] = wins
    cuts = sorted({*days, *(p for cs in zone_cuts.values() for p in cs)})
    cut_us = np.array([_us(p) for p in cuts], dtype=np.int64)
    windows = sorted({w for ws in zone_windows.values() for w in ws}, key=lambda w: w.expression)
    # Every instant where some cut falls or some window opens or closes: between two of them the stretch and
    # the window state are constant, so each instant needs one searchsorted into these boundaries (a segment)
    # and the stretch and window state are computed once per segment, at its first instant.
    if at_us.size:
        first_us, last_us = int(at_us.min()), int(at_us.max())
        edges = {int(c) for c in cut_us.tolist() if first_us < c <= last_us}
        lo_t = datetime.fromtimestamp(first_us // 1_000_000 - 1, tz=UTC).astimezone(LOCAL_TZ)
        hi_t = datetime.fromtimestamp(last_us // 1_000_000 + 2, tz=UTC).astimezone(LOCAL_TZ)
        for w in windows:
            for a, b in w.open_intervals(lo_t, hi_t):
                edges.update(e for e in (_us(a), _us(b)) if first_us < e <= last_us)
        bounds = np.array(sorted(edges), dtype=np.int64)
        segment = np.searchsorted(bounds, at_us, side="right").astype(np.int32)
        seg_start = np.concatenate([np.array([first_us], dtype=np.int64), bounds])
    else:
        segment = np.zeros(0, dtype=np.int32)
        seg_start = np.zeros(1, dtype=np.int64)
    stretch = np.maximum(np.searchsorted(cut_us, seg_start, side="right") - 1, 0)  # per segment
    combo = np.zeros(seg_start.size, dtype=np.int64)
    for j, w in enumerate(windows):
        combo |= _window_column(w, seg_start).astype(np.int64) << j
    if len(windows) <= 16:
        n_combo = 1 << len(windows)
        combo_value = np.arange(n_combo, dtype=np.int64)
    else:
        combo_value, combo = np.unique(combo, return_inverse=True)
        n_combo = combo_value.size
    # the time cells: the distinct (stretch, window state) of the segments that hold instants
    seg_used = np.bincount(segment, minlength=seg_start.size) > 0
    seg_key = stretch * n_combo + combo
    used, seg_cell = np.unique(np.where(seg_used, seg_key, -1), return_inverse=True)
    if used.size and used[0] < 0:  # segments without instants share a cell that is dropped
        used, seg_cell = used[1:], seg_cell - 1
    cell = seg_cell.astype(np.int32)[segment]
    used_stretch, used_combo = used // n_combo, combo_value[used % n_combo]
    n_cells = max(int(used.size), 1)
    column_of = np.full((len(zone_names), n_cells), -1, dtype=np.int64)
    raw_parts: list[np.ndarray] = []
    code_parts: list[np.ndarray] = []
    reg_ids: list[str] = []
    clause_names: list[str] = []
    reg_base = np.zeros(max(len(zone_names), 1), dtype=np.int64)
    lut_zone: list[np.ndarray] = []
    lut_blocked: list[np.ndarray] = []
    lut_reg: list[np.ndarray] = []
    lut_subject: list[np.ndarray] = []
    lut_clause: list[np.ndarray] = []
    n_cols = 0
    offset = 0
    for z, plan in plans.items():
        reg_base[z] = len(reg_ids)
        clause0 = len(clause_names)
        reg_ids.extend(r.id for r in plan.regulations)
        clause_names.extend(plan.clause_ids())
        n_clauses = len(plan.clause_ids())
        if not plan.regulations:
            raw = np.full((nv, 1), np.uint64(_NO_CLAUSE << 32), dtype=np.uint64)
            column_of[z, :] = n_cols
        else:
            pairs, pair_of_cell = _zone_columns(
                zone_cuts[z], zone_windows[z], cut_us, windows, used_stretch, used_combo
            )
            column_of[z, : used.size] = n_cols + pair_of_cell
            raw = _zone_raw(prepared, plan, zone_cuts[z], zone_windows[z], pairs, nv)
        raw_parts.append(raw)
        # the compact code: first prohibiting regulation + 1, subject flag, holding clause + 1
        low = _LOW_BIT[(raw & np.uint64(0xFFFF)).astype(np.int64)].astype(np.int64)
        subj = (((raw >> np.uint64(16)) & np.uint64(0xFFFF)) != 0).astype(np.int64)
        cl = ((raw >> np.uint64(32)) & np.uint64(0xFFFF)).astype(np.int64)
        cl1 = np.where(cl == _NO_CLAUSE, 0, cl + 1)
        code_parts.append(offset + (low + 1) + _REG_SLOTS * (subj + 2 * cl1))
        size = _REG_SLOTS * 2 * (n_clauses + 1)
        k = np.arange(size, dtype=np.int64)
        k_low, k_subj, k_cl = k % _REG_SLOTS - 1, (k // _REG_SLOTS) % 2, k // (2 * _REG_SLOTS) - 1
        lut_zone.append(np.full(size, z, dtype=np.int64))
        lut_blocked.append(k_low >= 0)
        # codes that name a regulation the zone does not have never occur; they answer "none"
        lut_reg.append(np.where((k_low >= 0) & (k_low < len(plan.regulations)), reg_base[z] + k_low, -1))
        lut_subject.append(k_subj == 1)
        lut_clause.append(np.where(k_cl >= 0, clause0 + k_cl, -1))
        n_cols += raw.shape[1]
        offset += size
    extra_base = offset
    total = extra_base + extra
    dtype = np.uint16 if total <= np.iinfo(np.uint16).max else np.uint32
    codes = np.empty((nv + extra, max(n_cols, 1)), dtype=dtype)
    if n_cols:
        codes[:nv] = np.hstack(code_parts)
    else:
        codes[:nv] = 0
    for j in range(extra):
        codes[nv + j] = extra_base + j
    lut_zone.append(np.full(extra, -1, dtype=np.int64))
    lut_blocked.append(np.zeros(extra, dtype=bool))
    lut_reg.append(np.full(extra, -1, dtype=np.int64))
    lut_subject.append(np.zeros(extra, dtype=bool))
    lut_clause.append(np.full(extra, -1, dtype=np.int64))
    table = DecisionTable(
        codes=codes,
        raw=np.hstack(raw_parts) if raw_parts else np.zeros((nv, 1), dtype=np.uint64),
        column_of=column_of,
        zone=np.concatenate(lut_zone),
        blocked=np.concatenate(lut_blocked),
        regulation=np.concatenate(lut_reg),
        subject=np.concatenate(lut_subject),
        clause=np.concatenate(lut_clause),
        regulation_ids=tuple(reg_ids),
        clause_ids=tuple(clause_names),
        reg_base=reg_base,
        plans=plans,
        zone_names=tuple(zone_names),
        extra_base=extra_base,
        n_vehicles=nv,
    )
    return table, cell


def _zone_columns(
    zone_cuts: Sequence[datetime],
    zone_windows: Sequence[TimeWindow],
    cut_us: np.ndarray,
    windows: Sequence[TimeWindow],
    used_stretch: np.ndarray,
    used_combo: np.ndarray,
) -> tuple[list[tuple[int, int]], np.ndarray]:
    """The distinct (zone stretch, zone window state) pairs of the used time cells, and each cell's pair."""
    zone_cut_us = np.array([_us(p) for p in zone_cuts], dtype=np.int64)
    local = np.searchsorted(zone_cut_us, cut_us[used_stretch], side="right") - 1
    state = np.zeros(used_stretch.size, dtype=np.int64)
    for j, w in enumerate(zone_windows):
        state |= ((used_combo >> windows.index(w)) & 1) << j
    key = local * (1 << len(zone_windows)) + state
    distinct, pair_of_cell = np.unique(key, return_inverse=True)
    pairs = [(int(k) >> len(zone_windows), int(k) & ((1 << len(zone_windows)) - 1)) for k in distinct.tolist()]
    return pairs, pair_of_cell.astype(np.int64)


def _zone_raw(
    prepared: pl.DataFrame,
    plan: _ZonePlan,
    zone_cuts: Sequence[datetime],
    zone_windows: Sequence[TimeWindow],
    pairs: Sequence[tuple[int, int]],
    nv: int,
) -> np.ndarray:
    """The packed answer (see :meth:`_ZonePlan.code`) of every vehicle for each (stretch, window state) pair."""
    if not pairs:
        return np.zeros((nv, 1), dtype=np.uint64)
    trees = plan.trees()
    leaves = _LeafTable.of(trees)
    base = prepared.select(
        [_Compiler({}).leaf(leaf).alias(name) for leaf, name in leaves.names.items()] + ["_det_year", "_det_md"]
    )
    day_of = {i: zone_cuts[i].astimezone(LOCAL_TZ).date() for i, _ in pairs}
    ages = {d: f"_age_{d.isoformat()}" for d in set(day_of.values())}
    base = base.with_columns([_age_expr(pl.lit(d)).alias(col) for d, col in ages.items()])
    exprs = []
    for k, (i, state) in enumerate(pairs):
        open_w = frozenset(w for j, w in enumerate(zone_windows) if state >> j & 1)
        comp = _CellCompiler({}, None, at=zone_cuts[i], leaves=leaves, age_col=ages[day_of[i]], open_windows=open_w)
        exprs.append(plan.code(comp).alias(f"_c{k}"))
    out: np.ndarray = base.select(exprs).to_numpy().astype(np.uint64)
    return out.reshape(nv, len(pairs))


def _labels(names: list[str], index: np.ndarray) -> pl.Series:
    """Text labels by index (-1: null), built by an Arrow gather over the few distinct names."""
    labels = pl.Series(names or [""], dtype=pl.Utf8)
    idx = pl.Series(np.where(index >= 0, index, 0), dtype=pl.UInt32)
    return labels.gather(pl.select(pl.when(pl.lit(pl.Series(index >= 0))).then(idx)).to_series())


def _lifted(
    book: RuleBook,
    plans: Mapping[int, _ZonePlan],
    zone_names: Sequence[str],
    zone_code: np.ndarray,
    vid: np.ndarray,
    at_us: np.ndarray,
    prohibit: np.ndarray,
    grants: pl.DataFrame,
) -> tuple[np.ndarray, np.ndarray]:
    """Which prohibitions the held grants lift (bit mask per row) and the first grant that lifted one."""
    n = prohibit.size
    lifted = np.zeros(n, dtype=np.uint64)
    first = np.full(n, -1, dtype=np.int64)
    g = grants.select(list(GRANT_SCHEMA)).cast(GRANT_SCHEMA).with_row_index("_g")  # type: ignore[arg-type]
    held_by = g.get_column("vehicle").cast(pl.Int64).to_numpy()
    holders = np.zeros(int(max(int(vid.max()), int(held_by.max()))) + 1, dtype=bool)
    holders[held_by] = True
    rows = np.nonzero((prohibit != 0) & holders[vid])[0]
    if rows.size == 0:
        return lifted, first
    cand = pl.DataFrame(
        {
            "_row": rows,
            "vehicle": pl.Series(vid[rows], dtype=pl.UInt32),
            "_zone": zone_code[rows],
            "_at": at_us[rows],
            "_mask": prohibit[rows],
        }
    ).join(g, on="vehicle", how="inner")
    start = cand.get_column("start").dt.epoch("us").fill_null(np.iinfo(np.int64).min).to_numpy()
    end = cand.get_column("end").dt.epoch("us").fill_null(np.iinfo(np.int64).max).to_numpy()
    t = cand.get_column("_at").to_numpy()
    ok = (start <= t) & (t < end)
    window = cand.get_column("window").to_list()
    for expr in {w for w in window if w is not None}:
        mask = np.array([w == expr for w in window])
        ok[mask] &= _window_column(parse_window(expr), t[mask])
    zones = cand.get_column("zones").to_list()
    munis = cand.get_column("municipalities").to_list()
    types = cand.get_column("type_id").to_list()
    zc = cand.get_column("_zone").to_numpy()
    masks = cand.get_column("_mask").to_numpy()
    bits = np.zeros(cand.height, dtype=np.uint64)
    for k in np.nonzero(ok)[0].tolist():  # few rows: held grants of vehicles that are blocked
        z = int(zc[k])
        zone = book.zone(zone_names[z])
        if (zones[k] and zone.id not in zones[k]) or (munis[k] and zone.authority not in munis[k]):
            continue
        for i, reg in enumerate(plans[z].regulations):
            if int(masks[k]) >> i & 1 and types[k] in reg.exemption_types:
                bits[k] |= np.uint64(1 << i)
    row = cand.get_column("_row").to_numpy()
    np.bitwise_or.at(lifted, row, bits)
    gid = cand.get_column("_g").cast(pl.Int64).to_numpy()
    hit = bits != 0
    order = np.lexsort((gid[hit], row[hit]))
    hit_rows, hit_g = row[hit][order], gid[hit][order]
    keep = np.ones(hit_rows.size, dtype=bool)
    keep[1:] = hit_rows[1:] != hit_rows[:-1]
    first[hit_rows[keep]] = hit_g[keep]
    return lifted, first


__all__ = [
    "ACCESS_CODES",
    "GRANT_SCHEMA",
    "DecisionTable",
    "IndexedDecisions",
    "decide_arrays",
    "decide_batch",
    "decide_indexed",
    "decision_table",
    "grants_frame",
    "prepare_vehicles",
    "timeline_batch",
]
