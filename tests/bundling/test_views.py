"""``ruas bundle`` and the API: same analysis, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from bundling_kit import scenario_doc
from typer.testing import CliRunner

from ruas.cli import app


def test_cli_bundle_json(data_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump(scenario_doc()))
    result = CliRunner().invoke(app, ["bundle", str(tmp_path / "plan.yaml"), "--json", "--no-sensitivity"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["scenario"]["id"] == "tiny"
    assert data["comparison"]["verdict"]
    assert data["variants"][0]["variant"] == "status_quo"


def test_cli_bundle_markdown_for_the_example(data_dir: Path) -> None:
    result = CliRunner().invoke(app, ["bundle", "example:lelystad", "--no-sensitivity", "--time-limit", "0.3"])
    assert result.exit_code == 0, result.output
    assert "ILLUSTRATIVE" in result.stdout
    assert "| vehicle-km |" in result.stdout


def test_cli_bundle_bad_scenario_exits_2_naming_the_field(data_dir: Path, tmp_path: Path) -> None:
    doc = scenario_doc()
    doc["receivers"][1]["window"] = "25:00-26:00"
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump(doc))
    result = CliRunner().invoke(app, ["bundle", str(tmp_path / "plan.yaml")])
    assert result.exit_code == 2
    assert "plan.yaml, receivers[1], field 'window'" in " ".join(result.output.split())
