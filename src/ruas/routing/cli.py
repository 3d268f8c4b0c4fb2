"""``ruas route`` and ``ruas graph import``: routing from the command line.

The vehicle flags are those of ``ruas check`` (a plate, attributes, or both); exemptions the
plate holds at the exemption desk count. Exit status: 0 route found, 1 no legal route, 2 bad input.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress

from ruas import cli_options as opt
from ruas.domain.errors import RuasError
from ruas.domain.timeutil import LOCAL_TZ, parse_instant
from ruas.register.spatial import parse_point
from ruas.register.store import Register, default_data_dir
from ruas.services.check import VehicleInput, build_vehicle

routing_app = typer.Typer(help="Routes for goods vehicles that respect every access rule.")
"""Merged into the main CLI without a name: adds ``ruas route`` and the ``ruas graph`` group."""
graph_app = typer.Typer(help="The road graph routing runs on (OpenStreetMap extracts).", no_args_is_help=True)
routing_app.add_typer(graph_app, name="graph")

out = Console()
err = Console(stderr=True)


def _fail(exc: RuasError) -> typer.Exit:
    err.print("[bold red]error:[/]", escape(exc.message), highlight=False)
    return typer.Exit(2)


@routing_app.command("route")
def route_cmd(
    plate: opt.Plate = None,
    from_: Annotated[str, typer.Option("--from", help="start LAT,LON")] = "",
    to: Annotated[str, typer.Option("--to", help="end LAT,LON")] = "",
    via: Annotated[list[str] | None, typer.Option(help="intermediate stop LAT,LON, repeatable, in order")] = None,
    depart: Annotated[str | None, typer.Option(help="departure, ISO-8601; default now")] = None,
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
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object (with GeoJSON)")] = False,
) -> None:
    """The quickest legal route for this vehicle, departing at --depart, and why it bends."""
    try:
        when = parse_instant(depart, "--depart") if depart else datetime.now(LOCAL_TZ)
        if not from_ or not to:
            from ruas.domain.errors import InvalidInput

            raise InvalidInput("give --from LAT,LON and --to LAT,LON", field="from")
        points = [parse_point(from_), *(parse_point(v) for v in via or ()), parse_point(to)]
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
        register = Register.open(default_data_dir())
        vehicle = build_vehicle(register, given)
        grants = _grants(register, vehicle.plate)
        from ruas.routing.store import router_for

        result = router_for(register).route(vehicle, points, when, grants=grants)
    except RuasError as exc:
        raise _fail(exc) from None
    data = result.to_data()
    if as_json:
        sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
    else:
        _print_route(data)
    raise typer.Exit(0 if result.found else 1)


def _grants(register: Register, plate: str | None) -> list[Any]:
    if not plate:
        return []
    from sqlalchemy.orm import Session

    from ruas.services.grants import grants_for_plate

    with Session(register.store.engine) as session:
        return grants_for_plate(session, plate)


def _local(iso: str | None) -> str:
    if not iso:
        return "—"
    return datetime.fromisoformat(iso).astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def _print_route(data: dict[str, Any]) -> None:
    out.print(f"[bold]{escape(data['plate'] + ': ' if data['plate'] else '')}{escape(data['vehicle'])}[/]")
    expl = data["explanation"]
    if not data["found"]:
        out.print("[bold red]No legal route.[/]", escape(expl.get("summary", "")), highlight=False)
    else:
        dur = timedelta(seconds=round(data["duration_s"]))
        out.print(
            f"[green]Route[/]: {data['distance_m'] / 1000:.2f} km, {dur}, depart {_local(data['depart'])}, "
            f"arrive {_local(data['arrive'])}",
            highlight=False,
        )
        out.print(escape(expl.get("summary", "")), highlight=False)
        for w in data["waits"]:
            out.print(f"  wait {w['seconds'] / 60:.0f} min until {_local(w['until'])}: {escape(w['reason'])}")
        for z in data["zones"]:
            until = f" until {_local(z['allowed_until'])}" if z.get("allowed_until") else ""
            out.print(f"  crosses {escape(z['name'])}: {z['access']}{until}", highlight=False)
    for a in expl.get("avoided", []):
        why = "; ".join(r["text"] for r in a["reasons"])
        helps = ", ".join(x["name_nl"] for x in a.get("exemptions_that_would_open_it", []))
        out.print(
            f"  [yellow]avoided[/] {escape(a['name'])}: {escape(why)}"
            + (f" — exemption: {escape(helps)}" if helps else ""),
            highlight=False,
        )


@graph_app.command("import")
def graph_import_cmd(
    file: Annotated[Path, typer.Argument(help="OpenStreetMap extract (.osm.pbf, e.g. from Geofabrik)")],
) -> None:
    """Import an OSM extract as the road graph of RUAS_DATA_DIR (replaces the previous one atomically)."""
    from ruas.routing.store import graph_path, import_graph

    data_dir = default_data_dir()
    try:
        with Progress(console=err, transient=True) as progress:
            task = progress.add_task(f"reading {file.name}", total=None)

            def report(phase: str, done: int) -> None:
                progress.update(task, description=f"{phase}: {done:,}", completed=done)

            graph = import_graph(file, data_dir, progress=report)
    except RuasError as exc:
        raise _fail(exc) from None
    restricted = sum(1 for r in graph.tagclasses if r["regulations"])
    out.print(
        f"road graph from {file.name}: {graph.node_count:,} nodes, {graph.edge_count:,} directed edges, "
        f"{restricted} restriction classes -> {graph_path(data_dir)}",
        highlight=False,
    )


@graph_app.command("info")
def graph_info_cmd() -> None:
    """Which graph routing uses, and its size."""
    from ruas.routing.graph import RoadGraph
    from ruas.routing.store import active_graph_path

    path = active_graph_path(default_data_dir())
    g = RoadGraph.load(path)
    out.print(
        f"{path}: {g.node_count:,} nodes, {g.edge_count:,} edges; source {g.meta.get('source')}; "
        f"{g.meta.get('attribution', '')}",
        highlight=False,
    )
