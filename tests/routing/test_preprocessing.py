"""Per-class preprocessing and the faster search stay exact: the same costs as the reference search.

The network is a small generated grid (synthetic) with OSM-style restrictions sprinkled on it and
two register zones: a heavy-vehicle area in the middle (over 7.5 t refused) and a delivery-window
area in a corner (motor vehicles Mo-Sa 07:00-11:00 only). The reference is the same
time-dependent search with no heuristic (a plain time-dependent Dijkstra) on fresh permissions.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from ruas.domain.timeutil import LOCAL_TZ
from ruas.domain.vehicle import Vehicle
from ruas.register.records import compile_book
from ruas.routing.generate import generate_grid
from ruas.routing.graph import RoadGraph
from ruas.routing.search import build_landmarks, td_search
from ruas.routing.service import Router
from ruas.rules.frameworks import RuleSettings

SIZE = 20
MONDAY_6 = datetime(2025, 9, 1, 6, 0, tzinfo=LOCAL_TZ)


def box(graph: RoadGraph, r0: float, c0: float, r1: float, c1: float) -> dict[str, Any]:
    """A GeoJSON rectangle over the fractions ``(r0, c0)``-``(r1, c1)`` of the grid's extent."""
    la0, la1 = float(graph.lat.min()), float(graph.lat.max())
    lo0, lo1 = float(graph.lon.min()), float(graph.lon.max())
    lat = [la0 + f * (la1 - la0) for f in (r0, r1)]
    lon = [lo0 + f * (lo1 - lo0) for f in (c0, c1)]
    ring = [[lon[0], lat[0]], [lon[1], lat[0]], [lon[1], lat[1]], [lon[0], lat[1]], [lon[0], lat[0]]]
    return {"type": "Polygon", "coordinates": [ring]}


def custom_zone(zone_id: str, geometry: dict[str, Any], subject: dict[str, Any], kind: str) -> dict[str, Any]:
    return {
        "id": zone_id,
        "name": f"test {zone_id}",
        "kind": kind,
        "authority": "GM0363",
        "authority_name": "Test",
        "geometry": geometry,
        "regulations": [
            {
                "custom": {
                    "id": f"{zone_id}/rule",
                    "name": zone_id,
                    "kind": kind,
                    "subject_label": zone_id,
                    "subject": subject,
                    "legal_source": {"citation": "test"},
                    "exemption_types": ["ams-ontheffing-zwaar"],
                }
            }
        ],
    }


def zoned_router(graph: RoadGraph, **kwargs: Any) -> Router:
    heavy = custom_zone(
        "heavy",
        box(graph, 0.35, 0.35, 0.65, 0.65),
        {"field": "max_mass_kg", "op": "gt", "value": 7500},
        "vehicle_restriction",
    )
    window = custom_zone(
        "window",
        box(graph, 0.0, 0.7, 0.3, 1.0),
        {
            "all": [
                {"field": "category_group", "op": "in", "value": ["M", "N"]},
                {"not": {"field": "at", "op": "in_window", "value": "Mo-Sa 07:00-11:00; PH off"}},
            ]
        },
        "time_window",
    )
    return Router.build(graph, compile_book([heavy, window], RuleSettings()), **kwargs)


@pytest.fixture(scope="module")
def router(class_vehicles: dict[str, Vehicle]) -> Router:
    """The zoned grid with landmarks prepared for the van, the 12 t rigid and the 40 t combination."""
    r = zoned_router(generate_grid(SIZE, seed=5), landmarks=6, active=6)
    for name in ("van", "rigid12", "combi40"):
        r.prepare(class_vehicles[name], MONDAY_6)
    return r


def reference(router: Router, vehicle: Vehicle, s: int, t: int, depart: datetime) -> int | None:
    """The earliest arrival (ms) by the same time-dependent search without any heuristic, on fresh permissions."""
    permits = router.query_permits(vehicle, (), depart)
    local = router.local_edges([s, t]) or None
    res = td_search(
        router.network.lists(truck=vehicle.is_truck),
        router.tails(),
        s,
        permits=permits,
        target=t,
        local=local,
        waiver=router.waiver(s, t),
    )
    return res.dist.get(t)


def point(graph: RoadGraph, v: int) -> tuple[float, float]:
    return float(graph.lat[v]), float(graph.lon[v])


@settings(max_examples=80, deadline=None)
@given(
    name=st.sampled_from(["van", "rigid12", "combi40"]),
    a=st.integers(0, SIZE * SIZE - 1),
    b=st.integers(0, SIZE * SIZE - 1),
    minutes=st.integers(0, 7 * 24 * 60),
)
def test_prepared_search_costs_equal_the_reference_search_exactly(
    router: Router, class_vehicles: dict[str, Vehicle], name: str, a: int, b: int, minutes: int
) -> None:
    graph = router.graph
    routable = np.flatnonzero(graph.routable_nodes())
    s, t = int(routable[a % len(routable)]), int(routable[b % len(routable)])
    vehicle = class_vehicles[name]
    depart = MONDAY_6 + timedelta(minutes=minutes)
    expected = reference(router, vehicle, s, t, depart)
    result = router.route(vehicle, [point(graph, s), point(graph, t)], depart, explain=False)
    assert result.found is (expected is not None)
    if expected is not None:
        assert result.legs[0].arrive_ms == expected
        # the path found really takes that long: each edge entered at or after the arrival at its tail
        weight = router.network.lists(truck=vehicle.is_truck)[2]
        at = 0
        for e, entered in zip(result.legs[0].edges, result.legs[0].enter_ms, strict=True):
            assert entered >= at
            at = entered + weight[e]
        assert at == expected


