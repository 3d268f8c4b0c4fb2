"""Variants and KPIs: a three-stop case computed by hand, access from the engine, and when bundling (not) pays."""

from __future__ import annotations

from typing import Any

import pytest
from bundling_kit import DAM, E_VAN, FixedMatrix, scenario_doc, vehicle_class

from ruas.bundling.access import AccessOracle
from ruas.bundling.matrix import StraightLineMatrix
from ruas.bundling.plan import Planner
from ruas.bundling.report import analyse, markdown
from ruas.bundling.scenario import Scenario, ScenarioError, scenario_from_data
from ruas.register.store import Register

ORIGIN, A, B, C, H = (52.40, 5.30), (52.51, 5.47), (52.52, 5.48), (52.53, 5.49), (52.50, 5.50)
KM = 1000


@pytest.fixture
def three_stops() -> Scenario:
    """One diesel-van supplier (O, outside the city) and three receivers A, B, C whose windows force the order."""
    doc = scenario_doc(
        receivers=[
            {"id": "A", "lat": A[0], "lon": A[1], "window": "08:00-08:05", "service_min": 10, "days": "Mo"},
            {"id": "B", "lat": B[0], "lon": B[1], "window": "08:15-08:20", "service_min": 10, "days": "Mo"},
            {"id": "C", "lat": C[0], "lon": C[1], "window": "08:30-08:35", "service_min": 10, "days": "Mo"},
        ],
        suppliers=[{"id": "s1", "lat": ORIGIN[0], "lon": ORIGIN[1], "vehicle_class": "van-diesel", "days": "Mo"}],
        demand=[{"receiver": r, "supplier": "s1", "weekly_kg": 100, "weekly_m3": 1} for r in "ABC"],
        hubs=[
            {
                "id": "h1",
                "lat": H[0],
                "lon": H[1],
                "hours": "06:00-18:00",
                "capacity_kg_per_day": 5000,
                "capacity_m3_per_day": 50,
                "load_min": 10,
            }
        ],
        city={"name": "city", "polygon": [[5.45, 52.45], [5.55, 52.45], [5.55, 52.55], [5.45, 52.55]]},
        areas=[
            {
                "id": "b-only",
                "name": "around B",
                "polygon": [[5.475, 52.515], [5.485, 52.515], [5.485, 52.525], [5.475, 52.525]],
            }
        ],
    )
    return scenario_from_data(doc, "three.yaml")


@pytest.fixture
def three_stop_matrix() -> FixedMatrix:
    """Symmetric distances (m) and times (s) between O, A, B, C and the hub H."""
    d = {
        ("O", "A"): 10 * KM,
        ("O", "B"): 11 * KM,
        ("O", "C"): 12 * KM,
        ("A", "B"): 2 * KM,
        ("A", "C"): 4 * KM,
        ("B", "C"): 3 * KM,
        ("O", "H"): 9 * KM,
        ("H", "A"): 3 * KM,
        ("H", "B"): 4 * KM,
        ("H", "C"): 5 * KM,
    }
    t = {
        ("O", "A"): 1200,
        ("O", "B"): 1300,
        ("O", "C"): 1400,
        ("A", "B"): 300,
        ("A", "C"): 500,
        ("B", "C"): 400,
        ("O", "H"): 900,
        ("H", "A"): 400,
        ("H", "B"): 500,
        ("H", "C"): 600,
    }
    names = "OABCH"
    pts = [ORIGIN, A, B, C, H]

    def full(m: dict[tuple[str, str], int]) -> list[list[int]]:
        return [[0 if a == b else m.get((a, b), m.get((b, a), 0)) for b in names] for a in names]

    return FixedMatrix(pts, full(d), full(t))


