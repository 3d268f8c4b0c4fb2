"""The back-office end to end on small named cases: warnings, one sanction a day, day exemptions granted
afterwards, foreign plates, duplicate batches, a crash mid-batch, and no identifiable compliant passage on disk."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from enforcement_kit import NOW, ZE_AMS, ZE_HLM, Enf, at

from ruas.enforcement.policy import add_version
from ruas.store.db import session_scope


@pytest.mark.parametrize(
    ("camera", "day", "kind", "amount"),
    [
        # ZE Amsterdam started 2025-01-01: warnings until 2025-06-30, fines from 2025-07-01
        ("CAM-AMS-1", date(2025, 6, 30), "warning", None),
        ("CAM-AMS-1", date(2025, 7, 1), "fine", 120.0),
        # ZE Haarlem started 2025-06-01: warnings until 2025-11-30, fines from 2025-12-01
        ("CAM-HLM-1", date(2025, 11, 30), "warning", None),
        ("CAM-HLM-1", date(2025, 12, 1), "fine", 120.0),
    ],
)
def test_warning_on_the_last_day_of_the_warning_period_and_a_fine_the_day_after(
    enf: Enf, camera: str, day: date, kind: str, amount: float | None
) -> None:
    """Six months after the zone starts, a warning letter becomes a fine (€120 for a van in 2025)."""
    enf.ingest([(camera, at(day.year, day.month, day.day, 23, 59), "VQ401A")])
    enf.run()
    (s,) = enf.sanctions()
    assert (s.kind, s.amount_eur, s.day, s.vehicle_class) == (kind, amount, day, "van")


def test_a_truck_is_fined_310_euro(enf: Enf) -> None:
    """The 2025 fine for a truck (TMM > 3,500 kg) is €310."""
    enf.ingest([("CAM-AMS-1", at(2025, 9, 10), "VQ701T")])
    enf.run()
    (s,) = enf.sanctions()
    assert (s.kind, s.amount_eur, s.vehicle_class) == ("fine", 310.0, "truck")


def test_two_passages_of_one_vehicle_on_one_day_give_one_sanction(enf: Enf) -> None:
    """At most one sanction per vehicle per zone per day: the first passage is the offence, both are evidence."""
    enf.ingest([("CAM-AMS-1", at(2025, 9, 10, 8), "VQ401A"), ("CAM-AMS-1", at(2025, 9, 10, 15), "VQ401A")])
    (result,) = enf.run()
    assert result.outcomes["violation"] == 2
    (s,) = enf.sanctions()
    assert s.passages == 2
    assert s.passage_at == at(2025, 9, 10, 8)


def test_a_municipality_that_deviates_fines_every_passage(enf: Enf) -> None:
    """The one-a-day rule is a policy setting: a dated municipal deviation turns it off from its day."""
    with session_scope(enf.ctx.engine) as s:
        add_version(
            s,
            scope="GM0363",
            valid_from=date(2025, 9, 1),
            parameters={"one_sanction_per_vehicle_per_zone_per_day": False},
            actor="test",
            now=NOW,
        )
    enf.ingest([("CAM-AMS-1", at(2025, 9, 10, 8), "VQ401A"), ("CAM-AMS-1", at(2025, 9, 10, 15), "VQ401A")])
    enf.ingest([("CAM-AMS-1", at(2025, 8, 29, 8), "VQ401A"), ("CAM-AMS-1", at(2025, 8, 29, 15), "VQ401A")])
    enf.run()
    per_day = {d: sum(1 for s in enf.sanctions() if s.day == d) for d in (date(2025, 8, 29), date(2025, 9, 10))}
    assert per_day == {date(2025, 8, 29): 1, date(2025, 9, 10): 2}


def test_a_day_exemption_granted_at_14_covers_9_and_5_30_next_morning_but_not_6(
    enf: Enf, grant_day_exemption: Callable[..., str]
) -> None:
    """Granted afterwards on the same day, the day exemption (00:00 - 06:00 next day) revises the run."""
    day = date(2025, 9, 10)
    enf.ingest(
        [
            ("CAM-AMS-1", at(2025, 9, 10, 9), "VQ401A"),
            ("CAM-AMS-1", at(2025, 9, 11, 5, 30), "VQ401A"),
            ("CAM-AMS-1", at(2025, 9, 11, 6, 0), "VQ401A"),
        ]
    )
    enf.run()
    assert [(s.day, s.status, s.passages) for s in enf.sanctions()] == [
        (day, "open", 1),
        (day + timedelta(days=1), "open", 2),
    ]
    grant_day_exemption(enf, "VQ401A", day, decided_at=at(2025, 9, 10, 14))
    results = enf.run([day, day + timedelta(days=1)])
    assert [(r.sanctions_new, r.sanctions_updated, r.sanctions_withdrawn) for r in results] == [(0, 0, 1), (0, 1, 0)]
    first, second = enf.sanctions()
    assert (first.status, first.revision) == ("withdrawn", 2)
    assert (second.status, second.passages, second.passage_at) == ("open", 1, at(2025, 9, 11, 6, 0))
    rec = enf.records().sort("at")
    assert rec.get_column("outcome").to_list() == ["exempt", "exempt", "violation"]
    assert rec.get_column("basis").to_list()[:2] == ["grant:ze-dagontheffing"] * 2
    # running again changes nothing
    again = enf.run([day, day + timedelta(days=1)])
    assert [(r.sanctions_new, r.sanctions_updated, r.sanctions_withdrawn) for r in again] == [(0, 0, 0), (0, 0, 0)]
    assert enf.records().height == 3


def test_a_foreign_plate_is_not_enforceable_and_not_kept(enf: Enf) -> None:
    """A foreign plate cannot be fined by camera: counted, no sanction, not queued for review, plate not kept."""
    enf.ingest([("CAM-AMS-1", at(2025, 9, 10), "BXR1234", 0.97, "DE")])
    (result,) = enf.run()
    assert result.outcomes["not_enforceable"] == 1
    assert enf.sanctions() == []
    rec = enf.records()
    assert rec.get_column("basis").to_list() == ["foreign_plate"]
    assert enf.store.partitions("review") == []
    assert "BXR1234" not in _all_text(enf.data_dir / "enforcement")


@pytest.mark.parametrize(
    ("read", "reason"),
    [(("VQ401A", 0.55, None), "low_confidence"), (("VQ4O1A", 0.97, None), "unknown_plate")],
)
def test_unreadable_and_unknown_plates_go_to_the_review_queue(
    enf: Enf, read: tuple[str, float, None], reason: str
) -> None:
    """A low-confidence read or a plate not in the register is not enforceable and waits for an officer."""
    enf.ingest([("CAM-AMS-1", at(2025, 9, 10), *read)])
    (result,) = enf.run()
    assert result.review == 1
    assert enf.sanctions() == []
    queue = enf.store.read_many(enf.store.partitions("review"))
    assert queue is not None
    assert queue.select("plate", "reason").rows() == [(read[0], reason)]


def test_a_duplicate_batch_changes_nothing(enf: Enf) -> None:
    """The same batch twice, before and after a run: no new passages, the same sanctions, the same records."""
    rows = [("CAM-AMS-1", at(2025, 9, 10, 8), "VQ401A"), ("CAM-AMS-1", at(2025, 9, 10, 9), "VQ601A")]
    first = enf.ingest(rows)
    again = enf.ingest(rows)
    assert (first.stored, again.stored, again.duplicates) == (2, 0, 2)
    enf.run()
    after_run = enf.ingest(rows)
    assert (after_run.stored, after_run.duplicates) == (0, 2)
    assert enf.run() == []  # nothing waits in the inbox
    (s,) = enf.sanctions()
    assert s.revision == 1
    assert enf.records().height == 2


def test_a_crash_in_the_middle_of_a_run_leaves_no_partial_output(enf: Enf) -> None:
    """A fault after some output files are staged: no file replaced, no sanction stored, the inbox kept; a re-run
    then gives the same result as a clean run."""
    rows = [("CAM-AMS-1", at(2025, 9, 10, 8), "VQ401A"), ("CAM-HLM-1", at(2025, 9, 10, 9), "VQ402A")]
    enf.ingest(rows)
    before = _tree(enf.data_dir / "enforcement")
    with pytest.raises(RuntimeError, match="injected fault"):
        enf.run(fail_after=3)
    assert _tree(enf.data_dir / "enforcement") == before
    assert not list((enf.data_dir / "enforcement").rglob("*.tmp"))
    assert enf.sanctions() == []
    (result,) = enf.run()
    assert result.outcomes["violation"] == 2
    assert len(enf.sanctions()) == 2


def test_no_identifiable_compliant_or_exempt_passage_exists_on_disk_after_a_run(enf: Enf) -> None:
    """Scan every output file (decoded Parquet and raw bytes): the plates of compliant and exempt passages never
    appear; the violating plate does (in the evidence), so the scan can find plates."""
    enf.ingest(
        [
            ("CAM-AMS-1", at(2025, 9, 10, 8), "VQ601A"),  # electric: compliant
            ("CAM-AMS-1", at(2025, 9, 10, 9), "VQ501A"),  # class 5 van: exempt by the transition rule
            ("CAM-AMS-1", at(2025, 9, 10, 10), "VQ401A"),  # class 4 van: violation
        ]
    )
    (result,) = enf.run()
    assert (result.outcomes["compliant"], result.outcomes["exempt"], result.outcomes["violation"]) == (1, 1, 1)
    text = _all_text(enf.data_dir / "enforcement")
    assert "VQ401A" in text
    for plate in ("VQ601A", "VQ501A"):
        assert plate not in text
    rec = enf.records()
    assert "plate" not in rec.columns
    assert rec.get_column("pseudonym").cast(pl.Utf8).str.len_chars().to_list() == [20, 20, 20]


def test_records_and_aggregates_have_the_documented_layout(enf: Enf) -> None:
    """Hive partitions by day and municipality that Polars reads as one dataset; counts add up."""
    enf.ingest([("CAM-AMS-1", at(2025, 9, 10, 8), "VQ601A"), ("CAM-HLM-1", at(2025, 9, 10, 8, 30), "VQ401A")])
    enf.run()
    agg = pl.read_parquet(enf.data_dir / "enforcement/aggregates/**/*.parquet", hive_partitioning=True)
    assert set(agg.columns) == {
        "zone_id",
        "hour",
        "vehicle_class",
        "fuel",
        "emission_class",
        "outcome",
        "passages",
        "day",
        "municipality",
    }
    assert sorted(agg.select("municipality", "zone_id", "hour", "outcome", "passages").rows()) == [
        ("GM0363", ZE_AMS, 8, "compliant", 1),
        ("GM0392", ZE_HLM, 8, "violation", 1),
    ]


def _all_text(root: Path) -> str:
    """Every string of every Parquet file (decoded) plus the raw bytes of every other file, as one text."""
    parts: list[str] = []
    for f in root.rglob("*"):
        if not f.is_file():
            continue
        if f.suffix == ".parquet":
            frame = pl.read_parquet(f)
            for c in frame.columns:
                parts.extend(str(v) for v in frame.get_column(c).cast(pl.Utf8).to_list())
        else:
            parts.append(f.read_bytes().decode("latin-1"))
    return "\n".join(parts)


def _tree(root: Path) -> dict[str, bytes]:
    return {str(f.relative_to(root)): f.read_bytes() for f in root.rglob("*") if f.is_file() and f.name != ".lock"}
