"""``POST /checks`` (one vehicle: exactly what ``ruas check --json`` prints) and ``POST /checks/fleet``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ruas.api.deps import CurrentPrincipal, CurrentRegister, DbSession, limit_anonymous, now_utc
from ruas.api.schemas import CheckRequest, FleetRequest, VehicleAttributes
from ruas.domain.errors import InvalidInput, RuasError
from ruas.domain.timeutil import LOCAL_TZ, parse_instant
from ruas.rules.engine import decide
from ruas.services.check import Place, VehicleInput, build_vehicle
from ruas.services.fleet import FleetRow, default_period, fleet_report
from ruas.services.grants import grants_for_plate

router = APIRouter(prefix="/api/v1", tags=["checks"])

EARLIEST = datetime(1900, 1, 1, tzinfo=LOCAL_TZ)
LATEST = datetime(2200, 1, 1, tzinfo=LOCAL_TZ)


def check_period(start: datetime, end: datetime) -> None:
    """A fleet period lies within 1900-2200 (the rules know nothing outside it)."""
    for name, value in (("from", start), ("to", end)):
        if not EARLIEST <= value <= LATEST:
            raise InvalidInput(f"'{name}' must lie between 1900-01-01 and 2200-01-01", field=name)


def vehicle_input(plate: str | None, attrs: VehicleAttributes | None) -> VehicleInput:
    """The service's vehicle input from the wire form."""
    a = attrs or VehicleAttributes.model_validate({})
    return VehicleInput(
        plate=plate,
        category=a.category,
        body=a.body,
        fuel=a.fuel,
        emission_class=a.emission_class,
        first_admission=a.first_admission,
        mass_kg=a.mass_kg,
        length_m=a.length_m,
        width_m=a.width_m,
        height_m=a.height_m,
        body_codes=tuple(a.body_codes),
        special_codes=tuple(a.special_codes),
    )


@router.post("/checks", operation_id="createCheck", response_class=JSONResponse)
def create_check(
    body: CheckRequest, request: Request, db: DbSession, register: CurrentRegister, principal: CurrentPrincipal
) -> JSONResponse:
    """May this vehicle enter here at this moment? The response is the object ``ruas check --json`` prints.

    Exemptions granted to the plate by the exemption desk count immediately.
    """
    limit_anonymous(request, principal)
    at = parse_instant(body.at, "at") if body.at else now_utc().astimezone(LOCAL_TZ)
    point = f"{body.point[0]},{body.point[1]}" if body.point else None
    place = Place(point=point, zone=body.zone, municipality=body.municipality)
    vehicle = build_vehicle(register, vehicle_input(body.plate, body.vehicle), db)
    grants = grants_for_plate(db, vehicle.plate) if vehicle.plate else []
    # the decision is already plain JSON data: skip FastAPI's re-encoding on this hot path
    return JSONResponse(decide(register.book, vehicle, place.resolve(register), at=at, grants=grants).to_data())


@router.post("/checks/fleet", operation_id="createFleetCheck")
def create_fleet_check(
    body: FleetRequest, request: Request, register: CurrentRegister, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Until when may each vehicle enter each zone? Timelines per vehicle and zone, and a summary per year."""
    limit_anonymous(request, principal)
    start, end = default_period(now_utc().astimezone(LOCAL_TZ).date())
    if body.from_:
        start = datetime.combine(body.from_, datetime.min.time(), LOCAL_TZ)
    if body.to:
        end = datetime.combine(body.to, datetime.min.time(), LOCAL_TZ)
    if end <= start:
        raise InvalidInput("'to' must be after 'from'", field="to")
    check_period(start, end)
    rows = [FleetRow(i, vehicle_input(v.plate, v.vehicle)) for i, v in enumerate(body.vehicles)]
    for zone_id in body.zones or ():
        register.book.zone(zone_id)
    try:
        report = fleet_report(register, rows, start=start, end=end, zone_ids=body.zones, file_name="request")
    except RuasError as exc:
        if "line" in exc.details:
            raise InvalidInput(
                exc.message.replace(f"request, line {exc.details['line']}", f"vehicles[{exc.details['line']}]"),
                field=f"vehicles.{exc.details['line']}",
            ) from exc
        raise
    verdicts = report.verdicts()
    return {
        "period": {"from": start.isoformat(), "to": end.isoformat()},
        "zones": [{"id": z, "name": n, "status": s} for z, n, s in report.zones],
        "vehicles": report.vehicles.to_dicts(),
        "verdicts": verdicts.with_columns(verdicts["loses_access"].cast(str)).to_dicts(),
        "segments": [
            {**s, "start": s["start"].isoformat(), "end": s["end"].isoformat(), "state": str(s["state"])}
            for s in report.segments.to_dicts()
        ],
        "summary": report.summary().to_dicts(),
        "warnings": list(report.warnings),
    }
