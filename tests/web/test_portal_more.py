"""The portal through the TestClient, second part: engine texts in Dutch, the idempotent wizard, a plate that is
not in the register (declared characteristics), the paginated fleet report, the open data pages, and the route
and accessibility pages against the routing service's own answers."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient
from portal_support import csrf_of
from sqlalchemy import select

from ruas.domain.timeutil import LOCAL_TZ
from ruas.register.store import Register
from ruas.routing.store import router_for
from ruas.rules.engine import decide
from ruas.services.check import VehicleInput, build_vehicle
from ruas.services.fleet import default_period
from ruas.store.db import session_scope
from ruas.store.models import Application
from ruas.web.fleet_pages import loses_frame, report_for

LogIn = Callable[[TestClient, str], None]
REFUSED_VAN = {
    "mode": "attributes",
    "category": "N1",
    "fuel": "diesel",
    "emission_class": "4",
    "first_admission": "2012-03-01",
    "mass_kg": "3000",
}
FROM, TO = "52.3408,4.9289", "52.3414,4.9249"
"""Two points on the embedded Amsterdam-Oost road graph."""
DEPART = "2025-09-01T08:00"


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


# --------------------------------------------------------------------------- 1. Dutch first, really


@pytest.mark.parametrize("at", ["2024-06-03T10:00", "2026-06-01T10:00"])
def test_dutch_check_shows_no_english_engine_text(portal: TestClient, data_dir: Path, at: str) -> None:
    response = portal.get("/check", params={**REFUSED_VAN, "at": at})
    assert response.status_code == 200
    register = Register.open(data_dir)
    vehicle = build_vehicle(
        register,
        VehicleInput(
            category="N1", fuel="diesel", emission_class="4", first_admission=datetime(2012, 3, 1).date(), mass_kg=3000
        ),
    )
    moment = datetime.fromisoformat(at).replace(tzinfo=LOCAL_TZ)
    decision = decide(register.book, vehicle, [z.id for z in register.book.zones], at=moment)
    shown = _text(response.text)
    english = {r.text for z in decision.zones for r in z.reasons} | {n for z in decision.zones for n in z.notes}
    assert english, "the decision has reasons"
    assert [t for t in english if t in shown] == [], "an English engine text on the Dutch page"
    for word in ("geldt niet voor dit voertuig", "zero-emissiezone"):
        assert word in shown
    english_page = portal.get("/check", params={**REFUSED_VAN, "at": at, "lang": "en"})
    assert any(t in _text(english_page.text) for t in english), "English under the switch"


# --------------------------------------------------------------------------- 2 and 3. the wizard


def _step3(portal: TestClient, params: dict[str, str]) -> str:
    page = portal.get("/exemptions/apply", params=params)
    assert page.status_code == 200, _text(page.text)[:500]
    assert 'id="apply-form"' in page.text
    return page.text


def _form_fields(page: str) -> dict[str, str]:
    form = page.split('id="apply-form"', 1)[1].split("</form>", 1)[0]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))


def _filed(data_dir: Path, plate: str) -> int:
    with session_scope(Register.open(data_dir).store.engine) as s:
        return len(s.scalars(select(Application.id).where(Application.plate == plate)).all())


def test_a_double_submitted_application_files_one(portal: TestClient, log_in: LogIn, data_dir: Path) -> None:
    log_in(portal, "applicant")
    plate = Register.open(data_dir).vehicles.filter(pl.col("category") == "N1")["plate"][0]
    page = _step3(portal, {"plate": plate, "municipality": "GM0363", "type_id": "ze-levertijd"})
    fields = _form_fields(page)
    assert len(fields["form_token"]) >= 16
    first = portal.post("/exemptions/apply", data=fields, follow_redirects=False)
    second = portal.post("/exemptions/apply", data=fields, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert _filed(data_dir, plate) == 1
    # a fresh form is a new application; a form without its token files nothing
    again = _form_fields(_step3(portal, {"plate": plate, "municipality": "GM0363", "type_id": "ze-levertijd"}))
    assert again["form_token"] != fields["form_token"]
    missing = portal.post("/exemptions/apply", data={**fields, "form_token": ""}, follow_redirects=False)
    assert missing.status_code == 422
    assert _filed(data_dir, plate) == 1


DECLARED = {
    "category": "N1",
    "fuel": "diesel",
    "emission_class": "4",
    "first_admission": "2012-03-01",
    "mass_kg": "3000",
}


def test_a_plate_not_in_the_register_applies_and_checks_with_declared_characteristics(
    portal: TestClient, log_in: LogIn, data_dir: Path
) -> None:
    plate = "ZZ99ZZ"
    log_in(portal, "applicant")
    ask = portal.get("/exemptions/apply", params={"plate": plate, "municipality": "GM0363"})
    assert ask.status_code == 422 and 'id="declared"' in ask.text
    page = _step3(portal, {"plate": plate, "municipality": "GM0363", "type_id": "ze-dagontheffing", **DECLARED})
    assert 'data-source="declared"' in page and "opgegeven, niet uit het register" in page
    fields = _form_fields(page)
    assert {k: fields[k] for k in DECLARED} == DECLARED
    fields["day"] = datetime.now(LOCAL_TZ).date().isoformat()
    filed = portal.post("/exemptions/apply", data=fields, follow_redirects=False)
    assert filed.status_code == 303
    status = portal.get(filed.headers["location"])
    assert 'data-status="granted"' in status.text and 'id="app-vehicle" data-source="declared"' in status.text

    check = portal.get(
        "/check", params={**REFUSED_VAN, "declared_plate": plate, "scope": "municipality", "municipality": "GM0363"}
    )
    assert check.status_code == 200 and 'id="declared-badge"' in check.text
    access = dict(re.findall(r'data-zone-id="([^"]+)" data-allowed="\w+" data-access="(\w+)"', check.text))
    ze = next(
        z.id
        for z in Register.open(data_dir).book.zones
        if z.authority == "GM0363" and z.kind.value == "zero_emission" and z.status.value == "in_force"
    )
    assert access[ze] == "allowed_with_exemption", "the day exemption granted to the declared plate counts"
    registered = portal.get("/check", params={**REFUSED_VAN, "declared_plate": "VQ39HG"})
    assert registered.status_code == 422 and 'id="declared_plate-error"' in registered.text
    unknown = portal.get("/check", params={"mode": "plate", "plate": plate})
    assert 'id="declare-link"' in unknown.text


# --------------------------------------------------------------------------- 4. the fleet report


def test_loses_frame_is_the_reports_own_verdict(data_dir: Path) -> None:
    register = Register.open(data_dir)
    plates = register.vehicles["plate"].head(60).to_list()
    data = ("kenteken\n" + "".join(f"{p}\n" for p in plates)).encode()
    report = report_for(register, data, "f.csv", *default_period(datetime(2025, 3, 1).date()))
    expected = report.verdicts().filter(pl.col("loses_access").is_not_null()).select("plate", "zone_id", "loses_access")
    assert loses_frame(report).sort(["plate", "zone_id"]).equals(expected.sort(["plate", "zone_id"]))
    assert not expected.is_empty()


def test_fleet_report_lists_every_vehicle_and_pages_the_details(portal: TestClient, data_dir: Path) -> None:
    plates = Register.open(data_dir).vehicles["plate"].head(30).to_list()
    token = csrf_of(portal.get("/fleet").text)
    upload = ("kenteken\n" + "".join(f"{p}\n" for p in plates)).encode()
    page1 = portal.post("/fleet", data={"csrf_token": token}, files={"file": ("vloot.csv", upload)})
    assert page1.status_code == 200
    assert re.findall(r'<tr data-plate="(\w+)"', page1.text) == plates
    assert re.findall(r'<table class="years" data-plate="(\w+)"', page1.text) == plates[:25]
    form = dict(re.findall(r'name="(payload|filename|csrf_token)" value="([^"]*)"', page1.text))
    page2 = portal.post("/fleet", data={**form, "page": "2"})
    assert page2.status_code == 200
    assert re.findall(r'<table class="years" data-plate="(\w+)"', page2.text) == plates[25:]
    # the summary's first day equals the earliest day in the vehicle's details
    for page in (page1.text, page2.text):
        for plate, table in re.findall(r'<table class="years" data-plate="(\w+)">(.*?)</table>', page, re.S):
            days = [d for d in re.findall(r'data-loses="([^"]*)"', table) if d]
            first = re.search(rf'<tr data-plate="{plate}" data-first-loss="([^"]*)"', page1.text)
            assert first and first.group(1) == (min(days) if days else "")
    assert portal.post("/fleet", data={**form, "page": "x"}).status_code == 422


# --------------------------------------------------------------------------- 5. open data


def test_open_data_links_every_feed_file(portal: TestClient) -> None:
    page = portal.get("/open-data")
    links = re.findall(r'data-feed="([^"]+)"', page.text)
    assert links == [
        "/api/v1/feed/changes",
        "/api/v1/feed/datex/controlled-zones.xml",
        "/api/v1/feed/datex/traffic-regulations.xml",
        "/api/v1/feed/zones.geojson",
        "/api/v1/feed/osm-tags.json",
        "/api/v1/feed/completeness",
    ]
    for link in links:
        assert portal.get(link).status_code == 200, link
    assert 'href="/open-data/logistics"' in page.text


def test_logistics_data_page_is_the_completeness_view(portal: TestClient) -> None:
    view = portal.get("/api/v1/feed/completeness").json()
    page = portal.get("/open-data/logistics")
    assert page.status_code == 200 and "Data voor logistiek" in page.text
    cells = re.findall(r'<td data-category="(\w+)" data-published="(\w+)"', page.text)
    rows = re.findall(r'<tr data-authority="(\w+)"', page.text)
    assert sorted(rows) == sorted(a["code"] for a in view["authorities"])
    expected = {(a["code"], k): v["published"] for a in view["authorities"] for k, v in a["kinds"].items()}
    shown = {
        (code, cat): pub == "true"
        for code, (cat, pub) in zip([r for r in rows for _ in view["categories"]], cells, strict=True)
    }
    assert shown == expected
    assert expected[("GM0363", "ze_zone")] is True
    nh = portal.get("/open-data/logistics", params={"province": "Noord-Holland"})
    assert 0 < len(re.findall(r"<tr data-authority=", nh.text)) < len(rows)


# --------------------------------------------------------------------------- 6. routes


def test_route_page_is_the_routing_services_answer(portal: TestClient, data_dir: Path) -> None:
    page = portal.get("/route", params={"mode": "plate", "plate": "VQ39HG", "from": FROM, "to": TO, "depart": DEPART})
    assert page.status_code == 200
    register = Register.open(data_dir)
    vehicle = build_vehicle(register, VehicleInput(plate="VQ39HG"))
    depart = datetime.fromisoformat(DEPART).replace(tzinfo=LOCAL_TZ)
    expected = router_for(register).route(vehicle, [(52.3408, 4.9289), (52.3414, 4.9249)], depart).to_data()
    found = re.search(r'data-found="(\w+)" data-distance-m="([\d.]+)" data-duration-s="([\d.]+)"', page.text)
    assert found is not None
    assert (found.group(1), float(found.group(2)), float(found.group(3))) == (
        "true",
        expected["distance_m"],
        expected["duration_s"],
    )
    zones = re.findall(r'<tr data-zone-id="([^"]+)" data-access="(\w+)"', page.text)
    assert zones == [(z["id"], z["access"]) for z in expected["zones"]]
    assert "snelste route zonder beperkingen" in page.text


def test_route_page_says_what_blocks_a_refused_vehicle(portal: TestClient) -> None:
    page = portal.get("/route", params={**REFUSED_VAN, "emission_class": "3", "from": FROM, "to": TO, "depart": DEPART})
    assert page.status_code == 200 and 'data-found="false"' in page.text
    text = _text(page.text)
    assert "gesloten door" in text and "Dagontheffing milieuzone" in text


@pytest.mark.parametrize(("field", "value"), [("from", "abc"), ("to", "95,4.9"), ("depart", "gisteren")])
def test_route_errors_name_the_field(portal: TestClient, field: str, value: str) -> None:
    params = {"mode": "plate", "plate": "VQ39HG", "from": FROM, "to": TO, "depart": DEPART, field: value}
    page = portal.get("/route", params=params)
    assert page.status_code == 422 and f'id="{field}-error"' in page.text


def test_accessibility_page_is_the_routing_services_answer(portal: TestClient, data_dir: Path) -> None:
    page = portal.get(
        "/route/accessibility", params={"mode": "plate", "plate": "VQ39HG", "point": FROM, "at": DEPART, "minutes": "5"}
    )
    assert page.status_code == 200
    register = Register.open(data_dir)
    vehicle = build_vehicle(register, VehicleInput(plate="VQ39HG"))
    at = datetime.fromisoformat(DEPART).replace(tzinfo=LOCAL_TZ)
    data = router_for(register).accessibility(vehicle, (52.3408, 4.9289), at, 5)
    segments = [f["properties"] for f in data["features"] if f["properties"]["kind"] == "segment"]
    found = re.search(r'data-usable="(\d+)" data-unusable="(\d+)" data-segments="(\d+)"', page.text)
    assert found is not None
    assert tuple(int(x) for x in found.groups()) == (
        sum(1 for s in segments if s["usable"]),
        sum(1 for s in segments if not s["usable"]),
        len(segments),
    )
    assert len(segments) > 0
