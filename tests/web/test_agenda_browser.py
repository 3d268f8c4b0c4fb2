"""End-to-end: the agenda pages in Debian's Chromium (Playwright) against the real server (``server`` fixture).

Opens the roadmap (the overdue pilot in Aalsmeer, ``logistieke-hubs`` step 1, marked in words, not colour alone)
and the activity page of ``ze-zones-kennis-delen`` with the platform's figure; runs axe-core on the agenda pages
(no serious or critical violation); and the regional administrator changes a step's status, which the page then
shows. Screenshots: ``test-artifacts/portal/agenda-*.png``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from portal_support import PASSWORD, axe_violations, screenshot

from ruas.register.store import Register
from ruas.services.accounts import create_user
from ruas.store.db import session_scope

NewPage = Callable[..., Any]
Login = Callable[[Any, str], None]
ADMIN = "agenda-admin"


@pytest.fixture(scope="module")
def agenda_admin(portal_dir: Path) -> str:
    """A regional administrator (role ``admin``) in the browser tests' register."""
    saved = os.environ.pop("RUAS_DATABASE_URL", None)
    try:
        with session_scope(Register(portal_dir).store.engine) as s:
            create_user(s, username=ADMIN, password=PASSWORD, role="admin", now=datetime.now(UTC))
    finally:
        if saved is not None:
            os.environ["RUAS_DATABASE_URL"] = saved
    return ADMIN


def _no_serious_violations(page: Any) -> None:
    violations = axe_violations(page)
    assert not violations, (
        page.url,
        [(v["id"], v["impact"], [n["target"] for n in v["nodes"][:3]]) for v in violations],
    )


def test_roadmap_and_activity_pages(new_page: NewPage) -> None:
    page = new_page()
    page.goto("/agenda")
    assert page.get_attribute("html", "lang") == "nl"
    assert page.locator("table.roadmap tbody tr").count() == 18
    pilot = page.locator("tr[data-activity='logistieke-hubs'] td[data-year='2023'] li[data-step='logistieke-hubs/1']")
    assert pilot.get_attribute("data-overdue") == "1"
    assert "niet gestart" in pilot.inner_text() and "achter op planning" in pilot.inner_text()
    screenshot(page, "agenda-roadmap")
    _no_serious_violations(page)

    page.click("tr[data-activity='ze-zones-kennis-delen'] th a")
    page.wait_for_selector("#activity[data-activity='ze-zones-kennis-delen']")
    figure = page.locator("section[data-metric='ze_zones_live']")
    assert figure.get_attribute("data-available") == "true"
    assert figure.locator("a[href^='/agenda/organisations/GM0363']").count() == 1
    assert page.locator("#step-1").get_attribute("data-overdue") in ("0", "1")
    assert page.locator("#step-1-form").count() == 0  # anonymous: no edit controls
    screenshot(page, "agenda-activity")
    _no_serious_violations(page)

    page.goto("/agenda/activities/logistieke-hubs")
    row = page.locator("#step-1")
    assert row.get_attribute("data-overdue") == "1" and "achter op planning" in row.inner_text()

    for path in ("/agenda/dashboard", "/agenda/organisations/GM0363"):
        page.goto(path)
        _no_serious_violations(page)
    screenshot(page, "agenda-organisation")


def test_roadmap_on_a_phone(new_page: NewPage) -> None:
    page = new_page(width=390, height=844, is_mobile=True, has_touch=True)
    page.goto("/agenda")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1  # the tables scroll, not the page
    screenshot(page, "agenda-roadmap-phone")


def test_administrator_changes_a_step_status(new_page: NewPage, browser_login: Login, agenda_admin: str) -> None:
    page = new_page()
    browser_login(page, agenda_admin)
    page.goto("/agenda/activities/ze-zones-kennis-delen")
    page.click("#step-1-form >> xpath=.. >> summary")
    page.select_option("#step-1-status", "done")
    page.fill("#step-1-note", "Regionale projectgroep ZE-zones is gestart.")
    _no_serious_violations(page)
    page.click("#step-1-form button[type=submit]")
    page.wait_for_selector("#form-saved")
    row = page.locator("#step-1")
    assert row.get_attribute("data-status") == "done" and row.get_attribute("data-overdue") == "0"
    assert "afgerond" in row.inner_text() and "Regionale projectgroep ZE-zones is gestart." in row.inner_text()
    assert page.locator("table.edits tr[data-action='step_status']").count() == 1
    screenshot(page, "agenda-activity-admin")
    page.goto("/agenda/dashboard")
    assert page.locator("#overdue-list li[data-step='ze-zones-kennis-delen/1']").count() == 0
    screenshot(page, "agenda-dashboard")
