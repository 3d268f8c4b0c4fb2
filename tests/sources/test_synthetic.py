"""Tests of the SYNTHETIC register generator: schema, reproducibility, plates, shares and consistency."""

from __future__ import annotations

import re
import time
from datetime import date

import polars as pl
import pytest

from ruas.domain.vehicle import normalise_plate
from ruas.register.vehicle_table import VEHICLE_SCHEMA, frame_to_vehicles, validate_frame
from ruas.sources.synthetic import PLATE_SHAPES, generate_register

N = 100_000


@pytest.fixture(scope="module")
def register() -> pl.DataFrame:
    """The default synthetic register of 100,000 vehicles, generated once."""
    return generate_register(N)


@pytest.fixture(scope="module")
def vans(register: pl.DataFrame) -> pl.DataFrame:
    """The vans (body van) of the default register."""
    return register.filter(pl.col("body") == "van")


def share(frame: pl.DataFrame, condition: pl.Expr) -> float:
    """Percentage of rows of ``frame`` meeting ``condition``."""
    return 100 * frame.filter(condition).height / frame.height


def test_schema_and_synthetic_flag(register: pl.DataFrame) -> None:
    """The register has the canonical schema, n rows, and every row is marked synthetic."""
    assert register.schema == pl.Schema(VEHICLE_SCHEMA)
    assert register.height == N
    assert register.get_column("synthetic").all()
    validate_frame(register)


def test_same_seed_gives_an_identical_frame() -> None:
    """Two runs with the same seed give identical frames."""
    assert generate_register(5_000, seed=7).equals(generate_register(5_000, seed=7))


def test_default_seed_is_reproducible(register: pl.DataFrame) -> None:
    """The default arguments reproduce the module fixture exactly."""
    assert generate_register().equals(register)


def test_different_seeds_differ() -> None:
    """Another seed gives another register."""
    assert not generate_register(2_000, seed=1).equals(generate_register(2_000, seed=2))


def test_fast_for_100k() -> None:
    """Generating 100,000 vehicles takes well under 2 seconds."""
    start = time.perf_counter()
    generate_register(N, seed=99)
    assert time.perf_counter() - start < 2.0


def test_zero_and_small_sizes() -> None:
    """n=0 gives an empty canonical frame; n=1 gives one row; negative n is refused."""
    assert generate_register(0).schema == pl.Schema(VEHICLE_SCHEMA)
    assert generate_register(0).height == 0
    assert generate_register(1).height == 1
    with pytest.raises(ValueError):
        generate_register(-1)


def test_plates_are_unique(register: pl.DataFrame) -> None:
    """No plate occurs twice."""
    assert register.get_column("plate").n_unique() == N


def test_every_plate_contains_q(register: pl.DataFrame) -> None:
    """Every plate contains the letter Q, which real Dutch plates never use."""
    assert register.get_column("plate").str.contains("Q").all()


def test_plates_follow_dutch_side_codes(register: pl.DataFrame) -> None:
    """Every plate is normalised and has the letter/digit shape of a Dutch side code."""
    shapes = set(PLATE_SHAPES)
    for plate in register.get_column("plate").to_list():
        assert normalise_plate(plate) == plate
        assert re.sub(r"\d", "D", re.sub(r"[A-Z]", "L", plate)) in shapes, plate


def test_goods_plates_start_like_dutch_goods_plates(register: pl.DataFrame) -> None:
    """Van plates start with V and truck plates with B, as Dutch goods vehicles' plates do."""
    assert register.filter(pl.col("body") == "van").get_column("plate").str.starts_with("V").all()
    trucks = register.filter(pl.col("body").is_in(["rigid", "tractor"]))
    assert trucks.get_column("plate").str.starts_with("B").all()


@pytest.mark.parametrize(
    ("body", "target"),
    [("van", 55), ("rigid", 10), ("tractor", 5), ("car", 28)],
)
def test_kind_mix(register: pl.DataFrame, body: str, target: float) -> None:
    """Vans, rigid trucks, tractors and cars make up their target shares (±1.5 points)."""
    bodies = [body, "special"] if body == "car" else [body]
    assert share(register, pl.col("body").is_in(bodies)) == pytest.approx(target, abs=1.5)


