"""The bundling pages (TestClient): Dutch first with English, the illustrative example marked, upload errors naming
file, row and field, the before/after table equal to the service's KPIs, the engine's reasons for a stop nobody may
serve (in Dutch), progress while an analysis runs, the per-process cap, and the downloads."""

from __future__ import annotations

import csv
import io
import json
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import lxml.html
import pytest
import yaml
from fastapi.testclient import TestClient
from portal_support import csrf_of

from ruas.api.routes.bundling import MAX_TOTAL_S
from ruas.bundling.access import class_vehicle
from ruas.bundling.report import ASSUMPTIONS, BundlingReport, analyse
from ruas.bundling.scenario import scenario_from_text
from ruas.domain.decision import Access, Effect
from ruas.domain.errors import InvalidInput
from ruas.domain.timeutil import local_midnight
from ruas.register.store import Register
from ruas.rules.engine import decide
from ruas.web import bundling_pages
from ruas.web.bundling_pages import ASSUMPTION_MESSAGES, Runner, analysis_steps, number, scenario_from_files
from ruas.web.texts import Words

DAM = (52.3731, 4.8926)
"""A point inside the ZE zone of Amsterdam."""

VAN = {
    "id": "van-diesel",
    "name": "Diesel van",
    "category": "N1",
    "body": "van",
    "fuel": "diesel",
    "emission_class": 6,
    "first_admission": "2020-03-01",
    "mass_kg": 3000,
    "capacity_kg": 900,
    "capacity_m3": 10,
    "cost_per_hour_eur": 45,
    "cost_per_km_eur": 0.30,
    "speed_kmh": 30,
    "emission_factor": "van-diesel-euro6",
}
E_VAN = {
    **VAN,
    "id": "e-van",
    "name": "Electric van",
    "fuel": "electric",
    "emission_class": None,
    "first_admission": "2025-01-01",
    "capacity_kg": 800,
    "capacity_m3": 9,
    "cost_per_hour_eur": 40,
    "cost_per_km_eur": 0.2,
    "fixed_cost_per_day_eur": 25,
    "emission_factor": "van-electric",
}
HUB = {"id": "h1", "name": "Test hub", "lat": 52.50, "lon": 5.50, "hours": "06:00-18:00"}
HUB |= {"capacity_kg_per_day": 5000, "capacity_m3_per_day": 50, "fixed_cost_per_day_eur": 50}


def tiny_doc(**sections: Any) -> dict[str, Any]:
    """Three receivers in two districts near Lelystad, two suppliers, one hub with e-vans."""
    doc: dict[str, Any] = {
        "scenario": {"id": "tiny", "name": "Tiny test scenario", "week_of": "2026-03-02"},
        "settings": {"seed": 1, "time_limit_s": 1, "max_iterations": 400, "no_improvement": 100},
        "demand_factors": [1, 2],
        "city": {"name": "Lelystad", "polygon": [[5.40, 52.47], [5.56, 52.47], [5.56, 52.545], [5.40, 52.545]]},
        "vehicle_classes": [VAN, E_VAN],
        "receivers": [
            {"id": "r1", "name": "Receiver one", "lat": 52.51, "lon": 5.47, "window": "08:00-12:00", "district": "a"},
            {"id": "r2", "name": "Receiver two", "lat": 52.52, "lon": 5.48, "window": "08:00-12:00", "district": "a"},
            {"id": "r3", "name": "Receiver three", "lat": 52.49, "lon": 5.45, "window": "09:00-15:00", "district": "b"},
        ],
        "suppliers": [
            {
                "id": "s1",
                "name": "Supplier one",
                "lat": 52.40,
                "lon": 5.30,
                "vehicle_class": "van-diesel",
                "days": "Mo,We",
            },
            {
                "id": "s2",
                "name": "Supplier two",
                "lat": 52.45,
                "lon": 5.60,
                "vehicle_class": "van-diesel",
                "days": "Mo",
            },
        ],
        "demand": [
            {"receiver": "r1", "supplier": "s1", "weekly_kg": 200, "weekly_m3": 2},
            {"receiver": "r2", "supplier": "s1", "weekly_kg": 100, "weekly_m3": 1},
            {"receiver": "r3", "supplier": "s2", "weekly_kg": 150, "weekly_m3": 1.5},
            {"receiver": "r1", "supplier": "s2", "weekly_kg": 50, "weekly_m3": 0.5},
        ],
        "hubs": [HUB],
        "hub_fleet": [{"vehicle_class": "e-van", "count": 2}],
        "districts": [{"id": "a", "name": "District A"}, {"id": "b", "name": "District B"}],
    }
    doc.update(sections)
    return doc


