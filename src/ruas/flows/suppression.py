"""Small-cell suppression of flow tables: a published count never describes fewer than ``k`` vehicles.

**Primary.** A cell (or total) is suppressed when it holds passages and its *distinct vehicles* are fewer than
``k`` (default 10). Distinct counts do not add up, so a cell that sums several days or zones carries a lower
bound: the largest daily, per-zone count among its parts (``vehicles_lb``; the true number is at least that).
Publishing only when the lower bound reaches ``k`` is therefore safe; it may hide a cell that in truth has
enough vehicles (over-suppression, never under-). Cells built only from the enforcement aggregates carry no
vehicle count: they fall back to the passage count (``passages < k``), which is weaker (one vehicle can pass
ten times) — tables say so (``basis``). A cell with no passages is published as 0.

**Secondary.** Tables are published with their margins (row totals, column totals, the grand total), so a
single hidden cell in a line whose margin is shown could be recovered by subtraction. For every line — each
row with its row total, each column with its column total, the row totals with the grand total, the column
totals with the grand total — while exactly one cell is hidden and the margin is shown, the smallest other
non-zero cell of the line is hidden as well (or, when there is none, the margin). This repeats until no line
has exactly one hidden cell. It is the common line-by-line heuristic: it stops recovery by subtraction within
one table; it does not solve the general linear-programming attack on several overlapping tables (interval
disclosure). The dashboard limits that exposure by publishing each breakdown against the same totals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_MIN_VEHICLES = 10
"""Cells describing fewer distinct vehicles than this are not published."""


@dataclass(frozen=True, slots=True)
class Count:
    """A count before suppression: passages and a lower bound of the distinct vehicles (None: unknown)."""

    passages: int
    vehicles_lb: int | None = None

    def small(self, k: int) -> bool:
        """True when publishing this count could describe fewer than ``k`` vehicles."""
        if self.passages <= 0 or k <= 1:
            return False
        if self.vehicles_lb is None:
            return self.passages < k
        return self.vehicles_lb < k


ZERO = Count(0, 0)


@dataclass
class Grid:
    """A table of counts (rows x columns) with optional margins, and which of them are hidden.

    ``row_totals`` / ``col_totals`` / ``grand`` are the margins as published next to the cells (None: the
    table has no such margin). After :func:`suppress`, ``hidden`` / ``hidden_rows`` / ``hidden_cols`` /
    ``hidden_grand`` say what is withheld and ``reason`` maps each hidden position to ``primary`` or
    ``secondary``.
    """

    rows: list[str]
    cols: list[str]
    cells: list[list[Count]]
    row_totals: list[Count] | None = None
    col_totals: list[Count] | None = None
    grand: Count | None = None
    hidden: list[list[bool]] = field(default_factory=list)
    hidden_rows: list[bool] = field(default_factory=list)
    hidden_cols: list[bool] = field(default_factory=list)
    hidden_grand: bool = False
    reason: dict[tuple[str, int, int], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.cells) != len(self.rows) or any(len(r) != len(self.cols) for r in self.cells):
            raise ValueError("cells must be a rows x cols matrix")
        self.hidden = [[False] * len(self.cols) for _ in self.rows]
        self.hidden_rows = [False] * len(self.rows)
        self.hidden_cols = [False] * len(self.cols)


def _hide(grid: Grid, kind: str, i: int, j: int, why: str) -> None:
    if kind == "cell":
        grid.hidden[i][j] = True
    elif kind == "row":
        grid.hidden_rows[i] = True
    elif kind == "col":
        grid.hidden_cols[j] = True
    else:
        grid.hidden_grand = True
    grid.reason.setdefault((kind, i, j), why)


def _is_hidden(grid: Grid, kind: str, i: int, j: int) -> bool:
    if kind == "cell":
        return grid.hidden[i][j]
    if kind == "row":
        return grid.hidden_rows[i]
    if kind == "col":
        return grid.hidden_cols[j]
    return grid.hidden_grand


def _count(grid: Grid, kind: str, i: int, j: int) -> Count:
    if kind == "cell":
        return grid.cells[i][j]
    if kind == "row":
        assert grid.row_totals is not None
        return grid.row_totals[i]
    if kind == "col":
        assert grid.col_totals is not None
        return grid.col_totals[j]
    assert grid.grand is not None
    return grid.grand


Pos = tuple[str, int, int]


def _lines(grid: Grid) -> list[tuple[list[Pos], Pos]]:
    """Every (members, margin) line of the table whose margin is published next to it."""
    out: list[tuple[list[Pos], Pos]] = []
    nr, nc = len(grid.rows), len(grid.cols)
    if grid.row_totals is not None:
        out += [([("cell", i, j) for j in range(nc)], ("row", i, 0)) for i in range(nr)]
        if grid.grand is not None:
            out.append(([("row", i, 0) for i in range(nr)], ("grand", 0, 0)))
    if grid.col_totals is not None:
        out += [([("cell", i, j) for i in range(nr)], ("col", 0, j)) for j in range(nc)]
        if grid.grand is not None:
            out.append(([("col", 0, j) for j in range(nc)], ("grand", 0, 0)))
    return out


def suppress(grid: Grid, k: int = DEFAULT_MIN_VEHICLES) -> Grid:
    """Apply primary and secondary suppression to ``grid`` in place (and return it)."""
    every: list[Pos] = [("cell", i, j) for i in range(len(grid.rows)) for j in range(len(grid.cols))]
    if grid.row_totals is not None:
        every += [("row", i, 0) for i in range(len(grid.rows))]
    if grid.col_totals is not None:
        every += [("col", 0, j) for j in range(len(grid.cols))]
    if grid.grand is not None:
        every.append(("grand", 0, 0))
    for pos in every:
        if _count(grid, *pos).small(k):
            _hide(grid, *pos, "primary")
    lines = _lines(grid)
    changed = True
    while changed:
        changed = False
        for members, margin in lines:
            if _is_hidden(grid, *margin):
                continue
            hidden = [p for p in members if _is_hidden(grid, *p)]
            if len(hidden) != 1:
                continue
            candidates = [p for p in members if not _is_hidden(grid, *p) and _count(grid, *p).passages > 0]
            if candidates:
                pick = min(candidates, key=lambda p: (_count(grid, *p).passages, p))
                _hide(grid, *pick, "secondary")
            else:
                _hide(grid, *margin, "secondary")
            changed = True
    return grid


def published(count: Count, hidden: bool) -> int | None:
    """The published passages of a count: None when hidden."""
    return None if hidden else count.passages


def grid_data(grid: Grid) -> dict[str, Any]:
    """JSON form of a suppressed grid: passages (None where hidden) and what was hidden why."""
    return {
        "rows": list(grid.rows),
        "columns": list(grid.cols),
        "passages": [[published(c, grid.hidden[i][j]) for j, c in enumerate(row)] for i, row in enumerate(grid.cells)],
        "row_totals": None
        if grid.row_totals is None
        else [published(c, grid.hidden_rows[i]) for i, c in enumerate(grid.row_totals)],
        "column_totals": None
        if grid.col_totals is None
        else [published(c, grid.hidden_cols[j]) for j, c in enumerate(grid.col_totals)],
        "grand_total": None if grid.grand is None else published(grid.grand, grid.hidden_grand),
        "suppressed": {
            "primary": sum(1 for v in grid.reason.values() if v == "primary"),
            "secondary": sum(1 for v in grid.reason.values() if v == "secondary"),
        },
    }


def recoverable(grid: Grid) -> list[Pos]:
    """Hidden positions that one published line reveals by subtraction (empty after :func:`suppress`).

    For tests and audits: a line whose margin is published with exactly one hidden member reveals it.
    """
    out: list[Pos] = []
    for members, margin in _lines(grid):
        if _is_hidden(grid, *margin):
            continue
        hidden = [p for p in members if _is_hidden(grid, *p)]
        if len(hidden) == 1:
            out.append(hidden[0])
    return out


__all__ = ["DEFAULT_MIN_VEHICLES", "Count", "Grid", "grid_data", "recoverable", "suppress"]
