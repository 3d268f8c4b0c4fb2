"""Tests of the RDW open-data adapter on hand-made fixtures in RDW's column layout (plates contain Q)."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from ruas.domain.errors import SourceError
from ruas.register.vehicle_table import VEHICLE_SCHEMA, frame_to_vehicles
from ruas.sources.rdw import (
    BODY,
    BODY_SPECIFIC,
    FUEL,
    SPECIAL,
    VEHICLES,
    RdwLoad,
    load_rdw,
    normalise_column,
    parse_emission_class,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "rdw"
CSV_SET = [
    FIXTURES / "voertuigen.csv",
    FIXTURES / "brandstof.csv",
    FIXTURES / "carrosserie.csv",
    FIXTURES / "carrosserie_specificatie.csv",
    FIXTURES / "bijzonderheden.csv",
]

VEHICLE_HEADER = [
    "kenteken",
    "voertuigsoort",
    "europese_voertuigcategorie",
    "toegestane_maximum_massa_voertuig",
    "technische_max_massa_voertuig",
    "datum_eerste_toelating",
    "datum_eerste_toelating_dt",
    "inrichting",
    "lengte",
    "taxi_indicator",
]
FUEL_HEADER = ["kenteken", "brandstof_volgnummer", "brandstof_omschrijving", "emissiecode_omschrijving"]


@pytest.fixture(scope="module")
def loaded() -> RdwLoad:
    """The CSV fixture set (all five datasets) loaded once."""
    return load_rdw(CSV_SET)


def row(load: RdwLoad, plate: str) -> dict[str, Any]:
    """The table row of one plate."""
    rows = load.vehicles.filter(pl.col("plate") == plate).to_dicts()
    assert len(rows) == 1, f"{plate} not found exactly once"
    return rows[0]


def write_csv(path: Path, header: list[str], rows: list[list[str]], delimiter: str = ",") -> Path:
    """Write a small CSV (no quoting needed for these values) and return its path."""
    lines = [delimiter.join(header), *(delimiter.join(r) for r in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def vehicle_line(
    plate: str = "VQ111B",
    kind: str = "Bedrijfsauto",
    category: str = "N1",
    tmm: str = "3000",
    det: str = "20190301",
    inrichting: str = "gesloten opbouw",
    length_cm: str = "500",
    taxi: str = "Nee",
    technical: str = "",
    det_dt: str = "",
) -> list[str]:
    """One row for VEHICLE_HEADER with sensible defaults."""
    return [plate, kind, category, tmm, technical, det, det_dt, inrichting, length_cm, taxi]


def load_one(
    tmp_path: Path,
    vehicle: list[str],
    fuels: list[list[str]] | None = None,
    body_types: list[str] | None = None,
) -> dict[str, Any]:
    """Load one vehicle (with optional fuel rows and carrosserietype values) and return its row."""
    paths = [write_csv(tmp_path / "v.csv", VEHICLE_HEADER, [vehicle])]
    plate = vehicle[0]
    fuel_rows = fuels if fuels is not None else [["1", "Diesel", "6"]]
    paths.append(write_csv(tmp_path / "f.csv", FUEL_HEADER, [[plate, *f] for f in fuel_rows]))
    if body_types:
        paths.append(
            write_csv(
                tmp_path / "c.csv",
                ["kenteken", "carrosserie_volgnummer", "carrosserietype"],
                [[plate, str(i + 1), t] for i, t in enumerate(body_types)],
            )
        )
    return load_rdw(paths).vehicles.row(0, named=True)


# --------------------------------------------------------------------------- the fixture set


def test_fixture_set_loads_every_vehicle_in_the_canonical_schema(loaded: RdwLoad) -> None:
    """All eleven fixture vehicles load, in file order, with the canonical schema and synthetic=False."""
    assert loaded.vehicles.schema == pl.Schema(VEHICLE_SCHEMA)
    assert loaded.vehicles.get_column("plate").to_list() == [
        "VQ123B",
        "VQ456D",
        "VQ789F",
        "VQ012G",
        "BQ123H",
        "BQ456J",
        "VQ345K",
        "BQ789L",
        "12QB34",
        "QT12LX",
        "34QBB5",
    ]
    assert not loaded.vehicles.get_column("synthetic").any()


def test_datasets_are_recognised_by_columns(loaded: RdwLoad) -> None:
    """Each fixture file is assigned the dataset its columns identify."""
    assert loaded.files == [str(p) for p in CSV_SET]
    assert list(loaded.datasets.values()) == [VEHICLES, FUEL, BODY, BODY_SPECIFIC, SPECIAL]


def test_recognition_ignores_file_names(tmp_path: Path, loaded: RdwLoad) -> None:
    """The same files under meaningless names, in another order, give the same table."""
    renamed = []
    for i, path in enumerate(reversed(CSV_SET)):
        target = tmp_path / f"export_{i}.txt"
        shutil.copy(path, target)
        renamed.append(target)
    assert load_rdw(renamed).vehicles.equals(loaded.vehicles)


def test_the_frame_converts_to_vehicles(loaded: RdwLoad) -> None:
    """The loaded table is consistent with the domain model (every row builds a Vehicle)."""
    assert len(frame_to_vehicles(loaded.vehicles)) == loaded.vehicles.height


def test_diesel_van_class_5(loaded: RdwLoad) -> None:
    """A diesel N1 of 3,000 kg with emission code 5 is a class-5 van."""
    r = row(loaded, "VQ123B")
    assert (r["category"], r["body"], r["fuels"], r["emission_class"]) == ("N1", "van", ["diesel"], "5")
    assert r["max_mass_kg"] == 3000
    assert r["first_admission"] == date(2012, 5, 14)


def test_diesel_van_class_6(loaded: RdwLoad) -> None:
    """A diesel N1 with emission code 6 is a class-6 van."""
    r = row(loaded, "VQ456D")
    assert (r["body"], r["emission_class"], r["max_mass_kg"]) == ("van", "6", 3500)


def test_sizes_are_converted_from_centimetres(loaded: RdwLoad) -> None:
    """lengte/breedte/hoogte_voertuig in cm become metres; an empty height stays unknown."""
    r = row(loaded, "VQ456D")
    assert (r["length_m"], r["width_m"], r["height_m"]) == (6.0, 2.05, 2.7)
    old = row(loaded, "12QB34")
    assert (old["length_m"], old["height_m"]) == (4.6, None)
    assert r["axle_load_kg"] is None


def test_electric_van_is_z(loaded: RdwLoad) -> None:
    """A van whose only fuel is Elektriciteit is zero emission (Z)."""
    r = row(loaded, "VQ789F")
    assert (r["fuels"], r["emission_class"]) == (["electric"], "Z")


def test_plug_in_hybrid_is_not_z(loaded: RdwLoad) -> None:
    """A plug-in hybrid (Benzine + Elektriciteit, OVC-HEV) keeps its combustion class 6, never Z."""
    r = row(loaded, "VQ012G")
    assert r["fuels"] == ["electric", "petrol"]
    assert r["emission_class"] == "6"


def test_tractor_unit(loaded: RdwLoad) -> None:
    """An N3 with carrosserietype BC and inrichting opleggertrekker is a class-6 tractor from 2018."""
    r = row(loaded, "BQ123H")
    assert (r["category"], r["body"], r["emission_class"]) == ("N3", "tractor", "6")
    assert r["first_admission"] == date(2018, 4, 1)
    assert r["max_mass_kg"] == 19500


def test_rigid_truck(loaded: RdwLoad) -> None:
    """An N3 of 18,000 kg with body type BA is a rigid truck, class 6 from 'Euro 6'."""
    r = row(loaded, "BQ456J")
    assert (r["body"], r["emission_class"], r["first_admission"]) == ("rigid", "6", date(2018, 6, 15))
    assert r["special_purpose"] == []


def test_wheelchair_van_special_code(loaded: RdwLoad) -> None:
    """The bijzonderheid code 145 lands in special_codes."""
    assert row(loaded, "VQ345K")["special_codes"] == ["145"]
    assert row(loaded, "VQ456D")["special_codes"] == []


def test_special_truck_body_code(loaded: RdwLoad) -> None:
    """The carrosseriecode 15 lands in body_codes."""
    r = row(loaded, "BQ789L")
    assert r["body_codes"] == ["15"]
    assert r["emission_class"] == "6"  # from the roman 'VI'


def test_old_van_gets_category_from_voertuigsoort_and_class_0(loaded: RdwLoad) -> None:
    """A 1980 van without EU category or emission data becomes N1, class 0, with warnings naming it."""
    r = row(loaded, "12QB34")
    assert (r["category"], r["body"], r["emission_class"]) == ("N1", "van", "0")
    assert r["first_admission"] == date(1980, 7, 1)
    assert any("europese_voertuigcategorie" in w and "12QB34" in w for w in loaded.warnings)
    assert any("emission class unknown" in w and "12QB34" in w for w in loaded.warnings)


def test_plate_is_normalised(loaded: RdwLoad) -> None:
    """The dashed kenteken '12-QB-34' is stored as '12QB34'."""
    assert "12-QB-34" not in loaded.vehicles.get_column("plate").to_list()
    assert row(loaded, "12QB34")["plate"] == "12QB34"


def test_taxi_car(loaded: RdwLoad) -> None:
    """A car with taxi_indicator 'Ja' has usage taxi; others have none."""
    r = row(loaded, "QT12LX")
    assert (r["category"], r["body"], r["usage"]) == ("M1", "car", ["taxi"])
    assert row(loaded, "VQ123B")["usage"] == []


def test_vehicle_without_fuel_rows_is_other_class_0_with_warning(loaded: RdwLoad) -> None:
    """A vehicle with no fuel rows gets fuel 'other', class 0 and a warning naming file and line."""
    r = row(loaded, "34QBB5")
    assert (r["fuels"], r["emission_class"]) == (["other"], "0")
    warning = next(w for w in loaded.warnings if w.startswith("no fuel rows"))
    assert "34QBB5" in warning and "voertuigen.csv line 12" in warning


def test_fixture_warnings_are_exactly_the_expected_ones(loaded: RdwLoad) -> None:
    """The clean fixture rows raise no warnings beyond the three deliberate gaps."""
    assert len(loaded.warnings) == 3


def test_bom_and_semicolon_variant() -> None:
    """A CSV pair with a UTF-8 BOM and semicolons loads like the comma variant."""
    load = load_rdw([FIXTURES / "voertuigen_bom_puntkomma.csv", FIXTURES / "brandstof_bom_puntkomma.csv"])
    r = load.vehicles.row(0, named=True)
    assert (r["plate"], r["body"], r["fuels"], r["emission_class"]) == ("VQ901N", "van", ["diesel"], "6")
    assert r["first_admission"] == date(2015, 9, 1)
    assert load.warnings == []


def test_socrata_json_variant() -> None:
    """Socrata-shaped JSON (string values, null keys left out) loads; hydrogen + fuel cell is Z."""
    load = load_rdw([FIXTURES / "voertuigen.json", FIXTURES / "brandstof.json"])
    assert load.datasets == {str(FIXTURES / "voertuigen.json"): VEHICLES, str(FIXTURES / "brandstof.json"): FUEL}
    van = load.vehicles.row(0, named=True)
    truck = load.vehicles.row(1, named=True)
    assert (van["plate"], van["emission_class"], van["length_m"]) == ("VQ903R", "Z", 5.95)
    assert (truck["plate"], truck["category"], truck["body"]) == ("BQ904S", "N2", "rigid")
    assert (truck["fuels"], truck["emission_class"]) == (["electric", "hydrogen"], "Z")


def test_csv_and_json_can_be_mixed(tmp_path: Path) -> None:
    """A JSON vehicles file joins with a CSV fuel file on kenteken."""
    fuel = write_csv(tmp_path / "f.csv", FUEL_HEADER, [["VQ903R", "1", "Diesel", "5"]])
    load = load_rdw([FIXTURES / "voertuigen.json", fuel])
    assert load.vehicles.row(0, named=True)["emission_class"] == "5"
    assert load.vehicles.row(1, named=True)["fuels"] == ["other"]


def test_portal_labels_are_accepted_as_header(tmp_path: Path) -> None:
    """A header with the portal's labels (e.g. 'Datum eerste toelating', 'Emissieklasse') works."""
    v = write_csv(
        tmp_path / "v.csv",
        ["Kenteken", "Voertuigsoort", "Europese voertuigcategorie", "Toegestane maximum massa voertuig",
         "Datum eerste toelating"],
        [["VQ-222-B", "Bedrijfsauto", "N1", "2900", "20140101"]],
    )  # fmt: skip
    f = write_csv(
        tmp_path / "f.csv",
        ["Kenteken", "Brandstof volgnummer", "Brandstof omschrijving", "Emissieklasse"],
        [["VQ222B", "1", "Diesel", "5"]],
    )
    r = load_rdw([v, f]).vehicles.row(0, named=True)
    assert (r["plate"], r["emission_class"], r["max_mass_kg"]) == ("VQ222B", "5", 2900)


