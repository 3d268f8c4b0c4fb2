"""Emission factors per vehicle kind and fuel, kept as data with their source, year and basis.

The shipped table is ``ruas/data/bundling/emission_factors.csv`` (see its ``PROVENANCE.md``:
which figures are published, derived or assumptions). A scenario may add or override rows.
CO2 is well-to-wheel in grams per vehicle-kilometre; NOx is tailpipe in grams per vehicle-kilometre.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from ruas.domain.errors import InvalidInput

BASES = frozenset({"published", "derived", "assumption"})


@dataclass(frozen=True, slots=True)
class EmissionFactor:
    """Grams per vehicle-kilometre, with where each figure comes from."""

    id: str
    description: str
    co2_g_per_km: float
    nox_g_per_km: float
    co2_basis: str
    co2_source: str
    nox_basis: str
    nox_source: str
    year: int
    note: str = ""

    def to_data(self) -> dict[str, Any]:
        """JSON form (every output that shows emissions lists the factors it used)."""
        return {
            "id": self.id,
            "description": self.description,
            "co2_g_per_km": self.co2_g_per_km,
            "nox_g_per_km": self.nox_g_per_km,
            "co2_basis": self.co2_basis,
            "co2_source": self.co2_source,
            "nox_basis": self.nox_basis,
            "nox_source": self.nox_source,
            "year": self.year,
            "note": self.note,
        }


def _factor(row: Mapping[str, Any], where: str) -> EmissionFactor:
    def need(key: str) -> str:
        value = row.get(key)
        if value is None or str(value).strip() == "":
            raise InvalidInput(f"{where}: emission factor field '{key}' is required", field=key, file=where)
        return str(value).strip()

    def number(key: str) -> float:
        raw = need(key)
        try:
            value = float(raw)
        except ValueError:
            raise InvalidInput(f"{where}: '{key}' = {raw!r} is not a number", field=key, file=where) from None
        if value < 0:
            raise InvalidInput(f"{where}: '{key}' must not be negative", field=key, file=where)
        return value

    source = str(row.get("source") or "").strip()
    basis = str(row.get("basis") or "").strip()
    co2_basis = str(row.get("co2_basis") or basis).strip()
    nox_basis = str(row.get("nox_basis") or basis).strip()
    for key, value in (("co2_basis", co2_basis), ("nox_basis", nox_basis)):
        if value not in BASES:
            raise InvalidInput(
                f"{where}: '{key}' must be one of {', '.join(sorted(BASES))}, got {value!r}", field=key, file=where
            )
    year = number("year")
    return EmissionFactor(
        id=need("id"),
        description=str(row.get("description") or row.get("id")),
        co2_g_per_km=number("co2_g_per_km"),
        nox_g_per_km=number("nox_g_per_km"),
        co2_basis=co2_basis,
        co2_source=str(row.get("co2_source") or source).strip() or need("co2_source"),
        nox_basis=nox_basis,
        nox_source=str(row.get("nox_source") or source).strip() or need("nox_source"),
        year=int(year),
        note=str(row.get("note") or ""),
    )


@cache
def shipped_factors() -> dict[str, EmissionFactor]:
    """The emission factors that ship with RUAS, by id."""
    text = resources.files("ruas.data").joinpath("bundling/emission_factors.csv").read_text(encoding="utf-8")
    out: dict[str, EmissionFactor] = {}
    for i, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        f = _factor(row, f"emission_factors.csv, line {i}")
        out[f.id] = f
    return out


def factor_table(extra: Iterable[Mapping[str, Any]] = ()) -> dict[str, EmissionFactor]:
    """The shipped factors, with a scenario's own rows added (or replacing shipped ones with the same id)."""
    table = dict(shipped_factors())
    for i, row in enumerate(extra):
        f = _factor(row, f"scenario emission_factors[{i}]")
        table[f.id] = f
    return table
