"""The vehicle as the rules see it: classes, plates, consistency checks, van/truck split."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from ruas.domain.errors import InvalidInput, InvalidPlate
from ruas.domain.vehicle import (
    ZERO_EMISSION_FUELS,
    Body,
    Category,
    EmissionClass,
    Fuel,
    Vehicle,
    normalise_plate,
)


@pytest.fixture
def diesel_van() -> Vehicle:
    """A class-6 diesel van (N1, 3,000 kg, DET 2019-05-01)."""
    return Vehicle(Category.N1, Body.VAN, frozenset({Fuel.DIESEL}), EmissionClass.E6, date(2019, 5, 1), 3000)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5", EmissionClass.E5),
        (5, EmissionClass.E5),
        ("Euro 6", EmissionClass.E6),
        ("euro6", EmissionClass.E6),
        ("VI", EmissionClass.E6),
        ("IV", EmissionClass.E4),
        ("0", EmissionClass.E0),
        ("Z", EmissionClass.Z),
        ("z", EmissionClass.Z),
        ("6d-TEMP", EmissionClass.E6),
        ("Euro 5b", EmissionClass.E5),
    ],
)
def test_emission_class_parse(text: Any, expected: EmissionClass) -> None:
    """Digits, Euro names, Roman numerals, sub-classes and Z are read."""
    assert EmissionClass.parse(text) is expected


@pytest.mark.parametrize("text", ["7", "", "EEV", "VII", "66", "Euro"])
def test_emission_class_parse_rejects(text: str) -> None:
    """Anything outside 0-6 and Z is rejected naming the field."""
    with pytest.raises(InvalidInput) as info:
        EmissionClass.parse(text)
    assert info.value.details["field"] == "emission_class"


def test_emission_class_rank_puts_z_above_6() -> None:
    """Classes rank 0..6 and Z ranks 7 (cleaner than any Euro class)."""
    assert [e.rank for e in EmissionClass] == [0, 1, 2, 3, 4, 5, 6, 7]


@pytest.mark.parametrize(
    ("category", "group"),
    [
        (Category.M1, "M"),
        (Category.N3, "N"),
        (Category.L, "L"),
        (Category.O, "O"),
        (Category.T, "T"),
        (Category.OTHER, "other"),
    ],
)
def test_category_group(category: Category, group: str) -> None:
    """The letter group of an EU category."""
    assert category.group == group


@pytest.mark.parametrize(
    ("text", "plate"),
    [("vq-123-b", "VQ123B"), ("12 QBB 3", "12QBB3"), ("  AB-12-CD ", "AB12CD")],
)
def test_normalise_plate(text: str, plate: str) -> None:
    """Dashes and spaces are dropped and letters upper-cased."""
    assert normalise_plate(text) == plate


@pytest.mark.parametrize("text", ["", "123456", "ABCDEF", "AB-12-C", "AB-12-CDE", "AB-12-C!", "ÄB-12-CD"])
def test_normalise_plate_rejects(text: str) -> None:
    """A plate needs six letters and digits with at least one of each."""
    with pytest.raises(InvalidPlate) as info:
        normalise_plate(text)
    assert info.value.details["field"] == "plate"


@pytest.mark.parametrize(
    "fuels",
    [{Fuel.ELECTRIC}, {Fuel.HYDROGEN}, {Fuel.ELECTRIC, Fuel.HYDROGEN}],
    ids=["electric", "hydrogen", "both"],
)
def test_zero_emission_fuels_make_class_z(diesel_van: Vehicle, fuels: set[Fuel]) -> None:
    """A vehicle with only electric/hydrogen fuels is class Z whatever class was given."""
    assert replace(diesel_van, fuels=frozenset(fuels)).emission_class is EmissionClass.Z


@pytest.mark.parametrize(
    "fuels",
    [{Fuel.PETROL, Fuel.ELECTRIC}, {Fuel.DIESEL, Fuel.ELECTRIC}, {Fuel.DIESEL}, {Fuel.OTHER}],
    ids=["phev", "diesel-hybrid", "diesel", "other"],
)
def test_class_z_needs_zero_emission_fuels(diesel_van: Vehicle, fuels: set[Fuel]) -> None:
    """Class Z with a combustion fuel (plug-in hybrids included) is rejected."""
    with pytest.raises(InvalidInput) as info:
        replace(diesel_van, fuels=frozenset(fuels), emission_class=EmissionClass.Z)
    assert info.value.details["field"] == "emission_class"


def test_plug_in_hybrid_keeps_its_euro_class(diesel_van: Vehicle) -> None:
    """A petrol+electric van stays class 6: plug-in hybrids are not Z."""
    phev = replace(diesel_van, fuels=frozenset({Fuel.PETROL, Fuel.ELECTRIC}))
    assert phev.emission_class is EmissionClass.E6
    assert not phev.fuels <= ZERO_EMISSION_FUELS


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_mass_kg", 0),
        ("max_mass_kg", -1),
        ("max_mass_kg", 100_001),
        ("length_m", 0.0),
        ("length_m", 40.5),
        ("width_m", -2.0),
        ("height_m", 41.0),
        ("fuels", frozenset()),
    ],
)
def test_out_of_range_attributes_are_rejected(diesel_van: Vehicle, field: str, value: Any) -> None:
    """Masses outside 1..100,000 kg, sizes outside (0, 40] m and no fuel at all are rejected naming the field."""
    with pytest.raises(InvalidInput) as info:
        replace(diesel_van, **{field: value})
    assert info.value.details["field"] == field


@pytest.mark.parametrize(("field", "value"), [("max_mass_kg", 1), ("max_mass_kg", 100_000), ("length_m", 40.0)])
def test_range_edges_are_accepted(diesel_van: Vehicle, field: str, value: Any) -> None:
    """The edges of the ranges are valid."""
    assert getattr(replace(diesel_van, **{field: value}), field) == value


@pytest.mark.parametrize(
    ("category", "tmm", "van", "truck"),
    [
        (Category.N1, 3500, True, False),
        (Category.N1, 3501, False, True),
        (Category.N2, 3500, True, False),
        (Category.N3, 40000, False, True),
        (Category.M1, 2000, False, False),
        (Category.M3, 18000, False, False),
    ],
)
def test_van_and_truck_are_split_by_tmm(
    diesel_van: Vehicle, category: Category, tmm: int, van: bool, truck: bool
) -> None:
    """A goods vehicle (N1-N3) is a van up to 3,500 kg and a truck above, whatever its EU category."""
    v = replace(diesel_van, category=category, max_mass_kg=tmm)
    assert (v.is_van, v.is_truck, v.is_goods_vehicle) == (van, truck, van or truck)


def test_describe(diesel_van: Vehicle) -> None:
    """A short human description names body, category, TMM, fuels, class and DET."""
    assert diesel_van.describe() == "van (N1), TMM 3,000 kg, diesel, class 6, DET 2019-05-01"
    ev = replace(diesel_van, fuels=frozenset({Fuel.ELECTRIC, Fuel.HYDROGEN}))
    assert "electric+hydrogen, zero emission" in ev.describe()


def test_vehicles_are_values(diesel_van: Vehicle) -> None:
    """Equal attributes make equal, hashable vehicles."""
    twin = Vehicle(Category.N1, Body.VAN, frozenset({Fuel.DIESEL}), EmissionClass.E6, date(2019, 5, 1), 3000)
    assert twin == diesel_van
    assert len({twin, diesel_van}) == 1