# --------------------------------------------------------------------------- derivation rules


@pytest.mark.parametrize(
    ("code", "expected"),
    [("M1", "M1"), ("M2", "M2"), ("M3", "M3"), ("N1", "N1"), ("N2", "N2"), ("N3", "N3"),
     ("L3e", "L"), ("L1", "L"), ("O4", "O"), ("T1", "T"), ("R", "other")],
)  # fmt: skip
def test_category_mapping(tmp_path: Path, code: str, expected: str) -> None:
    """europese_voertuigcategorie maps to M1..N3, L*/O*/T* to their letter, anything else to other."""
    assert load_one(tmp_path, vehicle_line(category=code, tmm="2500"))["category"] == expected


@pytest.mark.parametrize(
    ("kind", "tmm", "expected"),
    [("Bedrijfsauto", "3500", "N1"), ("Bedrijfsauto", "12000", "N2"), ("Bedrijfsauto", "12001", "N3"),
     ("Personenauto", "1500", "M1"), ("Bus", "5000", "M2"), ("Bus", "18000", "M3"),
     ("Motorfiets", "400", "L"), ("Aanhangwagen", "750", "O"), ("Mobiele machine", "5000", "other")],
)  # fmt: skip
def test_category_fallback_from_voertuigsoort(tmp_path: Path, kind: str, tmm: str, expected: str) -> None:
    """Without an EU category the category follows voertuigsoort and the TMM."""
    assert load_one(tmp_path, vehicle_line(kind=kind, category="", tmm=tmm))["category"] == expected


