"""The de-identified records on disk (ADR 018): passage rows with a vehicle number plus one vehicles table per
partition, written, read, replaced and deleted as a pair; and sanction ids."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from enforcement_kit import NOW, Enf, at

from ruas.domain.errors import SourceError
from ruas.enforcement.pipeline import new_ids
from ruas.enforcement.service import purge
from ruas.enforcement.storage import RECORD_COLUMNS, VEHICLE_COLUMNS, Key, Store, read_records, split_records
from ruas.store.db import session_scope

DAY = date(2025, 9, 10)
AMS = "GM0363"


def _joined(rows: list[tuple[str | None, str, int]]) -> pl.DataFrame:
    """Records in their joined form: (pseudonym, outcome, minute) per row; attributes follow the pseudonym."""
    out = []
    for pseud, outcome, minute in rows:
        known = pseud is not None
        out.append(
            {
                "at": datetime(2025, 9, 10, 8, minute, tzinfo=NOW.tzinfo),
                "camera_id": "CAM-AMS-1",
                "zone_id": "ze",
                "pseudonym": pseud,
                "outcome": outcome,
                "basis": None,
                "vehicle_class": "van" if known else "unknown",
                "category": "N1" if known else None,
                "body": "van" if known else None,
                "fuel": ("diesel" if pseud == "a" else "electric") if known else None,
                "emission_class": ("4" if pseud == "a" else "Z") if known else None,
                "first_admission_month": "2012-03" if known else None,
                "max_mass_kg": 3000 if known else None,
                "length_m": 5.2 if known else None,
                "synthetic": False,
            }
        )
    return pl.DataFrame(
        out,
        schema={
            "at": pl.Datetime("us", "UTC"),
            "camera_id": pl.Utf8,
            "zone_id": pl.Utf8,
            "pseudonym": pl.Utf8,
            "outcome": pl.Utf8,
            "basis": pl.Utf8,
            "vehicle_class": pl.Utf8,
            "category": pl.Utf8,
            "body": pl.Utf8,
            "fuel": pl.Utf8,
            "emission_class": pl.Utf8,
            "first_admission_month": pl.Utf8,
            "max_mass_kg": pl.Int32,
            "length_m": pl.Float64,
            "synthetic": pl.Boolean,
        },
    )


def test_split_numbers_each_vehicle_once_and_keeps_unknown_vehicles_unnumbered() -> None:
    rec = _joined([("a", "violation", 1), ("b", "compliant", 2), ("a", "violation", 3), (None, "not_enforceable", 4)])
    fact, vehicles = split_records(rec)
    assert "pseudonym" not in fact.columns and not set(VEHICLE_COLUMNS) & set(fact.columns)
    assert fact.get_column("vehicle").to_list() == [0, 1, 0, None]
    assert vehicles.get_column("pseudonym").to_list() == ["a", "b"]
    assert vehicles.get_column("fuel").to_list() == ["diesel", "electric"]


@pytest.mark.parametrize(
    "rows",
    [
        pytest.param([("a", "violation", 1), ("b", "compliant", 2), ("a", "violation", 3)], id="known vehicles"),
        pytest.param([("a", "compliant", 1), (None, "not_enforceable", 2)], id="with an unknown plate"),
        pytest.param([(None, "not_enforceable", 1), (None, "not_enforceable", 2)], id="only unknown plates"),
    ],
)
def test_a_committed_records_partition_reads_back_as_written(
    data_dir: Path, rows: list[tuple[str | None, str, int]]
) -> None:
    store = Store(data_dir)
    rec = _joined(rows)
    store.commit({Key("records", DAY, AMS): rec})
    assert Key("record_vehicles", DAY, AMS).path(store.root).is_file()
    back = store.read(Key("records", DAY, AMS))
    assert back is not None
    assert back.columns == list(RECORD_COLUMNS)
    assert back.with_columns(pl.all().cast(pl.Utf8)).rows() == rec.with_columns(pl.all().cast(pl.Utf8)).rows()
    # only some columns: the vehicles file is read only when a vehicle column is asked for
    some = read_records(Key("records", DAY, AMS).path(store.root), ["at", "outcome"])
    assert some.columns == ["at", "outcome"] and some.height == rec.height


def test_deleting_records_deletes_their_vehicles_and_a_missing_vehicles_file_is_named(data_dir: Path) -> None:
    store = Store(data_dir)
    key = Key("records", DAY, AMS)
    store.commit({key: _joined([("a", "compliant", 1)])})
    Key("record_vehicles", DAY, AMS).path(store.root).unlink()
    with pytest.raises(SourceError, match="record_vehicles partition is missing"):
        store.read(key)
    store.commit({key: _joined([("a", "compliant", 1)])})
    store.commit({key: None})
    assert not list((store.root / "record_vehicles").rglob("*.parquet"))
    assert not list((store.root / "records").rglob("*.parquet"))


def test_a_run_stores_each_vehicle_once_per_partition_and_purge_removes_both_files(enf: Enf) -> None:
    """Three passages of one van and one of another: the records file has four rows and no pseudonym or vehicle
    attribute; the vehicles file has two rows; the joined records equal what the run decided."""
    enf.ingest(
        [
            ("CAM-AMS-1", at(2025, 9, 10, 8), "VQ401A"),
            ("CAM-AMS-1", at(2025, 9, 10, 12), "VQ401A"),
            ("CAM-AMS-1", at(2025, 9, 10, 17), "VQ401A"),
            ("CAM-AMS-1", at(2025, 9, 10, 9), "VQ601A"),
        ]
    )
    enf.run()
    root = enf.store.root
    fact = pl.read_parquet(Key("records", DAY, AMS).path(root))
    vehicles = pl.read_parquet(Key("record_vehicles", DAY, AMS).path(root))
    assert fact.height == 4 and vehicles.height == 2
    assert {"pseudonym", "fuel", "emission_class"}.isdisjoint(fact.columns)
    joined = enf.records()
    assert joined.height == 4 and joined.get_column("pseudonym").n_unique() == 2
    assert sorted(joined.group_by("pseudonym").len().get_column("len").to_list()) == [1, 3]
    assert dict(joined.group_by("outcome").len().iter_rows()) == {"violation": 3, "compliant": 1}
    with session_scope(enf.ctx.engine) as s:
        result = purge(s, enf.store, enf.ctx.settings, now=datetime(2026, 6, 1, tzinfo=NOW.tzinfo))
    assert result.records == 1
    assert not list((root / "records").rglob("*.parquet")) and not list((root / "record_vehicles").rglob("*.parquet"))


def test_sanction_ids_are_well_formed_time_ordered_and_unique() -> None:
    """20,000 ids: one random byte in 256 is zero, so ids ending in a zero byte must come out whole too."""
    ids = new_ids(20_000).to_list()
    assert len(set(ids)) == len(ids) and ids == sorted(ids)
    parsed = [uuid.UUID(i) for i in ids]
    assert all(str(u) == i and u.version == 7 and len(i) == 36 for u, i in zip(parsed, ids, strict=True))
    assert sum(u.bytes[-1] == 0 for u in parsed) > 0  # the case that once lost a character


def _hidden(store: Store) -> list[Path]:
    """Staged temporaries left behind."""
    return list(store.root.rglob(".*.tmp"))


def test_partitions_added_while_staging_appear_together_on_publish(data_dir: Path) -> None:
    store = Store(data_dir)
    first, second = Key("records", DAY, AMS), Key("records", date(2025, 9, 11), AMS)
    with store.staging() as staged:
        staged.add({first: _joined([("a", "compliant", 1)])})
        staged.add({second: _joined([("b", "violation", 2)]), Key("inbox", DAY, AMS): None})
        # nothing is visible before publish
        assert not list(store.root.rglob("*.parquet"))
        staged.publish()
    assert not _hidden(store)
    for key, pseud in ((first, "a"), (second, "b")):
        back = store.read(key)
        assert back is not None and back.get_column("pseudonym").cast(pl.Utf8).to_list() == [pseud]
        assert Key("record_vehicles", key.day, key.municipality).path(store.root).is_file()


def test_a_partition_staged_twice_is_refused_and_nothing_changes(data_dir: Path) -> None:
    store = Store(data_dir)
    key = Key("records", DAY, AMS)
    store.commit({key: _joined([("a", "compliant", 1)])})
    with pytest.raises(ValueError, match=r"records/2025-09-10/GM0363 staged twice"), store.staging() as staged:
        staged.add({key: _joined([("b", "violation", 2)])})
        staged.add({key: _joined([("c", "violation", 3)])})
        staged.publish()
    assert not _hidden(store)
    back = store.read(key)
    assert back is not None and back.get_column("pseudonym").cast(pl.Utf8).to_list() == ["a"]


def test_a_failure_after_partitions_were_added_discards_them_all(data_dir: Path) -> None:
    store = Store(data_dir)
    key = Key("records", DAY, AMS)
    store.commit({key: _joined([("a", "compliant", 1)])})
    with pytest.raises(RuntimeError, match="building the next partition failed"), store.staging() as staged:
        staged.add({key: _joined([("b", "violation", 2)]), Key("aggregates", DAY, AMS): pl.DataFrame({"x": [1]})})
        raise RuntimeError("building the next partition failed")
    assert not _hidden(store)
    assert not Key("aggregates", DAY, AMS).path(store.root).exists()
    back = store.read(key)
    assert back is not None and back.get_column("pseudonym").cast(pl.Utf8).to_list() == ["a"]
