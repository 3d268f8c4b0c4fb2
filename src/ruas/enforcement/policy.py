"""The harmonised enforcement policy as data: regional defaults, explicit municipal deviations, dated versions.

Which policy applies to a violation in municipality ``M`` on local day ``d`` is resolved in layers, each
one overriding the parameters it names:

1. the regional base framework's item ``handhaving-ze-zone`` (the stored ``framework_items`` row, else
   the embedded ``data/region/basisraamwerk.json``): warning period, one sanction a day, the national
   fine schedule, foreign plates;
2. dated **regional** versions (``enforcement_policy_versions`` with scope ``region``) with
   ``valid_from <= d``, oldest first — e.g. the fine schedule of a new year;
3. the municipality's adoption of the framework item (its deviations, see ``services/lifecycle``),
   from the local day it was adopted;
4. dated **municipal** versions (scope = the CBS code) with ``valid_from <= d``, oldest first.

So every deviation is explicit, stored with who set it and from when, and a day's answer never changes
when a later version is added. Municipal versions may not change parameters the framework marks
``fixed`` (set nationally, e.g. the fine amounts) and must respect its ``min``/``max`` (a warning period
of at least 6 months).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ruas.domain.errors import InvalidInput
from ruas.domain.timeutil import LOCAL_TZ
from ruas.register.records import municipality_names
from ruas.store.models import Adoption, EnforcementPolicyVersion, FrameworkItem

POLICY_ITEM = "handhaving-ze-zone"
"""The regional base framework item that holds the enforcement policy's regional defaults."""

REGION = "region"

EXTRA_PARAMETERS: Mapping[str, Mapping[str, Any]] = {
    "fine_eur_other": {
        "type": "number",
        "value": None,
        "min": 0,
        "max": 1000,
        "unit": "EUR",
        "label": "fine for other vehicles (cars, buses) in zones that regulate them (null: not set — a sanction "
        "is recorded without an amount for the officer to complete)",
    },
    "repeat_offence_window_days": {
        "type": "integer",
        "value": None,
        "min": 1,
        "max": 3650,
        "unit": "days",
        "label": "repeat offence: look back this many days for earlier fines (null: no repeat-offence rule)",
    },
    "repeat_offence_after": {
        "type": "integer",
        "value": None,
        "min": 1,
        "max": 100,
        "label": "repeat offence: from this many earlier fines within the window",
    },
    "repeat_offence_multiplier": {
        "type": "number",
        "value": None,
        "min": 1,
        "max": 10,
        "label": "repeat offence: the fine is multiplied by this factor",
    },
}
"""Parameters the framework item does not (yet) define; none is set by default (the framework defines no
repeat-offence rule), so they apply only when a regional or municipal version sets them."""


@lru_cache(maxsize=1)
def embedded_item() -> Mapping[str, Any]:
    """The ``handhaving-ze-zone`` item of the embedded regional base framework."""
    text = resources.files("ruas").joinpath("data/region/basisraamwerk.json").read_text(encoding="utf-8")
    for item in json.loads(text)["items"]:
        if item["id"] == POLICY_ITEM:
            return dict(item)
    raise InvalidInput(f"the embedded regional framework has no item {POLICY_ITEM!r}")  # pragma: no cover


def parameter_specs(item: Mapping[str, Any] | None = None) -> dict[str, Mapping[str, Any]]:
    """Every policy parameter with its type, bounds, fixed flag and framework value."""
    specs = dict(EXTRA_PARAMETERS)
    specs.update((item or embedded_item()).get("parameters", {}))
    return specs


