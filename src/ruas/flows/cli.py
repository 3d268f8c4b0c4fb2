"""``ruas flows ...``: refresh the cube, print the dashboard, simulate a draft, write the report, SYNTHETIC demo data.

The outermost layer: reads the clock, acts as the regional administrator (the CLI runs on the server), and turns
:class:`~ruas.domain.errors.RuasError` into a message on stderr and exit status 2.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ruas.domain.errors import InvalidInput, RuasError
from ruas.domain.timeutil import LOCAL_TZ, parse_date
from ruas.flows.cube import refresh
from ruas.flows.queries import FlowFilter
from ruas.flows.service import dashboard_for, default_period, flows_data, simulate_for
from ruas.register.store import Register, default_data_dir
from ruas.services.accounts import Principal

flows_app = typer.Typer(
    help="Logistics flows: dashboard over the camera data (suppressed), policy-impact simulation, report.",
    no_args_is_help=True,
)
out = Console()
err = Console(stderr=True)
T = TypeVar("T")
OPERATOR = Principal(user_id=0, username="cli", role="admin")
"""The CLI runs on the server with the operator's rights."""

FromOption = Annotated[str | None, typer.Option("--from", help="first local day (YYYY-MM-DD)")]
UntilOption = Annotated[str | None, typer.Option("--until", help="day after the last (YYYY-MM-DD, exclusive)")]
JsonOption = Annotated[bool, typer.Option("--json", help="print one JSON object")]