def dam_doc() -> dict[str, Any]:
    """Amsterdam in 2031: a receiver at the Dam (ZE zone) that neither the supplier's diesel van nor the hub's
    diesel van may serve."""
    return tiny_doc(
        scenario={"id": "dam", "name": "Amsterdam 2031", "week_of": "2031-03-03"},
        city=None,
        receivers=[{"id": "dam", "name": "Dam square", "lat": DAM[0], "lon": DAM[1], "window": "08:00-12:00"}],
        suppliers=[
            {"id": "s1", "name": "Supplier", "lat": 52.25, "lon": 4.75, "vehicle_class": "van-diesel", "days": "Mo"}
        ],
        demand=[{"receiver": "dam", "supplier": "s1", "weekly_kg": 100, "weekly_m3": 1}],
        hubs=[{**HUB, "lat": 52.35, "lon": 4.80}],
        hub_fleet=[{"vehicle_class": "van-diesel", "count": 1}],
        districts=[],
    )


def dumps(doc: dict[str, Any]) -> bytes:
    return yaml.safe_dump({k: v for k, v in doc.items() if v is not None}, sort_keys=False).encode()


# --------------------------------------------------------------------------- helpers


def post(client: TestClient, files: dict[str, bytes] | None = None, *, csrf: bool = True, **fields: str) -> Any:
    """Post the bundling form (an upload when ``files`` is given, else the example)."""
    form = {"source": "upload" if files else "example", "example": "lelystad", "time_limit": "1", "sensitivity": "1"}
    form.update(fields)
    if csrf:
        form["csrf_token"] = csrf_of(client.get("/bundling").text)
    upload = [("files", (name, data, "application/octet-stream")) for name, data in (files or {}).items()]
    return client.post("/bundling", data=form, files=upload or None, follow_redirects=False)


def finished(client: TestClient, response: Any) -> Any:
    """Wait for the analysis a post started (the run's own event) and return its page."""
    assert response.status_code == 303, response.text[:2000]
    location = response.headers["location"]
    run = bundling_pages.RUNNER.get(location.rsplit("/", 1)[1])
    assert run.done.wait(120), "the analysis did not finish"
    return client.get(location)


def doc_of(page: Any) -> Any:
    return lxml.html.fromstring(page.text)


def text(node: Any) -> str:
    return " ".join(node.text_content().split())


_PART = re.compile(r"^(?P<tag>[a-z][a-z0-9]*)?(?:#(?P<id>[\w-]+))?(?:\.(?P<cls>[\w-]+))?(?P<attrs>(?:\[[^\]]+\])*)$")


def xpath_of(selector: str) -> str:
    """The XPath of a small CSS subset (``tag#id.class[attr='v']`` parts, descendants separated by spaces)."""
    steps = []
    for part in selector.split():
        found = _PART.match(part)
        assert found, part
        tests = []
        if found["id"]:
            tests.append(f"@id='{found['id']}'")
        if found["cls"]:
            tests.append(f"contains(concat(' ', normalize-space(@class), ' '), ' {found['cls']} ')")
        for attr in re.findall(r"\[([^\]]+)\]", found["attrs"] or ""):
            name, _, value = attr.partition("=")
            tests.append(f"@{name}={value}" if value else f"@{name}")
        steps.append((found["tag"] or "*") + "".join(f"[{t}]" for t in tests))
    return ".//" + "//".join(steps)