def test_carrosserietype_bc_alone_makes_a_tractor(tmp_path: Path) -> None:
    """Body type BC (opleggertrekker) makes a tractor even when inrichting says otherwise."""
    r = load_one(tmp_path, vehicle_line(category="N3", tmm="19000", inrichting="gesloten opbouw"), body_types=["BC"])
    assert r["body"] == "tractor"


def test_inrichting_alone_makes_a_tractor(tmp_path: Path) -> None:
    """inrichting 'opleggertrekker' makes a tractor without any body-type row."""
    r = load_one(tmp_path, vehicle_line(category="N3", tmm="19000", inrichting="Opleggertrekker"))
    assert r["body"] == "tractor"


@pytest.mark.parametrize(("tmm", "body"), [("3500", "van"), ("3501", "rigid"), ("4250", "rigid")])
def test_van_truck_split_is_by_tmm(tmp_path: Path, tmm: str, body: str) -> None:
    """A goods vehicle is a van up to 3,500 kg TMM and a rigid truck above, whatever its N class."""
    assert load_one(tmp_path, vehicle_line(category="N1", tmm=tmm))["body"] == body


@pytest.mark.parametrize(
    ("category", "kind", "body_types", "body"),
    [("M2", "Bus", None, "bus"), ("M3", "Bus", None, "bus"), ("M1", "Personenauto", None, "car"),
     ("M1", "Personenauto", ["AC"], "car"), ("M1", "Personenauto", ["SH"], "special"),
     ("M1", "Personenauto", ["SA"], "special"), ("L3e", "Motorfiets", None, "motorcycle"),
     ("O4", "Oplegger", None, "other")],
)  # fmt: skip
def test_body_rules(tmp_path: Path, category: str, kind: str, body_types: list[str] | None, body: str) -> None:
    """M2/M3 are buses, M1 a car or special with an S* body type, L a motorcycle, O other."""
    r = load_one(tmp_path, vehicle_line(kind=kind, category=category, tmm="5000"), body_types=body_types)
    assert r["body"] == body


