"""End-to-end in Debian's Chromium: the illustrative Lelystad scenario analysed with a short time limit (the progress
page polls until the result is there), the before/after table equal to the downloaded JSON, the map with every
receiver and the rounds of the chosen variant and day, the English switch, and axe-core on the form and the result.
Screenshots: ``test-artifacts/portal/bundling-*.png``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from portal_support import axe_violations, screenshot

NewPage = Callable[..., Any]
BAD_SCENARIO = """
scenario: {id: bad, name: bad window, week_of: 2026-03-02}
vehicle_classes:
  - {id: van, category: N1, body: van, fuel: diesel, emission_class: 6, first_admission: 2020-03-01, mass_kg: 3000,
     capacity_kg: 900, capacity_m3: 10, cost_per_hour_eur: 45, cost_per_km_eur: 0.3, emission_factor: van-diesel-euro6}
receivers: [{id: r1, lat: 52.51, lon: 5.47, window: "12:00-08:00"}]
suppliers: [{id: s1, lat: 52.4, lon: 5.3, vehicle_class: van, days: Mo}]
demand: [{receiver: r1, supplier: s1, weekly_kg: 100, weekly_m3: 1}]
"""


def _no_serious_violation(page: Any) -> None:
    violations = axe_violations(page)
    assert not violations, [(v["id"], v["impact"], [n["target"] for n in v["nodes"][:3]]) for v in violations]


def _cells(page: Any, table: str) -> dict[tuple[str, str], float]:
    found = page.eval_on_selector_all(
        f"{table} tbody td[data-variant]",
        "cells => cells.map(td => [td.closest('tr').dataset.kpi, td.dataset.variant, td.dataset.value])",
    )
    return {(kpi, variant): float(value) for kpi, variant, value in found}


def test_lelystad_example_table_and_map(new_page: NewPage) -> None:
    page = new_page()
    page.goto("/bundling")
    assert page.get_attribute("html", "lang") == "nl"
    assert "ILLUSTRATIEF — geen echte vraag." in page.inner_text("#illustrative-lelystad")
    _no_serious_violation(page)
    screenshot(page, "bundling-form")

    page.check("#source-example-lelystad")
    page.select_option("#time_limit", "0.2")
    page.click("#analyse")
    page.wait_for_selector("#kpi-table", timeout=120_000)  # via the progress page when it takes a while
    assert "/bundling/runs/" in page.url
    assert "ILLUSTRATIEF — geen echte vraag." in page.inner_text("#illustrative")
    assert "benadering: hemelsbrede afstanden" in page.inner_text("#travel-matrix")

    # the table is the service's result, as the JSON download has it
    data = page.request.get(page.get_attribute("a[data-download='json']", "href")).json()
    assert data["scenario"]["illustrative"] is True
    variants = {v["variant"]: v for v in data["variants"]}
    assert set(variants) == {"status_quo", "bundled", "concession"}
    cells = _cells(page, "#kpi-table")
    for name, v in variants.items():
        totals = v["totals"]
        for key in ("vehicle_km", "vehicle_hours", "cost_eur", "co2_kg", "nox_g", "routes", "drops", "unserved"):
            assert cells[(key, name)] == totals[key], (key, name)
        for area in data["areas"]:
            assert cells[(f"movements:{area}", name)] == totals["movements"].get(area, 0)
    pays = page.get_attribute("#verdict", "data-pays")
    assert pays == ("true" if data["comparison"]["pays"] else "false")
    assert page.locator("#sensitivity-hubs tbody tr").count() == len(data["sensitivity"]["hubs"]) == 3
    assert page.locator("#sensitivity-demand tbody tr").count() == len(data["sensitivity"]["demand"])
    assert page.locator("#emission-factors tbody tr").count() == len(data["emission_factors"])

    # the map: every receiver, supplier and hub; the rounds of the chosen variant (and day)
    page.wait_for_selector("#bundling-map[data-ready='1']")
    assert page.locator("#bundling-map [data-kind='receiver']").count() == 11
    assert page.locator("#bundling-map [data-kind='hub']").count() == 3
    bundled_routes = sum(len(d["routes"]) for d in variants["bundled"]["days"])
    assert page.get_attribute("#bundling-map", "data-variant") == "bundled"
    assert int(page.get_attribute("#bundling-map", "data-routes")) == bundled_routes
    assert page.locator("#bundling-map path[data-role='last_mile']").count() > 0
    screenshot(page, "bundling-lelystad")
    _no_serious_violation(page)

    page.check("#map-variant-status_quo")
    page.select_option("#map-day", "Mo")
    [monday] = [d for d in variants["status_quo"]["days"] if d["day"] == "Mo"]
    assert page.get_attribute("#bundling-map", "data-routes") == str(len(monday["routes"]))
    assert page.locator("#bundling-map path[data-role='direct']").count() == len(monday["routes"])
    assert page.locator("#bundling-map path[data-role='last_mile']").count() == 0
    page.click("#day-Mo summary")
    assert _cells(page, "#kpi-day-Mo")[("vehicle_km", "status_quo")] == monday["totals"]["vehicle_km"]
    screenshot(page, "bundling-lelystad-status-quo-monday")

    page.click("a[hreflang='en']")
    page.wait_for_selector("#kpi-table")
    assert page.get_attribute("html", "lang") == "en"
    assert "approximation: straight-line distances" in page.inner_text("#travel-matrix")
    assert "ILLUSTRATIVE — not real demand." in page.inner_text("#illustrative")

    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1  # the tables scroll, not the page
    screenshot(page, "bundling-lelystad-phone")


def test_an_upload_error_names_the_file_row_and_field(new_page: NewPage, tmp_path: Any) -> None:
    bad = tmp_path / "plan.yaml"
    bad.write_text(BAD_SCENARIO, encoding="utf-8")
    page = new_page()
    page.goto("/bundling")
    page.check("#source-upload")
    page.set_input_files("#files", str(bad))
    page.click("#analyse")
    page.wait_for_selector("#scenario-error")
    box = page.locator("#scenario-error")
    assert (box.get_attribute("data-file"), box.get_attribute("data-row"), box.get_attribute("data-field")) == (
        "plan.yaml",
        "receivers[0]",
        "window",
    )
    assert "ends before it starts" in page.inner_text("#scenario-error-message")
    screenshot(page, "bundling-upload-error")
    _no_serious_violation(page)
