"""Shared fixtures: a register seeded once per test session, copied fresh for every test that uses it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ruas.register.store import VEHICLES_FILE, Register
from ruas.rules.frameworks import RuleSettings


@pytest.fixture(scope="session")
def seeded_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory seeded once per session from the embedded data; tests copy it, never write to it."""
    path = tmp_path_factory.getbasetemp() / "ruas-seeded"
    if not (path / VEHICLES_FILE).exists():
        Register(path, RuleSettings()).ensure_seeded()
    return path


@pytest.fixture
def data_dir(seeded_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the seeded register, set as RUAS_DATA_DIR, with no proposals applied."""
    path = tmp_path / "data"
    shutil.copytree(seeded_dir, path)
    monkeypatch.setenv("RUAS_DATA_DIR", str(path))
    monkeypatch.delenv("RUAS_APPLY_PROPOSED", raising=False)
    return path
