"""The officers' camera-enforcement pages (TestClient) on a small seeded SYNTHETIC day: they show what
``/api/v1/enforcement`` shows, scoped to the officer's municipalities; applicants and visitors are refused; every
list, view and download is logged; a review decision made on the page goes through the pipeline."""

from __future__ import annotations

import csv
import io
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import lxml.html
import polars as pl
import pytest
from fastapi.testclient import TestClient
from portal_support import PASSWORD, csrf_of
from sqlalchemy import select

from ruas.api.app import create_app
from ruas.core.config import Settings
from ruas.enforcement.cameras import save_cameras
from ruas.enforcement.passages import ingest, normalise
from ruas.enforcement.pipeline import Context, run
from ruas.enforcement.storage import Store
from ruas.enforcement.synthetic import synthetic_cameras, synthetic_passages
from ruas.register.store import Register
from ruas.services.accounts import create_user
from ruas.services.desk import day_validity
from ruas.store.db import make_engine, session_scope
from ruas.store.models import Application, Sanction, User, ViolationAccess

DAY = date(2025, 9, 10)
ZE_AMS = "NDW11_64717e49-b364-4001-b6f9-14270d068764"
NOW = datetime(2025, 9, 11, 8, 0, tzinfo=UTC)
ACCOUNTS = (
    ("applicant", "applicant", "12345678", ()),
    ("officer-ams", "officer", None, ("GM0363",)),
    ("officer-hlm", "officer", None, ("GM0392",)),
    ("region-admin", "admin", None, ()),
)
LogIn = Callable[[TestClient, str], None]


@dataclass(frozen=True)
class Day:
    """What the synthetic day holds for the tests: a fined plate in ZE Amsterdam, its misread (in the review
    queue, letter O for a zero or a B for an 8), and a sanction withdrawn after a day exemption."""

    plate: str
    misread: str
    withdrawn_id: str


def _misread(plate: str) -> str:
    for i, ch in enumerate(plate):
        if ch.isdigit():
            return plate[:i] + "O" + plate[i + 1 :]  # no plate of the register holds the letter O
    raise AssertionError(plate)


def enforce_synthetic_day(data_dir: Path, passages: int = 3000, seed: int = 7) -> Day:
    """Cameras on the real zone boundaries and a seeded SYNTHETIC day of passages, evaluated; then a misread of a
    fined Amsterdam plate, and a day exemption granted afterwards for another fined plate, and the day re-run."""
    register = Register.open(data_dir)
    ctx = Context(register, Store(data_dir))
    cams = synthetic_cameras(register.book)
    with session_scope(ctx.engine) as s:
        save_cameras(s, cams, NOW)
    batch = synthetic_passages(register.book, register.vehicles, cams, DAY, passages, seed=seed)
    with session_scope(ctx.engine) as s:
        ingest(ctx.store, s, normalise(batch), now=NOW)
    run(ctx, now=NOW)
    with session_scope(ctx.engine) as s:
        fines = list(
            s.scalars(
                select(Sanction)
                .where(Sanction.municipality == "GM0363", Sanction.zone_id == ZE_AMS, Sanction.kind == "fine")
                .order_by(Sanction.plate)
            )
        )
        assert len(fines) >= 2, "the synthetic day should fine at least two vehicles in ZE Amsterdam"
        fined, exempted = fines[0], fines[1]
        applicant = s.scalar(select(User).where(User.username == "applicant"))
        assert applicant is not None
        validity = day_validity(DAY)
        s.add(
            Application(
                id="app-enforcement-pages", applicant_id=applicant.id, kvk="12345678", type_id="ze-dagontheffing",
                plate=exempted.plate, municipality="GM0363", zones=[], valid_from=validity.start,
                valid_until=validity.end, window=None, status="granted", eligibility=[], details={}, fee_eur=30.0,
                payment_status="due", motivation="", decided_by="ruas-desk", decided_at=NOW, created_at=NOW,
                row_version=1,
            )
        )  # fmt: skip
        plate, camera, at = fined.plate, fined.camera_id, fined.passage_at
        withdrawn_id = exempted.id
    later = at + timedelta(minutes=17)
    misread = pl.DataFrame(
        {"camera_id": [camera], "at": [later], "plate": [_misread(plate)], "confidence": [0.93], "country": [None]},
        schema={
            "camera_id": pl.Utf8,
            "at": pl.Datetime("us", "UTC"),
            "plate": pl.Utf8,
            "confidence": pl.Float64,
            "country": pl.Utf8,
        },
    )
    with session_scope(ctx.engine) as s:
        ingest(ctx.store, s, normalise(misread), now=NOW)
    run(ctx, [DAY], now=NOW)
    return Day(plate, _misread(plate), withdrawn_id)


