"""Fixtures for the bundling tests (helpers live in ``bundling_kit``)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ruas.register.store import Register
from ruas.rules.frameworks import RuleSettings


@pytest.fixture(scope="session")
def bundling_register(seeded_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Register]:
    """One copy of the seeded register for every bundling test (the planner only reads it)."""
    path = tmp_path_factory.mktemp("bundling-register")
    shutil.copytree(seeded_dir, path, dirs_exist_ok=True)
    yield Register.open(path, RuleSettings())
