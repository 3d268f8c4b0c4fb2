"""Privacy by design: keyed-HMAC pseudonyms with a key per calendar month, retention settings.

A plate in analytics is ``HMAC-SHA256(key of the month, plate)`` (first 20 hex digits): stable within a
month, so policy simulation can count visits of one vehicle, unlinkable across months, and impossible to
reverse or to recompute without the key. Keys are random (32 bytes), stored in the database
(``enforcement_pseudonym_keys``), created on first use, and deleted by ``ruas enforcement purge`` once
the records they pseudonymise have expired: after that not even the operator can link a pseudonym to a
plate (crypto-shredding).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from ruas.domain.errors import InvalidInput
from ruas.store.models import PseudonymKey

PSEUDONYM_HEX = 20
"""Hex digits kept of the HMAC (80 bits: collisions are negligible for a region's vehicles in a month)."""


@dataclass(frozen=True, slots=True)
class EnforcementSettings:
    """Retention and reading thresholds (days unless named otherwise); ``from_env`` reads ``RUAS_ENFORCEMENT_*``.

    - ``records_retention_days``: de-identified records of every passage (default 8 weeks);
    - ``violation_retention_days``: identifiable evidence of violations and the sanctions (default 2 years:
      time for objection, appeal and collection of a fine under the WAHV);
    - ``review_retention_days``: the review queue of unreadable or unknown plates (default 4 weeks);
    - ``inbox_max_hours``: raw passages not yet evaluated are deleted after this (default 72, the most the
      policy allows for records of vehicles without a violation);
    - ``min_read_confidence``: reads below this confidence (0..1) are not enforceable and go to review.
    """

    records_retention_days: int = 56
    violation_retention_days: int = 730
    review_retention_days: int = 28
    inbox_max_hours: int = 72
    min_read_confidence: float = 0.8

    def __post_init__(self) -> None:
        for name in ("records_retention_days", "violation_retention_days", "review_retention_days"):
            if getattr(self, name) < 1:
                raise InvalidInput(f"{name} must be at least 1 day", field=name)
        if not 0 <= self.inbox_max_hours <= 72:
            raise InvalidInput(
                "inbox_max_hours must be 0..72 (the policy allows at most 72 hours)", field="inbox_max_hours"
            )
        if not 0 <= self.min_read_confidence <= 1:
            raise InvalidInput("min_read_confidence must be within 0..1", field="min_read_confidence")

    @classmethod
    def from_env(cls) -> EnforcementSettings:
        """Read ``RUAS_ENFORCEMENT_RECORDS_DAYS``, ``..._VIOLATION_DAYS``, ``..._REVIEW_DAYS``,
        ``..._INBOX_HOURS`` and ``..._MIN_CONFIDENCE`` (each optional)."""

        def get(name: str, default: float) -> float:
            raw = os.environ.get(f"RUAS_ENFORCEMENT_{name}")
            if raw is None or raw == "":
                return default
            try:
                return float(raw)
            except ValueError as exc:
                raise InvalidInput(f"RUAS_ENFORCEMENT_{name}={raw!r} is not a number", field=name) from exc

        d = cls()
        return cls(
            records_retention_days=int(get("RECORDS_DAYS", d.records_retention_days)),
            violation_retention_days=int(get("VIOLATION_DAYS", d.violation_retention_days)),
            review_retention_days=int(get("REVIEW_DAYS", d.review_retention_days)),
            inbox_max_hours=int(get("INBOX_HOURS", d.inbox_max_hours)),
            min_read_confidence=get("MIN_CONFIDENCE", d.min_read_confidence),
        )


def month_of(day: date) -> str:
    """The key month of a local day: ``YYYY-MM``."""
    return f"{day.year:04d}-{day.month:02d}"


def month_keys(session: Session, months: Iterable[str], now: datetime) -> dict[str, bytes]:
    """The keys of these months, creating random ones for months that have none yet."""
    wanted = sorted(set(months))
    found = {k.month: k.key for k in session.scalars(select(PseudonymKey).where(PseudonymKey.month.in_(wanted)))}
    for month in wanted:
        if month not in found:
            key = secrets.token_bytes(32)
            session.add(PseudonymKey(month=month, key=key, created_at=now))
            found[month] = key
    session.flush()
    return found


def pseudonym(key: bytes, plate: str) -> str:
    """The pseudonym of one plate under one month's key.

    >>> pseudonym(b"k" * 32, "VQ123B") == pseudonym(b"k" * 32, "VQ123B") != pseudonym(b"j" * 32, "VQ123B")
    True
    """
    return hmac.new(key, plate.encode(), hashlib.sha256).hexdigest()[:PSEUDONYM_HEX]


def pseudonyms(key: bytes, plates: Sequence[str | None]) -> pl.Series:
    """Pseudonyms of many plates (None stays None), equal to :func:`pseudonym` for each.

    HMAC's inner and outer hash states are keyed once and copied per plate (RFC 2104), which is several
    times faster than a new ``hmac`` object per plate.

    >>> key = b"k" * 32
    >>> pseudonyms(key, ["VQ123B", None]).to_list() == [pseudonym(key, "VQ123B"), None]
    True
    """
    block = hashlib.sha256().block_size
    k = hashlib.sha256(key).digest() if len(key) > block else key
    k = k.ljust(block, b"\0")
    inner0 = hashlib.sha256(bytes(b ^ 0x36 for b in k))
    outer0 = hashlib.sha256(bytes(b ^ 0x5C for b in k))
    out: list[str | None] = []
    append = out.append
    for p in plates:
        if p is None:
            append(None)
            continue
        inner = inner0.copy()
        inner.update(p.encode())
        outer = outer0.copy()
        outer.update(inner.digest())
        append(outer.hexdigest()[:PSEUDONYM_HEX])
    return pl.Series("pseudonym", out, dtype=pl.Utf8)