def test_class_landmarks_leave_out_what_the_engine_closes_and_bound_admissibly(
    router: Router, class_vehicles: dict[str, Vehicle]
) -> None:
    g = router.graph
    truck = class_vehicles["combi40"]
    removed = router.closed_signatures(truck, MONDAY_6)
    heavy_sigs = set(router.network.signatures_with_zone("heavy"))
    window_sigs = set(router.network.signatures_with_zone("window"))
    assert heavy_sigs and heavy_sigs <= removed  # the heavy area is closed to 40 t at every moment
    assert not window_sigs & removed  # windows stay in, at their most permissive
    assert not router.closed_signatures(class_vehicles["van"], MONDAY_6) & heavy_sigs
    permits = router.query_permits(truck, (), MONDAY_6 + timedelta(hours=2))
    lm, zero = router.landmarks_for_leg(truck, permits)
    assert lm.removed == removed and lm.truck and zero is None
    # bounds never exceed the true free-flow time on the edges the truck may use; "dead" means unreachable
    usable = ~np.isin(router.network.edge_signature, list(removed))
    w = g.time_ms(truck=True)[usable].astype(np.float64)
    mat = csr_matrix((w, (g.tail[usable], g.head[usable])), shape=(g.node_count, g.node_count))
    rng = np.random.default_rng(3)
    reverse = mat.T.tocsr()
    for t in rng.integers(0, g.node_count, size=25).tolist():
        d = dijkstra(reverse, directed=True, indices=t)  # d[v]: free-flow time v -> t on the usable edges
        pot = lm.potential(int(rng.integers(0, g.node_count)), t, router.active)
        for v in range(g.node_count):
            if np.isfinite(d[v]):
                assert pot.h(v) <= d[v] < lm.dead  # admissible, and never taken for unreachable


