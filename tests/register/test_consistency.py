"""Tests of the consistency report: published NDW conditions read and evaluated against the national frameworks."""

from __future__ import annotations

import copy
import json
import os
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from ruas.domain.conditions import evaluate, from_data
from ruas.domain.timeutil import parse_instant
from ruas.register.consistency import (
    FEED_ALLOWS,
    FEED_REFUSES,
    ConsistencyReport,
    Disagreement,
    ZoneFindings,
    behavioural_findings,
    check_moments,
    consistency_report,
    disagreements,
    fix_time,
    is_behavioural,
    probe_vehicles,
    structural_findings,
)
from ruas.register.ndw_records import records_from_feed
from ruas.register.store import embedded_feed, embedded_region
from ruas.rules.frameworks import RuleSettings

GOLDEN = Path(__file__).parent / "golden" / "consistency_nh.md"

ZE_AMSTERDAM = "ZE Amsterdam"
CLASS5_LIGHT_TRUCK = "diesel N2 rigid 4,500 kg class 5 DET 2018-06-01"
CLASS6_TRACTOR_2018 = "diesel N3 tractor 18,000 kg class 6 DET 2018-06-01"
CLASS5_VAN = "diesel N1 van 2,800 kg class 5 DET 2018-06-01"
CLASS6_VAN = "diesel N1 van 2,800 kg class 6 DET 2018-06-01"


def at_local(text: str) -> datetime:
    """An instant from a local date or date-time (``2026-07-01`` is local midnight)."""
    return parse_instant(text)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def feed_records() -> list[dict[str, Any]]:
    """Every zone of the embedded national NDW feed (42) as a register record."""
    return records_from_feed(embedded_feed())


@pytest.fixture(scope="module")
def report(feed_records: list[dict[str, Any]]) -> ConsistencyReport:
    """The consistency report over the whole national feed."""
    return consistency_report(feed_records)


@pytest.fixture(scope="module")
def ze_amsterdam(feed_records: list[dict[str, Any]]) -> dict[str, Any]:
    """The record of ZE Amsterdam."""
    return next(r for r in feed_records if r["name"] == ZE_AMSTERDAM)


@pytest.fixture(scope="module")
def ze_amsterdam_disagreements(ze_amsterdam: dict[str, Any]) -> list[Disagreement]:
    """Every grid disagreement of ZE Amsterdam under the law as found."""
    return disagreements(ze_amsterdam)