def css(node: Any, selector: str) -> list[Any]:
    """The elements under ``node`` matching ``selector`` (see :func:`xpath_of`)."""
    return list(node.xpath(xpath_of(selector)))


@pytest.fixture
def register(data_dir: Path) -> Register:
    """The same register the portal's app opens (for the direct service calls to compare with)."""
    return Register.open(data_dir)


# --------------------------------------------------------------------------- the form


def test_form_is_dutch_first_with_an_english_switch(portal: TestClient) -> None:
    page = portal.get("/bundling")
    assert page.status_code == 200
    html = doc_of(page)
    assert html.get("lang") == "nl"
    assert text(css(html, "h1")[0]) == "Bundelen van leveringen en hubs"
    assert "ILLUSTRATIEF — geen echte vraag." in text(css(html, "#illustrative-lelystad")[0])
    assert css(html, "nav a[href='/bundling']")[0].get("aria-current") == "page"
    assert text(css(html, "nav a[href='/bundling']")[0]) == "Bundelen"
    portal.cookies.set("ruas_lang", "en")
    english = doc_of(portal.get("/bundling"))
    assert english.get("lang") == "en"
    assert text(css(english, "h1")[0]) == "Delivery bundling and hubs"
    assert "ILLUSTRATIVE — not real demand." in text(css(english, "#illustrative-lelystad")[0])


def test_the_example_downloads_as_an_editable_illustrative_yaml(portal: TestClient) -> None:
    response = portal.get("/bundling/examples/lelystad.yaml")
    assert response.status_code == 200
    assert response.text.startswith("# ILLUSTRATIVE SCENARIO - NOT REAL DEMAND")
    sc = scenario_from_text(response.text, "lelystad-scenario.yaml")
    assert sc.illustrative and len(sc.receivers) == 11 and len(sc.demand) > 20  # the CSV section is read in
    assert portal.get("/bundling/examples/nowhere.yaml").status_code == 404


def test_the_form_needs_its_csrf_token(portal: TestClient) -> None:
    assert post(portal, csrf=False).status_code == 403


BAD_WINDOW = tiny_doc()
BAD_WINDOW["receivers"][1]["window"] = "25:00-26:00"
UNKNOWN_FACTOR = tiny_doc(vehicle_classes=[VAN, {**E_VAN, "emission_factor": "no-such-factor"}])
DEMAND_CSV = "receiver;supplier;weekly_kg;weekly_m3\nr1;s1;200;2\nr2;s1;veel;1\n"


