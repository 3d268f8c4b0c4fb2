"""Fixtures of the open-data tests: the national register in memory, exports of it, the DATEX II schema."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from lxml import etree

from ruas.api.app import create_app
from ruas.core.config import Settings
from ruas.opendata.snapshot import Snapshot, national_records, records_snapshot

HERE = Path(__file__).parent
SCHEMA = HERE / "schemas" / "DATEXII_3_D2Payload.xsd"
PUBLISHED = datetime(2025, 7, 7, 4, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def national() -> Snapshot:
    """All 42 NDW zones of the embedded feed plus the region's own zones, as register version 7."""
    return records_snapshot(national_records(), version=7, at=PUBLISHED)


@pytest.fixture(scope="session")
def datex_schema() -> etree.XMLSchema:
    """The DATEX II v3 payload schema (TrafficRegulation profile) shipped with the tests."""
    return etree.XMLSchema(etree.parse(str(SCHEMA)))


@pytest.fixture
def feed_client(data_dir: Path) -> Iterator[TestClient]:
    """A TestClient over the app on a fresh copy of the seeded SQLite register."""
    settings = Settings(env="development", data_dir=data_dir, secret_key="x" * 40, anonymous_checks_per_minute=100_000)
    with TestClient(create_app(settings)) as client:
        yield client
