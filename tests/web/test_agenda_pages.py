"""The agenda's portal pages (TestClient): they show what ``/api/v1/agenda`` says, in Dutch and English; only the
regional administrator sees edit forms and may post them; refused edits store nothing and say why."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from fastapi.testclient import TestClient
from portal_support import PASSWORD, csrf_of

from ruas.agenda.loader import region_municipalities
from ruas.domain.timeutil import LOCAL_TZ
from ruas.register.store import Register
from ruas.services.accounts import create_user
from ruas.store.db import session_scope

LogIn = Callable[[TestClient, str], None]
ON = "2025-07-01"
ZE = "ze-zones-kennis-delen"
STATUS_URL = f"/agenda/activities/{ZE}/steps/1/status"
TODAY = datetime.now(UTC).astimezone(LOCAL_TZ).date().isoformat()


@pytest.fixture
def admin(portal: TestClient, data_dir: Path) -> str:
    """A regional administrator account (role ``admin``) in the portal's register; its username."""
    with session_scope(Register(data_dir).store.engine) as s:
        create_user(s, username="agenda-admin", password=PASSWORD, role="admin", now=datetime.now(UTC))
    return "agenda-admin"


def _doc(html: str) -> Any:
    return lxml.html.fromstring(html)


def _api(portal: TestClient, path: str, **params: str) -> dict[str, Any]:
    response = portal.get(f"/api/v1/agenda{path}", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _status_form(page: str, seq: int = 1) -> dict[str, str]:
    form = _doc(page).get_element_by_id(f"step-{seq}-form")
    return {i.get("name"): i.get("value") or "" for i in form.xpath(".//input[@type='hidden']")}


# --------------------------------------------------------------------------- reading


def test_roadmap_shows_every_planned_step_as_the_api_does(portal: TestClient) -> None:
    page = portal.get("/agenda", params={"on": ON})
    assert page.status_code == 200
    doc = _doc(page.text)
    assert doc.get("lang") == "nl"
    api = _api(portal, "/roadmap", on=ON)
    shown = {
        (
            row.get("data-activity"),
            td.get("data-year"),
            li.get("data-step"),
            li.get("data-status"),
            li.get("data-overdue"),
        )
        for row in doc.xpath("//table[@class='roadmap']/tbody/tr")
        for td in row.xpath("./td")
        for li in td.xpath(".//li")
    }
    expected = {
        (r["id"], year, s["id"], s["status"], "1" if s["overdue"] else None)
        for r in api["rows"]
        for year, steps in r["years"].items()
        for s in steps
    } | {(r["id"], "none", s["id"], s["status"], None) for r in api["rows"] for s in r["undated"]}
    assert shown == expected
    assert len(doc.xpath("//table[@class='roadmap']/tbody/tr")) == 18
    headings = [h.text_content().strip() for h in doc.xpath("//section[@class='theme']/h2")]
    assert headings == [
        "Programmamanagement",
        "Toegang tot binnensteden",
        "Laad- en tankinfrastructuur",
        "Duurzaam inkopen",
        "Smart logistics",
    ]
    # colour is never alone: the overdue pilot in Aalsmeer says so in words
    (hubs,) = doc.xpath("//tr[@data-activity='logistieke-hubs']/td[@data-year='2023']//li")
    assert hubs.get("data-overdue") == "1"
    assert "niet gestart" in hubs.text_content() and "achter op planning" in hubs.text_content()
    assert doc.xpath("//nav[@aria-label='Hoofdmenu']//a[@href='/agenda'][@aria-current='page']")


def test_pages_in_english(portal: TestClient) -> None:
    portal.cookies.set("ruas_lang", "en")
    page = portal.get("/agenda", params={"on": ON})
    doc = _doc(page.text)
    assert doc.get("lang") == "en"
    (hubs,) = doc.xpath("//tr[@data-activity='logistieke-hubs']/td[@data-year='2023']//li")
    assert "not started" in hubs.text_content() and "overdue" in hubs.text_content()
    assert "Programme management" in page.text
    activity = portal.get(f"/agenda/activities/{ZE}", params={"on": ON}).text
    assert "The activity sheet (as written)" in activity and "Steps 2023–2026" in activity
    dashboard = portal.get("/agenda/dashboard", params={"on": ON}).text
    assert "Steering group dashboard" in dashboard and "Overdue steps" in dashboard


def test_activity_page_shows_the_sheet_parties_money_steps_and_figures(portal: TestClient) -> None:
    page = portal.get(f"/agenda/activities/{ZE}", params={"on": ON})
    assert page.status_code == 200
    doc = _doc(page.text)
    api = _api(portal, f"/activities/{ZE}", on=ON)
    rows = doc.xpath("//table[@class='steps-table']/tbody/tr")
    assert [(r.get("data-step"), r.get("data-status"), r.get("data-overdue")) for r in rows] == [
        (s["id"], s["status"], "1" if s["overdue"] else "0") for s in api["steps"]
    ]
    text = doc.text_content()
    assert api["sheet"]["current_situation"] in text
    assert "Projecttrekker" in text and "Alle ZE-zone gemeenten" in text
    assert "Middelen: Niet voorzien" in text
    actions = doc.xpath("//dd[@data-role='action_holder']/a/@href")
    assert "/agenda/organisations/provincie-noord-holland?on=2025-07-01" in actions
    (metric,) = doc.xpath("//section[@data-metric='ze_zones_live']")
    assert metric.get("data-available") == "true"
    assert metric.xpath(".//a[@href='/agenda/organisations/GM0363?on=2025-07-01']")  # Amsterdam's row
    assert metric.xpath(".//a[@href='/api/v1/zones']") and metric.xpath(".//a[@href='/']")
    for note in api["source_notes"]:
        assert note in text
    assert doc.xpath("//a[@href='/api/v1/agenda/report?date=2025-07-01&format=pdf']")


def test_a_source_contradiction_is_shown(portal: TestClient) -> None:
    api = _api(portal, "/activities/pakketkluizen", on=ON)
    assert any("20.000" in n and "50.000" in n for n in api["source_notes"])
    doc = _doc(portal.get("/agenda/activities/pakketkluizen", params={"on": ON}).text)
    shown = [li.text_content() for li in doc.xpath("//section[@id='source-notes']//li")]
    assert shown == api["source_notes"]


@pytest.mark.parametrize("key", ["GM0479", "gemeente-zaanstad"])
def test_my_municipality_by_cbs_code_or_id(portal: TestClient, key: str) -> None:
    page = portal.get(f"/agenda/organisations/{key}", params={"on": ON})
    assert page.status_code == 200
    doc = _doc(page.text)
    api = _api(portal, "/organisations/GM0479", on=ON)
    shown = doc.xpath("//section[@data-role='action_holder']//tbody/tr/@data-activity")
    assert shown == [a["id"] for a in api["roles"]["action_holder"]]
    assert "bundeling-inkoop-anpr" in shown
    via = doc.xpath("//section[@id='via-groups']//tbody/tr")
    assert [(r.get("data-activity"), r.get("data-group")) for r in via] == [
        (v["activity"]["id"], v["group"]["id"]) for v in api["via_groups"]
    ]


def test_a_group_has_a_page_with_its_activities(portal: TestClient) -> None:
    doc = _doc(portal.get("/agenda/organisations/ze-zone-gemeenten", params={"on": ON}).text)
    api = _api(portal, "/organisations/ze-zone-gemeenten", on=ON)
    assert doc.xpath("//section[@data-role='involved']//tbody/tr/@data-activity") == [
        a["id"] for a in api["roles"]["involved"]
    ]
    assert ZE in [a["id"] for a in api["roles"]["involved"]]


def test_every_municipality_of_the_region_has_a_page(portal: TestClient) -> None:
    chooser = _doc(portal.get("/agenda/organisations").text)
    codes = chooser.xpath("//select[@id='org']/optgroup[1]/option/@value")
    assert sorted(codes) == sorted(region_municipalities()) and len(codes) == 50
    # a municipality the agenda does not name takes part through the groups (all municipalities)
    unnamed = next(c for c in codes if c not in {"GM0363", "GM0479", "GM0392", "GM0358"})
    api = _api(portal, f"/organisations/{unnamed}", on=ON)
    doc = _doc(portal.get(f"/agenda/organisations/{unnamed}", params={"on": ON}).text)
    assert len(doc.xpath("//section[@id='via-groups']//tbody/tr")) == len(api["via_groups"]) > 0
    go = portal.get("/agenda/organisations", params={"org": "GM0363"}, follow_redirects=False)
    assert go.status_code == 303 and go.headers["location"] == "/agenda/organisations/GM0363"
    assert portal.get("/agenda/organisations/GM9999").status_code == 404


def test_dashboard_counts_equal_the_api(portal: TestClient) -> None:
    doc = _doc(portal.get("/agenda/dashboard", params={"on": ON}).text)
    api = _api(portal, "/dashboard", on=ON)
    for theme in api["themes"]:
        (row,) = doc.xpath(f"//table[@class='per-theme']/tbody/tr[@data-theme='{theme['id'] or 'programme'}']")
        for status in ("not_started", "in_progress", "done", "delayed", "overdue"):
            assert row.xpath(f"./td[@data-status='{status}']")[0].text_content() == str(theme["steps"][status])
    assert doc.xpath("//ul[@id='overdue-list']/li/@data-step") == [s["id"] for s in api["overdue"]]
    assert doc.xpath("//ul[@id='open-list']/li/@data-step") == [s["id"] for s in api["open_this_year"]]
    members = [li.text_content() for li in doc.xpath("//section[@id='steering-group']//li")]
    assert len(members) == 5 and "Vervoerregio Amsterdam — voorzitter" in members[0]
    assert doc.xpath("//form[@id='report-form'][@action='/api/v1/agenda/report']")
    assert doc.xpath("//a[@id='report-pdf']/@href") == ["/api/v1/agenda/report?date=2025-07-01&format=pdf"]


@pytest.mark.parametrize("on", ["2025-13-01", "1999-12-31", "gisteren"])
def test_a_bad_day_is_named(portal: TestClient, on: str) -> None:
    page = portal.get("/agenda", params={"on": on})
    assert page.status_code == 422 and "on" in page.text


# --------------------------------------------------------------------------- roles


@pytest.mark.parametrize("username", [None, "applicant", "officer-ams"])
def test_only_the_administrator_edits(portal: TestClient, log_in: LogIn, username: str | None) -> None:
    """Officers (also of Amsterdam, an action holder), applicants and anonymous visitors see no edit form and
    are refused when they post one anyway; nothing is stored."""
    if username:
        log_in(portal, username)
    page = portal.get(f"/agenda/activities/{ZE}")
    assert page.status_code == 200
    assert "step-1-form" not in page.text and "budget-form" not in page.text and "note-form" not in page.text
    token = csrf_of(portal.get("/login").text) if username is None else csrf_of(page.text)
    posts = [
        (STATUS_URL, {"status": "done", "as_of": TODAY, "note": "", "expected_changes": "0"}),
        (f"/agenda/activities/{ZE}/budget", {"kind": "spent", "amount_eur": "10", "as_of": TODAY, "note": "x"}),
        (f"/agenda/activities/{ZE}/notes", {"text": "x", "as_of": TODAY}),
    ]
    for url, data in posts:
        refused = portal.post(url, data={"csrf_token": token, **data}, follow_redirects=False)
        assert refused.status_code == (401 if username is None else 403), url
    assert _api(portal, f"/activities/{ZE}")["events"] == []


def test_administrator_sets_a_status_and_sees_it_with_its_history(
    portal: TestClient, log_in: LogIn, admin: str
) -> None:
    log_in(portal, admin)
    page = portal.get(f"/agenda/activities/{ZE}").text
    form = _status_form(page)
    assert form["expected_changes"] == "0"
    saved = portal.post(
        STATUS_URL, data={**form, "status": "done", "as_of": "2023-09-01", "note": "Projectgroep gestart"}
    )
    assert saved.status_code == 200 and "form-saved" in saved.text
    doc = _doc(saved.text)
    row = doc.get_element_by_id("step-1")
    assert row.get("data-status") == "done" and row.get("data-overdue") == "0" and row.get("data-changes") == "1"
    assert "afgerond" in row.text_content() and "1 september 2023" in row.text_content()
    assert "Projectgroep gestart" in row.text_content() and admin in row.text_content()
    assert doc.xpath("//table[@class='edits']//tr[@data-action='step_status']")
    assert _api(portal, f"/activities/{ZE}")["steps"][0]["status"] == "done"
    roadmap = _doc(portal.get("/agenda").text)
    (cell,) = roadmap.xpath(f"//tr[@data-activity='{ZE}']/td[@data-year='2023']//li[@data-step='{ZE}/1']")
    assert cell.get("data-status") == "done"


def test_delayed_needs_a_note_and_nothing_is_stored(portal: TestClient, log_in: LogIn, admin: str) -> None:
    log_in(portal, admin)
    form = _status_form(portal.get(f"/agenda/activities/{ZE}").text)
    refused = portal.post(STATUS_URL, data={**form, "status": "delayed", "as_of": TODAY, "note": "  "})
    assert refused.status_code == 422
    doc = _doc(refused.text)
    assert "Een vertraagde stap heeft een toelichting nodig" in doc.get_element_by_id("form-error").text_content()
    note = doc.get_element_by_id("step-1-note")
    assert note.get("aria-invalid") == "true" and "step-1-note-error" in note.get("aria-describedby")
    assert doc.xpath("//select[@id='step-1-status']/option[@selected]/@value") == ["delayed"]  # the input is kept
    assert _api(portal, f"/activities/{ZE}")["events"] == []
    switch = doc.xpath("//a[@hreflang='en']/@href")
    assert switch == [f"/language?lang=en&next=%2Fagenda%2Factivities%2F{ZE}"]  # back to the page, not the POST


def test_a_stale_form_gets_a_clear_conflict(portal: TestClient, log_in: LogIn, admin: str) -> None:
    log_in(portal, admin)
    stale = _status_form(portal.get(f"/agenda/activities/{ZE}").text)
    first = portal.post(STATUS_URL, data={**stale, "status": "in_progress", "as_of": TODAY, "note": ""})
    assert first.status_code == 200
    second = portal.post(STATUS_URL, data={**stale, "status": "done", "as_of": TODAY, "note": ""})
    assert second.status_code == 409
    doc = _doc(second.text)
    error = doc.get_element_by_id("form-error")
    assert error.get("data-conflict") == "true" and "Iemand anders heeft deze stap gewijzigd" in error.text_content()
    assert doc.get_element_by_id("step-1").get("data-status") == "in_progress"  # the current state
    assert _status_form(second.text)["expected_changes"] == "1"  # the form is fresh again
    assert [e["status"] for e in _api(portal, f"/activities/{ZE}")["events"]] == ["in_progress"]


def test_budget_lines_and_notes(portal: TestClient, log_in: LogIn, admin: str) -> None:
    log_in(portal, admin)
    url = f"/agenda/activities/{ZE}"
    token = csrf_of(portal.get(url).text)
    committed = {"csrf_token": token, "kind": "committed", "amount_eur": "12500,50", "as_of": "2024-02-01"}
    page = portal.post(f"{url}/budget", data={**committed, "note": "Opdracht facilitator"})
    assert page.status_code == 200
    doc = _doc(page.text)
    assert "12.500,50" in doc.xpath("//dd[@data-field='committed']")[0].text_content()
    overspent = {"csrf_token": token, "kind": "spent", "amount_eur": "-5", "as_of": "2024-03-01", "note": "x"}
    refused = portal.post(f"{url}/budget", data=overspent)
    assert refused.status_code == 422
    assert _doc(refused.text).get_element_by_id("budget-amount_eur").get("aria-invalid") == "true"
    noted = portal.post(
        f"{url}/notes", data={"csrf_token": token, "text": "Werkgroep komt 4x per jaar", "as_of": TODAY}
    )
    assert "Werkgroep komt 4x per jaar" in _doc(noted.text).get_element_by_id("situation").text_content()
    body = _api(portal, f"/activities/{ZE}")
    assert body["budget"]["committed_eur"] == "12500.50" and body["budget"]["spent_eur"] == "0.00"
    assert body["latest_note"]["text"] == "Werkgroep komt 4x per jaar"


def test_edits_need_the_csrf_token(portal: TestClient, log_in: LogIn, admin: str) -> None:
    log_in(portal, admin)
    form = _status_form(portal.get(f"/agenda/activities/{ZE}").text)
    forged = portal.post(STATUS_URL, data={**form, "csrf_token": "forged-token-xxxxxxxxxxxx", "status": "done"})
    assert forged.status_code == 403
    assert _api(portal, f"/activities/{ZE}")["events"] == []


@pytest.mark.parametrize(
    ("url", "status"),
    [("/agenda/activities/bestaat-niet", 404), ("/agenda/activities/ze-zones-kennis-delen/steps/9/status", 404)],
)
def test_unknown_activity_or_step(portal: TestClient, log_in: LogIn, admin: str, url: str, status: int) -> None:
    log_in(portal, admin)
    token = csrf_of(portal.get(f"/agenda/activities/{ZE}").text)
    response = portal.get(url) if "steps" not in url else portal.post(url, data={"csrf_token": token, "status": "done"})
    assert response.status_code == status
