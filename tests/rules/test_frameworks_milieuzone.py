"""The harmonised milieuzone (Stb. 2019, 398): diesel only, classes per vehicle group, vrijstellingen."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from ruas_rules_kit import MZ_START, ONE_MINUTE, build_book, local, midnight, milieuzone, vehicle, with_zones

from ruas.domain.decision import Access, Effect, ZoneDecision
from ruas.domain.errors import InvalidInput
from ruas.domain.regulation import LegalSource
from ruas.domain.vehicle import Body, Category, EmissionClass, Fuel, Vehicle
from ruas.rules.engine import RuleBook, decide
from ruas.rules.frameworks import (
    MILIEUZONE_FRAMEWORK,
    RuleSettings,
    ZoneBinding,
    bind_milieuzone,
    milieuzone_subject,
    national_frameworks,
)

AT = local(2026, 3, 2, 10, 0)
DIESEL = frozenset({Fuel.DIESEL})


def mz(book: RuleBook, v: Vehicle, at: datetime = AT, zone: str = "mz") -> ZoneDecision:
    """The decision for the milieuzone."""
    return decide(book, v, [zone], at=at).zones[0]


def car(cls: str, **kw: object) -> Vehicle:
    """A passenger car (M1, 1,600 kg) of class ``cls``."""
    return vehicle(
        **{
            "category": Category.M1,
            "body": Body.CAR,
            "emission_class": EmissionClass(cls),
            "max_mass_kg": 1600,
            "first_admission": date(2010, 1, 1),
            **kw,
        }
    )


def truck(cls: str, tmm: int = 12000, **kw: object) -> Vehicle:
    """A diesel rigid truck (N2) of class ``cls``."""
    return vehicle(
        **{
            "category": Category.N2,
            "body": Body.RIGID,
            "emission_class": EmissionClass(cls),
            "max_mass_kg": tmm,
            "first_admission": date(2015, 1, 1),
            **kw,
        }
    )


@pytest.mark.parametrize(
    ("v", "allowed"),
    [
        pytest.param(car("4"), False, id="diesel-car-class4"),
        pytest.param(car("5"), True, id="diesel-car-class5"),
        pytest.param(vehicle(emission_class=EmissionClass.E4, max_mass_kg=3500), False, id="diesel-van-3500-class4"),
        pytest.param(vehicle(emission_class=EmissionClass.E5, max_mass_kg=3500), True, id="diesel-van-3500-class5"),
        pytest.param(truck("5", tmm=3501), False, id="diesel-truck-3501-class5"),
        pytest.param(truck("6", tmm=3501), True, id="diesel-truck-3501-class6"),
        pytest.param(truck("5"), False, id="diesel-truck-class5"),
        pytest.param(truck("6"), True, id="diesel-truck-class6"),
        pytest.param(
            vehicle(category=Category.M3, body=Body.BUS, emission_class=EmissionClass.E5, max_mass_kg=18000),
            False,
            id="diesel-bus-class5",
        ),
        pytest.param(
            vehicle(category=Category.M2, body=Body.BUS, emission_class=EmissionClass.E6, max_mass_kg=5000),
            True,
            id="diesel-minibus-class6",
        ),
        pytest.param(
            vehicle(emission_class=EmissionClass.E5, max_mass_kg=3501), False, id="n1-van-body-over-3500-is-heavy"
        ),
    ],
)
def test_light_blue_and_heavy_purple_classes(book: RuleBook, v: Vehicle, allowed: bool) -> None:
    """Cars and vans need class >= 5 (blue), trucks and buses class >= 6 (purple); the split is TMM 3,500 kg."""
    d = mz(book, v)
    assert d.allowed is allowed
    assert d.reasons[0].effect is (Effect.NOT_SUBJECT if allowed else Effect.PROHIBITS)


@pytest.mark.parametrize(
    "fuels",
    [{Fuel.PETROL}, {Fuel.LPG}, {Fuel.CNG}, {Fuel.PETROL, Fuel.ELECTRIC}, {Fuel.ELECTRIC}],
    ids=["petrol", "lpg", "cng", "phev", "electric"],
)
def test_only_diesel_is_subject(book: RuleBook, fuels: set[Fuel]) -> None:
    """A class-1 car or a class-1 truck that does not burn diesel may enter."""
    for v in (car("1", fuels=frozenset(fuels)), truck("1", fuels=frozenset(fuels))):
        d = mz(book, v)
        assert d.access is Access.ALLOWED
        assert d.reasons[0].effect is Effect.NOT_SUBJECT
        assert d.allowed_until is None


def test_diesel_hybrid_is_subject(book: RuleBook) -> None:
    """A diesel+electric class-4 car contains diesel and is refused in a blue zone."""
    assert mz(book, car("4", fuels=frozenset({Fuel.DIESEL, Fuel.ELECTRIC}))).access is Access.NOT_ALLOWED


def test_petrol_class1_car_allowed(book: RuleBook) -> None:
    """The classic case: an old petrol car (class 1) is not affected by a diesel milieuzone."""
    assert mz(book, car("1", fuels=frozenset({Fuel.PETROL}))).access is Access.ALLOWED


def test_green_zone_admits_class4_light(book: RuleBook) -> None:
    """With ``light: 4`` (green) a class-4 diesel car may enter and a class-3 one may not."""
    green = with_zones(book, [milieuzone(RuleSettings(), "green", {"light": 4})])
    assert mz(green, car("4"), zone="green").allowed
    assert not mz(green, car("3"), zone="green").allowed


def test_zone_without_heavy_group_leaves_trucks_alone(book: RuleBook) -> None:
    """A milieuzone binding only ``light`` does not restrict trucks of any class."""
    light_only = with_zones(book, [milieuzone(RuleSettings(), "light", {"light": 5})])
    assert mz(light_only, truck("0"), zone="light").allowed


@pytest.mark.parametrize("params", [{"light": 3}, {"heavy": 5}, {}, {"light": None, "heavy": None}])
def test_non_harmonised_classes_are_rejected(params: dict[str, int | None]) -> None:
    """Only green (4) or blue (5) for light and purple (6) for heavy exist; at least one group is needed."""
    binding = ZoneBinding("x", "X", "GM0363", MZ_START, LegalSource("gmb"), params=params)
    with pytest.raises(InvalidInput):
        bind_milieuzone(binding, RuleSettings())


def test_subject_label_names_the_colours() -> None:
    """The subject sentence names the groups, classes and colours."""
    _, label = milieuzone_subject({"light": 5, "heavy": 6})
    assert "below class 5 (blue)" in label
    assert "below class 6 (purple)" in label


@pytest.mark.parametrize(
    ("det", "anniversary"),
    [(date(1986, 3, 15), date(2026, 3, 15)), (date(1988, 2, 29), date(2028, 2, 29))],
    ids=["1986-03-15", "1988-02-29"],
)
def test_forty_years_exemption(book: RuleBook, det: date, anniversary: date) -> None:
    """A class-0 diesel car is refused the day before its 40th anniversary and exempt for good from that day."""
    v = car("0", first_admission=det)
    day = midnight(anniversary.year, anniversary.month, anniversary.day)
    before = mz(book, v, day - ONE_MINUTE)
    assert before.access is Access.NOT_ALLOWED
    assert before.allowed_from == day
    on = mz(book, v, day)
    assert on.access is Access.ALLOWED
    assert on.allowed_until is None  # the milieuzone vrijstelling has no end date
    assert on.reasons[0].clause_id == "mz-vrijstelling-40-years"


@pytest.mark.parametrize(
    ("purpose", "holder", "allowed"),
    [({"SH"}, set(), True), ({"SA"}, {"permanent_resident"}, True), ({"SA"}, set(), False), (set(), set(), False)],
    ids=["wheelchair", "camper-resident", "camper-visitor", "plain"],
)
def test_other_vrijstellingen(book: RuleBook, purpose: set[str], holder: set[str], allowed: bool) -> None:
    """Wheelchair vehicles and residents' campers are exempt; a visitor's camper is not."""
    v = car("3", special_purpose=frozenset(purpose), holder=frozenset(holder))
    assert mz(book, v).allowed is allowed


def test_refused_vehicle_is_shown_the_milieuzone_exemption_types(book: RuleBook) -> None:
    """A refused diesel car may apply for a day or a long exemption of the milieuzone."""
    assert [o.type_id for o in mz(book, car("3")).exemptions] == ["mz-dagontheffing", "mz-ontheffing"]


def test_not_in_force_before_its_start(book: RuleBook) -> None:
    """The minute before the milieuzone starts an old diesel car may enter, until the start."""
    d = mz(book, car("0"), MZ_START - ONE_MINUTE)
    assert d.access is Access.ALLOWED
    assert d.allowed_until == MZ_START
    assert d.reasons[0].effect is Effect.NOT_IN_FORCE


def test_framework_data_is_diesel_only() -> None:
    """The framework's fuel condition is ``fuels contains diesel`` and its source is Stb. 2019, 398."""
    fw = national_frameworks()[MILIEUZONE_FRAMEWORK]
    assert fw.fuel is not None
    assert fw.fuel.to_data() == {"field": "fuels", "op": "contains", "value": "diesel"}
    assert "Stb. 2019, 398" in fw.legal_source.citation
    assert {g["id"] for g in fw.groups} == {"light", "heavy"}


def test_build_book_has_the_milieuzone() -> None:
    """The shared rule book binds the milieuzone with light 5 and heavy 6."""
    zone = build_book().zone("mz")
    assert zone.regulations[0].framework == MILIEUZONE_FRAMEWORK
