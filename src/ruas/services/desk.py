"""The exemption desk (ontheffingenloket): applications, eligibility checks with reasons, decisions, evidence, fees.

One desk decides on behalf of every municipality of the region. An application names a plate, an
exemption type (:func:`ruas.rules.frameworks.national_exemption_types`), a municipality (CBS code) and
the validity asked for. On arrival the desk runs automatic eligibility checks with the rules engine and
stores every check with its reason on the application (``eligibility``: a list of ``{rule, ok, reason}``).

Choices (see also ``docs/exemption-desk.md``):

- **A day exemption is a right, not a discretionary decision.** When every check passes it is granted
  on the spot (``decided_by`` = :data:`SYSTEM_ACTOR`); when one fails it is refused on the spot with the
  reasons (e.g. "13th day exemption this year refused"). No officer is involved, so a carrier can ask
  for it on the day itself, also after the drive (never for a past day).
- **Long exemptions** (levertijd, bedrijfseconomisch, netcongestie, ...) are ``submitted``; an officer of
  the municipality (or the regional administrator) grants or refuses them with a motivation. Pending or
  refused applications give no access: the checks read only ``granted`` rows
  (:func:`ruas.services.grants.grants_for_plate`). A grant never starts before the moment it is decided.
- An application that fails a *blocking* check is refused automatically and costs nothing (nothing was
  assessed). Advisory checks (``evidence``, ``needed``) never refuse: they tell the applicant and the officer.
- **Fees** come from the exemption type (``fee_eur``; €30 for the ZE day exemption), or from the regional
  framework / the municipality's adoption where those set one (see :func:`type_settings`). The fee is
  recorded with ``payment_status`` ``due`` (also for an officer's refusal: the applicant pays also when
  refused), ``paid`` or ``not_required``. Collecting the money is the job of an external payment provider:
  :func:`record_payment` is the integration point behind ``POST /applications/{id}/payment``.
- **Ownership** is by business: an application belongs to the KvK number it was filed for, and every
  applicant account of that KvK sees it. Another business asking for it gets *not found* (the desk does
  not reveal that the id exists). An officer asking for another municipality's case gets *forbidden*:
  officers are staff of the one desk, case ids are no secret to them, but they act only for their own
  municipalities.
- **Concurrency**: a decision is an ``UPDATE ... WHERE id = ? AND row_version = ? AND status = 'submitted'``;
  no row updated means someone else decided first (:class:`DeskConflict`, HTTP 409). The yearly cap of
  day exemptions is counted under a lock (PostgreSQL advisory lock; SQLite's single writer), so two
  concurrent requests cannot both become the 12th.

Pure where possible: the checks (:func:`assess`), validity periods (:func:`day_validity`,
:func:`long_period`) and file sniffing (:func:`sniff_type`) take everything as arguments; the clock is
always passed in (``now``).
"""

from __future__ import annotations

import calendar
import hashlib
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from importlib import resources
from typing import Any, Literal, cast

from sqlalchemy import CursorResult, false, func, select, text, update
from sqlalchemy.orm import Session, defer

from ruas.domain.conditions import evaluate, relax_time
from ruas.domain.errors import Conflict, InvalidInput, NotFound
from ruas.domain.regulation import ExemptionType, Regulation, Status, Zone, ZoneStatus
from ruas.domain.timeutil import LOCAL_TZ, Interval, local_day, local_midnight, parse_instant
from ruas.domain.vehicle import Vehicle, normalise_plate
from ruas.domain.windows import parse_window
from ruas.register.records import municipality_names
from ruas.register.store import Register
from ruas.rules.engine import RuleBook, decide
from ruas.rules.frameworks import national_exemption_types
from ruas.services.accounts import Forbidden, Principal
from ruas.services.check import VehicleInput, build_vehicle
from ruas.store.models import Adoption, Application, AuditEntry, EvidenceFile, FrameworkItem

SUBMITTED = "submitted"
GRANTED = "granted"
REFUSED = "refused"
STATUSES = (SUBMITTED, GRANTED, REFUSED)

PAYMENT_DUE = "due"
PAYMENT_PAID = "paid"
PAYMENT_NOT_REQUIRED = "not_required"

SYSTEM_ACTOR = "ruas-desk"
"""``decided_by`` of the decisions the desk takes itself (day exemptions, automatic refusals)."""

ADVISORY_RULES = frozenset({"evidence", "needed"})
"""Checks that inform the applicant and the officer but never refuse an application."""

DAY_ENDS_AT = time(6, 0)
"""A day exemption runs from 00:00 local on the chosen day until 06:00 local the next day."""

MAX_DAYS_AHEAD = 366
"""How far ahead a day exemption may be asked for."""

MAX_EVIDENCE_FILES = 20
"""Evidence files per application."""

FRAMEWORK_FILE = "data/region/basisraamwerk.json"
"""The regional base framework shipped with RUAS (its ``exemption_type`` items set fees and regional validity)."""

ALLOWED_EVIDENCE = {"application/pdf": "PDF", "image/png": "PNG", "image/jpeg": "JPEG"}


class DeskConflict(Conflict):
    """The application changed or was decided since it was read (HTTP 409 at the API)."""


class UploadTooLarge(InvalidInput):
    """An evidence file is larger than the upload limit (HTTP 413 at the API)."""


class UnsupportedEvidence(InvalidInput):
    """An evidence file is not a PDF, PNG or JPEG by its content (HTTP 415 at the API)."""


# --------------------------------------------------------------------------- type terms


@dataclass(frozen=True, slots=True)
class TypeTerms:
    """How the desk handles an exemption type: a day exemption or a long one, and its limits.

    ``months`` is the longest validity of a long exemption (``None``: only ``until`` bounds it);
    ``until`` a fixed end (exclusive, local midnight); ``regional`` says a grant counts in every
    municipality whose zones list the type; ``window`` allows an ``opening_hours`` window.
    """

    kind: Literal["day", "long"]
    months: int | None = 12
    until: date | None = None
    min_visits_per_year: int | None = None
    window: bool = False
    regional: bool = False
    max_per_year: int | None = None
    fee_eur: float | None = None


