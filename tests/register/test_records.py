"""Tests for zone records: start dates, framework bindings, compiling and authority codes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ruas.domain.errors import InvalidInput
from ruas.domain.regulation import ZoneKind
from ruas.domain.timeutil import LOCAL_TZ, local_midnight
from ruas.register.ndw_records import record_from_ndw
from ruas.register.records import authority_code, compile_book, compile_record, normalise_start
from ruas.register.store import embedded_feed, embedded_records
from ruas.rules.frameworks import MILIEUZONE_FRAMEWORK, ZE_FRAMEWORK, RuleSettings
from ruas.sources.ndw import NdwFeed

ZE_AMSTERDAM = "NDW11_64717e49-b364-4001-b6f9-14270d068764"
LEZ_AMSTERDAM = "NDW11_989846cf-0343-4abc-b169-1a2ddaf497d9"


@pytest.fixture(scope="module")
def feed() -> NdwFeed:
    """The embedded national NDW feed of 2025-07-07."""
    return embedded_feed()


@pytest.fixture(scope="module")
def ze_amsterdam_record(feed: NdwFeed) -> dict[str, Any]:
    """ZE Amsterdam as a register record."""
    return record_from_ndw(feed.zone(ZE_AMSTERDAM), source_name="feed.xml", publication_time="2025-07-07")


@pytest.fixture(scope="module")
def lez_amsterdam_record(feed: NdwFeed) -> dict[str, Any]:
    """LEZ Amsterdam as a register record."""
    return record_from_ndw(feed.zone(LEZ_AMSTERDAM), source_name="feed.xml", publication_time="2025-07-07")


@pytest.fixture
def custom_record() -> dict[str, Any]:
    """A small custom zone: goods vehicles over 7.5 t need an exemption."""
    return {
        "id": "test-heavy",
        "name": "Test heavy-vehicle area",
        "kind": "vehicle_restriction",
        "authority": "GM0363",
        "geometry": None,
        "regulations": [
            {
                "custom": {
                    "id": "test-heavy/over-7.5t",
                    "name": "over 7.5 t",
                    "subject_label": "goods vehicles over 7,500 kg",
                    "subject": {"field": "max_mass_kg", "op": "gt", "value": 7500},
                    "legal_source": {"citation": "Test decree 2025"},
                }
            }
        ],
    }


# --------------------------------------------------------------------------- start dates


def test_ndw_midnight_utc_start_is_local_midnight() -> None:
    """NDW's 2025-01-01T00:00Z (01:00 in Amsterdam) is read as local midnight of 2025-01-01."""
    start = normalise_start(datetime(2025, 1, 1, 0, 0, tzinfo=UTC))
    assert start == local_midnight(datetime(2025, 1, 1).date())
    assert start.isoformat() == "2025-01-01T00:00:00+01:00"


def test_ndw_summer_start_is_local_midnight() -> None:
    """A summer start 2025-06-01T00:00Z (02:00 in Amsterdam) is local midnight of 2025-06-01."""
    assert normalise_start(datetime(2025, 6, 1, 0, 0, tzinfo=UTC)).isoformat() == "2025-06-01T00:00:00+02:00"


def test_ndw_end_of_previous_day_is_local_midnight() -> None:
    """An end written as 2024-12-31T23:00Z is already local midnight of 2025-01-01 and stays so."""
    assert normalise_start(datetime(2024, 12, 31, 23, 0, tzinfo=UTC)) == datetime(2025, 1, 1, tzinfo=LOCAL_TZ)


def test_real_daytime_start_is_kept() -> None:
    """A start at 09:30 local time is not moved."""
    at = datetime(2025, 3, 3, 9, 30, tzinfo=LOCAL_TZ)
    assert normalise_start(at) == at


# --------------------------------------------------------------------------- bindings


def test_ze_amsterdam_binds_the_ze_framework_from_local_midnight(ze_amsterdam_record: dict[str, Any]) -> None:
    """ZE Amsterdam is bound to the ZE framework and starts at local midnight of 2025-01-01."""
    (binding,) = ze_amsterdam_record["regulations"]
    assert binding["framework"] == ZE_FRAMEWORK
    assert binding["start"] == "2025-01-01T00:00:00+01:00"
    assert ze_amsterdam_record["source"]["published_start"] == "2025-01-01T00:00:00+00:00"
    assert ze_amsterdam_record["authority"] == "GM0363"
    zone = compile_record(ze_amsterdam_record, RuleSettings())
    assert zone.kind is ZoneKind.ZERO_EMISSION
    assert zone.regulations[0].validity.start == datetime(2025, 1, 1, tzinfo=LOCAL_TZ)


