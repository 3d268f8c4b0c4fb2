"""Logistics flows in the portal: the dashboard (everyone; suppressed counts), the downloadable report (HTML or
PDF) and the policy-impact simulation (officers of the zone's municipality, the regional administrator).

Charts are drawn by Chart.js (npm, pinned, served from ``/static/vendor/chartjs``) from a JSON data block in the
page (``<script type="application/json">``: data, not code, so the Content-Security-Policy stays
``script-src 'self'``); every chart has a table with the same numbers next to it. The camera map is Leaflet.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response

from ruas.api.deps import CurrentRegister, now_utc
from ruas.domain.errors import InvalidInput
from ruas.domain.timeutil import LOCAL_TZ, parse_date
from ruas.flows.queries import Dashboard, FlowFilter
from ruas.flows.service import dashboard_for, default_period, simulate_for
from ruas.register.store import Register
from ruas.web.core import CurrentVisitor, PortalRoute, check_csrf, environment, render, security_headers
from ruas.web.core import portal_settings as settings_of

router = APIRouter(route_class=PortalRoute, include_in_schema=False)


def _filter(register: Register, params: Mapping[str, str]) -> FlowFilter:
    start, end = default_period(register, now_utc().astimezone(LOCAL_TZ).date())
    until = parse_date(params["until"], "until") if params.get("until") else end
    span = timedelta(days=(end - start).days)
    begin = (
        parse_date(params["from"], "from")
        if params.get("from")
        else max(until - span, date.min)
        if until > date.min + span
        else date.min
    )
    zone = params.get("zone", "")
    granularity = params.get("granularity") or "day"
    return FlowFilter(begin, until, zones=(zone,) if zone else (), granularity=granularity)


def chart_data(view: Dashboard) -> dict[str, Any]:
    """What the page's charts draw: the suppressed series (None where withheld)."""
    data = view.to_data()
    b = data["breakdowns"]

    def period(dim: str) -> dict[str, Any]:
        g = b.get(dim) or {}
        return {"labels": g.get("columns", []), "values": g.get("column_totals") or []}

    def trend(dim: str) -> dict[str, Any]:
        g = b.get(dim) or {}
        return {"labels": g.get("rows", []), "columns": g.get("columns", []), "values": g.get("passages", [])}

    return {
        "buckets": data["buckets"],
        "totals": (b.get("outcome") or {}).get("row_totals") or [],
        "ze_share": [r["share"] for r in data["zero_emission_series"]],
        "classes": trend("vehicle_class"),
        "hours": period("hour"),
        "outcomes": period("outcome"),
        "zones": period("zone"),
        "cameras": data["cameras"],
    }


def _zones(register: Register) -> list[tuple[str, str]]:
    return sorted(((z.id, z.name) for z in register.zones if z.geometry is not None), key=lambda t: t[1])


@router.get("/flows")
def flows_dashboard(request: Request, visitor: CurrentVisitor, register: CurrentRegister) -> Response:
    """The flows dashboard: entries per day, class, hour, outcome, zone and camera (suppressed)."""
    flt = _filter(register, request.query_params)
    view = dashboard_for(register, flt)
    return render(
        request,
        visitor,
        "flows_dashboard.html",
        {"view": view, "data": view.to_data(), "charts": chart_data(view), "zones": _zones(register), "flt": flt},
    )


def report_html(register: Register, flt: FlowFilter, lang: str) -> str:
    """The flows report as one self-contained HTML page (no scripts; bars drawn with CSS, also for PDF)."""
    if lang not in ("nl", "en"):
        raise InvalidInput("lang must be nl or en", field="lang")
    view = dashboard_for(register, flt)
    template = environment(lang).get_template("flows_report.html")
    return template.render(
        {"lang": lang, "view": view, "data": view.to_data(), "generated": now_utc().astimezone(LOCAL_TZ)}
    )


def report_pdf(html: str) -> bytes:
    """The report as PDF (WeasyPrint)."""
    import weasyprint

    pdf: bytes = weasyprint.HTML(string=html).write_pdf()
    return pdf


@router.get("/flows/report.{kind}")
def flows_report(kind: str, request: Request, visitor: CurrentVisitor, register: CurrentRegister) -> Response:
    """Download the dashboard of the chosen period as HTML or PDF."""
    if kind not in ("html", "pdf"):
        raise InvalidInput("the report is .html or .pdf", field="kind")
    flt = _filter(register, request.query_params)
    html = report_html(register, flt, visitor.language)
    name = f"ruas-flows-{flt.start.isoformat()}-{flt.end.isoformat()}.{kind}"
    if kind == "pdf":
        response = Response(report_pdf(html), media_type="application/pdf")
    else:
        response = Response(html, media_type="text/html; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    security_headers(response, settings_of(request))
    return response


def _own_zones(register: Register, visitor: Any) -> list[tuple[str, str]]:
    p = visitor.principal
    return [(z.id, z.name) for z in register.zones if p.role == "admin" or z.authority in p.municipalities]


@router.get("/flows/simulate")
def simulate_form(request: Request, visitor: CurrentVisitor, register: CurrentRegister) -> Response:
    """The simulation form (officers, administrator)."""
    visitor.require("officer", "admin")
    start, end = default_period(register, now_utc().astimezone(LOCAL_TZ).date())
    form = {"zone": request.query_params.get("zone", ""), "from": start.isoformat(), "until": end.isoformat()}
    return render(request, visitor, "flows_simulate.html", {"zones": _own_zones(register, visitor), "form": form})


@router.post("/flows/simulate")
async def simulate_page(request: Request, visitor: CurrentVisitor, register: CurrentRegister) -> Response:
    """Replay the period against the zone's saved draft (or the record typed in) next to the rules in force."""
    visitor.require("officer", "admin")
    raw = await request.form()
    form = {k: str(v) for k, v in raw.items() if isinstance(v, str)}
    check_csrf(visitor, form)
    zone = form.get("zone", "")
    start = parse_date(form.get("from", ""), "from")
    end = parse_date(form.get("until", ""), "until")
    try:
        share = float(form.get("switch_share") or 0.5)
    except ValueError:
        raise InvalidInput("switch share must be a number between 0 and 1", field="switch_share") from None
    record = None
    if form.get("record", "").strip():
        import json

        try:
            record = json.loads(form["record"])
        except ValueError as exc:
            raise InvalidInput(f"the zone record is not valid JSON ({exc})", field="record") from exc
        if not isinstance(record, dict):
            raise InvalidInput("the zone record must be a JSON object", field="record")
    sim = simulate_for(register, visitor.principal, zone, start, end, record=record, switch_share=share)
    result = sim.to_data()
    charts = {
        "hours": result["breakdowns"]["hour_refused_in_force"]["columns"],
        "in_force": result["breakdowns"]["hour_refused_in_force"]["passages"],
        "draft": result["breakdowns"]["hour_refused_draft"]["passages"],
    }
    return render(
        request,
        visitor,
        "flows_simulate.html",
        {"zones": _own_zones(register, visitor), "form": form, "result": result, "charts": charts},
    )


__all__ = ["chart_data", "report_html", "report_pdf", "router"]
