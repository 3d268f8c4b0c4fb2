"""The ``ruas`` command line: check a vehicle, report on a fleet, list and import the register.

Human-readable tables by default, ``--json`` for machines. This is the outermost
layer: the only place that reads the clock (``--at`` defaults to now) and the one
place that turns :class:`~ruas.domain.errors.RuasError` into a message on stderr
and exit status 2.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from ruas import cli_options as opt
from ruas.agenda.cli import agenda_app
from ruas.bundling.cli import bundle_app
from ruas.domain.decision import Access, Decision, Effect
from ruas.domain.errors import InvalidInput, RuasError
from ruas.domain.timeutil import LOCAL_TZ, parse_date, parse_instant
from ruas.enforcement.cli import app as enforcement_app
from ruas.flows.cli import flows_app
from ruas.opendata.cli import export_app
from ruas.register.store import Register, default_data_dir
from ruas.routing.cli import routing_app
from ruas.services.check import Place, VehicleInput, build_vehicle, check
from ruas.services.fleet import default_period, fleet_report, read_fleet_file, zone_label

app = typer.Typer(
    name="ruas",
    help="RUAS platform: may this vehicle enter here? One register of access rules for Noord-Holland and Flevoland.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
import_app = typer.Typer(help="Import open data into the register (RUAS_DATA_DIR).", no_args_is_help=True)
users_app = typer.Typer(
    help="Accounts of the service (applicants, officers, regional administrators).", no_args_is_help=True
)
report_app = typer.Typer(help="Reports on the register.", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(report_app, name="report")
app.add_typer(users_app, name="users")
app.add_typer(enforcement_app, name="enforcement")
app.add_typer(routing_app)  # ruas route, ruas graph
app.add_typer(export_app, name="export")
app.add_typer(bundle_app)  # ruas bundle
app.add_typer(agenda_app, name="agenda")
app.add_typer(flows_app, name="flows")

out = Console()
err = Console(stderr=True)

T = TypeVar("T")


def _run(fn: Callable[[], T]) -> T:
    """Run a command body; a RuasError becomes a clear message on stderr and exit status 2."""
    try:
        return fn()
    except RuasError as exc:
        err.print("[bold red]error:[/]", escape(exc.message), highlight=False)
        raise typer.Exit(2) from None


def _now() -> datetime:
    return datetime.now(LOCAL_TZ)


def _register() -> Register:
    return Register.open(default_data_dir())


def _local(value: datetime | None) -> str:
    if value is None:
        return "—"
    local = value.astimezone(LOCAL_TZ)
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        return local.date().isoformat()
    return local.strftime("%Y-%m-%d %H:%M")


@app.command("check")
def check_cmd(
    plate: opt.Plate = None,
    mass: opt.Mass = None,
    category: opt.Category = None,
    body: opt.Body = None,
    fuel: opt.Fuel = None,
    emission_class: opt.EmissionClass = None,
    first_admission: opt.FirstAdmission = None,
    length: opt.Length = None,
    width: opt.Width = None,
    height: opt.Height = None,
    body_code: opt.BodyCode = None,
    special_code: opt.SpecialCode = None,
    point: Annotated[str | None, typer.Option(help="LAT,LON in WGS84, e.g. 52.3731,4.8926")] = None,
    zone: Annotated[str | None, typer.Option(help="a zone id (see `ruas zones`)")] = None,
    municipality: Annotated[str | None, typer.Option(help="CBS code, e.g. GM0363")] = None,
    at: Annotated[str | None, typer.Option(help="moment, ISO-8601; default now")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """May this vehicle enter here at this moment? Exit 0 allowed, 1 not allowed, 2 bad input."""

    def body_fn() -> Decision:
        when = parse_instant(at, "--at") if at else _now()
        given = VehicleInput.from_flags(
            plate=plate,
            category=category,
            body=body,
            fuel=fuel,
            emission_class=emission_class,
            first_admission=first_admission,
            mass=mass,
            length=length,
            width=width,
            height=height,
            body_code=body_code,
            special_code=special_code,
        )
        place = Place(point=point, zone=zone, municipality=municipality)
        register = _register()
        vehicle = build_vehicle(register, given)
        return check(register, vehicle, place.resolve(register), when)

    decision = _run(body_fn)
    if as_json:
        sys.stdout.write(json.dumps(decision.to_data(), ensure_ascii=False) + "\n")
    else:
        _print_decision(decision)
    raise typer.Exit(0 if decision.allowed else 1)


def _print_decision(decision: Decision) -> None:
    v = decision.vehicle
    title = f"{v.plate + ': ' if v.plate else ''}{v.describe()}"
    out.print(f"[bold]{title}[/]  at {_local(decision.at)}", highlight=False)
    if not decision.zones:
        out.print("No zone or area with access rules applies at this place.")
        return
    table = Table(show_lines=True)
    table.add_column("zone")
    table.add_column("answer")
    table.add_column("why")
    table.add_column("exemptions that could help")
    for z in decision.zones:
        if z.access is Access.NOT_ALLOWED:
            answer = "[red]NOT ALLOWED[/]" + (f"\nallowed from {_local(z.allowed_from)}" if z.allowed_from else "")
        else:
            answer = "[green]ALLOWED[/]" + (" (with exemption)" if z.access is Access.ALLOWED_WITH_EXEMPTION else "")
            answer += f"\nuntil {_local(z.allowed_until)}" if z.allowed_until else ""
        shown = [r for r in z.reasons if r.effect is not Effect.NOT_SUBJECT] or list(z.reasons[:1])
        why = "\n".join(f"• {r.text} [dim]({r.legal_basis})[/]" for r in shown)
        if z.notes:
            why += "\n" + "\n".join(f"[yellow]note:[/] {n}" for n in z.notes)
        helps = "\n".join(
            f"{e.name_nl}" + (f" (€{e.fee_eur:.0f})" if e.fee_eur is not None else "") + (" [held]" if e.held else "")
            for e in z.exemptions
        )
        table.add_row(f"{z.zone_name}\n[dim]{z.kind.value} · {z.zone_id}[/]", answer, why, helps)
    out.print(table)
    out.print("[bold green]Allowed everywhere here.[/]" if decision.allowed else "[bold red]Not allowed here.[/]")


@app.command("fleet")
def fleet_cmd(
    file: Annotated[Path, typer.Argument(help="CSV (comma or semicolon) or .xlsx with plates or vehicle rows")],
    from_: Annotated[str | None, typer.Option("--from", help="start date YYYY-MM-DD; default today")] = None,
    to: Annotated[str | None, typer.Option("--to", help="end date YYYY-MM-DD; default 2031-01-01")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv, json or md")] = "table",
) -> None:
    """Until when may each vehicle of a fleet enter each zone? With a summary per year."""
    if fmt not in ("table", "csv", "json", "md"):
        _run(lambda: (_ for _ in ()).throw(InvalidInput(f"--format {fmt!r}: expected table, csv, json or md")))

    def body_fn() -> Any:
        start, end = default_period(_now().date())
        if from_:
            start = datetime.combine(parse_date(from_, "--from"), datetime.min.time(), LOCAL_TZ)
        if to:
            end = datetime.combine(parse_date(to, "--to"), datetime.min.time(), LOCAL_TZ)
        rows = read_fleet_file(file)
        register = _register()
        with Progress(console=err, transient=True, disable=fmt != "table" or len(rows) < 1000) as progress:
            task = progress.add_task(f"checking {len(rows)} vehicles", total=None)
            report = fleet_report(register, rows, start=start, end=end, file_name=str(file))
            progress.update(task, completed=1, total=1)
        return report

    report = _run(body_fn)
    for warning in report.warnings:
        err.print("[yellow]warning:[/]", escape(warning), highlight=False)
    _print_fleet(report, fmt)


def _print_fleet(report: Any, fmt: str) -> None:
    verdicts = report.verdicts()
    names = {z: zone_label(n, s) for z, n, s in report.zones}
    wide = verdicts.pivot(on="zone_id", index="plate", values="verdict")
    wide = report.vehicles.join(wide, on="plate", how="left")
    cols = [z for z, _, _ in report.zones if z in wide.columns]
    summary = report.summary()
    if fmt == "json":
        data = {
            "period": {"from": report.start.isoformat(), "to": report.end.isoformat()},
            "zones": [{"id": z, "name": n, "status": s} for z, n, s in report.zones],
            "vehicles": [
                {"plate": r["plate"], "vehicle": r["vehicle"], "zones": {z: r.get(z) for z in cols}}
                for r in wide.to_dicts()
            ],
            "segments": [
                {**s, "start": s["start"].isoformat(), "end": s["end"].isoformat(), "state": str(s["state"])}
                for s in report.segments.to_dicts()
            ],
            "summary": summary.to_dicts(),
        }
        sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
        return
    header = ["plate", "vehicle", *[names[z] for z in cols]]
    rows = [[r["plate"], r["vehicle"], *[r.get(z) or "" for z in cols]] for r in wide.to_dicts()]
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(header)
        w.writerows(rows)
        sys.stdout.write(buf.getvalue())
        return
    if fmt == "md":
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
        lines += [
            "",
            "**Vehicles losing access, per year and zone**",
            "",
            "| year | zone | vehicles |",
            "|---|---|---|",
        ]
        lines += [f"| {r['year']} | {names[r['zone_id']]} | {r['vehicles']} |" for r in summary.to_dicts()]
        sys.stdout.write("\n".join(lines) + "\n")
        return
    table = Table(title=f"Fleet access {_local(report.start)} – {_local(report.end)}", show_lines=True)
    table.add_column("vehicle", overflow="fold")
    table.add_column("restrictions per zone", overflow="fold")
    for r in wide.to_dicts():
        restricted = [f"{names[z]}: {r[z]}" for z in cols if r.get(z) and r[z] != "allowed"]
        free = sum(1 for z in cols if r.get(z) == "allowed")
        lines = restricted + ([f"[green]allowed in the other {free} zone(s)[/]"] if free else [])
        table.add_row(f"[bold]{r['plate']}[/]\n{r['vehicle']}", "\n".join(lines))
    out.print(table)
    st = Table(title="Vehicles without access, by the year they lose it (or the period's start)")
    st.add_column("year")
    st.add_column("zone")
    st.add_column("vehicles", justify="right")
    for r in summary.to_dicts():
        st.add_row(str(r["year"]), names[r["zone_id"]], str(r["vehicles"]))
    out.print(st)


@app.command("zones")
def zones_cmd(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List every zone and area in the register."""
    register = _run(_register)
    rows: list[dict[str, Any]] = []
    for z in register.zones:
        starts = [r.validity.start for r in z.regulations if r.validity.start]
        rows.append(
            {
                "id": z.id,
                "name": z.name,
                "kind": z.kind.value,
                "status": z.status.value,
                "authority": z.authority,
                "authority_name": z.authority_name,
                "from": _local(min(starts)) if starts else None,
                "legal_basis": "; ".join(
                    sorted({r.legal_source.citation for r in z.regulations if r.legal_source.citation})
                ),
                "illustrative": z.illustrative,
                "has_area": z.geometry is not None,
            }
        )
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False) + "\n")
        return
    table = Table(title=f"Register: {len(rows)} zones ({register.path})")
    for col in ("name", "kind", "status", "authority", "from", "id"):
        table.add_column(col, overflow="fold")
    for r in rows:
        name = str(r["name"]) + (" [yellow](illustrative)[/]" if r["illustrative"] else "")
        authority = f"{r['authority_name']} {r['authority']}"
        table.add_row(name, str(r["kind"]), str(r["status"]), authority, str(r["from"] or ""), str(r["id"]))
    out.print(table)


