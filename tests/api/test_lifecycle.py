"""The regulation lifecycle and the regional base framework over HTTP, on SQLite and PostgreSQL.

Fixtures are tiny: one rectangle in Amsterdam-Noord made a delivery-window zone, an electric van (so that the
zero-emission and environmental zones around it never refuse it), and officers of Amsterdam and Haarlem.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ruas.api.app import create_app
from ruas.core.config import Settings
from ruas.services.accounts import create_token, create_user
from ruas.store.db import session_scope

ZONE = "ams-noord-test-window"
POINT = [52.405, 4.905]  # inside RECTANGLE
RECTANGLE = {
    "type": "Polygon",
    "coordinates": [[[4.90, 52.40], [4.91, 52.40], [4.91, 52.41], [4.90, 52.41], [4.90, 52.40]]],
}
MONDAY_0830 = "2026-03-02T08:30"  # inside Mo-Sa 07:00-11:00
MONDAY_1130 = "2026-03-02T11:30"  # outside 07:00-11:00, inside 07:00-12:00
MONDAY_1400 = "2026-03-02T14:00"  # outside every window used here
ELECTRIC_VAN = {
    "category": "N1",
    "mass_kg": 2000,
    "fuel": "electric",
    "emission_class": "Z",
    "first_admission": "2024-01-01",
}


def window_record(window: str = "Mo-Sa 07:00-11:00; PH off") -> dict[str, Any]:
    """A delivery-window zone of Amsterdam over RECTANGLE."""
    return {
        "id": ZONE,
        "name": "Amsterdam-Noord test window",
        "kind": "time_window",
        "authority": "GM0363",
        "illustrative": True,
        "geometry": RECTANGLE,
        "regulations": [
            {
                "custom": {
                    "id": f"{ZONE}/window",
                    "name": f"loading and unloading {window}",
                    "subject_label": f"motor vehicles only within {window}",
                    "subject": {
                        "all": [
                            {"field": "category_group", "op": "in", "value": ["M", "N"]},
                            {"not": {"field": "at", "op": "in_window", "value": window}},
                        ]
                    },
                    "legal_source": {"citation": "test decree"},
                    "exemption_types": ["venstertijd-ontheffing"],
                }
            }
        ],
    }


def check_here(client: TestClient, at: str) -> dict[str, Any] | None:
    """The answer for ELECTRIC_VAN at POINT and ``at`` about ZONE (None when the zone does not apply there)."""
    response = client.post("/api/v1/checks", json={"vehicle": ELECTRIC_VAN, "point": POINT, "at": at})
    assert response.status_code == 200, response.text
    return next((z for z in response.json()["zones"] if z["id"] == ZONE), None)


def allowed_here(client: TestClient, at: str) -> bool:
    """Whether ZONE lets ELECTRIC_VAN in at POINT and ``at`` (the zone must apply there)."""
    answer = check_here(client, at)
    assert answer is not None, f"{ZONE} does not apply at {POINT}"
    return bool(answer["allowed"])


def zones_etag(client: TestClient) -> str:
    """The ETag of the public zone list."""
    etag: str = client.get("/api/v1/zones").headers["etag"]
    return etag


@pytest.fixture
def api(backend_dir: Path) -> Iterator[TestClient]:
    """A client of the service on a fresh seeded register (SQLite and PostgreSQL)."""
    settings = Settings(env="development", data_dir=backend_dir, secret_key="x" * 40, anonymous_checks_per_minute=10**6)
    with TestClient(create_app(settings)) as client:
        yield client


def headers_of(client: TestClient, username: str, role: str, *codes: str) -> dict[str, str]:
    """Create an account in the client's database; the Authorization header of a new bearer token for it."""
    now = datetime.now(UTC)
    engine = client.app.state.register.register.store.engine  # type: ignore[attr-defined]
    with session_scope(engine) as session:
        kvk = "12345678" if role == "applicant" else None
        user = create_user(
            session, username=username, password="x" * 12, role=role, now=now, kvk=kvk, municipalities=codes
        )
        token = create_token(session, user, name="test", now=now)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def ams(api: TestClient) -> dict[str, str]:
    """Headers of an Amsterdam (GM0363) officer."""
    return headers_of(api, "officer-ams", "officer", "GM0363")