def _run(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except RuasError as exc:
        err.print("[bold red]error:[/]", escape(exc.message), highlight=False)
        raise typer.Exit(2) from None


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")


def _period(register: Register, start: str | None, until: str | None, days: int = 28) -> tuple[date, date]:
    _, d_end = default_period(register, datetime.now(UTC).astimezone(LOCAL_TZ).date(), days)
    end = parse_date(until, "--until") if until else d_end
    begin = parse_date(start, "--from") if start else end - timedelta(days=days)
    return begin, end


@flows_app.command("refresh")
def refresh_cmd(as_json: JsonOption = False) -> None:
    """Bring the flows cube up to date with the enforcement records and aggregates (run daily, before purge)."""
    result = _run(lambda: refresh(flows_data(Register.open(default_data_dir()))))
    if as_json:
        _print_json(result.to_data())
        return
    out.print(
        f"cube: {len(result.from_records)} day(s) from records, {len(result.from_aggregates)} from aggregates, "
        f"{result.unchanged} unchanged"
    )


@flows_app.command("dashboard")
def dashboard_cmd(
    start: FromOption = None,
    until: UntilOption = None,
    municipality: Annotated[list[str] | None, typer.Option("--municipality", help="CBS code (repeatable)")] = None,
    zone: Annotated[list[str] | None, typer.Option("--zone", help="zone id (repeatable)")] = None,
    granularity: Annotated[str, typer.Option(help="day, week or month")] = "day",
    as_json: JsonOption = False,
) -> None:
    """Entries per zone and breakdown (suppressed: no cell below 10 distinct vehicles)."""

    def body() -> dict[str, Any]:
        register = Register.open(default_data_dir())
        begin, end = _period(register, start, until)
        flt = FlowFilter(begin, end, tuple(municipality or ()), tuple(zone or ()), granularity)
        return dashboard_for(register, flt).to_data()

    data = _run(body)
    if as_json:
        _print_json(data)
        return
    f = data["filter"]
    out.print(f"flows {f['from']} .. {f['until']} (exclusive); suppression basis: {data['suppression_basis']}")
    out.print(f"passages: {_n(data['total_passages'])}; zero-emission share: {_pct(data['zero_emission_share'])}")
    for dim in ("zone", "vehicle_class", "emission_class", "outcome", "hour", "exemption"):
        g = data["breakdowns"].get(dim)
        if not g or not g["columns"]:
            continue
        table = Table(title=dim)
        table.add_column("value")
        table.add_column("passages", justify="right")
        totals = g["column_totals"] or []
        names = data["zone_names"] if dim == "zone" else {}
        for value, n in zip(g["columns"], totals, strict=True):
            table.add_row(escape(names.get(value, value)), _n(n))
        out.print(table)


def _n(value: int | None) -> str:
    return "suppressed" if value is None else f"{value:,}"


def _pct(value: float | None) -> str:
    return "suppressed" if value is None else f"{100 * value:.1f} %"


def _read_record(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"{path}: not a readable JSON zone record ({exc})", field="--draft") from exc
    if not isinstance(data, dict):
        raise InvalidInput(f"{path}: expected a JSON object (a zone record)", field="--draft")
    return data


@flows_app.command("simulate")
def simulate_cmd(
    zone_id: Annotated[str, typer.Argument(help="the zone whose draft to replay")],
    start: FromOption = None,
    until: UntilOption = None,
    draft: Annotated[Path | None, typer.Option("--draft", help="zone record (JSON); default: the saved draft")] = None,
    switch_share: Annotated[float, typer.Option(help="share of newly refused trips made zero-emission (0..1)")] = 0.5,
    min_vehicles: Annotated[int, typer.Option(help="withhold cells with fewer distinct vehicles")] = 10,
    as_json: JsonOption = False,
) -> None:
    """Replay kept de-identified passages against the zone's draft next to the rules in force."""

    def body() -> dict[str, Any]:
        register = Register.open(default_data_dir())
        begin, end = _period(register, start, until)
        sim = simulate_for(
            register, OPERATOR, zone_id, begin, end, record=_read_record(draft), switch_share=switch_share
        )
        return sim.to_data(min_vehicles)

    data = _run(body)
    if as_json:
        _print_json(data)
        return
    out.print(f"zone {escape(zone_id)}: {data['from']} .. {data['until']} (exclusive)")
    table = Table(title="rules in force vs draft")
    for col in ("metric", "in force: passages", "vehicles", "draft: passages", "vehicles", "change"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for row in data["comparison"]:
        a, b = row["in_force"], row["draft"]
        table.add_row(
            row["metric"], _n(a["passages"]), _n(a["vehicles"]), _n(b["passages"]), _n(b["vehicles"]),
            "suppressed" if row["change_passages"] is None else f"{row['change_passages']:+,}",
        )  # fmt: skip
    out.print(table)
    nr = data["newly_refused"]
    out.print(f"newly refused: {_n(nr['passages'])} passages, {_n(nr['vehicles'])} vehicles")
    ze = data["zero_emission_share"]
    out.print(f"zero-emission share: {_pct(ze['in_force'])} -> {_pct(ze['draft_expected'])} (expected)")
    for e in data["eligible_exemptions"]:
        out.print(f"eligible for {escape(e['name'])}: {_n(e['refused_vehicles'])} refused vehicles")
    if data["fidelity"] is not None:
        out.print(f"fidelity of the replay (in force vs recorded verdicts): {100 * data['fidelity']:.1f} %")


@flows_app.command("report")
def report_cmd(
    path: Annotated[Path, typer.Argument(help="output file: .html or .pdf")],
    start: FromOption = None,
    until: UntilOption = None,
    lang: Annotated[str, typer.Option(help="nl or en")] = "nl",
    granularity: Annotated[str, typer.Option(help="day, week or month")] = "week",
) -> None:
    """Write the flows report (HTML, or PDF through WeasyPrint)."""
    from ruas.web.flows_pages import report_html, report_pdf

    def body() -> bytes:
        register = Register.open(default_data_dir())
        begin, end = _period(register, start, until)
        html: str = report_html(register, FlowFilter(begin, end, granularity=granularity), lang)
        content: bytes = report_pdf(html) if path.suffix.lower() == ".pdf" else html.encode("utf-8")
        return content

    content = _run(body)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(content)
    tmp.replace(path)
    out.print(f"written {path} ({len(content):,} bytes)")


@flows_app.command("demo")
def demo_cmd(
    days: Annotated[int, typer.Option(help="days of SYNTHETIC traffic through the pipeline")] = 14,
    passages: Annotated[int, typer.Option(help="passages a day")] = 5000,
    until: UntilOption = None,
    history_days: Annotated[int, typer.Option(help="extend the cube backwards to this many days")] = 0,
    seed: int = 1,
) -> None:
    """SYNTHETIC cameras and traffic evaluated by the enforcement pipeline, then the cube (labelled synthetic)."""
    from ruas.flows.synthetic import extend_cube, generate

    def body() -> str:
        register = Register.open(default_data_dir())
        end = parse_date(until, "--until") if until else datetime.now(UTC).astimezone(LOCAL_TZ).date()
        made = generate(register, [end - timedelta(days=i + 1) for i in range(days)], passages, seed=seed)
        extra = (
            extend_cube(flows_data(register), end - timedelta(days=history_days), end, seed=seed) if history_days else 0
        )
        return (
            f"SYNTHETIC: {made.passages:,} passages on {len(made.days)} days, {made.cameras} cameras; "
            f"{extra} days copied"
        )

    out.print(_run(body))
