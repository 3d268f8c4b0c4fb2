"""Exports for the collection agency (golden file), the dated policy layers, retention and the purge."""

from __future__ import annotations

import json
import os
import uuid
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from enforcement_kit import NOW, Enf, at

from ruas.domain.errors import InvalidInput
from ruas.enforcement import pipeline, service
from ruas.enforcement.policy import PolicyBook, add_version
from ruas.enforcement.privacy import EnforcementSettings
from ruas.store.db import session_scope
from ruas.store.models import PseudonymKey, Sanction

GOLDEN = Path(__file__).parent / "golden" / "sanctions_export.csv"
EXPORT_AT = datetime(2025, 12, 2, 8, 0, tzinfo=NOW.tzinfo)


def _fixed_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    counter = iter(range(1, 1000))

    def ids(n: int) -> pl.Series:
        return pl.Series("id", [str(uuid.UUID(int=next(counter))) for _ in range(n)], dtype=pl.Utf8)

    monkeypatch.setattr(pipeline, "new_ids", ids)


def test_export_matches_the_golden_file(enf: Enf, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fine (van), a fine (truck) and a warning (Haarlem, warning period) in format ruas-sanctions/1."""
    _fixed_ids(monkeypatch)
    enf.ingest(
        [
            ("CAM-AMS-1", at(2025, 11, 28, 8, 15), "VQ401A"),
            ("CAM-AMS-1", at(2025, 11, 28, 16, 40), "VQ401A"),
            ("CAM-AMS-1", at(2025, 11, 28, 10, 5), "VQ701T"),
            ("CAM-HLM-1", at(2025, 11, 28, 11, 0), "VQ402A"),
        ]
    )
    enf.run()
    with session_scope(enf.ctx.engine) as s:
        result = service.export(s, enf.ctx.register.book, tmp_path, now=EXPORT_AT, actor="test")
    assert result.rows == 3 and result.csv_path is not None and result.manifest_path is not None
    got = result.csv_path.read_text(encoding="utf-8")
    if os.environ.get("RUAS_UPDATE_GOLDEN") == "1":  # regenerate after a deliberate format change, then review it
        GOLDEN.write_text(got, encoding="utf-8")
    assert got == GOLDEN.read_text(encoding="utf-8")
    manifest = json.loads(result.manifest_path.read_text())
    assert (manifest["format"], manifest["rows"], manifest["fines"], manifest["warnings"]) == (
        "ruas-sanctions/1",
        3,
        2,
        1,
    )
    # nothing new: a second export writes nothing
    with session_scope(enf.ctx.engine) as s:
        assert service.export(s, enf.ctx.register.book, tmp_path, now=EXPORT_AT, actor="test").rows == 0


def test_a_withdrawn_sanction_is_exported_as_a_withdrawal(
    enf: Enf, tmp_path: Path, grant_day_exemption: object
) -> None:
    """Exported, then withdrawn after a day exemption granted that day: the next export says so."""
    enf.ingest([("CAM-AMS-1", at(2025, 9, 10, 9), "VQ401A")])
    enf.run()
    with session_scope(enf.ctx.engine) as s:
        service.export(s, enf.ctx.register.book, tmp_path / "a", now=EXPORT_AT, actor="test")
    grant_day_exemption(enf, "VQ401A", date(2025, 9, 10), decided_at=at(2025, 9, 10, 14))  # type: ignore[operator]
    enf.run([date(2025, 9, 10)])
    with session_scope(enf.ctx.engine) as s:
        second = service.export(s, enf.ctx.register.book, tmp_path / "b", now=EXPORT_AT, actor="test")
    assert second.csv_path is not None
    rows = pl.read_csv(second.csv_path)
    assert rows.select("record_type", "action", "revision").rows() == [("fine", "withdrawn", 2)]


def test_policy_layers_region_versions_and_municipal_deviations(enf: Enf) -> None:
    """The framework's 2025 fines, a regional 2026 schedule from its day, and a municipal warning period."""
    with session_scope(enf.ctx.engine) as s:
        add_version(
            s, scope="region", valid_from=date(2026, 1, 1), parameters={"fine_year": 2026, "fine_eur_van": 130},
            actor="test", now=NOW,
        )  # fmt: skip
        add_version(
            s, scope="GM0392", valid_from=date(2025, 6, 1), parameters={"warning_period_months": 9},
            actor="test", now=NOW,
        )  # fmt: skip
        book = PolicyBook.load(s)
    assert book.policy("GM0363", date(2025, 12, 31)).fine_for("van") == 120.0
    assert book.policy("GM0363", date(2026, 1, 1)).fine_for("van") == 130.0
    assert book.policy("GM0363", date(2026, 1, 1)).fine_for("truck") == 310.0
    assert book.policy("GM0392", date(2025, 12, 1)).warning_period_months == 9
    assert book.policy("GM0363", date(2025, 12, 1)).warning_period_months == 6
    assert book.policy("GM0392", date(2025, 12, 1)).sources[-1].startswith("GM0392 version")


def test_a_longer_municipal_warning_period_turns_the_fine_into_a_warning(enf: Enf) -> None:
    """Haarlem (ZE from 2025-06-01) with 9 months' warning: 2025-12-01 gives a warning, not a fine."""
    with session_scope(enf.ctx.engine) as s:
        add_version(
            s, scope="GM0392", valid_from=date(2025, 6, 1), parameters={"warning_period_months": 9},
            actor="test", now=NOW,
        )  # fmt: skip
    enf.ingest([("CAM-HLM-1", at(2025, 12, 1), "VQ401A")])
    enf.run()
    (s,) = enf.sanctions()
    assert (s.kind, s.amount_eur) == ("warning", None)


@pytest.mark.parametrize(
    ("scope", "params", "field"),
    [
        ("GM0363", {"warning_period_months": 3}, "parameters.warning_period_months"),  # at least 6 months
        ("GM0363", {"fine_eur_van": 99}, "parameters.fine_eur_van"),  # fixed nationally
        ("GM0363", {"no_such_rule": 1}, "parameters.no_such_rule"),
        ("GM9999", {"warning_period_months": 7}, "scope"),
    ],
)
def test_bad_policy_versions_are_refused(enf: Enf, scope: str, params: dict[str, object], field: str) -> None:
    """A deviation outside the framework's bounds, of a fixed parameter or unknown is refused naming it."""
    with session_scope(enf.ctx.engine) as s, pytest.raises(InvalidInput) as err:
        add_version(s, scope=scope, valid_from=date(2026, 1, 1), parameters=params, actor="t", now=NOW)
    assert err.value.details["field"] == field


def test_repeat_offences_raise_the_fine_when_the_policy_defines_it(enf: Enf) -> None:
    """From the third fine within 30 days the fine is multiplied by 1.5 (a regional rule set for the test)."""
    with session_scope(enf.ctx.engine) as s:
        add_version(
            s, scope="region", valid_from=date(2025, 9, 1),
            parameters={"repeat_offence_window_days": 30, "repeat_offence_after": 2, "repeat_offence_multiplier": 1.5},
            actor="test", now=NOW,
        )  # fmt: skip
    enf.ingest([("CAM-AMS-1", at(2025, 9, d), "VQ401A") for d in (10, 11, 12)])
    enf.run()
    assert [(s.amount_eur, s.repeat_count) for s in enf.sanctions()] == [(120.0, 0), (120.0, 1), (180.0, 2)]


def test_purge_deletes_what_is_past_retention(enf: Enf) -> None:
    """Records after 8 weeks (and the month's pseudonym key), violations and sanctions after their retention."""
    enf.ingest([("CAM-AMS-1", at(2025, 9, 10), "VQ401A"), ("CAM-AMS-1", at(2025, 9, 10, 10), "VQ601A")])
    enf.run()
    settings = EnforcementSettings(records_retention_days=56, violation_retention_days=400, review_retention_days=28)
    with session_scope(enf.ctx.engine) as s:
        early = service.purge(s, enf.store, settings, now=datetime(2025, 10, 1, tzinfo=NOW.tzinfo))
    assert early.records == 0 and enf.store.partitions("records")
    with session_scope(enf.ctx.engine) as s:
        later = service.purge(s, enf.store, settings, now=datetime(2025, 12, 1, tzinfo=NOW.tzinfo))
        keys = s.query(PseudonymKey).count()
    assert (later.records, later.violations, later.keys, keys) == (1, 0, 1, 0)
    assert enf.store.partitions("records") == [] and enf.store.partitions("aggregates")
    assert len(enf.sanctions()) == 1
    with session_scope(enf.ctx.engine) as s:
        last = service.purge(s, enf.store, settings, now=datetime(2026, 11, 1, tzinfo=NOW.tzinfo))
        assert s.query(Sanction).count() == 0
    assert (last.violations, last.sanctions) == (1, 1)
