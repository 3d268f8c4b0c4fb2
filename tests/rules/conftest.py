"""Fixtures for the rules tests: the tiny rule books and a few named vehicles."""

from __future__ import annotations

from datetime import date

import pytest
from ruas_rules_kit import PROPOSAL_2029, build_book, vehicle

from ruas.domain.vehicle import Body, Category, EmissionClass, Fuel, Vehicle
from ruas.rules.engine import RuleBook
from ruas.rules.frameworks import RuleSettings


@pytest.fixture(scope="session")
def book() -> RuleBook:
    """ZE zone from 2025-01-01, milieuzone (light 5, heavy 6) and a Mo-Sa 07:00-11:00 delivery window."""
    return build_book()


@pytest.fixture(scope="session")
def proposal_book() -> RuleBook:
    """The same register compiled with the proposed class-6 van extension to 2029 switched on."""
    return build_book(RuleSettings(frozenset({PROPOSAL_2029})))


@pytest.fixture(scope="session")
def book_showing_proposal(proposal_book: RuleBook) -> RuleBook:
    """The law as found, with the proposal book attached so decisions can show both dates."""
    return build_book(proposed=proposal_book)


@pytest.fixture
def diesel_van_class4() -> Vehicle:
    """A class-4 diesel van (N1, 2,800 kg, DET 2008-03-10): no ZE transition rule."""
    return vehicle(emission_class=EmissionClass.E4, first_admission=date(2008, 3, 10), max_mass_kg=2800)


@pytest.fixture
def diesel_van_class5() -> Vehicle:
    """A class-5 diesel van (N1, 3,000 kg, DET 2014-09-01)."""
    return vehicle(emission_class=EmissionClass.E5, first_admission=date(2014, 9, 1))


@pytest.fixture
def diesel_van_class6() -> Vehicle:
    """A class-6 diesel van (N1, 3,000 kg, DET 2019-05-01)."""
    return vehicle()


@pytest.fixture
def tractor_class6_2018() -> Vehicle:
    """A class-6 diesel tractor unit (N3, 18,000 kg, DET 2018-04-01)."""
    return vehicle(category=Category.N3, body=Body.TRACTOR, first_admission=date(2018, 4, 1), max_mass_kg=18000)


@pytest.fixture
def rigid_class6_2021() -> Vehicle:
    """A class-6 diesel rigid truck (N2, 12,000 kg, DET 2021-02-01)."""
    return vehicle(category=Category.N2, body=Body.RIGID, first_admission=date(2021, 2, 1), max_mass_kg=12000)


@pytest.fixture
def electric_van() -> Vehicle:
    """A battery-electric van (class Z)."""
    return vehicle(fuels=frozenset({Fuel.ELECTRIC}), first_admission=date(2023, 1, 1))


@pytest.fixture
def diesel_car_class4() -> Vehicle:
    """A class-4 diesel passenger car (M1, 1,800 kg, DET 2008-01-15)."""
    return vehicle(
        category=Category.M1,
        body=Body.CAR,
        emission_class=EmissionClass.E4,
        first_admission=date(2008, 1, 15),
        max_mass_kg=1800,
    )
