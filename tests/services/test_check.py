"""Tests for the check use case: building the vehicle from a plate and flags, resolving the place, deciding."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest

from ruas.domain.decision import Access
from ruas.domain.errors import InvalidInput, InvalidPlate, UnknownMunicipality, UnknownVehicle, UnknownZone
from ruas.domain.timeutil import LOCAL_TZ
from ruas.domain.vehicle import Body, Category, EmissionClass, Fuel
from ruas.register.store import Register
from ruas.rules.frameworks import RuleSettings
from ruas.services.check import Place, VehicleInput, build_vehicle, check, parse_category, parse_fuel

ZE_AMSTERDAM = "NDW11_64717e49-b364-4001-b6f9-14270d068764"
DAM = "52.3731,4.8926"
NORTH_SEA = "52.6,4.2"


@pytest.fixture
def register(data_dir: Path) -> Register:
    """A fresh copy of the seeded register (set as RUAS_DATA_DIR), opened without proposals."""
    return Register.open(data_dir, RuleSettings())


@pytest.fixture
def class6_van_flags() -> VehicleInput:
    """Flags for a class-6 diesel van (N1, 3,000 kg, DET 2019-05-01), no plate."""
    return VehicleInput(
        category="N1", fuel="diesel", emission_class="6", first_admission=date(2019, 5, 1), mass_kg=3000
    )


# --------------------------------------------------------------------------- building the vehicle


def test_plate_alone_gives_the_registered_vehicle(register: Register) -> None:
    """A plate without flags gives the register's vehicle unchanged."""
    assert build_vehicle(register, VehicleInput(plate="vq-39-hg")) == register.vehicle("VQ39HG")


def test_flags_override_the_registered_vehicle(register: Register) -> None:
    """Explicit flags replace the registered values and keep the rest."""
    base = register.vehicle("VQ39HG")
    vehicle = build_vehicle(register, VehicleInput(plate="VQ39HG", emission_class="5", length_m=5.5))
    assert vehicle.emission_class is EmissionClass.E5
    assert vehicle.length_m == 5.5
    assert (vehicle.plate, vehicle.category, vehicle.first_admission) == (
        base.plate,
        base.category,
        base.first_admission,
    )


def test_heavier_mass_override_turns_a_van_into_a_rigid_truck(register: Register) -> None:
    """Overriding a registered van's category and mass re-derives the body (N2, 12 t -> rigid)."""
    vehicle = build_vehicle(register, VehicleInput(plate="VQ39HG", category="N2", mass_kg=12000))
    assert vehicle.category is Category.N2
    assert vehicle.body is Body.RIGID
    assert vehicle.is_truck


def test_combustion_fuel_on_a_zero_emission_plate_needs_a_class(register: Register) -> None:
    """Giving --fuel diesel for a registered electric vehicle without --emission-class is refused."""
    with pytest.raises(InvalidInput, match="emission-class"):
        build_vehicle(register, VehicleInput(plate="Q984BZ", fuel="diesel"))


def test_unregistered_plate_raises_unknown_vehicle(register: Register) -> None:
    """A well-formed plate not in the register raises UnknownVehicle that suggests giving attributes."""
    with pytest.raises(UnknownVehicle, match="--category"):
        build_vehicle(register, VehicleInput(plate="XQ999Z"))


def test_malformed_plate_raises_invalid_plate(register: Register) -> None:
    """A plate of the wrong shape raises InvalidPlate."""
    with pytest.raises(InvalidPlate):
        build_vehicle(register, VehicleInput(plate="12345"))


def test_flags_alone_build_a_vehicle(register: Register, class6_van_flags: VehicleInput) -> None:
    """Without a plate the flags give a van with body derived from category and mass."""
    vehicle = build_vehicle(register, class6_van_flags)
    assert vehicle.plate is None
    assert (vehicle.category, vehicle.body, vehicle.max_mass_kg) == (Category.N1, Body.VAN, 3000)
    assert vehicle.fuels == frozenset({Fuel.DIESEL})
    assert vehicle.emission_class is EmissionClass.E6


def test_without_plate_every_missing_flag_is_named(register: Register) -> None:
    """With nothing given, the error names --category, --fuel, --first-admission and --emission-class."""
    with pytest.raises(InvalidInput) as info:
        build_vehicle(register, VehicleInput())
    assert info.value.details["missing"] == ["--category", "--fuel", "--first-admission", "--emission-class"]
    for flag in info.value.details["missing"]:
        assert flag in info.value.message


def test_goods_vehicle_without_mass_names_mass(register: Register) -> None:
    """A goods vehicle given only its category needs --mass as well as the other flags."""
    with pytest.raises(InvalidInput) as info:
        build_vehicle(register, VehicleInput(category="N1"))
    assert info.value.details["missing"] == ["--fuel", "--first-admission", "--emission-class", "--mass"]
    assert "--mass" in info.value.message


def test_electric_vehicle_needs_no_emission_class(register: Register) -> None:
    """An electric van without --emission-class is zero emission."""
    vehicle = build_vehicle(
        register, VehicleInput(category="N1", fuel="electric", first_admission=date(2023, 1, 1), mass_kg=3000)
    )
    assert vehicle.emission_class is EmissionClass.Z


