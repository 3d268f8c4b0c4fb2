"""SYNTHETIC camera traffic for tests, demos and benchmarks: seeded, reproducible, always labelled synthetic.

- :func:`synthetic_cameras` places cameras on the real boundaries of the register's zones (evenly along each
  polygon's outer ring, looking inwards); zones that share one polygon (ZE Amsterdam and the S100 vehicle
  restrictions) share its cameras. Every camera is flagged ``synthetic`` and named ``SYN-...``.
- :func:`synthetic_passages` draws a day of passages: moments from a weekday time-of-day profile (night
  quiet, morning delivery peak, afternoon shoulder), vehicles from the (synthetic) register with a skew
  (some vehicles pass many times), a target share of violations (default 3 %, drawn from the vehicles the
  rules refuse at that camera that day), foreign plates (~3 %), low-confidence reads (~1 %) and misread
  plates (~0.5 %, one character wrong). Every row carries ``synthetic = true``.

The violation share is a *target*: vehicles are drawn from the refused pool with that probability, so the
realised share also depends on day exemptions held and on which zone a camera guards.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

import numpy as np
import polars as pl
import shapely
from shapely.geometry import shape

from ruas.domain.regulation import ZoneStatus
from ruas.domain.timeutil import LOCAL_TZ, local_midnight
from ruas.enforcement.cameras import Camera
from ruas.rules.batch import decide_indexed
from ruas.rules.engine import RuleBook

HOUR_PROFILE = (
    0.4, 0.3, 0.3, 0.4, 0.8, 2.0, 4.5, 7.5, 8.5, 8.0, 7.0, 6.5,
    6.0, 6.0, 6.0, 6.5, 6.5, 5.5, 4.0, 2.8, 2.0, 1.5, 1.0, 0.6,
)  # fmt: skip
"""Relative passages per local hour of a weekday (illustrative: delivery traffic peaks 07:00-10:00)."""

FOREIGN = ("DE", "BE", "PL", "FR", "LT", "RO")
_LETTERS = np.frombuffer(b"BCDFGHJKLNPRSTVXZ", dtype=np.uint8)
_DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)


def _bearing(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Compass bearing (degrees) from lon/lat point a to b."""
    (lon1, lat1), (lon2, lat2) = a, b
    y = math.sin(math.radians(lon2 - lon1)) * math.cos(math.radians(lat2))
    x = math.cos(math.radians(lat1)) * math.sin(math.radians(lat2)) - math.sin(math.radians(lat1)) * math.cos(
        math.radians(lat2)
    ) * math.cos(math.radians(lon2 - lon1))
    return round((math.degrees(math.atan2(y, x)) + 360) % 360, 1)


def synthetic_cameras(book: RuleBook, per_zone: int = 6, zone_ids: Sequence[str] | None = None) -> list[Camera]:
    """Cameras on the outer boundary of every in-force zone with a real area (or of ``zone_ids``).

    Illustrative areas (the delivery-window rectangles drawn by the RUAS team) get cameras only when named."""
    groups: dict[bytes, list[str]] = {}
    geoms: dict[bytes, shapely.Geometry] = {}
    for z in book.zones:
        if z.status is ZoneStatus.ANNOUNCED or z.geometry is None or (z.illustrative and zone_ids is None):
            continue
        if zone_ids is not None and z.id not in zone_ids:
            continue
        g = shape(dict(z.geometry))
        key = shapely.to_wkb(shapely.normalize(g))
        groups.setdefault(key, []).append(z.id)
        geoms[key] = g
    cams: list[Camera] = []
    for key, ids in groups.items():
        g = geoms[key]
        poly = max(getattr(g, "geoms", [g]), key=lambda p: p.area)
        ring = poly.exterior
        inside = poly.representative_point()
        first = book.zone(ids[0])
        for i in range(per_zone):
            p = ring.interpolate((i + 0.5) / per_zone, normalized=True)
            cams.append(
                Camera(
                    id=f"SYN-{ids[0][:14]}-{i + 1:02d}".replace("_", "-"),
                    lat=round(p.y, 6),
                    lon=round(p.x, 6),
                    zones=tuple(sorted(ids)),
                    municipality=first.authority,
                    name=f"SYNTHETIC camera {i + 1} at the entrance of {first.name}",
                    direction_deg=_bearing((p.x, p.y), (inside.x, inside.y)),
                    synthetic=True,
                )
            )
    return cams


def _refused(book: RuleBook, vehicles: pl.DataFrame, zones: Sequence[str], at: datetime) -> dict[str, np.ndarray]:
    """Per zone, the register rows the rules refuse at ``at`` (no exemptions held)."""
    n = vehicles.height
    out = {}
    for z in zones:
        frame = pl.DataFrame(
            {
                "vehicle": pl.int_range(n, dtype=pl.UInt32, eager=True),
                "zone_id": pl.Series([z] * n),
                "at": pl.Series([at] * n, dtype=pl.Datetime("us", "UTC")),
            }
        )
        decided = decide_indexed(book, vehicles, frame)
        out[z] = np.nonzero(~decided.get_column("allowed").to_numpy())[0]
    return out


