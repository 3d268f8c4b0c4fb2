"""``serve_app``: the factory ``ruas serve`` runs is the normal app with the start-up heap frozen."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ruas.api.app import serve_app


@pytest.fixture
def unfreeze() -> Iterator[None]:
    """Give the frozen objects back to the collector after the test (tests share one process)."""
    yield
    gc.unfreeze()


def test_serve_app_freezes_the_startup_heap_and_serves(data_dir: Path, unfreeze: None) -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    app = serve_app()
    assert gc.get_freeze_count() > 10_000  # the register and the compiled rule book, not a handful of objects
    with TestClient(app) as client:
        assert client.get("/api/v1/health").status_code == 200
