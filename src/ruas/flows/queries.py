"""Dashboard queries over the flows cube (DuckDB on the Hive-partitioned Parquet), suppressed before they leave.

One query per dashboard reads the cube of the period (``GROUPING SETS``: per time bucket and over the whole
period) for every breakdown at once. Each breakdown becomes one :class:`~ruas.flows.suppression.Grid` of time
buckets x values with its margins (bucket totals, value totals over the period, the grand total); every number
the dashboard, the API and the report show for that breakdown comes from that grid, so a cell hidden in it is
hidden everywhere. The margins every grid shares (bucket totals, grand total) are hidden in all grids as soon
as one grid hides them, and secondary suppression runs again until nothing changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import duckdb

from ruas.domain.errors import InvalidInput
from ruas.flows.cube import FLOW_CLASSES, FlowsData
from ruas.flows.suppression import DEFAULT_MIN_VEHICLES, ZERO, Count, Grid, grid_data, suppress

GRANULARITIES = ("day", "week", "month")
TREND_DIMENSIONS = ("zone", "vehicle_class", "emission_class", "outcome")
"""Breakdowns shown per time bucket (the others are shown over the whole period)."""
PERIOD_DIMENSIONS = ("hour", "fuel", "exemption", "camera")
OUTCOME_ORDER = ("compliant", "exempt", "violation", "not_enforceable")
EMISSION_ORDER = ("Z", "6", "5", "4", "3", "2", "1", "0", "unknown")
MAX_DAYS = 3 * 366


@dataclass(frozen=True, slots=True)
class FlowFilter:
    """What a dashboard shows: local days ``[start, end)``, optionally some municipalities or zones, and the
    time bucket of its trends (``day``, ``week`` = ISO week from Monday, ``month``)."""

    start: date
    end: date
    municipalities: tuple[str, ...] = ()
    zones: tuple[str, ...] = ()
    granularity: str = "day"

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise InvalidInput("the period's end must be after its start", field="until")
        if (self.end - self.start).days > MAX_DAYS:
            raise InvalidInput(f"a period of at most {MAX_DAYS} days", field="until")
        if self.granularity not in GRANULARITIES:
            raise InvalidInput(f"granularity must be one of {', '.join(GRANULARITIES)}", field="granularity")

    @classmethod
    def last(cls, days: int, until: date, **kw: Any) -> FlowFilter:
        """The ``days`` local days before ``until`` (exclusive)."""
        return cls(until - timedelta(days=days), until, **kw)

    def to_data(self) -> dict[str, Any]:
        """JSON form (``until`` exclusive)."""
        return {
            "from": self.start.isoformat(),
            "until": self.end.isoformat(),
            "municipalities": list(self.municipalities),
            "zones": list(self.zones),
            "granularity": self.granularity,
        }


def _bucket_sql(granularity: str) -> str:
    if granularity == "day":
        return "CAST(day AS DATE)"
    return f"CAST(date_trunc('{granularity}', CAST(day AS DATE)) AS DATE)"


def _where(flt: FlowFilter) -> tuple[str, list[Any]]:
    sql = "CAST(day AS DATE) >= ? AND CAST(day AS DATE) < ?"
    params: list[Any] = [flt.start, flt.end]
    if flt.municipalities:
        sql += f" AND municipality IN ({', '.join('?' * len(flt.municipalities))})"
        params += list(flt.municipalities)
    if flt.zones:
        sql += f" AND zone_id IN ({', '.join('?' * len(flt.zones))})"
        params += list(flt.zones)
    return sql, params


def _files(data: FlowsData, flt: FlowFilter) -> list[str]:
    """The cube files of the period (partition pruning by path: DuckDB reads only these)."""
    days = (flt.end - flt.start).days
    out = []
    for i in range(days):
        path = data.cube_path(flt.start + timedelta(days=i))
        if path.is_file():
            out.append(str(path))
    return out


def _source(files: Sequence[str]) -> str:
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    return f"read_parquet([{listed}], hive_partitioning = true, union_by_name = true)"


def query_cube(
    data: FlowsData, flt: FlowFilter
) -> tuple[list[tuple[str, date | None, str, int, int | None]], dict[str, int]]:
    """Rows ``(dimension, bucket or None for the whole period, value, passages, vehicles lower bound)`` and the
    number of days per cube source.

    ``zone`` rows are the ``total`` dimension per zone. Vehicles: the largest daily, per-zone distinct count.
    """
    files = _files(data, flt)
    if not files:
        return [], {}
    where, params = _where(flt)
    bucket = _bucket_sql(flt.granularity)
    sql = f"""
        WITH c AS (SELECT * FROM {_source(files)} WHERE {where}),
        t AS (
            SELECT dimension, value, passages, vehicles, {bucket} AS bucket FROM c
            UNION ALL
            SELECT 'zone', zone_id, passages, vehicles, {bucket} FROM c WHERE dimension = 'total'
            UNION ALL
            SELECT '_source', source, count(DISTINCT day), NULL, NULL FROM c GROUP BY source
        )
        SELECT dimension, bucket, value, CAST(sum(passages) AS BIGINT), max(vehicles)
        FROM t GROUP BY GROUPING SETS ((dimension, bucket, value), (dimension, value))
    """
    with duckdb.connect() as con:
        rows = con.execute(sql, params).fetchall()
    out = [(str(d), b, str(v), int(p), None if n is None else int(n)) for d, b, v, p, n in rows if d != "_source"]
    sources = {str(v): int(p) for d, b, v, p, _ in rows if d == "_source" and b is None}
    return out, sources


def _order(dimension: str, values: set[str]) -> list[str]:
    known: Sequence[str] = {
        "vehicle_class": FLOW_CLASSES,
        "outcome": OUTCOME_ORDER,
        "emission_class": EMISSION_ORDER,
    }.get(dimension, ())
    first = [v for v in known if v in values]
    return first + sorted(values - set(first))


@dataclass
class Dashboard:
    """The suppressed dashboard of one filter: a grid per breakdown, plus what they rest on."""

    filter: FlowFilter
    min_vehicles: int
    buckets: list[date]
    grids: dict[str, Grid]
    days_by_source: Mapping[str, int]
    zone_names: Mapping[str, str] = field(default_factory=dict)
    cameras: Sequence[Mapping[str, Any]] = ()

    @property
    def basis(self) -> str:
        """``vehicles`` when every day has vehicle counts, else ``mixed`` / ``passages`` (see suppression)."""
        agg = self.days_by_source.get("aggregates", 0)
        rec = self.days_by_source.get("records", 0)
        return "vehicles" if agg == 0 else ("passages" if rec == 0 else "mixed")

    def grid(self, dimension: str) -> Grid:
        """The grid of a breakdown (an empty one when the period has no data)."""
        return self.grids.get(dimension) or Grid([], [], [], [], [], ZERO)

    def total(self) -> int | None:
        """Passages in the period (None when suppressed)."""
        g = self.grid("outcome")
        return None if g.grand is None or g.hidden_grand else g.grand.passages

    def share_series(self, dimension: str, values: Sequence[str]) -> list[dict[str, Any]]:
        """Per bucket the share of ``values`` in the bucket total (None when any part is hidden)."""
        g = self.grid(dimension)
        out = []
        for i, b in enumerate(g.rows):
            cols = [g.cols.index(v) for v in values if v in g.cols]
            total = g.row_totals[i] if g.row_totals else ZERO
            hidden = (g.row_totals is None or g.hidden_rows[i]) or any(g.hidden[i][j] for j in cols)
            part = sum(g.cells[i][j].passages for j in cols)
            share = None if hidden or total.passages == 0 else part / total.passages
            out.append({"bucket": b, "share": share})
        return out

    def period_share(self, dimension: str, values: Sequence[str]) -> float | None:
        """The share of ``values`` over the whole period (None when any part is hidden)."""
        g = self.grid(dimension)
        if g.grand is None or g.hidden_grand or g.grand.passages == 0 or g.col_totals is None:
            return None
        cols = [g.cols.index(v) for v in values if v in g.cols]
        if any(g.hidden_cols[j] for j in cols):
            return None
        return sum(g.col_totals[j].passages for j in cols) / g.grand.passages

    def to_data(self) -> dict[str, Any]:
        """JSON form: per breakdown its grid (``rows`` are bucket starts), shares, cameras, what it rests on."""
        grids = {}
        for dim, g in self.grids.items():
            data = grid_data(g)
            if dim in PERIOD_DIMENSIONS:  # one row over the period: its cells are the value totals
                data["column_totals"] = data.pop("passages")[0] if g.rows else []
                data["grand_total"] = data.pop("row_totals")[0] if g.rows else None
                data["rows"], data["passages"], data["row_totals"] = [], [], []
            grids[dim] = data
        return {
            "filter": self.filter.to_data(),
            "min_vehicles": self.min_vehicles,
            "suppression_basis": self.basis,
            "days": dict(self.days_by_source),
            "buckets": [b.isoformat() for b in self.buckets],
            "total_passages": self.total(),
            "zero_emission_share": self.period_share("emission_class", ["Z"]),
            "zero_emission_series": [
                {"bucket": r["bucket"], "share": r["share"]} for r in self.share_series("emission_class", ["Z"])
            ],
            "compliance_share": self.period_share("outcome", ["compliant", "exempt"]),
            "breakdowns": grids,
            "zone_names": dict(self.zone_names),
            "cameras": [dict(c) for c in self.cameras],
        }


def _grid(
    dimension: str,
    rows: Sequence[tuple[str, date | None, str, int, int | None]],
    buckets: list[date],
    totals_by_bucket: Mapping[date, Count],
    grand: Count,
    per_bucket: bool,
) -> Grid:
    cells: dict[tuple[date, str], Count] = {}
    period: dict[str, Count] = {}
    for _, b, v, p, n in rows:
        if b is None:
            period[v] = Count(p, n)
        else:
            cells[(b, v)] = Count(p, n)
    values = _order(dimension, set(period))
    if per_bucket:
        return Grid(
            rows=[b.isoformat() for b in buckets],
            cols=values,
            cells=[[cells.get((b, v), ZERO) for v in values] for b in buckets],
            row_totals=[totals_by_bucket.get(b, ZERO) for b in buckets],
            col_totals=[period[v] for v in values],
            grand=grand,
        )
    return Grid(rows=["period"], cols=values, cells=[[period[v] for v in values]], row_totals=[grand])


def dashboard(
    data: FlowsData,
    flt: FlowFilter,
    *,
    min_vehicles: int = DEFAULT_MIN_VEHICLES,
    zone_names: Mapping[str, str] | None = None,
    cameras: Sequence[Mapping[str, Any]] = (),
) -> Dashboard:
    """The suppressed dashboard of ``flt``: trends per bucket and breakdowns over the period.

    ``cameras`` (id, name, lat, lon) are joined with the camera breakdown for the map (their passages, or None
    when hidden). ``min_vehicles`` below 1 is refused.
    """
    if min_vehicles < 1:
        raise InvalidInput("min_vehicles must be at least 1", field="min_vehicles")
    rows, days = query_cube(data, flt)
    by_dim: dict[str, list[tuple[str, date | None, str, int, int | None]]] = {}
    for r in rows:
        by_dim.setdefault(r[0], []).append(r)
    totals = by_dim.get("total", [])
    buckets = sorted({b for _, b, _, _, _ in totals if b is not None})
    totals_by_bucket = {b: Count(p, n) for _, b, _, p, n in totals if b is not None}
    grand = next((Count(p, n) for _, b, _, p, n in totals if b is None), ZERO)
    grids: dict[str, Grid] = {}
    for dim in (*TREND_DIMENSIONS, *PERIOD_DIMENSIONS):
        dim_rows = by_dim.get(dim, [])
        if dim == "exemption":
            # exemptions sum to the exempt passages, not to the total: their margin is the outcome "exempt"
            exempt = [r for r in by_dim.get("outcome", []) if r[2] == "exempt"]
            margin = next((Count(p, n) for _, b, _, p, n in exempt if b is None), ZERO)
            g = _grid(dim, dim_rows, buckets, {}, margin, per_bucket=False)
        else:
            g = _grid(dim, dim_rows, buckets, totals_by_bucket, grand, per_bucket=dim in TREND_DIMENSIONS)
        grids[dim] = g
    _suppress_together(grids, min_vehicles)
    cams = _camera_points(grids.get("camera"), cameras)
    return Dashboard(flt, min_vehicles, buckets, grids, days, dict(zone_names or {}), cams)


def _suppress_together(grids: Mapping[str, Grid], k: int) -> None:
    """Suppress every grid, then share hidden bucket totals and grand totals across them until stable."""
    for g in grids.values():
        suppress(g, k)
    shared = [d for d in TREND_DIMENSIONS if d in grids]
    grand_shared = [d for d in grids if d != "exemption"]
    while True:
        rows_hidden = [any(grids[d].hidden_rows[i] for d in shared) for i in range(len(grids[shared[0]].rows))]
        grand_hidden = any(grids[d].hidden_grand or (grids[d].rows == ["period"] and grids[d].hidden_rows[0])
                           for d in grand_shared)  # fmt: skip
        changed = False
        for d in shared:
            g = grids[d]
            for i, h in enumerate(rows_hidden):
                if h and not g.hidden_rows[i]:
                    g.hidden_rows[i] = True
                    g.reason.setdefault(("row", i, 0), "secondary")
                    changed = True
        for d in grand_shared:
            g = grids[d]
            if g.rows == ["period"]:
                if grand_hidden and not g.hidden_rows[0]:
                    g.hidden_rows[0] = True
                    g.reason.setdefault(("row", 0, 0), "secondary")
                    changed = True
            elif grand_hidden and not g.hidden_grand:
                g.hidden_grand = True
                g.reason.setdefault(("grand", 0, 0), "secondary")
                changed = True
        changed |= _link_exempt(grids)
        if not changed:
            return
        for g in grids.values():
            suppress(g, k)


def _link_exempt(grids: Mapping[str, Grid]) -> bool:
    """The exemption grid's margin is the outcome grid's ``exempt`` column total: hidden in one, hidden in both."""
    ex, out = grids.get("exemption"), grids.get("outcome")
    if ex is None or out is None or "exempt" not in out.cols or not ex.hidden_rows:
        return False
    j = out.cols.index("exempt")
    hide = ex.hidden_rows[0] or out.hidden_cols[j]
    changed = False
    if hide and not ex.hidden_rows[0]:
        ex.hidden_rows[0] = True
        ex.reason.setdefault(("row", 0, 0), "secondary")
        changed = True
    if hide and not out.hidden_cols[j]:
        out.hidden_cols[j] = True
        out.reason.setdefault(("col", 0, j), "secondary")
        changed = True
    return changed


def _camera_points(grid: Grid | None, cameras: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if grid is None:
        return []
    seen = {c: j for j, c in enumerate(grid.cols)}
    out = []
    for cam in cameras:
        j = seen.get(str(cam["id"]))
        if j is None:
            continue
        hidden = grid.hidden[0][j]
        out.append({**cam, "passages": None if hidden else grid.cells[0][j].passages})
    return out


__all__ = ["GRANULARITIES", "Dashboard", "FlowFilter", "dashboard", "query_cube"]