@pytest.mark.parametrize(
    ("files", "file", "row", "field", "says"),
    [
        (
            {"plan.yaml": dumps(BAD_WINDOW)},
            "plan.yaml",
            "receivers[1]",
            "window",
            "plan.yaml, receivers[1], field 'window'",
        ),
        (
            {"plan.yaml": dumps(tiny_doc(demand="demand.csv")), "demand.csv": DEMAND_CSV.encode()},
            "demand.csv",
            "line 3",
            "weekly_kg",
            "demand.csv, line 3, field 'weekly_kg': 'veel' is not a number",
        ),
        ({"plan.yaml": dumps(tiny_doc(demand="demand.csv"))}, "plan.yaml", "", "demand", "was not uploaded"),
        ({"plan.yaml": b"scenario: {id: x\nreceivers: [\n"}, "plan.yaml", "line 2", "", "not valid YAML"),
        ({"plan.yaml": dumps(UNKNOWN_FACTOR)}, "plan.yaml", "", "emission_factor", "unknown factor 'no-such-factor'"),
        ({"a.yaml": b"x: 1", "b.yaml": b"x: 2"}, "", "", "files", "exactly one scenario .yaml file"),
    ],
    ids=["yaml-window", "csv-number", "csv-missing", "yaml-syntax", "emission-factor", "two-yaml"],
)
def test_upload_errors_name_the_file_row_and_field(
    portal: TestClient, files: dict[str, bytes], file: str, row: str, field: str, says: str
) -> None:
    active = bundling_pages.RUNNER.active()
    page = post(portal, files)
    assert page.status_code == 422
    box = css(doc_of(page), "#scenario-error")[0]
    assert (box.get("data-file"), box.get("data-row"), box.get("data-field")) == (file, row, field)
    assert "Het scenario kan niet worden geanalyseerd." in text(box)
    message = css(box, "#scenario-error-message")[0]
    assert message.get("lang") == "en" and says in text(message)
    assert [text(dt) for dt in css(box, "dt")] == [
        n for n, v in (("Bestand", file), ("Rij", row), ("Veld", field)) if v
    ]
    assert [text(dd) for dd in css(box, "dd")] == [v for v in (file, row, field) if v]
    assert css(doc_of(page), "#files")[0].get("aria-invalid") == "true"
    assert bundling_pages.RUNNER.active() == active  # nothing was started


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"../plan.yaml": b"x: 1"}, "plain names"),
        ({"plan.yaml": b"demand: ../../etc/passwd.csv\n"}, "was not uploaded"),
        ({"plan.yaml": b"demand: /etc/x.csv\n", "x.csv": b"a\n"}, "was not uploaded"),
        ({}, "choose a scenario file"),
    ],
)
def test_uploads_never_reach_files_outside_the_upload(files: dict[str, bytes], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        scenario_from_files(files)


# --------------------------------------------------------------------------- the result


def _service(register: Register, doc: dict[str, Any], *, time_limit_s: float = 1.0) -> tuple[BundlingReport, list[str]]:
    said: list[str] = []
    report = analyse(
        scenario_from_text(dumps(doc).decode(), "plan.yaml"),
        register,
        time_limit_s=time_limit_s,
        sensitivity=True,
        budget_s=MAX_TOTAL_S,
        progress=said.append,
    )
    return report, said


def _cells(table: Any) -> dict[tuple[str, str], float]:
    return {
        (tr.get("data-kpi"), td.get("data-variant")): float(td.get("data-value"))
        for tr in css(table, "tbody tr")
        for td in css(tr, "td[data-variant]")
    }


def _expected(totals: dict[str, Any], areas: list[str], variant: str) -> dict[tuple[str, str], float]:
    out = {(f"movements:{a}", variant): float(totals["movements"].get(a, 0)) for a in areas}
    for key in ("vehicle_km", "vehicle_hours", "cost_eur", "co2_kg", "nox_g", "routes", "drops", "unserved"):
        out[(key, variant)] = float(totals[key])
    return out


def test_the_table_equals_the_service_kpis_for_a_tiny_scenario(portal: TestClient, register: Register) -> None:
    page = finished(portal, post(portal, {"plan.yaml": dumps(tiny_doc())}))
    assert page.status_code == 200
    html = doc_of(page)
    report, stages = _service(register, tiny_doc())
    data = report.to_data()
    assert len(stages) == analysis_steps(report.scenario, True)  # the progress bar's denominator
    areas = list(report.area_names)
    assert areas == ["city"]
    assert [v["variant"] for v in data["variants"]] == ["status_quo", "bundled", "concession"]
    expected_week: dict[tuple[str, str], float] = {}
    for v in data["variants"]:
        expected_week |= _expected(v["totals"], areas, v["variant"])
    assert _cells(css(html, "#kpi-table")[0]) == expected_week
    for day in ("Mo", "We"):
        expected_day: dict[tuple[str, str], float] = {}
        for v in data["variants"]:
            [d] = [d for d in v["days"] if d["day"] == day]
            expected_day |= _expected(d["totals"], areas, v["variant"])
        assert _cells(css(html, f"#kpi-day-{day}")[0]) == expected_day
    # the shown figures are the values, worded in Dutch; the change column is bundled minus status quo
    km = css(html, "#kpi-table tr[data-kpi='vehicle_km']")[0]
    sq, bu = data["variants"][0]["totals"]["vehicle_km"], data["variants"][1]["totals"]["vehicle_km"]
    assert text(css(km, "td[data-variant='status_quo']")[0]) == number(sq, 1, "nl")
    assert float(css(km, "td.change")[0].get("data-change")) == pytest.approx(bu - sq)
    verdict = css(html, "#verdict")[0]
    assert verdict.get("data-pays") == ("true" if data["comparison"]["pays"] else "false")
    assert ("loont niet" in text(verdict)) is (not data["comparison"]["pays"])
    hubs = css(html, "#sensitivity-hubs tbody tr")
    assert [(r.get("data-hub"), r.get("data-pays")) for r in hubs] == [
        (h["hub"], "true" if h["pays"] else "false") for h in data["sensitivity"]["hubs"]
    ]
    demand = css(html, "#sensitivity-demand tbody tr")
    assert [float(r.get("data-factor")) for r in demand] == [1.0, 2.0]
    assert css(html, "#travel-matrix")[0].get("data-approximate") == "true"
    assert "benadering: hemelsbrede afstanden" in text(css(html, "#travel-matrix")[0])
    assert [r.get("data-factor") for r in css(html, "#emission-factors tbody tr")] == [
        f["id"] for f in data["emission_factors"]
    ]
    assert css(html, "#unserved")[0].get("data-count") == "0"
    assert not css(html, "#illustrative")  # an uploaded scenario is not marked illustrative unless it says so
    # the map gets every round of every variant
    shown = json.loads(css(html, "#bundling-data")[0].text)
    assert len(shown["routes"]) == sum(len(d["routes"]) for v in data["variants"] for d in v["days"])
    assert {p["kind"] for p in shown["points"]} == {"receiver", "supplier", "hub"}
    assert [a["kind"] for a in shown["areas"]] == ["city"]

    # downloads: the JSON is the service's document; the CSV holds the same figures per day and for the week
    link = css(html, "a[data-download='json']")[0].get("href")
    got = portal.get(link).json()
    assert [v["totals"] for v in got["variants"]] == [v["totals"] for v in data["variants"]]
    assert got["comparison"] == data["comparison"] and got["sensitivity"] == data["sensitivity"]
    body = portal.get(css(html, "a[data-download='csv']")[0].get("href"))
    assert body.headers["content-disposition"] == 'attachment; filename="bundling-tiny.csv"'
    assert body.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(body.content.decode("utf-8-sig")), delimiter=";"))
    week = {r["variant"]: r for r in rows if r["day"] == "week"}
    for v in data["variants"]:
        assert float(week[v["variant"]]["vehicle_km"].replace(",", ".")) == pytest.approx(
            v["totals"]["vehicle_km"], abs=0.01
        )
        assert int(week[v["variant"]]["movements:city"]) == v["totals"]["movements"]["city"]
    assert len(rows) == 3 * (2 + 1)  # three variants × (two delivery days + the week)


