"""The vehicle as the rules see it: category, body, fuels, emission class, dates, mass, size.

Built from the RDW open-data register (see ``ruas.sources.rdw``) or entered by hand.
Units: kilograms and metres.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from ruas.domain.errors import InvalidInput, InvalidPlate


class Category(StrEnum):
    """EU vehicle category (Directive 2007/46/EC; RDW ``europese_voertuigcategorie``)."""

    M1 = "M1"
    M2 = "M2"
    M3 = "M3"
    N1 = "N1"
    N2 = "N2"
    N3 = "N3"
    L = "L"
    O = "O"  # noqa: E741 - the EU's own name for trailers
    T = "T"
    OTHER = "other"

    @property
    def group(self) -> str:
        """The letter group: ``M`` (passengers), ``N`` (goods), ``L``, ``O``, ``T`` or ``other``."""
        return self.value[0] if self is not Category.OTHER else "other"


class Body(StrEnum):
    """Body type as the Dutch rules distinguish it."""

    CAR = "car"
    VAN = "van"  # bestelauto: goods vehicle, TMM <= 3,500 kg
    RIGID = "rigid"  # bakwagen
    TRACTOR = "tractor"  # opleggertrekker
    BUS = "bus"
    MOTORCYCLE = "motorcycle"
    SPECIAL = "special"
    OTHER = "other"


class Fuel(StrEnum):
    """Fuel or energy carrier (RDW ``brandstof_omschrijving``, normalised)."""

    DIESEL = "diesel"
    PETROL = "petrol"
    LPG = "lpg"
    CNG = "cng"
    LNG = "lng"
    ELECTRIC = "electric"
    HYDROGEN = "hydrogen"
    OTHER = "other"


ZERO_EMISSION_FUELS = frozenset({Fuel.ELECTRIC, Fuel.HYDROGEN})


class EmissionClass(StrEnum):
    """Emission class 0-6 (about the Euro class) or ``Z`` for zero emission."""

    E0 = "0"
    E1 = "1"
    E2 = "2"
    E3 = "3"
    E4 = "4"
    E5 = "5"
    E6 = "6"
    Z = "Z"

    @property
    def rank(self) -> int:
        """Ordering for comparisons: 0..6, and 7 for ``Z`` (cleaner than any Euro class)."""
        return 7 if self is EmissionClass.Z else int(self.value)

    @classmethod
    def parse(cls, text: str | int) -> EmissionClass:
        """Read ``"5"``, ``5``, ``"Euro 6"``, ``"VI"``, ``"euro6"`` or ``"Z"``."""
        raw = str(text).strip().upper().replace("EURO", "").replace(" ", "")
        roman = {"0": "0", "I": "1", "II": "2", "III": "3", "IV": "4", "V": "5", "VI": "6"}
        raw = roman.get(raw, raw)
        if raw and raw[0] in "0123456" and (len(raw) == 1 or not raw[1].isdigit()):
            raw = raw[0]
        try:
            return cls(raw)
        except ValueError as exc:
            raise InvalidInput(
                f"emission class {text!r} is not one of 0-6 or Z", field="emission_class", value=str(text)
            ) from exc


_PLATE_RE = re.compile(r"^[A-Z0-9]{6}$")


def normalise_plate(text: str) -> str:
    """Upper-case a Dutch plate and drop dashes and spaces: ``'vq-123-b'`` -> ``'VQ123B'``.

    Raises :class:`InvalidPlate` unless the result is six letters and digits with at
    least one of each (every Dutch side code has that shape).

    >>> normalise_plate("vq-123-b")
    'VQ123B'
    >>> normalise_plate("")
    Traceback (most recent call last):
    ...
    ruas.domain.errors.InvalidPlate: plate '' is malformed: expected 6 letters and digits, e.g. 'VQ-123-B'
    """
    plate = re.sub(r"[\s\-]", "", text).upper()
    if not _PLATE_RE.match(plate) or not any(c.isdigit() for c in plate) or not any(c.isalpha() for c in plate):
        raise InvalidPlate(
            f"plate {text!r} is malformed: expected 6 letters and digits, e.g. 'VQ-123-B'",
            field="plate",
            value=text,
        )
    return plate


@dataclass(frozen=True, slots=True)
class Vehicle:
    """One vehicle with the attributes access rules look at.

    ``max_mass_kg`` is the TMM (toegestane maximum massa); ``first_admission`` the DET
    (datum eerste toelating). ``body_codes`` are RDW carrosserie-specifiek codes
    (e.g. ``"15"``), ``special_purpose`` EU special-purpose codes (``"SH"``
    wheelchair-accessible, ``"SB"`` armoured, ``"SF"`` mobile crane, ``"SA"`` motor
    caravan), ``special_codes`` RDW bijzonderheden codes (e.g. ``"145"``), and
    ``usage`` uses such as ``"taxi"``; ``holder`` facts about the keeper that the
    register does not hold (e.g. ``"permanent_resident"`` of the zone), empty unless
    a user states them.
    """

    category: Category
    body: Body
    fuels: frozenset[Fuel]
    emission_class: EmissionClass
    first_admission: date
    max_mass_kg: int
    plate: str | None = None
    length_m: float | None = None
    width_m: float | None = None
    height_m: float | None = None
    axle_load_kg: int | None = None
    body_codes: frozenset[str] = field(default_factory=frozenset)
    special_purpose: frozenset[str] = field(default_factory=frozenset)
    special_codes: frozenset[str] = field(default_factory=frozenset)
    usage: frozenset[str] = field(default_factory=frozenset)
    holder: frozenset[str] = field(default_factory=frozenset)
    synthetic: bool = False

    def __post_init__(self) -> None:
        if not 1886 <= self.first_admission.year <= 2100:
            raise InvalidInput(
                f"first_admission {self.first_admission.isoformat()} is out of range (1886-2100)",
                field="first_admission",
                value=self.first_admission.isoformat(),
            )
        if self.max_mass_kg <= 0 or self.max_mass_kg > 100_000:
            raise InvalidInput(
                f"max_mass_kg {self.max_mass_kg} is out of range (1..100000 kg)",
                field="max_mass_kg",
                value=self.max_mass_kg,
            )
        for name in ("length_m", "width_m", "height_m"):
            value = getattr(self, name)
            if value is not None and not 0 < value <= 40:
                raise InvalidInput(f"{name} {value} is out of range (0..40 m)", field=name, value=value)
        if not self.fuels:
            raise InvalidInput("a vehicle needs at least one fuel", field="fuels")
        zero = self.fuels <= ZERO_EMISSION_FUELS
        if zero and self.emission_class is not EmissionClass.Z:
            object.__setattr__(self, "emission_class", EmissionClass.Z)
        if not zero and self.emission_class is EmissionClass.Z:
            raise InvalidInput(
                "emission class Z needs every fuel to be electric or hydrogen (plug-in hybrids are not Z)",
                field="emission_class",
            )

    @property
    def is_goods_vehicle(self) -> bool:
        """A bedrijfsauto: EU category N1, N2 or N3."""
        return self.category in (Category.N1, Category.N2, Category.N3)

    @property
    def is_van(self) -> bool:
        """A bestelauto: goods vehicle with TMM <= 3,500 kg (the split is by TMM, not category)."""
        return self.is_goods_vehicle and self.max_mass_kg <= 3500

    @property
    def is_truck(self) -> bool:
        """A vrachtauto: goods vehicle with TMM > 3,500 kg."""
        return self.is_goods_vehicle and self.max_mass_kg > 3500

    def describe(self) -> str:
        """A short human description, e.g. ``'van (N1), TMM 3,000 kg, diesel, class 6, DET 2019-05-01'``."""
        fuels = "+".join(sorted(f.value for f in self.fuels))
        cls = "zero emission" if self.emission_class is EmissionClass.Z else f"class {self.emission_class}"
        return (
            f"{self.body} ({self.category}), TMM {self.max_mass_kg:,} kg, {fuels}, {cls}, "
            f"DET {self.first_admission.isoformat()}"
        )
