"""The one exception root of RUAS and its narrow subclasses.

Every error carries a ``details`` dict that names what was wrong (the field, file,
line or element, and what was expected), so the CLI and later the HTTP layer can
show it without parsing messages.
"""

from __future__ import annotations

from typing import Any


class RuasError(Exception):
    """Root of every error the platform raises on purpose."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details

    def __str__(self) -> str:
        return self.message


class InvalidInput(RuasError):
    """A value given by a user or a file is malformed or out of range."""


class InvalidPlate(InvalidInput):
    """A licence plate does not have the shape of a Dutch plate."""


class InvalidCondition(InvalidInput):
    """A condition tree names a field or operator outside the allow-list, or a bad value."""


class InvalidTimeWindow(InvalidInput):
    """An OSM ``opening_hours`` expression could not be parsed."""


class NotFound(RuasError):
    """Something named by its identifier does not exist."""


class UnknownVehicle(NotFound):
    """A plate is not in the vehicle register."""


class UnknownZone(NotFound):
    """A zone id is not in the register."""


class UnknownMunicipality(NotFound):
    """A CBS municipality code is not known."""


class SourceError(InvalidInput):
    """An input file (DATEX II, CSV, JSON, GeoJSON) is truncated, malformed or has wrong columns."""


class Conflict(RuasError):
    """The resource changed since it was read (e.g. two officers deciding the same case at once)."""