def test_status_quo_kpis_for_three_stops_by_hand(
    three_stops: Scenario, three_stop_matrix: FixedMatrix, bundling_register: Register
) -> None:
    plan = Planner(three_stops, AccessOracle(bundling_register), three_stop_matrix).status_quo()
    [day] = plan.days
    [route] = day.routes
    assert route.trips == (("A", "B", "C"),)
    # by hand: O-A-B-C-O = 10 + 2 + 3 + 12 = 27 km; leave 07:40, A 08:00-08:10, B 08:15-08:25,
    # C 08:31:40-08:41:40, back at O 09:05:00 -> 5,100 s
    assert route.km == pytest.approx(27.0)
    assert route.hours == pytest.approx(5100 / 3600)
    assert route.cost_eur == pytest.approx(27 * 0.30 + 5100 / 3600 * 45)  # = 71.85
    assert route.co2_kg == pytest.approx(27 * 310 / 1000)  # van-diesel-euro6: 310 g/km well-to-wheel
    assert route.nox_g == pytest.approx(27 * 0.35)
    assert route.movements == {"city": 1, "area:b-only": 1}
    totals = plan.totals()
    assert totals.cost_eur == pytest.approx(71.85)
    assert totals.drops == 3
    assert totals.unserved == 0


def test_bundled_line_haul_and_last_mile_by_hand(
    three_stops: Scenario, three_stop_matrix: FixedMatrix, bundling_register: Register
) -> None:
    hub = three_stops.hub("h1")
    plan = Planner(three_stops, AccessOracle(bundling_register), three_stop_matrix).bundled(hub)
    [day] = plan.days
    haul = [r for r in day.routes if r.role == "linehaul"]
    assert len(haul) == 1
    assert haul[0].km == pytest.approx(18.0)  # O-H-O
    assert haul[0].hours == pytest.approx((900 + 900 + 600) / 3600)  # both ways plus 10 min at the hub
    assert haul[0].movements["city"] == 1
    last = [r for r in day.routes if r.role == "last_mile"]
    assert [r.vehicle_class for r in last] == ["e-van"]
    assert last[0].trips == (("A", "B", "C"),)
    assert last[0].km == pytest.approx(3 + 2 + 3 + 5)  # H-A-B-C-H
    assert last[0].co2_kg == pytest.approx(13 * 131 / 1000)
    assert last[0].nox_g == 0
    assert last[0].movements["city"] == 0  # the hub is inside the city already


def test_ze_zone_refuses_the_diesel_van_and_the_bundled_fleet_uses_the_e_van(bundling_register: Register) -> None:
    doc = scenario_doc(
        scenario={"id": "ams", "name": "Amsterdam 2031", "week_of": "2031-03-03"},
        receivers=[
            {"id": "dam", "lat": DAM[0], "lon": DAM[1], "window": "08:00-12:00", "days": "Mo"},
            {"id": "outside", "lat": 52.30, "lon": 4.70, "window": "08:00-12:00", "days": "Mo"},
        ],
        suppliers=[{"id": "s1", "lat": 52.25, "lon": 4.75, "vehicle_class": "van-diesel", "days": "Mo"}],
        demand=[
            {"receiver": "dam", "supplier": "s1", "weekly_kg": 100, "weekly_m3": 1},
            {"receiver": "outside", "supplier": "s1", "weekly_kg": 100, "weekly_m3": 1},
        ],
        hubs=[
            {
                "id": "h1",
                "lat": 52.35,
                "lon": 4.80,
                "hours": "06:00-18:00",
                "capacity_kg_per_day": 5000,
                "capacity_m3_per_day": 50,
            }
        ],
        hub_fleet=[{"vehicle_class": "van-diesel", "count": 2}, {"vehicle_class": "e-van", "count": 1}],
    )
    sc = scenario_from_data(doc)
    planner = Planner(sc, AccessOracle(bundling_register), StraightLineMatrix())
    sq = planner.status_quo()
    [refused] = [u for d in sq.days for u in d.unserved]
    assert refused.receiver == "dam"
    assert refused.access is not None and not refused.access.allowed
    assert "ZE Amsterdam" in refused.reason
    assert refused.access.allowed_from is None  # no date known when a diesel van may enter again
    assert all("dam" not in t for d in sq.days for r in d.routes for t in r.trips)
    bundled = planner.bundled(sc.hub("h1"))
    assert not [u for d in bundled.days for u in d.unserved]
    for r in (r for d in bundled.days for r in d.routes if r.role == "last_mile"):
        if any("dam" in t for t in r.trips):
            assert r.vehicle_class == "e-van"
    assert any(k.startswith("zone:") for k in planner.areas.names)