TERMS: Mapping[str, TypeTerms] = {
    "ze-dagontheffing": TypeTerms("day"),
    "mz-dagontheffing": TypeTerms("day"),  # cap and fee: set by the municipality (adoption)
    "ze-levertijd": TypeTerms("long", months=12),
    "ze-bedrijfseconomisch": TypeTerms("long", months=12, min_visits_per_year=13, regional=True),
    "ze-netcongestie": TypeTerms("long", months=24, regional=True),
    "ze-geen-alternatief": TypeTerms("long", months=24),
    "ze-aangepast-voertuig": TypeTerms("long", months=None, until=date(2030, 1, 1)),
    "ze-hardheid": TypeTerms("long", months=24),
    "mz-ontheffing": TypeTerms("long", months=12),
    "ams-ontheffing-zwaar": TypeTerms("long", months=12),
    "ams-route-ontheffing": TypeTerms("long", months=12),
    "ams-lengte-ontheffing": TypeTerms("long", months=12),
    "venstertijd-ontheffing": TypeTerms("long", months=12, window=True),
}
"""The desk's defaults per type, used where neither the national data nor the regional framework says more.

The national data (``exemption_types.json``) gives fees and yearly caps; durations there are prose, so the
longest validities are here (1 year for business-economic, 2 years for grid congestion, until 2030 for
adapted vans, as in the national criteria). Regional validity of the business-economic and grid-congestion
exemptions follows the harmonised policy announced for 2026 (reported by Op weg naar ZES; legal text not
found): the regional base framework's ``regional_validity`` overrides it.
"""

SETTING_KEYS = {
    "fee_eur": "fee_eur",
    "max_per_year": "max_per_year",
    "regional_validity": "regional",
    "duration_months": "months",
    "valid_until": "until",
    "min_visits_per_year": "min_visits_per_year",
}
"""Parameters of a framework ``exemption_type`` item the desk applies, and the :class:`TypeTerms` field each sets."""


def terms_of(etype: ExemptionType, settings: Mapping[str, Any] | None = None) -> TypeTerms:
    """The terms of a type: the desk's defaults, the type's own fee and cap, then framework/adoption settings.

    ``settings`` are effective framework parameters (see :func:`type_settings`); ``None`` values are ignored.

    >>> from ruas.rules.frameworks import national_exemption_types
    >>> t = terms_of(national_exemption_types()["ze-dagontheffing"])
    >>> (t.kind, t.max_per_year, t.fee_eur, t.regional)
    ('day', 12, 30.0, False)
    >>> t = terms_of(national_exemption_types()["ze-levertijd"], {"fee_eur": 75, "regional_validity": True})
    >>> (t.fee_eur, t.regional, t.months)
    (75.0, True, 12)
    >>> terms_of(national_exemption_types()["ze-dagontheffing"], {"regional_validity": True}).regional
    False
    """
    base = TERMS.get(etype.id) or TypeTerms("day" if etype.id.endswith("dagontheffing") else "long")
    values: dict[str, Any] = {"max_per_year": etype.max_per_year, "fee_eur": etype.fee_eur}
    for key, name in SETTING_KEYS.items():
        value = (settings or {}).get(key)
        if value is None:
            continue
        if name == "fee_eur":
            value = float(value)
        elif name in ("max_per_year", "months", "min_visits_per_year"):
            value = int(value)
        elif name == "regional":
            value = bool(value)
        elif name == "until":
            value = date.fromisoformat(str(value))
        values[name] = value
    terms = replace(base, **values)
    if terms.kind == "day":  # day exemptions are per municipality, whatever a setting says
        terms = replace(terms, regional=False)
    return terms


@lru_cache(maxsize=1)
def _embedded_framework_items() -> Mapping[str, Mapping[str, Any]]:
    """The ``exemption_type`` items of the regional base framework shipped with RUAS, by exemption type id."""
    try:
        raw = resources.files("ruas").joinpath(FRAMEWORK_FILE).read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return {}
    items = json.loads(raw).get("items", [])
    return {str(i["exemption_type"]): i for i in items if i.get("kind") == "exemption_type" and i.get("exemption_type")}


def _parameters(item: Mapping[str, Any]) -> dict[str, Any]:
    params = item.get("parameters", {})
    return (
        {k: v.get("value") for k, v in params.items() if isinstance(v, Mapping)} if isinstance(params, Mapping) else {}
    )


def type_settings(session: Session, type_id: str, municipality: str | None) -> dict[str, Any]:
    """The effective framework parameters of a type for a municipality (``fee_eur``, ``regional_validity``, ...).

    The regional base framework (basisraamwerk) holds one ``exemption_type`` item per type: the stored
    ``framework_items`` row (``data["exemption_type"]`` names the type), else the embedded
    ``data/region/basisraamwerk.json``. A municipality's adoption of that item overrides parameters with
    its deviations (``adoptions.deviations``). Without either the national data and :data:`TERMS` hold.
    """
    rows = session.scalars(select(FrameworkItem).where(FrameworkItem.kind == "exemption_type")).all()
    row = next((r for r in rows if (r.data or {}).get("exemption_type") == type_id), None)
    if row is not None:
        item_id, params = row.id, _parameters(row.data or {})
    elif type_id in _embedded_framework_items():
        item = _embedded_framework_items()[type_id]
        item_id, params = str(item["id"]), _parameters(item)
    else:
        return {}
    if municipality:
        adoption = session.scalar(
            select(Adoption).where(Adoption.municipality == municipality, Adoption.item_id == item_id)
        )
        if adoption is not None and isinstance(adoption.deviations, Mapping):
            params.update(adoption.deviations)
    return params


def exemption_type(type_id: str) -> ExemptionType:
    """The national exemption type with this id (raises :class:`InvalidInput` naming the known ids)."""
    types = national_exemption_types()
    if type_id not in types:
        raise InvalidInput(
            f"type_id {type_id!r} is not an exemption type (known: {', '.join(sorted(types))})",
            field="type_id",
            value=type_id,
        )
    return types[type_id]


# --------------------------------------------------------------------------- validity periods


