"""Fixtures for the enforcement tests: a fresh seeded register with named vehicles and two cameras.

Vehicles (plates contain a Q, so they are never real):
- ``VQ401A`` class-4 diesel van (ZE: no transition rule -> violation), ``VQ402A`` another one;
- ``VQ601A`` electric van (compliant), ``VQ501A`` class-5 diesel van, DET 2012 (ZE transition until 2027 -> exempt);
- ``VQ701T`` class-5 diesel rigid truck 12 t (ZE violation, fine €310).
Cameras: ``CAM-AMS-1`` on ZE Amsterdam (start 2025-01-01), ``CAM-HLM-1`` on ZE Haarlem (start 2025-06-01).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from enforcement_kit import CAMERAS, NOW, TEST_VEHICLES, ZE_AMS, ZE_HLM, Enf, at, van  # noqa: F401

from ruas.enforcement.cameras import save_cameras
from ruas.enforcement.pipeline import Context
from ruas.enforcement.storage import Store
from ruas.register.store import Register
from ruas.register.vehicle_table import vehicles_to_frame
from ruas.store.db import session_scope


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
