"""Fixtures for the enforcement tests: a fresh seeded register with named vehicles and two cameras.

Vehicles (plates contain a Q, so they are never real):
- ``VQ401A`` class-4 diesel van (ZE: no transition rule -> violation), ``VQ402A`` another one;
- ``VQ601A`` electric van (compliant), ``VQ501A`` class-5 diesel van, DET 2012 (ZE transition until 2027 -> exempt);
- ``VQ701T`` class-5 diesel rigid truck 12 t (ZE violation, fine €310).
Cameras: ``CAM-AMS-1`` on ZE Amsterdam (start 2025-01-01), ``CAM-HLM-1`` on ZE Haarlem (start 2025-06-01).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from ruas.domain.timeutil import LOCAL_TZ
from ruas.domain.vehicle import Body, Category, EmissionClass, Fuel, Vehicle
from ruas.enforcement.cameras import Camera, save_cameras
from ruas.enforcement.passages import IngestResult, ingest, normalise
from ruas.enforcement.pipeline import Context, DayResult, run
from ruas.enforcement.storage import Store
from ruas.register.store import Register
from ruas.register.vehicle_table import vehicles_to_frame
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


@pytest.fixture
def enf(data_dir: Path) -> Enf:
    """The back-office on a fresh copy of the seeded register, with the test vehicles and cameras."""
    register = Register.open(data_dir)
    register.import_vehicles(vehicles_to_frame(TEST_VEHICLES), actor="test")
    with session_scope(register.store.engine) as s:
        save_cameras(s, CAMERAS, NOW)
    return Enf(data_dir, Context(register, Store(data_dir)))


@pytest.fixture
def grant_day_exemption() -> Callable[..., str]:
    """``grant_day_exemption(enf, plate, day, decided_at)``: a granted ZE day exemption in the desk's store."""

    def make(e: Enf, plate: str, day: date, decided_at: datetime, municipality: str = "GM0363") -> str:
        from ruas.services.accounts import create_user
        from ruas.services.desk import day_validity
        from ruas.store.models import Application

        validity = day_validity(day)
        with session_scope(e.ctx.engine) as s:
            user = create_user(
                s, username=f"carrier-{plate.lower()}", password="correct-horse-battery", role="applicant",
                now=decided_at, kvk="12345678",
            )  # fmt: skip
            app_id = f"app-{plate}-{day.isoformat()}"
            s.add(
                Application(
                    id=app_id, applicant_id=user.id, kvk="12345678", type_id="ze-dagontheffing", plate=plate,
                    municipality=municipality, zones=[], valid_from=validity.start, valid_until=validity.end,
                    window=None, status="granted", eligibility=[], details={}, fee_eur=30.0, payment_status="due",
                    motivation="", decided_by="ruas-desk", decided_at=decided_at, created_at=decided_at, row_version=1,
                )
            )  # fmt: skip
        return app_id

    return make


@pytest.fixture
def api(enf: Enf) -> Any:
    """A started TestClient over the app on the test register (development settings, fixed secret)."""
    from fastapi.testclient import TestClient

    from ruas.api.app import create_app
    from ruas.core.config import Settings

    app = create_app(
        Settings(env="development", data_dir=enf.data_dir, secret_key="x" * 40, anonymous_checks_per_minute=100_000)
    )
    with TestClient(app) as client:
        yield client


@pytest.fixture
def token(enf: Enf) -> Callable[..., dict[str, str]]:
    """``token(username, role, municipalities=(), kvk=None)``: an account with a bearer token -> auth header."""
    from ruas.services.accounts import create_token, create_user

    def make(username: str, role: str, municipalities: tuple[str, ...] = (), kvk: str | None = None) -> dict[str, str]:
        with session_scope(enf.ctx.engine) as s:
            user = create_user(
                s, username=username, password="correct-horse-battery", role=role, now=NOW,
                kvk=kvk, municipalities=municipalities,
            )  # fmt: skip
            clear = create_token(s, user, name="test", now=NOW)
        return {"Authorization": f"Bearer {clear}"}

    return make
