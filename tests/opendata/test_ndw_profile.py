"""The ControlledZone export in NDW's profile is read back by our NDW importer, field by field."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, datetime

import pytest

from ruas.domain.errors import InvalidInput
from ruas.opendata.ndw_profile import controlled_zone_xml
from ruas.opendata.snapshot import Snapshot
from ruas.register.ndw_records import records_from_feed
from ruas.register.store import embedded_feed
from ruas.sources.ndw import NdwFeed, parse_ndw

REPAIRED = {  # published invalid by NDW, repaired on import, published repaired by us
    "NDW11_2a67962c-4498-413d-8b33-13f2a21d73c5",
    "NDW11_d68af184-3d89-4b7f-a186-b8b0b7ea1397",
    "NDW11_acbf0f7f-56a6-4b36-9a66-4b6d0c69d474",
}


@pytest.fixture(scope="module")
def exported(national: Snapshot) -> NdwFeed:
    return parse_ndw(controlled_zone_xml(national), source_name="export.xml")


def test_every_ndw_zone_is_exported_in_feed_order(exported: NdwFeed) -> None:
    assert [z.id for z in exported.zones] == [z.id for z in embedded_feed().zones]
    assert len(exported.zones) == 42


def test_each_zone_matches_what_ndw_publishes_field_by_field(exported: NdwFeed) -> None:
    for original in embedded_feed().zones:
        back = exported.zone(original.id)
        differing = {
            f.name for f in fields(original) if f.name != "line" and getattr(original, f.name) != getattr(back, f.name)
        }
        expected = {"geometry_repaired"} if original.id in REPAIRED else set()
        assert differing == expected, original.name
        assert not back.geometry_repaired


def test_records_read_back_equal_the_imported_records(exported: NdwFeed) -> None:
    def comparable(record: dict[str, object]) -> dict[str, object]:
        source = {k: v for k, v in dict(record["source"]).items() if k not in ("file", "publication_time")}  # type: ignore[call-overload]
        source.pop("geometry_repaired")
        return {**record, "source": source}

    original = [comparable(r) for r in records_from_feed(embedded_feed())]
    back = [comparable(r) for r in records_from_feed(exported)]
    assert back == original


def test_export_is_deterministic_and_takes_its_time_from_the_register(national: Snapshot) -> None:
    first = controlled_zone_xml(national)
    assert controlled_zone_xml(national) == first
    later = replace(national, version_time=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    other = controlled_zone_xml(later)
    assert b"<com:publicationTime>2025-07-07T04:00:00Z</com:publicationTime>" in first
    assert other == first.replace(b"2025-07-07T04:00:00Z", b"2026-01-02T03:04:05Z")


def test_only_ndw_zones_in_force_are_written(national: Snapshot) -> None:
    body = controlled_zone_xml(national)
    assert b"ams-s100-heavy" not in body
    assert b"almere-ze-2028" not in body


def test_a_rule_ndw_cannot_express_is_refused_with_the_zone_named(national: Snapshot) -> None:
    record = dict(national.records[0])
    tree = record["published_condition"]
    record["published_condition"] = {
        **tree,
        "all": [*tree["all"], {"field": "body", "op": "eq", "value": "van", "id": "x_body"}],
    }
    broken = replace(national, records=(record,))
    with pytest.raises(InvalidInput, match=f"zone {record['id']}.*x_body"):
        controlled_zone_xml(broken)
