"""Tests of the canonical vehicle table: schema, round trip, validation and atomic Parquet I/O."""

from __future__ import annotations

import os
import string
from datetime import date
from pathlib import Path
from typing import BinaryIO

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ruas.domain.errors import SourceError
from ruas.domain.vehicle import ZERO_EMISSION_FUELS, Body, Category, EmissionClass, Fuel, Vehicle
from ruas.register.vehicle_table import (
    VEHICLE_SCHEMA,
    empty_frame,
    frame_to_vehicles,
    read_vehicle_table,
    validate_frame,
    vehicle_from_row,
    vehicles_to_frame,
    write_vehicle_table,
)

DIESEL_VAN = Vehicle(
    category=Category.N1,
    body=Body.VAN,
    fuels=frozenset({Fuel.DIESEL}),
    emission_class=EmissionClass.E6,
    first_admission=date(2019, 3, 1),
    max_mass_kg=3500,
    plate="VQ456D",
    length_m=5.99,
    width_m=2.05,
    height_m=2.7,
    axle_load_kg=1900,
)
PLUG_IN_HYBRID = Vehicle(
    category=Category.N1,
    body=Body.VAN,
    fuels=frozenset({Fuel.PETROL, Fuel.ELECTRIC}),
    emission_class=EmissionClass.E6,
    first_admission=date(2021, 6, 15),
    max_mass_kg=2800,
    plate="VQ012G",
)
SPECIAL_TRUCK = Vehicle(
    category=Category.N3,
    body=Body.RIGID,
    fuels=frozenset({Fuel.DIESEL}),
    emission_class=EmissionClass.E6,
    first_admission=date(2016, 5, 10),
    max_mass_kg=26000,
    plate="BQ789L",
    body_codes=frozenset({"31", "15"}),
    special_purpose=frozenset({"SF"}),
    special_codes=frozenset({"145", "70"}),
    usage=frozenset({"taxi"}),
    holder=frozenset({"permanent_resident"}),
    synthetic=True,
)
NO_PLATE_EV = Vehicle(
    category=Category.M1,
    body=Body.CAR,
    fuels=frozenset({Fuel.ELECTRIC}),
    emission_class=EmissionClass.Z,
    first_admission=date(2023, 1, 1),
    max_mass_kg=2100,
)
SAMPLE = [DIESEL_VAN, PLUG_IN_HYBRID, SPECIAL_TRUCK, NO_PLATE_EV]


@pytest.fixture
def sample_frame() -> pl.DataFrame:
    """The four sample vehicles as a canonical table."""
    return vehicles_to_frame(SAMPLE)


def test_empty_frame_has_the_canonical_schema() -> None:
    """An empty table has exactly the canonical columns, types and order, and no rows."""
    df = empty_frame()
    assert df.height == 0
    assert list(df.schema.items()) == list(VEHICLE_SCHEMA.items())


def test_schema_types_are_the_agreed_ones() -> None:
    """The schema constant pins the agreed types (lists of strings, Int32 masses, Date DET)."""
    assert VEHICLE_SCHEMA["fuels"] == pl.List(pl.Utf8)
    assert VEHICLE_SCHEMA["max_mass_kg"] == pl.Int32
    assert VEHICLE_SCHEMA["axle_load_kg"] == pl.Int32
    assert VEHICLE_SCHEMA["first_admission"] == pl.Date
    assert VEHICLE_SCHEMA["length_m"] == pl.Float64
    assert VEHICLE_SCHEMA["synthetic"] == pl.Boolean
    assert len(VEHICLE_SCHEMA) == 17


def test_vehicles_to_frame_has_the_canonical_schema(sample_frame: pl.DataFrame) -> None:
    """Converting vehicles gives one row each with the canonical schema."""
    assert sample_frame.height == len(SAMPLE)
    assert sample_frame.schema == pl.Schema(VEHICLE_SCHEMA)


def test_set_attributes_become_sorted_lists(sample_frame: pl.DataFrame) -> None:
    """Fuels and codes are stored as sorted lists of their string values."""
    row = sample_frame.row(1, named=True)
    assert row["fuels"] == ["electric", "petrol"]
    truck = sample_frame.row(2, named=True)
    assert truck["body_codes"] == ["15", "31"]
    assert truck["special_codes"] == ["145", "70"]
    assert truck["category"] == "N3" and truck["body"] == "rigid" and truck["emission_class"] == "6"


def test_round_trip_is_exact(sample_frame: pl.DataFrame) -> None:
    """frame_to_vehicles inverts vehicles_to_frame exactly, including nulls and a missing plate."""
    assert frame_to_vehicles(sample_frame) == SAMPLE


def test_round_trip_of_codes_needing_the_slow_path() -> None:
    """Codes that are empty or contain the internal separator still round-trip exactly."""
    odd = Vehicle(
        category=Category.N1,
        body=Body.VAN,
        fuels=frozenset({Fuel.DIESEL}),
        emission_class=EmissionClass.E5,
        first_admission=date(2012, 5, 14),
        max_mass_kg=3000,
        body_codes=frozenset({"", "a\x1fb"}),
    )
    assert frame_to_vehicles(vehicles_to_frame([odd])) == [odd]


