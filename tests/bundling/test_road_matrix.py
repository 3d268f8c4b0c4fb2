"""The road-network provider over ``ruas.routing`` (issue 8) on a small generated (synthetic) grid."""

from __future__ import annotations

from datetime import datetime

import pytest
from bundling_kit import scenario_doc

from ruas.bundling.access import AccessOracle
from ruas.bundling.matrix import RoadNetworkMatrix
from ruas.bundling.plan import Planner
from ruas.bundling.scenario import scenario_from_data
from ruas.domain.timeutil import LOCAL_TZ
from ruas.register.store import Register
from ruas.routing import generate as routing_generate
from ruas.routing import service as routing_service

CENTRE = (52.30, 4.70)  # outside every zone of the register: the grid's own OSM-like restrictions only
POINTS = [(52.300, 4.700), (52.302, 4.703), (52.298, 4.696)]


@pytest.fixture(scope="module")
def road(bundling_register: Register) -> RoadNetworkMatrix:
    """A 40 x 40 generated grid (80 m spacing) around CENTRE, with the register's rules."""
    graph = routing_generate.generate_grid(40, centre=CENTRE, spacing_m=80)
    return RoadNetworkMatrix(routing_service.Router.build(graph, bundling_register.book))


def test_road_matrix_comes_from_the_router(road: RoadNetworkMatrix, bundling_register: Register) -> None:
    sc = scenario_from_data(scenario_doc())
    vc = sc.vehicle_class("e-van")
    vehicle = AccessOracle(bundling_register).vehicle(vc)
    depart = datetime(2026, 3, 2, 8, tzinfo=LOCAL_TZ)
    m = road.matrix(vc, vehicle, POINTS, depart)
    answer = road.router.matrix(vehicle, POINTS, POINTS, depart, delivery=True)
    assert not m.approximate
    for i in range(3):
        assert m.distance_m[i, i] == 0
        for j in range(3):
            if i != j:
                assert m.distance_m[i, j] == round(answer["distances_m"][i][j])
                assert m.duration_s[i, j] == round(answer["durations_s"][i][j])
                assert m.distance_m[i, j] > 0


def test_planner_runs_on_road_matrices(road: RoadNetworkMatrix, bundling_register: Register) -> None:
    doc = scenario_doc(
        receivers=[
            {"id": "r1", "lat": POINTS[1][0], "lon": POINTS[1][1], "window": "08:00-12:00", "days": "Mo"},
            {"id": "r2", "lat": POINTS[2][0], "lon": POINTS[2][1], "window": "08:00-12:00", "days": "Mo"},
        ],
        suppliers=[{"id": "s1", "lat": POINTS[0][0], "lon": POINTS[0][1], "vehicle_class": "van-diesel", "days": "Mo"}],
    )
    doc["hubs"][0].update(lat=52.301, lon=4.699)
    sc = scenario_from_data(doc)
    planner = Planner(sc, AccessOracle(bundling_register), road)
    plan = planner.status_quo()
    [route] = plan.days[0].routes
    assert sorted(route.trips[0]) == ["r1", "r2"]
    assert 0 < route.km < 5
