"""``ruas enforcement ...``: cameras, ingest, run, report, export, purge, policy, synthetic traffic.

The outermost layer for the back-office: reads the clock (``--now`` overrides it for replays and tests) and
turns :class:`~ruas.domain.errors.RuasError` into a message on stderr and exit status 2.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ruas.domain.errors import InvalidInput, RuasError
from ruas.domain.timeutil import parse_date, parse_instant
from ruas.enforcement import policy as policy_mod
from ruas.enforcement import service
from ruas.enforcement.cameras import load_cameras, read_cameras, save_cameras
from ruas.enforcement.passages import ingest, read_batch
from ruas.enforcement.pipeline import Context, run
from ruas.enforcement.privacy import EnforcementSettings
from ruas.enforcement.storage import Store
from ruas.enforcement.synthetic import synthetic_cameras, synthetic_passages
from ruas.register.store import Register, default_data_dir
from ruas.store.db import session_scope

app = typer.Typer(
    help="Camera enforcement back-office: cameras, passages, evaluation, sanctions, exports, retention.",
    no_args_is_help=True,
)
cameras_app = typer.Typer(help="The camera registry.", no_args_is_help=True)
policy_app = typer.Typer(help="The harmonised enforcement policy (regional defaults, municipal deviations).")
app.add_typer(cameras_app, name="cameras")
app.add_typer(policy_app, name="policy")

out = Console()
err = Console(stderr=True)
T = TypeVar("T")

NowOption = Annotated[str | None, typer.Option("--now", help="the current moment (ISO-8601); default: the clock")]
JsonOption = Annotated[bool, typer.Option("--json", help="print one JSON object")]


def _run(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except RuasError as exc:
        err.print("[bold red]error:[/]", escape(exc.message), highlight=False)
        raise typer.Exit(2) from None


def _now(text: str | None) -> datetime:
    return parse_instant(text, "--now") if text else datetime.now(UTC)


def _context() -> Context:
    data_dir = default_data_dir()
    return Context(Register.open(data_dir), Store(data_dir), EnforcementSettings.from_env())


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")


@cameras_app.command("import")
def cameras_import(
    path: Annotated[Path, typer.Argument(help="CSV (id,name,lat,lon,direction_deg,zones,municipality) or GeoJSON")],
    now: NowOption = None,
) -> None:
    """Add or replace cameras from a file (all or nothing)."""

    def body() -> tuple[list[str], list[str]]:
        ctx = _context()
        cams = read_cameras(path, ctx.register.book)
        with session_scope(ctx.engine) as s:
            return save_cameras(s, cams, _now(now))

    added, updated = _run(body)
    out.print(f"{len(added)} camera(s) added, {len(updated)} updated")


@cameras_app.command("synthetic")
def cameras_synthetic(
    per_zone: Annotated[int, typer.Option(help="cameras per zone boundary")] = 6, now: NowOption = None
) -> None:
    """Register SYNTHETIC cameras on the real boundaries of the register's zones (labelled synthetic)."""

    def body() -> tuple[list[str], list[str]]:
        ctx = _context()
        cams = synthetic_cameras(ctx.register.book, per_zone)
        with session_scope(ctx.engine) as s:
            return save_cameras(s, cams, _now(now))

    added, updated = _run(body)
    out.print(f"SYNTHETIC cameras: {len(added)} added, {len(updated)} updated")


@cameras_app.command("list")
def cameras_list(as_json: JsonOption = False) -> None:
    """Every camera of the registry."""

    def body() -> list[dict[str, Any]]:
        ctx = _context()
        with session_scope(ctx.engine) as s:
            return [c.to_data() for c in load_cameras(s)]

    cams = _run(body)
    if as_json:
        _print_json(cams)
        return
    table = Table("id", "municipality", "zones", "lat,lon", "direction", "synthetic")
    for c in cams:
        table.add_row(
            c["id"],
            c["municipality"],
            "\n".join(c["zones"]),
            f"{c['lat']:.5f},{c['lon']:.5f}",
            str(c["direction_deg"] or ""),
            "yes" if c["synthetic"] else "",
        )
    out.print(table)


@app.command("generate")
def generate_cmd(
    out_file: Annotated[Path, typer.Argument(help="where to write the batch (.csv or .parquet)")],
    day: Annotated[str, typer.Option(help="local day YYYY-MM-DD")],
    passages: Annotated[int, typer.Option(help="how many passages")] = 10_000,
    seed: Annotated[int, typer.Option(help="random seed")] = 1,
    violation_share: Annotated[float, typer.Option(help="target share of violations (0.02-0.05)")] = 0.03,
) -> None:
    """Write a SYNTHETIC day of passages at the registered cameras (every row labelled synthetic)."""

    def body() -> int:
        ctx = _context()
        with session_scope(ctx.engine) as s:
            cams = load_cameras(s)
        if not cams:
            raise InvalidInput("no cameras: run `ruas enforcement cameras synthetic` or import some", field="cameras")
        frame = synthetic_passages(
            ctx.register.book,
            ctx.register.vehicles,
            cams,
            parse_date(day, "--day"),
            passages,
            seed=seed,
            violation_share=violation_share,
        )
        if out_file.suffix.lower() == ".parquet":
            frame.write_parquet(out_file)
        else:
            frame.with_columns(frame.get_column("at").dt.to_string("%Y-%m-%dT%H:%M:%S%.6f%:z")).write_csv(out_file)
        return frame.height

    n = _run(body)
    out.print(f"{n} SYNTHETIC passages written to {out_file}")