@app.command("summary")
def summary_cmd() -> None:
    """A summary of the register: zones by kind and status, vehicles by class."""
    register = _run(_register)
    zones = register.zones
    out.print(f"[bold]RUAS register[/] in {register.path}")
    by_kind: dict[str, int] = {}
    for z in zones:
        key = f"{z.kind.value} ({z.status.value})"
        by_kind[key] = by_kind.get(key, 0) + 1
    for k, n in sorted(by_kind.items()):
        out.print(f"  {n:3d} × {k}")
    v = register.vehicles
    synthetic = int(v.get_column("synthetic").sum())
    out.print(f"  {v.height:,} vehicles in the register ({synthetic:,} synthetic — plates contain Q, never real)")
    classes = v.group_by("emission_class").len().sort("emission_class")
    out.print("  by emission class: " + ", ".join(f"{r['emission_class']}: {r['len']:,}" for r in classes.to_dicts()))


@import_app.command("ndw")
def import_ndw_cmd(
    file: Annotated[Path, typer.Argument(help="NDW DATEX II v3 ControlledZoneTablePublication XML")],
) -> None:
    """Import the NDW emission-zone feed: zones are added or updated by their NDW id."""

    def body_fn() -> Any:
        return _register().import_ndw(file)

    result = _run(body_fn)
    out.print(
        f"NDW import of {file}: {len(result.added)} added, {len(result.updated)} updated, "
        f"{len(result.unchanged)} unchanged"
        + (f", {len(result.skipped_older)} older versions skipped" if result.skipped_older else "")
    )


