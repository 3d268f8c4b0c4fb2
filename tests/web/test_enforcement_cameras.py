"""The officers' camera registry page ``/officer/cameras`` (read only): an officer sees the cameras of their own
municipalities, the regional administrator all; filters by municipality and active state; visitors are sent to
log in and applicants refused, as on the other camera-enforcement pages. One test in Debian's Chromium
(Playwright) with axe-core. The cameras: SYNTHETIC ones on the real zone boundaries, plus one real-looking
Amsterdam camera and one Amsterdam camera taken out of service."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from fastapi.testclient import TestClient
from portal_support import PASSWORD, axe_violations, screenshot

from ruas.enforcement.cameras import Camera, load_cameras, save_cameras
from ruas.enforcement.synthetic import synthetic_cameras
from ruas.register.store import Register
from ruas.services.accounts import create_user
from ruas.store.db import session_scope
from ruas.store.models import Camera as CameraRow

NOW = datetime(2025, 9, 11, 8, 0, tzinfo=UTC)
ZE_AMS = "NDW11_64717e49-b364-4001-b6f9-14270d068764"
REAL = "AMS-S100-WEESPERPLEIN"
RETIRED = "AMS-S100-RETIRED"
LogIn = Callable[[TestClient, str], None]
NewPage = Callable[..., Any]
Login = Callable[[Any, str], None]


def _add_cameras(data_dir: Path, *, extra: bool = True) -> list[Camera]:
    """The SYNTHETIC cameras of every zone, and (``extra``) two non-synthetic Amsterdam ones, one inactive."""
    register = Register.open(data_dir)
    cams = synthetic_cameras(register.book)
    if extra:
        cams += [
            Camera(REAL, 52.3603, 4.9115, (ZE_AMS,), "GM0363", "Weesperplein", 0.0),
            Camera(RETIRED, 52.3581, 4.9040, (ZE_AMS,), "GM0363", "", 280.0),
        ]
    with session_scope(register.store.engine) as s:
        save_cameras(s, cams, NOW)
        if extra:
            retired = s.get(CameraRow, RETIRED)
            assert retired is not None
            retired.active = False
    with session_scope(register.store.engine) as s:
        return load_cameras(s)


@pytest.fixture
def site(portal: TestClient, data_dir: Path) -> tuple[TestClient, list[Camera]]:
    """The portal with the cameras and a regional administrator (``camera-admin``)."""
    cams = _add_cameras(data_dir)
    with session_scope(Register(data_dir).store.engine) as s:
        create_user(s, username="camera-admin", password=PASSWORD, role="admin", now=NOW, kvk=None, municipalities=())
    return portal, cams


def _rows(html: str) -> dict[str, dict[str, str]]:
    """The table's rows by camera id: their data attributes and cell texts."""
    doc = lxml.html.fromstring(html)
    rows = {}
    for tr in doc.xpath("//table[@id='cameras']/tbody/tr"):
        cells = [" ".join(td.text_content().split()) for td in tr.xpath("td")]
        rows[tr.get("data-camera-id")] = {**dict(tr.attrib), "cells": " | ".join(cells)}
    return rows


def _count(html: str) -> tuple[int, int]:
    (p,) = lxml.html.fromstring(html).xpath("//p[@id='camera-count']")
    return int(p.get("data-total")), int(p.get("data-active"))