def test_special_purpose_codes_are_the_s_body_types(tmp_path: Path) -> None:
    """special_purpose holds exactly the carrosserietype values starting with S."""
    r = load_one(tmp_path, vehicle_line(category="N1"), body_types=["BB", "SH"])
    assert r["special_purpose"] == ["SH"]
    assert r["body"] == "van"


@pytest.mark.parametrize(
    ("fuel", "expected"),
    [("Diesel", "diesel"), ("Benzine", "petrol"), ("LPG", "lpg"), ("CNG", "cng"), ("Aardgas", "cng"),
     ("LNG", "lng"), ("Alcohol", "other")],
)  # fmt: skip
def test_fuel_names(tmp_path: Path, fuel: str, expected: str) -> None:
    """brandstof_omschrijving values map onto the Fuel values, unknown ones to other."""
    assert load_one(tmp_path, vehicle_line(), fuels=[["1", fuel, "6"]])["fuels"] == [expected]


@pytest.mark.parametrize(("fuel", "expected"), [("Elektriciteit", ["electric"]), ("Waterstof", ["hydrogen"])])
def test_zero_emission_fuels_are_z_whatever_the_code(tmp_path: Path, fuel: str, expected: list[str]) -> None:
    """Electricity or hydrogen only gives Z even when an emission code is filled in."""
    r = load_one(tmp_path, vehicle_line(), fuels=[["1", fuel, "6"]])
    assert (r["fuels"], r["emission_class"]) == (expected, "Z")


