"""``ruas agenda list|show|roadmap|organisation|report``: the RUAS agenda and its progress on the command line.

Tables by default, ``--json`` for machines. ``--on`` (a local date) defaults to today: this is the outer layer,
where the clock may be read. A :class:`~ruas.domain.errors.RuasError` becomes a message on stderr and exit 2.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ruas.agenda import service
from ruas.agenda.loader import embedded_agenda, region_municipalities
from ruas.agenda.report import render_html, render_pdf, report_data
from ruas.agenda.views import activity_view, check_day, list_view, organisation_view, resolve_organisation, roadmap_view
from ruas.domain.errors import InvalidInput, RuasError
from ruas.domain.timeutil import LOCAL_TZ
from ruas.register.store import Register, default_data_dir
from ruas.store.db import session_scope

agenda_app = typer.Typer(
    help="The RUAS agenda (17 April 2023): activities, owners, budgets, roadmap, progress and the annual report.",
    no_args_is_help=True,
)

out = Console()
err = Console(stderr=True)
T = TypeVar("T")

OnOption = Annotated[str | None, typer.Option("--on", help="local date YYYY-MM-DD (default: today)")]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON")]


class ReportFormat(StrEnum):
    """Output format of the report."""

    HTML = "html"
    PDF = "pdf"
    JSON = "json"


def _run(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except RuasError as exc:
        err.print("[bold red]error:[/]", escape(exc.message), highlight=False)
        raise typer.Exit(2) from None


def _day(text: str | None, option: str = "--on") -> date:
    if text is None:
        return datetime.now(LOCAL_TZ).date()
    try:
        return check_day(date.fromisoformat(text), option)
    except ValueError:
        raise InvalidInput(f"{option} {text!r}: expected a date YYYY-MM-DD", field=option) from None


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


@agenda_app.command("list")
def list_cmd(on: OnOption = None, as_json: JsonOption = False) -> None:
    """Every activity by theme with its action holders, budget as written and step status."""

    def body() -> dict[str, Any]:
        register = Register.open(default_data_dir())
        with session_scope(register.store.engine) as s:
            return list_view(embedded_agenda(), service.load_progress(s), _day(on))

    data = _run(body)
    if as_json:
        _print_json(data)
        return
    table = Table(title=f"{data['title']} — stand op {data['on']}")
    for col in ("thema", "activiteit", "id", "actiehouder", "budget", "stappen (afgerond/totaal)"):
        table.add_column(col)
    for theme in data["themes"]:
        for a in theme["activities"]:
            steps = a["steps"]
            total = sum(v for k, v in steps.items() if k != "overdue")
            table.add_row(
                theme["name"],
                a["name"],
                a["id"],
                ", ".join(h["name"] for h in a["action_holders"]),
                a["budget"]["as_written"] or "—",
                f"{steps['done']}/{total}" + (f" ({steps['overdue']} achter)" if steps["overdue"] else ""),
            )
    out.print(table)


@agenda_app.command("show")
def show_cmd(
    activity_id: Annotated[str, typer.Argument(help="activity id, e.g. datadelen-voor-logistiek")],
    on: OnOption = None,
    as_json: JsonOption = False,
) -> None:
    """One activity: the sheet as written, steps with status, money and the platform's figures."""

    def body() -> dict[str, Any]:
        agenda = embedded_agenda()
        activity = agenda.activity(activity_id)
        day = _day(on)
        register = Register.open(default_data_dir())
        with session_scope(register.store.engine) as s:
            metrics = service.figures(agenda, day, register.zones, s, list(activity.metrics))
            return activity_view(agenda, service.load_progress(s), activity_id, day, metrics)

    data = _run(body)
    if as_json:
        _print_json(data)
        return
    out.print(f"[bold]{escape(data['name'])}[/] ({data['id']}) — stand op {data['on']}")
    if data["theme"]:
        out.print(f"Thema: {escape(data['theme']['name'])}")
    for role, label in (("action_holder", "Actiehouder"), ("involved", "Betrokken")):
        names = ", ".join(p["name"] for p in data["parties"][role])
        if names:
            out.print(f"{label}: {escape(names)}")
    b = data["budget"]
    out.print(
        f"Budget (agenda): {b['as_written'] or '—'}; vastgelegd € {b['committed_eur']}, besteed € {b['spent_eur']}"
    )
    if data["sheet"]["description"]:
        out.print(f"\n{escape(data['sheet']['description'])}\n")
    table = Table(title="Stappenplan 2023 - 2026")
    for col in ("stap", "omschrijving", "jaren", "status"):
        table.add_column(col)
    for st in data["steps"]:
        status = (
            st["status_nl"] + (f" sinds {st['since']}" if st["since"] else "") + (" (achter)" if st["overdue"] else "")
        )
        table.add_row(st["label"], st["text"], ", ".join(map(str, st["years"])) or "—", status)
    out.print(table)
    for m in data["metrics"]:
        prefix = "" if m["available"] else "nog niet beschikbaar: "
        out.print(f"[bold]{escape(m['title'])}[/]: {prefix}{escape(m['summary'])}")