@import_app.command("rdw")
def import_rdw_cmd(
    files: Annotated[list[Path], typer.Argument(help="RDW open-data CSV/JSON exports (vehicles, fuel, body, ...)")],
) -> None:
    """Import RDW vehicle records (joined on kenteken) into the vehicle register."""

    def body_fn() -> Any:
        from ruas.sources.rdw import load_rdw

        loaded = load_rdw(files)
        return loaded, _register().import_vehicles(loaded.vehicles)

    loaded, result = _run(body_fn)
    out.print(f"RDW import: {len(result.added)} added, {len(result.updated)} updated")
    for w in loaded.warnings[:20]:
        err.print("[yellow]warning:[/]", escape(w), highlight=False)


@report_app.command("consistency")
def consistency_cmd(
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Where the published NDW conditions disagree with the national frameworks (decisions follow the law)."""

    def body_fn() -> Any:
        from ruas.register.consistency import consistency_report

        register = _register()
        return consistency_report(register.records, register.settings)

    report = _run(body_fn)
    if as_json:
        sys.stdout.write(json.dumps(report.to_data(), ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(report.to_markdown())


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
) -> None:
    """Start the portal and the HTTP API on the embedded default or RUAS_DATA_DIR / RUAS_DATABASE_URL."""
    import uvicorn

    from ruas.core.config import Settings

    settings = _run(Settings.from_env)
    register = _run(_register)  # migrate and seed before the first request
    if settings.development:
        err.print(
            "[yellow]development mode[/]: a fresh secret key per start"
            + (", demo accounts (password 'demo-password-1') are created" if settings.demo_accounts else "")
            + ". Set RUAS_ENV=production and RUAS_SECRET_KEY for a real deployment.",
            highlight=False,
        )
        if settings.demo_accounts:
            _run(lambda: _demo_accounts(register))
    out.print(
        f"RUAS portal on http://{host}:{port}/ and API on http://{host}:{port}/api/v1 (docs: /api/v1/docs), "
        f"register in {register.path}"
    )
    uvicorn.run("ruas.api.app:serve_app", factory=True, host=host, port=port, workers=workers, log_level="warning")


def _demo_accounts(register: Register) -> None:
    from sqlalchemy import select

    from ruas.services.accounts import create_user
    from ruas.store.db import session_scope
    from ruas.store.models import User

    demo = [
        ("demo-applicant", "applicant", "12345678", ()),
        ("demo-officer-amsterdam", "officer", None, ("GM0363",)),
        ("demo-officer-haarlem", "officer", None, ("GM0392",)),
        ("demo-admin", "admin", None, ()),
    ]
    with session_scope(register.store.engine) as s:
        for name, role, kvk, codes in demo:
            if s.scalar(select(User.id).where(User.username == name)) is None:
                create_user(
                    s, username=name, password="demo-password-1", role=role, now=_now(), kvk=kvk, municipalities=codes
                )


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Argument(help="login name")],
    role: Annotated[str, typer.Option(help="applicant, officer or admin")],
    kvk: Annotated[str | None, typer.Option(help="KvK number (8 digits), for applicants")] = None,
    municipality: Annotated[list[str] | None, typer.Option(help="CBS code, repeatable, for officers")] = None,
    password: Annotated[
        str | None, typer.Option(help="password; default: read from RUAS_NEW_PASSWORD or prompted")
    ] = None,
    token: Annotated[bool, typer.Option("--token", help="also create a bearer token and print it once")] = False,
) -> None:
    """Create an account (the only way accounts are made outside the development demo)."""
    import os

    from ruas.services.accounts import create_token, create_user
    from ruas.store.db import session_scope

    secret = password or os.environ.get("RUAS_NEW_PASSWORD") or typer.prompt("password", hide_input=True)

    def body_fn() -> str | None:
        register = _register()
        with session_scope(register.store.engine) as s:
            user = create_user(
                s,
                username=username,
                password=secret,
                role=role,
                now=_now(),
                kvk=kvk,
                municipalities=tuple(municipality or ()),
            )
            return create_token(s, user, name="cli", now=_now()) if token else None

    created = _run(body_fn)
    out.print(f"account {username} ({role}) created")
    if created:
        sys.stdout.write(created + "\n")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
