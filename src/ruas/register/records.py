"""Zone records: the register's stored form of a zone, and compiling records into zones.

A record is plain JSON: the zone's identity, area, source and published condition,
and its regulations either as a *binding* to a national framework
(``{"framework": "nl-ze-zone", "start": ..., "legal_source": ..., "params": ...}``)
or as a *custom* regulation written out in full (delivery windows, weight and
length limits). Records are what ``RUAS_DATA_DIR`` keeps; compiling them with
:class:`~ruas.rules.frameworks.RuleSettings` gives the zones the engine runs on,
so a change of the national framework reaches every zone at once.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from typing import Any

from ruas.domain.conditions import from_data
from ruas.domain.errors import InvalidInput
from ruas.domain.regulation import Regulation, Status, Zone, ZoneKind, ZoneStatus
from ruas.domain.timeutil import LOCAL_TZ, Interval, local_midnight, parse_instant
from ruas.rules.engine import RuleBook
from ruas.rules.frameworks import (
    MILIEUZONE_FRAMEWORK,
    ZE_FRAMEWORK,
    RuleSettings,
    ZoneBinding,
    bind_milieuzone,
    bind_zero_emission,
    clauses_from_data,
    legal_source_from,
    national_exemption_types,
)

Record = dict[str, Any]

PLACEHOLDER_IDS = frozenset({"", "onbekend", "xxxx", "geen", "ntb", "unknown"})


@lru_cache(maxsize=1)
def municipality_codes() -> Mapping[str, str]:
    """CBS code by lower-cased municipality name (all 342 municipalities of 2024)."""
    text = resources.files("ruas").joinpath("data/gemeenten/gemeenten_2024_codes.csv").read_text(encoding="utf-8")
    return {row["gemeentenaam"].strip().lower(): row["gemeentecode"] for row in csv.DictReader(io.StringIO(text))}


@lru_cache(maxsize=1)
def municipality_names() -> Mapping[str, str]:
    """Municipality name by CBS code."""
    return {code: name for name, code in _names_by_code_source()}


def _names_by_code_source() -> list[tuple[str, str]]:
    text = resources.files("ruas").joinpath("data/gemeenten/gemeenten_2024_codes.csv").read_text(encoding="utf-8")
    return [(row["gemeentenaam"], row["gemeentecode"]) for row in csv.DictReader(io.StringIO(text))]


def authority_code(name: str) -> str | None:
    """The CBS code of an issuing authority named as NDW names it (``'s-Gravenhage`` -> ``GM0518``)."""
    return municipality_codes().get(name.strip().lower())


def normalise_start(published: datetime) -> datetime:
    """A zone's start as the decree means it: local midnight of the published day.

    The NDW feed writes starts as ``T00:00:00Z`` (01:00 or 02:00 in Amsterdam); such a
    start is read as local midnight of that date. Ends written as ``T23:00:00Z`` of the
    day before already are local midnight. Any other time is kept as published.
    """
    utc = published.astimezone(UTC)
    if (utc.hour, utc.minute, utc.second, utc.microsecond) == (0, 0, 0, 0):
        return local_midnight(utc.date())
    return published.astimezone(LOCAL_TZ)


def _instant(value: Any, what: str) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value
    return parse_instant(str(value), what)


def compile_record(record: Mapping[str, Any], settings: RuleSettings) -> Zone:
    """Turn one stored record into a zone with concrete regulations."""
    zone_id = str(record["id"])
    try:
        kind = ZoneKind(record["kind"])
        regulations: list[Regulation] = []
        for i, reg in enumerate(record.get("regulations", ())):
            regulations.append(_compile_regulation(record, reg, i, settings))
        published = record.get("published_condition")
        return Zone(
            id=zone_id,
            name=str(record["name"]),
            kind=kind,
            authority=str(record.get("authority") or ""),
            authority_name=str(record.get("authority_name") or ""),
            regulations=tuple(regulations),
            geometry=record.get("geometry"),
            status=ZoneStatus(record.get("status", "in_force")),
            url=str(record.get("url") or ""),
            illustrative=bool(record.get("illustrative", False)),
            notes=tuple(record.get("notes", ())),
            source=dict(record.get("source", {})),
            published_condition=from_data(published, f"{zone_id}.published_condition") if published else None,
            bindings=tuple(r for r in record.get("regulations", ()) if "framework" in r),
        )
    except (KeyError, ValueError) as exc:
        raise InvalidInput(f"zone record {zone_id}: {exc}", zone=zone_id) from exc


def _compile_regulation(
    record: Mapping[str, Any], reg: Mapping[str, Any], index: int, settings: RuleSettings
) -> Regulation:
    zone_id = str(record["id"])
    if "framework" in reg:
        source = legal_source_from(reg.get("legal_source")) or legal_source_from({"citation": ""})
        assert source is not None
        binding = ZoneBinding(
            zone_id=zone_id,
            zone_name=str(record["name"]),
            authority=str(record.get("authority") or ""),
            start=_instant(reg.get("start"), f"{zone_id}.start"),
            end=_instant(reg.get("end"), f"{zone_id}.end"),
            legal_source=source,
            local_clauses=clauses_from_data(reg.get("local_clauses", ()), zone_id),
            extra_exemption_types=tuple(reg.get("extra_exemption_types", ())),
            params=dict(reg.get("params", {})),
        )
        if reg["framework"] == ZE_FRAMEWORK:
            return bind_zero_emission(binding, settings)
        if reg["framework"] == MILIEUZONE_FRAMEWORK:
            return bind_milieuzone(binding, settings)
        raise InvalidInput(f"zone {zone_id}: unknown framework {reg['framework']!r}", zone=zone_id)
    custom = reg["custom"]
    source = legal_source_from(custom.get("legal_source"))
    if source is None:
        raise InvalidInput(f"zone {zone_id}: regulation {index} has no legal_source", zone=zone_id)
    validity = custom.get("validity", {})
    clauses = clauses_from_data(custom.get("exemptions", ()), zone_id)
    chosen = [c for c in clauses if c.status is Status.IN_FORCE or settings.applies(c.id)]
    return Regulation(
        id=str(custom["id"]),
        name=str(custom["name"]),
        kind=ZoneKind(custom.get("kind", record["kind"])),
        authority=str(record.get("authority") or ""),
        legal_source=source,
        subject=from_data(custom["subject"], f"{zone_id}.regulations[{index}].subject"),
        subject_label=str(custom["subject_label"]),
        validity=Interval(_instant(validity.get("start"), "start"), _instant(validity.get("end"), "end")),
        exemptions=tuple(chosen),
        exemption_types=tuple(custom.get("exemption_types", ())),
        status=Status(custom.get("status", "in_force")),
    )


def compile_book(records: Sequence[Mapping[str, Any]], settings: RuleSettings) -> RuleBook:
    """Compile every record; attach the same register with all proposals applied, for comparison."""
    types = national_exemption_types()
    zones = tuple(compile_record(r, settings) for r in records)
    alt_settings = RuleSettings(frozenset({"all"}))
    proposed = (
        None
        if "all" in settings.apply_proposed
        else RuleBook(tuple(compile_record(r, alt_settings) for r in records), types)
    )
    return RuleBook(zones, types, proposed)
