"""The annual progress report (golden file), the platform's figures behind it, and the CLI."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from ruas.agenda import service
from ruas.agenda.loader import embedded_agenda, region_municipalities
from ruas.agenda.metrics import MetricContext, compute
from ruas.agenda.model import StepStatus
from ruas.agenda.progress import BudgetKind, BudgetLine, Progress, ProgressNote, StatusChange
from ruas.agenda.report import euro_nl, render_html, render_pdf, report_data
from ruas.cli import app
from ruas.domain.errors import InvalidInput
from ruas.register.store import Register
from ruas.store.db import session_scope
from ruas.store.models import Camera

GOLDEN = Path(__file__).parent / "golden"
AGENDA = embedded_agenda()
AT = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
RAAMWERK = "basisraamwerk-toegangsbeleid"


def _status(seq: int, step: str, status: StepStatus, day: date, note: str = "") -> StatusChange:
    activity, n = step.rsplit("/", 1)
    return StatusChange(seq, activity, int(n), status, day, note, "regio-beheerder", AT)


PROGRESS = Progress(
    changes=(
        _status(1, "ze-zones-kennis-delen/1", StepStatus.DONE, date(2023, 10, 2), "Regionale projectgroep opgestart."),
        _status(2, "ze-zones-kennis-delen/2", StepStatus.IN_PROGRESS, date(2023, 10, 2)),
        _status(3, "basisraamwerk-toegangsbeleid/1", StepStatus.DONE, date(2024, 3, 14), "Raamwerk vastgesteld."),
        _status(4, "bundeling-inkoop-anpr/2", StepStatus.DELAYED, date(2024, 9, 1), "Wachten op SPES-resultaten."),
        _status(5, "datadelen-voor-logistiek/1", StepStatus.IN_PROGRESS, date(2024, 2, 1)),
    ),
    budget_lines=(
        BudgetLine(1, RAAMWERK, BudgetKind.COMMITTED, 5_000_000, date(2023, 9, 1), "Opdracht", "x", AT),
        BudgetLine(2, RAAMWERK, BudgetKind.SPENT, 3_125_050, date(2024, 4, 1), "Factuur", "x", AT),
    ),
    notes=(
        ProgressNote(1, "datadelen-voor-logistiek", date(2024, 11, 1), "Twaalf gemeenten leveren data aan.", "x", AT),
    ),
)  # fmt: skip


@pytest.fixture
def engine(data_dir: Path) -> Engine:
    """The seeded register's database (SQLite)."""
    return Register(data_dir).store.engine