@pytest.fixture(scope="module")
def nh_records(feed_records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The six NDW zones of Noord-Holland and Flevoland that the region's register holds."""
    wanted = set(embedded_region()["ndw_zones"])
    return [r for r in feed_records if r["id"] in wanted]


def _framework_json() -> dict[str, Any]:
    text = resources.files("ruas.rules").joinpath("frameworks", "ze_zone.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def synthetic_ze_record(*, drop: frozenset[str] = frozenset(), ends: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A ZE record whose published tree is the framework's own tree, hand-built from the framework JSON clauses.

    ``drop`` leaves clauses out of the published tree; ``ends`` replaces a clause's ``at lt`` date.
    """
    fw = _framework_json()
    start = "2025-01-01T00:00:00+01:00"
    groups = []
    for clause in fw["clauses"]:
        if clause.get("status", "in_force") != "in_force" or clause["id"] in drop:
            continue
        cond = copy.deepcopy(clause["condition"])
        for leaf in cond.get("all", []):
            if ends and leaf.get("field") == "at" and leaf["op"] == "lt" and clause["id"] in ends:
                leaf["value"] = ends[clause["id"]]
        groups.append({**cond, "id": clause["id"]})
    tree = {
        "all": [
            {"all": [{"field": "at", "op": "ge", "value": start, "id": "synthetic_VAC#start"}], "id": "synthetic_VAC"},
            {**fw["subject"], "id": "synthetic_restriction"},
            {"not": {"any": groups, "id": "synthetic_EX"}},
        ],
        "id": "synthetic_CS",
    }
    return {
        "id": "synthetic-ze",
        "name": "Synthetic ZE zone (framework tree)",
        "kind": "zero_emission",
        "authority": "GM0363",
        "authority_name": "Amsterdam",
        "status": "in_force",
        "geometry": None,
        "source": {"kind": "ndw", "regulation_id": "gmb-2099-1", "published_start": start, "file": "synthetic"},
        "published_condition": tree,
        "regulations": [{"framework": "nl-ze-zone", "start": start, "legal_source": {"citation": "gmb-2099-1"}}],
    }


def _find(
    found: list[Disagreement], description: str, at: datetime, direction: str | None = None
) -> Disagreement | None:
    for d in found:
        if d.probe.description == description and d.at == at and (direction is None or d.direction == direction):
            return d
    return None


def _codes(zone: ZoneFindings) -> set[str]:
    return set(zone.codes())


# --------------------------------------------------------------------------- ZE Amsterdam, structural


def test_ze_amsterdam_flags_eu_categories_instead_of_tmm(report: ConsistencyReport) -> None:
    """ZE Amsterdam splits vans and trucks by EU category and gives the van rules to N2."""
    zone = report.zone(ZE_AMSTERDAM)
    assert {"ze-split-by-category", "ze-van-rules-to-trucks"} <= _codes(zone)
    (to_trucks,) = zone.with_code("ze-van-rules-to-trucks")
    assert to_trucks.severity == "error"
    assert "N2" in to_trucks.message
    assert any(e.startswith("euro5Exemption") for e in to_trucks.examples)


def test_ze_amsterdam_flags_missing_truck_det_rules(report: ConsistencyReport) -> None:
    """ZE Amsterdam publishes no first-admission rules: the three truck rules and the 2025 rule are missing."""
    zone = report.zone(ZE_AMSTERDAM)
    (missing,) = zone.with_code("ze-truck-det-rules-missing")
    assert missing.severity == "error"
    assert len(missing.examples) == 3
    assert any("tractor units" in e and "2030-01-01" in e for e in missing.examples)
    assert "ze-new-vehicle-rule-missing" in _codes(zone)


def test_end_at_23h_utc_is_local_midnight_and_consistent(report: ConsistencyReport) -> None:
    """Exemption ends at 2026-12-31T23:00Z are 2027-01-01 local: no end-date finding, only the start offset."""
    zone = report.zone(ZE_AMSTERDAM)
    assert "ze-transition-end-differs" not in _codes(zone)
    (offset,) = zone.with_code("start-not-local-midnight")
    assert offset.severity == "info"
    assert "2024-12-31T23:00:00Z" in offset.message


# --------------------------------------------------------------------------- ZE Amsterdam, behavioural


def test_class5_light_truck_feed_allows_until_2027_law_refuses(
    ze_amsterdam_disagreements: list[Disagreement], report: ConsistencyReport
) -> None:
    """A class-5 N2 light truck is let in by the feed's euro5Exemption until 2027, while the law refuses it."""
    d = _find(ze_amsterdam_disagreements, CLASS5_LIGHT_TRUCK, at_local("2026-07-01"))
    assert d is not None and d.direction == FEED_ALLOWS
    assert d.reasons == ("euro5Exemption",)
    assert _find(ze_amsterdam_disagreements, CLASS5_LIGHT_TRUCK, at_local("2027-01-01T00:01")) is None
    assert _find(ze_amsterdam_disagreements, CLASS5_LIGHT_TRUCK, at_local("2026-12-31T23:59")) is not None
    allows = [
        f for f in report.zone(ZE_AMSTERDAM).with_code("feed-allows-law-refuses") if "light truck N2" in f.message
    ]
    assert len(allows) == 1 and "euro5Exemption" in allows[0].message


def test_class6_tractor_feed_refuses_law_allows_until_2030(
    ze_amsterdam_disagreements: list[Disagreement], report: ConsistencyReport
) -> None:
    """A class-6 tractor first admitted in 2018 is refused by the feed in 2028 though the law admits it until 2030."""
    d = _find(ze_amsterdam_disagreements, CLASS6_TRACTOR_2018, at_local("2028-07-01"))
    assert d is not None and d.direction == FEED_REFUSES
    assert d.reasons == ("ze-tractor-class6",)
    assert _find(ze_amsterdam_disagreements, CLASS6_TRACTOR_2018, at_local("2029-12-31T23:59")) is not None
    assert _find(ze_amsterdam_disagreements, CLASS6_TRACTOR_2018, at_local("2030-01-01T00:01")) is None
    refuses = report.zone(ZE_AMSTERDAM).with_code("feed-refuses-law-allows")
    assert any("tractor unit N3" in f.message and "ze-tractor-class6" in f.message for f in refuses)


def test_behavioural_examples_name_vehicle_moment_and_exemption(report: ConsistencyReport) -> None:
    """Every behavioural finding carries concrete examples: vehicle, local moment, and who allows it."""
    findings = [f for f in report.zone(ZE_AMSTERDAM).findings if is_behavioural(f)]
    assert findings
    for f in findings:
        assert f.severity == "error"
        assert 1 <= len(f.examples) <= 4
        assert all(" at 20" in e and ("feed allows" in e or "feed refuses" in e) for e in f.examples)


# --------------------------------------------------------------------------- other zones


def test_haarlemmermeer_placeholder_regulation_id(report: ConsistencyReport) -> None:
    """ZE Haarlemmermeer publishes regulationId 'xxxx': the legal basis is reported missing."""
    (finding,) = report.zone("ZE Haarlemmermeer").with_code("legal-basis-missing")
    assert finding.severity == "error"
    assert "'xxxx'" in finding.message


def test_milieuzone_amsterdam_classes_are_blue_and_purple(report: ConsistencyReport) -> None:
    """Milieuzone Amsterdam publishes light >= 5 and heavy >= 6: no class finding and no behavioural finding."""
    zone = report.zone("Milieuzone Amsterdam")
    assert not {c for c in _codes(zone) if c.startswith("milieuzone-")}
    assert not [f for f in zone.findings if is_behavioural(f)]


def test_lez_breda_restricts_diesel_cars_without_class_exemption(report: ConsistencyReport) -> None:
    """LEZ Breda refuses every diesel car: cars are restricted with no Euro-class exemption."""
    zone = report.zone("LEZ Breda")
    (finding,) = zone.with_code("milieuzone-restricted-without-class")
    assert "passenger cars (M1)" in finding.message
    assert any(e.startswith("M1:") for e in finding.examples)
    refuses = zone.with_code("feed-refuses-law-allows")
    assert any("passenger car M1" in f.message for f in refuses)


def test_lez_haarlem_class_below_minimum(report: ConsistencyReport) -> None:
    """LEZ Haarlem admits buses from Euro 1, below the harmonised purple class 6."""
    (finding,) = report.zone("LEZ Haarlem").with_code("milieuzone-class-below-minimum")
    assert any(e.startswith("M3") and "class >= 1" in e for e in finding.examples)


def test_lez_amsterdam_taxi_exemption_not_in_framework(report: ConsistencyReport) -> None:
    """LEZ Amsterdam's taxi exemption is not in the milieuzone framework; it is kept as a local exemption."""
    (finding,) = report.zone("LEZ Amsterdam").with_code("exemption-not-in-framework")
    assert "taxiExemption" in finding.message
    assert any("local exemption" in e for e in finding.examples)


# --------------------------------------------------------------------------- the framework's own tree


def test_framework_tree_has_no_findings() -> None:
    """A published tree equal to the framework's own tree gives no behavioural and no structural findings."""
    record = synthetic_ze_record()
    assert behavioural_findings(record) == []
    assert structural_findings(record) == []


def test_framework_tree_without_tractor_rule_is_refused_where_law_allows() -> None:
    """Leaving the tractor rule out of the framework tree yields 'feed refuses, law allows' for class-6 tractors."""
    record = synthetic_ze_record(drop=frozenset({"ze-tractor-class6"}))
    d = _find(disagreements(record), CLASS6_TRACTOR_2018, at_local("2028-07-01"))
    assert d is not None and d.direction == FEED_REFUSES and d.reasons == ("ze-tractor-class6",)
    assert "ze-truck-det-rules-missing" not in {f.code for f in structural_findings(record)}


def test_framework_tree_with_later_class5_end_is_allowed_where_law_refuses() -> None:
    """Ending the class-5 rule a year late yields 'feed allows, law refuses' for class-5 vans in 2027."""
    record = synthetic_ze_record(ends={"ze-van-class5": "2028-01-01"})
    found = disagreements(record)
    d = _find(found, CLASS5_VAN, at_local("2027-07-01"))
    assert d is not None and d.direction == FEED_ALLOWS and d.reasons == ("ze-van-class5",)
    assert _find(found, CLASS5_VAN, at_local("2026-07-01")) is None
    assert "ze-transition-end-differs" in {f.code for f in structural_findings(record)}


def test_proposed_class6_extension_changes_the_verdict(ze_amsterdam: dict[str, Any]) -> None:
    """With the proposed 2029 class-6 van rule applied, the feed's 2028 end refuses vans the law then allows."""
    settings = RuleSettings.from_text("ze-van-class6-2029")
    d = _find(disagreements(ze_amsterdam, settings), CLASS6_VAN, at_local("2028-07-01"))
    assert d is not None and d.direction == FEED_REFUSES and d.reasons == ("ze-van-class6-2029",)
    assert _find(disagreements(ze_amsterdam), CLASS6_VAN, at_local("2028-07-01")) is None
    assert "ze-transition-end-differs" in {f.code for f in structural_findings(ze_amsterdam, settings)}


# --------------------------------------------------------------------------- grid and moments


def test_moments_start_at_the_published_start() -> None:
    """Moments before the published start are left out; the published start and 1-minute offsets are kept."""
    published = parse_instant("2025-01-01T00:00:00Z")
    law = parse_instant("2025-01-01")
    moments = check_moments(law, published)
    assert moments[0] == published
    assert law + timedelta(minutes=1) not in moments  # 00:01 local is before 01:00 local
    assert at_local("2027-01-01T00:01") in moments and at_local("2026-12-31T23:59") in moments
    assert list(moments) == sorted(set(moments))


def test_fix_time_agrees_with_full_evaluation(ze_amsterdam: dict[str, Any]) -> None:
    """The time-fixed tree gives the same answer as the full tree for every grid vehicle at sample moments."""
    tree = from_data(ze_amsterdam["published_condition"])
    for text in ("2025-01-01T00:30", "2026-07-01", "2026-12-31T23:59", "2028-07-01", "2030-07-01"):
        at = at_local(text)
        fixed = fix_time(tree, at)
        for probe in probe_vehicles()[::7]:
            want = evaluate(tree, probe.vehicle, at)
            got = fixed if isinstance(fixed, bool) else evaluate(fixed, probe.vehicle, at)
            assert got == want, (text, probe.description)


def test_grid_covers_the_named_vehicles() -> None:
    """The grid holds the vehicle kinds, fuels, classes, DETs and special vehicles the check relies on."""
    descriptions = {p.description for p in probe_vehicles()}
    for wanted in (
        CLASS5_LIGHT_TRUCK,
        CLASS6_TRACTOR_2018,
        "phev N1 van 3,500 kg class 6 DET 2025-06-01",
        "electric M3 bus 18,000 kg zero-emission DET 1980-06-01",
    ):
        assert wanted in descriptions
    kinds = {p.kind for p in probe_vehicles()}
    assert {
        "wheelchair-accessible van (SH)",
        "wheelchair-accessible van (RDW code 145)",
        "special truck (body code 15)",
        "armoured truck (SB)",
    } <= kinds


# --------------------------------------------------------------------------- the whole feed and its forms


def test_report_covers_all_zones_and_every_ze_zone_has_findings(
    report: ConsistencyReport, feed_records: list[dict[str, Any]]
) -> None:
    """The report covers all 42 NDW zones, and every ZE zone has a finding list."""
    assert len(report.zones) == len(feed_records) == 42
    ze = [z for z in report.zones if z.kind == "zero_emission"]
    assert len(ze) == sum(1 for r in feed_records if r["kind"] == "zero_emission")
    assert all(z.findings for z in ze)
    names = [(z.name.casefold(), z.zone_id) for z in report.zones]
    assert names == sorted(names)


def test_non_ndw_records_are_skipped(ze_amsterdam: dict[str, Any]) -> None:
    """Records that do not come from NDW are not checked."""
    local = {**ze_amsterdam, "id": "local-zone", "source": {"kind": "region"}}
    assert [z.zone_id for z in consistency_report([ze_amsterdam, local]).zones] == [ze_amsterdam["id"]]


def test_findings_are_ordered_by_severity(report: ConsistencyReport) -> None:
    """Within each zone, errors come before warnings and warnings before information."""
    rank = {"error": 0, "warning": 1, "info": 2}
    for zone in report.zones:
        severities = [rank[f.severity] for f in zone.findings]
        assert severities == sorted(severities), zone.name


def test_to_data_summary_counts(report: ConsistencyReport) -> None:
    """The JSON form lists the source file, every zone and a summary that matches the findings."""
    data = json.loads(report.to_json())
    assert data["generated_from"] == ["ndw_emissiezones_datex2_v3_2025-07-07.xml (embedded)"]
    assert len(data["zones"]) == 42
    errors = sum(1 for z in data["zones"] for f in z["findings"] if f["severity"] == "error")
    warnings = sum(1 for z in data["zones"] for f in z["findings"] if f["severity"] == "warning")
    assert data["summary"] == {"zones": 42, "with_findings": 42, "errors": errors, "warnings": warnings}


def test_markdown_matches_golden_file(nh_records: list[dict[str, Any]]) -> None:
    """The Markdown report for the six NH/Flevoland zones is stable (RUAS_UPDATE_GOLDEN=1 rewrites it)."""
    assert len(nh_records) == 6
    text = consistency_report(nh_records).to_markdown()
    assert text == consistency_report(list(reversed(nh_records))).to_markdown()
    if os.environ.get("RUAS_UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(text, encoding="utf-8")
    assert GOLDEN.exists(), f"golden file missing: run with RUAS_UPDATE_GOLDEN=1 to write {GOLDEN}"
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_report_is_fast(feed_records: list[dict[str, Any]]) -> None:
    """The whole national feed is checked within a few seconds."""
    start = time.perf_counter()
    consistency_report(feed_records)
    assert time.perf_counter() - start < 10.0