def test_van_class_shares_match_cbs_2024(vans: pl.DataFrame) -> None:
    """Van classes 0-4, 5 and 6-or-Z are within 3 points of CBS 2024 (23 %, 26 %, 52 %)."""
    ec = pl.col("emission_class")
    assert share(vans, ec.is_in(["0", "1", "2", "3", "4"])) == pytest.approx(23, abs=3)
    assert share(vans, ec == "5") == pytest.approx(26, abs=3)
    assert share(vans, ec.is_in(["6", "Z"])) == pytest.approx(52, abs=3)


def test_a_few_percent_of_vans_are_zero_emission(vans: pl.DataFrame) -> None:
    """Zero-emission vans are a few per cent: present, but well under the class-6 share."""
    assert 1 < share(vans, pl.col("emission_class") == "Z") < 10


def test_z_exactly_when_every_fuel_is_zero_emission(register: pl.DataFrame) -> None:
    """Class Z holds exactly for vehicles whose fuels are all electric or hydrogen."""
    only_ze = pl.col("fuels").list.eval(pl.element().is_in(["electric", "hydrogen"])).list.all()
    assert register.filter(only_ze != (pl.col("emission_class") == "Z")).height == 0


def test_plug_in_hybrids_exist_and_are_not_z(register: pl.DataFrame) -> None:
    """There are petrol + electric plug-in hybrids, all class 6, among vans and cars."""
    phev = register.filter(pl.col("fuels") == pl.lit(["electric", "petrol"]))
    assert phev.height > 100
    assert set(phev.get_column("emission_class").unique()) == {"6"}
    assert {"van", "car"} <= set(phev.get_column("body").unique())


def test_petrol_lpg_vans_and_hydrogen_trucks_exist(register: pl.DataFrame, vans: pl.DataFrame) -> None:
    """Some vans run on petrol or LPG and some zero-emission trucks on hydrogen."""
    fuels = pl.col("fuels")
    assert vans.filter(fuels == pl.lit(["petrol"])).height > 100
    assert vans.filter(fuels == pl.lit(["lpg"])).height > 50
    hydrogen = register.filter(fuels.list.contains("hydrogen"))
    assert hydrogen.height > 0
    assert set(hydrogen.get_column("body").unique()) <= {"rigid", "tractor"}


@pytest.mark.parametrize(
    ("cls", "first", "last"),
    [("0", date(1965, 1, 1), date(1992, 6, 30)), ("4", date(2006, 1, 1), date(2010, 8, 31)),
     ("5", date(2009, 9, 1), date(2015, 8, 31)), ("6", date(2015, 9, 1), date(2026, 6, 30)),
     ("Z", date(2012, 1, 1), date(2026, 6, 30))],
)  # fmt: skip
def test_van_det_matches_the_class(vans: pl.DataFrame, cls: str, first: date, last: date) -> None:
    """A van's DET lies in the period of its emission class (class 6 from 2015, class 5 2009-2015)."""
    dets = vans.filter(pl.col("emission_class") == cls).get_column("first_admission")
    assert dets.len() > 0
    assert dets.min() >= first  # type: ignore[operator]
    assert dets.max() <= last  # type: ignore[operator]


def test_most_z_vans_are_recent(vans: pl.DataFrame) -> None:
    """Most zero-emission vans were first admitted from 2019."""
    z = vans.filter(pl.col("emission_class") == "Z")
    assert share(z, pl.col("first_admission") >= date(2019, 1, 1)) > 75


def test_new_vehicles_are_z_or_6(register: pl.DataFrame) -> None:
    """Vehicles first admitted in 2025-2026 exist and are all class 6 or Z."""
    new = register.filter(pl.col("first_admission") >= date(2025, 1, 1))
    assert new.height > 100
    assert set(new.get_column("emission_class").unique()) <= {"6", "Z"}
    assert new.get_column("first_admission").max() <= date(2026, 6, 30)  # type: ignore[operator]


def test_a_few_vehicles_are_40_plus(register: pl.DataFrame, vans: pl.DataFrame) -> None:
    """A few vehicles (under 1 %) were first admitted before 1986, among them vans of class 0."""
    old = pl.col("first_admission") < date(1986, 1, 1)
    assert 0 < share(register, old) < 1
    old_vans = vans.filter(old)
    assert old_vans.height > 20
    assert set(old_vans.get_column("emission_class").unique()) == {"0"}