def test_landmarks_are_not_used_when_what_they_leave_out_is_open_at_the_query_time(
    router: Router, class_vehicles: dict[str, Vehicle]
) -> None:
    truck = class_vehicles["rigid12"]
    removed = router.closed_signatures(truck, MONDAY_6)
    heavy = router.network.signatures_with_zone("heavy")
    # an exemption for the heavy area opens its signatures: the class landmarks would not be admissible
    from ruas.domain.regulation import ExemptionGrant
    from ruas.domain.timeutil import Interval

    grant = ExemptionGrant(
        id="g1",
        type_id="ams-ontheffing-zwaar",
        plate="VQ123B",
        validity=Interval(datetime(2025, 1, 1, tzinfo=LOCAL_TZ), datetime(2026, 1, 1, tzinfo=LOCAL_TZ)),
    )
    permits = router.query_permits(truck, (grant,), MONDAY_6)
    lm, _zero = router.landmarks_for_leg(truck, permits)
    assert not set(heavy) & lm.removed
    assert lm.removed != removed
    g = router.graph
    inside = [v for v in np.flatnonzero(g.routable_nodes()).tolist() if "heavy" in router.network.zones_at(v)]
    outside = [v for v in np.flatnonzero(g.routable_nodes()).tolist() if not router.network.zones_at(v)]
    s, t = outside[0], inside[len(inside) // 2]
    with_grant = router.route(truck, [point(g, s), point(g, t)], MONDAY_6, grants=[grant], explain=False)
    assert with_grant.found and any(z["id"] == "heavy" for z in with_grant.zones)
    without = router.route(truck, [point(g, s), point(g, t)], MONDAY_6, explain=False)
    assert not without.found
    assert without.settled == 0  # the landmarks prove it: nothing outside the area can reach a node in it


@pytest.fixture(scope="module")
def inside_and_out(router: Router) -> tuple[list[int], list[int]]:
    g = router.graph
    routable = np.flatnonzero(g.routable_nodes()).tolist()
    inside = [v for v in routable if "heavy" in router.network.zones_at(v)]
    outside = [v for v in routable if not router.network.zones_at(v)]
    return inside, outside


def test_a_truck_starting_inside_a_zone_it_may_not_enter_may_leave_it(
    router: Router, class_vehicles: dict[str, Vehicle], inside_and_out: tuple[list[int], list[int]]
) -> None:
    g = router.graph
    inside, outside = inside_and_out
    truck = class_vehicles["combi40"]
    s, t = inside[len(inside) // 2], outside[0]
    result = router.route(truck, [point(g, s), point(g, t)], MONDAY_6)
    assert result.found
    assert result.legs[0].arrive_ms == reference(router, truck, s, t, MONDAY_6)
    [heavy] = [z for z in result.zones if z["id"] == "heavy"]
    assert heavy["started_inside"] is True and heavy["entered_at"] is None
    assert heavy["access"] != "allowed"  # the engine still refuses entering; leaving is what is allowed
    # the route leaves the area once and never comes back in
    inside_set = set(inside)
    heads = [int(g.head[e]) for e in result.legs[0].edges]
    flags = [h in inside_set for h in heads]
    assert flags == sorted(flags, reverse=True)


def test_driving_from_inside_to_inside_the_zone_stays_refused(
    router: Router, class_vehicles: dict[str, Vehicle], inside_and_out: tuple[list[int], list[int]]
) -> None:
    g = router.graph
    inside, _outside = inside_and_out
    truck = class_vehicles["combi40"]
    s, t = inside[0], inside[-1]
    assert not router.route(truck, [point(g, s), point(g, t)], MONDAY_6, explain=False).found
    van = class_vehicles["van"]
    assert router.route(van, [point(g, s), point(g, t)], MONDAY_6, explain=False).found


def test_matrix_lets_an_origin_inside_a_zone_leave_it_and_agrees_with_routes(
    router: Router, class_vehicles: dict[str, Vehicle], inside_and_out: tuple[list[int], list[int]]
) -> None:
    g = router.graph
    inside, outside = inside_and_out
    truck = class_vehicles["combi40"]
    a, b = inside[3], outside[5]
    # a destination outside both can reach (some streets are too short for 16.5 m)
    t = next(v for v in reversed(outside) if all(reference(router, truck, o, v, MONDAY_6) for o in (a, b)))
    origins = [point(g, a), point(g, b)]
    destinations = [point(g, t), point(g, inside[-2])]
    m = router.matrix(truck, origins, destinations, MONDAY_6)
    assert m["durations_s"][0][1] is None  # inside to inside: driving in the zone
    assert m["durations_s"][1][1] is None  # outside to inside: entering it
    for i, o in enumerate(origins):
        single = router.route(truck, [o, destinations[0]], MONDAY_6, explain=False)
        assert single.found
        assert m["durations_s"][i][0] == pytest.approx(single.duration_s, abs=0.1)
        assert m["distances_m"][i][0] == pytest.approx(single.distance_m, abs=0.1)


@pytest.mark.parametrize("planar", [True, False])
def test_landmark_selection_gives_admissible_bounds_on_a_plain_grid(planar: bool) -> None:
    g = generate_grid(16, seed=2, drop=0.1)
    coords = {"lat": g.lat, "lon": g.lon} if planar else {}
    lm = build_landmarks(g.node_count, g.tail, g.head, g.time_ms(), count=6, **coords)
    assert len(set(lm.nodes)) == len(lm.nodes) >= 4
    w = g.time_ms().astype(np.float64)
    d = dijkstra(csr_matrix((w, (g.tail, g.head)), shape=(g.node_count, g.node_count)), directed=True)
    rng = np.random.default_rng(8)
    for s, t in rng.integers(0, g.node_count, size=(60, 2)).tolist():
        pot = lm.potential(s, t, 4)
        for v in range(g.node_count):
            if np.isfinite(d[v, t]):
                assert pot.h(v) <= d[v, t]


@settings(max_examples=60, deadline=None)
@given(
    lat=st.floats(52.30, 52.44, allow_nan=False),
    lon=st.floats(4.78, 5.00, allow_nan=False),
)
def test_snapping_by_grid_cells_finds_the_same_node_as_the_full_scan(
    snap_graph: RoadGraph, lat: float, lon: float
) -> None:
    assert snap_graph.nearest_routable(lat, lon) == snap_graph.nearest_node(lat, lon, mask=snap_graph.routable_nodes())


@pytest.fixture(scope="module")
def snap_graph() -> RoadGraph:
    """A grid large enough for the cell index (over 4,096 routable nodes), with some streets left out."""
    g = generate_grid(72, seed=4, drop=0.3)
    assert g._snap_index() is not None
    return g


def naive_enter(permits: Any, s: int, t: int) -> int:
    """The earliest entry by walking the engine's stretches one by one (what ``enter`` remembers)."""
    limit = min(t + permits.max_wait_ms, permits.horizon_ms)
    while t <= limit:
        ok, until = permits.state(s, t)
        if ok:
            return t
        t = until
    return -1


@settings(max_examples=40, deadline=None)
@given(
    minutes=st.lists(st.integers(0, 40 * 60), min_size=1, max_size=30),
    wait_h=st.sampled_from([1, 6, 24]),
)
def test_remembered_entry_times_equal_walking_the_stretches(
    router: Router, class_vehicles: dict[str, Vehicle], minutes: list[int], wait_h: int
) -> None:
    window = router.network.signatures_with_zone("window")
    permits = router.query_permits(class_vehicles["van"], (), MONDAY_6, max_wait=timedelta(hours=wait_h))
    fresh = router.query_permits(class_vehicles["van"], (), MONDAY_6, max_wait=timedelta(hours=wait_h))
    for m in minutes:  # in the order drawn: the memo must not depend on the order of questions
        for s in window:
            assert permits.enter(s, m * 60_000) == naive_enter(fresh, s, m * 60_000)
