"""Policy-impact simulation: replays on hand-written records, decided by the rules engine in force and in draft."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flows_support import (
    CAR,
    DIESEL_VAN_4,
    DIESEL_VAN_5,
    ELECTRIC_VAN,
    OSDORP,
    RIGID_6,
    ZE_AMS,
    WriteRecords,
    local,
    record,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ruas.domain.errors import InvalidInput
from ruas.flows.cube import FlowsData
from ruas.flows.simulate import Scenario, Simulation, simulate
from ruas.register.store import Register

DAY = date(2025, 9, 9)  # Tuesday
NEXT = date(2025, 9, 10)


def ze_rows() -> list[dict[str, Any]]:
    """ZE Amsterdam: 12 class-4 diesel vans (refused), 10 class-5 vans (transition rule), 11 electric vans,
    11 rigid 12 t trucks; one foreign plate."""
    rows = []
    for i in range(12):
        rows.append(record(local(DAY, 7 + i % 6, i), "CAM-1", ZE_AMS, f"a{i:02d}", DIESEL_VAN_4, "violation"))
    for i in range(10):
        rows.append(record(local(DAY, 9, i), "CAM-1", ZE_AMS, f"b{i:02d}", DIESEL_VAN_5, "exempt", "ze-van-class5"))
    for i in range(11):
        rows.append(record(local(DAY, 10, i), "CAM-2", ZE_AMS, f"c{i:02d}", ELECTRIC_VAN, "compliant"))
    for i in range(11):
        rows.append(record(local(DAY, 11, i), "CAM-2", ZE_AMS, f"r{i:02d}", RIGID_6, "exempt", "ze-rigid-class6-2020"))
    rows.append(record(local(DAY, 8), "CAM-1", ZE_AMS, None, None, "not_enforceable", "foreign_plate"))
    return rows


def osdorp_rows() -> list[dict[str, Any]]:
    """Osdorpplein (window Mo-Sa 07:00-11:00): vans and cars at every half hour from 05:00 to 14:30."""
    rows = []
    k = 0
    for hour in range(5, 15):
        for minute in (0, 30):
            for profile in (DIESEL_VAN_5, CAR):
                outcome = "compliant" if 7 <= hour < 11 else "violation"
                rows.append(record(local(DAY, hour, minute), "CAM-O", OSDORP, f"o{k:03d}", profile, outcome))
                k += 1
    return rows


@pytest.fixture
def register(data_dir: Path, write_records: WriteRecords) -> Register:
    write_records(DAY, ze_rows() + osdorp_rows())
    return Register.open(data_dir)


def record_of(register: Register, zone_id: str) -> dict[str, Any]:
    return copy.deepcopy(next(r for r in register.records if r["id"] == zone_id))


def run(register: Register, zone_id: str, draft: dict[str, Any]) -> Simulation:
    return simulate(register, FlowsData(register.path), Scenario(zone_id, draft, DAY, NEXT))


def refused_set(sim: Simulation, column: str = "state_draft") -> set[tuple[str, object]]:
    f = sim.passages.filter(sim.passages.get_column(column) == "refused")
    return set(zip(f.get_column("pseudonym").to_list(), f.get_column("at").to_list(), strict=True))


@pytest.mark.parametrize("zone_id", [ZE_AMS, OSDORP])
def test_a_draft_identical_to_the_rules_in_force_changes_nothing(register: Register, zone_id: str) -> None:
    sim = run(register, zone_id, record_of(register, zone_id))
    assert (sim.passages.get_column("state_now") == sim.passages.get_column("state_draft")).all()
    figures = sim.figures()
    assert figures["in_force"] == figures["draft"]
    data = sim.to_data(1)
    assert data["newly_refused"] == {"passages": 0, "vehicles": 0}
    assert data["no_longer_refused"] == {"passages": 0, "vehicles": 0}
    assert all(row["change_passages"] == 0 for row in data["comparison"])
    ze = data["zero_emission_share"]
    assert ze["in_force"] == ze["draft_expected"]


def test_replay_in_force_agrees_with_the_recorded_verdicts(register: Register) -> None:
    sim = run(register, ZE_AMS, record_of(register, ZE_AMS))
    assert sim.not_evaluated == 1  # the foreign plate
    assert sim.fidelity == 1.0
    f = sim.figures()["in_force"]
    assert f["in_zone"] == (44, 44)
    assert f["refused"] == (12, 12)
    assert f["zero_emission"] == (11, 11)
    assert {c["clause"] for c in sim.clauses()} == {"ze-van-class5", "ze-rigid-class6-2017"}


def test_an_earlier_end_date_lifts_every_refusal(register: Register) -> None:
    draft = record_of(register, ZE_AMS)
    draft["regulations"][0]["end"] = "2025-09-01T00:00:00+02:00"
    data = run(register, ZE_AMS, draft).to_data(1)
    assert data["no_longer_refused"] == {"passages": 12, "vehicles": 12}
    refused = next(r for r in data["comparison"] if r["metric"] == "refused")
    assert (refused["in_force"]["passages"], refused["draft"]["passages"]) == (12, 0)


def test_a_weight_limit_refuses_the_heavy_trucks_and_lists_their_exemption(register: Register) -> None:
    draft = record_of(register, ZE_AMS)
    draft["regulations"].append(
        {
            "custom": {
                "id": "ze-ams-draft/over-7.5t",
                "name": "draft weight limit",
                "kind": "vehicle_restriction",
                "subject_label": "goods vehicles over 7,500 kg",
                "subject": {"all": [
                    {"field": "category_group", "op": "eq", "value": "N"},
                    {"field": "max_mass_kg", "op": "gt", "value": 7500},
                ]},
                "legal_source": {"citation": "draft"},
                "exemption_types": ["ams-ontheffing-zwaar"],
            }
        }
    )  # fmt: skip
    sim = run(register, ZE_AMS, draft)
    data = sim.to_data(10)
    assert data["newly_refused"] == {"passages": 11, "vehicles": 11}
    assert data["breakdowns"]["class_newly_refused"]["columns"] == ["rigid"]
    assert data["breakdowns"]["class_newly_refused"]["passages"] == [11]
    assert data["breakdowns"]["hour_newly_refused"]["passages"][11] == 11
    eligible = {e["type_id"]: e["newly_refused_vehicles"] for e in data["eligible_exemptions"]}
    assert eligible.get("ams-ontheffing-zwaar") == 11
    # fewer than 10 vehicles are withheld
    small = sim.to_data(12)
    assert small["newly_refused"] == {"passages": None, "vehicles": None}


def test_a_narrower_window_refuses_more_and_the_ze_share_is_expected_to_rise(register: Register) -> None:
    draft = record_of(register, OSDORP)
    subject = draft["regulations"][0]["custom"]["subject"]["all"][1]["not"]
    subject["value"] = "Mo-Sa 08:00-10:00; PH off"
    sim = run(register, OSDORP, draft)
    data = sim.to_data(1)
    # 07:00-07:59 and 10:00-10:59: 2 half hours x 2 vehicles each, twice
    assert data["newly_refused"] == {"passages": 8, "vehicles": 8}
    assert refused_set(sim, "state_now") <= refused_set(sim)


def window(start: int, end: int) -> str:
    return f"Mo-Su {start:02d}:00-{end:02d}:00"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    start=st.integers(min_value=4, max_value=12),
    length=st.integers(min_value=1, max_value=6),
    wider_before=st.integers(min_value=0, max_value=3),
    wider_after=st.integers(min_value=0, max_value=3),
)
def test_widening_a_window_never_increases_refusals(
    register: Register, start: int, length: int, wider_before: int, wider_after: int
) -> None:
    def draft(w: str) -> dict[str, Any]:
        d = record_of(register, OSDORP)
        d["regulations"][0]["custom"]["subject"]["all"][1]["not"]["value"] = w
        return d

    end = min(start + length, 23)
    narrow = run(register, OSDORP, draft(window(start, end)))
    wide = run(register, OSDORP, draft(window(max(start - wider_before, 0), min(end + wider_after, 24))))
    assert refused_set(wide) <= refused_set(narrow)
    n, w = narrow.figures()["draft"]["refused"], wide.figures()["draft"]["refused"]
    assert w[0] <= n[0] and w[1] <= n[1]


def test_a_zone_extension_takes_in_the_cameras_inside_the_new_area(register: Register) -> None:
    from ruas.flows.simulate import CameraPoint

    # Osdorpplein's camera sits just outside the area; the draft area is grown to take it in
    cams = [CameraPoint("CAM-O", 52.3570, 4.8000, (OSDORP,)), CameraPoint("CAM-FAR", 52.40, 4.95, (ZE_AMS,))]
    draft = record_of(register, OSDORP)
    sim_same = simulate(register, FlowsData(register.path), Scenario(OSDORP, draft, DAY, NEXT), cameras=cams)
    assert sim_same.cameras_draft == ("CAM-O",)
    draft["geometry"] = {
        "type": "Polygon",
        "coordinates": [
            [[4.7975, 52.3560], [4.8035, 52.3560], [4.8035, 52.3605], [4.7975, 52.3605], [4.7975, 52.3560]]
        ],
    }
    smaller = copy.deepcopy(draft)
    ring = [[4.7990, 52.3590], [4.8000, 52.3590], [4.8000, 52.3600], [4.7990, 52.3600], [4.7990, 52.3590]]
    smaller["geometry"]["coordinates"] = [ring]
    grown = simulate(register, FlowsData(register.path), Scenario(OSDORP, draft, DAY, NEXT), cameras=cams)
    assert grown.cameras_draft == ("CAM-O",)
    shrunk = simulate(register, FlowsData(register.path), Scenario(OSDORP, smaller, DAY, NEXT), cameras=cams)
    assert shrunk.cameras_draft == ()
    assert shrunk.figures()["draft"]["in_zone"] == (0, 0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"start": NEXT, "end": DAY}, "until"),
        ({"start": date(2025, 1, 1), "end": date(2025, 6, 1)}, "until"),
        ({"buffer_m": -1.0}, "buffer_m"),
    ],
)
def test_bad_scenarios_name_the_field(kwargs: dict[str, Any], field: str) -> None:
    base: dict[str, Any] = {"zone_id": OSDORP, "draft": {"id": OSDORP}, "start": DAY, "end": NEXT}
    with pytest.raises(InvalidInput) as exc:
        Scenario(**{**base, **kwargs})
    assert exc.value.details["field"] == field
