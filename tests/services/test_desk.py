"""Tests for the exemption desk service: validity periods, eligibility checks, evidence checks, and the store's
robustness (optimistic locking, the yearly cap under concurrency, audit) on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ruas.domain.errors import InvalidInput
from ruas.domain.timeutil import LOCAL_TZ, Interval
from ruas.domain.vehicle import Body, Category, EmissionClass, Fuel, Vehicle
from ruas.register.records import compile_book
from ruas.register.store import Register, embedded_records
from ruas.rules.engine import RuleBook
from ruas.rules.frameworks import RuleSettings, national_exemption_types
from ruas.services import desk
from ruas.services.accounts import Forbidden, Principal, create_user, principal_of
from ruas.store.db import session_scope
from ruas.store.models import Application, AuditEntry

T = TypeVar("T")

AMSTERDAM, HAARLEM, ALMERE = "GM0363", "GM0392", "GM0034"
NOW = datetime(2027, 3, 10, 15, 0, tzinfo=LOCAL_TZ)
PDF = b"%PDF-1.7\n% evidence\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def local(text: str) -> datetime:
    """A local (Europe/Amsterdam) moment from ``YYYY-MM-DDTHH:MM``."""
    return datetime.fromisoformat(text).replace(tzinfo=LOCAL_TZ)


def hours(period: Interval) -> float:
    """The real length of a period in hours (as UTC instants)."""
    assert period.start is not None and period.end is not None
    return (period.end.astimezone(UTC) - period.start.astimezone(UTC)).total_seconds() / 3600


# --------------------------------------------------------------------------- tiny named fixtures


@pytest.fixture(scope="module")
def book() -> RuleBook:
    """The embedded register compiled without a database (no proposals applied)."""
    return compile_book(embedded_records(), RuleSettings())


@pytest.fixture
def old_diesel_van() -> Vehicle:
    """A class-3 diesel van (N1, 2,350 kg, 2004): no access to any ZE zone."""
    return Vehicle(Category.N1, Body.VAN, frozenset({Fuel.DIESEL}), EmissionClass.E3, date(2004, 8, 14), 2350, "V000NQ")


@pytest.fixture
def class6_van() -> Vehicle:
    """A class-6 diesel van (N1, 2019): may enter ZE zones until 2028 under the transition rules."""
    return Vehicle(Category.N1, Body.VAN, frozenset({Fuel.DIESEL}), EmissionClass.E6, date(2019, 5, 1), 3000, "V000QB")


@pytest.fixture
def electric_van() -> Vehicle:
    """A zero-emission van: not subject to a ZE zone."""
    return Vehicle(
        Category.N1, Body.VAN, frozenset({Fuel.ELECTRIC}), EmissionClass.Z, date(2022, 8, 18), 2900, "V000JQ"
    )


def zones_of(book: RuleBook, municipality: str) -> list[Any]:
    """The zones a municipality is the authority for."""
    return [z for z in book.zones if z.authority == municipality]


def run_checks(
    book: RuleBook, vehicle: Vehicle, type_id: str, municipality: str = AMSTERDAM, **kwargs: Any
) -> dict[str, desk.Check]:
    """The desk's checks for a day (or year) in March 2027, by rule."""
    etype = national_exemption_types()[type_id]
    terms = desk.terms_of(etype)
    period = desk.day_validity(date(2027, 3, 10)) if terms.kind == "day" else Interval(NOW, local("2028-03-10T00:00"))
    checks = desk.assess(book, zones_of(book, municipality), vehicle, etype, terms, municipality, period, **kwargs)
    return {c.rule: c for c in checks}


# --------------------------------------------------------------------------- validity periods (pure)


def test_day_exemption_runs_from_midnight_until_six_the_next_morning() -> None:
    """A day exemption is valid 00:00 local on the day until 06:00 local the next day."""
    period = desk.day_validity(date(2027, 6, 15))
    assert period.start == local("2027-06-15T00:00")
    assert period.end == local("2027-06-16T06:00")
    assert hours(period) == 30


@pytest.mark.parametrize(
    ("day", "length", "end_utc"),
    [
        (date(2027, 3, 27), 29, "2027-03-28T04:00:00+00:00"),  # clocks forward in the night: 06:00 CEST
        (date(2027, 10, 30), 31, "2027-10-31T05:00:00+00:00"),  # clocks back in the night: 06:00 CET
    ],
)
def test_day_exemption_over_a_dst_night_ends_at_six_local(day: date, length: int, end_utc: str) -> None:
    """Over a DST night the day exemption still ends at 06:00 local, so it lasts 29 or 31 real hours."""
    period = desk.day_validity(day)
    assert period.end is not None
    assert hours(period) == length
    assert period.end.astimezone(UTC).isoformat() == end_utc