def test_diesel_plus_electric_hybrid_is_not_z(tmp_path: Path) -> None:
    """A diesel plug-in hybrid takes the diesel class."""
    r = load_one(tmp_path, vehicle_line(), fuels=[["1", "Diesel", "6"], ["2", "Elektriciteit", ""]])
    assert (r["fuels"], r["emission_class"]) == (["diesel", "electric"], "6")


def test_lowest_class_over_combustion_fuels(tmp_path: Path) -> None:
    """A bi-fuel vehicle (Benzine class 6, LPG class 4) gets the lowest class, 4."""
    r = load_one(tmp_path, vehicle_line(), fuels=[["1", "Benzine", "6"], ["2", "LPG", "4"]])
    assert (r["fuels"], r["emission_class"]) == (["lpg", "petrol"], "4")


def test_uitlaatemissieniveau_is_the_fallback(tmp_path: Path) -> None:
    """Without emissiecode_omschrijving the class comes from uitlaatemissieniveau."""
    v = write_csv(tmp_path / "v.csv", VEHICLE_HEADER, [vehicle_line()])
    f = write_csv(
        tmp_path / "f.csv",
        ["kenteken", "brandstof_omschrijving", "emissiecode_omschrijving", "uitlaatemissieniveau"],
        [["VQ111B", "Diesel", "", "EURO 5 A"]],
    )
    assert load_rdw([v, f]).vehicles.row(0, named=True)["emission_class"] == "5"


def test_hybrid_class_without_combustion_row_is_not_z(tmp_path: Path) -> None:
    """An OVC-HEV whose combustion fuel row is missing is never Z and is warned about."""
    v = write_csv(tmp_path / "v.csv", VEHICLE_HEADER, [vehicle_line()])
    f = write_csv(
        tmp_path / "f.csv",
        ["kenteken", "brandstof_omschrijving", "klasse_hybride_elektrisch_voertuig"],
        [["VQ111B", "Elektriciteit", "OVC-HEV"]],
    )
    load = load_rdw([v, f])
    r = load.vehicles.row(0, named=True)
    assert r["emission_class"] != "Z"
    assert r["fuels"] == ["electric", "other"]
    assert any("OVC-HEV" in w for w in load.warnings)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("5", "5"), ("6", "6"), ("Euro 6", "6"), ("EURO6", "6"), ("VI", "6"), ("V", "5"), ("IV", "4"),
     ("III", "3"), ("EURO 6 AP", "6"), ("EURO VI C", "6"), ("EURO 5 A", "5"), ("0", "0"), ("A", "4"),
     ("E", "5"), ("EEV", "5"), ("R", None), ("Z", None), ("", None), ("12", None)],
)  # fmt: skip
def test_parse_emission_class(text: str, expected: str | None) -> None:
    """RDW emission values (digits, Euro text, roman numerals, old letters) parse to a class or None."""
    found = parse_emission_class(text)
    assert (None if found is None else found.value) == expected


def test_det_falls_back_to_the_dt_column(tmp_path: Path) -> None:
    """Without datum_eerste_toelating the ISO datum_eerste_toelating_dt is used."""
    r = load_one(tmp_path, vehicle_line(det="", det_dt="2018-03-01T00:00:00.000"))
    assert r["first_admission"] == date(2018, 3, 1)


def test_tmm_falls_back_to_technical_mass_with_warning(tmp_path: Path) -> None:
    """Without a TMM the technical maximum mass is used and a warning names the plate."""
    v = write_csv(tmp_path / "v.csv", VEHICLE_HEADER, [vehicle_line(tmm="", technical="3100")])
    load = load_rdw([v])
    assert load.vehicles.row(0, named=True)["max_mass_kg"] == 3100
    assert any("technische_max_massa_voertuig" in w and "VQ111B" in w for w in load.warnings)


def test_missing_fuel_file_is_a_warning(tmp_path: Path) -> None:
    """A load with only the vehicles file works and says that no fuel file was given."""
    v = write_csv(tmp_path / "v.csv", VEHICLE_HEADER, [vehicle_line()])
    load = load_rdw([v])
    assert load.vehicles.row(0, named=True)["fuels"] == ["other"]
    assert any("no fuel file" in w for w in load.warnings)


