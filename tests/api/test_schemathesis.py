"""A bounded schemathesis run against the OpenAPI document: no operation answers with a server error.

The app runs in-process (ASGI) on a fresh SQLite register. Every operation of the document is fuzzed with
valid and invalid requests (schemathesis' positive and negative generation), a bounded number of examples
each, and every response is checked with schemathesis' ``not_a_server_error``. Nothing is excluded.

- Requests carry the bearer token of a regional administrator, so operations that need an account are
  exercised past the authentication check (anonymous callers only reach their 401 branch, which the API
  tests cover).
- Random strings almost never name a registered plate, zone or municipality, so the two check operations
  get a third, *grounded* strategy: bodies with real plates (from the register), the register's zones and
  municipalities, points in the region, vehicle options from the documented vocabulary and any ISO-8601
  moment or date. That takes the requests past lookup into the rules engine and the fleet report.
- The operations are read from the running app's document, so routes added later (the exemption desk,
  the regulation lifecycle) are fuzzed without editing this file. Schemathesis' pytest integration for a
  schema loaded from a fixture (``schemathesis.pytest.from_fixture``) fails on pytest 9 ("'Function' object
  has no attribute '_nodeid'"), so each operation's hypothesis strategy is run here directly.
- The main run keeps moments and dates within the years 1000-9000; the operations that take them are also
  fuzzed on their own with dates at the ends of the calendar (years 1 and 9999), which once gave 500s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from sqlalchemy import select

from ruas.store.models import VehicleRow

OPENAPI = "/api/v1/openapi.json"
EXAMPLES_PER_OPERATION = 40
ZE = "NDW11_64717e49-b364-4001-b6f9-14270d068764"

EXTREME_OPERATIONS = ("createCheck", "createFleetCheck")
"""Operations that take moments and dates: also fuzzed with dates at the ends of the calendar."""

EXTREME_MOMENTS = ["9999-12-31T23:59", "0001-01-01T00:00", "9999-12-31", "0001-01-01"]
EXTREME_DATES = ["0001-01-01", "9999-12-31"]

BOUNDED = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@dataclass(frozen=True)
class Target:
    """What the fuzzer needs: the loaded document, an administrator's bearer header, and real register values."""

    schema: Any
    headers: dict[str, str]
    plates: list[str]
    zones: list[str]
    codes: list[str]


@pytest.fixture
def fuzz_target(data_dir: Path, client_factory: Callable[..., TestClient], make_user: Callable[..., Any]) -> Target:
    """The app's OpenAPI document loaded by schemathesis over ASGI, a bearer header and real register values."""
    client = client_factory(data_dir)
    admin = make_user("fuzz-admin", "admin", token=True)
    engine = client.app.state.register.register.store.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        plates = list(conn.scalars(select(VehicleRow.plate).order_by(VehicleRow.plate).limit(200)))
    zones = [z["id"] for z in client.get("/api/v1/zones").json()["items"]]
    codes = [m["code"] for m in client.get("/api/v1/municipalities", params={"page_size": 500}).json()["items"]]
    return Target(schemathesis.openapi.from_asgi(OPENAPI, client.app), admin.headers, plates, zones, codes)


def operations(schema: Any) -> dict[str, Any]:
    """Every operation of the document by operationId (a document schemathesis cannot read fails here)."""
    out = {}
    for result in schema.get_all_operations():
        op = result.ok()
        out[op.definition.raw.get("operationId") or op.label] = op
    return out


def dates(extremes: bool) -> st.SearchStrategy[str]:
    """ISO dates: any (with year 1 and 9999 likely) when ``extremes``, else within the years 1000-9000."""
    if extremes:
        return st.sampled_from(EXTREME_DATES) | st.dates().map(lambda d: d.isoformat())
    from datetime import date

    return st.dates(date(1000, 1, 1), date(9000, 12, 31)).map(lambda d: d.isoformat())


def moments(extremes: bool) -> st.SearchStrategy[str | None]:
    """An ISO-8601 moment (naive or with an offset), or none (now); years as for :func:`dates`."""
    from datetime import datetime

    offsets = st.sampled_from(["", "Z", "+01:00", "+02:00", "-05:00", "+14:00"])
    low, high = (
        (datetime(1, 1, 1), datetime(9999, 12, 31)) if extremes else (datetime(1000, 1, 1), datetime(9000, 1, 1))
    )
    generated = st.builds(lambda d, o: d.isoformat(timespec="minutes") + o, st.datetimes(low, high), offsets)
    return st.none() | (st.sampled_from(EXTREME_MOMENTS) if extremes else st.nothing()) | generated