def test_visitors_are_sent_to_log_in_and_applicants_are_refused(site: Any, log_in: LogIn) -> None:
    client, _ = site
    anonymous = client.get("/officer/cameras?state=active", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/login?next=%2Fofficer%2Fcameras%3Fstate%3Dactive"
    log_in(client, "applicant")
    assert client.get("/officer/cameras").status_code == 403


def test_the_officer_sees_the_cameras_of_their_municipality_only(site: Any, log_in: LogIn) -> None:
    client, cams = site
    amsterdam = {c.id for c in cams if c.municipality == "GM0363"}
    assert amsterdam and {c.municipality for c in cams} != {"GM0363"}, "the registry should span municipalities"
    log_in(client, "officer-ams")
    page = client.get("/officer/cameras")
    assert page.status_code == 200
    rows = _rows(page.text)
    assert set(rows) == amsterdam
    assert {r["data-municipality"] for r in rows.values()} == {"GM0363"}
    assert _count(page.text) == (len(amsterdam), len(amsterdam) - 1)
    # Dutch: zones by name, direction as a bearing with its compass point, state and the synthetic label
    assert '<strong aria-current="page">Camera\'s</strong>' in page.text
    real, retired = rows[REAL], rows[RETIRED]
    assert "Amsterdam (GM0363)" in real["cells"] and "52.36030, 4.91150" in real["cells"]
    assert "0° (noord)" in real["cells"] and "280° (west)" in retired["cells"]
    assert real["cells"].split(" | ")[2] == "ZE Amsterdam"
    assert real["data-active"] == "true" and real["cells"].endswith("actief")
    assert retired["data-active"] == "false" and retired["cells"].endswith("niet actief")
    assert real["data-synthetic"] == "false" and "synthetisch" not in real["cells"]
    synthetic = [r for cid, r in rows.items() if cid.startswith("SYN-")]
    assert synthetic and all(r["data-synthetic"] == "true" and "synthetisch" in r["cells"] for r in synthetic)
    # the map carries the same cameras
    doc = lxml.html.fromstring(page.text)
    (features,) = doc.xpath("//script[@id='camera-features']/text()")
    assert {f["id"] for f in json.loads(features)["features"]} == amsterdam
    # another officer's municipality is refused, as on the violation list
    assert client.get("/officer/cameras?municipality=GM0392").status_code == 403
    # the Haarlem officer sees none of these
    client.get("/logout")
    client.cookies.clear()
    log_in(client, "officer-hlm")
    assert not set(_rows(client.get("/officer/cameras").text)) & amsterdam


def test_the_administrator_sees_all_and_the_filters_work(site: Any, log_in: LogIn) -> None:
    client, cams = site
    log_in(client, "camera-admin")
    everything = _rows(client.get("/officer/cameras").text)
    assert set(everything) == {c.id for c in cams}
    amsterdam = _rows(client.get("/officer/cameras", params={"municipality": "GM0363"}).text)
    assert set(amsterdam) == {c.id for c in cams if c.municipality == "GM0363"}
    active = client.get("/officer/cameras", params={"state": "active"})
    assert set(_rows(active.text)) == {c.id for c in cams if c.active} and RETIRED not in _rows(active.text)
    assert _count(active.text) == (len(cams) - 1, len(cams) - 1)
    inactive = client.get("/officer/cameras", params={"state": "inactive", "municipality": "GM0363"})
    assert set(_rows(inactive.text)) == {RETIRED}
    none = client.get("/officer/cameras", params={"state": "inactive", "municipality": "GM0392"})
    assert _rows(none.text) == {} and "Geen camera's gevonden." in none.text
    assert 'id="camera-features"' not in none.text
    assert client.get("/officer/cameras", params={"state": "broken"}).status_code == 422
    # every municipality with a camera is offered in the filter, with the chosen one selected
    doc = lxml.html.fromstring(client.get("/officer/cameras", params={"municipality": "GM0363"}).text)
    assert set(doc.xpath("//select[@id='municipality']/option/@value")) == {"", *{c.municipality for c in cams}}
    assert doc.xpath("//select[@id='municipality']/option[@selected]/@value") == ["GM0363"]
    # English under the switch
    english = client.get("/officer/cameras", params={"lang": "en", "state": "inactive"}).text
    assert "Camera enforcement: cameras" in english and "inactive" in english


# --------------------------------------------------------------------------- the browser


@pytest.fixture(scope="module")
def browser_cameras(portal_dir: Path) -> list[Camera]:
    """The SYNTHETIC cameras in the browser tests' register (the same ones the enforcement day uses)."""
    saved = os.environ.pop("RUAS_DATABASE_URL", None)
    try:
        return _add_cameras(portal_dir, extra=False)
    finally:
        if saved is not None:
            os.environ["RUAS_DATABASE_URL"] = saved


def test_the_camera_page_in_the_browser(new_page: NewPage, browser_login: Login, browser_cameras: list[Camera]) -> None:
    amsterdam = sorted(c.id for c in browser_cameras if c.municipality == "GM0363")
    page = new_page()
    browser_login(page, "officer-ams")
    page.click("header nav a[href='/officer/violations']")
    page.click(".subnav a[href='/officer/cameras']")
    page.wait_for_selector("#cameras")
    assert page.get_attribute("html", "lang") == "nl"
    rows = page.locator("#cameras tbody tr")
    assert sorted(rows.evaluate_all("rs => rs.map(r => r.dataset.cameraId)")) == amsterdam
    assert set(rows.evaluate_all("rs => rs.map(r => r.dataset.municipality)")) == {"GM0363"}
    assert page.locator("#cameras .synthetic").count() == len(amsterdam)
    page.wait_for_selector("#map[data-ready='1']")
    assert page.get_attribute("html", "data-map-zones") == str(len(amsterdam))
    screenshot(page, "enforcement-cameras")
    violations = axe_violations(page)
    assert not violations, [(v["id"], v["impact"], [n["target"] for n in v["nodes"][:3]]) for v in violations]
    page.select_option("#state", "inactive")
    page.click("#camera-filters button[type=submit]")
    page.wait_for_selector("#camera-count[data-total='0']")
    assert page.locator("#cameras").count() == 0
