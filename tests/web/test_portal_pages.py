"""The portal's pages through the TestClient: language, sessions and CSRF, roles, the check against the
engine, the fleet upload in every accepted format, and the completeness of the Dutch catalog."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from portal_support import csrf_of

from ruas.domain.decision import MESSAGE_IDS, Segment, Timeline, TimelineState
from ruas.domain.timeutil import LOCAL_TZ
from ruas.register.store import Register
from ruas.rules.engine import decide
from ruas.services.check import VehicleInput, build_vehicle
from ruas.web import assets
from ruas.web.datatexts import shipped_texts
from ruas.web.i18n import po_path
from ruas.web.texts import Words, data_po_path
from ruas.web.views import TIMELINE_END, TIMELINE_START, timeline_bars

WEB = Path(assets.__file__).parent
LogIn = Callable[[TestClient, str], None]


def test_every_message_has_a_dutch_translation() -> None:
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    ids = {m[2] if isinstance(m[2], str) else m[2][0] for m in extract_from_dir(str(WEB), method_map, options)}
    with po_path("nl").open("rb") as fh:
        catalog = read_po(fh, locale="nl")
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    assert ids, "no messages extracted"
    assert sorted(ids - translated) == []


def test_every_engine_and_data_text_has_dutch(seeded_dir: Path) -> None:
    """The engine's message ids all have a wording, and every data text of the shipped register (zone names and
    notes, regulation names and subject labels, clause labels, exemption-type terms) has a Dutch translation."""
    said = Words("nl")
    assert set(MESSAGE_IDS) <= set(said.templates), "an engine message id without a wording in ruas.web.texts"
    with data_po_path("nl").open("rb") as fh:
        catalog = read_po(fh, locale="nl")
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    texts = shipped_texts(Register.open(seeded_dir).book)
    assert len(texts) > 50
    assert sorted(set(texts) - translated) == []
    assert said.data("S100: maximum length 10 m") == "S100: maximale lengte 10 m"
    assert Words("en").data("S100: maximum length 10 m") == "S100: maximum length 10 m"


def test_vendor_assets_are_installed() -> None:
    assert assets.missing_assets() == [], "run `make` (npm ci + python -m ruas.web.assets)"


def test_dutch_first_with_an_english_switch(portal: TestClient) -> None:
    page = portal.get("/")
    assert page.status_code == 200
    assert '<html lang="nl">' in page.text and "Mijn voertuig controleren" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    switch = portal.get("/language?lang=en&next=/check", follow_redirects=False)
    assert switch.status_code == 303 and switch.headers["location"] == "/check"
    english = portal.get("/check")
    assert '<html lang="en">' in english.text and "Check my vehicle" in english.text
    assert portal.get("/language?lang=en&next=//evil.example", follow_redirects=False).headers["location"] == "/"


def test_forms_need_the_csrf_token(portal: TestClient) -> None:
    portal.get("/login")
    response = portal.post("/login", data={"username": "applicant", "password": "x"})
    assert response.status_code == 403
    response = portal.post(
        "/login", data={"csrf_token": "forged-token-of-some-length", "username": "a", "password": "b"}
    )
    assert response.status_code == 403


def test_login_and_roles(portal: TestClient, log_in: LogIn) -> None:
    page = portal.get("/login")
    wrong = portal.post("/login", data={"csrf_token": csrf_of(page.text), "username": "applicant", "password": "nope"})
    assert wrong.status_code == 401 and "Onbekende gebruikersnaam" in wrong.text
    anonymous = portal.get("/officer/queue", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login?next=%2Fofficer%2Fqueue"
    log_in(portal, "applicant")
    assert portal.get("/officer/queue").status_code == 403
    assert portal.get("/exemptions").status_code == 200
    logout = portal.post("/logout", data={"csrf_token": csrf_of(portal.get("/").text)}, follow_redirects=False)
    assert logout.status_code == 303
    assert portal.get("/exemptions/apply", follow_redirects=False).status_code == 303


def _shown(html: str) -> dict[str, tuple[str, str, str]]:
    found = re.findall(
        r'data-zone-id="([^"]+)" data-allowed="(\w+)" data-access="(\w+)"\s+data-allowed-until="([^"]*)"', html
    )
    return {z: (allowed, access, until) for z, allowed, access, until in found}


@pytest.mark.parametrize(
    ("emission_class", "at"),
    [("5", "2026-12-31T23:59"), ("5", "2027-01-01T00:00"), ("6", "2027-12-31T23:59"), ("6", "2028-01-01T00:00")],
)
def test_check_by_attributes_is_the_engines_answer(
    portal: TestClient, data_dir: Path, emission_class: str, at: str
) -> None:
    query = {
        "mode": "attributes",
        "category": "N1",
        "fuel": "diesel",
        "emission_class": emission_class,
        "first_admission": "2018-05-01",
        "mass_kg": "3000",
        "at": at,
    }
    response = portal.get("/check", params=query)
    assert response.status_code == 200
    register = Register.open(data_dir)
    vehicle = build_vehicle(
        register,
        VehicleInput(
            category="N1",
            fuel="diesel",
            emission_class=emission_class,
            first_admission=datetime(2018, 5, 1).date(),
            mass_kg=3000,
        ),
    )
    moment = datetime.fromisoformat(at).replace(tzinfo=LOCAL_TZ)
    expected = decide(register.book, vehicle, [z.id for z in register.book.zones], at=moment)
    shown = _shown(response.text)
    assert shown == {
        z.zone_id: (
            "true" if z.allowed else "false",
            z.access.value,
            z.allowed_until.isoformat() if z.allowed_until else "",
        )
        for z in expected.zones
    }


def test_check_errors_name_the_field(portal: TestClient) -> None:
    missing = portal.get("/check", params={"mode": "attributes", "category": "N1"})
    assert missing.status_code == 422
    assert 'id="fuel-error"' in missing.text and 'aria-invalid="true"' in missing.text
    unknown = portal.get("/check", params={"mode": "plate", "plate": "ZZ99ZZ"})
    assert unknown.status_code in (404, 422) and 'id="plate-error"' in unknown.text
    partial = portal.get("/check", params={"mode": "plate", "plate": "VQ39HG"}, headers={"HX-Request": "true"})
    assert partial.text.lstrip().startswith('<div id="result"') and "<html" not in partial.text


def _xlsx(plates: list[str]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Kenteken", "Opmerking"])
    for p in plates:
        sheet.append([p, "x"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


PLATES = ["VQ39HG", "100HQ7"]
UPLOADS = {
    "comma.csv": ("kenteken,opmerking\n" + "".join(f"{p},x\n" for p in PLATES)).encode(),
    "semicolon-bom.csv": ("\ufeffkenteken;opmerking\r\n" + "".join(f"{p};x\r\n" for p in PLATES)).encode(),
    "no-header.csv": "".join(f"{p[:2]}-{p[2:4]}-{p[4:]}\n" for p in PLATES).encode(),
    "fleet.xlsx": _xlsx(PLATES),
}


def _fleet(portal: TestClient, name: str, data: bytes) -> tuple[int, str]:
    token = csrf_of(portal.get("/fleet").text)
    response = portal.post("/fleet", data={"csrf_token": token, "to": "2031-01-01"}, files={"file": (name, data)})
    return response.status_code, response.text


def test_fleet_upload_reads_every_format_alike(portal: TestClient) -> None:
    seen = {}
    for name, data in UPLOADS.items():
        status, html = _fleet(portal, name, data)
        assert status == 200, (name, html[:300])
        seen[name] = sorted(re.findall(r'<tr data-zone-id="([^"]+)" data-loses="([^"]*)"', html))
        assert sorted(re.findall(r'<table class="years" data-plate="(\w+)"', html)) == sorted(PLATES)
    assert len({tuple(v) for v in seen.values()}) == 1, "every format gives the same report"


def test_fleet_download_matches_the_page(portal: TestClient) -> None:
    status, html = _fleet(portal, "semicolon-bom.csv", UPLOADS["semicolon-bom.csv"])
    assert status == 200
    form = dict(re.findall(r'name="(payload|filename|csrf_token)" value="([^"]*)"', html))
    download = portal.post("/fleet/download", data={**form, "format": "csv", "to": "2031-01-01"})
    assert download.status_code == 200 and download.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig")), delimiter=";"))
    on_page = sorted(re.findall(r'<tr data-zone-id="([^"]+)" data-loses="([^"]*)"', html))
    assert sorted((r[2], r[4]) for r in rows[1:]) == on_page


def test_fleet_errors_name_the_line(portal: TestClient) -> None:
    status, html = _fleet(portal, "vloot.csv", b"kenteken\nVQ39HG\nZZ99ZZ\n")
    assert status == 422 and "line 3: ZZ99ZZ" in html and "/tmp" not in html
    status, html = _fleet(portal, "vloot.pdf", b"%PDF-1.4")
    assert status == 422 and ".csv or .xlsx" in html


@pytest.mark.parametrize(
    "cut", [TIMELINE_START, datetime(2027, 1, 1, tzinfo=LOCAL_TZ), datetime(2030, 6, 1, tzinfo=LOCAL_TZ)]
)
def test_timeline_bars_fill_the_bar(cut: datetime) -> None:
    segments = (
        [Segment(datetime(2020, 1, 1, tzinfo=LOCAL_TZ), cut, TimelineState.ALLOWED)] if cut > TIMELINE_START else []
    )
    segments.append(Segment(cut, datetime(2040, 1, 1, tzinfo=LOCAL_TZ), TimelineState.NOT_ALLOWED))
    bars = timeline_bars(Timeline("z", "Z", tuple(segments)))
    assert abs(sum(b.percent for b in bars) - 100) < 0.01
    assert bars[0].start == TIMELINE_START and bars[-1].end == TIMELINE_END
