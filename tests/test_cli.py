"""Tests for the ``ruas`` command line: check (JSON, exit codes, boundaries), fleet, zones, import, report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from ruas.cli import app
from ruas.register.store import EMBEDDED_NDW, Register
from ruas_test_support import register_snapshot

TESTS = Path(__file__).resolve().parent
FLEET = TESTS / "fixtures" / "fleet"
GOLDEN = TESTS / "golden"
ZE_AMSTERDAM = "NDW11_64717e49-b364-4001-b6f9-14270d068764"
DAM = "52.3731,4.8926"
OSDORPPLEIN = "52.3590,4.8000"
ZONE_KEYS = {"id", "name", "kind", "allowed", "allowed_until", "allowed_from", "reasons", "exemptions"}

CLASS6_VAN = ["--category", "N1", "--mass", "3000", "--fuel", "diesel", "--emission-class", "6"]
CLASS6_VAN += ["--first-admission", "2019-05-01"]
CLASS5_VAN = ["--category", "N1", "--mass", "3000", "--fuel", "diesel", "--emission-class", "5"]
CLASS5_VAN += ["--first-admission", "2014-09-01"]
CLASS4_VAN = ["--category", "N1", "--mass", "2800", "--fuel", "diesel", "--emission-class", "4"]
CLASS4_VAN += ["--first-admission", "2008-03-10"]
ELECTRIC_VAN = ["--category", "N1", "--mass", "3000", "--fuel", "electric", "--first-admission", "2023-01-01"]


# --------------------------------------------------------------------------- fixtures and helpers


@pytest.fixture
def runner() -> CliRunner:
    """A Typer test runner (stdout and stderr captured separately)."""
    return CliRunner()


def run(runner: CliRunner, *args: str) -> Result:
    """Invoke ``ruas`` with these arguments."""
    return runner.invoke(app, list(args))


def flat(text: str) -> str:
    """Text with every run of whitespace made one space (rich wraps long messages)."""
    return " ".join(text.split())


def check_json(runner: CliRunner, *args: str) -> tuple[int, dict[str, Any]]:
    """Run ``ruas check ... --json`` and return the exit code and the parsed object."""
    result = run(runner, "check", *args, "--json")
    assert result.exit_code in (0, 1), result.stderr
    return result.exit_code, json.loads(result.stdout)


def zone_of(data: dict[str, Any], zone_id: str) -> dict[str, Any]:
    """The zone object with this id in a check answer."""
    found = [z for z in data["zones"] if z["id"] == zone_id]
    assert len(found) == 1, [z["id"] for z in data["zones"]]
    return found[0]


# --------------------------------------------------------------------------- check: JSON shape and exit codes


def test_check_json_has_the_documented_shape(runner: CliRunner, data_dir: Path) -> None:
    """The JSON answer has exactly allowed, at, zones; every zone at least the documented keys."""
    code, data = check_json(runner, *CLASS6_VAN, "--point", DAM, "--at", "2026-06-01T09:00")
    assert code == 0
    assert set(data) == {"allowed", "at", "zones"}
    assert data["at"] == "2026-06-01T09:00:00+02:00"
    assert len(data["zones"]) >= 2
    for zone in data["zones"]:
        assert set(zone) >= ZONE_KEYS, zone["id"]
        assert isinstance(zone["reasons"], list)
        assert zone["reasons"]


def test_check_registered_plate(runner: CliRunner, data_dir: Path) -> None:
    """A registered plate is looked up (the README's VQ39HG) and answered."""
    code, data = check_json(runner, "VQ-39-HG", "--zone", ZE_AMSTERDAM, "--at", "2026-06-01T09:00")
    assert code == 0
    assert zone_of(data, ZE_AMSTERDAM)["allowed_until"] == "2028-01-01T00:00:00+01:00"


def test_check_exit_0_when_allowed(runner: CliRunner, data_dir: Path) -> None:
    """An electric van at the Dam: allowed everywhere, exit 0."""
    code, data = check_json(runner, *ELECTRIC_VAN, "--point", DAM, "--at", "2026-06-01T09:00")
    assert code == 0
    assert data["allowed"] is True
    assert all(z["allowed"] for z in data["zones"])


def test_check_exit_1_when_not_allowed(runner: CliRunner, data_dir: Path) -> None:
    """A class-4 diesel van in ZE Amsterdam: not allowed, exit 1, with reasons and exemptions."""
    code, data = check_json(runner, *CLASS4_VAN, "--zone", ZE_AMSTERDAM, "--at", "2026-06-01T09:00")
    assert code == 1
    assert data["allowed"] is False
    zone = zone_of(data, ZE_AMSTERDAM)
    assert zone["allowed"] is False
    assert zone["access"] == "not_allowed"
    assert zone["exemptions"]


def test_check_human_output(runner: CliRunner, data_dir: Path) -> None:
    """Without --json the answer is a table ending in a plain verdict."""
    result = run(runner, "check", *CLASS4_VAN, "--zone", ZE_AMSTERDAM, "--at", "2026-06-01T09:00")
    assert result.exit_code == 1
    assert "ZE Amsterdam" in result.stdout
    assert "Not allowed here." in result.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["VQ-12", "--zone", ZE_AMSTERDAM], "plate 'VQ-12' is malformed"),
        (["XQ999Z", "--zone", ZE_AMSTERDAM], "plate XQ999Z is not in the vehicle register"),
        ([*ELECTRIC_VAN, "--zone", "no-such-zone"], "zone 'no-such-zone' is not in the register"),
        ([*ELECTRIC_VAN, "--zone", ZE_AMSTERDAM, "--at", "2025-13-01"], "--at: '2025-13-01' is not an ISO-8601"),
        ([*ELECTRIC_VAN, "--point", "95,4.9"], "latitude 95.0 is outside"),
        (ELECTRIC_VAN, "give exactly one place"),
        ([*ELECTRIC_VAN, "--point", DAM, "--zone", ZE_AMSTERDAM], "give exactly one place"),
        (["--category", "N1", "--zone", ZE_AMSTERDAM], "missing --fuel, --first-admission, --emission-class, --mass"),
    ],
    ids=[
        "malformed-plate",
        "unknown-plate",
        "unknown-zone",
        "invalid-at",
        "point-out-of-range",
        "no-place",
        "two-places",
        "missing-flags",
    ],
)
def test_check_bad_input_exits_2(runner: CliRunner, data_dir: Path, args: list[str], expected: str) -> None:
    """Bad input exits 2 with a message on stderr naming the problem, and nothing on stdout."""
    result = run(runner, "check", *args, "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert flat(result.stderr).startswith("error:")
    assert expected in flat(result.stderr)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([*ELECTRIC_VAN, "--zone", "[/x]"], "zone '[/x]' is not in the register"),
        (["[red]ab", "--zone", ZE_AMSTERDAM], "plate '[red]ab' is malformed"),
    ],
    ids=["closing-tag", "style-tag"],
)
def test_check_error_message_with_brackets_exits_2(
    runner: CliRunner, data_dir: Path, args: list[str], expected: str
) -> None:
    """User text that looks like rich markup is shown verbatim in the error, with exit 2."""
    result = run(runner, "check", *args, "--json")
    assert result.exit_code == 2
    assert expected in flat(result.stderr)


