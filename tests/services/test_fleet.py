"""Tests for the fleet report: reading fleet lists as people export them, verdicts and the per-year summary."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from openpyxl import Workbook

from ruas.domain.errors import InvalidInput, SourceError
from ruas.domain.timeutil import LOCAL_TZ
from ruas.register.store import Register
from ruas.rules.frameworks import RuleSettings
from ruas.services.fleet import FleetReport, FleetRow, default_period, fleet_report, read_fleet_file, zone_label

FLEET = Path(__file__).resolve().parents[1] / "fixtures" / "fleet"
ZE_AMSTERDAM = "NDW11_64717e49-b364-4001-b6f9-14270d068764"
LEZ_AMSTERDAM = "NDW11_989846cf-0343-4abc-b169-1a2ddaf497d9"
KNOWN_PLATES = ["VQ39HG", "8059QP", "VQ46HZ"]
START = datetime(2025, 1, 1, tzinfo=LOCAL_TZ)
END = datetime(2031, 1, 1, tzinfo=LOCAL_TZ)


@pytest.fixture
def register(data_dir: Path) -> Register:
    """A fresh copy of the seeded register (set as RUAS_DATA_DIR), opened without proposals."""
    return Register.open(data_dir, RuleSettings())


@pytest.fixture
def hand_built_fleet() -> list[FleetRow]:
    """Four vans from attribute rows: class-6 diesel 2019, electric, class-4 diesel 2008, class-5 diesel 2014."""
    return read_fleet_file(FLEET / "vehicles_attributes.csv")


@pytest.fixture
def fleet_in_ze_amsterdam(register: Register, hand_built_fleet: list[FleetRow]) -> FleetReport:
    """The hand-built fleet's report for ZE Amsterdam and LEZ Amsterdam, 2025-2031."""
    return fleet_report(register, hand_built_fleet, start=START, end=END, zone_ids=[ZE_AMSTERDAM, LEZ_AMSTERDAM])


@pytest.fixture
def xlsx_fleet(tmp_path: Path) -> Path:
    """An Excel workbook with a header, one plate row and one attribute row with a real date cell."""
    wb = Workbook()
    ws = wb.active
    ws.append(["kenteken", "category", "fuel", "emission_class", "first_admission", "mass"])
    ws.append(["VQ-39-HG", None, None, None, None, None])
    ws.append([None, "N1", "diesel", 6, datetime(2019, 5, 1), 3000])
    ws.append([None, None, None, None, None, None])
    path = tmp_path / "fleet.xlsx"
    wb.save(path)
    return path


def plates(rows: list[FleetRow]) -> list[str | None]:
    """The plates of the rows, in order."""
    return [r.given.plate for r in rows]


# --------------------------------------------------------------------------- reading


def test_comma_separated_plates() -> None:
    """A comma-separated file with a kenteken column and a free-text column gives its plates, normalised."""
    rows = read_fleet_file(FLEET / "plates_comma.csv")
    assert plates(rows) == KNOWN_PLATES
    assert [r.line for r in rows] == [2, 3, 4]


def test_semicolon_file_with_bom() -> None:
    """A BOM-prefixed, semicolon-separated CRLF file (Dutch Excel) gives the same plates."""
    rows = read_fleet_file(FLEET / "plates_semicolon_bom.csv")
    assert plates(rows) == KNOWN_PLATES


def test_headerless_plate_list() -> None:
    """A list of plates without a header reads every line, line 1 included."""
    rows = read_fleet_file(FLEET / "plates_headerless.csv")
    assert plates(rows) == KNOWN_PLATES
    assert [r.line for r in rows] == [1, 2, 3]


def test_attribute_rows(hand_built_fleet: list[FleetRow]) -> None:
    """Rows of category;fuel;emission_class;first_admission;mass give vehicle inputs without plates."""
    assert len(hand_built_fleet) == 4
    first = hand_built_fleet[0].given
    assert (first.plate, first.category, first.fuel, first.emission_class) == (None, "N1", "diesel", "6")
    assert (first.first_admission, first.mass_kg) == (date(2019, 5, 1), 3000)
    assert hand_built_fleet[1].given.emission_class is None


