"""``/api/v1/bundling``: the shipped example, an analysis of a trimmed copy of it, problems naming the field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def client(data_dir: Path, client_factory: Callable[..., TestClient]) -> TestClient:
    """A client on a fresh SQLite register (the analysis only reads the register)."""
    return client_factory(data_dir)


@pytest.fixture
def small_doc(client: TestClient) -> dict[str, Any]:
    """The Lelystad example trimmed to three receivers, one hub and no districts."""
    doc: dict[str, Any] = client.get("/api/v1/bundling/examples/lelystad").json()
    keep = {"rechtbank", "stadhuis", "rws-zuiderwagenplein"}
    doc["receivers"] = [r for r in doc["receivers"] if r["id"] in keep]
    doc["demand"] = [d for d in doc["demand"] if d["receiver"] in keep]
    doc["hubs"] = doc["hubs"][:1]
    doc.pop("districts")
    for r in doc["receivers"]:
        r.pop("district")
    return doc


def test_examples_are_listed_and_illustrative(client: TestClient) -> None:
    listed = client.get("/api/v1/bundling/examples").json()
    assert [(e["name"], e["illustrative"]) for e in listed] == [("lelystad", True)]
    doc = client.get("/api/v1/bundling/examples/lelystad").json()
    assert isinstance(doc["demand"], list) and len(doc["demand"]) == 40  # demand.csv read in
    assert doc["scenario"]["illustrative"] is True
    assert client.get("/api/v1/bundling/examples/atlantis").status_code == 404


def test_analysis_of_a_small_scenario(client: TestClient, small_doc: dict[str, Any]) -> None:
    response = client.post(
        "/api/v1/bundling/analyses",
        json={"scenario": small_doc, "time_limit_s": 0.5, "sensitivity": False, "routes": False},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["scenario"]["illustrative"] is True
    assert body["travel_matrix"]["approximate"] is True
    assert body["solver"]["engine"].startswith("PyVRP")
    assert [v["variant"] for v in body["variants"]] == ["status_quo", "bundled"]
    assert "routes" not in body["variants"][0]["days"][0]
    assert isinstance(body["comparison"]["pays"], bool)


def test_bad_scenario_is_a_problem_naming_row_and_field(
    client: TestClient, small_doc: dict[str, Any], problem: Callable[..., dict[str, Any]]
) -> None:
    small_doc["demand"][0]["receiver"] = "nobody"
    body = problem(client.post("/api/v1/bundling/analyses", json={"scenario": small_doc}), 422)
    assert body["errors"][0]["field"] == "receiver"
    assert body["errors"][0]["row"] == "demand[0]"
    assert body["detail"].startswith("request, demand[0], field 'receiver': unknown receiver 'nobody'")


def test_time_limit_above_the_cap_is_refused(
    client: TestClient, small_doc: dict[str, Any], problem: Callable[..., dict[str, Any]]
) -> None:
    response = client.post("/api/v1/bundling/analyses", json={"scenario": small_doc, "time_limit_s": 600})
    problem(response, 422)