@dataclass(frozen=True, slots=True)
class Policy:
    """The policy in force for one municipality on one local day, with the layers it came from."""

    municipality: str
    day: date
    warning_period_months: int
    one_per_day: bool
    fine_year: int
    fine_eur: Mapping[str, float | None]
    foreign_plates_enforceable: bool
    repeat_window_days: int | None = None
    repeat_after: int | None = None
    repeat_multiplier: float | None = None
    sources: tuple[str, ...] = ()

    def fine_for(self, vehicle_class: str) -> float | None:
        """The fine (EUR) for a vehicle class (``van``, ``truck``, ``other``); None when the policy sets none."""
        return self.fine_eur.get(vehicle_class, self.fine_eur.get("other"))

    def to_data(self) -> dict[str, Any]:
        """JSON form, stored with each sanction so a letter can say which policy was applied."""
        return {
            "municipality": self.municipality,
            "day": self.day.isoformat(),
            "warning_period_months": self.warning_period_months,
            "one_sanction_per_vehicle_per_zone_per_day": self.one_per_day,
            "fine_year": self.fine_year,
            "fine_eur": dict(self.fine_eur),
            "foreign_plates_camera_enforceable": self.foreign_plates_enforceable,
            "repeat_offence": None
            if self.repeat_window_days is None
            else {
                "window_days": self.repeat_window_days,
                "after": self.repeat_after,
                "multiplier": self.repeat_multiplier,
            },
            "sources": list(self.sources),
        }


def _policy_of(municipality: str, day: date, values: Mapping[str, Any], sources: Sequence[str]) -> Policy:
    def opt_int(key: str) -> int | None:
        v = values.get(key)
        return None if v is None else int(v)

    window, after, mult = opt_int("repeat_offence_window_days"), opt_int("repeat_offence_after"), None
    if values.get("repeat_offence_multiplier") is not None:
        mult = float(values["repeat_offence_multiplier"])
    repeat_on = window is not None and after is not None and mult is not None
    other = values.get("fine_eur_other")
    return Policy(
        municipality=municipality,
        day=day,
        warning_period_months=int(values["warning_period_months"]),
        one_per_day=bool(values["one_sanction_per_vehicle_per_zone_per_day"]),
        fine_year=int(values["fine_year"]),
        fine_eur={
            "van": float(values["fine_eur_van"]),
            "truck": float(values["fine_eur_truck"]),
            "other": None if other is None else float(other),
        },
        foreign_plates_enforceable=bool(values["foreign_plates_camera_enforceable"]),
        repeat_window_days=window if repeat_on else None,
        repeat_after=after if repeat_on else None,
        repeat_multiplier=mult if repeat_on else None,
        sources=tuple(sources),
    )


