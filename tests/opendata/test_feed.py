"""The change feed, the published files with strong ETags, the completeness view, and ``ruas export``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ruas.cli import app as cli_app
from ruas.opendata.changes import _Event, derive
from ruas.register.store import Register

T0 = datetime(2025, 1, 1, tzinfo=UTC)
AMS_ZE = "NDW11_64717e49-b364-4001-b6f9-14270d068764"


def _event(minutes: int, zone: str, version: int, repeal: bool = False, order: int = 0) -> _Event:
    return _Event(T0 + timedelta(minutes=minutes), order, zone, version, repeal, "zero_emission", "GM0363", None)


def test_changes_are_numbered_by_publication_and_named() -> None:
    events = [_event(0, "a", 1, order=1), _event(0, "b", 1, order=2), _event(5, "a", 2), _event(9, "a", 2, True)]
    events.append(_event(12, "a", 3))
    changes = derive(events)
    assert [(c.register_version, c.zone_id, c.zone_version, c.change) for c in changes] == [
        (1, "a", 1, "added"),
        (1, "b", 1, "added"),
        (2, "a", 2, "changed"),
        (3, "a", 2, "repealed"),
        (4, "a", 3, "added"),
    ]


def test_feed_follows_publish_and_withdraw(data_dir: Path, feed_client: TestClient) -> None:
    first = feed_client.get("/api/v1/feed/changes", params={"since": 0}).json()
    assert first["register_version"] == 1
    assert {c["change"] for c in first["changes"]} == {"added"}
    assert len(first["changes"]) == len(Register.open(data_dir).records)

    register = Register.open(data_dir)
    record = next(r for r in register.records if r["id"] == "ams-osdorpplein")
    register.store.publish_records([{**record, "notes": [*record["notes"], "changed"]}], actor="test")
    register.store.withdraw_zone("alk-winkelhart", actor="test", at=datetime.now(UTC), note="test")

    later = feed_client.get("/api/v1/feed/changes", params={"since": 1}).json()
    assert later["register_version"] == register.store.version() == 3
    assert [(c["register_version"], c["zone_id"], c["change"], c["zone_version"]) for c in later["changes"]] == [
        (2, "ams-osdorpplein", "changed", 2),
        (3, "alk-winkelhart", "repealed", 1),
    ]
    assert feed_client.get("/api/v1/feed/changes", params={"since": 3}).json()["changes"] == []


@pytest.mark.parametrize(("since", "status"), [(-1, 422), (99, 422)])
def test_bad_since_is_a_problem(feed_client: TestClient, since: int, status: int) -> None:
    response = feed_client.get("/api/v1/feed/changes", params={"since": since})
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "since" in response.text


@pytest.mark.parametrize(
    ("path", "marker"),
    [
        ("/api/v1/feed/datex/controlled-zones.xml", b"ControlledZoneTablePublication"),
        ("/api/v1/feed/datex/traffic-regulations.xml", b"TrafficRegulationPublication"),
        ("/api/v1/feed/zones.geojson", b"FeatureCollection"),
        ("/api/v1/feed/osm-tags.json", b"maxweightrating"),
        ("/api/v1/feed/completeness", b"delivery_windows"),
    ],
)
def test_files_carry_strong_etags_and_answer_304(feed_client: TestClient, path: str, marker: bytes) -> None:
    first = feed_client.get(path)
    assert first.status_code == 200 and marker in first.content
    tag = first.headers["etag"]
    assert tag.startswith('"') and not tag.startswith("W/")
    again = feed_client.get(path, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    assert feed_client.get(path, headers={"If-None-Match": '"other"'}).content == first.content


def test_etag_changes_when_the_register_does(data_dir: Path, feed_client: TestClient) -> None:
    path = "/api/v1/feed/datex/traffic-regulations.xml"
    tag = feed_client.get(path).headers["etag"]
    register = Register.open(data_dir)
    record = next(r for r in register.records if r["id"] == "ams-osdorpplein")
    register.store.publish_records([{**record, "name": "Osdorpplein (renamed)"}], actor="test")
    feed_client.app.state.register.checked_at = 0.0  # type: ignore[attr-defined]  # skip the 1 s reload delay
    response = feed_client.get(path, headers={"If-None-Match": tag})
    assert response.status_code == 200 and response.headers["etag"] != tag
    assert b"Osdorpplein (renamed)" in response.content


def test_completeness_per_road_authority(feed_client: TestClient) -> None:
    view = feed_client.get("/api/v1/feed/completeness").json()
    rows = {r["code"]: r for r in view["authorities"]}
    assert len(rows) == 52  # 50 municipalities of NH and Flevoland and the two provinces
    ams = rows["GM0363"]["kinds"]
    assert ams["ze_zone"]["published"] and AMS_ZE in ams["ze_zone"]["zones"]
    assert ams["ze_zone"]["rules_apply_from"] == "2025-01-01"
    assert ams["ze_zone"]["announced_zones"] == ["ams-ze-a10-2028"]
    assert ams["vehicle_restrictions"]["published"] and ams["delivery_windows"]["published"]
    assert ams["loading_zones"]["published"] is False and "no loading-zone kind" in ams["loading_zones"]["note"]
    almere = rows["GM0034"]["kinds"]["ze_zone"]
    assert (almere["published"], almere["announced"]) == (False, True)
    assert rows["GM0361"]["kinds"]["delivery_windows"]["published_since"] is not None
    assert view["summary"]["authorities"] == 52


def test_cli_export_writes_the_files(tmp_path: Path, data_dir: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "tr.xml"
    result = runner.invoke(cli_app, ["export", "datex", "traffic-regulations", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert b"ams-s100-heavy/over-7.5t" in out.read_bytes()
    geo = tmp_path / "zones.geojson"
    assert runner.invoke(cli_app, ["export", "geojson", "--national", "-o", str(geo)]).exit_code == 0
    assert len(json.loads(geo.read_bytes())["features"]) == 42 + 6
    result = runner.invoke(cli_app, ["export", "osm"])
    assert result.exit_code == 0 and "maxlength" in result.stdout