def test_van_masses_and_sizes(vans: pl.DataFrame) -> None:
    """Vans are N1 with TMM 2,000-3,500 kg, 4.5-7 m long."""
    assert set(vans.get_column("category").unique()) == {"N1"}
    assert vans.get_column("max_mass_kg").min() >= 2000  # type: ignore[operator]
    assert vans.get_column("max_mass_kg").max() == 3500
    assert vans.get_column("length_m").min() >= 4.5  # type: ignore[operator]
    assert vans.get_column("length_m").max() <= 7.0  # type: ignore[operator]


def test_rigid_trucks(register: pl.DataFrame) -> None:
    """Rigid trucks weigh 7,500-26,000 kg, are N2 up to 12,000 kg and N3 above, 7-12 m long."""
    rigid = register.filter(pl.col("body") == "rigid")
    mass = rigid.get_column("max_mass_kg")
    assert mass.min() >= 7500 and mass.max() <= 26000  # type: ignore[operator]
    assert rigid.filter((pl.col("max_mass_kg") <= 12000) != (pl.col("category") == "N2")).height == 0
    assert set(rigid.get_column("category").unique()) == {"N2", "N3"}
    assert rigid.get_column("length_m").min() >= 7.0  # type: ignore[operator]
    assert rigid.get_column("length_m").max() <= 12.0  # type: ignore[operator]


def test_tractor_units(register: pl.DataFrame) -> None:
    """Tractor units are N3, TMM 18,000-20,000 kg, about 6 m long and at most 4 m high."""
    tractors = register.filter(pl.col("body") == "tractor")
    assert set(tractors.get_column("category").unique()) == {"N3"}
    assert tractors.get_column("max_mass_kg").is_between(18000, 20000).all()
    assert tractors.get_column("length_m").is_between(5.8, 6.3).all()
    assert tractors.get_column("height_m").max() <= 4.0  # type: ignore[operator]


def test_cars_and_buses_have_their_categories(register: pl.DataFrame) -> None:
    """Cars (and special M1s) are M1, buses M2/M3, motorcycles L."""
    cats = dict(register.group_by("body").agg(pl.col("category").unique().sort()).iter_rows())
    assert cats["car"] == ["M1"] and cats["special"] == ["M1"]
    assert cats["bus"] == ["M2", "M3"]
    assert cats["motorcycle"] == ["L"]


def test_wheelchair_vans(vans: pl.DataFrame) -> None:
    """A few vans are wheelchair accessible by special purpose SH or a code 145/146/147/149."""
    sh = vans.filter(pl.col("special_purpose").list.contains("SH")).height
    codes = vans.filter(pl.col("special_codes").list.len() > 0)
    assert sh > 50 and codes.height > 50
    assert set(codes.get_column("special_codes").explode().unique()) <= {"145", "146", "147", "149"}
    assert (sh + codes.height) / vans.height < 0.02


def test_special_trucks(register: pl.DataFrame) -> None:
    """Some rigid trucks carry an exempting body code or special purpose SB/SF, and only trucks do."""
    coded = register.filter(pl.col("body_codes").list.len() > 0)
    assert coded.height > 50
    assert set(coded.get_column("body").unique()) == {"rigid"}
    assert set(coded.get_column("body_codes").explode().unique()) <= {"15", "16", "19", "23", "26", "27", "31"}
    sb_sf = register.filter(pl.col("special_purpose").list.eval(pl.element().is_in(["SB", "SF"])).list.any())
    assert sb_sf.height > 20
    assert set(sb_sf.get_column("body").unique()) == {"rigid"}


def test_taxis_are_cars(register: pl.DataFrame) -> None:
    """A few per cent of cars are taxis, and nothing else is."""
    taxis = register.filter(pl.col("usage").list.contains("taxi"))
    assert set(taxis.get_column("body").unique()) == {"car"}
    cars = register.filter(pl.col("body") == "car")
    assert 1 < share(cars, pl.col("usage").list.contains("taxi")) < 5


def test_holder_is_empty(register: pl.DataFrame) -> None:
    """The register holds no keeper facts."""
    assert register.get_column("holder").list.len().max() == 0


def test_rows_are_valid_domain_vehicles() -> None:
    """Every generated row builds a consistent Vehicle (mass, size and Z rules hold)."""
    vehicles = frame_to_vehicles(generate_register(20_000, seed=3))
    assert len(vehicles) == 20_000
    assert all(v.synthetic for v in vehicles)