def test_rows_for_unknown_plates_are_ignored_with_warning(tmp_path: Path) -> None:
    """Fuel rows for a plate missing from the vehicles file do not create vehicles."""
    v = write_csv(tmp_path / "v.csv", VEHICLE_HEADER, [vehicle_line()])
    f = write_csv(tmp_path / "f.csv", FUEL_HEADER, [["VQ111B", "1", "Diesel", "6"], ["VQ999Z", "1", "Diesel", "6"]])
    load = load_rdw([v, f])
    assert load.vehicles.get_column("plate").to_list() == ["VQ111B"]
    assert any("VQ999Z" in w for w in load.warnings)


def test_warnings_are_aggregated(tmp_path: Path) -> None:
    """Many rows with the same gap give one warning with the count."""
    rows = [vehicle_line(plate=f"VQ{i:03d}B") for i in range(8)]
    load = load_rdw([write_csv(tmp_path / "v.csv", VEHICLE_HEADER, rows)])
    no_fuel = [w for w in load.warnings if w.startswith("no fuel rows")]
    assert len(no_fuel) == 1
    assert "8 row(s)" in no_fuel[0]


def test_normalise_column() -> None:
    """Header cells become API field names: BOM, case, spaces and punctuation are normalised."""
    assert normalise_column("\ufeffKenteken") == "kenteken"
    assert normalise_column("Technische max. massa voertuig") == "technische_max_massa_voertuig"
    assert normalise_column(" Emissieklasse ") == "emissiecode_omschrijving"


# --------------------------------------------------------------------------- errors


def test_missing_kenteken_column(tmp_path: Path) -> None:
    """A file without a kenteken column is refused naming the file, the header line and the column."""
    path = write_csv(tmp_path / "v.csv", ["voertuigsoort", "lengte"], [["Bedrijfsauto", "500"]])
    with pytest.raises(SourceError) as err:
        load_rdw([path])
    assert err.value.details["file"] == str(path)
    assert err.value.details["line"] == 1
    assert err.value.details["column"] == "kenteken"
    assert "kenteken" in err.value.details["expected"]


def test_unknown_dataset(tmp_path: Path) -> None:
    """A file whose columns match no RDW dataset is refused, saying which columns were expected."""
    path = write_csv(tmp_path / "x.csv", ["kenteken", "kleur"], [["VQ111B", "rood"]])
    with pytest.raises(SourceError) as err:
        load_rdw([path])
    assert err.value.details["file"] == str(path)
    assert err.value.details["line"] == 1
    assert "voertuigsoort" in err.value.details["expected"]
    assert "match no known RDW dataset" in str(err.value)


def test_malformed_plate_names_file_line_and_column(tmp_path: Path) -> None:
    """A malformed kenteken on the third data row is reported at CSV line 4, column kenteken."""
    rows = [vehicle_line(plate="VQ111B"), vehicle_line(plate="VQ222B"), vehicle_line(plate="VQ-1")]
    path = write_csv(tmp_path / "v.csv", VEHICLE_HEADER, rows)
    with pytest.raises(SourceError) as err:
        load_rdw([path])
    details = err.value.details
    assert (details["file"], details["line"], details["column"], details["value"]) == (str(path), 4, "kenteken", "VQ-1")
    assert "line 4" in str(err.value)


def test_malformed_plate_in_a_fuel_file(tmp_path: Path) -> None:
    """A malformed plate in a sub-dataset is refused too."""
    v = write_csv(tmp_path / "v.csv", VEHICLE_HEADER, [vehicle_line()])
    f = write_csv(tmp_path / "f.csv", FUEL_HEADER, [["VQ111B", "1", "Diesel", "6"], ["1234567", "1", "Diesel", "6"]])
    with pytest.raises(SourceError) as err:
        load_rdw([v, f])
    assert (err.value.details["file"], err.value.details["line"]) == (str(f), 3)


def test_unparsable_date_names_file_line_and_column(tmp_path: Path) -> None:
    """An impossible DET (2019-02-30) is reported with its line and column."""
    path = write_csv(tmp_path / "v.csv", VEHICLE_HEADER, [vehicle_line(), vehicle_line(plate="VQ333B", det="20190230")])
    with pytest.raises(SourceError) as err:
        load_rdw([path])
    details = err.value.details
    assert (details["line"], details["column"], details["value"]) == (3, "datum_eerste_toelating", "20190230")
    assert details["expected"] == "YYYYMMDD"


