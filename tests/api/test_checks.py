"""``POST /checks`` and ``POST /checks/fleet`` over HTTP on both backends: the answer is exactly what
``ruas check --json`` prints, moments at their boundaries, problem details naming the field, and the rate
limit on anonymous checks.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from typer.testing import CliRunner

from ruas.cli import app as cli

CHECKS = "/api/v1/checks"
FLEET = "/api/v1/checks/fleet"
ZE_AMSTERDAM = "NDW11_64717e49-b364-4001-b6f9-14270d068764"
DAM = [52.3731, 4.8926]
OSDORPPLEIN = [52.3590, 4.8000]
OUTSIDE_ZONES = [52.6500, 5.0500]  # open country north of Amsterdam
PLATE = "VQ39HG"

CLASS5_VAN = {"category": "N1", "mass_kg": 3000, "fuel": "diesel", "emission_class": "5"}
CLASS5_VAN |= {"first_admission": "2014-09-01"}
CLASS6_VAN = {"category": "N1", "mass_kg": 3000, "fuel": "diesel", "emission_class": "6"}
CLASS6_VAN |= {"first_admission": "2019-05-01"}
HEAVY_TRUCK = {"category": "N3", "mass_kg": 32000, "fuel": "diesel", "emission_class": "6"}
HEAVY_TRUCK |= {"first_admission": "2018-03-01", "length_m": 12.5}
ELECTRIC_VAN = {"category": "N1", "mass_kg": 3000, "fuel": "electric", "first_admission": "2023-01-01"}

Problem = Callable[..., dict[str, Any]]
FLAGS = {
    "mass_kg": "--mass",
    "category": "--category",
    "body": "--body",
    "fuel": "--fuel",
    "emission_class": "--emission-class",
    "first_admission": "--first-admission",
    "length_m": "--length",
    "width_m": "--width",
    "height_m": "--height",
}


def cli_args(body: dict[str, Any]) -> list[str]:
    """The ``ruas check`` arguments for a ``POST /checks`` body."""
    args = [body["plate"]] if body.get("plate") else []
    for key, value in (body.get("vehicle") or {}).items():
        if key in FLAGS:
            args += [FLAGS[key], str(value)]
        else:  # body_codes / special_codes: repeatable flags
            flag = "--body-code" if key == "body_codes" else "--special-code"
            for code in value:
                args += [flag, code]
    if "point" in body:
        args += ["--point", f"{body['point'][0]},{body['point'][1]}"]
    for key in ("zone", "municipality", "at"):
        if key in body:
            args += [f"--{key}", body[key]]
    return args


def cli_check(body: dict[str, Any]) -> dict[str, Any]:
    """What ``ruas check ... --json`` prints for the same input, on the same register (RUAS_DATA_DIR)."""
    result = CliRunner().invoke(cli, ["check", *cli_args(body), "--json"])
    assert result.exit_code in (0, 1), result.output
    data: dict[str, Any] = json.loads(result.stdout)
    assert result.exit_code == (0 if data["allowed"] else 1)
    return data


def zone_of(data: dict[str, Any], zone_id: str) -> dict[str, Any]:
    """The zone object with this id in a check answer."""
    found = [z for z in data["zones"] if z["id"] == zone_id]
    assert len(found) == 1, [z["id"] for z in data["zones"]]
    return found[0]


# --------------------------------------------------------------------------- the answer equals the CLI's


SAME_AS_CLI = {
    "plate-at-point": {"plate": PLATE, "point": DAM, "at": "2026-06-01T09:00"},
    "plate-with-dashes-at-zone": {"plate": "vq-39-hg", "zone": ZE_AMSTERDAM, "at": "2027-12-31T23:59"},
    "plate-with-override": {"plate": PLATE, "vehicle": {"fuel": "electric"}, "point": DAM, "at": "2026-06-01"},
    "attributes-at-zone": {"vehicle": CLASS6_VAN, "zone": ZE_AMSTERDAM, "at": "2027-12-31T23:59"},
    "attributes-at-municipality": {"vehicle": HEAVY_TRUCK, "municipality": "GM0363", "at": "2026-03-02T10:00"},
    "delivery-window": {"vehicle": HEAVY_TRUCK, "point": OSDORPPLEIN, "at": "2026-03-02T06:30+01:00"},
    "codes": {"vehicle": {**ELECTRIC_VAN, "body_codes": ["BB"], "special_codes": ["70"]}, "point": DAM},
    "utc-moment": {"vehicle": CLASS5_VAN, "zone": ZE_AMSTERDAM, "at": "2026-12-31T22:59:00Z"},
    "no-zone-here": {"vehicle": CLASS5_VAN, "point": OUTSIDE_ZONES, "at": "2026-06-01T09:00"},
}


@pytest.mark.parametrize("body", SAME_AS_CLI.values(), ids=SAME_AS_CLI.keys())
def test_check_answer_equals_the_cli_json(app_client: TestClient, body: dict[str, Any]) -> None:
    """The response is exactly the object ``ruas check --json`` prints for the same input."""
    if "at" not in body:
        body = {**body, "at": "2026-06-01T12:00"}  # both sides must decide for the same moment
    response = app_client.post(CHECKS, json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == "application/json"
    assert response.json() == cli_check(body)


def test_check_by_plate_names_zones_reasons_and_exemptions(app_client: TestClient) -> None:
    """A registered class-6 van at the Dam may enter ZE Amsterdam until 2028, with the transition rule as reason."""
    data = app_client.post(CHECKS, json={"plate": PLATE, "point": DAM, "at": "2026-06-01T09:00"}).json()
    assert set(data) == {"allowed", "at", "zones"}
    assert data["allowed"] is True and data["at"] == "2026-06-01T09:00:00+02:00"
    zone = zone_of(data, ZE_AMSTERDAM)
    assert zone["allowed_until"] == "2028-01-01T00:00:00+01:00"
    assert zone["access"] == "allowed" and zone["reasons"] and zone["exemptions"]


def test_check_by_attributes_refuses_an_old_diesel_van(app_client: TestClient) -> None:
    """A class-4 diesel van is refused in ZE Amsterdam, with the exemptions that could help."""
    van = {"category": "N1", "mass_kg": 2800, "fuel": "diesel", "emission_class": "4", "first_admission": "2008-03-10"}
    data = app_client.post(CHECKS, json={"vehicle": van, "zone": ZE_AMSTERDAM, "at": "2026-06-01T09:00"}).json()
    zone = zone_of(data, ZE_AMSTERDAM)
    assert data["allowed"] is False and zone["access"] == "not_allowed" and zone["exemptions"]


def test_check_without_moment_is_decided_now(app_client: TestClient) -> None:
    """Without ``at`` the check is decided for the current moment (Amsterdam time)."""
    data = app_client.post(CHECKS, json={"vehicle": ELECTRIC_VAN, "point": DAM}).json()
    assert data["allowed"] is True
    assert data["at"][-6:] in ("+01:00", "+02:00")


def test_check_at_a_municipality_lists_its_zones(app_client: TestClient) -> None:
    """A check at a municipality answers for every zone it governs, announced ones included."""
    data = app_client.post(CHECKS, json={"vehicle": ELECTRIC_VAN, "municipality": "gm0363", "at": "2026-06-01"}).json()
    assert len(data["zones"]) == 6
    assert "ams-ze-a10-2028" in {z["id"] for z in data["zones"]}


# --------------------------------------------------------------------------- `at` boundaries


def test_class5_van_allowed_until_new_year_2027(app_client: TestClient) -> None:
    """A class-5 diesel van in ZE Amsterdam at 2026-12-31 23:59 is allowed, until 2027-01-01 00:00."""
    body = {"vehicle": CLASS5_VAN, "zone": ZE_AMSTERDAM, "at": "2026-12-31T23:59"}
    data = app_client.post(CHECKS, json=body).json()
    zone = zone_of(data, ZE_AMSTERDAM)
    assert data["allowed"] is True and zone["allowed"] is True
    assert zone["allowed_until"] == "2027-01-01T00:00:00+01:00"
    assert data == cli_check(body)


def test_class5_van_refused_from_new_year_2027(app_client: TestClient) -> None:
    """The same van at 2027-01-01 00:00 is not allowed (and never will be without an exemption)."""
    body = {"vehicle": CLASS5_VAN, "zone": ZE_AMSTERDAM, "at": "2027-01-01T00:00"}
    data = app_client.post(CHECKS, json=body).json()
    zone = zone_of(data, ZE_AMSTERDAM)
    assert data["allowed"] is False and zone["allowed"] is False and zone["access"] == "not_allowed"
    assert zone["allowed_until"] is None
    assert data == cli_check(body)


def test_the_boundary_holds_in_utc_too(app_client: TestClient) -> None:
    """2026-12-31T22:59Z is still 2026 in Amsterdam (allowed); 23:00Z is 2027 (refused)."""
    before = app_client.post(CHECKS, json={"vehicle": CLASS5_VAN, "zone": ZE_AMSTERDAM, "at": "2026-12-31T22:59Z"})
    after = app_client.post(CHECKS, json={"vehicle": CLASS5_VAN, "zone": ZE_AMSTERDAM, "at": "2026-12-31T23:00Z"})
    assert before.json()["allowed"] is True and after.json()["allowed"] is False


@pytest.mark.parametrize(
    ("field", "value"),
    [("at", "9999-12-31T23:59"), ("first_admission", "9999-12-31")],
    ids=["moment-in-year-9999", "first-admission-in-year-9999"],
)
def test_far_future_dates_are_answered_not_a_server_error(
    backend_dir: Path, client_factory: Callable[..., TestClient], field: str, value: str
) -> None:
    """A valid ISO date near year 9999 is answered (or refused with a 422), never a 500."""
    client = client_factory(backend_dir, raise_server_exceptions=False)
    body: dict[str, Any] = {"vehicle": dict(CLASS5_VAN), "zone": ZE_AMSTERDAM, "at": "2026-01-01"}
    if field == "at":
        body["at"] = value
    else:
        body["vehicle"]["first_admission"] = value
    assert client.post(CHECKS, json=body).status_code in (200, 422)


# --------------------------------------------------------------------------- problem details


PROBLEMS = {
    "malformed-plate": ({"plate": "XX", "zone": ZE_AMSTERDAM}, 422, "plate", "InvalidPlate"),
    "unknown-plate": ({"plate": "12-ABC-3", "zone": ZE_AMSTERDAM}, 404, "plate", "UnknownVehicle"),
    "unknown-zone": ({"vehicle": ELECTRIC_VAN, "zone": "no-such-zone"}, 404, "zone", "UnknownZone"),
    "unknown-municipality": ({"vehicle": ELECTRIC_VAN, "municipality": "GM9999"}, 404, "municipality", None),
    "bad-at": ({"vehicle": ELECTRIC_VAN, "zone": ZE_AMSTERDAM, "at": "2025-13-01"}, 422, "at", "InvalidInput"),
    "words-at": ({"vehicle": ELECTRIC_VAN, "zone": ZE_AMSTERDAM, "at": "tomorrow"}, 422, "at", "InvalidInput"),
    "latitude-out-of-range": ({"vehicle": ELECTRIC_VAN, "point": [95.0, 4.9]}, 422, "point", "InvalidInput"),
    "longitude-out-of-range": ({"vehicle": ELECTRIC_VAN, "point": [52.37, 190.0]}, 422, "point", "InvalidInput"),
    "point-lon-lat-order": ({"vehicle": ELECTRIC_VAN, "point": [4.8926, 52.3731]}, 422, "point", "InvalidInput"),
    "point-one-number": ({"vehicle": ELECTRIC_VAN, "point": [52.37]}, 422, "point", "InvalidInput"),
    "extra-field": ({"plate": PLATE, "zone": ZE_AMSTERDAM, "colour": "red"}, 422, "colour", "InvalidInput"),
    "extra-vehicle-field": ({"vehicle": {**ELECTRIC_VAN, "wheels": 4}, "point": DAM}, 422, "vehicle.wheels", None),
    "missing-place": ({"plate": PLATE}, 422, "place", "InvalidInput"),
    "two-places": ({"plate": PLATE, "point": DAM, "zone": ZE_AMSTERDAM}, 422, "place", "InvalidInput"),
    "missing-attributes": ({"vehicle": {"category": "N1"}, "zone": ZE_AMSTERDAM}, 422, "vehicle", "InvalidInput"),
    "unknown-fuel": ({"vehicle": {**ELECTRIC_VAN, "fuel": "steam"}, "zone": ZE_AMSTERDAM}, 422, "fuel", None),
    "bad-emission-class": (
        {"vehicle": {**CLASS5_VAN, "emission_class": "9"}, "point": DAM},
        422,
        "emission_class",
        None,
    ),
    "mass-not-a-number": ({"vehicle": {**CLASS5_VAN, "mass_kg": "heavy"}, "point": DAM}, 422, "vehicle.mass_kg", None),
    "mass-zero": ({"vehicle": {**CLASS5_VAN, "mass_kg": 0}, "point": DAM}, 422, "vehicle.mass_kg", None),
    "bad-first-admission": (
        {"vehicle": {**CLASS5_VAN, "first_admission": "2014-02-30"}, "point": DAM},
        422,
        "vehicle.first_admission",
        None,
    ),
}


@pytest.mark.parametrize(("body", "status", "field", "title"), PROBLEMS.values(), ids=PROBLEMS.keys())
def test_bad_check_is_a_problem_naming_the_field(
    app_client: TestClient, problem: Problem, body: dict[str, Any], status: int, field: str, title: str | None
) -> None:
    """A bad check is an RFC 9457 problem (application/problem+json) with the status and the field named."""
    found = problem(app_client.post(CHECKS, json=body), status, field=field)
    assert found["type"] == "about:blank"
    if title:
        assert found["title"] == title


def test_body_that_is_not_json_is_a_422_problem(app_client: TestClient, problem: Problem) -> None:
    """A body that does not parse as JSON is a 422 problem, not a server error."""
    response = app_client.post(CHECKS, content=b"{plate: VQ39HG", headers={"Content-Type": "application/json"})
    problem(response, 422)


def test_a_failed_check_changes_nothing_visible(app_client: TestClient) -> None:
    """After refused checks the same valid check gives the same answer as before."""
    good = {"plate": PLATE, "point": DAM, "at": "2026-06-01T09:00"}
    first = app_client.post(CHECKS, json=good).json()
    for body, *_ in PROBLEMS.values():
        app_client.post(CHECKS, json=body)
    assert app_client.post(CHECKS, json=good).json() == first


# --------------------------------------------------------------------------- rate limit


def test_anonymous_checks_are_rate_limited(
    backend_dir: Path, client_factory: Callable[..., TestClient], problem: Problem
) -> None:
    """With 3 anonymous checks a minute, the 4th quick check is a 429 problem naming the rate limit."""
    client = client_factory(backend_dir, anonymous_checks_per_minute=3)
    body = {"vehicle": ELECTRIC_VAN, "point": DAM, "at": "2026-06-01T09:00"}
    assert [client.post(CHECKS, json=body).status_code for _ in range(3)] == [200, 200, 200]
    found = problem(client.post(CHECKS, json=body), 429, field="rate_limit")
    assert "token" in found["detail"]


def test_bearer_token_checks_are_not_rate_limited(
    backend_dir: Path, client_factory: Callable[..., TestClient], make_user: Callable[..., Any]
) -> None:
    """A check with a bearer token still passes after the anonymous allowance is spent."""
    client = client_factory(backend_dir, anonymous_checks_per_minute=3)
    carrier = make_user("carrier-one", "applicant", kvk="87654321", token=True)
    body = {"vehicle": ELECTRIC_VAN, "point": DAM, "at": "2026-06-01T09:00"}
    for _ in range(4):
        client.post(CHECKS, json=body)
    assert client.post(CHECKS, json=body).status_code == 429
    assert [client.post(CHECKS, json=body, headers=carrier.headers).status_code for _ in range(5)] == [200] * 5


def test_anonymous_fleet_checks_share_the_limit(backend_dir: Path, client_factory: Callable[..., TestClient]) -> None:
    """Fleet checks by anonymous callers spend the same allowance."""
    client = client_factory(backend_dir, anonymous_checks_per_minute=2)
    fleet = {"vehicles": [{"plate": PLATE}], "from": "2026-01-01", "to": "2027-01-01", "zones": [ZE_AMSTERDAM]}
    assert client.post(FLEET, json=fleet).status_code == 200
    assert client.post(CHECKS, json={"plate": PLATE, "point": DAM}).status_code == 200
    assert client.post(FLEET, json=fleet).status_code == 429


def test_invalid_requests_do_not_spend_the_allowance(
    backend_dir: Path, client_factory: Callable[..., TestClient]
) -> None:
    """Requests refused by validation before the check (extra fields) do not count against the limit."""
    client = client_factory(backend_dir, anonymous_checks_per_minute=1)
    for _ in range(3):
        assert client.post(CHECKS, json={"plate": PLATE, "point": DAM, "x": 1}).status_code == 422
    assert client.post(CHECKS, json={"plate": PLATE, "point": DAM}).status_code == 200


# --------------------------------------------------------------------------- database connections per check

POOL_DEADLOCK = (
    "bug: a check with a bearer token (or a session) holds two pooled database connections at once: "
    "api/deps.py get_principal checks the token out on the request's session (get_db, held until after the "
    "response), then routes/checks.py create_check -> build_vehicle -> register/store.py Register.vehicle -> "
    "SqlRegisterStore.vehicle_rows opens a second one with session_scope. With SQLAlchemy's pool (store/db.py "
    "make_engine: 5+10 on SQLite, 10+10 on PostgreSQL) and 40 worker threads, 32 concurrent token checks "
    "(benchmarks/bench_api.py) all hold one and wait for another: every request stalls 30 s and fails with 500 "
    "'QueuePool limit of size 5 overflow 10 reached'; expected one connection per request"
)


@pytest.mark.parametrize("auth", ["anonymous", "token"])
def test_a_check_holds_one_database_connection_at_a_time(
    app_client: TestClient, make_user: Callable[..., Any], auth: str
) -> None:
    """A check by plate (register loaded) never holds two pooled connections at once (else the pool deadlocks)."""
    headers = make_user("pool-carrier", "admin", token=True).headers if auth == "token" else {}
    body = {"plate": PLATE, "point": DAM, "at": "2026-06-01T09:00"}
    assert app_client.post(CHECKS, json=body, headers=headers).status_code == 200  # loads and compiles the register
    engine = app_client.app.state.register.register.store.engine  # type: ignore[attr-defined]
    held = {"now": 0, "most": 0}

    def checkout(*_: Any) -> None:
        held["now"] += 1
        held["most"] = max(held["most"], held["now"])

    def checkin(*_: Any) -> None:
        held["now"] -= 1

    event.listen(engine, "checkout", checkout)
    event.listen(engine, "checkin", checkin)
    try:
        response = app_client.post(
            CHECKS, json={"plate": PLATE, "point": DAM, "at": "2026-06-01T09:00"}, headers=headers
        )
    finally:
        event.remove(engine, "checkout", checkout)
        event.remove(engine, "checkin", checkin)
    assert response.status_code == 200
    assert held["most"] == 1


# --------------------------------------------------------------------------- fleet


def test_fleet_gives_timelines_per_vehicle_and_zone(app_client: TestClient) -> None:
    """A fleet of a plate and an attribute vehicle gets a verdict per vehicle and listed zone, and segments."""
    body = {
        "vehicles": [{"plate": PLATE}, {"vehicle": CLASS5_VAN}],
        "from": "2026-01-01",
        "to": "2031-01-01",
        "zones": [ZE_AMSTERDAM, "ams-s100-heavy"],
    }
    response = app_client.post(FLEET, json=body)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["period"] == {"from": "2026-01-01T00:00:00+01:00", "to": "2031-01-01T00:00:00+01:00"}
    assert [z["id"] for z in data["zones"]] == [ZE_AMSTERDAM, "ams-s100-heavy"]
    assert len(data["vehicles"]) == 2 and data["vehicles"][0]["plate"] == PLATE
    assert len(data["verdicts"]) == 4
    assert {(v["plate"], v["zone_id"]) for v in data["verdicts"]} >= {(PLATE, ZE_AMSTERDAM)}
    assert data["segments"] and all(s["start"] < s["end"] for s in data["segments"])
    van = next(v for v in data["verdicts"] if v["plate"] != PLATE and v["zone_id"] == ZE_AMSTERDAM)
    assert van["loses_access"] == "2027-01-01"
    mine = next(v for v in data["verdicts"] if v["plate"] == PLATE and v["zone_id"] == ZE_AMSTERDAM)
    assert mine["loses_access"] == "2028-01-01"
    assert {"year": 2027, "zone_id": ZE_AMSTERDAM, "vehicles": 1} in data["summary"]


def test_fleet_segments_equal_the_cli_fleet_json(app_client: TestClient, tmp_path: Path) -> None:
    """The fleet answer's zones, segments and summary equal ``ruas fleet --format json`` for the same plates."""
    plates = [PLATE, "VQ39HG"]  # a duplicate is kept once by both
    csv = tmp_path / "fleet.csv"
    csv.write_text("kenteken\n" + "\n".join(plates) + "\n")
    result = CliRunner().invoke(
        cli, ["fleet", str(csv), "--from", "2026-01-01", "--to", "2031-01-01", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    expected = json.loads(result.stdout)
    body = {"vehicles": [{"plate": p} for p in plates], "from": "2026-01-01", "to": "2031-01-01"}
    data = app_client.post(FLEET, json=body).json()
    assert data["period"] == expected["period"]
    assert data["zones"] == expected["zones"]
    assert data["segments"] == expected["segments"]
    assert data["summary"] == expected["summary"]


def test_fleet_period_must_be_ordered(app_client: TestClient, problem: Problem) -> None:
    """A fleet period whose end is not after its start is a 422 problem naming ``to``."""
    body = {"vehicles": [{"plate": PLATE}], "from": "2027-01-01", "to": "2026-01-01"}
    problem(app_client.post(FLEET, json=body), 422, field="to")


def test_fleet_unknown_zone_is_a_404_problem(app_client: TestClient, problem: Problem) -> None:
    """A fleet request naming an unknown zone is a 404 problem naming ``zone``."""
    body = {"vehicles": [{"plate": PLATE}], "zones": ["no-such-zone"]}
    problem(app_client.post(FLEET, json=body), 404, field="zone")


def test_fleet_needs_at_least_one_vehicle(app_client: TestClient, problem: Problem) -> None:
    """An empty fleet is a 422 problem naming ``vehicles``."""
    problem(app_client.post(FLEET, json={"vehicles": []}), 422, field="vehicles")


def test_fleet_bad_vehicle_is_a_422_problem(app_client: TestClient, problem: Problem) -> None:
    """A malformed or unknown plate in a fleet is a 422 problem saying which vehicle."""
    found = problem(app_client.post(FLEET, json={"vehicles": [{"plate": PLATE}, {"plate": "XX"}]}), 422)
    assert "XX" in found["detail"]
    found = problem(app_client.post(FLEET, json={"vehicles": [{"plate": "12-ABC-3"}]}), 422)
    assert "12-ABC-3" in found["detail"]


def test_fleet_bad_vehicle_problem_names_the_field(app_client: TestClient, problem: Problem) -> None:
    """A bad vehicle in a fleet is a problem naming the field (``vehicles...``), like every other problem."""
    found = problem(app_client.post(FLEET, json={"vehicles": [{"plate": PLATE}, {"plate": "XX"}]}), 422)
    assert any(str(e.get("field", "")).startswith("vehicles") for e in found["errors"]), found


def test_fleet_from_year_one_is_answered_not_a_server_error(
    backend_dir: Path, client_factory: Callable[..., TestClient]
) -> None:
    """A fleet period starting on 0001-01-01 is answered or refused with a 422, never a 500."""
    client = client_factory(backend_dir, raise_server_exceptions=False)
    body = {"vehicles": [{"plate": PLATE}], "from": "0001-01-01", "to": "0001-01-02"}
    assert client.post(FLEET, json=body).status_code in (200, 422)