def test_day_exemption_may_be_asked_for_today_after_the_fact() -> None:
    """Late in the evening the day itself can still be asked for (the drive is over, the day is not)."""
    assert desk.requested_day(date(2027, 3, 10), local("2027-03-10T23:59")) == date(2027, 3, 10)


@pytest.mark.parametrize("day", [date(2027, 3, 9), date(2028, 3, 12), None])
def test_day_exemption_refuses_past_far_or_missing_days(day: date | None) -> None:
    """Yesterday, more than a year ahead, or no day at all is bad input naming ``day``."""
    with pytest.raises(InvalidInput) as err:
        desk.requested_day(day, NOW)
    assert err.value.details["field"] == "day"


def test_grid_congestion_exemption_lasts_two_years_by_default() -> None:
    """Without an end the netcongestie exemption gets its longest validity: 2 years."""
    terms = desk.terms_of(national_exemption_types()["ze-netcongestie"])
    period = desk.long_period(terms, local("2027-04-01T00:00"), None, earliest=NOW)
    assert period.end == local("2029-04-01T00:00")


def test_business_economic_exemption_cannot_exceed_one_year() -> None:
    """An end beyond 12 months for the bedrijfseconomisch exemption is refused naming valid_until."""
    terms = desk.terms_of(national_exemption_types()["ze-bedrijfseconomisch"])
    with pytest.raises(InvalidInput) as err:
        desk.long_period(terms, local("2027-04-01T00:00"), local("2028-04-02T00:00"), earliest=NOW)
    assert err.value.details["field"] == "valid_until"


def test_adapted_van_exemption_ends_with_2029() -> None:
    """The disability-adapted van exemption runs at most until 2030-01-01."""
    terms = desk.terms_of(national_exemption_types()["ze-aangepast-voertuig"])
    assert desk.long_period(terms, None, None, earliest=NOW).end == local("2030-01-01T00:00")


def test_long_exemption_cannot_start_in_the_past() -> None:
    """A long exemption asked from yesterday is refused naming valid_from."""
    terms = desk.terms_of(national_exemption_types()["ze-levertijd"])
    with pytest.raises(InvalidInput) as err:
        desk.long_period(terms, local("2027-03-09T00:00"), None, earliest=local("2027-03-10T00:00"))
    assert err.value.details["field"] == "valid_from"


def test_framework_settings_set_fee_and_regional_validity_but_never_make_a_day_exemption_regional() -> None:
    """Adopted settings override the fee; a day exemption stays per municipality whatever a setting says."""
    types = national_exemption_types()
    assert desk.terms_of(types["ze-levertijd"], {"fee_eur": 95}).fee_eur == 95.0
    day = desk.terms_of(types["ze-dagontheffing"], {"regional_validity": True, "fee_eur": 35})
    assert (day.regional, day.fee_eur, day.max_per_year) == (False, 35.0, 12)


# --------------------------------------------------------------------------- eligibility checks (pure)


def test_twelfth_day_exemption_passes_the_yearly_cap(book: RuleBook, old_diesel_van: Vehicle) -> None:
    """With 11 granted or pending this year, the 12th day exemption is within the cap."""
    checks = run_checks(book, old_diesel_van, "ze-dagontheffing", counts=desk.Counts(used_this_year=11))
    assert checks["yearly_cap"].ok
    assert desk.eligible(list(checks.values()))


def test_thirteenth_day_exemption_is_refused_with_its_reason(book: RuleBook, old_diesel_van: Vehicle) -> None:
    """With 12 this year the 13th fails the cap with the reason the applicant sees."""
    checks = run_checks(book, old_diesel_van, "ze-dagontheffing", counts=desk.Counts(used_this_year=12))
    assert not checks["yearly_cap"].ok
    assert checks["yearly_cap"].reason.startswith("13th day exemption this year refused")
    assert not desk.eligible(list(checks.values()))


def test_second_day_exemption_for_the_same_day_is_refused(book: RuleBook, old_diesel_van: Vehicle) -> None:
    """A day already covered is not spent twice."""
    checks = run_checks(book, old_diesel_van, "ze-dagontheffing", counts=desk.Counts(used_this_year=1, same_day=1))
    assert not checks["one_per_day"].ok


