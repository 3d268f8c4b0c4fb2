"""The routing API and CLI on the embedded default (the real Amsterdam-Oost OSM extract and the real register)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ruas.api.app import create_app
from ruas.cli import app
from ruas.core.config import Settings

# two ends of the largest strongly connected part of the embedded graph (Watergraafsmeer, inside the A10:
# the LEZ and the Amsterdam milieuzone apply there)
FROM = [52.3408347, 4.9288604]
TO = [52.34139, 4.92485]
VAN6 = {"category": "N1", "mass_kg": 3000, "fuel": "diesel", "emission_class": "6", "first_admission": "2020-01-01"}
TRUCK3 = {"category": "N3", "mass_kg": 26000, "fuel": "diesel", "emission_class": "3", "first_admission": "2003-01-01"}


@pytest.fixture
def client(data_dir: Path) -> TestClient:
    settings = Settings(env="development", data_dir=data_dir, secret_key="x" * 40, anonymous_checks_per_minute=100_000)
    return TestClient(create_app(settings))


def test_route_answers_geojson_with_the_zones_crossed(client: TestClient) -> None:
    r = client.post("/api/v1/routes", json={"vehicle": VAN6, "points": [FROM, TO], "depart": "2025-09-01T08:00"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["found"] and body["distance_m"] > 100 and body["duration_s"] > 10
    [feature] = body["geojson"]["features"]
    assert feature["geometry"]["type"] == "LineString"
    lon, lat = feature["geometry"]["coordinates"][0]
    assert abs(lat - FROM[0]) < 0.001 and abs(lon - FROM[1]) < 0.001
    names = {z["name"] for z in body["zones"]}
    assert {"LEZ Amsterdam", "Milieuzone Amsterdam"} <= names
    assert all(z["access"] == "allowed" for z in body["zones"])


def test_no_legal_route_names_the_rule_and_the_exemption(client: TestClient) -> None:
    r = client.post("/api/v1/routes", json={"vehicle": TRUCK3, "points": [FROM, TO], "depart": "2025-09-01T08:00"})
    body = r.json()
    assert r.status_code == 200 and body["found"] is False
    avoided = {a["name"]: a for a in body["explanation"]["avoided"]}
    assert "Milieuzone Amsterdam" in avoided
    assert avoided["Milieuzone Amsterdam"]["reasons"][0]["effect"] == "prohibits"
    assert avoided["Milieuzone Amsterdam"]["exemptions_that_would_open_it"]
    assert body["explanation"]["summary"].startswith("no legal route")


def test_matrix_agrees_with_single_routes(client: TestClient) -> None:
    r = client.post(
        "/api/v1/routes/matrix",
        json={"vehicle": VAN6, "origins": [FROM, TO], "destinations": [TO, FROM], "depart": "2025-09-01T08:00"},
    )
    assert r.status_code == 200, r.text
    m = r.json()
    single = client.post("/api/v1/routes", json={"vehicle": VAN6, "points": [FROM, TO], "depart": "2025-09-01T08:00"})
    assert m["durations_s"][0][0] == pytest.approx(single.json()["duration_s"], abs=0.1)
    assert m["distances_m"][0][0] == pytest.approx(single.json()["distance_m"], abs=0.1)
    assert m["durations_s"][0][1] == 0.0


def test_accessibility_map(client: TestClient) -> None:
    r = client.post("/api/v1/accessibility", json={"vehicle": TRUCK3, "point": FROM, "at": "2025-09-01T08:00"})
    assert r.status_code == 200, r.text
    fc = r.json()
    kinds = [f["properties"]["kind"] for f in fc["features"]]
    assert "segment" in kinds
    segments = [f["properties"] for f in fc["features"] if f["properties"]["kind"] == "segment"]
    refused = [s for s in segments if not s["usable"]]
    assert refused and all("Milieuzone Amsterdam" in s["why_not"] or "LEZ" in s["why_not"] for s in refused)
    ok = client.post("/api/v1/accessibility", json={"vehicle": VAN6, "point": FROM, "at": "2025-09-01T08:00"}).json()
    assert ok["features"][0]["properties"]["kind"] == "reachable_area"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"vehicle": VAN6, "points": [FROM]}, "points"),
        ({"vehicle": VAN6, "points": [FROM, [91, 4.9]]}, "point"),
        ({"vehicle": VAN6, "points": [FROM, TO], "depart": "tomorrow"}, "depart"),
        ({"vehicle": VAN6, "points": [FROM, [52.0, 5.5]]}, "to"),
        ({"vehicle": {"category": "N1"}, "points": [FROM, TO]}, "vehicle"),
    ],
)
def test_bad_input_is_a_problem_naming_the_field(client: TestClient, payload: dict[str, Any], field: str) -> None:
    r = client.post("/api/v1/routes", json=payload)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in json.dumps(r.json())


def test_cli_route_json_and_exit_status(data_dir: Path) -> None:
    runner = CliRunner()
    args = ["route", "--from", ",".join(map(str, FROM)), "--to", ",".join(map(str, TO)), "--depart", "2025-09-01T08:00"]
    van = ["--category", "N1", "--mass", "3000", "--fuel", "diesel", "--emission-class", "6"]
    van += ["--first-admission", "2020-01-01"]
    ok = runner.invoke(app, [*args, *van, "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["found"] is True
    old = ["--category", "N3", "--mass", "26000", "--fuel", "diesel", "--emission-class", "3"]
    old += ["--first-admission", "2003-01-01"]
    refused = runner.invoke(app, [*args, *old])
    assert refused.exit_code == 1
    assert "No legal route" in refused.stdout and "Milieuzone Amsterdam" in refused.stdout
    bad = runner.invoke(app, ["route", "--from", "4.9,52.3", "--to", "52.34,4.92", *van])
    assert bad.exit_code == 2


def test_cli_graph_import_replaces_the_graph(data_dir: Path) -> None:
    runner = CliRunner()
    pbf = Path(__file__).parent / "data" / "amsterdam_oost.osm.pbf"
    r = runner.invoke(app, ["graph", "import", str(pbf)])
    assert r.exit_code == 0, r.output
    assert (data_dir / "routing" / "graph.npz").exists()
    info = runner.invoke(app, ["graph", "info"])
    assert "graph.npz" in info.stdout.replace("\n", "")
    missing = runner.invoke(app, ["graph", "import", str(data_dir / "nope.osm.pbf")])
    assert missing.exit_code == 2