def _refused_rows(
    book: RuleBook,
    vehicles: pl.DataFrame,
    cam_zones: Sequence[tuple[str, ...]],
    cam_idx: np.ndarray,
    vid: np.ndarray,
    at: pl.Series,
) -> np.ndarray:
    """Whether the rules refuse each drawn (vehicle, camera, moment) in some zone the camera guards."""
    out = np.zeros(vid.size, dtype=bool)
    width = max(len(z) for z in cam_zones)
    for k in range(width):
        has = np.array([len(z) > k for z in cam_zones])[cam_idx]
        rows = np.nonzero(has)[0]
        zone_k = np.array([z[k] if len(z) > k else "" for z in cam_zones])
        frame = pl.DataFrame(
            {
                "vehicle": pl.Series(vid[rows], dtype=pl.UInt32),
                "zone_id": pl.Series(zone_k[cam_idx[rows]]),
                "at": at.gather(pl.Series(rows, dtype=pl.UInt32)),
            }
        )
        out[rows] |= ~decide_indexed(book, vehicles, frame).get_column("allowed").to_numpy()
    return out


def synthetic_passages(
    book: RuleBook,
    vehicles: pl.DataFrame,
    cameras: Sequence[Camera],
    day: date,
    n: int,
    *,
    seed: int = 1,
    violation_share: float = 0.03,
    foreign_share: float = 0.03,
    low_confidence_share: float = 0.01,
    misread_share: float = 0.005,
) -> pl.DataFrame:
    """``n`` passages on local ``day`` at ``cameras`` (columns of a batch plus ``synthetic``)."""
    rng = np.random.default_rng(seed)
    cams = [c for c in cameras if c.active]
    cam_idx = rng.integers(0, len(cams), n)
    # moments: an hour from the profile, then a uniform second inside it (local wall clock)
    weights = np.array(HOUR_PROFILE) / sum(HOUR_PROFILE)
    secs = rng.choice(24, n, p=weights) * 3600 + rng.integers(0, 3600, n)
    start_us = int(local_midnight(day).timestamp() * 1_000_000)
    end_us = int(local_midnight(day + timedelta(days=1)).timestamp() * 1_000_000)
    at_us = np.minimum(start_us + secs.astype(np.int64) * 1_000_000 + rng.integers(0, 1_000_000, n), end_us - 1)
    # vehicles: a skewed choice (a few vehicles pass often); drivers the rules refuse mostly stay away, so a
    # draw the rules refuse is redrawn unless it is one of the wanted violations (drawn from the refused pool)
    noon = datetime.combine(day, time(12), tzinfo=LOCAL_TZ)
    cam_zones = [c.zones for c in cams]
    first_zone = np.array([z[0] for z in cam_zones])
    refused = _refused(book, vehicles, sorted(set(first_zone.tolist())), noon)
    nv = vehicles.height
    popularity = rng.gamma(0.7, 1.0, nv)  # moderate skew: some vehicles pass daily, most rarely
    popularity /= popularity.sum()
    vid = rng.choice(nv, n, p=popularity)
    want = rng.random(n) < violation_share
    for z, rows in refused.items():
        sel = want & (first_zone[cam_idx] == z)
        if rows.size and sel.any():
            vid[sel] = rows[rng.integers(0, rows.size, int(sel.sum()))]
    at_col = pl.Series(at_us, dtype=pl.Int64).cast(pl.Datetime("us", "UTC"))
    for _ in range(6):
        bad = ~want & _refused_rows(book, vehicles, cam_zones, cam_idx, vid, at_col)
        if not bad.any():
            break
        vid[bad] = rng.choice(nv, int(bad.sum()), p=popularity)
    plates = vehicles.get_column("plate").gather(pl.Series(vid, dtype=pl.UInt32))
    country = np.full(n, "", dtype="U2")
    confidence = np.round(rng.uniform(0.86, 0.995, n), 3)
    kind = rng.random(n)
    foreign = kind < foreign_share
    low = (kind >= foreign_share) & (kind < foreign_share + low_confidence_share)
    mis = (kind >= foreign_share + low_confidence_share) & (kind < foreign_share + low_confidence_share + misread_share)
    if foreign.any():
        k = int(foreign.sum())
        country[foreign] = np.array(FOREIGN)[rng.integers(0, len(FOREIGN), k)]
        raw = np.concatenate(
            [_LETTERS[rng.integers(0, _LETTERS.size, (k, 3))], _DIGITS[rng.integers(0, 10, (k, 4))]], axis=1
        )
        plates = plates.scatter(np.nonzero(foreign)[0], pl.Series(raw.view("S7").ravel().astype("U7")))
    if low.any():
        confidence[low] = np.round(rng.uniform(0.3, 0.79, int(low.sum())), 3)
    if mis.any():
        idx = np.nonzero(mis)[0]
        arr = (
            plates.gather(pl.Series(idx, dtype=pl.UInt32)).to_numpy().astype("S6").view(np.uint8).reshape(-1, 6).copy()
        )
        rows, pos = np.arange(arr.shape[0]), rng.integers(0, 6, arr.shape[0])
        arr[rows, pos] = np.where(np.isin(arr[rows, pos], _DIGITS), ord("8"), ord("B"))
        plates = plates.scatter(idx, pl.Series(arr.view("S6").ravel().astype("U6")))
    cam_ids = pl.Series(np.array([c.id for c in cams]), dtype=pl.Utf8)
    return pl.DataFrame(
        {
            "camera_id": cam_ids.gather(pl.Series(cam_idx, dtype=pl.UInt32)),
            "at": pl.Series(at_us, dtype=pl.Int64).cast(pl.Datetime("us", "UTC")),
            "plate": plates,
            "confidence": pl.Series(confidence, dtype=pl.Float32),
            "country": pl.Series(country, dtype=pl.Utf8).replace("", None),
            "synthetic": pl.Series([True] * n, dtype=pl.Boolean),
        }
    ).sort("at", maintain_order=True)
