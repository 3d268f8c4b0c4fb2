"""The flows over HTTP: a public, suppressed dashboard; simulations for officers of the zone and the admin."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from flows_support import ZE_AMS, WriteRecords
from test_cube_and_dashboard import DAY, hand_case

from ruas.api.app import create_app
from ruas.core.config import Settings
from ruas.register.store import Register
from ruas.services.accounts import create_user
from ruas.store.db import session_scope

PASSWORD = "flows-test-password"


@pytest.fixture
def client(data_dir: Path, write_records: WriteRecords) -> Iterator[TestClient]:
    write_records(DAY, hand_case())
    with session_scope(Register.open(data_dir).store.engine) as s:
        for name, role, codes, kvk in (
            ("officer-ams", "officer", ("GM0363",), None),
            ("officer-hlm", "officer", ("GM0392",), None),
            ("applicant", "applicant", (), "12345678"),
        ):
            create_user(s, username=name, password=PASSWORD, role=role, now=datetime.now(UTC), kvk=kvk,
                        municipalities=codes)  # fmt: skip
    settings = Settings(env="development", data_dir=data_dir, secret_key="x" * 40)
    with TestClient(create_app(settings)) as c:
        yield c


def login(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"X-CSRF-Token": r.json()["csrf_token"]}


def test_dashboard_is_public_and_suppressed(client: TestClient) -> None:
    r = client.get("/api/v1/flows/dashboard", params={"from": "2025-09-09", "until": "2025-09-10"})
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["total_passages"] == 31
    assert data["breakdowns"]["vehicle_class"]["passages"] == [[25, None, None, None]]
    assert data["breakdowns"]["zone"]["columns"] == [ZE_AMS]


def test_dashboard_names_a_bad_period(client: TestClient) -> None:
    r = client.get("/api/v1/flows/dashboard", params={"from": "2025-09-10", "until": "2025-09-09"})
    assert r.status_code == 422
    assert "until" in r.text


BODY = {"zone_id": ZE_AMS, "from": "2025-09-09", "until": "2025-09-10"}


def test_simulation_needs_an_officer_of_the_zone(client: TestClient) -> None:
    assert client.post("/api/v1/flows/simulations", json=BODY).status_code == 401
    headers = login(client, "applicant")
    assert client.post("/api/v1/flows/simulations", json=BODY, headers=headers).status_code == 403
    client.post("/api/v1/auth/logout", headers=headers)
    headers = login(client, "officer-hlm")
    record = next(r for r in Register.open(Path(client.app.state.settings.data_dir)).records if r["id"] == ZE_AMS)
    r = client.post("/api/v1/flows/simulations", json={**BODY, "record": record}, headers=headers)
    assert r.status_code == 403


def test_officer_simulates_a_record_and_the_saved_draft_is_required_otherwise(client: TestClient) -> None:
    headers = login(client, "officer-ams")
    r = client.post("/api/v1/flows/simulations", json=BODY, headers=headers)
    assert r.status_code == 404  # no saved draft
    record = next(r for r in Register.open(Path(client.app.state.settings.data_dir)).records if r["id"] == ZE_AMS)
    r = client.post("/api/v1/flows/simulations", json={**BODY, "record": record}, headers=headers)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["newly_refused"] == {"passages": 0, "vehicles": 0}
    assert data["min_vehicles"] == 10
    bad = client.post("/api/v1/flows/simulations", json={**BODY, "record": {**record, "kind": "nope"}}, headers=headers)
    assert bad.status_code == 422 and "kind" in bad.text
