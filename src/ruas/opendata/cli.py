"""``ruas export datex|geojson|osm``: write the published register as open data files."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ruas.domain.errors import RuasError
from ruas.opendata.geojson import dumps, geojson_bytes
from ruas.opendata.ndw_profile import controlled_zone_xml
from ruas.opendata.osm import osm_document
from ruas.opendata.snapshot import Snapshot, national_records, records_snapshot, snapshot_of
from ruas.opendata.traffic_regulation import traffic_regulation_xml
from ruas.register.store import Register, default_data_dir

export_app = typer.Typer(help="Export the published register as open data (DATEX II v3, GeoJSON, OSM tags).")


class DatexKind(StrEnum):
    """Which DATEX II publication."""

    CONTROLLED_ZONES = "controlled-zones"
    TRAFFIC_REGULATIONS = "traffic-regulations"


Output = Annotated[Path | None, typer.Option("--output", "-o", help="file to write (default: standard output)")]
National = Annotated[
    bool,
    typer.Option(
        "--national", help="export every zone of the embedded NDW feed (42) plus the region, not the register"
    ),
]


def _snapshot(national: bool) -> Snapshot:
    if national:
        return records_snapshot(national_records())
    return snapshot_of(Register.open(default_data_dir()))


def _write(data: bytes, output: Path | None) -> None:
    """Write atomically (a temporary file renamed into place) or to standard output."""
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    fd, tmp = tempfile.mkstemp(dir=output.parent or Path("."), prefix=f".{output.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    typer.echo(f"wrote {output} ({len(data):,} bytes)", err=True)


def _run(build: Callable[[], bytes], output: Path | None) -> None:
    try:
        data = build()
    except RuasError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    _write(data, output)


@export_app.command("datex")
def export_datex(
    kind: Annotated[DatexKind, typer.Argument(help="controlled-zones (NDW profile) or traffic-regulations")] = (
        DatexKind.CONTROLLED_ZONES
    ),
    output: Output = None,
    national: National = False,
) -> None:
    """DATEX II v3: emission zones (ControlledZoneTablePublication, NDW profile) or the other regulations."""
    if kind is DatexKind.CONTROLLED_ZONES:
        _run(lambda: controlled_zone_xml(_snapshot(national)), output)
    else:
        _run(lambda: traffic_regulation_xml(_snapshot(national)), output)


@export_app.command("geojson")
def export_geojson(output: Output = None, national: National = False) -> None:
    """GeoJSON FeatureCollection of every zone with its regulations and rules as properties."""
    _run(lambda: geojson_bytes(_snapshot(national)), output)


@export_app.command("osm")
def export_osm(output: Output = None, national: National = False) -> None:
    """OSM tagging suggestions (JSON) for the rules of every zone in force."""
    _run(lambda: dumps(osm_document(_snapshot(national))), output)