def test_xlsx_workbook(xlsx_fleet: Path) -> None:
    """An .xlsx made with openpyxl reads plates and attribute rows, dates from date cells; empty rows skipped."""
    rows = read_fleet_file(xlsx_fleet)
    assert len(rows) == 2
    assert rows[0].given.plate == "VQ39HG"
    attrs = rows[1].given
    assert (attrs.category, attrs.fuel, attrs.emission_class) == ("N1", "diesel", "6")
    assert (attrs.first_admission, attrs.mass_kg) == (date(2019, 5, 1), 3000)
    assert rows[1].line == 3


def test_malformed_plate_names_the_line() -> None:
    """A malformed plate raises SourceError naming the file and line 3."""
    with pytest.raises(SourceError, match="line 3") as info:
        read_fleet_file(FLEET / "malformed_plate.csv")
    assert info.value.details["line"] == 3
    assert "malformed_plate.csv" in info.value.message


def test_wrong_field_count_names_the_line() -> None:
    """A row with more fields than the header raises SourceError naming line 3 and the counts."""
    with pytest.raises(SourceError, match="line 3") as info:
        read_fleet_file(FLEET / "wrong_field_count.csv")
    assert "3 fields" in info.value.message
    assert info.value.details["line"] == 3


def test_empty_file_is_refused() -> None:
    """An empty file raises SourceError saying it is empty."""
    with pytest.raises(SourceError, match="empty"):
        read_fleet_file(FLEET / "empty.csv")


def test_missing_file_is_refused(tmp_path: Path) -> None:
    """A file that does not exist raises SourceError naming it."""
    with pytest.raises(SourceError, match="absent"):
        read_fleet_file(tmp_path / "absent.csv")


def test_unknown_plates_are_listed(register: Register) -> None:
    """Plates not in the register are all listed with their lines, nothing else is reported."""
    rows = read_fleet_file(FLEET / "unknown_plates.csv")
    with pytest.raises(SourceError) as info:
        fleet_report(register, rows, start=START, end=END, file_name="unknown_plates.csv")
    assert "2 plate(s)" in info.value.message
    assert info.value.details["unknown"] == ["line 3: XQ999Z", "line 5: ZX99QQ"]


def test_incomplete_attribute_row_names_the_line(register: Register, tmp_path: Path) -> None:
    """An attribute row missing the mass of a goods vehicle raises SourceError naming line and flag."""
    path = tmp_path / "incomplete.csv"
    path.write_text("category;fuel;emission_class;first_admission;mass\nN1;diesel;6;2019-05-01;\n", encoding="utf-8")
    with pytest.raises(SourceError, match="line 2") as info:
        fleet_report(register, read_fleet_file(path), start=START, end=END, file_name=str(path))
    assert "--mass" in info.value.message


# --------------------------------------------------------------------------- report


def verdict(report: FleetReport, plate: str, zone_id: str) -> str:
    """The report's verdict for one vehicle in one zone."""
    v = report.verdicts().filter((pl.col("plate") == plate) & (pl.col("zone_id") == zone_id))
    assert v.height == 1
    return str(v.item(0, "verdict"))


def test_verdicts_in_ze_amsterdam(fleet_in_ze_amsterdam: FleetReport) -> None:
    """Class-6 van of 2019 until 2028, electric van allowed, class-4 van refused, class-5 van until 2027."""
    assert verdict(fleet_in_ze_amsterdam, "LINE2", ZE_AMSTERDAM) == "allowed until 2028-01-01, then not allowed"
    assert verdict(fleet_in_ze_amsterdam, "LINE3", ZE_AMSTERDAM) == "allowed"
    assert verdict(fleet_in_ze_amsterdam, "LINE4", ZE_AMSTERDAM) == "not allowed"
    assert verdict(fleet_in_ze_amsterdam, "LINE5", ZE_AMSTERDAM) == "allowed until 2027-01-01, then not allowed"


def test_verdicts_in_lez_amsterdam(fleet_in_ze_amsterdam: FleetReport) -> None:
    """Every van of the fleet (class 4 and up) may enter the green milieuzone LEZ Amsterdam."""
    for line in ("LINE2", "LINE3", "LINE4", "LINE5"):
        assert verdict(fleet_in_ze_amsterdam, line, LEZ_AMSTERDAM) == "allowed"


def test_loses_access_dates(fleet_in_ze_amsterdam: FleetReport) -> None:
    """The first refused day: the period's start for the class-4 van, the transition dates for the others."""
    v = fleet_in_ze_amsterdam.verdicts().filter(pl.col("zone_id") == ZE_AMSTERDAM).sort("plate")
    assert dict(zip(v.get_column("plate"), v.get_column("loses_access"), strict=True)) == {
        "LINE2": date(2028, 1, 1),
        "LINE3": None,
        "LINE4": date(2025, 1, 1),
        "LINE5": date(2027, 1, 1),
    }