def day_validity(day: date) -> Interval:
    """A day exemption's validity: 00:00 local on ``day`` until 06:00 local the next day (DST-correct).

    >>> hours = lambda v: (v.end.astimezone(UTC) - v.start.astimezone(UTC)).total_seconds() / 3600
    >>> v = day_validity(date(2027, 3, 27))  # the night the clocks go forward: 29 hours
    >>> v.start.isoformat(), v.end.isoformat(), hours(v)
    ('2027-03-27T00:00:00+01:00', '2027-03-28T06:00:00+02:00', 29.0)
    >>> hours(day_validity(date(2027, 10, 30)))  # the night the clocks go back: 31 hours
    31.0
    """
    return Interval(local_midnight(day), datetime.combine(day + timedelta(days=1), DAY_ENDS_AT, tzinfo=LOCAL_TZ))


def requested_day(day: date | None, now: datetime) -> date:
    """Validate the day asked for: today (also after the fact) or a later day, at most a year ahead."""
    if day is None:
        raise InvalidInput("a day exemption needs 'day' (YYYY-MM-DD)", field="day")
    today = local_day(now)
    if day < today:
        raise InvalidInput(
            f"day {day.isoformat()} is in the past: a day exemption can be asked for today (also afterwards) "
            "or a later day",
            field="day",
            value=day.isoformat(),
        )
    if day > today + timedelta(days=MAX_DAYS_AHEAD):
        raise InvalidInput(f"day {day.isoformat()} is more than a year ahead", field="day", value=day.isoformat())
    return day


def add_months(day: date, months: int) -> date:
    """``day`` plus whole months, clamped to the last day of a shorter month.

    >>> add_months(date(2027, 1, 31), 1), add_months(date(2027, 6, 1), 24)
    (datetime.date(2027, 2, 28), datetime.date(2029, 6, 1))
    """
    years, month0 = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, month0 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def latest_end(terms: TypeTerms, start: datetime) -> datetime | None:
    """The latest end a long exemption starting at ``start`` may have (``None``: unbounded)."""
    ends = []
    if terms.months is not None:
        ends.append(local_midnight(add_months(local_day(start), terms.months)))
    if terms.until is not None:
        ends.append(local_midnight(terms.until))
    return min(ends) if ends else None


def long_period(
    terms: TypeTerms, start: datetime | None, end: datetime | None, *, earliest: datetime, what: str = "valid"
) -> Interval:
    """A long exemption's validity ``[start, end)``: start defaults to ``earliest``, end to the longest allowed.

    >>> t = TypeTerms("long", months=24)
    >>> now = datetime(2027, 5, 1, 9, 0, tzinfo=LOCAL_TZ)
    >>> p = long_period(t, local_midnight(date(2027, 6, 1)), None, earliest=local_midnight(date(2027, 5, 1)))
    >>> p.start.date().isoformat(), p.end.date().isoformat()
    ('2027-06-01', '2029-06-01')
    >>> long_period(t, None, local_midnight(date(2030, 1, 1)), earliest=now)
    Traceback (most recent call last):
    ...
    ruas.domain.errors.InvalidInput: valid_until 2030-01-01T00:00:00+01:00 is after the longest validity ...
    """
    start = start or earliest
    if start.astimezone(UTC) < earliest.astimezone(UTC):
        raise InvalidInput(
            f"{what}_from {start.isoformat()} is before {earliest.isoformat()}: "
            "a long exemption cannot start in the past",
            field=f"{what}_from",
        )
    if start.astimezone(UTC) > earliest.astimezone(UTC) + timedelta(days=MAX_DAYS_AHEAD):
        raise InvalidInput(f"{what}_from {start.isoformat()} is more than a year ahead", field=f"{what}_from")
    limit = latest_end(terms, start)
    if limit is not None and limit.astimezone(UTC) <= start.astimezone(UTC):
        raise InvalidInput(f"this exemption type ends on {limit.date().isoformat()}", field=f"{what}_from")
    end = end or limit
    if end is None:
        raise InvalidInput(f"give {what}_until for this exemption type", field=f"{what}_until")
    if end.astimezone(UTC) <= start.astimezone(UTC):
        raise InvalidInput(f"{what}_until must be after {what}_from", field=f"{what}_until")
    if limit is not None and end.astimezone(UTC) > limit.astimezone(UTC):
        raise InvalidInput(
            f"{what}_until {end.isoformat()} is after the longest validity of this type ({limit.date().isoformat()})",
            field=f"{what}_until",
        )
    return Interval(start, end)


def parse_moment(text: str | None, what: str) -> datetime | None:
    """An ISO-8601 date or date-time from the wire (naive: local time; a bare date: local midnight).

    >>> parse_moment("2027-06-01", "valid_from").isoformat()
    '2027-06-01T00:00:00+02:00'
    >>> parse_moment(None, "valid_until") is None
    True
    """
    return parse_instant(text, what) if text else None


# --------------------------------------------------------------------------- eligibility checks


@dataclass(frozen=True, slots=True)
class Check:
    """One automatic eligibility check and its reason, as stored on the application.

    ``reason`` is the English sentence; ``message`` (e.g. ``check.yearly_cap.ok``) and ``params`` say the
    same as a message id with parameters (strings, numbers or lists of strings), so the portal can word it
    in the visitor's language.
    """

    rule: str
    ok: bool
    reason: str
    message: str = ""
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def blocking(self) -> bool:
        """True when a failure refuses the application (advisory checks only inform)."""
        return self.rule not in ADVISORY_RULES

    def to_data(self) -> dict[str, Any]:
        """The stored form ``{rule, ok, reason}`` (plus ``message`` and ``params`` when it has a message id)."""
        data: dict[str, Any] = {"rule": self.rule, "ok": self.ok, "reason": self.reason}
        if self.message:
            data["message"] = self.message
            data["params"] = {k: list(v) if isinstance(v, tuple) else v for k, v in self.params}
        return data