def test_phev_is_not_zero_emission(register: Register) -> None:
    """A plug-in hybrid needs an emission class, keeps it, and may not claim Z."""
    flags = VehicleInput(category="N1", fuel="phev", first_admission=date(2021, 6, 15), mass_kg=2800)
    with pytest.raises(InvalidInput) as info:
        build_vehicle(register, flags)
    assert info.value.details["missing"] == ["--emission-class"]
    phev = build_vehicle(register, replace(flags, emission_class="6"))
    assert phev.fuels == frozenset({Fuel.PETROL, Fuel.ELECTRIC})
    assert phev.emission_class is EmissionClass.E6
    with pytest.raises(InvalidInput, match="plug-in"):
        build_vehicle(register, replace(flags, emission_class="Z"))


@pytest.mark.parametrize(("text", "fuels"), [("Diesel", {Fuel.DIESEL}), ("benzine", {Fuel.PETROL})])
def test_parse_fuel_words(text: str, fuels: set[Fuel]) -> None:
    """Fuel words are read case-insensitively, Dutch 'benzine' included."""
    assert parse_fuel(text) == frozenset(fuels)


def test_unknown_fuel_and_category_are_named() -> None:
    """An unknown fuel or category raises InvalidInput naming the value."""
    with pytest.raises(InvalidInput, match="steam"):
        parse_fuel("steam")
    with pytest.raises(InvalidInput, match="N9"):
        parse_category("N9")


# --------------------------------------------------------------------------- places


def test_point_resolves_to_the_zones_there(register: Register) -> None:
    """The Dam lies in ZE Amsterdam and the S100 area."""
    ids = Place(point=DAM).resolve(register)
    assert ZE_AMSTERDAM in ids
    assert "ams-s100-heavy" in ids


def test_point_outside_every_zone_resolves_to_nothing(register: Register) -> None:
    """A point in the North Sea has no zones."""
    assert Place(point=NORTH_SEA).resolve(register) == ()


def test_zone_resolves_to_itself(register: Register) -> None:
    """A zone id resolves to just that zone."""
    assert Place(zone=ZE_AMSTERDAM).resolve(register) == (ZE_AMSTERDAM,)


def test_unknown_zone_raises(register: Register) -> None:
    """An unknown zone id raises UnknownZone."""
    with pytest.raises(UnknownZone, match="no-such-zone"):
        Place(zone="no-such-zone").resolve(register)


def test_municipality_resolves_to_its_zones(register: Register) -> None:
    """Almere (GM0034) resolves to its announced zone."""
    assert Place(municipality="GM0034").resolve(register) == ("almere-ze-2028",)


def test_unknown_municipality_raises(register: Register) -> None:
    """An unknown CBS code raises UnknownMunicipality."""
    with pytest.raises(UnknownMunicipality):
        Place(municipality="GM9999").resolve(register)


@pytest.mark.parametrize(
    "place",
    [Place(), Place(point=DAM, zone=ZE_AMSTERDAM), Place(zone=ZE_AMSTERDAM, municipality="GM0363")],
    ids=["none", "point+zone", "zone+municipality"],
)
def test_zero_or_two_places_are_refused(register: Register, place: Place) -> None:
    """Exactly one of point, zone and municipality must be given."""
    with pytest.raises(InvalidInput, match="exactly one place") as info:
        place.resolve(register)
    assert info.value.details["field"] == "place"


@pytest.mark.parametrize("point", ["95,4.9", "52.37", "4.8926,52.3731"])
def test_bad_points_are_refused(register: Register, point: str) -> None:
    """An out-of-range, incomplete or swapped point raises InvalidInput on the point field."""
    with pytest.raises(InvalidInput) as info:
        Place(point=point).resolve(register)
    assert info.value.details["field"] == "point"


# --------------------------------------------------------------------------- deciding


def test_class6_van_in_ze_amsterdam_until_2028(register: Register, class6_van_flags: VehicleInput) -> None:
    """A class-6 diesel van of 2019 may enter ZE Amsterdam in 2026, until 2028-01-01."""
    vehicle = build_vehicle(register, class6_van_flags)
    decision = check(register, vehicle, (ZE_AMSTERDAM,), datetime(2026, 6, 1, 9, 0, tzinfo=LOCAL_TZ))
    (zone,) = decision.zones
    assert decision.allowed
    assert zone.access is Access.ALLOWED
    assert zone.allowed_until == datetime(2028, 1, 1, tzinfo=LOCAL_TZ)


def test_class4_van_is_refused_in_ze_amsterdam(register: Register) -> None:
    """A class-4 diesel van is not allowed in ZE Amsterdam and offered exemptions."""
    vehicle = build_vehicle(
        register,
        VehicleInput(category="N1", fuel="diesel", emission_class="4", first_admission=date(2008, 3, 10), mass_kg=2800),
    )
    decision = check(register, vehicle, (ZE_AMSTERDAM,), datetime(2026, 6, 1, 9, 0, tzinfo=LOCAL_TZ))
    (zone,) = decision.zones
    assert not decision.allowed
    assert zone.access is Access.NOT_ALLOWED
    assert zone.reasons
    assert zone.exemptions
