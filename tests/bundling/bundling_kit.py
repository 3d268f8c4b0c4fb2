"""Helpers for the bundling tests: scenario documents and a fixed travel matrix (imported by the test modules)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np

from ruas.bundling.matrix import TravelMatrix
from ruas.bundling.scenario import VehicleClass
from ruas.domain.vehicle import Vehicle

DAM = (52.3731, 4.8926)
"""A point inside the ZE zone of Amsterdam (the Dam)."""


def vehicle_class(**over: Any) -> dict[str, Any]:
    """A vehicle-class record (a diesel Euro 6 van by default) for scenario documents."""
    base: dict[str, Any] = {
        "id": "van-diesel",
        "name": "Diesel van",
        "category": "N1",
        "body": "van",
        "fuel": "diesel",
        "emission_class": 6,
        "first_admission": "2020-03-01",
        "mass_kg": 3000,
        "capacity_kg": 900,
        "capacity_m3": 10,
        "cost_per_hour_eur": 45,
        "cost_per_km_eur": 0.30,
        "speed_kmh": 30,
        "detour_factor": 1.3,
        "emission_factor": "van-diesel-euro6",
    }
    base.update(over)
    return base


E_VAN = vehicle_class(
    id="e-van",
    name="Electric van",
    fuel="electric",
    emission_class=None,
    first_admission="2025-01-01",
    capacity_kg=800,
    capacity_m3=9,
    cost_per_hour_eur=40,
    cost_per_km_eur=0.2,
    emission_factor="van-electric",
)
RIGID = vehicle_class(
    id="rigid-diesel",
    name="Diesel rigid truck",
    category="N2",
    body="rigid",
    mass_kg=12000,
    first_admission="2019-06-01",
    capacity_kg=5000,
    capacity_m3=35,
    cost_per_hour_eur=60,
    cost_per_km_eur=0.5,
    emission_factor="rigid-diesel-euro6",
)


def scenario_doc(**sections: Any) -> dict[str, Any]:
    """A small valid scenario document near Lelystad; keyword arguments replace whole sections."""
    doc: dict[str, Any] = {
        "scenario": {"id": "tiny", "name": "tiny test scenario", "week_of": "2026-03-02"},
        "settings": {"seed": 1, "time_limit_s": 2, "max_iterations": 2000, "no_improvement": 500},
        "vehicle_classes": [vehicle_class(), E_VAN],
        "receivers": [
            {"id": "r1", "lat": 52.51, "lon": 5.47, "window": "08:00-12:00", "days": "Mo-Fr", "service_min": 10},
            {"id": "r2", "lat": 52.52, "lon": 5.48, "window": "08:00-12:00", "days": "Mo-Fr", "service_min": 10},
        ],
        "suppliers": [{"id": "s1", "lat": 52.40, "lon": 5.30, "vehicle_class": "van-diesel", "days": "Mo"}],
        "demand": [
            {"receiver": "r1", "supplier": "s1", "weekly_kg": 100, "weekly_m3": 1},
            {"receiver": "r2", "supplier": "s1", "weekly_kg": 100, "weekly_m3": 1},
        ],
        "hubs": [
            {
                "id": "h1",
                "lat": 52.50,
                "lon": 5.50,
                "hours": "06:00-18:00",
                "capacity_kg_per_day": 5000,
                "capacity_m3_per_day": 50,
            }
        ],
        "hub_fleet": [{"vehicle_class": "e-van", "count": 2}],
    }
    doc.update(sections)
    return doc


class FixedMatrix:
    """A travel-matrix provider over given matrices (metres, seconds), keyed by (lat, lon) points."""

    label = "fixed test matrix"
    approximate = True

    def __init__(self, points: Sequence[tuple[float, float]], distance_m: list[list[int]], duration_s: list[list[int]]):
        self.index = {p: i for i, p in enumerate(points)}
        self.distance = np.asarray(distance_m, dtype=np.int64)
        self.duration = np.asarray(duration_s, dtype=np.int64)

    def matrix(
        self, vehicle_class: VehicleClass, vehicle: Vehicle, points: Sequence[tuple[float, float]], depart: datetime
    ) -> TravelMatrix:
        idx = [self.index[p] for p in points]
        return TravelMatrix(self.distance[np.ix_(idx, idx)], self.duration[np.ix_(idx, idx)], self.label, True)
