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

import xlsxwriter
from fastapi import APIRouter, Request, Response
from starlette.datastructures import UploadFile

from ruas.api.deps import CurrentRegister, limit_anonymous, now_utc
from ruas.domain.errors import InvalidInput, RuasError
from ruas.domain.timeutil import LOCAL_TZ, parse_date
from ruas.register.store import Register
from ruas.services.fleet import FleetReport, default_period, fleet_report, read_fleet_file
from ruas.web.core import CurrentVisitor, PortalRoute, check_csrf, gettext, render
from ruas.web.views import YearCell, year_cells

router = APIRouter(route_class=PortalRoute, include_in_schema=False)

MAX_FLEET_BYTES = 2 * 1024 * 1024
"""The portal takes fleet files up to 2 MB (tens of thousands of plates); larger lists: the CLI or the API."""
MAX_FLEET_VEHICLES = 5000
"""As many vehicles as ``POST /api/v1/checks/fleet`` takes in one request."""
MAX_ON_SCREEN = 200
"""Vehicles shown in detail on the page; the downloads hold every vehicle."""
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


def rows_of(report: FleetReport) -> list[dict[str, Any]]:
    """Per vehicle and zone: the segments, the day access is lost, and the state per calendar year."""
    years = list(range(report.start.year, (report.end - timedelta(seconds=1)).year + 1))
    segments: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for seg in report.segments.to_dicts():
        segments.setdefault((seg["plate"], seg["zone_id"]), []).append({**seg, "state": str(seg["state"])})
    loses = {(r["plate"], r["zone_id"]): r["loses_access"] for r in report.verdicts().to_dicts()}
    described = {r["plate"]: r["vehicle"] for r in report.vehicles.to_dicts()}
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
    for r in rows:
        for z in r["zones"]:
            lost: date | None = z["loses_access"]
            table.append(
                [
                    r["plate"],
                    r["vehicle"],
                    z["zone_id"],
                    z["zone_name"],
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


def summary_rows(report: FleetReport) -> list[list[Any]]:
    """Vehicles losing access per zone and year."""
    names = {z: n for z, n, _s in report.zones}
    return [[r["year"], r["zone_id"], names.get(r["zone_id"], ""), r["vehicles"]] for r in report.summary().to_dicts()]


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


@router.post("/fleet")
async def fleet_upload(request: Request, visitor: CurrentVisitor, register: CurrentRegister) -> Response:
    """Read the file, compute the report, show it with download buttons."""
    form = await request.form(max_files=1, max_fields=10)
    check_csrf(visitor, form)
    values = {k: str(form.get(k) or "") for k in ("from", "to")}
    try:
        data, filename = await _upload(form)
        limit_anonymous(request, visitor.principal)
        start, end = _period(form)
        report = report_for(register, data, filename, start, end)
    except InvalidInput as exc:
        field = str(exc.details.get("field") or "file")
        return render(
            request, visitor, "fleet.html", {"errors": {field: exc.message}, "report": None, "values": values}, 422
        )
    rows = rows_of(report)
    context = {
        "errors": {},
        "values": values,
        "report": report,
        "rows": rows[:MAX_ON_SCREEN],
        "total": len(rows),
        "summary": summary_rows(report),
        "years": [c.year for c in rows[0]["zones"][0]["years"]] if rows and rows[0]["zones"] else [],
        "words": _state_words(visitor.language),
        "cell_text": lambda c: cell_text(c, _state_words(visitor.language), visitor.language),
        "payload": base64.b64encode(data).decode(),
        "filename": _safe_name(filename),
        "max_on_screen": MAX_ON_SCREEN,
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
    try:
        data = base64.b64decode(str(form.get("payload") or ""), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("the report data are damaged: upload the file again", field="payload") from None
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
