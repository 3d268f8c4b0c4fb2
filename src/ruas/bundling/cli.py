"""``ruas bundle SCENARIO.yaml``: status quo vs bundled via a hub vs concession, with KPIs and sources.

Exit status: 0 analysed, 2 bad input (the message names the file, row and field).
"""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from ruas.bundling.matrix import RoadNetworkMatrix, StraightLineMatrix, TravelMatrixProvider
from ruas.bundling.scenario import Scenario, load_scenario
from ruas.domain.errors import InvalidInput, RuasError
from ruas.register.store import Register, default_data_dir

bundle_app = typer.Typer(help="Delivery bundling and hub scenarios.")
"""Merged into the main CLI without a name: adds ``ruas bundle``."""

err = Console(stderr=True)

EXAMPLES = {"lelystad": "bundling/lelystad/scenario.yaml"}
"""Scenarios shipped with RUAS, usable as ``example:NAME`` (all illustrative)."""


def resolve_scenario(text: str) -> Scenario:
    """A scenario file, or ``example:lelystad`` for a shipped (illustrative) one."""
    if text.startswith("example:"):
        name = text.removeprefix("example:")
        if name not in EXAMPLES:
            raise InvalidInput(
                f"unknown example {name!r} (known: {', '.join(sorted(EXAMPLES))})", field="scenario", value=text
            )
        with resources.as_file(resources.files("ruas.data").joinpath(EXAMPLES[name])) as path:
            return load_scenario(Path(path))
    return load_scenario(Path(text))


@bundle_app.command("bundle")
def bundle_cmd(
    scenario: Annotated[str, typer.Argument(help="scenario YAML file, or example:lelystad (illustrative)")],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object instead of Markdown")] = False,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", help="seconds per PyVRP solve (default: the scenario's)")
    ] = None,
    no_sensitivity: Annotated[bool, typer.Option("--no-sensitivity", help="skip the demand sensitivity runs")] = False,
    road_network: Annotated[
        bool,
        typer.Option(
            "--road-network", help="travel matrices on the loaded OSM road graph (default: straight-line approximation)"
        ),
    ] = False,
    routes: Annotated[bool, typer.Option("--routes/--no-routes", help="include every route in --json")] = True,
) -> None:
    """Would bundling deliveries via a hub save vehicle movements, kilometres, emissions and money?"""
    try:
        from ruas.bundling.report import analyse, markdown  # the solver (PyVRP) loads only when a plan is made

        sc = resolve_scenario(scenario)
        if time_limit is not None and time_limit <= 0:
            raise InvalidInput("--time-limit must be a positive number of seconds", field="time_limit")
        register = Register.open(default_data_dir())
        provider: TravelMatrixProvider = StraightLineMatrix()
        if road_network:
            from ruas.routing.store import router_for

            provider = RoadNetworkMatrix(router_for(register))
        with err.status("planning …") as status:
            report = analyse(
                sc,
                register,
                provider,
                time_limit_s=time_limit,
                sensitivity=not no_sensitivity,
                progress=lambda msg: status.update(f"planning: {msg}"),
            )
    except RuasError as exc:
        err.print("[bold red]error:[/]", escape(exc.message), highlight=False)
        raise typer.Exit(2) from None
    if as_json:
        sys.stdout.write(json.dumps(report.to_data(routes=routes), ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(markdown(report))