def test_a_stop_no_fleet_vehicle_may_serve_is_reported_unserved(bundling_register: Register) -> None:
    doc = scenario_doc(
        scenario={"id": "ams", "name": "Amsterdam 2031", "week_of": "2031-03-03"},
        receivers=[{"id": "dam", "lat": DAM[0], "lon": DAM[1], "window": "08:00-12:00", "days": "Mo"}],
        suppliers=[{"id": "s1", "lat": 52.25, "lon": 4.75, "vehicle_class": "van-diesel", "days": "Mo"}],
        demand=[{"receiver": "dam", "supplier": "s1", "weekly_kg": 100, "weekly_m3": 1}],
        hub_fleet=[{"vehicle_class": "van-diesel", "count": 1}],
    )
    sc = scenario_from_data(doc)
    plan = Planner(sc, AccessOracle(bundling_register), StraightLineMatrix()).bundled(sc.hub("h1"))
    [u] = [u for d in plan.days for u in d.unserved]
    assert u.receiver == "dam" and "no vehicle of the hub fleet" in u.reason


def test_large_loads_are_split_into_drops_that_fit(bundling_register: Register) -> None:
    doc = scenario_doc(
        demand=[
            {"receiver": "r1", "supplier": "s1", "weekly_kg": 2000, "weekly_m3": 5},
            {"receiver": "r2", "supplier": "s1", "weekly_kg": 100, "weekly_m3": 1},
        ],
        hub_fleet=[{"vehicle_class": "e-van", "count": 4}],
    )
    sc = scenario_from_data(doc)
    plan = Planner(sc, AccessOracle(bundling_register), StraightLineMatrix()).bundled(sc.hub("h1"))
    keys = sorted(k for d in plan.days for r in d.routes for t in r.trips for k in t)
    assert keys == ["r1#1", "r1#2", "r1#3", "r2"]  # 2,000 kg over e-vans of 800 kg: three drops of 667 kg
    assert plan.feasible


def test_hub_capacity_overflow_is_a_problem(bundling_register: Register) -> None:
    doc = scenario_doc()
    doc["hubs"][0]["capacity_kg_per_day"] = 150
    sc = scenario_from_data(doc)
    plan = Planner(sc, AccessOracle(bundling_register), StraightLineMatrix()).bundled(sc.hub("h1"))
    assert not plan.feasible
    assert "capacity exceeded" in plan.days[0].problems[0]


def test_unknown_emission_factor_names_the_class(bundling_register: Register) -> None:
    sc = scenario_from_data(scenario_doc(vehicle_classes=[vehicle_class(emission_factor="unicorn"), E_VAN]))
    with pytest.raises(ScenarioError, match="'van-diesel', field 'emission_factor'"):
        Planner(sc, AccessOracle(bundling_register), StraightLineMatrix())


