"""Use cases of the flows shared by the API, the portal and the CLI: the dashboard and the simulation.

- The dashboard is public: it shows only suppressed counts (no cell below ``min_vehicles`` distinct vehicles,
  never below the default of 10 for anonymous callers).
- A simulation is for officers (zones of their municipalities) and the regional administrator: it replays the
  zone's kept de-identified records against the zone's saved draft (or a record given with the request, checked
  as a draft would be) and the rules in force.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from ruas.flows.cube import FlowsData, refresh
from ruas.flows.queries import Dashboard, FlowFilter, dashboard
from ruas.flows.simulate import Assumptions, Scenario, Simulation, camera_points, simulate
from ruas.flows.suppression import DEFAULT_MIN_VEHICLES
from ruas.register.records import Record
from ruas.register.store import Register
from ruas.services.accounts import Principal
from ruas.services.lifecycle import Lifecycle, require_authority, validate_record


def flows_data(register: Register) -> FlowsData:
    """The flows' data under the register's data directory."""
    return FlowsData(register.path)


def cameras_data(register: Register) -> list[dict[str, Any]]:
    """The registry's cameras as map points (id, lat, lon, zones)."""
    return [
        {"id": c.id, "name": c.name, "lat": c.lat, "lon": c.lon, "zones": list(c.zones)}
        for c in camera_points(register.store.engine)
    ]


def zone_names(register: Register) -> dict[str, str]:
    """Zone id -> name of every zone in the register."""
    return {z.id: z.name for z in register.zones}


def default_period(register: Register, today: date, days: int = 28) -> tuple[date, date]:
    """The ``days`` local days up to the last day with flows data (or up to today when there is none)."""
    data = flows_data(register)
    known = data.cube_days() or data.source_days("records") or data.source_days("aggregates")
    end = (known[-1] if known else today) + timedelta(days=1)
    return end - timedelta(days=days), end


def dashboard_for(register: Register, flt: FlowFilter, *, min_vehicles: int = DEFAULT_MIN_VEHICLES) -> Dashboard:
    """Bring the cube up to date (incremental) and build the suppressed dashboard of ``flt``."""
    data = flows_data(register)
    refresh(data)
    return dashboard(
        data, flt, min_vehicles=min_vehicles, zone_names=zone_names(register), cameras=cameras_data(register)
    )


def scenario_record(register: Register, principal: Principal, zone_id: str, record: Mapping[str, Any] | None) -> Record:
    """The record to simulate: the zone's saved draft, or ``record`` checked as a draft would be (nothing saved)."""
    principal.require("officer", "admin")
    if record is None:
        return dict(Lifecycle(register).draft(principal, zone_id).record)
    context = [r for r in register.records if r["id"] != zone_id]
    checked = validate_record(dict(record), zone_id, context=context, settings=register.settings)
    require_authority(principal, checked["authority"], f"simulate a draft of zone {zone_id}")
    current = next((r for r in register.records if r["id"] == zone_id), None)
    if current is not None:
        require_authority(principal, str(current.get("authority") or ""), f"simulate a draft of zone {zone_id}")
    return checked


def simulate_for(
    register: Register,
    principal: Principal,
    zone_id: str,
    start: date,
    end: date,
    *,
    record: Mapping[str, Any] | None = None,
    switch_share: float = 0.5,
) -> Simulation:
    """Replay ``[start, end)`` for the zone against its draft (officers of its municipality, the administrator)."""
    draft = scenario_record(register, principal, zone_id, record)
    scenario = Scenario(zone_id, draft, start, end, Assumptions(switch_share))
    return simulate(register, flows_data(register), scenario, cameras=camera_points(register.store.engine))


__all__ = [
    "cameras_data",
    "dashboard_for",
    "default_period",
    "flows_data",
    "scenario_record",
    "simulate_for",
    "zone_names",
]