def test_a_stop_nobody_may_serve_shows_the_engine_reasons_in_dutch(portal: TestClient, register: Register) -> None:
    page = finished(portal, post(portal, {"dam.yaml": dumps(dam_doc())}))
    html = doc_of(page)
    section = css(html, "#unserved")[0]
    assert section.get("data-count") == "2"  # the status quo's van and the hub fleet's van are both refused
    rows = css(section, "tbody tr")
    assert [(r.get("data-variant"), r.get("data-receiver")) for r in rows] == [
        ("status_quo", "dam"),
        ("bundled", "dam"),
    ]
    # what the engine says, asked directly: the diesel van at the Dam at 08:00 on Monday 3 March 2031
    sc = scenario_from_text(dumps(dam_doc()).decode(), "dam.yaml")
    zones = tuple(sorted(register.zones_at_point(*DAM)))
    at = local_midnight(sc.week_of) + timedelta(hours=8)
    decision = decide(register.book, class_vehicle(register, sc.vehicle_class("van-diesel")), zones, at=at)
    refused = [z for z in decision.zones if z.access is Access.NOT_ALLOWED]
    assert refused
    said = Words("nl")
    expected = [
        f"{said.data(z.zone_name)}: {said.reason(r)}"
        for z in refused
        for r in z.reasons
        if r.effect is Effect.PROHIBITS
    ]
    assert expected and all(r.message is not None for z in refused for r in z.reasons)
    for row in rows:
        why = text(css(row, "td")[-1])
        assert all(e in why for e in expected), (why, expected)
        assert "Er is geen datum bekend" in why
        assert "no exemption applies" not in why
    assert "kunnen 1 leveringen niet worden gedaan" in text(css(html, "#verdict")[0])

    portal.cookies.set("ruas_lang", "en")
    english = doc_of(portal.get(page.url.path))
    why = text(css(css(english, "#unserved tbody tr")[0], "td")[-1])
    words_en = Words("en")
    assert all(
        f"{words_en.data(z.zone_name)}: {words_en.reason(r)}" in why
        for z in refused
        for r in z.reasons
        if r.effect is Effect.PROHIBITS
    )


