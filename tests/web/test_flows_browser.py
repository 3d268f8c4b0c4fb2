"""The flows dashboard in Chromium: its charts render from SYNTHETIC camera traffic that went through the real
enforcement pipeline; the camera map; axe-core; a screenshot under ``test-artifacts/portal/``."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from portal_support import PASSWORD, axe_violations, running_server, screenshot

from ruas.register.store import Register
from ruas.services.accounts import create_user
from ruas.store.db import session_scope


def add_accounts(data_dir: Path) -> None:
    """The officer of Amsterdam (password as the portal tests')."""
    with session_scope(Register(data_dir).store.engine) as session:
        create_user(session, username="officer-ams", password=PASSWORD, role="officer", now=datetime.now(UTC),
                    municipalities=("GM0363",))  # fmt: skip


@pytest.fixture(scope="module")
def flows_dir(seeded_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A register with three days of SYNTHETIC traffic evaluated by the pipeline, and the flows cube."""
    from ruas.flows.synthetic import generate

    path = tmp_path_factory.mktemp("flows-portal") / "data"
    shutil.copytree(seeded_dir, path)
    saved = os.environ.pop("RUAS_DATABASE_URL", None)
    try:
        add_accounts(path)
        generate(Register.open(path), [date(2025, 9, 8), date(2025, 9, 9), date(2025, 9, 10)], 3000, seed=7)
    finally:
        if saved is not None:
            os.environ["RUAS_DATABASE_URL"] = saved
    return path


@pytest.fixture(scope="module")
def server(flows_dir: Path) -> Iterator[str]:
    """The app under uvicorn on the flows register (overrides the portal's server for this module)."""
    with running_server(flows_dir) as base:
        yield base


def test_dashboard_renders_its_charts_and_camera_map(new_page: Callable[..., Any]) -> None:
    page = new_page()
    page.goto("/flows?from=2025-09-08&until=2025-09-11")
    page.wait_for_selector("html[data-flows-charts='4']")
    assert page.locator("h1").inner_text() == "Logistieke stromen"
    for canvas in ("chart-trend", "chart-classes", "chart-hours", "chart-outcomes"):
        box = page.locator(f"#{canvas}").bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 100
        # Chart.js drew something: the canvas is not blank
        painted = page.evaluate(
            f"""() => {{ const c = document.getElementById('{canvas}'); const d = c.getContext('2d')
                .getImageData(0, 0, c.width, c.height).data; let n = 0;
                for (let i = 3; i < d.length; i += 4) {{ if (d[i] > 0) n++; }} return n; }}"""
        )
        assert painted > 500, canvas
    page.wait_for_selector("#flows-map[data-cameras]")
    assert int(page.locator("#flows-map").get_attribute("data-cameras") or 0) > 0
    assert page.locator("#flows-map .leaflet-interactive").count() > 0
    total = page.locator("#flows-summary [data-total]").get_attribute("data-total")
    assert total is not None and int(total) > 5000
    screenshot(page, "flows-dashboard")
    violations = axe_violations(page)
    assert violations == [], [(v["id"], v["nodes"][0]["target"]) for v in violations]


def test_dashboard_in_english_with_weekly_buckets(new_page: Callable[..., Any]) -> None:
    page = new_page()
    page.goto("/language?lang=en&next=%2Fflows%3Ffrom%3D2025-09-08%26until%3D2025-09-11%26granularity%3Dweek")
    page.wait_for_selector("html[data-flows-charts='4']")
    assert page.locator("h1").inner_text() == "Logistics flows"
    assert page.locator("#table-trend tbody tr").count() == 1


def test_officer_simulates_a_draft_in_the_browser(
    new_page: Callable[..., Any], browser_login: Callable[[Any, str], None], flows_dir: Path
) -> None:
    zone = "NDW11_64717e49-b364-4001-b6f9-14270d068764"
    record = next(r for r in Register.open(flows_dir).records if r["id"] == zone)
    record["regulations"][0]["end"] = "2025-09-09T00:00:00+02:00"  # ends a day earlier: refusals of the 9th go
    page = new_page()
    browser_login(page, "officer-ams")
    page.goto("/flows/simulate?zone=NDW11_64717e49-b364-4001-b6f9-14270d068764")
    page.fill("#from", "2025-09-08")
    page.fill("#until", "2025-09-11")
    page.fill("#record", json.dumps(record))
    page.click("#flows-simulate-form button[type=submit]")
    page.wait_for_selector("#flows-sim-table")
    page.wait_for_selector("html[data-flows-charts='1']")
    cells = page.locator("#flows-sim-table tr[data-metric='refused'] td").all_inner_texts()
    assert len(cells) == 5 and cells[4].startswith("-")  # fewer refused under the draft
    screenshot(page, "flows-simulation")
    violations = axe_violations(page)
    assert violations == [], [(v["id"], v["nodes"][0]["target"]) for v in violations]