@app.command("ingest")
def ingest_cmd(
    files: Annotated[list[Path], typer.Argument(help="batches: .csv or .parquet")],
    now: NowOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add passage batches to the inbox (idempotent: a batch sent twice changes nothing)."""

    def body() -> list[dict[str, Any]]:
        ctx = _context()
        results = []
        for f in files:
            batch = read_batch(f)
            with session_scope(ctx.engine) as s:
                results.append({"file": str(f), **ingest(ctx.store, s, batch, now=_now(now)).to_data()})
        return results

    results = _run(body)
    if as_json:
        _print_json(results)
        return
    for r in results:
        out.print(f"{r['file']}: {r['received']} received, {r['stored']} new, {r['duplicates']} duplicate(s)")


@app.command("run")
def run_cmd(
    day: Annotated[
        list[str] | None, typer.Option("--day", help="local day(s) to (re)process; default: the inbox")
    ] = None,
    now: NowOption = None,
    as_json: JsonOption = False,
) -> None:
    """Evaluate passages, write sanctions, records and aggregates (all or nothing); re-running never duplicates."""

    def body() -> list[dict[str, Any]]:
        days = [parse_date(d, "--day") for d in day] if day else None
        return [r.to_data() for r in run(_context(), days, now=_now(now))]

    results = _run(body)
    if as_json:
        _print_json(results)
        return
    if not results:
        out.print("nothing to evaluate")
    for r in results:
        s = r["sanctions"]
        out.print(
            f"{r['day']}: {r['passages']} passages, decisions {r['outcomes']}; "
            f"sanctions new {s['new']}, updated {s['updated']}, withdrawn {s['withdrawn']} "
            f"(fines {s['fines']}, warnings {s['warnings']}); review {r['review']}"
        )


@app.command("report")
def report_cmd(
    day: Annotated[list[str] | None, typer.Option("--day", help="local day(s); default: every day")] = None,
    as_json: JsonOption = False,
) -> None:
    """Passages by outcome and zone, sanctions by kind and status, per day."""

    def body() -> list[dict[str, Any]]:
        ctx = _context()
        days = [parse_date(d, "--day") for d in day] if day else None
        with session_scope(ctx.engine) as s:
            return service.report(s, ctx.store, days)

    rows = _run(body)
    if as_json:
        _print_json(rows)
        return
    table = Table("day", "compliant", "exempt", "violation", "not enforceable", "sanctions")
    for r in rows:
        o = r["outcomes"]
        sanctions = ", ".join(f"{x['count']} {x['kind']} ({x['status']})" for x in r["sanctions"])
        table.add_row(
            r["day"],
            *(str(o.get(k, 0)) for k in ("compliant", "exempt", "violation", "not_enforceable")),
            sanctions,
        )
    out.print(table)


@app.command("export")
def export_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="directory for the files")] = Path("."),
    now: NowOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write new, changed and withdrawn sanctions for the collection agency and letters (format ruas-sanctions/1)."""

    def body() -> dict[str, Any]:
        ctx = _context()
        with session_scope(ctx.engine) as s:
            return service.export(s, ctx.register.book, out_dir, now=_now(now), actor="cli").to_data()

    result = _run(body)
    if as_json:
        _print_json(result)
    else:
        out.print(f"{result['rows']} sanction(s) exported" + (f" to {result['file']}" if result["file"] else ""))


@app.command("purge")
def purge_cmd(now: NowOption = None, as_json: JsonOption = False) -> None:
    """Delete what is past its retention (run it daily, e.g. from cron or a systemd timer)."""

    def body() -> dict[str, int]:
        ctx = _context()
        with session_scope(ctx.engine) as s:
            return service.purge(s, ctx.store, ctx.settings, now=_now(now)).to_data()

    result = _run(body)
    if as_json:
        _print_json(result)
    else:
        out.print(", ".join(f"{k}: {v}" for k, v in result.items()))


@policy_app.command("show")
def policy_show(
    municipality: Annotated[str, typer.Option(help="CBS code, e.g. GM0363")],
    day: Annotated[str, typer.Option(help="local day YYYY-MM-DD")],
) -> None:
    """The policy in force for a municipality on a day, with the layers it came from."""

    def body() -> dict[str, Any]:
        ctx = _context()
        with session_scope(ctx.engine) as s:
            return policy_mod.PolicyBook.load(s).policy(municipality.upper(), parse_date(day, "--day")).to_data()

    _print_json(_run(body))


@policy_app.command("set")
def policy_set(
    scope: Annotated[str, typer.Option(help="'region' or a CBS code")],
    valid_from: Annotated[str, typer.Option("--from", help="first local day it applies")],
    param: Annotated[list[str], typer.Option(help="NAME=VALUE (JSON value), repeatable")],
    note: Annotated[str, typer.Option(help="why")] = "",
    now: NowOption = None,
) -> None:
    """Add a dated policy version (regional defaults or a municipality's explicit deviations)."""

    def body() -> int:
        params: dict[str, Any] = {}
        for p in param:
            name, sep, raw = p.partition("=")
            if not sep:
                raise InvalidInput(f"--param {p!r}: expected NAME=VALUE", field="param")
            try:
                params[name.strip()] = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"--param {p!r}: the value is not JSON (e.g. 9, true, 150.0)", field=name) from exc
        ctx = _context()
        with session_scope(ctx.engine) as s:
            v = policy_mod.add_version(
                s,
                scope=scope,
                valid_from=parse_date(valid_from, "--from"),
                parameters=params,
                actor="cli",
                now=_now(now),
                note=note,
            )
            return v.id

    vid = _run(body)
    out.print(f"policy version {vid} stored")
