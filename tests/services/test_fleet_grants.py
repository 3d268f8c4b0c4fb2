"""The fleet report honours the exemptions (ontheffingen) the fleet's vehicles hold, as a single check does."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from ruas.domain.timeutil import LOCAL_TZ
from ruas.register.store import Register
from ruas.rules.engine import timeline
from ruas.rules.frameworks import RuleSettings
from ruas.services.accounts import create_user
from ruas.services.check import VehicleInput
from ruas.services.fleet import FleetReport, FleetRow, fleet_report, held_grants
from ruas.services.grants import grants_for_plate
from ruas.store.db import session_scope
from ruas.store.models import Application

ZE_AMSTERDAM = "NDW11_64717e49-b364-4001-b6f9-14270d068764"  # GM0363; class-6 vans until 2028-01-01
CLASS6_VAN = "VQ39HG"  # diesel N1, class 6, DET 2020-10-15: loses ZE Amsterdam on 2028-01-01
OTHER_VAN = "VQ46HZ"  # diesel N1, class 6, DET 2024-08-15: the same dates, holds nothing
START = datetime(2025, 1, 1, tzinfo=LOCAL_TZ)
END = datetime(2031, 1, 1, tzinfo=LOCAL_TZ)
DECIDED = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)

Apply = Callable[..., str]


@pytest.fixture
def register(data_dir: Path) -> Register:
    """A fresh copy of the seeded register, opened without proposals."""
    return Register.open(data_dir, RuleSettings())


@pytest.fixture
def applicant(register: Register) -> int:
    """The id of a carrier's account that the applications belong to."""
    with session_scope(register.store.engine) as s:
        user = create_user(
            s, username="carrier-fleet", password="correct-horse-battery", role="applicant", now=DECIDED,
            kvk="12345678",
        )  # fmt: skip
        s.flush()
        return int(user.id)


@pytest.fixture
def apply(register: Register, applicant: int) -> Apply:
    """``apply(plate, status, valid_from, valid_until, municipality="GM0363", type_id=...)``: an application
    for a long ZE exemption in the desk's store, in the given state (dates: local midnights); returns its id."""
    made: list[str] = []

    def make(
        plate: str,
        status: str,
        valid_from: date,
        valid_until: date,
        municipality: str = "GM0363",
        type_id: str = "ze-netcongestie",
    ) -> str:
        app_id = f"app-{plate}-{len(made)}"
        with session_scope(register.store.engine) as s:
            s.add(
                Application(
                    id=app_id, applicant_id=applicant, kvk="12345678", type_id=type_id, plate=plate,
                    municipality=municipality, zones=[],
                    valid_from=datetime.combine(valid_from, datetime.min.time(), LOCAL_TZ),
                    valid_until=datetime.combine(valid_until, datetime.min.time(), LOCAL_TZ),
                    window=None, status=status, eligibility=[], details={}, fee_eur=None,
                    payment_status="not_required", motivation="", decided_by="ruas-desk", decided_at=DECIDED,
                    created_at=DECIDED, row_version=1,
                )
            )  # fmt: skip
        made.append(app_id)
        return app_id

    return make


def report(register: Register, *plates: str) -> FleetReport:
    rows = [FleetRow(i + 2, VehicleInput(plate=p)) for i, p in enumerate(plates)]
    return fleet_report(register, rows, start=START, end=END, zone_ids=[ZE_AMSTERDAM])


def verdict_of(rep: FleetReport, plate: str) -> tuple[str, date | None]:
    v = rep.verdicts().filter(pl.col("plate") == plate)
    assert v.height == 1
    return str(v.item(0, "verdict")), v.item(0, "loses_access")


def test_without_applications_the_van_loses_access_in_2028(register: Register) -> None:
    """The baseline the other tests change: a class-6 diesel van of 2020 loses ZE Amsterdam on 2028-01-01."""
    assert verdict_of(report(register, CLASS6_VAN), CLASS6_VAN) == (
        "allowed until 2028-01-01, then not allowed",
        date(2028, 1, 1),
    )


