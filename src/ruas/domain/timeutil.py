"""Time conventions: timezone-aware instants, Europe/Amsterdam, half-open intervals.

The domain never reads the clock: every function takes the moment it needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ruas.domain.errors import InvalidInput

LOCAL_TZ = ZoneInfo("Europe/Amsterdam")
"""Local rules (transition dates, delivery windows) are evaluated in this zone."""


def require_aware(at: datetime, what: str = "at") -> datetime:
    """Return ``at`` unchanged, or raise if it has no timezone."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInput(f"{what} must be timezone-aware, got {at.isoformat()}", field=what)
    return at


def local_midnight(day: date) -> datetime:
    """The instant a local calendar day starts in Europe/Amsterdam (00:00 local)."""
    return datetime.combine(day, time(0, 0), tzinfo=LOCAL_TZ)


def local_day(at: datetime) -> date:
    """The local (Europe/Amsterdam) calendar day that contains the instant ``at``."""
    return require_aware(at).astimezone(LOCAL_TZ).date()


def add_years(day: date, years: int) -> date:
    """``day`` plus whole years; 29 February becomes 1 March in a non-leap year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


def age_in_years(first_admission: date, on: date) -> int:
    """Completed years between ``first_admission`` and the day ``on`` (the age on the day of entry)."""
    years = on.year - first_admission.year
    if (on.month, on.day) < (first_admission.month, first_admission.day):
        years -= 1
    return years


def parse_instant(text: str, what: str = "at") -> datetime:
    """Parse an ISO-8601 date or date-time; a naive value is read as local time.

    A bare date means local midnight at the start of that day.
    """
    raw = text.strip()
    try:
        if len(raw) == 10:
            value = local_midnight(date.fromisoformat(raw))
            if not 1900 <= value.year <= 2199:
                raise ValueError(raw)
            return value
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(
            f"{what}: {text!r} is not an ISO-8601 date or date-time (expected e.g. 2026-03-01T08:30+01:00)",
            field=what,
            value=text,
        ) from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=LOCAL_TZ)
    if not 1900 <= value.year <= 2199:
        raise InvalidInput(f"{what}: {text!r} lies outside the years 1900-2199 the rules cover", field=what, value=text)
    return value


def parse_date(text: str, what: str = "date") -> date:
    """Parse ``YYYY-MM-DD`` (or RDW's ``YYYYMMDD``) into a date, naming the field on failure."""
    raw = text.strip()
    try:
        if len(raw) == 8 and raw.isdigit():
            return date(int(raw[:4]), int(raw[4:6]), int(raw[6:]))
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise InvalidInput(
            f"{what}: {text!r} is not a valid date (expected YYYY-MM-DD)", field=what, value=text
        ) from exc


@dataclass(frozen=True, slots=True)
class Interval:
    """A half-open interval ``[start, end)`` of instants; ``None`` means unbounded on that side."""

    start: datetime | None = None
    end: datetime | None = None

    def __post_init__(self) -> None:
        if self.start is not None:
            require_aware(self.start, "interval start")
        if self.end is not None:
            require_aware(self.end, "interval end")
        if self.start is not None and self.end is not None and self.end < self.start:
            raise InvalidInput(
                f"interval ends ({self.end.isoformat()}) before it starts ({self.start.isoformat()})",
                field="end",
            )

    def contains(self, at: datetime) -> bool:
        """True when ``start <= at < end``."""
        if self.start is not None and at < self.start:
            return False
        return not (self.end is not None and at >= self.end)

    def boundaries(self) -> tuple[datetime, ...]:
        """The finite bounds, where membership can change."""
        return tuple(b for b in (self.start, self.end) if b is not None)


ONE_MINUTE = timedelta(minutes=1)
