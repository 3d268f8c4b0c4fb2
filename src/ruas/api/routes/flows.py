"""Logistics flows over HTTP: the public dashboard (suppressed counts) and the officers' policy simulation.

- ``GET /api/v1/flows/dashboard?from=&until=&municipality=&zone=&granularity=day|week|month``: entries per zone,
  time bucket, vehicle class, fuel, emission class, outcome, exemption used, hour and camera; the zero-emission
  and compliance shares. Every cell describing fewer than 10 distinct vehicles is ``null`` (and enough others
  to stop recovery by subtraction): see ``docs/flows.md``.
- ``POST /api/v1/flows/simulations``: replay the kept de-identified records of a period against a zone's draft
  (the saved draft, or a record in the body, checked as a draft) next to the rules in force. Officers of the
  zone's municipality and the regional administrator.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from ruas.api.deps import CurrentPrincipal, CurrentRegister, now_utc
from ruas.domain.timeutil import LOCAL_TZ
from ruas.flows.queries import FlowFilter
from ruas.flows.service import dashboard_for, default_period, simulate_for

router = APIRouter(prefix="/api/v1/flows", tags=["flows"])


@router.get("/dashboard")
def get_dashboard(
    register: CurrentRegister,
    from_: Annotated[date | None, Query(alias="from")] = None,
    until: date | None = None,
    municipality: Annotated[list[str] | None, Query(max_length=20)] = None,
    zone: Annotated[list[str] | None, Query(max_length=50)] = None,
    granularity: Annotated[str, Query(pattern="^(day|week|month)$")] = "day",
) -> dict[str, Any]:
    """The flows dashboard of local days ``[from, until)`` (default: the last 28 days with data)."""
    start, end = default_period(register, now_utc().astimezone(LOCAL_TZ).date())
    if from_ is None and until is not None:
        start = until - timedelta(days=28) if until > date.min + timedelta(days=28) else date.min
    flt = FlowFilter(
        from_ or start,
        until or end,
        tuple(municipality or ()),
        tuple(zone or ()),
        granularity,
    )
    return dashboard_for(register, flt).to_data()


class SimulationIn(BaseModel):
    """A replay request: the zone, the period (at most 62 days), optionally the draft record itself."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    zone_id: str = Field(min_length=1, max_length=100)
    from_: date = Field(alias="from")
    until: date
    record: dict[str, Any] | None = Field(default=None, description="a zone record; default: the zone's saved draft")
    switch_share: float = Field(default=0.5, ge=0, le=1, description="share of newly refused trips made zero-emission")
    min_vehicles: int = Field(default=10, ge=10, le=1000, description="cells with fewer distinct vehicles are null")


@router.post("/simulations")
def post_simulation(body: SimulationIn, principal: CurrentPrincipal, register: CurrentRegister) -> dict[str, Any]:
    """Replay a period against the zone's draft next to the rules in force (officers, administrator)."""
    sim = simulate_for(
        register, principal, body.zone_id, body.from_, body.until, record=body.record, switch_share=body.switch_share
    )
    return sim.to_data(body.min_vehicles)
