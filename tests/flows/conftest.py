"""Fixtures of the flows tests (helpers in ``flows_support``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from flows_support import AMS, RECORD_SCHEMA, WriteRecords

from ruas.enforcement.storage import Key, Store


@pytest.fixture
def write_records(data_dir: Path) -> WriteRecords:
    """``write_records(day, rows)``: commit one day's records of Amsterdam as the pipeline would."""

    def write(day: date, rows: Sequence[dict[str, Any]]) -> None:
        frame = pl.DataFrame(list(rows), schema=RECORD_SCHEMA)
        Store(data_dir).commit({Key("records", day, AMS): frame})

    return write