def ordinal(n: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``4th``, ..., ``11th``-``13th``, ``21st``.

    >>> [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 112)]
    ['1st', '2nd', '3rd', '4th', '11th', '12th', '13th', '21st', '22nd', '112th']
    """
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th') }"


@dataclass(frozen=True, slots=True)
class Counts:
    """What the store knows that the checks need: day exemptions used this year and on the same day, evidence."""

    used_this_year: int = 0
    same_day: int = 0
    evidence_files: int = 0


def _listing(zones: Sequence[Zone], type_id: str) -> list[tuple[Zone, Regulation]]:
    return [
        (z, r)
        for z in zones
        if z.status is ZoneStatus.IN_FORCE
        for r in z.regulations
        if r.status is Status.IN_FORCE and type_id in r.exemption_types
    ]


def _overlaps(reg: Regulation, period: Interval) -> bool:
    start, end = reg.validity.start, reg.validity.end
    return (start is None or period.end is None or start < period.end) and (
        end is None or period.start is None or end > period.start
    )


def _local_text(at: datetime) -> str:
    return at.astimezone(LOCAL_TZ).isoformat(timespec="minutes")


def assess(
    book: RuleBook,
    zones: Sequence[Zone],
    vehicle: Vehicle,
    etype: ExemptionType,
    terms: TypeTerms,
    municipality: str,
    period: Interval,
    *,
    counts: Counts = Counts(),
    visits_per_year: int | None = None,
) -> list[Check]:
    """The automatic eligibility checks, in order, each with its reason (pure: everything is passed in).

    ``zones`` are the zones the application is for (the municipality's, or the ones asked for).
    """
    assert period.start is not None
    checks: list[Check] = []
    listing = _listing(zones, etype.id)
    if listing:
        names = sorted({z.name for z, _ in listing})
        checks.append(
            Check(
                "type_listed",
                True,
                f"{etype.name} is offered in {municipality}: {', '.join(names)}",
                "check.type_listed.ok",
                (("type_id", etype.id), ("municipality", municipality), ("zones", tuple(names))),
            )
        )
    else:
        checks.append(
            Check(
                "type_listed",
                False,
                f"no regulation in force in {municipality} offers {etype.name} ({etype.id})",
                "check.type_listed.fail",
                (("type_id", etype.id), ("municipality", municipality)),
            )
        )
    subject = [
        (z, r) for z, r in listing if _overlaps(r, period) and evaluate(relax_time(r.subject), vehicle, period.start)
    ]
    if subject:
        _zone, r = subject[0]
        checks.append(
            Check(
                "subject",
                True,
                f"the vehicle is subject to {r.name}: {r.subject_label}",
                "check.subject.ok",
                (("regulation", r.name), ("subject", r.subject_label)),
            )
        )
    elif listing:
        subjects = tuple(sorted({r.subject_label for _, r in listing}))
        checks.append(
            Check(
                "subject",
                False,
                f"the vehicle is not subject to a regulation that offers this exemption ({'; '.join(subjects)})",
                "check.subject.fail",
                (("subjects", subjects),),
            )
        )
    else:
        checks.append(Check("subject", False, "no regulation to be subject to", "check.subject.none"))
    if evaluate(etype.eligibility, vehicle, period.start):
        checks.append(
            Check(
                "type_eligibility",
                True,
                f"the vehicle meets the conditions of {etype.name}",
                "check.type_eligibility.ok",
                (("type_id", etype.id),),
            )
        )
    else:
        checks.append(
            Check(
                "type_eligibility",
                False,
                f"the vehicle ({vehicle.describe()}) does not meet the conditions of {etype.name}",
                "check.type_eligibility.fail",
                (("type_id", etype.id),),
            )
        )
    if terms.kind == "day":
        if terms.max_per_year is not None:
            n = counts.used_this_year + 1
            year = local_day(period.start).year
            cap = (("n", n), ("max", terms.max_per_year), ("municipality", municipality), ("year", year))
            if n <= terms.max_per_year:
                checks.append(
                    Check(
                        "yearly_cap",
                        True,
                        f"{ordinal(n)} day exemption of at most {terms.max_per_year} for this vehicle in "
                        f"{municipality} in {year}",
                        "check.yearly_cap.ok",
                        cap,
                    )
                )
            else:
                checks.append(
                    Check(
                        "yearly_cap",
                        False,
                        f"{ordinal(n)} day exemption this year refused: at most {terms.max_per_year} per vehicle "
                        f"per municipality per calendar year ({municipality}, {year})",
                        "check.yearly_cap.fail",
                        cap,
                    )
                )
        if counts.same_day:
            day = local_day(period.start).isoformat()
            checks.append(
                Check(
                    "one_per_day",
                    False,
                    f"the vehicle already holds or awaits a day exemption for {day}",
                    "check.one_per_day.fail",
                    (("day", day),),
                )
            )
        else:
            checks.append(Check("one_per_day", True, "no other day exemption for this day", "check.one_per_day.ok"))
    if terms.min_visits_per_year is not None:
        need = terms.min_visits_per_year
        if visits_per_year is None:
            checks.append(
                Check(
                    "visits",
                    False,
                    f"declare the visits a year to the zone (at least {need}): visits_per_year",
                    "check.visits.missing",
                    (("need", need),),
                )
            )
        elif visits_per_year < need:
            checks.append(
                Check(
                    "visits",
                    False,
                    f"{visits_per_year} visits a year declared; at least {need} are required",
                    "check.visits.too_few",
                    (("declared", visits_per_year), ("need", need)),
                )
            )
        else:
            checks.append(
                Check(
                    "visits",
                    True,
                    f"{visits_per_year} visits a year declared (at least {need})",
                    "check.visits.ok",
                    (("declared", visits_per_year), ("need", need)),
                )
            )
    if etype.evidence:
        if counts.evidence_files:
            checks.append(evidence_check(counts.evidence_files, etype))
        else:
            checks.append(
                Check(
                    "evidence",
                    False,
                    f"evidence required before a grant: {etype.evidence}; upload it as evidence",
                    "check.evidence.missing",
                    (("evidence", etype.evidence),),
                )
            )
    ids = list(dict.fromkeys(z.id for z, _ in listing))
    if ids:
        decision = decide(book, vehicle, ids, at=period.start)
        blocked = [zd for zd in decision.zones if not zd.allowed]
        if blocked:
            prohibits = [next((r for r in zd.reasons if r.effect.value == "prohibits"), None) for zd in blocked]
            texts = "; ".join(
                f"{zd.zone_name}: {r.text if r is not None else 'not allowed'}"
                for zd, r in zip(blocked, prohibits, strict=True)
            )
            subjects = tuple(
                str(r.message.param("subject")) if r is not None and r.message is not None else "" for r in prohibits
            )
            checks.append(
                Check(
                    "needed",
                    True,
                    f"without an exemption the vehicle may not enter at {_local_text(period.start)}: {texts}",
                    "check.needed.ok",
                    (
                        ("at", _local_text(period.start)),
                        ("zones", tuple(zd.zone_name for zd in blocked)),
                        ("subjects", subjects),
                    ),
                )
            )
        else:
            checks.append(
                Check(
                    "needed",
                    False,
                    f"note: at {_local_text(period.start)} the vehicle may enter without this exemption "
                    "(an automatic exemption or transition rule applies)",
                    "check.needed.fail",
                    (("at", _local_text(period.start)),),
                )
            )
    return checks


def evidence_check(files: int, etype: ExemptionType) -> Check:
    """The passed evidence check: how many files are uploaded."""
    return Check(
        "evidence",
        True,
        f"{files} evidence file(s) uploaded ({etype.evidence})",
        "check.evidence.ok",
        (("files", files), ("evidence", etype.evidence)),
    )


def eligible(checks: Sequence[Check]) -> bool:
    """True when every blocking check passed."""
    return all(c.ok for c in checks if c.blocking)


# --------------------------------------------------------------------------- evidence files


def sniff_type(data: bytes) -> str | None:
    """The media type of a PDF, PNG or JPEG by its magic bytes (``None`` for anything else).

    >>> sniff_type(b"%PDF-1.7 ..."), sniff_type(b"\\x89PNG\\r\\n\\x1a\\n..."), sniff_type(b"\\xff\\xd8\\xff\\xe0...")
    ('application/pdf', 'image/png', 'image/jpeg')
    >>> sniff_type(b"GIF89a"), sniff_type(b"")
    (None, None)
    """
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    return None


_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._ ()+-]")


def safe_filename(name: str | None) -> str:
    """The last path segment of an uploaded file's name, limited to harmless characters.

    >>> safe_filename("C:\\\\docs\\\\../offerte juni.pdf"), safe_filename(""), safe_filename('a"b;c.png')
    ('offerte juni.pdf', 'evidence', 'a_b_c.png')
    """
    base = re.split(r"[\\/]", name or "")[-1].strip().lstrip(".")
    cleaned = _UNSAFE_NAME.sub("_", base)[:200]
    return cleaned or "evidence"


def check_evidence(data: bytes, declared_type: str | None, max_bytes: int) -> str:
    """The media type of an evidence file, or raise: too large, empty, or not a PDF/PNG/JPEG by content."""
    if len(data) > max_bytes:
        raise UploadTooLarge(f"the file is larger than the limit of {max_bytes} bytes", field="file", limit=max_bytes)
    if not data:
        raise InvalidInput("the file is empty", field="file")
    found = sniff_type(data)
    if found is None:
        raise UnsupportedEvidence(
            "evidence must be a PDF, PNG or JPEG file (checked by content, not by name or header)", field="file"
        )
    declared = (declared_type or "").split(";")[0].strip().lower()
    if declared and declared not in ("application/octet-stream", found):
        raise UnsupportedEvidence(
            f"the file was sent as {declared} but its content is {ALLOWED_EVIDENCE[found]}", field="file"
        )
    return found


# --------------------------------------------------------------------------- store access


_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def is_id(value: str) -> bool:
    r"""True for an id the desk can have made (a UUID; letters, digits and dashes): others cannot exist.

    >>> is_id("066e7d86-0780-4faf-92f9-546bffa2c83e"), is_id("a\x00b"), is_id("")
    (True, False, False)
    """
    return bool(_ID.match(value))


def clean_text(value: str, what: str) -> str:
    r"""Free text without control characters (tabs and newlines allowed); PostgreSQL text cannot hold NUL.

    >>> clean_text("  two lines\nof text ", "note")
    'two lines\nof text'
    >>> clean_text("a\x00b", "note")
    Traceback (most recent call last):
    ...
    ruas.domain.errors.InvalidInput: note must not contain control characters
    """
    if _CONTROL.search(value):
        raise InvalidInput(f"{what} must not contain control characters", field=what)
    return value.strip()


def _audit(session: Session, actor: str, action: str, app_id: str, now: datetime, **detail: Any) -> None:
    session.add(AuditEntry(at=now, actor=actor, action=action, entity="application", entity_id=app_id, detail=detail))


def checks_of(app: Application) -> list[dict[str, Any]]:
    """The stored eligibility checks of an application (a list of ``{rule, ok, reason}``)."""
    stored: Any = app.eligibility
    return list(stored) if isinstance(stored, list) else []


def readable(session: Session, principal: Principal, app_id: str) -> Application:
    """The application if ``principal`` may read it.

    Applicants: only their business's (KvK) applications; others are *not found*. Officers: only
    their municipalities' (else *forbidden*). The administrator: all.
    """
    principal.require("applicant", "officer", "admin")
    app = session.get(Application, app_id) if is_id(app_id) else None
    if app is None or (principal.role == "applicant" and app.kvk != principal.kvk):
        raise NotFound(f"application {app_id!r} not found", field="application_id")
    if principal.role == "officer" and app.municipality not in principal.municipalities:
        raise Forbidden(
            f"application {app_id} is a case of {app.municipality}; you act for "
            f"{', '.join(sorted(principal.municipalities))}",
            field="municipality",
        )
    return app


def list_applications(
    session: Session,
    principal: Principal,
    *,
    status: str | None = None,
    municipality: str | None = None,
    type_id: str | None = None,
    plate: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[Application], int]:
    """Applications the principal may see, oldest first: own (applicant), the queue (officer), all (admin)."""
    principal.require("applicant", "officer", "admin")
    query = select(Application)
    if principal.role == "applicant":
        query = query.where(Application.kvk == principal.kvk)
    elif principal.role == "officer":
        query = query.where(Application.municipality.in_(sorted(principal.municipalities)))
    if status is not None:
        if status not in STATUSES:
            raise InvalidInput(f"status {status!r} is not one of {', '.join(STATUSES)}", field="status")
        query = query.where(Application.status == status)
    if municipality is not None:
        code = municipality.strip().upper()
        if code not in municipality_names():
            raise InvalidInput(f"municipality {municipality!r} is not a CBS code (e.g. GM0363)", field="municipality")
        if principal.role == "officer" and code not in principal.municipalities:
            raise Forbidden(f"you do not act for {code}", field="municipality")
        query = query.where(Application.municipality == code)
    if type_id is not None:
        query = query.where(Application.type_id == exemption_type(type_id).id)
    if plate is not None:
        query = query.where(Application.plate == normalise_plate(plate))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Application.created_at, Application.id).offset((page - 1) * page_size).limit(page_size)
    ).all()
    return list(rows), int(total)


def _lock_key(key: str) -> int:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)


def serialise(session: Session, key: str) -> None:
    """Hold a lock until the transaction ends so that concurrent counters of the same ``key`` take turns.

    PostgreSQL: a transaction-scoped advisory lock. SQLite has one writer at a time: a no-op write takes
    the write lock now, so the count that follows cannot be overtaken by another writer.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(key)})
    else:
        session.execute(
            update(Application).where(false()).values(row_version=Application.row_version),
            execution_options={"synchronize_session": False},
        )