def test_zero_emission_van_is_not_subject_to_a_ze_zone(book: RuleBook, electric_van: Vehicle) -> None:
    """An electric van is refused: no regulation that offers the exemption applies to it."""
    checks = run_checks(book, electric_van, "ze-levertijd")
    assert checks["type_listed"].ok
    assert not checks["subject"].ok


def test_type_not_offered_by_an_announced_zone(book: RuleBook, old_diesel_van: Vehicle) -> None:
    """Almere's ZE zone is only announced: nothing in force there offers a ZE exemption yet."""
    checks = run_checks(book, old_diesel_van, "ze-levertijd", municipality=ALMERE)
    assert not checks["type_listed"].ok


def test_heavy_vehicle_exemption_needs_a_heavy_vehicle(book: RuleBook, old_diesel_van: Vehicle) -> None:
    """The S100 heavy-vehicle exemption fails the type's own condition (> 7.5 t) for a 2.35 t van."""
    checks = run_checks(book, old_diesel_van, "ams-ontheffing-zwaar")
    assert not checks["type_eligibility"].ok


@pytest.mark.parametrize(("visits", "ok"), [(None, False), (12, False), (13, True)])
def test_business_economic_exemption_needs_thirteen_visits(
    book: RuleBook, old_diesel_van: Vehicle, visits: int | None, ok: bool
) -> None:
    """At least 13 visits a year must be declared for the bedrijfseconomisch exemption."""
    checks = run_checks(book, old_diesel_van, "ze-bedrijfseconomisch", visits_per_year=visits)
    assert checks["visits"].ok is ok


def test_missing_evidence_and_an_unneeded_exemption_only_advise(book: RuleBook, class6_van: Vehicle) -> None:
    """Evidence still to come and 'you may enter anyway' are advisory: the application stays eligible."""
    checks = run_checks(book, class6_van, "ze-levertijd")
    assert not checks["evidence"].ok
    assert not checks["needed"].ok
    assert desk.eligible(list(checks.values()))


# --------------------------------------------------------------------------- evidence files (pure)


@pytest.mark.parametrize(
    ("data", "declared"), [(PDF, "application/pdf"), (PNG, None), (PNG, "application/octet-stream")]
)
def test_pdf_and_png_are_accepted_by_content(data: bytes, declared: str | None) -> None:
    """A PDF or PNG is accepted by its magic bytes, with or without a generic declared type."""
    assert desk.check_evidence(data, declared, 1024) in desk.ALLOWED_EVIDENCE


@pytest.mark.parametrize(
    ("data", "declared", "error"),
    [
        (b"GIF89a....", "application/pdf", desk.UnsupportedEvidence),  # the header lies
        (PDF, "image/png", desk.UnsupportedEvidence),  # the content is not what was declared
        (PDF + b"x" * 2000, "application/pdf", desk.UploadTooLarge),
        (b"", "application/pdf", InvalidInput),
    ],
)
def test_wrong_or_oversized_evidence_is_refused(data: bytes, declared: str, error: type[Exception]) -> None:
    """Content that is not PDF/PNG/JPEG, contradicts its declared type, is too large or empty is refused."""
    with pytest.raises(error):
        desk.check_evidence(data, declared, 1024)


# --------------------------------------------------------------------------- the store, on both backends


