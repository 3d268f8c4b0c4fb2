"""Routes on tiny hand-made graphs: every restriction kind, windows en route, the only bridge,
destination access, a ZE zone until a date, and exemptions held — all decided by the engine."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from ruas.domain.regulation import ExemptionGrant
from ruas.domain.timeutil import LOCAL_TZ, Interval
from ruas.routing.service import Router
from ruas.rules.engine import RuleBook, zone_decision

MONDAY_8 = datetime(2025, 9, 1, 8, 0, tzinfo=LOCAL_TZ)
MONDAY_20 = datetime(2025, 9, 1, 20, 0, tzinfo=LOCAL_TZ)

# A diamond: the short way A-B-D (4 cells) carries the tags under test; the detour A-C-E-D is 8 cells.
DIAMOND_NODES = {"A": (0, 0), "B": (0, 2), "D": (0, 4), "C": (-2, 0), "E": (-2, 4)}


def diamond(build_graph: Any, tags: dict[str, str]) -> Any:
    return build_graph(DIAMOND_NODES, [(["A", "B", "D"], tags, 30.0), (["A", "C", "E", "D"], {}, 30.0)])


def used_nodes(router: Router, result: Any) -> list[str]:
    names = router.graph.meta["names"]
    edges = [e for leg in result.legs for e in leg.edges]
    return [names[int(router.graph.tail[edges[0]])], *(names[int(router.graph.head[e])] for e in edges)]


EMPTY: list[dict[str, Any]] = []


@pytest.mark.parametrize(
    ("tags", "vehicle", "at", "through"),
    [
        ({"maxweight": "7.5"}, "rigid12", MONDAY_8, False),
        ({"maxweight": "7.5"}, "van", MONDAY_8, True),
        ({"maxweight": "12"}, "rigid12", MONDAY_8, True),  # a limit equal to the TMM lets it pass
        ({"maxaxleload": "5"}, "rigid12", MONDAY_8, False),
        ({"maxaxleload": "5"}, "van", MONDAY_8, True),
        ({"maxheight": "3.5"}, "rigid12", MONDAY_8, False),
        ({"maxheight": "3.5"}, "van", MONDAY_8, True),
        ({"maxwidth": "2.2"}, "rigid12", MONDAY_8, False),
        ({"maxwidth": "2.2"}, "van", MONDAY_8, True),
        ({"maxlength": "10"}, "combi40", MONDAY_8, False),
        ({"maxlength": "10"}, "rigid12", MONDAY_8, True),
        ({"hgv": "no"}, "rigid12", MONDAY_8, False),
        ({"hgv": "no"}, "van", MONDAY_8, True),
        ({"goods": "no"}, "van", MONDAY_8, False),
        ({"goods": "no"}, "rigid12", MONDAY_8, True),
        ({"motor_vehicle": "no"}, "van", MONDAY_8, False),
        ({"motor_vehicle": "no"}, "car", MONDAY_8, False),
        ({"access": "no", "hgv": "yes"}, "rigid12", MONDAY_8, True),  # the most specific key wins
        ({"access": "no", "hgv": "yes"}, "van", MONDAY_8, False),
        ({"access": "private"}, "van", MONDAY_8, False),
        ({"hgv:conditional": "no @ (Mo-Fr 07:00-19:00)"}, "rigid12", MONDAY_8, False),
        ({"hgv:conditional": "no @ (Mo-Fr 07:00-19:00)"}, "rigid12", MONDAY_20, True),
        ({"hgv": "no", "hgv:conditional": "yes @ (Mo-Fr 19:00-22:00)"}, "rigid12", MONDAY_20, True),
        ({"hgv": "no", "hgv:conditional": "yes @ (Mo-Fr 19:00-22:00)"}, "rigid12", MONDAY_8, False),
        ({"maxweight:conditional": "7.5 @ (Mo-Fr 07:00-19:00)"}, "rigid12", MONDAY_8, False),
        ({"maxweight:conditional": "7.5 @ (Mo-Fr 07:00-19:00)"}, "rigid12", MONDAY_20, True),
        ({"maxheight": "default"}, "combi40", MONDAY_8, True),  # OSM-NL: no signed limit
    ],
)
def test_every_restriction_kind(
    build_graph: Any,
    make_book: Any,
    point: Any,
    vehicles: dict[str, Any],
    tags: dict[str, str],
    vehicle: str,
    at: datetime,
    through: bool,
) -> None:
    graph = diamond(build_graph, tags)
    router = Router.build(graph, make_book(EMPTY))
    result = router.route(vehicles[vehicle], [point(graph, "A"), point(graph, "D")], at)
    assert result.found
    assert ("B" in used_nodes(router, result)) is through
    # roads closed to every motor vehicle are closed on the unrestricted comparison route too
    closed_for_cars = tags.get("motor_vehicle") == "no" or tags.get("access") in ("no", "private")
    assert result.explanation["differs"] is (through if closed_for_cars else not through)
    if not through and not closed_for_cars:
        avoided = result.explanation["avoided"]
        assert [a["source"] for a in avoided] == ["osm"]
        assert any(k.split(":")[0] in avoided[0]["name"] for k in tags)
        assert avoided[0]["reasons"][0]["effect"] == "prohibits"


def window_zone(area: Any) -> dict[str, Any]:
    return {
        "id": "win",
        "name": "Delivery window test area",
        "kind": "time_window",
        "authority": "GM0363",
        "authority_name": "Test",
        "geometry": area((-0.5, 9.5, 0.5, 12.5)),
        "regulations": [
            {
                "custom": {
                    "id": "win/window",
                    "name": "loading 07:00-11:00",
                    "kind": "time_window",
                    "subject_label": "motor vehicles only Mo-Sa 07:00-11:00",
                    "subject": {
                        "all": [
                            {"field": "category_group", "op": "in", "value": ["M", "N"]},
                            {"not": {"field": "at", "op": "in_window", "value": "Mo-Sa 07:00-11:00; PH off"}},
                        ]
                    },
                    "legal_source": {"citation": "test"},
                    "exemption_types": ["venstertijd-ontheffing"],
                }
            }
        ],
    }


@pytest.fixture
def window_router(build_graph: Any, make_book: Any, area: Any) -> Router:
    # a slow approach A-B (25 min), then B-W-T inside the window area (the stop T is inside it)
    graph = build_graph(
        {"A": (0, 0), "B": (0, 9), "W": (0, 10), "T": (0, 12)},
        [(["A", "B"], {}, 2.4), (["B", "W", "T"], {}, 30.0)],
    )
    return Router.build(graph, make_book([window_zone(area)]))


def test_window_that_opens_while_en_route(window_router: Router, point: Any, vehicles: dict[str, Any]) -> None:
    graph = window_router.graph
    book: RuleBook = window_router.network.book
    approach_s = float(window_router.graph.time_ms()[0]) / 1000
    depart = datetime(2025, 9, 1, 7, 0, tzinfo=LOCAL_TZ) - timedelta(seconds=approach_s - 120)
    # closed at departure, open when the vehicle gets there two minutes after 07:00
    assert not zone_decision(book, book.zone("win"), vehicles["van"], at=depart).allowed
    result = window_router.route(vehicles["van"], [point(graph, "A"), point(graph, "T")], depart)
    assert result.found
    assert result.waits == []
    assert [z["id"] for z in result.zones] == ["win"]
    assert result.zones[0]["access"] == "allowed"
    assert result.zones[0]["entered_at"].startswith("2025-09-01T07:02")


def test_window_closed_on_arrival_means_waiting_until_it_opens(
    window_router: Router, point: Any, vehicles: dict[str, Any]
) -> None:
    graph = window_router.graph
    approach_s = float(window_router.graph.time_ms()[0]) / 1000
    depart = datetime(2025, 9, 1, 7, 0, tzinfo=LOCAL_TZ) - timedelta(seconds=approach_s + 600)
    result = window_router.route(vehicles["van"], [point(graph, "A"), point(graph, "T")], depart)
    assert result.found
    [wait] = result.waits
    assert wait["seconds"] == pytest.approx(600, abs=1)
    assert wait["until"] == "2025-09-01T07:00:00+02:00"
    assert "Delivery window test area" in wait["reason"]


def test_height_limit_on_the_only_bridge(
    build_graph: Any, make_book: Any, point: Any, vehicles: dict[str, Any]
) -> None:
    graph = build_graph(
        {"W1": (0, 0), "W2": (0, 2), "E1": (0, 4), "E2": (0, 6)},
        [
            (["W1", "W2"], {}, 50.0),
            (["W2", "E1"], {"maxheight": "3.8", "bridge": "yes"}, 50.0),
            (["E1", "E2"], {}, 50.0),
        ],
    )
    router = Router.build(graph, make_book(EMPTY))
    blocked = router.route(vehicles["combi40"], [point(graph, "W1"), point(graph, "E2")], MONDAY_8)
    assert not blocked.found
    expl = blocked.explanation
    assert expl["summary"].startswith("no legal route")
    [rule] = expl["avoided"]
    assert "maxheight" in rule["name"]
    assert "over 3.8" in rule["reasons"][0]["text"]
    assert rule["exemptions_that_would_open_it"] == []
    passes = router.route(vehicles["rigid12"], [point(graph, "W1"), point(graph, "E2")], MONDAY_8)
    assert passes.found
    assert passes.zones and passes.zones[0]["access"] == "allowed"  # the bridge's rule was asked and passed


@pytest.fixture
def destination_graph(build_graph: Any) -> Any:
    # a residential street J1-S1-S2-J2 (hgv=destination) and a longer main road J1-M1-M2-J2
    return build_graph(
        {
            "A": (0, -1),
            "J1": (0, 0),
            "S1": (0, 2),
            "S2": (0, 4),
            "J2": (0, 6),
            "D": (0, 7),
            "M1": (-3, 0),
            "M2": (-3, 6),
        },
        [
            (["A", "J1"], {}, 30.0),
            (["J1", "S1", "S2", "J2"], {"hgv": "destination"}, 30.0),
            (["J1", "M1", "M2", "J2"], {}, 50.0),
            (["J2", "D"], {}, 30.0),
        ],
    )


def test_destination_access_only_for_a_stop_on_the_street(
    destination_graph: Any, make_book: Any, point: Any, vehicles: dict[str, Any]
) -> None:
    router = Router.build(destination_graph, make_book(EMPTY))
    through = router.route(
        vehicles["rigid12"], [point(destination_graph, "A"), point(destination_graph, "D")], MONDAY_8
    )
    assert "S1" not in used_nodes(router, through)
    assert "destination" in through.explanation["avoided"][0]["name"]
    to_stop = router.route(
        vehicles["rigid12"], [point(destination_graph, "A"), point(destination_graph, "S2")], MONDAY_8
    )
    assert used_nodes(router, to_stop) == ["A", "J1", "S1", "S2"]
    van = router.route(vehicles["van"], [point(destination_graph, "A"), point(destination_graph, "D")], MONDAY_8)
    assert "S1" in used_nodes(router, van)  # hgv=destination does not concern goods vehicles up to 3.5 t


def ze_zone(area: Any) -> dict[str, Any]:
    return {
        "id": "ze-test",
        "name": "ZE test zone",
        "kind": "zero_emission",
        "authority": "GM0363",
        "authority_name": "Test",
        "geometry": area((-0.5, 11.5, 0.5, 12.5)),
        "regulations": [{"framework": "nl-ze-zone", "start": "2025-01-01", "legal_source": {"citation": "test-ze"}}],
    }


@pytest.mark.parametrize(
    ("depart", "through"),
    [
        (datetime(2027, 12, 31, 23, 56, tzinfo=LOCAL_TZ), True),  # enters the zone before 2028-01-01
        (datetime(2027, 12, 31, 23, 59, tzinfo=LOCAL_TZ), False),  # would enter it after midnight
        (datetime(2028, 3, 1, 12, 0, tzinfo=LOCAL_TZ), False),
    ],
)
def test_ze_zone_the_vehicle_may_enter_until_a_date(
    build_graph: Any, make_book: Any, area: Any, point: Any, vehicles: dict[str, Any], depart: datetime, through: bool
) -> None:
    # approach A-A0 (10 cells, about 2 min at 30 km/h), then the short way A0-B-D through the zone at B
    nodes = {"A": (0, 0), "A0": (0, 10), "B": (0, 12), "D": (0, 14), "C": (-2, 10), "E": (-2, 14)}
    graph = build_graph(
        nodes,
        [(["A", "A0"], {}, 30.0), (["A0", "B", "D"], {}, 30.0), (["A0", "C", "E", "D"], {}, 30.0)],
    )
    router = Router.build(graph, make_book([ze_zone(area)]))
    result = router.route(vehicles["van"], [point(graph, "A"), point(graph, "D")], depart)
    assert result.found
    assert ("B" in used_nodes(router, result)) is through
    if through:
        [zone] = result.zones
        assert zone["id"] == "ze-test"
        assert zone["allowed_until"] == "2028-01-01T00:00:00+01:00"
        assert "transition rule" in zone["reasons"][0]["text"]
    else:
        [avoided] = result.explanation["avoided"]
        assert avoided["id"] == "ze-test"
        assert avoided["exemptions_that_would_open_it"]  # ZE exemption types this van is eligible for


def heavy_zone(area: Any) -> dict[str, Any]:
    return {
        "id": "heavy",
        "name": "Heavy vehicles need an exemption",
        "kind": "vehicle_restriction",
        "authority": "GM0363",
        "authority_name": "Test",
        "geometry": area((-0.5, 1.5, 0.5, 2.5)),
        "regulations": [
            {
                "custom": {
                    "id": "heavy/over-7.5t",
                    "name": "over 7.5 t",
                    "subject_label": "goods vehicles over 7,500 kg need an exemption",
                    "subject": {"field": "max_mass_kg", "op": "gt", "value": 7500},
                    "legal_source": {"citation": "test"},
                    "exemption_types": ["ams-ontheffing-zwaar"],
                }
            }
        ],
    }


def test_an_exemption_held_opens_the_blocked_road_and_is_named_when_missing(
    build_graph: Any, make_book: Any, area: Any, point: Any, vehicles: dict[str, Any]
) -> None:
    graph = build_graph({"A": (0, 0), "B": (0, 2), "D": (0, 4)}, [(["A", "B", "D"], {}, 30.0)])
    router = Router.build(graph, make_book([heavy_zone(area)]))
    truck = vehicles["rigid12"]
    without = router.route(truck, [point(graph, "A"), point(graph, "D")], MONDAY_8)
    assert not without.found
    [rule] = without.explanation["avoided"]
    assert [x["type_id"] for x in rule["exemptions_that_would_open_it"]] == ["ams-ontheffing-zwaar"]
    assert "ams-ontheffing-zwaar" in [x["type_id"] for x in rule["exemptions"]]
    grant = ExemptionGrant(
        id="g1",
        type_id="ams-ontheffing-zwaar",
        plate="VQ123B",
        validity=Interval(datetime(2025, 1, 1, tzinfo=LOCAL_TZ), datetime(2026, 1, 1, tzinfo=LOCAL_TZ)),
    )
    held = router.route(truck, [point(graph, "A"), point(graph, "D")], MONDAY_8, grants=[grant])
    assert held.found
    assert held.zones[0]["access"] == "allowed_with_exemption"


def test_via_points_are_visited_in_order(
    build_graph: Any, make_book: Any, point: Any, vehicles: dict[str, Any]
) -> None:
    graph = diamond(build_graph, {})
    router = Router.build(graph, make_book(EMPTY))
    result = router.route(vehicles["van"], [point(graph, "A"), point(graph, "C"), point(graph, "B")], MONDAY_8)
    assert used_nodes(router, result) == ["A", "C", "A", "B"]
    assert len(result.legs) == 2
    assert result.duration_s == pytest.approx(result.legs[-1].arrive_ms / 1000)


def test_a_point_far_from_every_road_is_refused(build_graph: Any, make_book: Any, vehicles: dict[str, Any]) -> None:
    from ruas.domain.errors import InvalidInput

    graph = diamond(build_graph, {})
    router = Router.build(graph, make_book(EMPTY))
    with pytest.raises(InvalidInput, match=r"to .* km from the nearest road"):
        router.route(vehicles["van"], [(52.0, 5.0), (52.5, 5.0)], MONDAY_8)


def test_a_naive_departure_is_refused(build_graph: Any, make_book: Any, point: Any, vehicles: dict[str, Any]) -> None:
    from ruas.domain.errors import InvalidInput

    graph = diamond(build_graph, {})
    router = Router.build(graph, make_book(EMPTY))
    with pytest.raises(InvalidInput, match="depart must be timezone-aware"):
        router.route(vehicles["van"], [point(graph, "A"), point(graph, "D")], datetime(2025, 9, 1, 8, 0))