_codes = st.frozensets(st.text(alphabet=string.ascii_uppercase + string.digits, min_size=1, max_size=4), max_size=3)
_sizes = st.none() | st.floats(min_value=0.01, max_value=40.0, allow_nan=False)


@st.composite
def vehicles(draw: st.DrawFn) -> Vehicle:
    """Any consistent vehicle (class Z exactly when every fuel is electric or hydrogen)."""
    fuels = draw(st.frozensets(st.sampled_from(list(Fuel)), min_size=1))
    if fuels <= ZERO_EMISSION_FUELS:
        emission = EmissionClass.Z
    else:
        emission = draw(st.sampled_from([e for e in EmissionClass if e is not EmissionClass.Z]))
    return Vehicle(
        category=draw(st.sampled_from(list(Category))),
        body=draw(st.sampled_from(list(Body))),
        fuels=fuels,
        emission_class=emission,
        first_admission=draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))),
        max_mass_kg=draw(st.integers(1, 100_000)),
        plate=draw(st.none() | st.from_regex(r"\A[A-Z]{2}[0-9]{3}[A-Z]\Z")),
        length_m=draw(_sizes),
        width_m=draw(_sizes),
        height_m=draw(_sizes),
        axle_load_kg=draw(st.none() | st.integers(0, 100_000)),
        body_codes=draw(_codes),
        special_purpose=draw(_codes),
        special_codes=draw(_codes),
        usage=draw(_codes),
        holder=draw(_codes),
        synthetic=draw(st.booleans()),
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(vehicles(), max_size=8))
def test_round_trip_property(vs: list[Vehicle]) -> None:
    """Any list of consistent vehicles survives the table round trip unchanged."""
    df = vehicles_to_frame(vs)
    assert df.schema == pl.Schema(VEHICLE_SCHEMA)
    assert frame_to_vehicles(df) == vs


def test_vehicle_from_row_reads_an_iter_rows_dict(sample_frame: pl.DataFrame) -> None:
    """vehicle_from_row accepts a row dict as produced by iter_rows(named=True)."""
    row = next(sample_frame.iter_rows(named=True))
    assert vehicle_from_row(row) == DIESEL_VAN


def test_vehicle_from_row_names_a_bad_enum_column(sample_frame: pl.DataFrame) -> None:
    """An unknown body value raises SourceError naming the column."""
    row = dict(sample_frame.row(0, named=True), body="lorry")
    with pytest.raises(SourceError) as err:
        vehicle_from_row(row)
    assert err.value.details["column"] == "body"
    assert err.value.details["value"] == "lorry"


def test_vehicle_from_row_names_a_missing_column(sample_frame: pl.DataFrame) -> None:
    """A row without a canonical column raises SourceError naming it."""
    row = sample_frame.row(0, named=True)
    del row["first_admission"]
    with pytest.raises(SourceError) as err:
        vehicle_from_row(row)
    assert err.value.details["column"] == "first_admission"


def test_vehicle_from_row_rejects_z_with_combustion(sample_frame: pl.DataFrame) -> None:
    """A row claiming class Z for a diesel vehicle is refused with the plate named."""
    row = dict(sample_frame.row(0, named=True), emission_class="Z")
    with pytest.raises(SourceError) as err:
        vehicle_from_row(row)
    assert err.value.details["plate"] == "VQ456D"
    assert err.value.details["column"] == "emission_class"


def test_validate_frame_names_missing_columns(sample_frame: pl.DataFrame) -> None:
    """A frame without some columns is refused and the details list them."""
    with pytest.raises(SourceError) as err:
        validate_frame(sample_frame.drop("fuels", "usage"))
    assert err.value.details["missing"] == ["fuels", "usage"]
    assert "fuels" in str(err.value)


def test_validate_frame_names_mistyped_columns(sample_frame: pl.DataFrame) -> None:
    """A frame with a wrongly typed column is refused and the details name it and both types."""
    bad = sample_frame.with_columns(pl.col("max_mass_kg").cast(pl.Int64))
    with pytest.raises(SourceError) as err:
        validate_frame(bad)
    assert list(err.value.details["mistyped"]) == ["max_mass_kg"]
    assert "Int64" in err.value.details["mistyped"]["max_mass_kg"]
    assert err.value.details["column"] == "max_mass_kg"


def test_validate_frame_rejects_nulls_where_not_allowed(sample_frame: pl.DataFrame) -> None:
    """A null in a non-nullable column (the DET) is refused naming the column."""
    bad = sample_frame.with_columns(pl.lit(None, dtype=pl.Date).alias("first_admission"))
    with pytest.raises(SourceError) as err:
        validate_frame(bad)
    assert err.value.details["column"] == "first_admission"


def test_validate_frame_allows_nulls_in_nullable_columns(sample_frame: pl.DataFrame) -> None:
    """Unknown sizes and axle loads (nulls) are valid."""
    ok = sample_frame.with_columns(pl.lit(None, dtype=pl.Float64).alias("height_m"))
    assert validate_frame(ok).get_column("height_m").null_count() == ok.height