@pytest.fixture
def hlm(api: TestClient) -> dict[str, str]:
    """Headers of a Haarlem (GM0392) officer."""
    return headers_of(api, "officer-hlm", "officer", "GM0392")


@pytest.fixture
def admin(api: TestClient) -> dict[str, str]:
    """Headers of the regional administrator."""
    return headers_of(api, "region-admin", "admin")


@pytest.fixture
def applicant(api: TestClient) -> dict[str, str]:
    """Headers of an applicant (a business)."""
    return headers_of(api, "applicant-one", "applicant")


def problem_of(response: Any, status: int) -> dict[str, Any]:
    """Assert an RFC 9457 problem with ``status``; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


def problem_fields(body: dict[str, Any]) -> set[str]:
    """The fields a problem names."""
    return {str(e.get("field")) for e in body.get("errors", [])}


def draft(client: TestClient, headers: dict[str, str], record: dict[str, Any], zone_id: str = ZONE) -> dict[str, Any]:
    """Save a draft and return it."""
    response = client.post(f"/api/v1/zones/{zone_id}/drafts", json=record, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def publish(client: TestClient, headers: dict[str, str], zone_id: str = ZONE, **body: Any) -> dict[str, Any]:
    """Publish the open draft and return the answer."""
    response = client.post(f"/api/v1/zones/{zone_id}/publish", json={"note": "test", **body}, headers=headers)
    assert response.status_code == 200, response.text
    out: dict[str, Any] = response.json()
    return out


def test_publishing_a_new_zone_changes_the_check_and_the_etag(api: TestClient, ams: dict[str, str]) -> None:
    """A published delivery-window zone refuses outside its window at once, and the register's ETag changes."""
    etag = zones_etag(api)
    assert check_here(api, MONDAY_1400) is None
    draft(api, ams, window_record())
    published = publish(api, ams)
    assert published["version"]["version"] == 1 and published["action"] == "publish"
    assert allowed_here(api, MONDAY_1400) is False
    assert allowed_here(api, MONDAY_0830) is True
    assert zones_etag(api) != etag
    assert api.get(f"/api/v1/zones/{ZONE}").json()["kind"] == "time_window"


def test_a_draft_changes_no_check_and_no_etag(api: TestClient, ams: dict[str, str]) -> None:
    """Saving (and replacing) a draft leaves every check and the public ETag as they were."""
    etag = zones_etag(api)
    draft(api, ams, window_record())
    draft(api, ams, window_record("Mo-Fr 08:00-09:00"))
    assert check_here(api, MONDAY_1400) is None
    assert zones_etag(api) == etag
    assert api.get(f"/api/v1/zones/{ZONE}").status_code == 404
    saved = api.get(f"/api/v1/zones/{ZONE}/drafts", headers=ams).json()
    assert "Mo-Fr 08:00-09:00" in saved["record"]["regulations"][0]["custom"]["name"]


def test_an_invalid_record_is_refused_naming_the_field_and_nothing_is_stored(
    api: TestClient, ams: dict[str, str]
) -> None:
    """A window that is not an opening_hours expression gets 422 naming its path; no draft, no audit entry."""
    record = window_record("Mo-Xa 07:00-11:00")
    audit_before = api.get("/api/v1/audit", headers=ams).json()["total"]
    body = problem_of(api.post(f"/api/v1/zones/{ZONE}/drafts", json=record, headers=ams), 422)
    assert "regulations[0].custom.subject.all[1].not" in problem_fields(body)
    assert api.get(f"/api/v1/zones/{ZONE}/drafts", headers=ams).status_code == 404
    assert api.get("/api/v1/audit", headers=ams).json()["total"] == audit_before


