"""A generated (SYNTHETIC) bundling scenario of any size, from a seed: for benchmarks and load tests.

Receivers lie in a box around Lelystad, suppliers 25-90 km away; every receiver orders from a few
suppliers. Always labelled synthetic (``illustrative: true`` with a notice saying it is generated).
"""

from __future__ import annotations

import math
import random
from typing import Any

from ruas.bundling.scenario import DEFAULT_DAYS_BY_FREQUENCY, Scenario, scenario_from_data

CENTRE = (52.505, 5.475)


def generated_document(
    receivers: int = 200, suppliers: int = 20, *, seed: int = 1, hubs: int = 1, fleet: int = 12
) -> dict[str, Any]:
    """The scenario document: ``receivers`` receivers, ``suppliers`` suppliers, ``hubs`` hubs near the centre."""
    rng = random.Random(seed)
    lat0, lon0 = CENTRE
    classes = [
        {"id": "van-diesel", "name": "Diesel van Euro 6", "category": "N1", "body": "van", "fuel": "diesel",
         "emission_class": 6, "first_admission": "2020-03-01", "mass_kg": 3000, "capacity_kg": 900,
         "capacity_m3": 10, "cost_per_hour_eur": 45, "cost_per_km_eur": 0.30, "speed_kmh": 45,
         "emission_factor": "van-diesel-euro6"},
        {"id": "rigid-diesel", "name": "Diesel rigid Euro VI", "category": "N2", "body": "rigid", "fuel": "diesel",
         "emission_class": 6, "first_admission": "2019-06-01", "mass_kg": 12000, "capacity_kg": 5000,
         "capacity_m3": 35, "cost_per_hour_eur": 60, "cost_per_km_eur": 0.50, "speed_kmh": 45,
         "emission_factor": "rigid-diesel-euro6"},
        {"id": "e-van", "name": "Electric van", "category": "N1", "body": "van", "fuel": "electric",
         "first_admission": "2025-01-01", "mass_kg": 3500, "capacity_kg": 800, "capacity_m3": 9,
         "cost_per_hour_eur": 40, "cost_per_km_eur": 0.20, "fixed_cost_per_day_eur": 25, "speed_kmh": 28,
         "emission_factor": "van-electric"},
        {"id": "cargo-bike", "name": "Electric cargo bike", "category": "L", "fuel": "electric",
         "first_admission": "2025-01-01", "mass_kg": 300, "capacity_kg": 200, "capacity_m3": 1.5,
         "cost_per_hour_eur": 32, "cost_per_km_eur": 0.05, "fixed_cost_per_day_eur": 8, "speed_kmh": 15,
         "detour_factor": 1.2, "emission_factor": "cargo-bike-electric"},
    ]  # fmt: skip
    windows = ["07:00-11:00", "08:00-12:00", "09:00-13:00", "07:00-17:00", "12:00-16:00"]
    recs = [
        {
            "id": f"r{i:03d}",
            "lat": round(lat0 + rng.uniform(-0.035, 0.035), 5),
            "lon": round(lon0 + rng.uniform(-0.06, 0.06), 5),
            "window": rng.choice(windows),
            "days": "Mo-Fr",
            "service_min": rng.choice([5, 8, 10, 15]),
            "district": f"d{rng.randrange(4)}",
        }
        for i in range(receivers)
    ]
    sups = []
    for j in range(suppliers):
        dist_km, bearing = rng.uniform(25, 90), rng.uniform(0, 2 * math.pi)
        sups.append(
            {
                "id": f"s{j:02d}",
                "lat": round(lat0 + dist_km / 111.2 * math.cos(bearing), 5),
                "lon": round(lon0 + dist_km / (111.2 * math.cos(math.radians(lat0))) * math.sin(bearing), 5),
                "vehicle_class": rng.choice(["van-diesel", "van-diesel", "rigid-diesel"]),
                "days": ",".join(DEFAULT_DAYS_BY_FREQUENCY[rng.choice([1, 2, 3, 5])]),
            }
        )
    demand = []
    for r in recs:
        for s in rng.sample(sups, k=rng.randint(2, 5)):
            kg = round(rng.uniform(10, 120), 1)
            demand.append({"receiver": r["id"], "supplier": s["id"], "weekly_kg": kg, "weekly_m3": round(kg / 90, 3)})
    hub_rows = [
        {
            "id": f"h{k}",
            "lat": round(lat0 + rng.uniform(-0.02, 0.02), 5),
            "lon": round(lon0 + rng.uniform(-0.03, 0.03), 5),
            "hours": "06:00-19:00",
            "capacity_kg_per_day": 100_000,
            "capacity_m3_per_day": 1_000,
            "fixed_cost_per_day_eur": 150,
            "handling_eur_per_kg": 0.03,
        }
        for k in range(hubs)
    ]
    return {
        "scenario": {
            "id": f"generated-{receivers}x{suppliers}-seed{seed}",
            "name": f"SYNTHETIC generated scenario ({receivers} receivers, {suppliers} suppliers, seed {seed})",
            "illustrative": True,
            "notice": "Generated from a seed by ruas.bundling.generate: synthetic, not real demand.",
            "week_of": "2026-03-02",
        },
        "settings": {"seed": seed, "time_limit_s": 5, "max_iterations": 0, "no_improvement": 0},
        "vehicle_classes": classes,
        "receivers": recs,
        "suppliers": sups,
        "demand": demand,
        "hubs": hub_rows,
        "hub_fleet": [{"vehicle_class": "e-van", "count": fleet}, {"vehicle_class": "cargo-bike", "count": fleet}],
        "districts": [{"id": f"d{k}", "name": f"district {k}"} for k in range(4)],
    }


def generated_scenario(receivers: int = 200, suppliers: int = 20, *, seed: int = 1, hubs: int = 1) -> Scenario:
    """The generated scenario, validated."""
    return scenario_from_data(generated_document(receivers, suppliers, seed=seed, hubs=hubs), "generated")