def test_summary_counts_per_year(fleet_in_ze_amsterdam: FleetReport) -> None:
    """One van loses ZE Amsterdam in each of 2025, 2027 and 2028; none loses LEZ Amsterdam."""
    summary = fleet_in_ze_amsterdam.summary()
    assert summary.to_dicts() == [
        {"zone_id": ZE_AMSTERDAM, "year": 2025, "vehicles": 1},
        {"zone_id": ZE_AMSTERDAM, "year": 2027, "vehicles": 1},
        {"zone_id": ZE_AMSTERDAM, "year": 2028, "vehicles": 1},
    ]


def test_report_describes_every_vehicle(fleet_in_ze_amsterdam: FleetReport) -> None:
    """Rows without plates get line labels and a description; the zones carry their names."""
    assert fleet_in_ze_amsterdam.vehicles.get_column("plate").to_list() == ["LINE2", "LINE3", "LINE4", "LINE5"]
    assert "class 6" in fleet_in_ze_amsterdam.vehicles.item(0, "vehicle")
    assert [z[1] for z in fleet_in_ze_amsterdam.zones] == ["ZE Amsterdam", "LEZ Amsterdam"]


def test_default_zones_leave_out_time_windows(register: Register) -> None:
    """Without zone ids the report covers every zone except the delivery windows (10 of 12)."""
    report = fleet_report(register, read_fleet_file(FLEET / "plates_comma.csv"), start=START, end=END)
    ids = [z[0] for z in report.zones]
    assert len(ids) == 10
    assert "ams-osdorpplein" not in ids
    assert "alk-winkelhart" not in ids
    assert set(report.verdicts().get_column("plate").to_list()) == set(KNOWN_PLATES)


def test_announced_zone_verdict(register: Register, hand_built_fleet: list[FleetRow]) -> None:
    """The electric van stays allowed in announced ZE Almere; the class-6 van would lose it at its start."""
    report = fleet_report(register, hand_built_fleet, start=START, end=END, zone_ids=["almere-ze-2028"])
    assert verdict(report, "LINE3", "almere-ze-2028") == "allowed"
    assert verdict(report, "LINE2", "almere-ze-2028") == "allowed until 2028-01-01, then not allowed"


def test_end_before_start_is_refused(register: Register, hand_built_fleet: list[FleetRow]) -> None:
    """A period that ends before it starts raises InvalidInput."""
    with pytest.raises(InvalidInput, match="--to"):
        fleet_report(register, hand_built_fleet, start=END, end=START)


def test_duplicate_plate_is_reported_once_with_a_warning(register: Register) -> None:
    """A plate listed twice (VQ39HG on line 2, VQ-39-HG on line 4) is reported once, with a warning naming both."""
    rows = read_fleet_file(FLEET / "duplicate_plate.csv")
    report = fleet_report(register, rows, start=START, end=END, zone_ids=[ZE_AMSTERDAM])
    assert report.vehicles.get_column("plate").to_list() == ["VQ39HG", "8059QP"]
    assert verdict(report, "VQ39HG", ZE_AMSTERDAM) == "allowed until 2028-01-01, then not allowed"
    assert len(report.warnings) == 1
    assert "VQ39HG" in report.warnings[0]
    assert re.search(r"\b2\b.*\b4\b", report.warnings[0])


def test_distinct_plates_give_no_warnings(fleet_in_ze_amsterdam: FleetReport) -> None:
    """A fleet without repeated plates has no warnings."""
    assert fleet_in_ze_amsterdam.warnings == ()


def test_zone_label_marks_announced_zones() -> None:
    """Announced zones get '(announced)' unless their name says so already."""
    assert zone_label("ZE Amsterdam extension to the A10 (intended)", "announced").endswith("(announced)")
    assert zone_label("ZE Almere (announced)", "announced") == "ZE Almere (announced)"
    assert zone_label("ZE Amsterdam", "in_force") == "ZE Amsterdam"


def test_default_period_runs_to_2031() -> None:
    """The default period starts at today's local midnight and ends on 2031-01-01."""
    start, end = default_period(date(2025, 3, 4))
    assert start == datetime(2025, 3, 4, tzinfo=LOCAL_TZ)
    assert end == END