# --------------------------------------------------------------------------- check: moments and boundaries


def test_class5_van_just_before_2027(runner: CliRunner, data_dir: Path) -> None:
    """A class-5 diesel van in ZE Amsterdam on 2026-12-31 23:59: allowed until 2027-01-01 00:00."""
    code, data = check_json(runner, *CLASS5_VAN, "--zone", ZE_AMSTERDAM, "--at", "2026-12-31T23:59")
    assert code == 0
    zone = zone_of(data, ZE_AMSTERDAM)
    assert zone["allowed"] is True
    assert zone["allowed_until"] == "2027-01-01T00:00:00+01:00"


def test_class5_van_from_2027(runner: CliRunner, data_dir: Path) -> None:
    """The same van at 2027-01-01 00:00 is refused (exit 1)."""
    code, data = check_json(runner, *CLASS5_VAN, "--zone", ZE_AMSTERDAM, "--at", "2027-01-01T00:00")
    assert code == 1
    zone = zone_of(data, ZE_AMSTERDAM)
    assert zone["allowed"] is False
    assert zone["allowed_until"] is None


def test_class6_van_in_2028_without_proposal(runner: CliRunner, data_dir: Path) -> None:
    """Under the law as it stands a class-6 van is refused in mid-2028; a note tells what the proposal would do."""
    code, data = check_json(runner, *CLASS6_VAN, "--zone", ZE_AMSTERDAM, "--at", "2028-06-01")
    assert code == 1
    zone = zone_of(data, ZE_AMSTERDAM)
    assert any("2029-01-01" in note and "propos" in note for note in zone["notes"])


