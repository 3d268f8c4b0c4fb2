"""Travel matrices per vehicle class: the protocol and its two providers.

- :class:`StraightLineMatrix` — great-circle (haversine) distance × the class's detour factor,
  driven at the class's average speed. An **approximation**, labelled so in every output; it is
  what tests and the illustrative scenario use when no road graph is loaded.
- :class:`RoadNetworkMatrix` — shortest legal routes on the OSM road graph of
  :mod:`ruas.routing` (``Router.matrix``), for the class's vehicle at the day's departure time:
  roads the rules close to the vehicle are avoided, and a stop it cannot legally reach is
  unreachable.

Distances are whole metres and durations whole seconds (PyVRP works on integers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from ruas.bundling.scenario import VehicleClass
from ruas.domain.vehicle import Vehicle

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG), metres."""

UNREACHABLE = 10**9
"""Distance (m) and duration (s) used for a pair with no (legal) route: far beyond any shift."""

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class TravelMatrix:
    """Distances (m) and durations (s) between ``points`` for one vehicle class; ``source`` says how they were made."""

    distance_m: I64
    duration_s: I64
    source: str
    approximate: bool


class TravelMatrixProvider(Protocol):
    """Makes the travel matrix of a vehicle class between points (lat, lon)."""

    label: str
    approximate: bool

    def matrix(
        self, vehicle_class: VehicleClass, vehicle: Vehicle, points: Sequence[tuple[float, float]], depart: datetime
    ) -> TravelMatrix:
        """Square matrices over ``points`` for a vehicle of ``vehicle_class`` leaving at ``depart``."""
        ...


def haversine_matrix_m(points: Sequence[tuple[float, float]]) -> npt.NDArray[np.float64]:
    """Pairwise great-circle distances (m) between (lat, lon) points, vectorised."""
    if not points:
        return np.zeros((0, 0))
    arr = np.radians(np.asarray(points, dtype=np.float64))
    lat, lon = arr[:, 0][:, None], arr[:, 1][:, None]
    dlat, dlon = lat.T - lat, lon.T - lon
    a = np.sin(dlat / 2) ** 2 + np.cos(lat) * np.cos(lat.T) * np.sin(dlon / 2) ** 2
    out: npt.NDArray[np.float64] = 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(a)))
    return out


class StraightLineMatrix:
    """Haversine distance × detour factor, at the class's average speed (an approximation, not a road route)."""

    label = "straight-line approximation (haversine distance × detour factor per vehicle class, average speed)"
    approximate = True

    def matrix(
        self, vehicle_class: VehicleClass, vehicle: Vehicle, points: Sequence[tuple[float, float]], depart: datetime
    ) -> TravelMatrix:
        """Distances ``round(haversine × detour)`` m; durations ``round(distance / speed)`` s."""
        dist = np.rint(haversine_matrix_m(points) * vehicle_class.detour_factor)
        dur = np.rint(dist / (vehicle_class.speed_kmh / 3.6))
        return TravelMatrix(
            dist.astype(np.int64),
            dur.astype(np.int64),
            f"straight line × {vehicle_class.detour_factor:g} at {vehicle_class.speed_kmh:g} km/h (approximation)",
            True,
        )


class RoadNetworkMatrix:
    """Legal shortest routes on the road graph of :mod:`ruas.routing` (``Router.matrix``).

    ``router`` is a :class:`ruas.routing.service.Router`; it is typed loosely so this module does not
    import the routing package (and its graph) unless a road matrix is asked for.
    """

    label = "road network (OSM graph, legal routes for each vehicle class, ruas.routing)"
    approximate = False

    def __init__(self, router: Any) -> None:
        self.router = router

    def matrix(
        self, vehicle_class: VehicleClass, vehicle: Vehicle, points: Sequence[tuple[float, float]], depart: datetime
    ) -> TravelMatrix:
        """Travel times and distances from every point to every point; no legal route is :data:`UNREACHABLE`."""
        pts = list(points)
        answer = self.router.matrix(vehicle, pts, pts, depart, delivery=True)
        n = len(pts)
        dist = np.full((n, n), UNREACHABLE, dtype=np.int64)
        dur = np.full((n, n), UNREACHABLE, dtype=np.int64)
        for i in range(n):
            for j in range(n):
                d = answer["distances_m"][i][j]
                t = answer["durations_s"][i][j]
                if i == j:
                    dist[i, j] = dur[i, j] = 0
                elif d is not None and t is not None:
                    dist[i, j] = round(d)
                    dur[i, j] = round(t)
        return TravelMatrix(dist, dur, f"road network for {vehicle_class.id}", False)
