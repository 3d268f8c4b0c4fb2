"""End-to-end in Debian's Chromium (Playwright) against the real server (``server`` fixture) on a seeded SYNTHETIC
enforcement day: an officer of Amsterdam logs in, opens the violation list and one violation, and corrects a
misread in the review queue, which joins the vehicle's fine. axe-core finds no serious or critical violation on
the three pages. Screenshots: ``test-artifacts/portal/enforcement-*.png``."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from portal_support import axe_violations, screenshot
from test_enforcement_pages import ZE_AMS, Day, enforce_synthetic_day

NewPage = Callable[..., Any]
Login = Callable[[Any, str], None]


@pytest.fixture(scope="module")
def enforced(portal_dir: Path) -> Day:
    """The synthetic day in the browser tests' register (its own cameras, passages, sanctions, review queue)."""
    saved = os.environ.pop("RUAS_DATABASE_URL", None)
    try:
        return enforce_synthetic_day(portal_dir)
    finally:
        if saved is not None:
            os.environ["RUAS_DATABASE_URL"] = saved


def _no_serious_violations(page: Any) -> None:
    violations = axe_violations(page)
    assert not violations, (
        page.url,
        [(v["id"], v["impact"], [n["target"] for n in v["nodes"][:3]]) for v in violations],
    )


def test_officer_lists_opens_and_resolves(new_page: NewPage, browser_login: Login, enforced: Day) -> None:
    page = new_page()
    browser_login(page, "officer-ams")
    page.click("header nav a[href='/officer/violations']")
    page.wait_for_selector("#violations")
    assert page.get_attribute("html", "lang") == "nl"
    rows = page.locator("#violations tbody tr")
    assert rows.count() > 0
    assert set(rows.evaluate_all("rs => rs.map(r => r.dataset.municipality)")) == {"GM0363"}
    screenshot(page, "enforcement-violations")
    _no_serious_violations(page)

    page.select_option("#kind", "fine")
    page.select_option("#zone", ZE_AMS)
    page.click("#filters button[type=submit]")
    page.wait_for_selector("#violation-count")
    assert set(page.locator("#violations [data-kind]").evaluate_all("b => b.map(x => x.dataset.kind)")) == {"fine"}
    page.locator(f"#violations a:text-is('{enforced.plate}')").first.click()
    page.wait_for_selector("#case")
    assert page.get_attribute("#case", "data-kind") == "fine"
    assert "Een boete" in page.inner_text("#case-policy")
    assert page.locator("#evidence tbody tr").count() >= 1
    screenshot(page, "enforcement-violation")
    _no_serious_violations(page)

    page.click(".subnav a[href='/officer/review']")
    page.wait_for_selector("#review-items")
    item = page.locator("#review-items > li", has_text=enforced.misread)
    item_id = item.get_attribute("data-item")
    assert item_id
    _no_serious_violations(page)
    item.locator("input[value=correct]").check()
    item.locator("input[name=plate]").fill(enforced.plate)
    item.locator("button[type=submit]").click()
    page.wait_for_selector("#resolved")
    assert page.get_attribute("#resolved", "data-action") == "correct"
    assert page.locator("#resolved [data-outcome='violation']").count() >= 1
    assert page.locator(f"#review-items > li[data-item='{item_id}']").count() == 0
    screenshot(page, "enforcement-review")
    page.locator("#resolved a.resolved-sanction").first.click()
    page.wait_for_selector("#corrections")
    assert enforced.misread in page.inner_text("#corrections")
    screenshot(page, "enforcement-violation-corrected")