def test_an_officer_of_another_municipality_may_not_draft_or_publish(
    api: TestClient, ams: dict[str, str], hlm: dict[str, str]
) -> None:
    """A Haarlem officer gets 403 drafting or publishing an Amsterdam zone; the Amsterdam draft stays unpublished."""
    problem_of(api.post(f"/api/v1/zones/{ZONE}/drafts", json=window_record(), headers=hlm), 403)
    problem_of(api.get(f"/api/v1/zones/{ZONE}/drafts", headers=ams), 404)  # nothing was stored
    draft(api, ams, window_record())
    problem_of(api.post(f"/api/v1/zones/{ZONE}/publish", json={}, headers=hlm), 403)
    problem_of(api.post("/api/v1/zones/ams-osdorpplein/withdraw", json={}, headers=hlm), 403)
    assert check_here(api, MONDAY_1400) is None


def test_applicants_and_anonymous_callers_may_not_draft(api: TestClient, applicant: dict[str, str]) -> None:
    """An applicant gets 403 and an anonymous caller 401 for drafting and publishing."""
    problem_of(api.post(f"/api/v1/zones/{ZONE}/drafts", json=window_record(), headers=applicant), 403)
    problem_of(api.post(f"/api/v1/zones/{ZONE}/drafts", json=window_record()), 401)
    problem_of(api.post("/api/v1/zones/ams-osdorpplein/publish", json={}), 401)
    problem_of(api.get("/api/v1/audit", headers=applicant), 403)
    problem_of(api.get("/api/v1/audit"), 401)


def test_editing_a_zone_records_who_when_and_what_changed(api: TestClient, ams: dict[str, str]) -> None:
    """Widening Osdorpplein's window to 12:00 makes version 2; the audit entry names the officer and the change."""
    current = api.get("/api/v1/zones/ams-osdorpplein/versions/1").json()["record"]
    edited = copy.deepcopy(current)
    edited["regulations"][0]["custom"]["subject"]["all"][1]["not"]["value"] = "Mo-Sa 07:00-12:00; PH off"
    draft(api, ams, edited, "ams-osdorpplein")
    published = publish(api, ams, "ams-osdorpplein", note="wider window")
    assert published["action"] == "update" and published["changed"] == ["regulations"]
    entries = api.get(
        "/api/v1/audit", params={"entity": "zone", "entity_id": "ams-osdorpplein", "action": "update"}, headers=ams
    ).json()
    assert entries["total"] == 1
    entry = entries["items"][0]
    assert entry["actor"] == "officer-ams" and entry["at"] and entry["detail"]["version"] == 2
    assert entry["detail"]["note"] == "wider window"
    assert entry["detail"]["diff"] == [
        {
            "path": "regulations[ams-osdorpplein/window].custom.subject.all[1].not.value",
            "from": "Mo-Sa 07:00-11:00; PH off",
            "to": "Mo-Sa 07:00-12:00; PH off",
        }
    ]
    versions = api.get("/api/v1/zones/ams-osdorpplein/versions").json()["items"]
    assert [(v["version"], v["in_force"]) for v in versions] == [(1, False), (2, True)]


def test_the_audit_trail_shows_an_officer_only_their_municipality(
    api: TestClient, ams: dict[str, str], hlm: dict[str, str], admin: dict[str, str]
) -> None:
    """Amsterdam's draft is in the trail for Amsterdam's officer and the administrator, not for Haarlem's."""
    draft(api, ams, window_record())
    query = {"entity": "zone", "entity_id": ZONE}
    assert api.get("/api/v1/audit", params=query, headers=ams).json()["total"] == 1
    assert api.get("/api/v1/audit", params=query, headers=admin).json()["total"] == 1
    assert api.get("/api/v1/audit", params=query, headers=hlm).json()["total"] == 0
    problem_of(api.get("/api/v1/audit", params={"entity_id": "a\x00b"}, headers=admin), 422)


def test_withdrawing_a_zone_removes_it_from_checks(api: TestClient, ams: dict[str, str]) -> None:
    """After withdrawal the zone no longer answers checks, its versions say withdrawn, and withdrawing again is 409."""
    draft(api, ams, window_record())
    publish(api, ams)
    etag = zones_etag(api)
    response = api.post(f"/api/v1/zones/{ZONE}/withdraw", json={"note": "decree repealed"}, headers=ams)
    assert response.status_code == 200, response.text
    assert response.json()["withdrawn_version"] == 1
    assert check_here(api, MONDAY_1400) is None
    assert zones_etag(api) != etag
    assert [v["status"] for v in api.get(f"/api/v1/zones/{ZONE}/versions").json()["items"]] == ["withdrawn"]
    problem_of(api.post(f"/api/v1/zones/{ZONE}/withdraw", json={}, headers=ams), 409)