def day_counts(session: Session, plate: str, municipality: str, type_id: str, day: date) -> Counts:
    """Granted and pending day exemptions of this type for the plate in the municipality: this year, that day."""
    year = Interval(local_midnight(date(day.year, 1, 1)), local_midnight(date(day.year + 1, 1, 1)))
    same = day_validity(day)
    base = select(func.count()).where(
        Application.plate == plate,
        Application.municipality == municipality,
        Application.type_id == type_id,
        Application.status.in_((GRANTED, SUBMITTED)),
    )
    assert year.start and year.end and same.start
    used = session.scalar(base.where(Application.valid_from >= year.start, Application.valid_from < year.end)) or 0
    on_day = session.scalar(base.where(Application.valid_from == same.start)) or 0
    return Counts(used_this_year=int(used), same_day=int(on_day))


def regional_municipalities(book: RuleBook, type_id: str, municipality: str) -> list[str]:
    """Other municipalities whose zones (in force or announced) offer the type: where a regional grant counts."""
    return sorted(
        {
            z.authority
            for z in book.zones
            if z.authority != municipality and any(type_id in r.exemption_types for r in z.regulations)
        }
    )


# --------------------------------------------------------------------------- applying


@dataclass(frozen=True, slots=True)
class ApplyRequest:
    """An application as the applicant asks it (wire values already parsed).

    ``vehicle`` holds declared attributes for a plate that is not in the vehicle register; ``day`` is for
    day exemptions, ``valid_from``/``valid_until`` for long ones; ``zones`` narrows the grant to some zones
    of the municipality; ``kvk`` lets the administrator file for a business.
    """

    plate: str
    type_id: str
    municipality: str
    vehicle: VehicleInput | None = None
    day: date | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    zones: tuple[str, ...] = ()
    window: str | None = None
    visits_per_year: int | None = None
    note: str = ""
    kvk: str | None = None