def test_validate_frame_rejects_unknown_values(sample_frame: pl.DataFrame) -> None:
    """A fuel outside the Fuel values is refused naming the column and the value."""
    bad = sample_frame.with_columns(pl.lit(["diesel", "coal"]).alias("fuels"))
    with pytest.raises(SourceError) as err:
        validate_frame(bad)
    assert err.value.details["column"] == "fuels"
    assert err.value.details["value"] == ["coal"]


def test_validate_frame_rejects_empty_fuels(sample_frame: pl.DataFrame) -> None:
    """A vehicle without any fuel is refused."""
    bad = sample_frame.with_columns(pl.lit([], dtype=pl.List(pl.Utf8)).alias("fuels"))
    with pytest.raises(SourceError) as err:
        validate_frame(bad)
    assert err.value.details["column"] == "fuels"


def test_validate_frame_rejects_null_list_elements(sample_frame: pl.DataFrame) -> None:
    """A null inside a code list is refused naming the column."""
    bad = sample_frame.with_columns(pl.lit(["15", None], dtype=pl.List(pl.Utf8)).alias("body_codes"))
    with pytest.raises(SourceError) as err:
        validate_frame(bad)
    assert err.value.details["column"] == "body_codes"


def test_validate_frame_returns_canonical_order(sample_frame: pl.DataFrame) -> None:
    """Shuffled columns come back in canonical order, extra columns dropped."""
    shuffled = sample_frame.select(reversed(sample_frame.columns)).with_columns(pl.lit(1).alias("extra"))
    assert validate_frame(shuffled).equals(sample_frame)


def test_parquet_round_trip(tmp_path: Path, sample_frame: pl.DataFrame) -> None:
    """Writing and reading Parquet gives back an equal frame and equal vehicles."""
    path = write_vehicle_table(sample_frame, tmp_path / "vehicles.parquet")
    back = read_vehicle_table(path)
    assert back.equals(sample_frame)
    assert frame_to_vehicles(back) == SAMPLE


def test_write_replaces_and_leaves_no_temp_files(tmp_path: Path, sample_frame: pl.DataFrame) -> None:
    """A second write replaces the file and leaves nothing else in the directory."""
    target = tmp_path / "vehicles.parquet"
    write_vehicle_table(sample_frame, target)
    write_vehicle_table(sample_frame.head(1), target)
    assert read_vehicle_table(target).height == 1
    assert [p.name for p in tmp_path.iterdir()] == ["vehicles.parquet"]


def test_failed_write_keeps_the_old_file(
    tmp_path: Path, sample_frame: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If writing fails half-way the previous file is intact and the temp file is removed."""
    target = tmp_path / "vehicles.parquet"
    write_vehicle_table(sample_frame, target)

    def broken_write(self: pl.DataFrame, file: BinaryIO, **kwargs: object) -> None:
        file.write(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(pl.DataFrame, "write_parquet", broken_write)
    with pytest.raises(OSError, match="disk full"):
        write_vehicle_table(sample_frame.head(1), target)
    monkeypatch.undo()
    assert read_vehicle_table(target).equals(sample_frame)
    assert [p.name for p in tmp_path.iterdir()] == ["vehicles.parquet"]


def test_write_uses_replace_for_atomicity(
    tmp_path: Path, sample_frame: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file is moved into place with os.replace from a temp file in the same directory."""
    calls: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(src: str, dst: str) -> None:
        calls.append((str(src), str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    target = tmp_path / "vehicles.parquet"
    write_vehicle_table(sample_frame, target)
    assert len(calls) == 1
    src, dst = calls[0]
    assert Path(src).parent == tmp_path and Path(dst) == target and src != dst


def test_write_refuses_an_invalid_frame(tmp_path: Path, sample_frame: pl.DataFrame) -> None:
    """An invalid frame is not written at all."""
    with pytest.raises(SourceError):
        write_vehicle_table(sample_frame.drop("plate"), tmp_path / "v.parquet")
    assert list(tmp_path.iterdir()) == []


def test_read_missing_file_names_it(tmp_path: Path) -> None:
    """Reading a file that does not exist raises SourceError naming the file."""
    missing = tmp_path / "nope.parquet"
    with pytest.raises(SourceError) as err:
        read_vehicle_table(missing)
    assert err.value.details["file"] == str(missing)


def test_read_corrupt_file_names_it(tmp_path: Path) -> None:
    """Reading a file that is not Parquet raises SourceError naming the file."""
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(SourceError) as err:
        read_vehicle_table(bad)
    assert err.value.details["file"] == str(bad)


def test_read_wrong_schema_names_file_and_column(tmp_path: Path, sample_frame: pl.DataFrame) -> None:
    """A Parquet file lacking a column raises SourceError naming the file and the column."""
    path = tmp_path / "old.parquet"
    sample_frame.drop("holder").write_parquet(path)
    with pytest.raises(SourceError) as err:
        read_vehicle_table(path)
    assert err.value.details["file"] == str(path)
    assert err.value.details["missing"] == ["holder"]
