"""The flows cube and dashboard against a small case computed by hand, with small-cell suppression."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from flows_support import (
    DIESEL_VAN_5,
    ELECTRIC_VAN,
    RIGID_6,
    TRACTOR_6,
    ZE_AMS,
    WriteRecords,
    local,
    record,
)

from ruas.domain.errors import InvalidInput
from ruas.flows.cube import FlowsData, refresh
from ruas.flows.queries import FlowFilter, dashboard
from ruas.flows.suppression import recoverable

DAY = date(2025, 9, 9)  # a Tuesday


def hand_case() -> list[dict[str, object]]:
    """12 electric vans (3 of them twice), 10 class-5 diesel vans (transition rule), 3 rigid trucks (exempt),
    1 tractor unit (violation), 2 foreign plates (no pseudonym)."""
    rows = []
    for i in range(12):
        rows.append(record(local(DAY, 8, i), "CAM-1", ZE_AMS, f"e{i:02d}", ELECTRIC_VAN, "compliant"))
    for i in range(3):
        rows.append(record(local(DAY, 14, i), "CAM-2", ZE_AMS, f"e{i:02d}", ELECTRIC_VAN, "compliant"))
    for i in range(10):
        rows.append(record(local(DAY, 9, i), "CAM-1", ZE_AMS, f"d{i:02d}", DIESEL_VAN_5, "exempt", "ze-van-class5"))
    for i in range(3):
        rows.append(record(local(DAY, 9, 30 + i), "CAM-2", ZE_AMS, f"r{i}", RIGID_6, "exempt", "ze-rigid-class6-2020"))
    rows.append(record(local(DAY, 10), "CAM-2", ZE_AMS, "t1", TRACTOR_6, "violation", "nl-ze/ams"))
    for i in range(2):
        rows.append(record(local(DAY, 8, 30 + i), "CAM-1", ZE_AMS, None, None, "not_enforceable", "foreign_plate"))
    return rows


EXPECTED = {
    ("total", "all"): (31, 26),
    ("vehicle_class", "van"): (25, 22),
    ("vehicle_class", "rigid"): (3, 3),
    ("vehicle_class", "tractor"): (1, 1),
    ("vehicle_class", "unknown"): (2, 0),
    ("hour", "08"): (14, 12),
    ("hour", "09"): (13, 13),
    ("hour", "10"): (1, 1),
    ("hour", "14"): (3, 3),
    ("outcome", "compliant"): (15, 12),
    ("outcome", "exempt"): (13, 13),
    ("outcome", "violation"): (1, 1),
    ("outcome", "not_enforceable"): (2, 0),
    ("exemption", "ze-van-class5"): (10, 10),
    ("exemption", "ze-rigid-class6-2020"): (3, 3),
    ("camera", "CAM-1"): (24, 22),
    ("camera", "CAM-2"): (7, 7),
    ("fuel", "electric"): (15, 12),
    ("fuel", "diesel"): (14, 14),
    ("fuel", "unknown"): (2, 0),
    ("emission_class", "Z"): (15, 12),
    ("emission_class", "5"): (10, 10),
    ("emission_class", "6"): (4, 4),
    ("emission_class", "unknown"): (2, 0),
}


@pytest.fixture
def hand(data_dir: Path, write_records: WriteRecords) -> FlowsData:
    write_records(DAY, hand_case())
    data = FlowsData(data_dir)
    refresh(data)
    return data


def test_cube_counts_equal_the_hand_computed_case(hand: FlowsData) -> None:
    cube = pl.read_parquet(hand.cube_path(DAY))
    got = {(d, v): (p, n) for d, v, p, n in cube.select("dimension", "value", "passages", "vehicles").iter_rows()}
    assert got == EXPECTED
    assert set(cube.get_column("zone_id")) == {ZE_AMS}
    assert set(cube.get_column("source")) == {"records"}


def test_refresh_is_incremental_and_keeps_a_records_day_when_records_expire(hand: FlowsData) -> None:
    assert refresh(hand).unchanged == 1
    # the pipeline's purge removes the records; aggregates stay: the richer cube is kept
    for f in hand.source_files("records", DAY):
        f.unlink()
    assert refresh(hand).to_data() == {"from_records": [], "from_aggregates": [], "unchanged": 0}
    assert pl.read_parquet(hand.cube_path(DAY)).height == len(EXPECTED)


def test_dashboard_suppresses_small_cells_and_what_would_reveal_them(hand: FlowsData) -> None:
    view = dashboard(hand, FlowFilter(DAY, date(2025, 9, 10)))
    data = view.to_data()
    b = data["breakdowns"]
    cls = b["vehicle_class"]
    assert cls["columns"] == ["van", "rigid", "tractor", "unknown"]
    assert cls["passages"] == [[25, None, None, None]]  # 3 rigid, 1 tractor, 0 known vehicles: hidden
    assert cls["row_totals"] == [31] and cls["grand_total"] == 31
    assert b["hour"]["column_totals"] == [14, 13, None, None]
    assert b["outcome"]["column_totals"] == [15, 13, None, None]
    # one exemption clause has 3 vehicles; the other is hidden too, or it would follow from the exempt total
    assert dict(zip(b["exemption"]["columns"], b["exemption"]["column_totals"], strict=True)) == {
        "ze-rigid-class6-2020": None,
        "ze-van-class5": None,
    }
    assert b["exemption"]["suppressed"] == {"primary": 1, "secondary": 1}
    assert b["camera"]["column_totals"] == [None, None]  # CAM-2 has 7 vehicles; CAM-1 = 31 - CAM-2
    assert data["total_passages"] == 31
    assert data["zero_emission_share"] == pytest.approx(15 / 31)
    assert data["compliance_share"] == pytest.approx(28 / 31)
    assert data["suppression_basis"] == "vehicles"
    for g in view.grids.values():
        assert recoverable(g) == []


def test_threshold_one_shows_everything(hand: FlowsData) -> None:
    data = dashboard(hand, FlowFilter(DAY, date(2025, 9, 10)), min_vehicles=1).to_data()
    assert data["breakdowns"]["vehicle_class"]["passages"] == [[25, 3, 1, 2]]
    assert data["breakdowns"]["camera"]["column_totals"] == [24, 7]


def test_aggregates_only_days_fall_back_to_passage_counts(data_dir: Path) -> None:
    from ruas.enforcement.pipeline import aggregates
    from ruas.enforcement.storage import Key, Store

    rows = pl.DataFrame(hand_case(), schema_overrides={"at": pl.Datetime("us", "UTC")})
    agg = aggregates(rows.with_columns(pl.col(c).cast(pl.Utf8) for c in ("zone_id", "outcome")))
    Store(data_dir).commit({Key("aggregates", DAY, "GM0363"): agg})
    data = FlowsData(data_dir)
    assert refresh(data).from_aggregates == (DAY,)
    view = dashboard(data, FlowFilter(DAY, date(2025, 9, 10))).to_data()
    assert view["suppression_basis"] == "passages"
    cls = view["breakdowns"]["vehicle_class"]
    # aggregates do not split trucks: truck = 4 passages (< 10: hidden), and unknown 2 with it
    assert dict(zip(cls["columns"], cls["passages"][0], strict=True)) == {"van": 25, "truck": None, "unknown": None}


@pytest.mark.parametrize(
    ("start", "end", "granularity", "field"),
    [
        (date(2025, 9, 2), date(2025, 9, 1), "day", "until"),
        (date(2020, 1, 1), date(2025, 1, 1), "day", "until"),
        (date(2025, 9, 1), date(2025, 9, 2), "hour", "granularity"),
    ],
)
def test_bad_filters_name_the_field(start: date, end: date, granularity: str, field: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        FlowFilter(start, end, granularity=granularity)
    assert exc.value.details["field"] == field


def test_weekly_buckets_and_a_longer_period_use_the_largest_daily_vehicle_count(
    data_dir: Path, write_records: WriteRecords
) -> None:
    # the same 12 electric vans on Monday and Tuesday: the week has 24 passages and at least 12 vehicles
    for day in (date(2025, 9, 8), date(2025, 9, 9)):
        write_records(
            day, [record(local(day, 8, i), "CAM-1", ZE_AMS, f"e{i:02d}", ELECTRIC_VAN, "compliant") for i in range(12)]
        )
    data = FlowsData(data_dir)
    refresh(data)
    view = dashboard(data, FlowFilter(date(2025, 9, 8), date(2025, 9, 15), granularity="week"))
    g = view.grid("vehicle_class")
    assert g.rows == ["2025-09-08"]
    assert (g.cells[0][0].passages, g.cells[0][0].vehicles_lb) == (24, 12)
