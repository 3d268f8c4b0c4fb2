"""End-to-end: the portal in Debian's Chromium (Playwright) against a real uvicorn server.

Covers a plate check compared with the engine's own answer; a fleet upload with CSV and Excel downloads; a
day exemption (granted on the spot by the desk) and a long exemption an officer grants, after which the check
says allowed; an officer who edits and publishes a delivery window, after which the map and the check change;
and axe-core (from node_modules) on the main pages with no serious or critical violation. Screenshots of the
main pages are saved under ``test-artifacts/portal/``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
import pytest
from portal_support import axe_violations, screenshot

from ruas.domain.timeutil import LOCAL_TZ
from ruas.register.store import Register
from ruas.rules.engine import decide
from ruas.services.check import VehicleInput, build_vehicle

NewPage = Callable[..., Any]
Login = Callable[[Any, str], None]
CHECK_AT = "2027-03-01T10:00"


def _ze_amsterdam(register: Register) -> str:
    return next(
        z.id
        for z in register.book.zones
        if z.authority == "GM0363" and z.kind.value == "zero_emission" and z.status.value == "in_force"
    )


def _refused_vans(register: Register, count: int) -> list[str]:
    """Plates of diesel vans that may not enter ZE Amsterdam now and can get a day exemption there."""
    zone = _ze_amsterdam(register)
    now = datetime.now(LOCAL_TZ)
    frame = register.vehicles.filter(
        (pl.col("category") == "N1")
        & pl.col("emission_class").is_in(["3", "4"])
        & pl.col("fuels").list.contains("diesel")
    )
    plates = []
    for plate in frame["plate"].to_list():
        answer = decide(register.book, register.vehicle(plate), [zone], at=now).zones[0]
        if not answer.allowed and any(e.type_id == "ze-dagontheffing" for e in answer.exemptions):
            plates.append(plate)
        if len(plates) == count:
            return plates
    raise AssertionError("the synthetic register has too few refused diesel vans")


def _zone_answers(page: Any) -> dict[str, dict[str, str]]:
    return page.eval_on_selector_all(
        ".result-zone",
        "els => Object.fromEntries(els.map(e => [e.dataset.zoneId, {allowed: e.dataset.allowed, "
        "access: e.dataset.access, until: e.dataset.allowedUntil, from: e.dataset.allowedFrom}]))",
    )


def _check_plate(page: Any, plate: str, *, municipality: str | None = None, at: str | None = None) -> dict[str, Any]:
    page.goto("/check")
    page.check("#mode-plate")
    page.fill("#plate", plate)
    if municipality:
        page.check("#scope-municipality")
        page.select_option("#municipality", municipality)
    if at:
        page.fill("#at", at)
    page.click("#check-form button[type=submit]")
    page.wait_for_selector("#answer")
    return _zone_answers(page)


def test_plate_check_gives_the_engines_answer(new_page: NewPage, portal_dir: Path) -> None:
    register = Register.open(portal_dir)
    plate = _refused_vans(register, 1)[0]
    page = new_page()
    shown = _check_plate(page, plate, at=CHECK_AT)
    at = datetime.fromisoformat(CHECK_AT).replace(tzinfo=LOCAL_TZ)
    expected = decide(
        register.book, build_vehicle(register, VehicleInput(plate=plate)), [z.id for z in register.book.zones], at=at
    )
    assert set(shown) == {z.zone_id for z in expected.zones}
    for z in expected.zones:
        got = shown[z.zone_id]
        assert got["allowed"] == ("true" if z.allowed else "false"), z.zone_id
        assert got["access"] == z.access.value, z.zone_id
        assert got["until"] == (z.allowed_until.isoformat() if z.allowed_until else ""), z.zone_id
        assert got["from"] == (z.allowed_from.isoformat() if z.allowed_from else ""), z.zone_id
    assert not all(z.allowed for z in expected.zones), "the chosen van should be refused somewhere"
    assert page.locator(".timeline").count() == len(expected.zones)
    screenshot(page, "check-result")


def test_fleet_upload_and_downloads(new_page: NewPage, portal_dir: Path, tmp_path: Path) -> None:
    register = Register.open(portal_dir)
    plates = [*_refused_vans(register, 2), "VQ39HG"]
    upload = tmp_path / "vloot.csv"
    upload.write_bytes(("\ufeffkenteken;opmerking\n" + "".join(f"{p};x\n" for p in plates)).encode())
    page = new_page()
    page.goto("/fleet")
    page.set_input_files("#file", str(upload))
    page.click("#fleet-form button[type=submit]")
    page.wait_for_selector("#report")
    on_screen = page.eval_on_selector_all("table.years", "els => els.map(e => e.dataset.plate)")
    assert sorted(on_screen) == sorted(plates)
    loses = page.eval_on_selector_all(
        "table.years tr[data-zone-id]",
        "rows => rows.map(r => [r.closest('table').dataset.plate, r.dataset.zoneId, r.dataset.loses])",
    )
    screenshot(page, "fleet-report")
    with page.expect_download() as info:
        page.click("button[data-download=csv]")
    text = Path(info.value.path()).read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0][:2] == ["kenteken", "voertuig"]  # Dutch headers: the portal's default language
    assert sorted({r[0] for r in rows[1:]}) == sorted(plates)
    assert {(r[0], r[2], r[4]) for r in rows[1:]} == {tuple(x) for x in loses}
    with page.expect_download() as info:
        page.click("button[data-download=xlsx]")
    assert info.value.suggested_filename == "vloot-report.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(Path(info.value.path()).read_bytes()), read_only=True)
    sheet_rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert sorted({r[0] for r in sheet_rows[1:]}) == sorted(plates)
    assert len(sheet_rows) == len(rows)


def test_exemptions_change_the_check(new_page: NewPage, browser_login: Login, portal_dir: Path) -> None:
    register = Register.open(portal_dir)
    ze = _ze_amsterdam(register)
    day_plate, long_plate = _refused_vans(register, 2)
    applicant = new_page()
    browser_login(applicant, "applicant")
    assert _check_plate(applicant, day_plate, municipality="GM0363")[ze]["access"] == "not_allowed"

    # a day exemption: eligible, fee shown, granted on the spot by the desk
    applicant.goto(f"/exemptions/apply?plate={day_plate}&municipality=GM0363")
    assert applicant.get_attribute("li[data-type-id=ze-dagontheffing]", "data-eligible") == "true"
    screenshot(applicant, "exemption-wizard")
    applicant.check("#type-ze-dagontheffing")
    applicant.click("form:has(#type-ze-dagontheffing) button[type=submit]")
    applicant.wait_for_selector("#apply-form")
    assert "30,00" in applicant.inner_text("#apply-form")
    applicant.click("#apply-form button[type=submit]")
    applicant.wait_for_selector("#app-status")
    assert applicant.get_attribute("#app-status", "data-status") == "granted"
    screenshot(applicant, "exemption-status")
    assert _check_plate(applicant, day_plate, municipality="GM0363")[ze]["access"] == "allowed_with_exemption"

    # a long exemption with evidence: pending gives no access; the officer grants it; then allowed
    applicant.goto(f"/exemptions/apply?plate={long_plate}&municipality=GM0363&type_id=ze-levertijd")
    applicant.set_input_files(
        "#evidence", files=[{"name": "contract.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 order"}]
    )
    applicant.fill("#note", "Electric van ordered, delivery in March.")
    applicant.click("#apply-form button[type=submit]")
    applicant.wait_for_selector("#app-status")
    assert applicant.get_attribute("#app-status", "data-status") == "submitted"
    application = applicant.url
    assert _check_plate(applicant, long_plate, municipality="GM0363")[ze]["access"] == "not_allowed"

    officer = new_page()
    browser_login(officer, "officer-ams")
    officer.goto("/officer/queue")
    screenshot(officer, "officer-queue")
    officer.click(f"#queue tr:has-text('{long_plate}') a")
    officer.wait_for_selector("#decision-form")
    screenshot(officer, "officer-decision")
    officer.check("#decision-granted")
    officer.fill("#motivation", "Purchase contract of a zero-emission van provided.")
    officer.click("#decision-form button[type=submit]")
    officer.wait_for_selector("#app-status")
    assert officer.get_attribute("#app-status", "data-status") == "granted"

    applicant.goto(application)
    assert applicant.get_attribute("#app-status", "data-status") == "granted"
    assert _check_plate(applicant, long_plate, municipality="GM0363")[ze]["access"] == "allowed_with_exemption"


def _next_monday_noon() -> str:
    today = datetime.now(LOCAL_TZ).date()
    monday = today + timedelta(days=7 - today.weekday())
    return f"{monday.isoformat()}T12:00"


def _osdorpplein(page: Any) -> str:
    page.goto("/check")
    page.check("#mode-attributes")
    page.select_option("#category", "N1")
    page.select_option("#fuel", "electric")
    page.fill("#first_admission", "2024-06-01")
    page.fill("#mass_kg", "3000")
    page.check("#scope-zone")
    page.select_option("#zone", "ams-osdorpplein")
    page.fill("#at", _next_monday_noon())
    page.click("#check-form button[type=submit]")
    page.wait_for_selector("#answer")
    return str(_zone_answers(page)["ams-osdorpplein"]["access"])


def _popup_of(page: Any, zone_id: str) -> str:
    page.goto("/")
    page.wait_for_selector("#map[data-ready='1']")
    page.wait_for_selector(f"path[data-zone-id='{zone_id}']", state="attached")
    page.eval_on_selector(
        f"path[data-zone-id='{zone_id}']", "el => el.dispatchEvent(new MouseEvent('click', {bubbles: true}))"
    )
    return str(page.inner_text(".leaflet-popup-content"))


def test_officer_publishes_a_delivery_window(new_page: NewPage, browser_login: Login) -> None:
    public = new_page()
    assert _osdorpplein(public) == "not_allowed"  # noon is outside Mo-Sa 07:00-11:00
    assert "07:00-11:00" in _popup_of(public, "ams-osdorpplein")

    officer = new_page()
    browser_login(officer, "officer-ams")
    officer.goto("/officer/rules/ams-osdorpplein")
    screenshot(officer, "officer-rules-edit")
    officer.fill("#window", "Mo-Sa 07:00-13:00; PH off")
    officer.fill("#citation", "Gemeente Amsterdam, verkeersbesluit venstertijden Osdorpplein (test)")
    officer.click("#window-form button[type=submit]")
    officer.wait_for_selector("#publish-form")
    assert "07:00-13:00" in officer.inner_text("#draft-window")
    officer.fill("#at", _next_monday_noon())
    officer.click("form[action$='/draft'] button[type=submit]")
    officer.wait_for_selector("#preview")
    assert officer.get_attribute("#preview tr[data-preview='1']", "data-access") == "not_allowed"
    assert officer.get_attribute("#preview tr[data-preview='2']", "data-access") == "allowed"
    officer.wait_for_selector("#map[data-ready='1']")
    screenshot(officer, "officer-rules-draft")
    officer.fill("#note", "Longer window for the market")
    officer.click("#publish-form button[type=submit]")
    officer.wait_for_selector(".notice.ok")

    assert "07:00-13:00" in _popup_of(public, "ams-osdorpplein")
    assert _osdorpplein(public) == "allowed"
    public.goto("/region")
    cell = public.locator("tr[data-municipality=GM0363] td[data-item=venstertijd-winkelgebied]")
    assert cell.get_attribute("data-status") == "adopted_with_deviations"


MAIN_PAGES = [
    ("home", "/"),
    ("check", f"/check?mode=plate&plate=VQ39HG&at={CHECK_AT}"),
    ("fleet", "/fleet"),
    ("exemptions", "/exemptions"),
    ("region", "/region"),
    ("open-data", "/open-data"),
    ("login", "/login"),
]


@pytest.mark.parametrize(("name", "path"), MAIN_PAGES, ids=[n for n, _ in MAIN_PAGES])
def test_main_pages_have_no_serious_accessibility_violation(new_page: NewPage, name: str, path: str) -> None:
    page = new_page()
    page.goto(path)
    page.wait_for_load_state("networkidle")
    assert page.get_attribute("html", "lang") == "nl"
    violations = axe_violations(page)
    screenshot(page, name)
    assert not violations, [(v["id"], v["impact"], [n["target"] for n in v["nodes"][:3]]) for v in violations]


def test_officer_pages_have_no_serious_accessibility_violation(new_page: NewPage, browser_login: Login) -> None:
    page = new_page()
    browser_login(page, "officer-ams")
    for path in ("/officer/queue", "/officer/rules", "/officer/rules/ams-osdorpplein"):
        page.goto(path)
        violations = axe_violations(page)
        assert not violations, (path, [(v["id"], [n["target"] for n in v["nodes"][:3]]) for v in violations])


def test_phone_layout_and_english(new_page: NewPage) -> None:
    page = new_page(width=390, height=844, is_mobile=True, has_touch=True)
    page.goto("/")
    page.wait_for_selector("#map[data-ready='1']")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1  # no sideways scrolling
    screenshot(page, "home-phone")
    page.click("a[hreflang=en]")
    page.wait_for_load_state("networkidle")
    assert page.get_attribute("html", "lang") == "en"
    assert "Check my vehicle" in page.inner_text("nav")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
