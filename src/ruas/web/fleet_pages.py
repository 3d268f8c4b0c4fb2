"""Fleet check: upload plates (CSV comma or semicolon, with or without BOM, or an Excel workbook) and get the
fleet report per vehicle, per zone, per year, on screen and as CSV or Excel.

The file is read by :func:`ruas.services.fleet.read_fleet_file` and checked by
:func:`ruas.services.fleet.fleet_report` (the vectorised engine). The report page carries the uploaded
file (base64) in its download forms, so a download recomputes the same report without keeping anything on
the server (any worker can answer it).
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import re
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter
from fastapi import APIRouter, Request, Response
from starlette.datastructures import UploadFile

from ruas.api.deps import CurrentRegister, limit_anonymous, now_utc
from ruas.domain.errors import InvalidInput, RuasError
from ruas.domain.timeutil import LOCAL_TZ, parse_date
from ruas.register.store import Register
from ruas.services.fleet import FleetReport, default_period, fleet_report, read_fleet_file
from ruas.web.core import CurrentVisitor, PortalRoute, check_csrf, gettext, render
from ruas.web.texts import words as words_of
from ruas.web.views import YearCell, year_cells

router = APIRouter(route_class=PortalRoute, include_in_schema=False)

MAX_FLEET_BYTES = 2 * 1024 * 1024
"""The portal takes fleet files up to 2 MB (tens of thousands of plates); larger lists: the CLI or the API."""
MAX_FLEET_VEHICLES = 5000
"""As many vehicles as ``POST /api/v1/checks/fleet`` takes in one request."""
PAGE_SIZE = 25
"""Vehicles shown in detail (per zone and year) on one page; the summary lists every vehicle, the downloads too."""
SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm")


def _safe_name(name: str) -> str:
    base = re.split(r"[\\/]", name or "")[-1]
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", base)[:100].lstrip(".")
    return cleaned or "fleet.csv"


def report_for(register: Register, data: bytes, filename: str, start: datetime, end: datetime) -> FleetReport:
    """Read the uploaded file with the fleet service and compute the report; errors name the file and line."""
    name = _safe_name(filename)
    if not name.lower().endswith(SUFFIXES):
        raise InvalidInput(f"{name}: expected a .csv or .xlsx file", field="file")
    if not data:
        raise InvalidInput(f"{name}: the file is empty", field="file")
    if len(data) > MAX_FLEET_BYTES:
        raise InvalidInput(f"{name}: larger than {MAX_FLEET_BYTES // (1024 * 1024)} MB", field="file")
    with tempfile.TemporaryDirectory(prefix="ruas-fleet-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            rows = read_fleet_file(path)
            if len(rows) > MAX_FLEET_VEHICLES:
                raise InvalidInput(
                    f"{name}: {len(rows)} vehicles; the portal takes at most {MAX_FLEET_VEHICLES} at once "
                    "(use `ruas fleet` or the API for more)",
                    field="file",
                )
            return fleet_report(register, rows, start=start, end=end, file_name=name)
        except RuasError as exc:
            raise InvalidInput(exc.message.replace(str(path), name), field="file") from exc


def _period(form: Any) -> tuple[datetime, datetime]:
    start, end = default_period(now_utc().astimezone(LOCAL_TZ).date())
    text_from = str(form.get("from") or "").strip()
    text_to = str(form.get("to") or "").strip()
    if text_from:
        start = datetime.combine(parse_date(text_from, "from"), datetime.min.time(), LOCAL_TZ)
    if text_to:
        end = datetime.combine(parse_date(text_to, "to"), datetime.min.time(), LOCAL_TZ)
    if end <= start:
        raise InvalidInput("'until' must be after 'from'", field="to")
    if start.year < 1900 or end.year > 2200:
        raise InvalidInput("the period must lie between 1900 and 2200", field="from")
    return start, end


def loses_frame(report: FleetReport) -> pl.DataFrame:
    """Per vehicle and zone that refuses it at some moment of the period: the first day it is refused
    (Amsterdam date; the period's first day when refused from the start). Vectorised; the same day as
    ``FleetReport.verdicts()['loses_access']``."""
    return (
        report.segments.filter(pl.col("state").cast(pl.Utf8) == "not_allowed")
        .group_by(["plate", "zone_id"])
        .agg(pl.col("start").min())
        .select(
            "plate",
            "zone_id",
            pl.col("start").dt.convert_time_zone("Europe/Amsterdam").dt.date().alias("loses_access"),
        )
    )


def vehicle_summary(report: FleetReport, loses: pl.DataFrame) -> list[dict[str, Any]]:
    """One line per vehicle, in the file's order: the first day it loses access somewhere, where, and in how
    many zones it loses access during the period."""
    per_vehicle = loses.group_by("plate").agg(
        pl.col("loses_access").min().alias("first_loss"),
        pl.col("zone_id").sort_by("loses_access").first().alias("first_zone"),
        pl.len().alias("zones_lost"),
    )
    joined = report.vehicles.with_row_index("order").join(per_vehicle, on="plate", how="left").sort("order")
    return joined.drop("order").to_dicts()


def rows_of(report: FleetReport, plates: list[str] | None = None) -> list[dict[str, Any]]:
    """Per vehicle (all, or ``plates``) and zone: the segments, the day access is lost, the state per year."""
    years = list(range(report.start.year, (report.end - timedelta(seconds=1)).year + 1))
    segment_frame = report.segments
    loss_frame = loses_frame(report)
    described = {r["plate"]: r["vehicle"] for r in report.vehicles.to_dicts()}
    if plates is not None:
        wanted = set(plates)
        segment_frame = segment_frame.filter(pl.col("plate").is_in(plates))
        loss_frame = loss_frame.filter(pl.col("plate").is_in(plates))
        described = {p: v for p, v in described.items() if p in wanted}
    segments: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for seg in segment_frame.to_dicts():
        segments.setdefault((seg["plate"], seg["zone_id"]), []).append({**seg, "state": str(seg["state"])})
    loses = {(r["plate"], r["zone_id"]): r["loses_access"] for r in loss_frame.to_dicts()}
    out = []
    for plate, vehicle in described.items():
        zones = []
        for zone_id, zone_name, status in report.zones:
            segs = segments.get((plate, zone_id), [])
            zones.append(
                {
                    "zone_id": zone_id,
                    "zone_name": zone_name,
                    "status": status,
                    "segments": segs,
                    "loses_access": loses.get((plate, zone_id)),
                    "years": year_cells(segs, years),
                }
            )
        out.append({"plate": plate, "vehicle": vehicle, "zones": zones})
    return out


def _state_words(language: str) -> dict[str, str]:
    _ = gettext(language)
    return {
        "allowed": _("allowed"),
        "not_allowed": _("not allowed"),
        "window_only": _("only in delivery windows"),
        "allowed_with_exemption": _("allowed with exemption"),
        "unknown": "",
    }


def cell_text(cell: YearCell, words: dict[str, str], language: str) -> str:
    """A year cell in words: the state, or the changes with their days."""
    if cell.state != "changes":
        return words.get(cell.state, cell.state)
    _ = gettext(language)
    return "; ".join(
        _("%(state)s from %(day)s") % {"state": words.get(state, state), "day": day.isoformat()}
        for day, state in cell.changes
    )


def export_rows(report: FleetReport, language: str) -> tuple[list[str], list[list[Any]]]:
    """The downloadable table: one row per vehicle and zone, with the state per calendar year."""
    _ = gettext(language)
    words = _state_words(language)
    rows = rows_of(report)
    years = [c.year for c in rows[0]["zones"][0]["years"]] if rows and rows[0]["zones"] else []
    header = [_("plate"), _("vehicle"), _("zone id"), _("zone"), _("loses access on"), *[str(y) for y in years]]
    table: list[list[Any]] = []
    said = words_of(language)
    for r in rows:
        for z in r["zones"]:
            lost: date | None = z["loses_access"]
            table.append(
                [
                    r["plate"],
                    said.vehicle(r["vehicle"]),
                    z["zone_id"],
                    said.data(z["zone_name"]),
                    lost.isoformat() if lost else "",
                    *[cell_text(c, words, language) for c in z["years"]],
                ]
            )
    return header, table


def to_csv(header: list[str], table: list[list[Any]]) -> bytes:
    """Semicolon-separated UTF-8 with a BOM: opens as columns in Dutch Excel."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(table)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(header: list[str], table: list[list[Any]], summary: list[list[Any]], summary_header: list[str]) -> bytes:
    """An Excel workbook: the per-vehicle sheet and the per-year summary."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    bold = book.add_format({"bold": True})
    for title, head, rows in (("Fleet", header, table), ("Per year", summary_header, summary)):
        sheet = book.add_worksheet(title)
        sheet.write_row(0, 0, head, bold)
        for i, row in enumerate(rows, start=1):
            sheet.write_row(i, 0, row)
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, max(len(rows), 1), max(len(head) - 1, 0))
    book.close()
    return buffer.getvalue()


def summary_rows(report: FleetReport, loses: pl.DataFrame | None = None) -> list[list[Any]]:
    """Vehicles losing access per zone and year (as ``FleetReport.summary()``, vectorised)."""
    names = {z: n for z, n, _s in report.zones}
    frame = (
        (loses if loses is not None else loses_frame(report))
        .with_columns(pl.col("loses_access").dt.year().alias("year"))
        .group_by(["zone_id", "year"])
        .agg(pl.len().alias("vehicles"))
        .sort(["year", "zone_id"])
    )
    return [[r["year"], r["zone_id"], names.get(r["zone_id"], ""), r["vehicles"]] for r in frame.to_dicts()]


async def _upload(form: Any) -> tuple[bytes, str]:
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        raise InvalidInput("choose a file with the plates (.csv or .xlsx)", field="file")
    data = await file.read(MAX_FLEET_BYTES + 1)
    return data, file.filename


@router.get("/fleet")
def fleet_form(request: Request, visitor: CurrentVisitor) -> Response:
    """The upload form."""
    return render(request, visitor, "fleet.html", {"errors": {}, "report": None, "values": {}})


def _payload(form: Any) -> bytes:
    try:
        return base64.b64decode(str(form.get("payload") or ""), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("the report data are damaged: upload the file again", field="payload") from None


def _page_number(form: Any) -> int:
    text = str(form.get("page") or "1").strip()
    if not text.isdigit() or not 1 <= int(text) <= 10_000:
        raise InvalidInput(f"page {text!r}: expected a whole number from 1", field="page")
    return int(text)


@router.post("/fleet")
async def fleet_upload(request: Request, visitor: CurrentVisitor, register: CurrentRegister) -> Response:
    """Read the file (or, for another page of the report, the upload the page carries), compute the report,
    show it: a summary per year and zone, one line per vehicle, and the details per zone and year for one page
    of :data:`PAGE_SIZE` vehicles (the rest on the next pages and in the downloads)."""
    form = await request.form(max_files=1, max_fields=12, max_part_size=4 * MAX_FLEET_BYTES)
    check_csrf(visitor, form)
    values = {k: str(form.get(k) or "") for k in ("from", "to")}
    try:
        if form.get("payload"):
            data, filename = _payload(form), str(form.get("filename") or "fleet.csv")
        else:
            data, filename = await _upload(form)
        page = _page_number(form)
        limit_anonymous(request, visitor.principal)
        start, end = _period(form)
        report = report_for(register, data, filename, start, end)
    except InvalidInput as exc:
        field = str(exc.details.get("field") or "file")
        return render(
            request, visitor, "fleet.html", {"errors": {field: exc.message}, "report": None, "values": values}, 422
        )
    loses = loses_frame(report)
    vehicles = vehicle_summary(report, loses)
    pages = max(1, -(-len(vehicles) // PAGE_SIZE))
    page = min(page, pages)
    first = (page - 1) * PAGE_SIZE
    shown = [v["plate"] for v in vehicles[first : first + PAGE_SIZE]]
    rows = rows_of(report, shown)
    words = _state_words(visitor.language)
    context = {
        "errors": {},
        "values": values,
        "report": report,
        "vehicles": vehicles,
        "zone_names": {z: n for z, n, _s in report.zones},
        "rows": rows,
        "shown": set(shown),
        "total": len(vehicles),
        "page": page,
        "pages": pages,
        "first": first + 1,
        "last": first + len(rows),
        "summary": summary_rows(report, loses),
        "years": [c.year for c in rows[0]["zones"][0]["years"]] if rows and rows[0]["zones"] else [],
        "cell_text": lambda c: cell_text(c, words, visitor.language),
        "payload": base64.b64encode(data).decode(),
        "filename": _safe_name(filename),
    }
    return render(request, visitor, "fleet.html", context)


@router.post("/fleet/download")
async def fleet_download(request: Request, visitor: CurrentVisitor, register: CurrentRegister) -> Response:
    """The same report as a file: ``format`` ``csv`` (semicolons, BOM) or ``xlsx``."""
    form = await request.form(max_fields=10, max_part_size=4 * MAX_FLEET_BYTES)
    check_csrf(visitor, form)
    fmt = str(form.get("format") or "csv")
    if fmt not in ("csv", "xlsx"):
        raise InvalidInput(f"format {fmt!r}: expected csv or xlsx", field="format")
    data = _payload(form)
    limit_anonymous(request, visitor.principal)
    report = report_for(register, data, str(form.get("filename") or "fleet.csv"), *_period(form))
    header, table = export_rows(report, visitor.language)
    stem = _safe_name(str(form.get("filename") or "fleet")).rsplit(".", 1)[0]
    if fmt == "csv":
        body, media = to_csv(header, table), "text/csv; charset=utf-8"
    else:
        _ = gettext(visitor.language)
        summary_header = [_("year"), _("zone id"), _("zone"), _("vehicles losing access")]
        body = to_xlsx(header, table, summary_rows(report), summary_header)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(
        body,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="{stem}-report.{fmt}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