def test_class6_van_in_2028_with_proposal(runner: CliRunner, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With RUAS_APPLY_PROPOSED=ze-van-class6-2029 the class-6 van is allowed until 2029-01-01."""
    monkeypatch.setenv("RUAS_APPLY_PROPOSED", "ze-van-class6-2029")
    code, data = check_json(runner, *CLASS6_VAN, "--zone", ZE_AMSTERDAM, "--at", "2028-06-01")
    assert code == 0
    zone = zone_of(data, ZE_AMSTERDAM)
    assert zone["allowed"] is True
    assert zone["allowed_until"] == "2029-01-01T00:00:00+01:00"


def test_municipality_with_announced_zone(runner: CliRunner, data_dir: Path) -> None:
    """Almere (GM0034) answers with its announced zone, a note saying so, and exit 0."""
    code, data = check_json(runner, *CLASS4_VAN, "--municipality", "GM0034", "--at", "2029-06-01")
    assert code == 0
    zone = zone_of(data, "almere-ze-2028")
    assert zone["allowed"] is True
    assert any("announced" in note.lower() for note in zone["notes"])


def test_unknown_municipality_exits_2(runner: CliRunner, data_dir: Path) -> None:
    """An unknown CBS code exits 2 naming it."""
    result = run(runner, "check", *ELECTRIC_VAN, "--municipality", "GM9999", "--json")
    assert result.exit_code == 2
    assert "GM9999" in flat(result.stderr)


def test_osdorpplein_inside_the_window(runner: CliRunner, data_dir: Path) -> None:
    """Tuesday 08:00 at Osdorpplein: allowed until 11:00."""
    code, data = check_json(runner, *ELECTRIC_VAN, "--point", OSDORPPLEIN, "--at", "2025-06-03T08:00")
    assert code == 0
    zone = zone_of(data, "ams-osdorpplein")
    assert zone["kind"] == "time_window"
    assert zone["allowed_until"] == "2025-06-03T11:00:00+02:00"


def test_osdorpplein_after_the_window(runner: CliRunner, data_dir: Path) -> None:
    """Tuesday 12:00 at Osdorpplein: refused, allowed from Wednesday 07:00."""
    code, data = check_json(runner, *ELECTRIC_VAN, "--point", OSDORPPLEIN, "--at", "2025-06-03T12:00")
    assert code == 1
    zone = zone_of(data, "ams-osdorpplein")
    assert zone["allowed"] is False
    assert zone["allowed_from"] == "2025-06-04T07:00:00+02:00"


def test_osdorpplein_closed_on_kings_day(runner: CliRunner, data_dir: Path) -> None:
    """Koningsdag 2025-04-26 (a Saturday, a public holiday) 08:00: closed; open again Monday 07:00."""
    code, data = check_json(runner, *ELECTRIC_VAN, "--point", OSDORPPLEIN, "--at", "2025-04-26T08:00")
    assert code == 1
    zone = zone_of(data, "ams-osdorpplein")
    assert zone["allowed"] is False
    assert zone["allowed_from"] == "2025-04-28T07:00:00+02:00"
    code, data = check_json(runner, *ELECTRIC_VAN, "--point", OSDORPPLEIN, "--at", "2025-04-19T08:00")
    assert code == 0, "an ordinary Saturday at 08:00 is inside the window"


# --------------------------------------------------------------------------- golden file and subprocess


def test_golden_check_van_at_the_dam(runner: CliRunner, data_dir: Path) -> None:
    """The JSON for a class-6 van at the Dam on 2026-06-01 09:00 matches tests/golden/check_van_dam.json."""
    result = run(runner, "check", *CLASS6_VAN, "--point", DAM, "--at", "2026-06-01T09:00", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    golden = GOLDEN / "check_van_dam.json"
    if os.environ.get("RUAS_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert golden.exists(), "run once with RUAS_UPDATE_GOLDEN=1 to create the golden file"
    assert data == json.loads(golden.read_text(encoding="utf-8"))


def test_subprocess_check_prints_exactly_one_json_object(data_dir: Path) -> None:
    """The installed console script prints one JSON object and nothing else on stdout."""
    script = Path(sys.executable).with_name("ruas")
    assert script.exists(), f"console script not installed next to {sys.executable}: run `make` (pip install -e)"
    env = {**os.environ, "RUAS_DATA_DIR": str(data_dir)}
    env.pop("RUAS_APPLY_PROPOSED", None)
    args = [str(script), "check", *CLASS6_VAN, "--point", DAM, "--at", "2026-06-01T09:00", "--json"]
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.endswith("\n")
    assert proc.stdout.count("\n") == 1
    data, end = json.JSONDecoder().raw_decode(proc.stdout)
    assert isinstance(data, dict)
    assert proc.stdout[end:] == "\n"


# --------------------------------------------------------------------------- fleet


def test_fleet_csv(runner: CliRunner, data_dir: Path) -> None:
    """--format csv prints a header with zone names and one row per vehicle."""
    result = run(runner, "fleet", str(FLEET / "vehicles_attributes.csv"), "--from", "2025-01-01", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("plate,vehicle,")
    assert "ZE Amsterdam" in lines[0]
    assert [line.split(",")[0] for line in lines[1:]] == ["LINE2", "LINE3", "LINE4", "LINE5"]
    assert "allowed until 2028-01-01, then not allowed" in lines[1]


def test_fleet_json(runner: CliRunner, data_dir: Path) -> None:
    """--format json prints one object with period, zones, vehicles, segments and a summary."""
    result = run(runner, "fleet", str(FLEET / "vehicles_attributes.csv"), "--from", "2025-01-01", "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"period", "zones", "vehicles", "segments", "summary"}
    assert data["period"]["from"].startswith("2025-01-01T00:00:00")
    vehicles = {v["plate"]: v for v in data["vehicles"]}
    assert vehicles["LINE2"]["zones"][ZE_AMSTERDAM] == "allowed until 2028-01-01, then not allowed"
    assert vehicles["LINE3"]["zones"][ZE_AMSTERDAM] == "allowed"
    assert vehicles["LINE4"]["zones"][ZE_AMSTERDAM] == "not allowed"
    ze_summary = {r["year"]: r["vehicles"] for r in data["summary"] if r["zone_id"] == ZE_AMSTERDAM}
    assert ze_summary == {2025: 1, 2027: 1, 2028: 1}


def test_fleet_markdown(runner: CliRunner, data_dir: Path) -> None:
    """--format md prints a Markdown table and the per-year summary table."""
    result = run(runner, "fleet", str(FLEET / "plates_semicolon_bom.csv"), "--from", "2025-01-01", "--format", "md")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("| plate | vehicle |")
    assert "| VQ39HG |" in result.stdout
    assert "**Vehicles losing access, per year and zone**" in result.stdout
    assert "| year | zone | vehicles |" in result.stdout


def test_fleet_duplicate_plate_warns_on_stderr(runner: CliRunner, data_dir: Path) -> None:
    """A plate listed twice is reported once; a warning on stderr names it, stdout stays clean CSV."""
    result = run(runner, "fleet", str(FLEET / "duplicate_plate.csv"), "--from", "2025-01-01", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    assert [line.split(",")[0] for line in result.stdout.strip().splitlines()[1:]] == ["VQ39HG", "8059QP"]
    assert "warning:" in result.stderr
    assert "VQ39HG" in flat(result.stderr)


def test_fleet_table(runner: CliRunner, data_dir: Path) -> None:
    """The default table format names the vehicles and the summary."""
    result = run(runner, "fleet", str(FLEET / "plates_headerless.csv"), "--from", "2025-01-01")
    assert result.exit_code == 0, result.stderr
    assert "VQ39HG" in result.stdout
    assert "lose it" in flat(result.stdout)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([str(FLEET / "malformed_plate.csv")], "line 3"),
        ([str(FLEET / "unknown_plates.csv")], "2 plate(s) not in the vehicle register"),
        ([str(FLEET / "empty.csv")], "empty"),
        ([str(FLEET / "plates_comma.csv"), "--format", "xml"], "--format 'xml'"),
        ([str(FLEET / "plates_comma.csv"), "--from", "2030-01-01", "--to", "2026-01-01"], "--to must be after"),
    ],
    ids=["malformed-plate", "unknown-plates", "empty", "bad-format", "period-reversed"],
)
def test_fleet_bad_input_exits_2(runner: CliRunner, data_dir: Path, args: list[str], expected: str) -> None:
    """Bad fleet input exits 2 with the problem named on stderr."""
    result = run(runner, "fleet", *args)
    assert result.exit_code == 2
    assert expected in flat(result.stderr)


# --------------------------------------------------------------------------- zones, import, report


def test_zones_json_lists_the_12_zones(runner: CliRunner, data_dir: Path) -> None:
    """`zones --json` lists the 12 zones of the seeded register, illustrative ones flagged."""
    result = run(runner, "zones", "--json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 12
    by_id = {r["id"]: r for r in rows}
    assert by_id[ZE_AMSTERDAM]["from"] == "2025-01-01"
    assert by_id["ams-osdorpplein"]["illustrative"] is True
    assert by_id["almere-ze-2028"]["status"] == "announced"
    assert by_id["almere-ze-2028"]["has_area"] is False


def test_summary_command(runner: CliRunner, data_dir: Path) -> None:
    """`summary` states the number of (synthetic) vehicles."""
    result = run(runner, "summary")
    assert result.exit_code == 0, result.stderr
    assert "100,000 vehicles" in flat(result.stdout)


def test_import_ndw_prints_counts(runner: CliRunner, data_dir: Path, tmp_path: Path) -> None:
    """`import ndw` of the national feed reports 36 added, 0 updated, 6 unchanged and stores 48 zones."""
    feed = tmp_path / "ndw.xml"
    feed.write_bytes(resources.files("ruas").joinpath(EMBEDDED_NDW).read_bytes())
    result = run(runner, "import", "ndw", str(feed))
    assert result.exit_code == 0, result.stderr
    assert "36 added, 0 updated, 6 unchanged" in flat(result.stdout)
    records = Register.open(data_dir).store.load_records()
    assert len(records) == 48


def test_import_ndw_broken_file_exits_2(runner: CliRunner, data_dir: Path, tmp_path: Path) -> None:
    """`import ndw` of a truncated feed exits 2 naming the file and leaves the register unchanged."""
    feed = tmp_path / "cut.xml"
    feed.write_bytes(resources.files("ruas").joinpath(EMBEDDED_NDW).read_bytes()[:5000])
    before = register_snapshot(Register.open(data_dir))
    result = run(runner, "import", "ndw", str(feed))
    assert result.exit_code == 2
    assert "cut.xml" in flat(result.stderr)
    assert register_snapshot(Register.open(data_dir)) == before


def test_import_rdw_prints_counts(runner: CliRunner, data_dir: Path) -> None:
    """`import rdw` of the RDW fixtures reports the 11 vehicles as added or updated."""
    rdw = TESTS / "fixtures" / "rdw"
    result = run(runner, "import", "rdw", str(rdw / "voertuigen.csv"), str(rdw / "brandstof.csv"))
    assert result.exit_code == 0, result.stderr
    text = flat(result.stdout)
    assert text.startswith("RDW import:")
    added = int(text.split(" added")[0].split()[-1])
    updated = int(text.split(" updated")[0].split()[-1])
    assert added + updated == 11


def test_report_consistency_runs(runner: CliRunner, data_dir: Path) -> None:
    """`report consistency` runs on the seeded register and names ZE Amsterdam, in Markdown and as JSON."""
    result = run(runner, "report", "consistency")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("#")
    assert "ZE Amsterdam" in result.stdout
    as_json = run(runner, "report", "consistency", "--json")
    assert as_json.exit_code == 0, as_json.stderr
    assert isinstance(json.loads(as_json.stdout), dict)