def _vehicle(session: Session, register: Register, plate: str, declared: VehicleInput | None) -> tuple[Vehicle, str]:
    try:
        registered = register.vehicle(plate, session)
    except NotFound:
        registered = None
    if registered is not None:
        if declared is not None and declared.overrides():
            raise InvalidInput(
                f"plate {plate} is in the vehicle register and its registered attributes are used: leave out 'vehicle'",
                field="vehicle",
            )
        return registered, "register"
    if declared is None or not declared.overrides():
        raise InvalidInput(
            f"plate {plate} is not in the vehicle register: give the vehicle's attributes in 'vehicle'", field="plate"
        )
    built = build_vehicle(register, replace(declared, plate=None))
    return replace(built, plate=plate), "declared"


def _zones(register: Register, municipality: str, wanted: Sequence[str]) -> list[Zone]:
    try:
        ids = register.zones_of_municipality(municipality)
    except NotFound as exc:
        raise InvalidInput(exc.message, field="municipality", value=municipality) from None
    if not wanted:
        return [register.book.zone(z) for z in ids]
    unknown = [z for z in wanted if z not in ids]
    if unknown:
        raise InvalidInput(f"zones {', '.join(unknown)} are not zones of {municipality}", field="zones")
    return [register.book.zone(z) for z in dict.fromkeys(wanted)]


def _kvk(principal: Principal, on_behalf: str | None) -> str:
    if principal.role == "applicant":
        if on_behalf is not None and on_behalf != principal.kvk:
            raise Forbidden("an applicant files only for its own KvK number", field="kvk")
        assert principal.kvk is not None
        return principal.kvk
    if on_behalf is None or not re.fullmatch(r"\d{8}", on_behalf):
        raise InvalidInput("the administrator files for a business: give its KvK number (8 digits)", field="kvk")
    return on_behalf