@dataclass
class Store:
    """A register on one backend with a session factory and three principals."""

    register: Register
    sessions: sessionmaker[Session]
    applicant: Principal
    officer: Principal
    haarlem_officer: Principal

    def run(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn`` in one transaction (committed on success)."""
        with session_scope(self.register.store.engine) as session:
            return fn(session)

    def apply(self, **kwargs: Any) -> Application:
        """File an application as the applicant at ``NOW`` (committed)."""
        req = desk.ApplyRequest(**{"plate": "V000NQ", "municipality": AMSTERDAM, **kwargs})
        return self.run(lambda s: desk.apply(s, self.register, self.applicant, req, NOW))


@pytest.fixture
def store(backend_dir: Path) -> Iterator[Store]:
    """The seeded register on SQLite or PostgreSQL with an applicant account and officers of Amsterdam and Haarlem.

    Officers need no account row here (the service sees only their principal); the applicant's id is
    referenced by the applications it files.
    """
    register = Register.open(backend_dir, RuleSettings())
    engine = register.store.engine
    with session_scope(engine) as s:
        user = create_user(
            s, username="acme", password="p" * 12, role="applicant", now=datetime.now(UTC), kvk="12345678"
        )
        applicant = principal_of(user, "token")
    officer = Principal(user_id=9001, username="ams", role="officer", municipalities=frozenset({AMSTERDAM}))
    haarlem = Principal(user_id=9002, username="hlm", role="officer", municipalities=frozenset({HAARLEM}))
    yield Store(register, sessionmaker(engine, expire_on_commit=False), applicant, officer, haarlem)


def race(*jobs: Callable[[], T]) -> list[T | Exception]:
    """Run the jobs in threads started together; each result or the exception it raised, in order."""
    barrier = threading.Barrier(len(jobs))
    out: list[T | Exception] = [RuntimeError("did not run")] * len(jobs)

    def run(i: int, job: Callable[[], T]) -> None:
        barrier.wait()
        try:
            out[i] = job()
        except Exception as exc:  # the outcome under test
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return out


def test_two_concurrent_decisions_exactly_one_wins(store: Store) -> None:
    """Two officers deciding the same version at once, in two sessions: one decision is stored, the other conflicts."""
    app_id = store.apply(type_id="ze-hardheid", note="hardship").id

    def decide(decision: str) -> str:
        req = desk.DecisionRequest(decision=decision, motivation=f"{decision} after review", row_version=1)  # type: ignore[arg-type]
        with session_scope(store.register.store.engine) as s:
            return desk.decide_application(s, store.officer, app_id, req, NOW).status

    results = race(lambda: decide("granted"), lambda: decide("refused"))
    wins = [r for r in results if isinstance(r, str)]
    conflicts = [r for r in results if isinstance(r, desk.DeskConflict)]
    assert len(wins) == 1 and len(conflicts) == 1, results
    stored = store.run(lambda s: s.get(Application, app_id))
    assert stored is not None
    assert (stored.status, stored.row_version) == (wins[0], 2)


def test_concurrent_requests_for_the_twelfth_day_exemption_grant_only_one(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With 11 day exemptions this year, two simultaneous requests for the 12th: one granted, one refused.

    Each request waits after counting until the other has counted too (or a second has passed), so
    without the desk's lock both would count 11 and both be granted.
    """
    for day in range(1, 12):
        assert store.apply(type_id="ze-dagontheffing", day=date(2027, 4, day)).status == desk.GRANTED
    counted = threading.Barrier(2)
    real_counts = desk.day_counts

    def slow_counts(*args: Any) -> desk.Counts:
        out = real_counts(*args)
        with contextlib.suppress(threading.BrokenBarrierError):  # the other request waits for our lock: go on
            counted.wait(timeout=1.0)
        return out

    monkeypatch.setattr(desk, "day_counts", slow_counts)

    def ask(day: int) -> str:
        return store.apply(type_id="ze-dagontheffing", day=date(2027, 5, day)).status

    results = race(lambda: ask(1), lambda: ask(2))
    assert sorted(str(r) for r in results) == [desk.GRANTED, desk.REFUSED], results


def test_apply_decide_and_payment_leave_audit_entries(store: Store) -> None:
    """Filing, deciding and recording the payment are each audited with who did it."""
    app_id = store.apply(type_id="ze-hardheid").id
    req = desk.DecisionRequest(decision="refused", motivation="no hardship shown", row_version=1)
    store.run(lambda s: desk.decide_application(s, store.officer, app_id, req, NOW))
    day = store.apply(type_id="ze-dagontheffing", day=date(2027, 3, 10))
    store.run(
        lambda s: desk.record_payment(s, day.id, actor="payment-provider", reference="tr_1", amount_eur=30, now=NOW)
    )
    entries = store.run(
        lambda s: [(e.actor, e.action, e.entity_id) for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    )
    assert ("acme", "application.apply", app_id) in entries
    assert ("ams", "application.decide", app_id) in entries
    assert ("payment-provider", "application.payment", day.id) in entries


def test_officer_of_another_municipality_cannot_decide(store: Store) -> None:
    """A Haarlem officer deciding an Amsterdam case is forbidden and nothing changes."""
    app_id = store.apply(type_id="ze-hardheid").id
    req = desk.DecisionRequest(decision="granted", motivation="looks fine to me", row_version=1)
    with pytest.raises(Forbidden):
        store.run(lambda s: desk.decide_application(s, store.haarlem_officer, app_id, req, NOW))
    stored = store.run(lambda s: s.get(Application, app_id))
    assert stored is not None and stored.status == desk.SUBMITTED