def _accounts(path: Path) -> None:
    with session_scope(Register(path).store.engine) as s:
        for username, role, kvk, codes in ACCOUNTS:
            create_user(
                s, username=username, password=PASSWORD, role=role, now=NOW, kvk=kvk, municipalities=codes
            )  # fmt: skip


@pytest.fixture(scope="module")
def prepared(seeded_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Day]:
    """A seeded register with the accounts and the enforced synthetic day (made once, copied per test)."""
    path = tmp_path_factory.mktemp("enforcement-pages") / "data"
    shutil.copytree(seeded_dir, path)
    saved = os.environ.pop("RUAS_DATABASE_URL", None)
    try:
        _accounts(path)
        day = enforce_synthetic_day(path)
        with make_engine(f"sqlite:///{path / 'ruas.db'}").connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        if saved is not None:
            os.environ["RUAS_DATABASE_URL"] = saved
    return path, day


@dataclass
class Site:
    client: TestClient
    data_dir: Path
    day: Day

    def log(self) -> list[ViolationAccess]:
        with session_scope(Register(self.data_dir).store.engine) as s:
            return list(s.scalars(select(ViolationAccess).order_by(ViolationAccess.id)))

    def sanction(self, sid: str) -> Sanction:
        with session_scope(Register(self.data_dir).store.engine) as s:
            found = s.get(Sanction, sid)
            assert found is not None
            return found