def apply(session: Session, register: Register, principal: Principal, req: ApplyRequest, now: datetime) -> Application:
    """File an application, run the checks and store them; a day exemption is decided on the spot.

    Raises :class:`InvalidInput` for a malformed request (nothing is stored); an application that fails
    a blocking check is stored as ``refused`` with the reasons.
    """
    principal.require("applicant", "admin")
    kvk = _kvk(principal, req.kvk)
    etype = exemption_type(req.type_id)
    municipality = req.municipality.strip().upper()
    zones = _zones(register, municipality, req.zones)
    plate = normalise_plate(req.plate)
    vehicle, source = _vehicle(session, register, plate, req.vehicle)
    terms = terms_of(etype, type_settings(session, etype.id, municipality))
    if req.window is not None and not terms.window:
        raise InvalidInput(f"{etype.id} takes no time window", field="window")
    window = parse_window(req.window).expression if req.window else None
    counts = Counts()
    if terms.kind == "day":
        if req.valid_from or req.valid_until:
            raise InvalidInput("a day exemption takes 'day', not valid_from/valid_until", field="valid_from")
        day = requested_day(req.day, now)
        period = day_validity(day)
        serialise(session, f"day|{plate}|{municipality}|{etype.id}|{day.year}")
        counts = day_counts(session, plate, municipality, etype.id, day)
    else:
        if req.day is not None:
            raise InvalidInput("a long exemption takes valid_from/valid_until, not 'day'", field="day")
        period = long_period(terms, req.valid_from, req.valid_until, earliest=local_midnight(local_day(now)))
    checks = assess(
        register.book,
        zones,
        vehicle,
        etype,
        terms,
        municipality,
        period,
        counts=counts,
        visits_per_year=req.visits_per_year,
    )
    ok = eligible(checks)
    assert period.start is not None and period.end is not None
    if not ok:
        status, fee, payment = REFUSED, None, PAYMENT_NOT_REQUIRED
        motivation = "refused automatically: " + "; ".join(c.reason for c in checks if c.blocking and not c.ok)
    elif terms.kind == "day":
        status, fee = GRANTED, terms.fee_eur
        payment = PAYMENT_DUE if fee else PAYMENT_NOT_REQUIRED
        motivation = "granted automatically: a day exemption is a right when the eligibility checks pass"
    else:
        status, fee = SUBMITTED, terms.fee_eur
        payment = PAYMENT_DUE if fee else PAYMENT_NOT_REQUIRED
        motivation = ""
    details: dict[str, Any] = {
        "type_name": etype.name,
        "kind": terms.kind,
        "vehicle": {"source": source, "description": vehicle.describe()},
        "requested": {"valid_from": period.start.isoformat(), "valid_until": period.end.isoformat()},
    }
    if req.visits_per_year is not None:
        details["visits_per_year"] = req.visits_per_year
    if req.note.strip():
        details["note"] = clean_text(req.note, "note")
    if terms.regional and not req.zones:
        details["regional_municipalities"] = regional_municipalities(register.book, etype.id, municipality)
    decided = status != SUBMITTED
    app = Application(
        id=str(uuid.uuid4()),
        applicant_id=principal.user_id,
        kvk=kvk,
        type_id=etype.id,
        plate=plate,
        municipality=municipality,
        zones=list(dict.fromkeys(req.zones)),
        valid_from=period.start,
        valid_until=period.end,
        window=window,
        status=status,
        eligibility=[c.to_data() for c in checks],
        details=details,
        fee_eur=fee,
        payment_status=payment,
        motivation=motivation,
        decided_by=SYSTEM_ACTOR if decided else None,
        decided_at=now if decided else None,
        created_at=now,
        row_version=1,
    )
    session.add(app)
    session.flush()
    _audit(
        session,
        principal.username,
        "application.apply",
        app.id,
        now,
        type_id=etype.id,
        plate=plate,
        municipality=municipality,
        status=status,
        failed=[c.rule for c in checks if not c.ok],
    )
    return app


# --------------------------------------------------------------------------- deciding


@dataclass(frozen=True, slots=True)
class DecisionRequest:
    """An officer's decision on the version of the application they read."""

    decision: Literal["granted", "refused"]
    motivation: str
    row_version: int
    valid_from: datetime | None = None
    valid_until: datetime | None = None


def _rowcount(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount)


def decide_application(
    session: Session, principal: Principal, app_id: str, req: DecisionRequest, now: datetime
) -> Application:
    """Grant or refuse a submitted application with a motivation (optimistic lock on ``row_version``).

    Raises :class:`DeskConflict` when the application was decided or changed since ``row_version``.
    A grant needs the required evidence and starts no earlier than ``now``.
    """
    principal.require("officer", "admin")
    app = session.get(Application, app_id) if is_id(app_id) else None
    if app is None:
        raise NotFound(f"application {app_id!r} not found", field="application_id")
    if not principal.may_decide_for(app.municipality):
        raise Forbidden(
            f"application {app_id} is a case of {app.municipality}; you decide for "
            f"{', '.join(sorted(principal.municipalities)) or 'no municipality'}",
            field="municipality",
        )
    if app.status != SUBMITTED:
        raise DeskConflict(
            f"application {app_id} was already decided ({app.status}, by {app.decided_by or 'someone else'})",
            field="status",
        )
    if req.row_version != app.row_version:
        raise DeskConflict(
            f"application {app_id} changed since you read it (row_version {req.row_version}, now {app.row_version}): "
            "decided by someone else or new evidence; read it again",
            field="row_version",
        )
    motivation = clean_text(req.motivation, "motivation")
    if len(motivation) < 10:
        raise InvalidInput("a decision needs a motivation of at least 10 characters", field="motivation")
    etype = exemption_type(app.type_id)
    terms = terms_of(etype, type_settings(session, etype.id, app.municipality))
    start, end = app.valid_from, app.valid_until
    if req.decision == GRANTED:
        if etype.evidence:
            files = session.scalar(
                select(func.count()).select_from(EvidenceFile).where(EvidenceFile.application_id == app.id)
            )
            if not files:
                raise InvalidInput(f"evidence is required before a grant: {etype.evidence}", field="evidence")
        wanted_start = req.valid_from or app.valid_from
        start_at = max(wanted_start.astimezone(UTC), now.astimezone(UTC))
        period = long_period(terms, start_at, req.valid_until or app.valid_until, earliest=now)
        assert period.start is not None and period.end is not None
        start, end = period.start, period.end
    result = session.execute(
        update(Application)
        .where(
            Application.id == app.id,
            Application.row_version == req.row_version,
            Application.status == SUBMITTED,
        )
        .values(
            status=req.decision,
            motivation=motivation,
            decided_by=principal.username,
            decided_at=now,
            valid_from=start,
            valid_until=end,
            row_version=Application.row_version + 1,
        ),
        execution_options={"synchronize_session": False},
    )
    if _rowcount(result) != 1:
        raise DeskConflict(f"application {app_id} was decided by someone else", field="row_version")
    session.refresh(app)
    _audit(
        session,
        principal.username,
        "application.decide",
        app.id,
        now,
        decision=req.decision,
        motivation=motivation,
        valid_from=start.isoformat(),
        valid_until=end.isoformat(),
        row_version=app.row_version,
    )
    return app


