"""Daily time windows (venstertijden) as OSM ``opening_hours`` expressions.

Evaluated with opening-hours-py in Europe/Amsterdam with the Dutch public-holiday
calendar, so ``PH off`` closes a window on Koningsdag, Easter Monday, Christmas...
An expression's state can be "unknown" (e.g. ``"Mo-Fr 08:00-12:00 unknown"``);
the engine treats unknown as *not open*, which keeps a restriction in force.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import opening_hours

from ruas.domain.errors import InvalidTimeWindow
from ruas.domain.timeutil import LOCAL_TZ, require_aware

_PARSER_ERROR: type[Exception] = getattr(opening_hours, "ParserError", SyntaxError)


@lru_cache(maxsize=512)
def _parse(expression: str) -> Any:
    try:
        return opening_hours.OpeningHours(expression, timezone=LOCAL_TZ, country="NL")
    except (_PARSER_ERROR, SyntaxError, ValueError) as exc:
        raise InvalidTimeWindow(
            f"time window {expression!r} is not a valid OSM opening_hours expression: {exc}",
            field="window",
            value=expression,
        ) from exc


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """An OSM ``opening_hours`` expression, parsed once, e.g. ``"Mo-Sa 07:00-11:00; PH off"``."""

    expression: str
    _oh: Any = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_oh", _parse(self.expression))

    def is_open(self, at: datetime) -> bool:
        """True when the window is open at the instant ``at`` (any timezone; unknown counts as closed)."""
        return bool(self._oh.is_open(_local(at)))

    def next_change(self, at: datetime) -> datetime | None:
        """The first instant after ``at`` where the open/closed state changes, or None."""
        nxt = self._oh.next_change(_local(at))
        if nxt is None:
            return None
        nxt = _from_lib(nxt)
        return nxt if nxt.astimezone(UTC) > at.astimezone(UTC) else None

    def open_intervals(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The open stretches ``[a, b)`` that overlap ``[start, end)``, clipped to it.

        Bounds are compared as UTC instants: datetimes that share a tzinfo compare by wall
        clock and ignore ``fold``, which is wrong in the repeated hour of the autumn DST night.
        The first stretch the library reports always begins at ``start`` itself.
        """
        lo, hi = _local(start).astimezone(UTC), _local(end).astimezone(UTC)
        out: list[tuple[datetime, datetime]] = []
        for i, (a, b, state, _comment) in enumerate(self._oh.intervals(_local(start), _local(end))):
            a_utc = lo if i == 0 else _from_lib(a).astimezone(UTC)
            b_utc = _from_lib(b).astimezone(UTC)
            a_utc, b_utc = max(a_utc, lo), min(b_utc, hi)
            if state == opening_hours.State.OPEN and b_utc > a_utc:
                out.append((a_utc.astimezone(LOCAL_TZ), b_utc.astimezone(LOCAL_TZ)))
        return out


def _local(at: datetime) -> datetime:
    """``at`` in Europe/Amsterdam (the library accepts only ZoneInfo timezones)."""
    return require_aware(at).astimezone(LOCAL_TZ)


def _from_lib(value: datetime) -> datetime:
    """A datetime from the library as an aware Europe/Amsterdam instant."""
    return value.replace(tzinfo=LOCAL_TZ) if value.tzinfo is None else value


def parse_window(expression: str) -> TimeWindow:
    """Parse and validate a window expression (raises :class:`InvalidTimeWindow`)."""
    return TimeWindow(expression.strip())