def test_a_held_exemption_postpones_losing_access(register: Register, apply: Apply) -> None:
    """A grid-congestion exemption 2027-06-01..2029-06-01 moves the loss to its end; the other van is unchanged."""
    apply(CLASS6_VAN, "granted", date(2027, 6, 1), date(2029, 6, 1))
    rep = report(register, CLASS6_VAN, OTHER_VAN)
    assert verdict_of(rep, CLASS6_VAN) == (
        "allowed until 2028-01-01, allowed with an exemption held until 2029-06-01, then not allowed",
        date(2029, 6, 1),
    )
    assert verdict_of(rep, OTHER_VAN) == ("allowed until 2028-01-01, then not allowed", date(2028, 1, 1))


def test_an_exemption_past_the_period_means_no_loss(register: Register, apply: Apply) -> None:
    """Held until after the report's end: the van never loses access in the period."""
    apply(CLASS6_VAN, "granted", date(2026, 6, 1), date(2032, 1, 1))
    rep = report(register, CLASS6_VAN)
    assert verdict_of(rep, CLASS6_VAN) == ("allowed until 2028-01-01, then allowed with an exemption held", None)
    assert rep.summary().height == 0


def test_the_report_equals_the_single_engine_with_the_plates_grants(register: Register, apply: Apply) -> None:
    """The fleet's segments are engine.timeline's with grants_for_plate, the single check's grants."""
    apply(CLASS6_VAN, "granted", date(2027, 6, 1), date(2029, 6, 1))
    apply(CLASS6_VAN, "granted", date(2030, 2, 1), date(2030, 3, 1))
    rep = report(register, CLASS6_VAN)
    with session_scope(register.store.engine) as s:
        grants = grants_for_plate(s, CLASS6_VAN)
    (tl,) = timeline(register.book, register.vehicle(CLASS6_VAN), [ZE_AMSTERDAM], start=START, end=END, grants=grants)
    want = [(g.start.astimezone(UTC), g.end.astimezone(UTC), g.state.value) for g in tl.segments]
    got = rep.segments.filter(pl.col("plate") == CLASS6_VAN).select("start", "end", "state").rows()
    assert got == want
    assert len(want) == 5


@pytest.mark.parametrize("status", ["pending", "refused", "revoked"])
def test_an_application_not_granted_changes_nothing(register: Register, apply: Apply, status: str) -> None:
    """Pending, refused or revoked applications give no access: the van still loses access on 2028-01-01."""
    apply(CLASS6_VAN, status, date(2027, 6, 1), date(2029, 6, 1))
    assert verdict_of(report(register, CLASS6_VAN), CLASS6_VAN) == (
        "allowed until 2028-01-01, then not allowed",
        date(2028, 1, 1),
    )


def test_an_exemption_of_another_municipality_does_not_count(register: Register, apply: Apply) -> None:
    """Granted by Rotterdam (GM0599), the exemption does not lift Amsterdam's ZE zone."""
    apply(CLASS6_VAN, "granted", date(2027, 6, 1), date(2029, 6, 1), municipality="GM0599")
    assert verdict_of(report(register, CLASS6_VAN), CLASS6_VAN)[1] == date(2028, 1, 1)


def test_held_grants_reads_only_granted_applications_of_the_plates(register: Register, apply: Apply) -> None:
    """One lookup for many plates returns exactly their granted applications."""
    kept = apply(CLASS6_VAN, "granted", date(2027, 6, 1), date(2029, 6, 1))
    apply(CLASS6_VAN, "refused", date(2027, 6, 1), date(2029, 6, 1))
    apply(OTHER_VAN, "granted", date(2027, 6, 1), date(2029, 6, 1))
    assert [g.id for g in held_grants(register, [CLASS6_VAN, "8059QP"])] == [kept]
    assert held_grants(register, []) == []
