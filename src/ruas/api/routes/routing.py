"""``POST /routes``, ``POST /routes/matrix`` and ``POST /accessibility``: routing that respects every access rule.

The vehicle is given as in ``POST /checks`` (a plate and/or attributes); exemptions granted to the
plate count. Answers carry GeoJSON (WGS84, ``[lon, lat]``), metres and seconds; every access answer
is the rules engine's own decision with its reasons and dates.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from ruas.api.deps import CurrentPrincipal, CurrentRegister, DbSession, limit_anonymous, now_utc
from ruas.api.routes.checks import vehicle_input
from ruas.api.schemas import Text, VehicleAttributes
from ruas.domain.regulation import ExemptionGrant
from ruas.domain.timeutil import LOCAL_TZ, parse_instant
from ruas.domain.vehicle import Vehicle
from ruas.register.spatial import check_point
from ruas.register.store import Register
from ruas.routing.store import router_for
from ruas.services.check import build_vehicle
from ruas.services.grants import grants_for_plate

router = APIRouter(prefix="/api/v1", tags=["routing"])

LatLon = list[float]


class RoutedVehicle(BaseModel):
    """The vehicle: a plate (looked up in the register), attributes, or both (attributes override)."""

    model_config = ConfigDict(extra="forbid")

    plate: Text | None = Field(None, max_length=16)
    vehicle: VehicleAttributes | None = None


class RouteRequest(RoutedVehicle):
    """From, optional vias, to — each ``[lat, lon]`` — and the departure."""

    points: list[LatLon] = Field(..., min_length=2, max_length=25, description="[[lat, lon], ...]: from, vias, to")
    depart: Text | None = Field(None, max_length=40, description="ISO-8601 departure; default now")
    delivery: bool = Field(True, description="stops are for loading/unloading (opens access=delivery roads)")
    max_wait_minutes: float = Field(24 * 60, ge=0, le=24 * 60, description="longest wait for a window to open")


class MatrixRequest(RoutedVehicle):
    """Many-to-many travel times and distances."""

    origins: list[LatLon] = Field(..., min_length=1, max_length=50)
    destinations: list[LatLon] = Field(..., min_length=1, max_length=50)
    depart: Text | None = Field(None, max_length=40)
    delivery: bool = True


class AccessibilityRequest(RoutedVehicle):
    """The accessibility map of a vehicle from a point at a moment."""

    point: LatLon = Field(..., min_length=2, max_length=2, description="[lat, lon]")
    at: Text | None = Field(None, max_length=40, description="ISO-8601 moment; default now")
    minutes: float = Field(15, gt=0, le=240, description="travel time budget in minutes")
    max_segments: int = Field(20_000, ge=1, le=100_000)


def _points(values: list[LatLon], name: str) -> list[tuple[float, float]]:
    out = []
    for v in values:
        if len(v) != 2:
            from ruas.domain.errors import InvalidInput

            raise InvalidInput(f"{name}: each point is [lat, lon]", field=name)
        out.append(check_point(v[0], v[1]))
    return out


def _when(text: str | None, name: str) -> datetime:
    return parse_instant(text, name) if text else now_utc().astimezone(LOCAL_TZ)


def _vehicle(body: RoutedVehicle, register: Register, db: Any) -> tuple[Vehicle, list[ExemptionGrant]]:
    vehicle = build_vehicle(register, vehicle_input(body.plate, body.vehicle), db)
    return vehicle, (grants_for_plate(db, vehicle.plate) if vehicle.plate else [])


@router.post("/routes", operation_id="createRoute")
def create_route(
    body: RouteRequest, request: Request, db: DbSession, register: CurrentRegister, principal: CurrentPrincipal
) -> dict[str, Any]:
    """The quickest legal route for the vehicle (arrival time decides windows and zone validity), as GeoJSON,

    with the zones and restrictions crossed, waits for windows, and why it differs from the unrestricted
    route — or, when no legal route exists, which rule blocks it and which exemption would open it.
    """
    limit_anonymous(request, principal)
    depart = _when(body.depart, "depart")
    vehicle, grants = _vehicle(body, register, db)
    result = router_for(register).route(
        vehicle,
        _points(body.points, "points"),
        depart,
        grants=grants,
        delivery=body.delivery,
        max_wait=timedelta(minutes=body.max_wait_minutes),
    )
    return result.to_data()


@router.post("/routes/matrix", operation_id="createRouteMatrix")
def create_matrix(
    body: MatrixRequest, request: Request, db: DbSession, register: CurrentRegister, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Travel times (s) and distances (m) for the vehicle from every origin to every destination (null: none legal)."""
    limit_anonymous(request, principal)
    vehicle, grants = _vehicle(body, register, db)
    return router_for(register).matrix(
        vehicle,
        _points(body.origins, "origins"),
        _points(body.destinations, "destinations"),
        _when(body.depart, "depart"),
        grants=grants,
        delivery=body.delivery,
    )


@router.post("/accessibility", operation_id="createAccessibilityMap")
def create_accessibility(
    body: AccessibilityRequest,
    request: Request,
    db: DbSession,
    register: CurrentRegister,
    principal: CurrentPrincipal,
) -> dict[str, Any]:
    """GeoJSON: the area reachable within ``minutes`` and the road segments around it, usable or not (with why)."""
    limit_anonymous(request, principal)
    vehicle, grants = _vehicle(body, register, db)
    [point] = _points([body.point], "point")
    return router_for(register).accessibility(
        vehicle, point, _when(body.at, "at"), body.minutes, grants=grants, max_segments=body.max_segments
    )
