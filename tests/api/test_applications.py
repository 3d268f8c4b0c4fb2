"""HTTP tests of the exemption desk: every endpoint and role, the day-exemption limits through ``POST /checks``,
no access while pending, concurrent decisions, idempotent retries, bounded uploads, fees and payments.

Every test runs on SQLite and PostgreSQL (``backend_dir``); the desk's clock is fixed per test.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ruas.api.app import create_app
from ruas.api.routes.applications import WEBHOOK_HEADER, desk_now
from ruas.core.config import Settings
from ruas.domain.timeutil import LOCAL_TZ
from ruas.services.accounts import create_token, create_user
from ruas.store.db import session_scope
from ruas.store.models import Adoption, Application, AuditEntry, EvidenceFile, FrameworkItem

ZE_AMSTERDAM = "NDW11_64717e49-b364-4001-b6f9-14270d068764"
ZE_HAARLEM = "NDW11_24e47dbf-8f58-49ba-8765-fce49fb94ac5"
DIESEL_VAN = "V000NQ"  # N1, diesel, class 3, 2004: no access to any ZE zone
OTHER_VAN = "V000DQ"  # N1, diesel, class 5, 2009: no access to ZE zones from 2027
UNREGISTERED = "QQ999Q"
NOW = datetime(2027, 3, 10, 15, 0, tzinfo=LOCAL_TZ)
UPLOAD_LIMIT = 4096
WEBHOOK_TOKEN = "whk_" + "s" * 40
PDF = b"%PDF-1.7\n% proof of order\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32

ACCOUNTS: dict[str, dict[str, Any]] = {
    "acme": {"role": "applicant", "kvk": "12345678"},
    "acme-2": {"role": "applicant", "kvk": "12345678"},  # a second account of the same business
    "globex": {"role": "applicant", "kvk": "87654321"},
    "ams": {"role": "officer", "municipalities": ("GM0363",)},
    "ams-2": {"role": "officer", "municipalities": ("GM0363",)},
    "hlm": {"role": "officer", "municipalities": ("GM0392",)},
    "admin": {"role": "admin"},
}
"""The accounts a test may ask for (made on first use): two businesses, three officers and an administrator."""


class Desk:
    """A TestClient over the service with a settable desk clock and accounts made on demand."""

    def __init__(self, app: FastAPI, client: TestClient) -> None:
        self.app = app
        self.client = client
        self.now = NOW
        self.tokens: dict[str, str] = {}

    def auth(self, who: str) -> dict[str, str]:
        """The bearer header of account ``who`` (created on first use)."""
        if who not in self.tokens:
            spec = ACCOUNTS[who]
            with session_scope(self.app.state.register.register.store.engine) as s:
                now = datetime.now(UTC)
                user = create_user(
                    s,
                    username=who,
                    password="correct-horse-battery",
                    role=spec["role"],
                    now=now,
                    kvk=spec.get("kvk"),
                    municipalities=spec.get("municipalities", ()),
                )
                self.tokens[who] = create_token(s, user, name="test", now=now)
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def post(self, path: str, who: str | None = None, **kwargs: Any) -> httpx.Response:
        """POST to ``/api/v1{path}`` as ``who`` (anonymous when None)."""
        headers = {**(self.auth(who) if who else {}), **kwargs.pop("headers", {})}
        return self.client.post(f"/api/v1{path}", headers=headers, **kwargs)

    def get(self, path: str, who: str | None = None, **kwargs: Any) -> httpx.Response:
        """GET ``/api/v1{path}`` as ``who`` (anonymous when None)."""
        return self.client.get(f"/api/v1{path}", headers=self.auth(who) if who else {}, **kwargs)

    def apply(self, who: str = "acme", **body: Any) -> httpx.Response:
        """File an application (defaults: the class-3 diesel van, Amsterdam)."""
        return self.post("/applications", who, json={"plate": DIESEL_VAN, "municipality": "GM0363", **body})

    def day(self, day: str, who: str = "acme", **body: Any) -> dict[str, Any]:
        """File a ZE day exemption that must be answered 201; its body."""
        response = self.apply(who, type_id="ze-dagontheffing", day=day, **body)
        assert response.status_code == 201, response.text
        out: dict[str, Any] = response.json()
        return out

    def long(self, type_id: str = "ze-levertijd", who: str = "acme", **body: Any) -> dict[str, Any]:
        """File a long exemption that must be answered 201; its body."""
        response = self.apply(who, type_id=type_id, **body)
        assert response.status_code == 201, response.text
        out: dict[str, Any] = response.json()
        return out

    def upload(
        self, app_id: str, data: bytes, who: str = "acme", name: str = "proof.pdf", ctype: str = ""
    ) -> httpx.Response:
        """Upload evidence as multipart part ``file``."""
        return self.post(
            f"/applications/{app_id}/evidence", who, files={"file": (name, data, ctype or "application/pdf")}
        )

    def decide(self, app_id: str, who: str = "ams", **body: Any) -> httpx.Response:
        """Post a decision (default: grant the version 1 with a valid motivation)."""
        body = {"decision": "granted", "motivation": "meets the national criteria", "row_version": 1, **body}
        return self.post(f"/applications/{app_id}/decision", who, json=body)

    def access(self, zone: str, at: str, plate: str = DIESEL_VAN) -> dict[str, Any]:
        """The zone answer of ``POST /checks`` (anonymous) for the plate at a moment."""
        response = self.post("/checks", json={"plate": plate, "zone": zone, "at": at})
        assert response.status_code == 200, response.text
        out: dict[str, Any] = response.json()["zones"][0]
        return out

    def count(self, model: Any, *where: Any) -> int:
        """Rows of a table in the service's database."""
        with session_scope(self.app.state.register.register.store.engine) as s:
            return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


