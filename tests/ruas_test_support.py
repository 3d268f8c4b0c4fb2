"""Helpers shared by tests (``tests/`` is on ``sys.path`` while they run, through its conftest)."""

from __future__ import annotations

from typing import Any

from ruas.register.store import Register


def register_snapshot(register: Register) -> tuple[Any, ...]:
    """Everything an import may change: the register version, the published records and the vehicles."""
    store = register.store
    vehicles = store.load_vehicles()
    digest = vehicles.hash_rows().sum() if vehicles.height else 0
    return (store.version(), store.load_records(), vehicles.height, digest)