def test_report_matches_the_golden_file(data_dir: Path, engine: Engine) -> None:
    """The report for 31 December 2024 (changes since 31 December 2023) is exactly tests/agenda/golden/."""
    register = Register(data_dir)
    with session_scope(engine) as s:
        metrics = service.figures(AGENDA, date(2024, 12, 31), register.zones, s)
        data = report_data(AGENDA, PROGRESS, report_date=date(2024, 12, 31), since=date(2023, 12, 31), metrics=metrics)
    html = render_html(data)
    golden = GOLDEN / "report_2024-12-31.html"
    if os.environ.get("RUAS_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(html, encoding="utf-8")
    assert golden.exists(), "run once with RUAS_UPDATE_GOLDEN=1 to create the golden file"
    assert html == golden.read_text(encoding="utf-8")


def test_report_lists_only_the_changes_since_the_previous_report() -> None:
    """Changes on or before the previous report's date are not listed again; later ones are."""
    data = report_data(AGENDA, PROGRESS, report_date=date(2024, 12, 31), since=date(2023, 12, 31), metrics={})
    items = {a["id"]: a for section in data["sections"] for a in section["activities"]}
    assert items["ze-zones-kennis-delen"]["unchanged"] is True
    assert [e["text"] for e in items["basisraamwerk-toegangsbeleid"]["events"]] == [
        "Stap 1: afgerond",
        "Besteed: € 31.250,50",
    ]
    assert items["basisraamwerk-toegangsbeleid"]["budget"]["committed"] == "€ 50.000,00"
    assert items["bundeling-inkoop-anpr"]["changed_steps"][0]["before_nl"] == "niet gestart"
    assert data["summary"]["changes"] == 3


def test_report_is_the_same_whatever_was_recorded_later() -> None:
    """Events dated after the report date do not change it (the date is a parameter; no clock)."""
    later = Progress(
        (*PROGRESS.changes, _status(9, "pakketkluizen/1", StepStatus.DONE, date(2025, 1, 2))),
        PROGRESS.budget_lines,
        PROGRESS.notes,
    )
    args = {"report_date": date(2024, 12, 31), "since": date(2023, 12, 31), "metrics": {}}
    assert render_html(report_data(AGENDA, later, **args)) == render_html(report_data(AGENDA, PROGRESS, **args))  # type: ignore[arg-type]


def test_report_needs_since_before_the_date() -> None:
    """A report whose previous report is not before it names the field."""
    with pytest.raises(InvalidInput) as info:
        report_data(AGENDA, PROGRESS, report_date=date(2024, 1, 1), since=date(2024, 1, 1), metrics={})
    assert info.value.details["field"] == "since"


def test_pdf_is_rendered_and_repeatable() -> None:
    """WeasyPrint lays the HTML out as a PDF; the same HTML gives the same bytes."""
    html = render_html(
        report_data(AGENDA, PROGRESS, report_date=date(2024, 12, 31), since=date(2023, 12, 31), metrics={})
    )
    first = render_pdf(html)
    assert first.startswith(b"%PDF-") and len(first) > 10_000
    assert render_pdf(html) == first


@pytest.mark.parametrize(("value", "text"), [(0, "€ 0,00"), (1234567, "€ 1.234.567,00"), (-12.5, "€ -12,50")])
def test_euros_are_written_the_dutch_way(value: float, text: str) -> None:
    """Thousands with a point, decimals with a comma."""
    from decimal import Decimal

    assert euro_nl(Decimal(str(value))) == text


# --------------------------------------------------------------------------- the platform's figures


@pytest.mark.parametrize(("day", "live"), [(date(2024, 12, 31), False), (date(2025, 1, 1), True)])
def test_ze_zones_live_follow_the_zone_start(data_dir: Path, day: date, live: bool) -> None:
    """Amsterdam's ZE-zone (from 1 January 2025) counts as live from that day on."""
    ctx = MetricContext(on=day, zones=Register(data_dir).zones, municipalities=region_municipalities())
    result = compute("ze_zones_live", ctx)
    row = dict(result.rows)["Amsterdam (GM0363)"]
    assert ("actief sinds 2025-01-01" in row) is live
    assert result.available and result.total == 50


def test_anpr_metric_is_honest_until_cameras_are_registered(engine: Engine) -> None:
    """Without cameras the shared back-office figure is "not available"; a synthetic camera does not count; a real
    one makes its municipality count."""
    now = datetime(2025, 1, 1, tzinfo=UTC)

    def run() -> tuple[bool, int | None, str]:
        with session_scope(engine) as s:
            r = compute("anpr_shared_backoffice", MetricContext(date(2025, 1, 1), None, region_municipalities(), s))
        return r.available, r.value, r.summary

    assert run()[:2] == (False, None)
    camera = {"lat": 52.64, "lon": 5.06, "zones": [], "municipality": "GM0405", "active": True, "updated_at": now}
    with session_scope(engine) as s:
        s.add(Camera(id="test-synthetic", synthetic=True, **camera))
    available, _, summary = run()
    assert not available and "synthetische" in summary
    with session_scope(engine) as s:
        s.add(Camera(id="hoorn-1", synthetic=False, **camera))
    assert run()[:2] == (True, 1)


def test_unknown_metric_is_not_available() -> None:
    """An id nobody registered gives "not available", never an error."""
    assert not compute("bestaat-niet", MetricContext(date(2025, 1, 1), None, {})).available


# --------------------------------------------------------------------------- CLI


def test_cli_list_show_roadmap_organisation_and_report(data_dir: Path, tmp_path: Path) -> None:
    """``ruas agenda list|show|roadmap|organisation|report`` work on the register in RUAS_DATA_DIR."""
    runner = CliRunner()
    listed = runner.invoke(app, ["agenda", "list", "--on", "2024-01-01", "--json"])
    assert listed.exit_code == 0, listed.output
    assert sum(len(t["activities"]) for t in json.loads(listed.stdout)["themes"]) == 18
    shown = runner.invoke(app, ["agenda", "show", "pakketkluizen", "--json"])
    assert json.loads(shown.stdout)["budget"]["as_written"] == "€ 20.000"
    assert runner.invoke(app, ["agenda", "roadmap", "--on", "2024-01-01"]).exit_code == 0
    org = runner.invoke(app, ["agenda", "organisation", "GM0405", "--json"])
    assert [a["id"] for a in json.loads(org.stdout)["roles"]["action_holder"]] == ["bundeling-inkoop-anpr"]
    out = tmp_path / "rapport.html"
    report = runner.invoke(app, ["agenda", "report", "--date", "2024-12-31", "-o", str(out)])
    assert report.exit_code == 0, report.output
    assert "Voortgangsrapportage RUAS 2024" in out.read_text(encoding="utf-8")
    bad = runner.invoke(app, ["agenda", "show", "bestaat-niet"])
    assert bad.exit_code == 2 and "bestaat-niet" in bad.stderr
