"""May a vehicle class serve a stop on a day? Asked of the ONE rules engine, never re-implemented here.

Each vehicle class becomes a :class:`~ruas.domain.vehicle.Vehicle` through
:func:`ruas.services.check.build_vehicle`; each stop's zones come from the register's spatial
index; :func:`ruas.rules.engine.decide` answers at the start of the stop's delivery window on
that day. The class may serve the stop only when the answer is "allowed" for the whole window
(``allowed_until`` not before the window's end). Answers are cached per class, zone set, day
and window, so a scenario with hundreds of stops costs a handful of engine calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from ruas.bundling.scenario import VehicleClass, Window
from ruas.domain.decision import Access, Effect
from ruas.domain.timeutil import local_midnight
from ruas.domain.vehicle import Vehicle
from ruas.register.store import Register
from ruas.rules.engine import decide
from ruas.services.check import VehicleInput, build_vehicle


@dataclass(frozen=True, slots=True)
class AccessVerdict:
    """The engine's answer for one vehicle class at one stop and day, with why and until/from when."""

    allowed: bool
    zones: tuple[str, ...]
    reasons: tuple[str, ...] = ()
    allowed_until: datetime | None = None
    allowed_from: datetime | None = None

    def to_data(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "allowed": self.allowed,
            "zones": list(self.zones),
            "reasons": list(self.reasons),
            "allowed_until": self.allowed_until.isoformat() if self.allowed_until else None,
            "allowed_from": self.allowed_from.isoformat() if self.allowed_from else None,
        }


def class_vehicle(register: Register, vc: VehicleClass) -> Vehicle:
    """The vehicle the rules see for a vehicle class (built by the check service, no plate)."""
    return build_vehicle(
        register,
        VehicleInput(
            category=vc.category,
            body=vc.body,
            fuel=vc.fuel,
            emission_class=vc.emission_class,
            first_admission=vc.first_admission,
            mass_kg=vc.mass_kg,
        ),
    )


class AccessOracle:
    """Per vehicle class × stop × day: may it deliver there within the window? (cached engine answers)."""

    def __init__(self, register: Register) -> None:
        self.register = register
        self._vehicles: dict[str, Vehicle] = {}
        self._zones: dict[tuple[float, float], tuple[str, ...]] = {}
        self._cache: dict[tuple[str, tuple[str, ...], date, Window], AccessVerdict] = {}
        self.engine_calls = 0

    def vehicle(self, vc: VehicleClass) -> Vehicle:
        """The class's vehicle (validated once; a class the check service refuses raises InvalidInput)."""
        found = self._vehicles.get(vc.id)
        if found is None:
            found = self._vehicles[vc.id] = class_vehicle(self.register, vc)
        return found

    def zones_at(self, lat: float, lon: float) -> tuple[str, ...]:
        """Ids of the register zones covering a point."""
        key = (lat, lon)
        found = self._zones.get(key)
        if found is None:
            found = self._zones[key] = tuple(sorted(self.register.zones_at_point(lat, lon)))
        return found

    def verdict(self, vc: VehicleClass, lat: float, lon: float, day: date, window: Window) -> AccessVerdict:
        """May ``vc`` deliver at (lat, lon) on ``day`` for the whole ``window``?"""
        zones = self.zones_at(lat, lon)
        if not zones:
            return AccessVerdict(True, ())
        key = (vc.id, zones, day, window)
        found = self._cache.get(key)
        if found is not None:
            return found
        start = local_midnight(day) + timedelta(seconds=window.start_s)
        end = local_midnight(day) + timedelta(seconds=window.end_s)
        decision = decide(self.register.book, self.vehicle(vc), zones, at=start)
        self.engine_calls += 1
        refused = [z for z in decision.zones if z.access is Access.NOT_ALLOWED]
        untils = [z.allowed_until for z in decision.zones if z.allowed_until is not None]
        until = min(untils) if untils else None
        if refused:
            reasons = tuple(
                f"{z.zone_name}: {r.text}" + (f" ({r.legal_basis})" if r.legal_basis else "")
                for z in refused
                for r in z.reasons
                if r.effect is Effect.PROHIBITS
            ) or tuple(f"{z.zone_name}: not allowed" for z in refused)
            froms = [z.allowed_from for z in refused]
            allowed_from = None if any(f is None for f in froms) else max(f for f in froms if f is not None)
            found = AccessVerdict(False, zones, reasons, None, allowed_from)
        elif until is not None and until < end:
            found = AccessVerdict(
                False,
                zones,
                (f"allowed only until {until.isoformat()}, before the delivery window ends ({window.text()})",),
                until,
                None,
            )
        else:
            found = AccessVerdict(True, zones, (), until, None)
        self._cache[key] = found
        return found