def test_lez_amsterdam_binds_milieuzone_params(lez_amsterdam_record: dict[str, Any]) -> None:
    """LEZ Amsterdam is a milieuzone: green for light vehicles (4), purple for heavy ones (6)."""
    (binding,) = lez_amsterdam_record["regulations"]
    assert lez_amsterdam_record["kind"] == ZoneKind.ENVIRONMENTAL.value
    assert binding["framework"] == MILIEUZONE_FRAMEWORK
    assert binding["params"] == {"light": 4, "heavy": 6}


def test_lez_amsterdam_keeps_the_taxi_exemption_as_local_clause(lez_amsterdam_record: dict[str, Any]) -> None:
    """The feed's taxi exemption is not a framework clause, so it is kept as a local clause and compiled in."""
    (binding,) = lez_amsterdam_record["regulations"]
    local_ids = [c["id"] for c in binding["local_clauses"]]
    assert local_ids == [f"{LEZ_AMSTERDAM}#taxiExemption"]
    assert binding["local_clauses"][0]["kind"] == "local"
    zone = compile_record(lez_amsterdam_record, RuleSettings())
    exemption_ids = {c.id for r in zone.regulations for c in r.exemptions}
    assert f"{LEZ_AMSTERDAM}#taxiExemption" in exemption_ids


# --------------------------------------------------------------------------- compiling


def test_unknown_framework_is_rejected_naming_the_zone(ze_amsterdam_record: dict[str, Any]) -> None:
    """A binding to a framework that does not exist raises InvalidInput naming the zone."""
    record = {**ze_amsterdam_record, "regulations": [{**ze_amsterdam_record["regulations"][0], "framework": "nl-nope"}]}
    with pytest.raises(InvalidInput, match=ZE_AMSTERDAM) as info:
        compile_record(record, RuleSettings())
    assert "nl-nope" in info.value.message
    assert info.value.details["zone"] == ZE_AMSTERDAM


def test_custom_regulation_without_legal_source_is_rejected(custom_record: dict[str, Any]) -> None:
    """A custom regulation without legal_source raises InvalidInput naming the zone."""
    del custom_record["regulations"][0]["custom"]["legal_source"]
    with pytest.raises(InvalidInput, match="test-heavy") as info:
        compile_record(custom_record, RuleSettings())
    assert "legal_source" in info.value.message
    assert info.value.details["zone"] == "test-heavy"


def test_custom_regulation_with_legal_source_compiles(custom_record: dict[str, Any]) -> None:
    """The same custom record with its legal source compiles to one regulation citing it."""
    zone = compile_record(custom_record, RuleSettings())
    assert [r.id for r in zone.regulations] == ["test-heavy/over-7.5t"]
    assert zone.regulations[0].legal_source.citation == "Test decree 2025"


def test_unknown_kind_is_rejected_naming_the_zone(custom_record: dict[str, Any]) -> None:
    """A record whose kind is not a zone kind raises InvalidInput naming the zone."""
    custom_record["kind"] = "parking"
    with pytest.raises(InvalidInput, match="test-heavy"):
        compile_record(custom_record, RuleSettings())


def test_embedded_records_compile_with_a_proposal_book() -> None:
    """The 12 embedded records compile, with the all-proposals book attached for comparison."""
    records = embedded_records()
    book = compile_book(records, RuleSettings())
    assert len(book.zones) == 12
    assert book.proposed is not None


# --------------------------------------------------------------------------- authorities


@pytest.mark.parametrize(
    ("name", "code"),
    [("'s-Gravenhage", "GM0518"), ("Amsterdam", "GM0363"), (" haarlemmermeer ", "GM0394"), ("Nergenshuizen", None)],
)
def test_authority_code(name: str, code: str | None) -> None:
    """NDW authority names map to CBS codes, case- and space-insensitively; unknown names give None."""
    assert authority_code(name) == code