def test_text_date_is_refused(tmp_path: Path) -> None:
    """A DET written as '1 maart 2019' is refused."""
    path = write_csv(tmp_path / "v.csv", VEHICLE_HEADER, [vehicle_line(det="1 maart 2019")])
    with pytest.raises(SourceError) as err:
        load_rdw([path])
    assert err.value.details["column"] == "datum_eerste_toelating"


def test_missing_date_is_refused(tmp_path: Path) -> None:
    """A vehicle without any DET is refused naming the column."""
    path = write_csv(tmp_path / "v.csv", VEHICLE_HEADER, [vehicle_line(det="")])
    with pytest.raises(SourceError) as err:
        load_rdw([path])
    assert (err.value.details["line"], err.value.details["column"]) == (2, "datum_eerste_toelating")


def test_non_numeric_mass_is_refused(tmp_path: Path) -> None:
    """A TMM that is not a number is refused naming the column."""
    path = write_csv(tmp_path / "v.csv", VEHICLE_HEADER, [vehicle_line(tmm="zwaar")])
    with pytest.raises(SourceError) as err:
        load_rdw([path])
    assert (err.value.details["line"], err.value.details["column"]) == (2, "toegestane_maximum_massa_voertuig")


def test_out_of_range_size_is_refused(tmp_path: Path) -> None:
    """A length of 5,000 cm (50 m) is refused naming the lengte column."""
    path = write_csv(tmp_path / "v.csv", VEHICLE_HEADER, [vehicle_line(length_cm="5000")])
    with pytest.raises(SourceError) as err:
        load_rdw([path])
    assert (err.value.details["line"], err.value.details["column"]) == (2, "lengte")


def test_truncated_csv_row(tmp_path: Path) -> None:
    """A file cut off mid-row (too few fields) names the line and the first missing column."""
    path = tmp_path / "v.csv"
    full = ",".join(vehicle_line())
    path.write_text(",".join(VEHICLE_HEADER) + "\n" + full + "\n" + full.replace("VQ111B", "VQ222B")[:30])
    with pytest.raises(SourceError) as err:
        load_rdw([path])
    details = err.value.details
    assert details["file"] == str(path)
    assert details["line"] == 3
    assert details["column"] == VEHICLE_HEADER[len(full[:30].split(","))]
    assert "truncated" in str(err.value)


def test_csv_row_with_too_many_fields(tmp_path: Path) -> None:
    """A row with more fields than the header is refused at its line."""
    path = write_csv(tmp_path / "f.csv", FUEL_HEADER, [["VQ111B", "1", "Diesel", "6", "extra"]])
    with pytest.raises(SourceError) as err:
        load_rdw([path])
    assert err.value.details["line"] == 2
    assert err.value.details["expected"] == "4 fields per row"


def test_unterminated_quote(tmp_path: Path) -> None:
    """A file cut off inside a quoted field is refused as malformed at its line."""
    path = tmp_path / "v.csv"
    path.write_text(",".join(VEHICLE_HEADER) + '\nVQ111B,"Bedrijfsauto')
    with pytest.raises(SourceError) as err:
        load_rdw([path])
    assert err.value.details["line"] == 2
    assert "malformed CSV" in str(err.value)


