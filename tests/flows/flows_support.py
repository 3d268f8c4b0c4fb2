"""Helpers of the flows tests: de-identified records written by hand in the enforcement pipeline's layout.

Vehicles are attribute profiles (no plates); pseudonyms are short labels. Zones are real register zones:
ZE Amsterdam (in force from 2025-01-01) and the illustrative Osdorpplein delivery-window area (Mo-Sa 07-11).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import polars as pl

from ruas.domain.timeutil import LOCAL_TZ

ZE_AMS = "NDW11_64717e49-b364-4001-b6f9-14270d068764"
OSDORP = "ams-osdorpplein"
AMS = "GM0363"


@dataclass(frozen=True)
class Profile:
    """What a record keeps of a vehicle."""

    vehicle_class: str
    category: str
    body: str
    fuel: str
    emission_class: str
    first_admission_month: str
    max_mass_kg: int
    length_m: float


DIESEL_VAN_4 = Profile("van", "N1", "van", "diesel", "4", "2008-03", 2800, 5.5)  # ZE: refused
DIESEL_VAN_5 = Profile("van", "N1", "van", "diesel", "5", "2012-06", 2800, 5.5)  # ZE: transition rule until 2027
ELECTRIC_VAN = Profile("van", "N1", "van", "electric", "Z", "2022-01", 2800, 5.5)  # ZE: not subject
RIGID_6 = Profile("truck", "N2", "rigid", "diesel", "6", "2019-05", 12000, 8.0)
TRACTOR_6 = Profile("truck", "N3", "tractor", "diesel", "6", "2018-02", 40000, 16.0)
CAR = Profile("car", "M1", "car", "petrol", "6", "2020-01", 1500, 4.5)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A local (Europe/Amsterdam) moment."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LOCAL_TZ)


def record(
    at: datetime,
    camera: str,
    zone: str,
    pseudonym: str | None,
    profile: Profile | None,
    outcome: str,
    basis: str | None = None,
) -> dict[str, Any]:
    """One de-identified record row."""
    p = profile
    return {
        "at": at.astimezone(UTC),
        "camera_id": camera,
        "zone_id": zone,
        "pseudonym": pseudonym,
        "outcome": outcome,
        "basis": basis,
        "vehicle_class": p.vehicle_class if p else "unknown",
        "category": p.category if p else None,
        "body": p.body if p else None,
        "fuel": p.fuel if p else None,
        "emission_class": p.emission_class if p else None,
        "first_admission_month": p.first_admission_month if p else None,
        "max_mass_kg": p.max_mass_kg if p else None,
        "length_m": p.length_m if p else None,
        "synthetic": True,
    }


RECORD_SCHEMA: dict[str, pl.DataType] = {
    "at": pl.Datetime("us", "UTC"),
    "camera_id": pl.Categorical(),
    "zone_id": pl.Categorical(),
    "pseudonym": pl.Categorical(),
    "outcome": pl.Categorical(),
    "basis": pl.Categorical(),
    "vehicle_class": pl.Categorical(),
    "category": pl.Categorical(),
    "body": pl.Categorical(),
    "fuel": pl.Categorical(),
    "emission_class": pl.Categorical(),
    "first_admission_month": pl.Categorical(),
    "max_mass_kg": pl.Int32(),
    "length_m": pl.Float64(),
    "synthetic": pl.Boolean(),
}


WriteRecords = Callable[[date, Sequence[dict[str, Any]]], None]
