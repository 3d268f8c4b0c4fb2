"""The agenda over HTTP: reading views, role rules on edits (problem details), history, the report."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from ruas.domain.timeutil import LOCAL_TZ

BASE = "/api/v1/agenda"
STATUS_URL = f"{BASE}/activities/ze-zones-kennis-delen/steps/1/status"
BUDGET_LINE = {"kind": "spent", "amount_eur": "10", "as_of": "2024-01-01", "note": "x"}
TODAY = datetime.now(UTC).astimezone(LOCAL_TZ).date().isoformat()


def problem(response: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    """Assert an RFC 9457 problem naming ``field``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    if field is not None:
        assert field in {str(e.get("field")) for e in body.get("errors", [])}, body
    return body


def test_agenda_lists_seventeen_activities_and_programme_management(client: TestClient) -> None:
    """GET /agenda groups the activities by theme, programme management first."""
    body = client.get(BASE, params={"on": "2023-04-17"}).json()
    assert [t["name"] for t in body["themes"]] == [
        "Programmamanagement",
        "Toegang tot binnensteden",
        "Laad- en tankinfrastructuur",
        "Duurzaam inkopen",
        "Smart logistics",
    ]
    assert sum(len(t["activities"]) for t in body["themes"]) == 18
    anpr = next(a for t in body["themes"] for a in t["activities"] if a["id"] == "bundeling-inkoop-anpr")
    assert [h["name"] for h in anpr["action_holders"]] == ["Gemeente Hoorn", "Gemeente Zaanstad"]
    assert anpr["budget"]["as_written"] == "€ 0"
    assert anpr["steps"]["in_progress"] == 1


def test_activity_shows_the_sheet_steps_and_platform_figures(client: TestClient) -> None:
    """The ZE-zones activity links to the zones live per municipality, computed from the register."""
    body = client.get(f"{BASE}/activities/ze-zones-kennis-delen", params={"on": "2025-07-01"}).json()
    assert body["theme"]["name"] == "Toegang tot binnensteden"
    assert body["sheet"]["roles"][0] == {
        "label": "Projecttrekker",
        "text": "Provincie Noord-Holland, Provincie Flevoland, Vervoerregio Amsterdam",
    }
    assert [s["label"] for s in body["steps"]] == ["1", "2"]
    (metric,) = body["metrics"]
    assert metric["metric"] == "ze_zones_live" and metric["available"] is True
    assert any(
        row["label"] == "Amsterdam (GM0363)" and "actief sinds 2025-01-01" in row["value"] for row in metric["rows"]
    )


def test_unknown_activity_is_a_404_problem(client: TestClient) -> None:
    """An unknown activity id is a problem naming the field."""
    problem(client.get(f"{BASE}/activities/bestaat-niet"), 404, "activity")


def test_roadmap_is_activities_by_years(client: TestClient) -> None:
    """GET /roadmap: every activity with the years 2023-2026 as keys."""
    body = client.get(f"{BASE}/roadmap", params={"on": "2024-01-01"}).json()
    assert body["years"] == [2023, 2024, 2025, 2026]
    assert len(body["rows"]) == 18
    hubs = next(r for r in body["rows"] if r["id"] == "logistieke-hubs")
    assert [s["text"] for s in hubs["years"]["2023"]] == ["2023: starten met pilot in Aalsmeer"]
    assert hubs["years"]["2023"][0]["overdue"] is True


@pytest.mark.parametrize("key", ["GM0479", "gemeente-zaanstad"])
def test_what_is_my_municipality_action_holder_for(client: TestClient, key: str) -> None:
    """Zaanstad (by CBS code or id) holds ANPR bundling and area development, and is involved via groups."""
    body = client.get(f"{BASE}/organisations/{key}", params={"on": "2024-06-01"}).json()
    assert body["organisation"]["cbs_code"] == "GM0479"
    assert {a["id"] for a in body["roles"]["action_holder"]} == {
        "bundeling-inkoop-anpr",
        "logistiek-in-gebiedsontwikkeling",
    }
    assert any(v["group"]["id"] == "gemeenten" for v in body["via_groups"])


def test_a_municipality_the_agenda_does_not_name_sees_its_group_roles(client: TestClient) -> None:
    """Alkmaar is named nowhere directly, but as a municipality it is involved in the activities for all
    municipalities; it has no ZE-zone in the register, so the ZE-zone working group does not list it."""
    body = client.get(f"{BASE}/organisations/GM0361").json()
    assert body["named_in_agenda"] is False
    assert all(not v for v in body["roles"].values())
    groups = {v["group"]["id"] for v in body["via_groups"]}
    assert "gemeenten" in groups and "ze-zone-gemeenten" not in groups
    amsterdam = client.get(f"{BASE}/organisations/GM0363").json()
    assert "ze-zone-gemeenten" in {v["group"]["id"] for v in amsterdam["via_groups"]}
    assert amsterdam["steering_group"] == {"role": "lid", "note": None}