def test_publishing_needs_a_current_draft(api: TestClient, ams: dict[str, str], admin: dict[str, str]) -> None:
    """No draft, a draft etag that is not the saved one, or a zone withdrawn after the draft was saved: 409."""
    problem_of(api.post("/api/v1/zones/ams-osdorpplein/publish", json={}, headers=ams), 409)
    first = draft(api, ams, window_record())
    second = draft(api, ams, window_record("Mo-Fr 07:00-10:00"))
    body = problem_of(api.post(f"/api/v1/zones/{ZONE}/publish", json={"draft_etag": first["etag"]}, headers=ams), 409)
    assert "draft_etag" in problem_fields(body)
    publish(api, ams, draft_etag=second["etag"])
    draft(api, ams, window_record("Mo-Fr 07:00-09:00"))
    assert api.post(f"/api/v1/zones/{ZONE}/withdraw", json={"note": "repealed"}, headers=admin).status_code == 200
    assert api.get(f"/api/v1/zones/{ZONE}/drafts", headers=ams).json()["stale"] is True
    body = problem_of(api.post(f"/api/v1/zones/{ZONE}/publish", json={}, headers=ams), 409)
    assert "draft" in problem_fields(body)
    assert check_here(api, MONDAY_1400) is None


def test_a_future_effective_date_holds_a_new_zone_back(api: TestClient, ams: dict[str, str]) -> None:
    """A new zone effective from Tuesday 2099-03-03 refuses nobody on the Monday before, and from then on does."""
    draft(api, ams, window_record())
    published = publish(api, ams, effective_from="2099-03-03")
    assert published["version"]["effective_from"] == "2099-03-02T23:00:00+00:00"  # local midnight
    assert allowed_here(api, "2099-03-02T14:00") is True
    assert allowed_here(api, "2099-03-03T14:00") is False
    assert allowed_here(api, "2099-03-03T08:30") is True


def test_a_future_effective_date_for_a_zone_in_force_is_refused(api: TestClient, ams: dict[str, str]) -> None:
    """Replacing a zone in force from a future date would leave a gap: 409 naming effective_from."""
    current = api.get("/api/v1/zones/ams-osdorpplein/versions/1").json()["record"]
    current["notes"] = ["edited"]
    draft(api, ams, current, "ams-osdorpplein")
    response = api.post("/api/v1/zones/ams-osdorpplein/publish", json={"effective_from": "2099-01-01"}, headers=ams)
    assert "effective_from" in problem_fields(problem_of(response, 409))


def test_adopting_a_window_template_with_a_deviation(api: TestClient, ams: dict[str, str]) -> None:
    """Amsterdam adopts the shop window until 12:00 with a zone; the draft, once published, is open till 12:00."""
    request = {
        "municipality": "GM0363",
        "deviations": {"window": "Mo-Sa 07:00-12:00; PH off"},
        "zone": {"id": ZONE, "name": "Amsterdam-Noord test window", "geometry": RECTANGLE},
    }
    response = api.post("/api/v1/framework/venstertijd-winkelgebied/adoptions", json=request, headers=ams)
    assert response.status_code == 201, response.text
    adoption = response.json()
    assert adoption["status"] == "adopted_with_deviations"
    assert adoption["draft"]["record"]["source"]["item"] == "venstertijd-winkelgebied"
    assert check_here(api, MONDAY_1130) is None  # a draft only
    publish(api, ams)
    assert allowed_here(api, MONDAY_1130) is True
    assert allowed_here(api, MONDAY_1400) is False