def check_parameters(
    parameters: Mapping[str, Any], scope: str, specs: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """Validate a version's parameters against the specs; raises :class:`InvalidInput` naming the parameter."""
    if not isinstance(parameters, Mapping) or not parameters:
        raise InvalidInput("a policy version needs at least one parameter", field="parameters")
    out: dict[str, Any] = {}
    for key, value in parameters.items():
        spec = specs.get(key)
        if spec is None:
            raise InvalidInput(
                f"unknown policy parameter {key!r} (known: {', '.join(sorted(specs))})", field=f"parameters.{key}"
            )
        if scope != REGION and spec.get("fixed"):
            raise InvalidInput(
                f"{key} is fixed for every municipality ({spec.get('reason', 'set nationally')})",
                field=f"parameters.{key}",
            )
        kind = spec.get("type")
        if value is None:
            if spec.get("value") is not None and kind != "number":
                raise InvalidInput(f"{key} needs a value", field=f"parameters.{key}")
            out[key] = None
            continue
        if kind == "boolean":
            if not isinstance(value, bool):
                raise InvalidInput(f"{key} must be true or false", field=f"parameters.{key}", value=str(value))
        elif kind in ("integer", "number"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidInput(f"{key} must be a number", field=f"parameters.{key}", value=str(value))
            if kind == "integer" and not float(value).is_integer():
                raise InvalidInput(f"{key} must be a whole number", field=f"parameters.{key}", value=str(value))
            lo, hi = spec.get("min"), spec.get("max")
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                raise InvalidInput(
                    f"{key} = {value} is outside {lo}..{hi} ({spec.get('label', '')})",
                    field=f"parameters.{key}",
                    value=str(value),
                )
            value = int(value) if kind == "integer" else float(value)
        out[key] = value
    return out


@dataclass(frozen=True, slots=True)
class PolicyBook:
    """Every layer of the policy, read once; :meth:`policy` resolves a (municipality, day) without I/O."""

    framework: Mapping[str, Any]
    framework_version: int
    versions: tuple[tuple[str, date, Mapping[str, Any], int], ...]
    adoptions: Mapping[str, tuple[date, Mapping[str, Any]]] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> PolicyBook:
        """Read the framework item, every dated version and the adoptions of the policy item."""
        row = session.get(FrameworkItem, POLICY_ITEM)
        item = dict(row.data) if row is not None else dict(embedded_item())
        version = row.version if row is not None else int(item.get("version", 1))
        values = {k: v.get("value") for k, v in parameter_specs(item).items() if isinstance(v, Mapping)}
        rows = session.scalars(
            select(EnforcementPolicyVersion).order_by(EnforcementPolicyVersion.valid_from, EnforcementPolicyVersion.id)
        ).all()
        versions = tuple((r.scope, r.valid_from, dict(r.parameters), r.id) for r in rows)
        adoptions = {
            a.municipality: (a.adopted_at.astimezone(LOCAL_TZ).date(), dict(a.deviations or {}))
            for a in session.scalars(select(Adoption).where(Adoption.item_id == POLICY_ITEM))
        }
        return cls(values, version, versions, adoptions)

    def policy(self, municipality: str, day: date) -> Policy:
        """The policy for violations in ``municipality`` on local ``day``."""
        values = dict(self.framework)
        sources = [f"framework {POLICY_ITEM} v{self.framework_version}"]
        for scope, valid_from, params, vid in self.versions:
            if scope == REGION and valid_from <= day:
                values.update(params)
                sources.append(f"region version {vid} from {valid_from.isoformat()}")
        adopted = self.adoptions.get(municipality)
        if adopted is not None and adopted[0] <= day and adopted[1]:
            values.update(adopted[1])
            sources.append(f"{municipality} adoption of {adopted[0].isoformat()}")
        for scope, valid_from, params, vid in self.versions:
            if scope == municipality and valid_from <= day:
                values.update(params)
                sources.append(f"{municipality} version {vid} from {valid_from.isoformat()}")
        return _policy_of(municipality, day, values, sources)


def add_version(
    session: Session,
    *,
    scope: str,
    valid_from: date,
    parameters: Mapping[str, Any],
    actor: str,
    now: datetime,
    note: str = "",
) -> EnforcementPolicyVersion:
    """Store a dated policy version for the region or a municipality (validated; one per scope and day)."""
    scope = scope.strip()
    if scope != REGION:
        scope = scope.upper()
        if scope not in municipality_names():
            raise InvalidInput(
                f"scope {scope!r} is neither 'region' nor a CBS municipality code (e.g. GM0363)", field="scope"
            )
    row = session.get(FrameworkItem, POLICY_ITEM)
    specs = parameter_specs(dict(row.data) if row is not None else None)
    clean = check_parameters(parameters, scope, specs)
    existing = session.scalar(
        select(EnforcementPolicyVersion).where(
            EnforcementPolicyVersion.scope == scope, EnforcementPolicyVersion.valid_from == valid_from
        )
    )
    if existing is not None:
        raise InvalidInput(
            f"{scope} already has a policy version from {valid_from.isoformat()}; choose another day",
            field="valid_from",
        )
    version = EnforcementPolicyVersion(
        scope=scope, valid_from=valid_from, parameters=clean, note=note, created_by=actor, created_at=now
    )
    session.add(version)
    session.flush()
    return version
