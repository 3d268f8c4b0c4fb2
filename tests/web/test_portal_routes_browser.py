"""End-to-end in Debian's Chromium: the route page (points picked by clicking the map), the accessibility map,
and the open data pages, each scanned by axe-core; screenshots under ``test-artifacts/portal/``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from portal_support import axe_violations, screenshot

NewPage = Callable[..., Any]
DEPART = "2025-09-01T08:00"


def _no_serious_violation(page: Any) -> None:
    violations = axe_violations(page)
    assert not violations, [(v["id"], v["impact"], [n["target"] for n in v["nodes"][:3]]) for v in violations]


def _click_map(page: Any, selector: str, fx: float, fy: float) -> None:
    page.locator(selector).scroll_into_view_if_needed()
    box = page.locator(selector).bounding_box()
    page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)


def test_route_picked_on_the_map(new_page: NewPage) -> None:
    page = new_page()
    page.goto("/route")
    page.wait_for_selector("#route-map[data-ready='1']")
    page.fill("#plate", "VQ39HG")
    _click_map(page, "#route-map", 0.8, 0.75)
    _click_map(page, "#route-map", 0.2, 0.3)
    start, end = page.input_value("#from"), page.input_value("#to")
    assert start and end and start != end, (start, end)
    # clicks give points anywhere on the tiny demo graph; route between two known, connected points
    page.fill("#from", "52.3408,4.9289")
    page.fill("#to", "52.3414,4.9249")
    page.fill("#depart", DEPART)
    page.click("#route-form button[type=submit]")
    page.wait_for_selector("#route-result")
    page.wait_for_selector("#route-map[data-ready='1']")
    assert page.get_attribute("#route-result", "data-found") == "true"
    assert float(page.get_attribute("#route-result", "data-distance-m")) > 0
    assert page.locator("#route-map path[data-kind='route']").count() == 1
    assert "Waarom deze route" in page.inner_text("#route-result")
    screenshot(page, "route")
    _no_serious_violation(page)


def test_accessibility_map(new_page: NewPage) -> None:
    page = new_page()
    page.goto("/route/accessibility")
    page.wait_for_selector("#access-map[data-ready='1']")
    page.fill("#plate", "VQ39HG")
    _click_map(page, "#access-map", 0.5, 0.5)
    assert page.input_value("#point")
    page.fill("#at", DEPART)
    page.fill("#minutes", "5")
    page.click("#access-form button[type=submit]")
    page.wait_for_selector("#access-result")
    page.wait_for_selector("#access-map[data-ready='1']")
    segments = int(page.get_attribute("#access-result", "data-segments"))
    assert segments > 0
    assert page.locator("#access-map path[data-kind='segment']").count() == segments
    screenshot(page, "accessibility")
    _no_serious_violation(page)


def test_open_data_and_logistics_pages(new_page: NewPage) -> None:
    page = new_page()
    page.goto("/open-data")
    assert page.locator("#feed-files a[data-feed]").count() == 6
    _no_serious_violation(page)
    page.click("a[href='/open-data/logistics']")
    page.wait_for_selector("#logistics")
    assert page.get_attribute("tr[data-authority=GM0363] td[data-category=ze_zone]", "data-published") == "true"
    screenshot(page, "logistics-data")
    _no_serious_violation(page)
    page.select_option("#province", "Flevoland")
    page.click("form[action='/open-data/logistics'] button[type=submit]")
    page.wait_for_selector("#logistics")
    assert page.locator("tr[data-authority=GM0363]").count() == 0
