"""Small-cell suppression: primary by distinct vehicles, secondary so no hidden cell follows by subtraction."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ruas.flows.suppression import Count, Grid, grid_data, recoverable, suppress


def one_row(cells: list[Count], total: Count) -> Grid:
    return Grid(["all"], [str(i) for i in range(len(cells))], [cells], row_totals=[total])


def test_primary_hides_cells_with_fewer_than_k_vehicles_even_with_many_passages() -> None:
    g = suppress(one_row([Count(50, 9), Count(12, 10), Count(30, 25), Count(0, 0)], Count(92, 44)), 10)
    assert grid_data(g)["passages"] == [[None, None, 30, 0]]  # 9 vehicles: hidden; then the smallest other (12)
    assert g.reason == {("cell", 0, 0): "primary", ("cell", 0, 1): "secondary"}


def test_a_single_hidden_cell_without_another_non_zero_cell_hides_the_margin() -> None:
    g = suppress(one_row([Count(5, 5), Count(0, 0)], Count(5, 5)), 10)
    assert g.hidden_rows == [True]


def test_unknown_vehicle_counts_fall_back_to_passages() -> None:
    assert Count(9, None).small(10) and not Count(10, None).small(10)
    assert Count(15, 3).small(10) and not Count(0, 0).small(10)


def test_two_dimensional_lines_are_closed() -> None:
    cells = [[Count(40, 40), Count(3, 3), Count(30, 30)], [Count(35, 35), Count(20, 20), Count(25, 25)]]
    g = Grid(
        ["d1", "d2"],
        ["a", "b", "c"],
        cells,
        row_totals=[Count(73, 70), Count(80, 80)],
        col_totals=[Count(75, 60), Count(23, 21), Count(55, 50)],
        grand=Count(153, 120),
    )
    suppress(g, 10)
    assert g.hidden[0][1]
    assert sum(g.hidden[0]) >= 2 and sum(row[1] for row in g.hidden) >= 2
    assert recoverable(g) == []


@st.composite
def grids(draw: st.DrawFn) -> Grid:
    nr = draw(st.integers(1, 5))
    nc = draw(st.integers(1, 6))
    vehicles = [[draw(st.integers(0, 40)) for _ in range(nc)] for _ in range(nr)]
    cells = [[Count(v + draw(st.integers(0, 5)) if v else draw(st.integers(0, 2)), v) for v in row] for row in vehicles]
    rows = [Count(sum(c.passages for c in r), max((c.vehicles_lb or 0) for c in r)) for r in cells]
    cols = [Count(sum(r[j].passages for r in cells), max((r[j].vehicles_lb or 0) for r in cells)) for j in range(nc)]
    grand = Count(sum(c.passages for c in rows), max(c.vehicles_lb or 0 for c in rows))
    return Grid([f"r{i}" for i in range(nr)], [f"c{j}" for j in range(nc)], cells, rows, cols, grand)


@given(grids(), st.integers(2, 20))
def test_after_suppression_nothing_hidden_is_recoverable_and_nothing_small_is_shown(g: Grid, k: int) -> None:
    suppress(g, k)
    assert recoverable(g) == []
    for i, row in enumerate(g.cells):
        for j, c in enumerate(row):
            if c.small(k):
                assert g.hidden[i][j]
    assert g.row_totals is not None and g.col_totals is not None
    assert all(g.hidden_rows[i] for i, c in enumerate(g.row_totals) if c.small(k))
    assert all(g.hidden_cols[j] for j, c in enumerate(g.col_totals) if c.small(k))