@pytest.fixture
def site(prepared: tuple[Path, Day], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """A TestClient over the whole app on a fresh copy of the enforced day."""
    source, day = prepared
    path = tmp_path / "data"
    shutil.copytree(source, path)
    monkeypatch.setenv("RUAS_DATA_DIR", str(path))
    monkeypatch.delenv("RUAS_DATABASE_URL", raising=False)
    monkeypatch.setenv("RUAS_TILE_URL", "")
    settings = Settings(env="development", data_dir=path, secret_key="x" * 40, anonymous_checks_per_minute=100_000)
    with TestClient(create_app(settings)) as client:
        yield Site(client, path, day)


def _log_in(client: TestClient, username: str) -> None:
    page = client.get("/login")
    r = client.post(
        "/login",
        data={"csrf_token": csrf_of(page.text), "username": username, "password": PASSWORD, "next": ""},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def _doc(html: str) -> Any:
    return lxml.html.fromstring(html)


def _api(client: TestClient, path: str, **params: str) -> dict[str, Any]:
    r = client.get(f"/api/v1/enforcement{path}", params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _rows(html: str) -> list[tuple[str, str]]:
    return [
        (tr.get("data-sanction-id"), tr.get("data-municipality"))
        for tr in _doc(html).xpath("//table[@id='violations']/tbody/tr")
    ]


PAGES = ("/officer/violations", "/officer/review", "/officer/violations.csv")


@pytest.mark.parametrize("path", PAGES)
def test_visitors_are_sent_to_log_in_and_applicants_are_refused(site: Site, path: str) -> None:
    anonymous = site.client.get(path, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login?next=")
    _log_in(site.client, "applicant")
    refused = site.client.get(path)
    assert refused.status_code == 403
    assert not [a for a in site.log() if a.actor == "applicant"]


def test_an_applicant_cannot_open_a_case_nor_decide_a_read(site: Site) -> None:
    _log_in(site.client, "applicant")
    assert site.client.get(f"/officer/violations/{site.day.withdrawn_id}").status_code == 403
    page = site.client.get("/check")  # any page: the applicant's CSRF token
    r = site.client.post(
        "/officer/review/20250910-GM0363-0123456789abcdef",
        data={"csrf_token": csrf_of(page.text), "action": "dismiss"},
    )
    assert r.status_code == 403


def test_the_officer_sees_the_list_of_their_municipality_as_the_api_does(site: Site) -> None:
    _log_in(site.client, "officer-ams")
    page = site.client.get("/officer/violations", params={"day": DAY.isoformat()})
    assert page.status_code == 200 and '<html lang="nl">' in page.text
    assert "Camerahandhaving: overtredingen" in page.text and "Handhaving" in page.text
    rows = _rows(page.text)
    api = _api(site.client, "/violations", day=DAY.isoformat(), limit="50")
    assert [r[0] for r in rows] == [i["id"] for i in api["items"]]
    assert rows and {m for _, m in rows} == {"GM0363"}
    # filters: by kind, status and zone, as the API filters them
    for params in ({"kind": "fine"}, {"kind": "warning"}, {"status": "withdrawn"}, {"zone": ZE_AMS}):
        shown = [r[0] for r in _rows(site.client.get("/officer/violations", params=params).text)]
        assert shown == [i["id"] for i in _api(site.client, "/violations", limit="50", **params)["items"]], params
    assert _rows(site.client.get("/officer/violations", params={"day": "2025-09-11"}).text) == []
    # every listing is logged, by the pages exactly as by the API
    lists = [a for a in site.log() if a.actor == "officer-ams" and a.action == "list"]
    assert len(lists) == 11 and lists[0].detail["ids"] == [r[0] for r in rows]


def test_an_officer_of_another_municipality_sees_nothing_of_this_one(site: Site) -> None:
    _log_in(site.client, "officer-ams")
    ams = _api(site.client, "/violations", limit="1000")
    ams_review = _api(site.client, "/review")
    assert ams["total"] and ams_review["total"]
    site.client.post("/logout", data={"csrf_token": csrf_of(site.client.get("/").text)})
    _log_in(site.client, "officer-hlm")
    page = site.client.get("/officer/violations")
    assert page.status_code == 200
    shown = _rows(page.text)
    assert {m for _, m in shown} <= {"GM0392"}
    assert not {i["id"] for i in ams["items"]} & {sid for sid, _ in shown}
    assert site.client.get(f"/officer/violations/{ams['items'][0]['id']}").status_code == 403
    assert site.client.get("/officer/violations", params={"municipality": "GM0363"}).status_code == 403
    review = site.client.get("/officer/review")
    ams_items = {i["id"] for i in ams_review["items"]}
    assert not ams_items & set(_doc(review.text).xpath("//li/@data-item"))
    assert site.day.misread not in review.text and site.day.plate not in page.text
    item = next(iter(ams_items))
    r = site.client.post(f"/officer/review/{item}", data={"csrf_token": csrf_of(review.text), "action": "dismiss"})
    assert r.status_code == 403
    csv_text = site.client.get("/officer/violations.csv").text
    assert site.day.plate not in csv_text


def test_a_case_shows_its_evidence_the_rule_and_the_policy(site: Site) -> None:
    _log_in(site.client, "officer-ams")
    fine = _api(site.client, "/violations", zone=ZE_AMS, status="open", kind="fine", limit="1")["items"][0]
    page = site.client.get(f"/officer/violations/{fine['id']}")
    assert page.status_code == 200
    doc = _doc(page.text)
    assert doc.get_element_by_id("case").get("data-kind") == "fine"
    api = _api(site.client, f"/violations/{fine['id']}")
    assert len(doc.xpath("//table[@id='evidence']/tbody/tr")) == len(api["evidence"]) >= 1
    policy = doc.get_element_by_id("case-policy").text_content()
    assert "Een boete" in policy and "6 maanden" in policy and "1 juli 2025" in policy
    assert "Boetes 2025" in policy
    assert doc.get_element_by_id("case-reason").text_content().strip()
    views = [a for a in site.log() if a.action == "view" and a.sanction_id == fine["id"]]
    assert [a.actor for a in views] == ["officer-ams", "officer-ams"]  # the page and the API call


def test_a_sanction_withdrawn_after_reprocessing_says_so(site: Site) -> None:
    _log_in(site.client, "officer-ams")
    page = site.client.get(f"/officer/violations/{site.day.withdrawn_id}")
    assert page.status_code == 200
    doc = _doc(page.text)
    assert doc.get_element_by_id("case").get("data-status") == "withdrawn"
    assert "Ingetrokken" in doc.get_element_by_id("withdrawn-notice").text_content()
    assert site.sanction(site.day.withdrawn_id).revision == 2


def test_the_officer_corrects_a_misread_on_the_review_page(site: Site) -> None:
    _log_in(site.client, "officer-ams")
    page = site.client.get("/officer/review")
    assert page.status_code == 200 and "controlewachtrij" in page.text
    doc = _doc(page.text)
    item = next(
        li.get("data-item") for li in doc.xpath("//ol[@id='review-items']/li") if site.day.misread in li.text_content()
    )
    before = _api(site.client, "/violations", zone=ZE_AMS, day=DAY.isoformat(), limit="1000")
    (existing,) = [i for i in before["items"] if i["plate"] == site.day.plate]
    token = csrf_of(page.text)
    # a plate the register does not hold: refused on the page, in Dutch, nothing changes
    bad = site.client.post(f"/officer/review/{item}", data={"csrf_token": token, "action": "correct", "plate": "12"})
    assert bad.status_code == 422 and "Vul het kenteken in" in bad.text
    unknown = site.client.post(
        f"/officer/review/{item}", data={"csrf_token": token, "action": "correct", "plate": "ZZ-999-Z"}
    )
    assert unknown.status_code == 422 and "niet in het voertuigregister" in unknown.text
    assert 'aria-invalid="true"' in unknown.text
    done = site.client.post(
        f"/officer/review/{item}",
        data={"csrf_token": token, "action": "correct", "plate": site.day.plate},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"].endswith(f"resolved={item}")
    after = site.client.get(done.headers["location"])
    notice = _doc(after.text).get_element_by_id("resolved")
    assert notice.get("data-action") == "correct" and notice.xpath(".//li[@data-outcome='violation']")
    assert f"/officer/violations/{existing['id']}" in notice.xpath(".//a/@href")
    assert item not in _doc(after.text).xpath("//li/@data-item")
    # one sanction per vehicle, zone and day: the corrected read joined the existing fine
    joined = site.sanction(existing["id"])
    assert (joined.passages, joined.revision) == (existing["passages"] + 1, existing["revision"] + 1)
    again = site.client.post(
        f"/officer/review/{item}", data={"csrf_token": token, "action": "correct", "plate": site.day.plate}
    )
    assert again.status_code == 409 and "Iemand heeft al" in again.text
    assert site.sanction(existing["id"]).passages == existing["passages"] + 1
    case = site.client.get(f"/officer/violations/{existing['id']}")
    assert site.day.misread in _doc(case.text).get_element_by_id("corrections").text_content()
    audit = [a for a in site.log() if a.action == "review_correct"]
    assert [(a.actor, a.detail["plate_read"], a.detail["plate"]) for a in audit] == [
        ("officer-ams", site.day.misread, site.day.plate)
    ]


def test_the_list_downloads_as_csv_and_the_administrator_exports(site: Site) -> None:
    _log_in(site.client, "officer-ams")
    r = site.client.get("/officer/violations.csv", params={"kind": "fine"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    api = _api(site.client, "/violations", kind="fine", limit="1000")
    assert sorted(x["sanction_id"] for x in rows) == sorted(i["id"] for i in api["items"])
    assert {x["municipality"] for x in rows} == {"GM0363"} and {x["record_type"] for x in rows} == {"fine"}
    assert next(a.action for a in site.log() if a.actor == "officer-ams") == "download"
    assert 'id="export-form"' not in site.client.get("/officer/violations").text  # officers do not export
    site.client.post("/logout", data={"csrf_token": csrf_of(site.client.get("/").text)})
    _log_in(site.client, "region-admin")
    page = site.client.get("/officer/violations")
    assert 'id="export-form"' in page.text
    exported = site.client.post("/officer/violations/export", data={"csrf_token": csrf_of(page.text)})
    assert exported.status_code == 200 and exported.headers["content-disposition"].startswith("attachment")
    lines = list(csv.DictReader(io.StringIO(exported.text)))
    assert {x["municipality"] for x in lines} >= {"GM0363", "GM0392"}
    assert site.day.withdrawn_id not in {x["sanction_id"] for x in lines}  # withdrawn before any export
    nothing = site.client.post("/officer/violations/export", data={"csrf_token": csrf_of(page.text)})
    assert nothing.status_code == 200 and 'id="export-notice"' in nothing.text
    assert site.client.post("/officer/violations/export", data={}).status_code == 403  # no CSRF token


def test_english_under_the_switch(site: Site) -> None:
    _log_in(site.client, "officer-ams")
    site.client.get("/language?lang=en&next=/officer/review")
    page = site.client.get("/officer/review")
    assert '<html lang="en">' in page.text and "Camera enforcement: review queue" in page.text
    assert "controlewachtrij" not in page.text