# --------------------------------------------------------------------------- payment (integration point)


def record_payment(
    session: Session, app_id: str, *, actor: str, reference: str, amount_eur: float | None, now: datetime
) -> Application:
    """Mark the fee of an application paid: **the integration point for an external payment provider**.

    RUAS computes and records fees but never collects money. The provider (or an administrator) calls
    ``POST /api/v1/applications/{id}/payment`` with its payment ``reference`` (and the amount) once the
    money is in. The call is idempotent per reference: repeating it changes nothing; another reference for
    a paid application is a conflict, as is a payment for an application with nothing due.
    """
    app = session.get(Application, app_id) if is_id(app_id) else None
    if app is None:
        raise NotFound(f"application {app_id!r} not found", field="application_id")
    reference = clean_text(reference, "reference")
    if not reference:
        raise InvalidInput("give the payment provider's reference", field="reference")
    paid = (app.details or {}).get("payment", {})
    if app.payment_status == PAYMENT_PAID:
        if paid.get("reference") == reference:
            return app
        raise DeskConflict(
            f"application {app_id} is already paid (reference {paid.get('reference')})", field="reference"
        )
    if app.payment_status != PAYMENT_DUE or app.fee_eur is None:
        raise DeskConflict(f"no payment is due for application {app_id} ({app.payment_status})", field="payment_status")
    if amount_eur is not None and abs(amount_eur - app.fee_eur) > 0.005:
        raise InvalidInput(f"amount {amount_eur:.2f} does not match the fee {app.fee_eur:.2f}", field="amount_eur")
    details = {
        **(app.details or {}),
        "payment": {
            "reference": reference,
            "amount_eur": app.fee_eur,
            "paid_at": now.isoformat(),
            "recorded_by": actor,
        },
    }
    result = session.execute(
        update(Application)
        .where(Application.id == app.id, Application.payment_status == PAYMENT_DUE)
        .values(payment_status=PAYMENT_PAID, details=details),
        execution_options={"synchronize_session": False},
    )
    if _rowcount(result) != 1:
        raise DeskConflict(f"the payment of application {app_id} was recorded by someone else", field="payment_status")
    session.refresh(app)
    _audit(session, actor, "application.payment", app.id, now, reference=reference, amount_eur=app.fee_eur)
    return app


# --------------------------------------------------------------------------- evidence


def evidence_target(session: Session, principal: Principal, app_id: str) -> Application:
    """The application a principal may add evidence to: its business's own (admin: any), still submitted."""
    app = readable(session, principal, app_id)
    if principal.role == "officer":
        raise Forbidden("officers read evidence; the applicant uploads it", field="role")
    if app.status != SUBMITTED:
        raise DeskConflict(
            f"application {app_id} is {app.status}: evidence can be added only while submitted", field="status"
        )
    return app


@dataclass(frozen=True, slots=True)
class Upload:
    """A received evidence file."""

    filename: str
    declared_type: str | None
    data: bytes = field(repr=False)


def add_evidence(
    session: Session, principal: Principal, app_id: str, upload: Upload, *, max_bytes: int, now: datetime
) -> EvidenceFile:
    """Store an evidence file (checked by size and content) and update the application's evidence check."""
    app = evidence_target(session, principal, app_id)
    content_type = check_evidence(upload.data, upload.declared_type, max_bytes)
    count = (
        session.scalar(select(func.count()).select_from(EvidenceFile).where(EvidenceFile.application_id == app.id)) or 0
    )
    if count >= MAX_EVIDENCE_FILES:
        raise InvalidInput(f"at most {MAX_EVIDENCE_FILES} evidence files per application", field="file")
    file = EvidenceFile(
        id=str(uuid.uuid4()),
        application_id=app.id,
        filename=safe_filename(upload.filename),
        content_type=content_type,
        size=len(upload.data),
        sha256=hashlib.sha256(upload.data).hexdigest(),
        data=upload.data,
        uploaded_at=now,
    )
    session.add(file)
    session.flush()
    etype = exemption_type(app.type_id)
    checks = checks_of(app)
    if etype.evidence:
        fresh = evidence_check(count + 1, etype).to_data()
        checks = [fresh if c.get("rule") == "evidence" else c for c in checks]
        if not any(c.get("rule") == "evidence" for c in checks):
            checks.append(fresh)
    result = session.execute(
        update(Application)
        .where(Application.id == app.id, Application.row_version == app.row_version, Application.status == SUBMITTED)
        .values(eligibility=checks, row_version=Application.row_version + 1),
        execution_options={"synchronize_session": False},
    )
    if _rowcount(result) != 1:
        raise DeskConflict(f"application {app_id} changed while the file was uploaded; try again", field="row_version")
    _audit(
        session,
        principal.username,
        "evidence.upload",
        app.id,
        now,
        file_id=file.id,
        filename=file.filename,
        content_type=content_type,
        size=file.size,
        sha256=file.sha256,
    )
    return file


def list_evidence(session: Session, principal: Principal, app_id: str) -> list[EvidenceFile]:
    """The evidence files of an application the principal may read (metadata; the bytes stay unloaded)."""
    app = readable(session, principal, app_id)
    query = (
        select(EvidenceFile)
        .options(defer(EvidenceFile.data))
        .where(EvidenceFile.application_id == app.id)
        .order_by(EvidenceFile.uploaded_at, EvidenceFile.id)
    )
    return list(session.scalars(query))


def get_evidence(session: Session, principal: Principal, app_id: str, file_id: str) -> EvidenceFile:
    """One evidence file of an application the principal may read."""
    app = readable(session, principal, app_id)
    file = session.get(EvidenceFile, file_id) if is_id(file_id) else None
    if file is None or file.application_id != app.id:
        raise NotFound(f"evidence file {file_id!r} not found for application {app_id}", field="file_id")
    return file
