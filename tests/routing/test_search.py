"""Shortest-path exactness: the router's costs equal a textbook Dijkstra and SciPy's csgraph, exactly."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from ruas.domain.timeutil import LOCAL_TZ
from ruas.routing.generate import generate_grid
from ruas.routing.search import build_landmarks, dijkstra_plain, td_search
from ruas.routing.service import Router

DEPART = datetime(2025, 9, 1, 8, 0, tzinfo=LOCAL_TZ)


@pytest.fixture(scope="module")
def plain_router() -> Router:
    """A 24 x 24 generated grid with every restriction taken off, on an empty rule book."""
    from ruas.register.records import compile_book
    from ruas.rules.frameworks import RuleSettings

    graph = generate_grid(24, seed=11, drop=0.15)
    graph.tagclass[:] = 0
    return Router.build(graph, compile_book([], RuleSettings()), landmarks=4, active=3)


@pytest.fixture(scope="module")
def scipy_dist(plain_router: Router) -> np.ndarray:
    g = plain_router.graph
    w = g.time_ms().astype(np.float64)
    mat = csr_matrix((w, (g.tail, g.head)), shape=(g.node_count, g.node_count))
    return dijkstra(mat, directed=True)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 24 * 24 - 1), st.integers(0, 24 * 24 - 1))
def test_route_costs_equal_plain_dijkstra_exactly(
    plain_router: Router, scipy_dist: np.ndarray, vehicles_plain: Any, s: int, t: int
) -> None:
    g = plain_router.graph
    first_out, head, weight, _sig = g.lists()
    reference = dijkstra_plain(first_out, head, weight, s, t)
    if t not in reference:
        assert np.isinf(scipy_dist[s, t])
        return
    assert reference[t] == scipy_dist[s, t]  # integer milliseconds: float64 sums are exact
    permits = plain_router.query_permits(vehicles_plain, (), DEPART)
    lm = plain_router.base_landmarks()
    found = td_search(
        plain_router.network.lists(truck=False), g.tail, s, permits=permits, target=t, potential=lm.potential(s, t, 3)
    )
    assert found.dist[t] == reference[t]
    path = found.path_edges(t)
    assert sum(weight[e] for e in path) == reference[t]
    assert (int(g.tail[path[0]]) if path else t) == s


@pytest.fixture(scope="module")
def vehicles_plain() -> Any:
    from datetime import date

    from ruas.domain.vehicle import Body, Category, EmissionClass, Fuel, Vehicle

    return Vehicle(Category.N1, Body.VAN, frozenset({Fuel.DIESEL}), EmissionClass.E6, date(2020, 1, 1), 3000)


def test_landmark_bounds_never_exceed_the_true_distance(plain_router: Router, scipy_dist: np.ndarray) -> None:
    g = plain_router.graph
    lm = build_landmarks(g.node_count, g.tail, g.head, g.time_ms(), count=5)
    rng = np.random.default_rng(4)
    for s, t in rng.integers(0, g.node_count, size=(200, 2)).tolist():
        pot = lm.potential(s, t, 4)
        d = scipy_dist[:, t]
        for v in rng.integers(0, g.node_count, size=20).tolist():
            if np.isfinite(d[v]):
                assert pot.h(v) <= d[v]


def test_routes_on_the_plain_grid_match_scipy(
    plain_router: Router, scipy_dist: np.ndarray, vehicles_plain: Any
) -> None:
    g = plain_router.graph
    rng = np.random.default_rng(9)
    checked = 0
    for s, t in rng.integers(0, g.node_count, size=(40, 2)).tolist():
        if s == t or not np.isfinite(scipy_dist[s, t]):
            continue
        result = plain_router.route(vehicles_plain, [(g.lat[s], g.lon[s]), (g.lat[t], g.lon[t])], DEPART, explain=False)
        assert result.found
        assert round(result.duration_s * 1000) == int(scipy_dist[s, t])
        checked += 1
    assert checked > 20