# --------------------------------------------------------------------------- running in the background


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Analyses wait for this event before they start solving (and POST does not wait for them)."""
    gate = threading.Event()
    real = bundling_pages.analyse

    def waiting(*args: Any, **kwargs: Any) -> BundlingReport:
        assert gate.wait(120)
        return real(*args, **kwargs)

    monkeypatch.setattr(bundling_pages, "analyse", waiting)
    monkeypatch.setattr(bundling_pages, "WAIT_INLINE_S", 0.0)
    runner = Runner(running=1, waiting=1)
    monkeypatch.setattr(bundling_pages, "RUNNER", runner)
    yield gate
    gate.set()
    for run in list(runner.runs.values()):  # no solver thread outlives the test
        assert run.done.wait(120)


def test_the_page_shows_progress_until_the_analysis_is_done(portal: TestClient, held: threading.Event) -> None:
    response = post(portal, {"plan.yaml": dumps(tiny_doc())})
    assert response.status_code == 303
    location = response.headers["location"]
    page = portal.get(location)
    assert page.status_code == 200
    html = doc_of(page)
    box = css(html, "#run-progress")[0]
    assert box.get("hx-get") == f"{location}/progress" and box.get("role") == "status"
    assert css(html, "progress#run-progress-bar")
    assert 'http-equiv="refresh"' in page.text  # without scripts the page reloads itself
    assert not css(html, "#kpi-table")
    fragment = portal.get(f"{location}/progress")
    assert fragment.status_code == 200 and "HX-Redirect" not in fragment.headers
    assert "<progress" in fragment.text and "<html" not in fragment.text
    held.set()
    assert bundling_pages.RUNNER.get(location.rsplit("/", 1)[1]).done.wait(120)
    done = portal.get(f"{location}/progress")
    assert done.headers["HX-Redirect"] == location
    assert css(doc_of(portal.get(location)), "#kpi-table")


def test_the_planner_refuses_more_than_its_cap(portal: TestClient, held: threading.Event) -> None:
    tiny = {"plan.yaml": dumps(tiny_doc())}
    first, second = post(portal, tiny, sensitivity=""), post(portal, tiny, sensitivity="")  # one solving, one waiting
    assert first.status_code == second.status_code == 303
    waiting = portal.get(second.headers["location"])
    assert "Wachten op een vrije planner" in waiting.text
    third = post(portal, tiny)
    assert third.status_code == 503 and third.headers["Retry-After"] == "30"
    assert "De planner is bezig met andere analyses." in text(css(doc_of(third), "#scenario-error")[0])


def test_an_unknown_or_expired_analysis_is_not_found(portal: TestClient) -> None:
    for path in ("/bundling/runs/AAAAAAAAAAAAAAAAAAAAAAAA", "/bundling/runs/x/result.json", "/bundling/runs/../x"):
        assert portal.get(path).status_code == 404


def test_the_assumption_messages_are_the_reports() -> None:
    assert ASSUMPTION_MESSAGES == ASSUMPTIONS


def test_number_wording() -> None:
    assert number(1413.06, 1, "nl") == "1.413,1"
    assert number(1413.06, 1, "en") == "1,413.1"
    assert number(None, 1, "nl") == "–"
