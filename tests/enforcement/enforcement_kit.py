"""Shared helpers of the enforcement tests: named vehicles, cameras, instants and the ``Enf`` test harness."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from ruas.domain.timeutil import LOCAL_TZ
from ruas.domain.vehicle import Body, Category, EmissionClass, Fuel, Vehicle
from ruas.enforcement.cameras import Camera
from ruas.enforcement.passages import IngestResult, ingest, normalise
from ruas.enforcement.pipeline import Context, DayResult, run
from ruas.enforcement.storage import Store
from ruas.store.db import session_scope
from ruas.store.models import Sanction

ZE_AMS = "NDW11_64717e49-b364-4001-b6f9-14270d068764"
ZE_HLM = "NDW11_24e47dbf-8f58-49ba-8765-fce49fb94ac5"
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def van(plate: str, ec: EmissionClass, det: date, fuels: frozenset[Fuel] = frozenset({Fuel.DIESEL})) -> Vehicle:
    """A van (N1, 2,800 kg)."""
    return Vehicle(Category.N1, Body.VAN, fuels, ec, det, 2800, plate=plate, length_m=5.5, synthetic=True)


TEST_VEHICLES = (
    van("VQ401A", EmissionClass.E4, date(2008, 3, 10)),
    van("VQ402A", EmissionClass.E4, date(2009, 5, 1)),
    van("VQ601A", EmissionClass.Z, date(2022, 1, 1), frozenset({Fuel.ELECTRIC})),
    van("VQ501A", EmissionClass.E5, date(2012, 6, 1)),
    Vehicle(
        Category.N2, Body.RIGID, frozenset({Fuel.DIESEL}), EmissionClass.E5, date(2012, 6, 1), 12000,
        plate="VQ701T", length_m=8.0, synthetic=True,
    ),
)  # fmt: skip

CAMERAS = (
    Camera("CAM-AMS-1", 52.3791, 4.9003, (ZE_AMS,), "GM0363", "test camera Amsterdam", 180.0),
    Camera("CAM-HLM-1", 52.3874, 4.6462, (ZE_HLM,), "GM0392", "test camera Haarlem", 90.0),
)


def at(y: int, m: int, d: int, hh: int = 9, mm: int = 0) -> datetime:
    """A local (Europe/Amsterdam) moment."""
    return datetime(y, m, d, hh, mm, tzinfo=LOCAL_TZ)


@dataclass
class Enf:
    """The enforcement back-office on a fresh register: helpers to ingest, run and read."""

    data_dir: Path
    ctx: Context

    @property
    def store(self) -> Store:
        return self.ctx.store

    def batch(
        self, rows: Sequence[tuple[str, datetime, str] | tuple[str, datetime, str, float | None, str | None]]
    ) -> pl.DataFrame:
        cols: dict[str, list[Any]] = {"camera_id": [], "at": [], "plate": [], "confidence": [], "country": []}
        for r in rows:
            cols["camera_id"].append(r[0])
            cols["at"].append(r[1].astimezone(UTC))
            cols["plate"].append(r[2])
            cols["confidence"].append(r[3] if len(r) > 3 else 0.95)
            cols["country"].append(r[4] if len(r) > 4 else None)
        frame = pl.DataFrame(
            cols,
            schema={
                "camera_id": pl.Utf8,
                "at": pl.Datetime("us", "UTC"),
                "plate": pl.Utf8,
                "confidence": pl.Float64,
                "country": pl.Utf8,
            },
        )
        return normalise(frame)

    def ingest(self, rows: Sequence[Any]) -> IngestResult:
        with session_scope(self.ctx.engine) as s:
            return ingest(self.store, s, self.batch(rows), now=NOW)

    def run(self, days: Sequence[date] | None = None, **kw: Any) -> list[DayResult]:
        return run(self.ctx, days, now=NOW, **kw)

    def sanctions(self) -> list[Sanction]:
        with session_scope(self.ctx.engine) as s:
            from sqlalchemy import select

            return list(s.scalars(select(Sanction).order_by(Sanction.day, Sanction.plate, Sanction.slot)))

    def records(self) -> pl.DataFrame:
        found = self.store.read_many(self.store.partitions("records"))
        return pl.DataFrame() if found is None else found