def test_dashboard(client: TestClient) -> None:
    """The steering group's dashboard: counts per theme, overdue steps, money, figures."""
    body = client.get(f"{BASE}/dashboard", params={"on": "2024-01-01"}).json()
    assert body["steering_group"]["members"][0]["organisation"]["id"] == "vervoerregio-amsterdam"
    assert body["budget"]["planned_minimum_eur"] == 240000
    assert body["steps"]["overdue"] == len(body["overdue"]) > 0
    assert {m["metric"] for m in body["metrics"]} >= {"ze_zones_live", "data_voor_logistiek", "anpr_shared_backoffice"}
    assert body["last_report"] is None


@pytest.mark.parametrize(
    ("role", "status"),
    [("anonymous", 401), ("applicant", 403), ("officer", 403)],
    ids=["anonymous", "applicant", "officer"],
)
def test_edits_need_the_regional_administrator(
    client: TestClient, token_headers: Callable[..., dict[str, str]], role: str, status: int
) -> None:
    """Every edit endpoint refuses anyone but the regional administrator, and nothing changes."""
    headers = {} if role == "anonymous" else token_headers(f"u-{role}", role, ("GM0363",) * (role == "officer"))
    requests = [
        (STATUS_URL, {"status": "done", "as_of": "2024-01-01"}),
        (f"{BASE}/activities/ze-zones-kennis-delen/budget", BUDGET_LINE),
        (f"{BASE}/activities/ze-zones-kennis-delen/notes", {"text": "x", "as_of": "2024-01-01"}),
        (f"{BASE}/reports", {"date": "2024-01-01"}),
    ]  # fmt: skip
    for url, body in requests:
        problem(client.post(url, json=body, headers=headers), status)
    admin = token_headers("regio-beheerder", "admin")
    assert client.get(f"{BASE}/history", headers=admin).json()["items"] == []


def test_administrator_edits_and_history(client: TestClient, token_headers: Callable[..., dict[str, str]]) -> None:
    """The administrator sets a status; the activity shows it and the history names who, when and what."""
    admin = token_headers("regio-beheerder", "admin")
    response = client.post(
        STATUS_URL,
        json={"status": "done", "as_of": "2023-10-02", "note": "gestart", "expected_changes": 0},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    step = client.get(f"{BASE}/activities/ze-zones-kennis-delen").json()["steps"][0]
    assert (step["status"], step["since"], step["changes"]) == ("done", "2023-10-02", 1)
    stale = client.post(
        STATUS_URL, json={"status": "delayed", "as_of": "2024-01-01", "note": "x", "expected_changes": 0}, headers=admin
    )
    problem(stale, 409, "expected_changes")
    history = client.get(f"{BASE}/history", params={"activity": "ze-zones-kennis-delen"}, headers=admin).json()
    (entry,) = history["items"]
    assert entry["actor"] == "regio-beheerder" and entry["after"]["status"] == "done"
    problem(client.get(f"{BASE}/history"), 401)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "klaar", "as_of": "2024-01-01"}, "status"),
        ({"status": "done", "as_of": "2999-01-01"}, "as_of"),
        ({"status": "delayed", "as_of": "2024-01-01"}, "note"),
        ({"status": "done", "as_of": "2024-01-01", "extra": 1}, "extra"),
    ],
    ids=["unknown-status", "future", "delayed-without-note", "unknown-field"],
)
def test_bad_edits_are_422_problems(
    client: TestClient, token_headers: Callable[..., dict[str, str]], body: dict[str, Any], field: str
) -> None:
    """Bad input is a 422 naming the field."""
    admin = token_headers("regio-beheerder", "admin")
    problem(client.post(STATUS_URL, json=body, headers=admin), 422, field)


def test_day_outside_the_accepted_range_is_refused(client: TestClient) -> None:
    """Views refuse days outside 2000-2199 with a problem naming ``on`` (no overflow at the calendar's ends)."""
    problem(client.get(f"{BASE}/dashboard", params={"on": "9999-12-31"}), 422, "on")
    problem(client.get(f"{BASE}/report", params={"date": "0001-01-01"}), 422, "date")


def test_report_formats(client: TestClient, token_headers: Callable[..., dict[str, str]]) -> None:
    """The report is HTML by default, JSON or PDF on request; issuing it moves the next report's start."""
    html = client.get(f"{BASE}/report", params={"date": "2023-12-31"})
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "Voortgangsrapportage RUAS 2023" in html.text
    data = client.get(f"{BASE}/report", params={"date": "2023-12-31", "format": "json"}).json()
    assert data["since"] == "2023-04-17"
    pdf = client.get(f"{BASE}/report", params={"date": "2023-12-31", "format": "pdf"})
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
    admin = token_headers("regio-beheerder", "admin")
    issued = client.post(f"{BASE}/reports", json={"date": "2023-12-31"}, headers=admin)
    assert issued.status_code == 201, issued.text
    assert client.get(f"{BASE}/report", params={"date": TODAY, "format": "json"}).json()["since"] == "2023-12-31"
    problem(client.post(f"{BASE}/reports", json={"date": "2023-12-31"}, headers=admin), 409, "date")