@pytest.fixture
def api(backend_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    """The service on a fresh seeded register (SQLite, PostgreSQL) with a 4 KiB upload limit and a webhook token."""
    monkeypatch.setenv("RUAS_PAYMENT_WEBHOOK_TOKEN", WEBHOOK_TOKEN)
    settings = Settings(
        env="development",
        data_dir=backend_dir,
        secret_key="x" * 40,
        anonymous_checks_per_minute=10000,
        max_upload_bytes=UPLOAD_LIMIT,
    )
    app = create_app(settings)
    with TestClient(app) as client:
        desk = Desk(app, client)
        app.dependency_overrides[desk_now] = lambda: desk.now
        yield desk


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """Assert an RFC 9457 problem with ``status``; its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


def instant(text: str) -> datetime:
    """An ISO-8601 string as an aware instant in UTC."""
    return datetime.fromisoformat(text).astimezone(UTC)


# --------------------------------------------------------------------------- public and anonymous


def test_exemption_types_are_public_with_fees_and_terms(api: Desk) -> None:
    """Anyone can list the exemption types with fee, yearly cap, validity, evidence and where they are offered."""
    response = api.get("/exemption-types")
    assert response.status_code == 200
    types = {t["id"]: t for t in response.json()}
    day = types["ze-dagontheffing"]
    assert (day["kind"], day["fee_eur"], day["max_per_year"], day["regional"]) == ("day", 30.0, 12, False)
    assert {"GM0363", "GM0392"} <= set(day["offered_in"])
    assert types["ze-netcongestie"]["longest_validity_months"] == 24
    assert types["ze-bedrijfseconomisch"]["min_visits_per_year"] == 13
    assert types["ze-levertijd"]["evidence_required"] is True
    assert api.get("/exemption-types", params={"municipality": "GM0363"}).status_code == 200
    problem(api.get("/exemption-types", params={"municipality": "GM9999"}), 404)


ENDPOINTS = [
    ("POST", "/applications"),
    ("GET", "/applications"),
    ("GET", "/applications/x"),
    ("POST", "/applications/x/decision"),
    ("POST", "/applications/x/evidence"),
    ("GET", "/applications/x/evidence"),
    ("GET", "/applications/x/evidence/y"),
    ("POST", "/applications/x/payment"),
]
"""Every desk endpoint that needs credentials."""


def test_anonymous_callers_get_401(api: Desk) -> None:
    """Without credentials every desk endpoint but the exemption types answers 401 (a problem naming the field)."""
    bodies = {
        "/applications": {"plate": DIESEL_VAN, "type_id": "ze-dagontheffing", "municipality": "GM0363"},
        "/applications/x/decision": {"decision": "granted", "motivation": "long enough text", "row_version": 1},
        "/applications/x/payment": {"reference": "tr_1"},
    }
    for method, path in ENDPOINTS:
        kwargs: dict[str, Any] = {"json": bodies[path]} if path in bodies else {}
        if path.endswith("/evidence") and method == "POST":
            kwargs = {"files": {"file": ("a.pdf", PDF, "application/pdf")}}
        body = problem(api.client.request(method, f"/api/v1{path}", **kwargs), 401)
        assert body["errors"][0]["field"] == "authorization", (method, path)
    assert api.count(Application) == 0


# --------------------------------------------------------------------------- day exemptions


def test_day_exemption_is_granted_at_once_and_changes_the_check_immediately(api: Desk) -> None:
    """Before: no access. After the automatic grant: allowed with exemption until 06:00 the next day."""
    before = api.access(ZE_AMSTERDAM, "2027-03-10T16:00")
    assert before["access"] == "not_allowed"
    assert any(e["type_id"] == "ze-dagontheffing" for e in before["exemptions"])
    response = api.apply(type_id="ze-dagontheffing", day="2027-03-10")
    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == f"/api/v1/applications/{body['id']}"
    assert (body["status"], body["decided_by"], body["fee_eur"], body["payment_status"]) == (
        "granted",
        "ruas-desk",
        30.0,
        "due",
    )
    assert [c["rule"] for c in body["eligibility"] if not c["ok"]] == []
    after = api.access(ZE_AMSTERDAM, "2027-03-10T16:00")
    assert after["access"] == "allowed_with_exemption"
    assert instant(after["allowed_until"]) == instant("2027-03-11T06:00:00+01:00")


@pytest.mark.parametrize(
    ("at", "access"), [("2027-03-11T05:59", "allowed_with_exemption"), ("2027-03-11T06:00", "not_allowed")]
)
def test_day_exemption_covers_until_0559_and_not_at_0600(api: Desk, at: str, access: str) -> None:
    """The next morning 05:59 is still covered; at 06:00 the vehicle has no access again."""
    api.day("2027-03-10")
    assert api.access(ZE_AMSTERDAM, at)["access"] == access


@pytest.mark.parametrize(
    ("at", "access"),
    [("2027-03-28T05:59+02:00", "allowed_with_exemption"), ("2027-03-28T06:00+02:00", "not_allowed")],
)
def test_day_exemption_over_the_dst_night_ends_at_six_local(api: Desk, at: str, access: str) -> None:
    """Over the night the clocks go forward the grant ends at 06:00 CEST (04:00 UTC), 29 hours after it began."""
    api.now = datetime(2027, 3, 27, 9, 0, tzinfo=LOCAL_TZ)
    body = api.day("2027-03-27")
    assert instant(body["valid_until"]) == datetime(2027, 3, 28, 4, 0, tzinfo=UTC)
    assert api.access(ZE_AMSTERDAM, at)["access"] == access


def test_twelfth_day_exemption_is_granted_and_the_thirteenth_refused(api: Desk) -> None:
    """Per vehicle per municipality per calendar year: 12 granted, the 13th refused with its reason, free of charge."""
    for day in range(10, 22):
        assert api.day(f"2027-03-{day}")["status"] == "granted"
    thirteenth = api.day("2027-03-22")
    assert thirteenth["status"] == "refused"
    assert "13th day exemption this year refused" in thirteenth["motivation"]
    cap = next(c for c in thirteenth["eligibility"] if c["rule"] == "yearly_cap")
    assert not cap["ok"] and cap["reason"].startswith("13th day exemption this year refused")
    assert (thirteenth["fee_eur"], thirteenth["payment_status"]) == (None, "not_required")
    assert api.access(ZE_AMSTERDAM, "2027-03-22T12:00")["access"] == "not_allowed"
    assert api.day("2027-03-22", municipality="GM0392")["status"] == "granted"  # per municipality
    assert api.day("2027-03-22", plate=OTHER_VAN)["status"] == "granted"  # per vehicle


def test_day_exemption_for_today_after_the_fact_but_not_for_yesterday(api: Desk) -> None:
    """Late on the day itself it is granted from 00:00; a past day is bad input and stores nothing."""
    api.now = datetime(2027, 6, 10, 23, 30, tzinfo=LOCAL_TZ)
    body = api.day("2027-06-10")
    assert body["status"] == "granted"
    assert instant(body["valid_from"]) == instant("2027-06-10T00:00:00+02:00")
    assert api.access(ZE_AMSTERDAM, "2027-06-10T08:00")["access"] == "allowed_with_exemption"
    error = problem(api.apply(type_id="ze-dagontheffing", day="2027-06-09"), 422)
    assert error["errors"][0]["field"] == "day"
    assert api.count(Application) == 1


def test_unregistered_plate_needs_declared_attributes(api: Desk) -> None:
    """A plate outside the register is refused without attributes and accepted with them (source: declared)."""
    problem(api.apply(type_id="ze-dagontheffing", day="2027-03-10", plate=UNREGISTERED), 422)
    vehicle = {
        "category": "N1",
        "fuel": "diesel",
        "emission_class": "4",
        "first_admission": "2008-01-01",
        "mass_kg": 2800,
    }
    body = api.day("2027-03-10", plate=UNREGISTERED, vehicle=vehicle)
    assert body["details"]["vehicle"]["source"] == "declared"
    registered = api.apply(type_id="ze-dagontheffing", day="2027-03-11", vehicle=vehicle)  # the register wins
    assert problem(registered, 422)["errors"][0]["field"] == "vehicle"


# --------------------------------------------------------------------------- long exemptions and decisions


def test_pending_gives_no_access_and_a_grant_counts_at_once_and_regionally(api: Desk) -> None:
    """Submitted: no access. After evidence and the officer's grant: access in Amsterdam and (regional) Haarlem."""
    app = api.long("ze-levertijd", valid_from="2027-03-10", valid_until="2027-09-01")
    assert (app["status"], app["kind"]) == ("submitted", "long")
    assert "GM0392" in app["regional_municipalities"]
    assert api.access(ZE_AMSTERDAM, "2027-03-12T10:00")["access"] == "not_allowed"
    assert problem(api.decide(app["id"]), 422)["errors"][0]["field"] == "evidence"  # evidence first
    assert api.upload(app["id"], PDF).status_code == 201
    assert problem(api.decide(app["id"], row_version=1), 409)["errors"][0]["field"] == "row_version"
    granted = api.decide(app["id"], row_version=2)
    assert granted.status_code == 200, granted.text
    decided = granted.json()
    assert (decided["status"], decided["decided_by"], decided["row_version"]) == ("granted", "ams", 3)
    assert instant(decided["valid_from"]) == NOW  # not before the decision
    assert api.access(ZE_AMSTERDAM, "2027-03-12T10:00")["access"] == "allowed_with_exemption"
    assert api.access(ZE_HAARLEM, "2027-03-12T10:00")["access"] == "allowed_with_exemption"
    assert instant(api.access(ZE_AMSTERDAM, "2027-03-12T10:00")["allowed_until"]) == instant(
        "2027-09-01T00:00:00+02:00"
    )


@pytest.mark.parametrize(
    ("at", "access"),
    [("2027-03-15T12:00", "allowed_with_exemption"), ("2027-03-15T14:00", "not_allowed")],
)
def test_delivery_window_exemption_counts_only_in_its_window(api: Desk, at: str, access: str) -> None:
    """A venstertijd exemption for Osdorpplein with window 11:00-13:00 lets the van in at 12:00, not at 14:00."""
    problem(api.apply(type_id="ze-hardheid", window="Mo-Fr 11:00-13:00"), 422)  # only delivery-window types
    body = api.long("venstertijd-ontheffing", zones=["ams-osdorpplein"], window="Mo-Fr 11:00-13:00")
    assert (body["zones"], body["window"]) == (["ams-osdorpplein"], "Mo-Fr 11:00-13:00")
    assert api.decide(body["id"]).status_code == 200
    assert api.access("ams-osdorpplein", at)["access"] == access


def test_decision_roles_and_municipalities(api: Desk) -> None:
    """GM0363 officer deciding a GM0392 case: 403; applicant: 403; short motivation: 422; admin: 200."""
    haarlem = api.long("ze-hardheid", municipality="GM0392")
    assert problem(api.decide(haarlem["id"], who="ams"), 403)["errors"][0]["field"] == "municipality"
    assert problem(api.decide(haarlem["id"], who="acme"), 403)["errors"][0]["field"] == "role"
    problem(api.decide(haarlem["id"], who="hlm", motivation="too short"), 422)
    problem(api.decide(haarlem["id"], who="hlm", motivation="a NUL \x00 byte in it"), 422)  # PostgreSQL text
    assert api.get(f"/applications/{haarlem['id']}", "acme").json()["status"] == "submitted"
    refused = api.decide(haarlem["id"], who="admin", decision="refused", motivation="no hardship demonstrated")
    assert refused.status_code == 200 and refused.json()["status"] == "refused"
    assert problem(api.decide(haarlem["id"], who="hlm", row_version=2), 409)["errors"][0]["field"] == "status"
    problem(api.decide("no-such-id", who="admin"), 404)


def test_two_concurrent_decisions_one_200_one_409(api: Desk) -> None:
    """Two officers post a decision on the same version at once: exactly one 200 and one 409, one audit entry."""
    app_id = api.long("ze-hardheid")["id"]
    api.auth("ams"), api.auth("ams-2")
    barrier = threading.Barrier(2)
    statuses: dict[str, int] = {}

    def decide(who: str, decision: str) -> None:
        barrier.wait()
        statuses[who] = api.decide(
            app_id, who=who, decision=decision, motivation=f"{decision} by {who} today"
        ).status_code

    threads = [threading.Thread(target=decide, args=a) for a in (("ams", "granted"), ("ams-2", "refused"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(statuses.values()) == [200, 409], statuses
    winner = next(who for who, status in statuses.items() if status == 200)
    stored = api.get(f"/applications/{app_id}", "ams").json()
    assert (stored["decided_by"], stored["row_version"]) == (winner, 2)
    assert api.count(AuditEntry, AuditEntry.action == "application.decide", AuditEntry.entity_id == app_id) == 1


# --------------------------------------------------------------------------- reading and the queue


def test_applicants_read_their_business_applications_only(api: Desk) -> None:
    """Another account of the same KvK reads it; another business gets 404 and an empty list."""
    app_id = api.day("2027-03-10")["id"]
    assert api.get(f"/applications/{app_id}", "acme-2").status_code == 200
    problem(api.get(f"/applications/{app_id}", "globex"), 404)
    problem(api.get("/applications/does-not-exist", "globex"), 404)  # same answer: existence is not revealed
    problem(api.get("/applications/a%00b", "acme"), 404)
    assert api.get("/applications", "globex").json()["total"] == 0
    assert [a["id"] for a in api.get("/applications", "acme").json()["items"]] == [app_id]


def test_officer_queue_is_their_municipalities_filtered_and_paginated(api: Desk) -> None:
    """An officer sees their municipality's cases (by status, paged), not another's; the admin sees all."""
    first = api.long("ze-hardheid")["id"]
    api.now = NOW + timedelta(minutes=1)  # the queue is oldest first
    second = api.long("ze-netcongestie")["id"]
    api.day("2027-03-10")
    haarlem = api.long("ze-hardheid", municipality="GM0392")["id"]
    queue = api.get("/applications", "ams", params={"status": "submitted", "page_size": 1}).json()
    assert (queue["total"], [a["id"] for a in queue["items"]]) == (2, [first])
    page2 = api.get("/applications", "ams", params={"status": "submitted", "page_size": 1, "page": 2}).json()
    assert [a["id"] for a in page2["items"]] == [second]
    assert api.get("/applications", "ams").json()["total"] == 3
    problem(api.get("/applications", "ams", params={"municipality": "GM0392"}), 403)
    problem(api.get(f"/applications/{haarlem}", "ams"), 403)
    problem(api.get("/applications", "ams", params={"status": "pending"}), 422)
    problem(api.get("/applications", "admin", params={"type_id": "x\x00"}), 422)
    problem(api.get("/applications", "admin", params={"municipality": "GM\x00"}), 422)
    assert api.get("/applications", "admin").json()["total"] == 4
    assert api.get("/applications", "admin", params={"municipality": "GM0392"}).json()["total"] == 1


def test_admin_files_for_a_business_and_officers_do_not_file(api: Desk) -> None:
    """The administrator files with a KvK number (seen by that business); an officer may not file."""
    problem(api.apply("admin", type_id="ze-hardheid"), 422)
    body = api.long("ze-hardheid", who="admin", kvk="87654321")
    assert api.get(f"/applications/{body['id']}", "globex").status_code == 200
    problem(api.apply("ams", type_id="ze-hardheid"), 403)
    problem(api.apply("acme", type_id="ze-hardheid", kvk="87654321"), 403)


# --------------------------------------------------------------------------- idempotency


def test_retry_with_the_same_key_creates_nothing_twice(api: Desk) -> None:
    """The same key and body replays the stored 201; the same key with another body is 422 and creates nothing."""
    key = {"Idempotency-Key": "retry-7f3a"}
    body = {"plate": DIESEL_VAN, "municipality": "GM0363", "type_id": "ze-dagontheffing", "day": "2027-03-10"}
    first = api.post("/applications", "acme", json=body, headers=key)
    again = api.post("/applications", "acme", json=body, headers=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    other = api.post("/applications", "acme", json={**body, "day": "2027-03-11"}, headers=key)
    assert problem(other, 422)["errors"][0]["field"] == "Idempotency-Key"
    assert api.count(Application) == 1
    assert api.post("/applications", "acme-2", json=body, headers=key).status_code == 201  # keys are per account
    assert api.count(Application) == 2


def test_a_failed_request_stores_nothing_and_its_key_can_be_retried(api: Desk) -> None:
    """A refused request (past day) keeps neither application nor key; the corrected retry with the key succeeds."""
    key = {"Idempotency-Key": "k-1"}
    body = {"plate": DIESEL_VAN, "municipality": "GM0363", "type_id": "ze-dagontheffing", "day": "2027-03-01"}
    problem(api.post("/applications", "acme", json=body, headers=key), 422)
    assert api.count(Application) == 0
    assert api.post("/applications", "acme", json={**body, "day": "2027-03-10"}, headers=key).status_code == 201


def test_retried_decision_replays_without_deciding_again(api: Desk) -> None:
    """A decision retried with its key returns the stored answer; nothing is decided or audited twice."""
    app_id = api.long("ze-hardheid")["id"]
    key = {"Idempotency-Key": "decision-1"}
    body = {"decision": "refused", "motivation": "no hardship demonstrated", "row_version": 1}
    first = api.post(f"/applications/{app_id}/decision", "ams", json=body, headers=key)
    again = api.post(f"/applications/{app_id}/decision", "ams", json=body, headers=key)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json()["row_version"] == first.json()["row_version"] == 2
    assert api.count(AuditEntry, AuditEntry.action == "application.decide") == 1
    problem(api.post(f"/applications/{app_id}/decision", "ams", json=body), 409)  # without the key: a new request


# --------------------------------------------------------------------------- evidence


def test_evidence_upload_list_and_download_by_role(api: Desk) -> None:
    """The applicant uploads and reads; GM0363 officers read; GM0392 officers 403; other businesses 404."""
    app_id = api.long("ze-levertijd")["id"]
    uploaded = api.upload(app_id, PNG, name="../../order.png", ctype="image/png")
    assert uploaded.status_code == 201, uploaded.text
    meta = uploaded.json()
    assert (meta["filename"], meta["content_type"], meta["size"]) == ("order.png", "image/png", len(PNG))
    for who in ("acme", "ams", "admin"):
        listed = api.get(f"/applications/{app_id}/evidence", who)
        assert [f["sha256"] for f in listed.json()] == [meta["sha256"]]
        download = api.get(meta["url"].removeprefix("/api/v1"), who)
        assert (download.status_code, download.content) == (200, PNG)
        assert download.headers["content-type"] == "image/png"
        assert download.headers["content-disposition"].startswith("attachment")
    problem(api.get(f"/applications/{app_id}/evidence", "hlm"), 403)
    problem(api.get(f"/applications/{app_id}/evidence", "globex"), 404)
    problem(api.get(f"/applications/{app_id}/evidence/nope", "acme"), 404)
    problem(api.upload(app_id, PDF, who="ams"), 403)
    problem(api.upload(app_id, PDF, who="globex"), 404)
    assert api.get(f"/applications/{app_id}", "acme").json()["row_version"] == 2  # the evidence check changed


@pytest.mark.parametrize(
    ("data", "ctype", "status"),
    [
        (PDF + b"x" * UPLOAD_LIMIT, "application/pdf", 413),  # one file over the limit
        (b"GIF89a" + b"\x00" * 20, "application/pdf", 415),  # the header says PDF, the content does not
        (b"MZ\x90\x00 not a document", "application/octet-stream", 415),
    ],
)
def test_oversized_or_wrong_type_upload_stores_nothing(api: Desk, data: bytes, ctype: str, status: int) -> None:
    """Too large (413) or not a PDF/PNG/JPEG by its magic bytes (415): a problem, and no file is stored."""
    app_id = api.long("ze-levertijd")["id"]
    body = problem(api.upload(app_id, data, ctype=ctype), status)
    assert body["errors"][0]["field"] == "file"
    assert api.count(EvidenceFile) == 0
    assert api.get(f"/applications/{app_id}", "acme").json()["row_version"] == 1


def test_upload_must_be_multipart_with_a_file_part(api: Desk) -> None:
    """A raw body is 415; a multipart body without a ``file`` part is 422; neither stores anything."""
    app_id = api.long("ze-levertijd")["id"]
    raw = api.post(f"/applications/{app_id}/evidence", "acme", content=PDF, headers={"Content-Type": "application/pdf"})
    problem(raw, 415)
    problem(
        api.post(f"/applications/{app_id}/evidence", "acme", files={"other": ("a.pdf", PDF, "application/pdf")}), 422
    )
    assert api.count(EvidenceFile) == 0


# --------------------------------------------------------------------------- fees and payment


def test_payment_is_recorded_by_the_provider_webhook_or_an_admin(api: Desk) -> None:
    """Applicants 403, anonymous 401, wrong token 401; the provider marks paid; a repeat is harmless."""
    app_id = api.day("2027-03-10")["id"]
    paid = {"reference": "tr_123", "amount_eur": 30}
    problem(api.post(f"/applications/{app_id}/payment", "acme", json=paid), 403)
    problem(api.post(f"/applications/{app_id}/payment", json=paid), 401)
    problem(api.post(f"/applications/{app_id}/payment", json=paid, headers={WEBHOOK_HEADER: "guess"}), 401)
    problem(
        api.post(
            f"/applications/{app_id}/payment", json={**paid, "amount_eur": 3}, headers={WEBHOOK_HEADER: WEBHOOK_TOKEN}
        ),
        422,
    )
    done = api.post(f"/applications/{app_id}/payment", json=paid, headers={WEBHOOK_HEADER: WEBHOOK_TOKEN})
    assert done.status_code == 200, done.text
    assert done.json()["payment_status"] == "paid"
    assert done.json()["details"]["payment"]["recorded_by"] == "payment-provider"
    repeat = api.post(f"/applications/{app_id}/payment", json=paid, headers={WEBHOOK_HEADER: WEBHOOK_TOKEN})
    assert repeat.status_code == 200 and repeat.json()["payment_status"] == "paid"
    problem(api.post(f"/applications/{app_id}/payment", "admin", json={"reference": "tr_999"}), 409)
    second = api.day("2027-03-11")["id"]
    assert api.post(f"/applications/{second}/payment", "admin", json={"reference": "cash-1"}).status_code == 200
    assert api.count(AuditEntry, AuditEntry.action == "application.payment") == 2


def test_the_applicant_pays_also_when_refused(api: Desk) -> None:
    """With a fee adopted for levertijd, an officer's refusal leaves the fee due; without a fee none is due."""
    free = api.long("ze-hardheid")
    assert (free["fee_eur"], free["payment_status"]) == (None, "not_required")
    problem(api.post(f"/applications/{free['id']}/payment", "admin", json={"reference": "x"}), 409)
    with session_scope(api.app.state.register.register.store.engine) as s:
        s.merge(
            FrameworkItem(
                id="ontheffing-ze-levertijd",
                kind="exemption_type",
                title="ZE delivery-time exemption",
                data={"exemption_type": "ze-levertijd", "parameters": {"fee_eur": {"type": "number", "value": None}}},
                version=1,
                updated_at=datetime.now(UTC),
            )
        )
        s.flush()
        s.add(
            Adoption(
                municipality="GM0363",
                item_id="ontheffing-ze-levertijd",
                deviations={"fee_eur": 75},
                adopted_by="ams",
                adopted_at=datetime.now(UTC),
            )
        )
    app = api.long("ze-levertijd")
    assert (app["fee_eur"], app["payment_status"]) == (75.0, "due")
    refused = api.decide(app["id"], decision="refused", motivation="no zero-emission vehicle on order")
    assert refused.status_code == 200
    assert (refused.json()["status"], refused.json()["payment_status"]) == ("refused", "due")
    assert api.long("ze-levertijd", municipality="GM0392")["fee_eur"] is None  # Haarlem adopted no fee