def test_harmonisation_shows_each_adoption_exactly(api: TestClient, ams: dict[str, str], hlm: dict[str, str]) -> None:
    """Amsterdam with a deviation, Haarlem as-is, Almere not at all — per item, with the deviation listed."""
    window = "venstertijd-winkelgebied"
    ams_body = {"municipality": "GM0363", "deviations": {"window": "Mo-Sa 07:00-12:00; PH off"}}
    assert api.post(f"/api/v1/framework/{window}/adoptions", json=ams_body, headers=ams).status_code == 201
    hlm_body = {"municipality": "GM0392", "deviations": {"window": "Mo-Sa 07:00-11:00; PH off"}}  # = framework
    assert api.post(f"/api/v1/framework/{window}/adoptions", json=hlm_body, headers=hlm).status_code == 201
    view = api.get("/api/v1/harmonisation").json()
    rows = {m["code"]: m["items"][window] for m in view["municipalities"]}
    assert rows["GM0363"] == {
        "status": "adopted_with_deviations",
        "deviations": [
            {"parameter": "window", "framework": "Mo-Sa 07:00-11:00; PH off", "local": "Mo-Sa 07:00-12:00; PH off"}
        ],
        "adopted_at": rows["GM0363"]["adopted_at"],
    }
    assert rows["GM0392"]["status"] == "adopted" and rows["GM0392"]["deviations"] == []
    assert rows["GM0034"] == {"status": "not_adopted", "deviations": [], "adopted_at": None}
    totals = {i["id"]: i for i in view["items"]}[window]
    assert (totals["adopted"], totals["adopted_with_deviations"]) == (1, 1)
    assert totals["not_adopted"] == len(view["municipalities"]) - 2


def test_adoption_rules(api: TestClient, ams: dict[str, str], hlm: dict[str, str]) -> None:
    """A too-short warning period and a nationally fixed fine are 422 naming the parameter; Haarlem may not adopt
    for Amsterdam (403); nothing is stored."""
    policy = "/api/v1/framework/handhaving-ze-zone/adoptions"
    short = problem_of(
        api.post(policy, json={"municipality": "GM0363", "deviations": {"warning_period_months": 3}}, headers=ams),
        422,
    )
    assert problem_fields(short) == {"deviations.warning_period_months"}
    fine = problem_of(
        api.post(policy, json={"municipality": "GM0363", "deviations": {"fine_eur_van": 95}}, headers=ams), 422
    )
    assert problem_fields(fine) == {"deviations.fine_eur_van"}
    problem_of(api.post(policy, json={"municipality": "GM0363", "deviations": {}}, headers=hlm), 403)
    view = api.get("/api/v1/harmonisation", params={"municipality": "GM0363"}).json()
    assert view["municipalities"][0]["items"]["handhaving-ze-zone"]["status"] == "not_adopted"


def test_the_framework_is_seeded_once(api: TestClient) -> None:
    """Reading the framework twice lists the same items once each, with the harmonised values."""
    first = api.get("/api/v1/framework").json()
    second = api.get("/api/v1/framework").json()
    ids = [i["id"] for i in first["items"]]
    assert ids == [i["id"] for i in second["items"]] and len(ids) == len(set(ids))
    items = {i["id"]: i for i in first["items"]}
    assert items["venstertijd-winkelgebied"]["parameters"]["window"]["value"] == "Mo-Sa 07:00-11:00; PH off"
    assert items["handhaving-ze-zone"]["parameters"]["fine_eur_truck"]["value"] == 310
    assert items["ontheffing-ze-dagontheffing"]["exemption_type"] == "ze-dagontheffing"


def test_versions_are_public_and_cached(api: TestClient) -> None:
    """Anyone may read a zone's versions; the ETag answers 304 until the register changes; unknown is 404/422."""
    response = api.get("/api/v1/zones/ams-osdorpplein/versions/1")
    assert response.status_code == 200 and response.json()["record"]["id"] == "ams-osdorpplein"
    again = api.get("/api/v1/zones/ams-osdorpplein/versions/1", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
    problem_of(api.get("/api/v1/zones/ams-osdorpplein/versions/7"), 404)
    problem_of(api.get("/api/v1/zones/no-such-zone/versions"), 404)
    problem_of(api.get("/api/v1/zones/ams%00x/versions"), 422)  # PostgreSQL text cannot hold NUL