def _supplier_doc(n_suppliers: int, hub: dict[str, Any], fleet: list[dict[str, Any]]) -> dict[str, Any]:
    receivers = [
        {
            "id": f"r{i}",
            "lat": 52.505 + 0.004 * (i % 3),
            "lon": 5.465 + 0.005 * (i // 3),
            "window": "07:00-17:00",
            "days": "Mo-Fr",
            "service_min": 10,
        }
        for i in range(6)
    ]
    suppliers = [
        {"id": f"s{j}", "lat": 52.10 + 0.05 * j, "lon": 5.00 + 0.06 * j, "vehicle_class": "van-diesel", "days": "Mo-Fr"}
        for j in range(n_suppliers)
    ]
    demand = [
        {"receiver": r["id"], "supplier": s["id"], "weekly_kg": 25, "weekly_m3": 0.25}
        for r in receivers
        for s in suppliers
    ]
    return scenario_doc(receivers=receivers, suppliers=suppliers, demand=demand, hubs=[hub], hub_fleet=fleet)


def test_bundling_that_does_not_pay_is_reported_as_such(bundling_register: Register) -> None:
    # one supplier already delivers everything in one round; a far hub with a daily fee only adds cost
    hub = {
        "id": "far",
        "lat": 52.80,
        "lon": 5.90,
        "hours": "06:00-18:00",
        "capacity_kg_per_day": 9000,
        "capacity_m3_per_day": 90,
        "fixed_cost_per_day_eur": 150,
    }
    sc = scenario_from_data(_supplier_doc(1, hub, [{"vehicle_class": "e-van", "count": 2}]))
    report = analyse(sc, bundling_register, sensitivity=False)
    assert report.comparison is not None
    assert report.comparison.pays is False
    assert "does not pay" in report.comparison.verdict
    data = report.to_data()
    assert data["comparison"]["pays"] is False
    assert data["comparison"]["cost_eur"]["change"] > 0
    assert "does not pay" in markdown(report)


def test_bundling_many_suppliers_via_a_city_hub_pays(bundling_register: Register) -> None:
    hub = {
        "id": "edge",
        "lat": 52.50,
        "lon": 5.46,
        "hours": "06:00-18:00",
        "capacity_kg_per_day": 9000,
        "capacity_m3_per_day": 90,
        "fixed_cost_per_day_eur": 20,
    }
    sc = scenario_from_data(_supplier_doc(6, hub, [{"vehicle_class": "e-van", "count": 2}]))
    report = analyse(sc, bundling_register, sensitivity=False)
    assert report.comparison is not None and report.comparison.pays
    sq, bu = report.status_quo.totals(), report.bundled.totals() if report.bundled else None
    assert bu is not None
    assert bu.drops < sq.drops  # one drop per receiver a day instead of one per supplier
    assert bu.nox_g < sq.nox_g


def test_lelystad_example_runs_and_says_it_is_illustrative(bundling_register: Register) -> None:
    from ruas.bundling.cli import resolve_scenario

    sc = resolve_scenario("example:lelystad")
    report = analyse(sc, bundling_register, time_limit_s=0.5, sensitivity=False)
    data = report.to_data(routes=False)
    assert data["scenario"]["illustrative"] is True
    assert data["travel_matrix"]["approximate"] is True
    assert {v["variant"] for v in data["variants"]} == {"status_quo", "bundled", "concession"}
    assert len(data["sensitivity"]["hubs"]) == 3
    assert [d["day"] for d in data["variants"][0]["days"]] == ["Mo", "Tu", "We", "Th", "Fr"]
    text = markdown(report)
    assert "ILLUSTRATIVE" in text and "approximation" in text
    assert all(f["co2_source"] and f["year"] for f in data["emission_factors"])


@pytest.mark.parametrize(
    ("over", "words"),
    [({"category": "N9"}, "category 'N9' is not one of"), ({"mass_kg": None}, "missing --mass")],
)
def test_a_vehicle_class_the_check_service_refuses_is_named(
    over: dict[str, Any], words: str, bundling_register: Register
) -> None:
    sc = scenario_from_data(scenario_doc(vehicle_classes=[vehicle_class(**over), E_VAN]), "plan.yaml")
    with pytest.raises(ScenarioError) as info:
        Planner(sc, AccessOracle(bundling_register), StraightLineMatrix())
    assert info.value.message.startswith("plan.yaml, vehicle class 'van-diesel': ")
    assert words in info.value.message