def vehicle_attributes(extremes: bool, *, complete: bool) -> st.SearchStrategy[dict[str, Any]]:
    """Vehicle options from the documented vocabulary (sizes unbounded): all a check needs if ``complete``."""
    needed = {
        "category": st.sampled_from(["M1", "M2", "M3", "N1", "N2", "N3", "L", "other", "n1"]),
        "fuel": st.sampled_from(["diesel", "petrol", "lpg", "cng", "lng", "electric", "hydrogen", "phev"]),
        "emission_class": st.sampled_from(["0", "1", "2", "3", "4", "5", "6", "Z"]),
        "first_admission": dates(extremes),
        "mass_kg": st.integers(1, 100_000),
    }
    optional = {
        "body": st.sampled_from(["car", "van", "rigid", "tractor", "bus", "motorcycle", "special"]),
        "length_m": st.floats(0.01, 40),
        "height_m": st.floats(0.01, 40),
        "body_codes": st.lists(st.sampled_from(["BA", "BB", "DA", "DB", "40", "41"]), max_size=3),
        "special_codes": st.lists(st.sampled_from(["70", "71", "80"]), max_size=2),
    }
    if complete:
        return st.fixed_dictionaries(needed, optional=optional)
    return st.fixed_dictionaries({}, optional={**needed, **optional})


def grounded(op_id: str, target: Target, extremes: bool) -> st.SearchStrategy[Any] | None:
    """Requests of a check operation with real plates and places and realistic attributes (else None)."""
    if op_id not in ("createCheck", "createFleetCheck"):
        return None
    plates = st.sampled_from(target.plates)
    base = target.schema.find_operation_by_id(op_id).as_strategy(generation_mode=GenerationMode.POSITIVE)

    def with_body(case: Any, body: dict[str, Any]) -> Any:
        case.body = body
        return case

    if op_id == "createCheck":
        in_zone = st.builds(lambda z: {"zone": z}, st.sampled_from(target.zones))
        places = (
            in_zone
            if extremes
            else st.one_of(
                in_zone,
                st.builds(lambda c: {"municipality": c}, st.sampled_from(target.codes)),
                st.builds(
                    lambda lat, lon: {"point": [lat, lon]},
                    st.floats(52.0, 53.2).map(lambda x: round(x, 5)),
                    st.floats(4.5, 5.8).map(lambda x: round(x, 5)),
                ),
            )
        )
        by_plate = st.builds(
            lambda p, v: {"plate": p, **({"vehicle": v} if v else {})},
            plates,
            vehicle_attributes(extremes, complete=False),
        )
        by_attributes = st.builds(lambda v: {"vehicle": v}, vehicle_attributes(extremes, complete=True))
        body = st.builds(
            lambda vehicle, place, at: {**vehicle, **place, **({"at": at} if at else {})},
            by_plate | by_attributes,
            places,
            moments(extremes),
        )
        return st.builds(with_body, base, body)
    vehicles = st.lists(
        st.one_of(
            st.builds(lambda p: {"plate": p}, plates),
            st.builds(lambda p, v: {"plate": p, "vehicle": v}, plates, vehicle_attributes(extremes, complete=False)),
            st.builds(lambda v: {"vehicle": v}, vehicle_attributes(extremes, complete=True)),
        ),
        min_size=1,
        max_size=5,
    )
    period = st.none() | dates(extremes)
    zone_lists = st.none() | st.lists(st.sampled_from(target.zones), max_size=3, unique=True)
    body = st.builds(
        lambda v, f, t, z: {"vehicles": v, **({"from": f} if f else {}), **({"to": t} if t else {}), "zones": z},
        vehicles,
        period,
        period,
        zone_lists,
    )
    return st.builds(with_body, base, body)


def fuzz(op_id: str, target: Target, *, extremes: bool = False) -> int:
    """Send bounded valid and invalid requests to one operation; raise on the first server error.

    With ``extremes`` (the known-bug runs) a check operation gets only grounded requests at zones, with
    dates and moments from the whole ISO range and its ends.
    """
    operation = operations(target.schema)[op_id]
    strategies = [
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    ]
    real = grounded(op_id, target, extremes)
    if real is not None:
        strategies = [real] if extremes else [real, *strategies]
    sent = []

    @BOUNDED
    @given(case=st.one_of(*strategies))
    def run(case: Any) -> None:
        sent.append(case.call_and_validate(headers=target.headers, checks=[not_a_server_error]).status_code)

    run()
    return len(sent)


def test_the_document_lists_the_public_operations(fuzz_target: Target) -> None:
    """The fuzzed document holds (at least) the public, check and account operations."""
    expected = {"health", "version", "listMunicipalities", "getMunicipality", "listZones", "listZonesGeoJSON"}
    expected |= {"getZone", "listRegulations", "getVehicle", "createCheck", "createFleetCheck"}
    expected |= {"login", "logout", "me", "createToken"}
    assert expected <= set(operations(fuzz_target.schema))


def test_no_operation_answers_with_a_server_error(fuzz_target: Target) -> None:
    """Every operation answers generated valid and invalid requests without a 5xx (known bugs' dates avoided)."""
    failures, sent = {}, {}
    for op_id in sorted(operations(fuzz_target.schema)):
        try:
            sent[op_id] = fuzz(op_id, fuzz_target)
        except Exception as exc:  # collect every operation's failure, then report them together
            failures[op_id] = f"{type(exc).__name__}: {exc}"[:3000]
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
    assert all(n > 0 for n in sent.values()), sent


@pytest.mark.parametrize("op_id", EXTREME_OPERATIONS)
def test_dates_at_the_ends_of_the_calendar_are_no_server_error(op_id: str, fuzz_target: Target) -> None:
    """Checks fuzzed with moments and dates near year 1 and year 9999 answer without a 5xx."""
    fuzz(op_id, fuzz_target, extremes=True)