@agenda_app.command("roadmap")
def roadmap_cmd(on: OnOption = None, as_json: JsonOption = False) -> None:
    """Activities × years 2023–2026 with the status of the steps planned each year."""

    def body() -> dict[str, Any]:
        register = Register.open(default_data_dir())
        with session_scope(register.store.engine) as s:
            return roadmap_view(embedded_agenda(), service.load_progress(s), _day(on))

    data = _run(body)
    if as_json:
        _print_json(data)
        return
    marks = {"not_started": "·", "in_progress": "▶", "done": "✓", "delayed": "!"}
    table = Table(title=f"Routekaart — stand op {data['on']}")
    table.add_column("activiteit")
    for year in data["years"]:
        table.add_column(str(year))
    table.add_column("zonder jaar")
    for row in data["rows"]:
        cells = [" ".join(marks[s["status"]] + s["label"] for s in row["years"][str(y)]) for y in data["years"]]
        table.add_row(row["name"], *cells, " ".join(marks[s["status"]] + s["label"] for s in row["undated"]))
    out.print(table)
    out.print("· niet gestart  ▶ loopt  ✓ afgerond  ! vertraagd (gevolgd door het nummer van de stap)")


@agenda_app.command("organisation")
def organisation_cmd(
    key: Annotated[str, typer.Argument(help="organisation id or CBS code, e.g. GM0363")],
    on: OnOption = None,
    as_json: JsonOption = False,
) -> None:
    """What an organisation (or municipality, by CBS code) does in the agenda."""

    def body() -> dict[str, Any]:
        agenda = embedded_agenda()
        org = resolve_organisation(agenda, key, region_municipalities())
        register = Register.open(default_data_dir())
        with session_scope(register.store.engine) as s:
            return organisation_view(
                agenda, service.load_progress(s), org, _day(on), service.memberships(register.zones)
            )

    data = _run(body)
    if as_json:
        _print_json(data)
        return
    out.print(f"[bold]{escape(data['organisation']['name'])}[/] — stand op {data['on']}")
    labels = {"action_holder": "Actiehouder", "directed_by": "Opdrachtgever", "involved": "Betrokken"}
    for role, label in labels.items():
        for a in data["roles"][role]:
            out.print(f"{label}: {escape(a['name'])} ({a['id']})")
    for v in data["via_groups"]:
        out.print(f"Via {escape(v['group']['name'])} ({escape(v['basis'])}): {escape(v['activity']['name'])}")
    if data["steering_group"]:
        out.print(f"Ambtelijke stuurgroep: {data['steering_group']['role']}")


@agenda_app.command("report")
def report_cmd(
    report_date: Annotated[str | None, typer.Option("--date", help="report date YYYY-MM-DD (default: today)")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="list changes after this date (default: the previous report)")
    ] = None,
    fmt: Annotated[ReportFormat, typer.Option("--format", help="html, pdf or json")] = ReportFormat.HTML,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="file to write (default: stdout)")] = None,
) -> None:
    """The annual progress report for the steering group and the provincial states (Dutch)."""

    def body() -> bytes:
        agenda = embedded_agenda()
        day = _day(report_date, "--date")
        register = Register.open(default_data_dir())
        with session_scope(register.store.engine) as s:
            start = (
                _day(since, "--since")
                if since is not None
                else service.previous_report_date(agenda, service.issued_reports(s), day)
            )
            data = report_data(
                agenda,
                service.load_progress(s),
                report_date=day,
                since=start,
                metrics=service.figures(agenda, day, register.zones, s),
            )
        if fmt is ReportFormat.JSON:
            return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
        html = render_html(data)
        return render_pdf(html) if fmt is ReportFormat.PDF else html.encode("utf-8")

    content = _run(body)
    if output is None:
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
        return
    fd, tmp = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        os.replace(tmp, output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    err.print(f"report written to {output}")