def test_truncated_json(tmp_path: Path) -> None:
    """A JSON export cut off mid-way is refused naming the file and the line."""
    text = (FIXTURES / "voertuigen.json").read_text()
    path = tmp_path / "v.json"
    path.write_text(text[: len(text) // 2])
    with pytest.raises(SourceError) as err:
        load_rdw([path])
    assert err.value.details["file"] == str(path)
    assert err.value.details["line"] > 1
    assert err.value.details["expected"] == "JSON"


def test_json_that_is_not_an_array(tmp_path: Path) -> None:
    """A JSON object (e.g. a Socrata error reply) is refused: an array of objects is expected."""
    path = tmp_path / "v.json"
    path.write_text(json.dumps({"error": True, "message": "query timeout"}))
    with pytest.raises(SourceError) as err:
        load_rdw([path])
    assert "array" in err.value.details["expected"]


def test_json_item_that_is_not_an_object(tmp_path: Path) -> None:
    """A non-object array item is refused naming its index."""
    path = tmp_path / "v.json"
    path.write_text(json.dumps([{"kenteken": "VQ111B", "voertuigsoort": "Bedrijfsauto"}, "VQ222B"]))
    with pytest.raises(SourceError) as err:
        load_rdw([path])
    assert err.value.details["index"] == 1


def test_json_item_without_kenteken(tmp_path: Path) -> None:
    """An object without kenteken is refused naming its index and the column."""
    items = json.loads((FIXTURES / "voertuigen.json").read_text())
    del items[1]["kenteken"]
    path = tmp_path / "v.json"
    path.write_text(json.dumps(items))
    with pytest.raises(SourceError) as err:
        load_rdw([path])
    assert (err.value.details["index"], err.value.details["column"]) == (1, "kenteken")
    assert "item [1]" in str(err.value)


def test_json_bad_date_names_the_index(tmp_path: Path) -> None:
    """An unparsable DET in JSON is reported with the array index and the column."""
    items = json.loads((FIXTURES / "voertuigen.json").read_text())
    items[0]["datum_eerste_toelating"] = "2023-13-45"
    path = tmp_path / "v.json"
    path.write_text(json.dumps(items))
    with pytest.raises(SourceError) as err:
        load_rdw([path])
    assert (err.value.details["index"], err.value.details["column"]) == (0, "datum_eerste_toelating")


def test_duplicate_plate_in_vehicles(tmp_path: Path) -> None:
    """The same plate twice in the vehicles dataset is refused at the second occurrence."""
    path = write_csv(tmp_path / "v.csv", VEHICLE_HEADER, [vehicle_line(), vehicle_line(plate="vq-111-b")])
    with pytest.raises(SourceError) as err:
        load_rdw([path])
    assert (err.value.details["line"], err.value.details["column"]) == (3, "kenteken")


def test_no_vehicles_file(tmp_path: Path) -> None:
    """A load with fuel rows but no vehicles dataset is refused."""
    f = write_csv(tmp_path / "f.csv", FUEL_HEADER, [["VQ111B", "1", "Diesel", "6"]])
    with pytest.raises(SourceError) as err:
        load_rdw([f])
    assert "m9d7-ebf2" in str(err.value)


def test_no_files() -> None:
    """An empty list of paths is refused."""
    with pytest.raises(SourceError):
        load_rdw([])


def test_missing_file(tmp_path: Path) -> None:
    """A path that does not exist is refused naming it."""
    with pytest.raises(SourceError) as err:
        load_rdw([tmp_path / "absent.csv"])
    assert err.value.details["file"] == str(tmp_path / "absent.csv")


def test_empty_file(tmp_path: Path) -> None:
    """A zero-byte file is refused: a header row was expected."""
    path = tmp_path / "v.csv"
    path.write_bytes(b"")
    with pytest.raises(SourceError) as err:
        load_rdw([path])
    assert err.value.details["line"] == 1


def test_not_utf8(tmp_path: Path) -> None:
    """A Latin-1 file is refused naming the line with the bad byte."""
    path = tmp_path / "v.csv"
    path.write_bytes(
        (",".join(VEHICLE_HEADER) + "\n").encode() + ",".join(vehicle_line(inrichting="caf\xe9")).encode("latin-1")
    )
    with pytest.raises(SourceError) as err:
        load_rdw([path])
    assert err.value.details["line"] == 2


def test_special_dataset_without_code_column(tmp_path: Path) -> None:
    """A bijzonderheden file without bijzonderheid_code or code_bijzonderheid is refused."""
    v = write_csv(tmp_path / "v.csv", VEHICLE_HEADER, [vehicle_line()])
    s = write_csv(tmp_path / "s.csv", ["kenteken", "bijzonderheid_volgnummer"], [["VQ111B", "1"]])
    with pytest.raises(SourceError) as err:
        load_rdw([v, s])
    assert err.value.details["column"] == "bijzonderheid_code"


def test_code_bijzonderheid_spelling_is_accepted(tmp_path: Path) -> None:
    """The alternative column name code_bijzonderheid is read as the special code."""
    v = write_csv(tmp_path / "v.csv", VEHICLE_HEADER, [vehicle_line()])
    s = write_csv(tmp_path / "s.csv", ["kenteken", "code_bijzonderheid"], [["VQ111B", "147"]])
    load = load_rdw([v, s])
    assert load.datasets[str(s)] == SPECIAL
    assert load.vehicles.row(0, named=True)["special_codes"] == ["147"]


def test_an_error_in_a_later_file_gives_no_result(tmp_path: Path) -> None:
    """A bad last file makes the whole load fail: no partial result is returned."""
    bad = write_csv(tmp_path / "bad.csv", FUEL_HEADER, [["VQ123B", "1"]])
    result: RdwLoad | None = None
    with pytest.raises(SourceError) as err:
        result = load_rdw([*CSV_SET, bad])
    assert result is None
    assert err.value.details["file"] == str(bad)
