"""Scenario files: the shipped example loads; every validation error names the file, the row or line, the field."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from bundling_kit import scenario_doc
from hypothesis import given
from hypothesis import strategies as st

from ruas.bundling.cli import resolve_scenario
from ruas.bundling.scenario import (
    ScenarioError,
    Window,
    load_scenario,
    parse_days,
    parse_window,
    scenario_from_data,
    scenario_from_text,
)


def test_lelystad_example_is_marked_illustrative_and_reads_its_csv() -> None:
    sc = resolve_scenario("example:lelystad")
    assert sc.illustrative
    assert "not" in sc.notice.lower()
    assert {r.organisation for r in sc.receivers} >= {"Rechtbank", "Gemeente Lelystad", "Rijkswaterstaat"}
    assert len(sc.demand) == 40  # rows of demand.csv
    assert sc.week_of.weekday() == 0
    paper = sc.supplier("paper-print")
    assert paper.days == ("We",)  # deliveries_per_week: 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("08:00-12:00", Window(8 * 3600, 12 * 3600)),
        ("00:00-24:00", Window(0, 86400)),
        ("7:30 - 9:05", Window(7 * 3600 + 1800, 9 * 3600 + 300)),
    ],
)
def test_parse_window(text: str, expected: Window) -> None:
    assert parse_window(text) == expected


@pytest.mark.parametrize("text", ["12:00-08:00", "08:00-08:00", "24:01-25:00", "8-12", "08:00", "08:60-09:00"])
def test_parse_window_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_window(text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("Mo-Fr", ("Mo", "Tu", "We", "Th", "Fr")), ("We,Mo", ("Mo", "We")), (["sa", "Su"], ("Sa", "Su"))],
)
def test_parse_days(value: Any, expected: tuple[str, ...]) -> None:
    assert parse_days(value) == expected


def _error(doc: dict[str, Any]) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        scenario_from_data(doc, "plan.yaml")
    return info.value


def _with(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(scenario_doc())
    target: Any = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value", "row", "field", "words"),
    [
        (("receivers", 1, "lat"), "north", "receivers[1]", "lat", "not a number"),
        (("receivers", 0, "lat"), 95, "receivers[0]", "lat", "outside"),
        (("receivers", 0, "window"), "12:00-08:00", "receivers[0]", "window", "ends before it starts"),
        (("receivers", 0, "days"), "Mo-Xx", "receivers[0]", "days", "day range"),
        (("suppliers", 0, "vehicle_class"), "zeppelin", "suppliers[0]", "vehicle_class", "unknown vehicle class"),
        (("suppliers", 0, "days"), "Sa", "demand[0]", "supplier", "receives only on"),
        (("demand", 1, "supplier"), "s9", "demand[1]", "supplier", "unknown supplier"),
        (("demand", 0, "weekly_kg"), -5, "demand[0]", "weekly_kg", ">= 0"),
        (("hubs", 0, "capacity_kg_per_day"), 0, "hubs[0]", "capacity_kg_per_day", "positive"),
        (("vehicle_classes", 0, "capacity_m3"), None, "vehicle_classes[0]", "capacity_m3", "required"),
        (("vehicle_classes", 0, "emission_class"), None, "vehicle_classes[0]", "emission_class", "combustion"),
        (("scenario", "week_of"), "2026-03-03", "scenario", "week_of", "not a Monday"),
        (("hub_fleet", 0, "count"), 0, "hub_fleet[0]", "count", ">= 1"),
    ],
)
def test_validation_errors_name_file_row_and_field(
    path: tuple[Any, ...], value: Any, row: str, field: str, words: str
) -> None:
    exc = _error(_with(path, value))
    assert exc.details["file"] == "plan.yaml"
    assert exc.details["row"] == row
    assert exc.details["field"] == field
    assert words in exc.message
    assert exc.message.startswith(f"plan.yaml, {row}, field '{field}'")


def test_duplicate_ids_name_both_rows() -> None:
    doc = scenario_doc()
    doc["receivers"].append(dict(doc["receivers"][0]))
    exc = _error(doc)
    assert exc.details["row"] == "receivers[2]"
    assert "receivers[0]" in exc.message


def test_missing_section_is_named() -> None:
    doc = scenario_doc()
    del doc["demand"]
    exc = _error(doc)
    assert "'demand' is required" in exc.message


def test_csv_errors_name_the_csv_file_and_line(tmp_path: Path) -> None:
    doc = scenario_doc(demand="demand.csv")
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump(doc))
    (tmp_path / "demand.csv").write_text(
        "receiver;supplier;weekly_kg;weekly_m3\nr1;s1;100;1\nr2;s1;veel;1\n", encoding="utf-8"
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "plan.yaml")
    exc = info.value
    assert exc.details == {"file": "demand.csv", "row": "line 3", "line": 3, "field": "weekly_kg", "value": "veel"}
    assert exc.message == "demand.csv, line 3, field 'weekly_kg': 'veel' is not a number"


def test_csv_with_decimal_commas_and_semicolons_loads(tmp_path: Path) -> None:
    doc = scenario_doc(demand="demand.csv")
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump(doc))
    (tmp_path / "demand.csv").write_text(
        "\ufeffreceiver;supplier;weekly_kg;weekly_m3\nr1;s1;100,5;1,25\nr2;s1;20;0,5\n", encoding="utf-8"
    )
    sc = load_scenario(tmp_path / "plan.yaml")
    assert sc.demand[0].weekly_kg == 100.5
    assert sc.demand[0].weekly_m3 == 1.25


def test_missing_csv_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump(scenario_doc(receivers="ontvangers.csv")))
    with pytest.raises(ScenarioError, match=r"'ontvangers\.csv' not found"):
        load_scenario(tmp_path / "plan.yaml")


@pytest.mark.parametrize("reference", ["../outside.csv", "/etc/passwd", "sub/../../outside.csv"])
def test_csv_references_may_not_leave_the_scenario_folder(tmp_path: Path, reference: str) -> None:
    """An untrusted scenario must not read files outside its own folder (nor show their content in errors)."""
    folder = tmp_path / "scenario"
    folder.mkdir()
    (tmp_path / "outside.csv").write_text("receiver;supplier\nsecret;x\n", encoding="utf-8")
    (folder / "plan.yaml").write_text(yaml.safe_dump(scenario_doc(demand=reference)))
    with pytest.raises(ScenarioError, match="must lie in the scenario's folder") as info:
        load_scenario(folder / "plan.yaml")
    assert "secret" not in info.value.message


def test_yaml_syntax_error_names_the_line() -> None:
    with pytest.raises(ScenarioError) as info:
        scenario_from_text("scenario:\n  id: x\nreceivers: [\n", "broken.yaml")
    assert info.value.details["file"] == "broken.yaml"
    assert info.value.details["line"] is not None
    assert info.value.message.startswith("broken.yaml, line")


def test_scaling_multiplies_every_demand() -> None:
    sc = scenario_from_data(scenario_doc())
    scaled = sc.scaled(1.5)
    assert [d.weekly_kg for d in scaled.demand] == [150.0, 150.0]
    assert [d.weekly_m3 for d in scaled.demand] == [1.5, 1.5]


@given(st.integers(0, 24 * 60 - 1), st.integers(1, 24 * 60))
def test_window_text_round_trips(start_min: int, length_min: int) -> None:
    end = min(start_min + length_min, 24 * 60)
    window = Window(start_min * 60, end * 60)
    assert parse_window(window.text()) == window
