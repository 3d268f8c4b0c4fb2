"""Daily time windows (venstertijden) as OSM ``opening_hours`` expressions.

Evaluated with opening-hours-py in Europe/Amsterdam with the Dutch public-holiday
calendar, so ``PH off`` closes a window on Koningsdag, Easter Monday, Christmas...
An expression's state can be "unknown" (e.g. ``"Mo-Fr 08:00-12:00 unknown"``);
the engine treats unknown as *not open*, which keeps a restriction in force.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
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
        """True when the window is open at the instant ``at`` (unknown counts as closed)."""
        return bool(self._oh.is_open(require_aware(at)))

    def next_change(self, at: datetime) -> datetime | None:
        """The first instant after ``at`` where the open/closed state changes, or None."""
        nxt = self._oh.next_change(require_aware(at))
        if nxt is None:
            return None
        if nxt.tzinfo is None:
            nxt = nxt.replace(tzinfo=LOCAL_TZ)
        return nxt if nxt > at else None

    def open_intervals(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The open stretches ``[a, b)`` that overlap ``[start, end)``, clipped to it."""
        out: list[tuple[datetime, datetime]] = []
        for a, b, state, _comment in self._oh.intervals(require_aware(start), require_aware(end)):
            if state == opening_hours.State.OPEN and b > a:
                a2 = a if a.tzinfo else a.replace(tzinfo=LOCAL_TZ)
                b2 = b if b.tzinfo else b.replace(tzinfo=LOCAL_TZ)
                out.append((max(a2, start), min(b2, end)))
        return out


def parse_window(expression: str) -> TimeWindow:
    """Parse and validate a window expression (raises :class:`InvalidTimeWindow`)."""
    return TimeWindow(expression.strip())
