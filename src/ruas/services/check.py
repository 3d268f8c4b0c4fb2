"""Use case: may this vehicle enter here at this moment? (the service behind ``ruas check``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from ruas.domain.decision import Decision
from ruas.domain.errors import InvalidInput
from ruas.domain.timeutil import parse_date
from ruas.domain.vehicle import Body, Category, EmissionClass, Fuel, Vehicle
from ruas.register.spatial import parse_point
from ruas.register.store import Register
from ruas.rules.engine import decide

FUEL_WORDS: dict[str, frozenset[Fuel]] = {
    "diesel": frozenset({Fuel.DIESEL}),
    "petrol": frozenset({Fuel.PETROL}),
    "benzine": frozenset({Fuel.PETROL}),
    "lpg": frozenset({Fuel.LPG}),
    "cng": frozenset({Fuel.CNG}),
    "lng": frozenset({Fuel.LNG}),
    "electric": frozenset({Fuel.ELECTRIC}),
    "hydrogen": frozenset({Fuel.HYDROGEN}),
    "phev": frozenset({Fuel.PETROL, Fuel.ELECTRIC}),
}


def parse_fuel(text: str) -> frozenset[Fuel]:
    """``diesel``, ``petrol``, ``lpg``, ``cng``, ``lng``, ``electric``, ``hydrogen`` or ``phev`` (petrol + electric)."""
    key = text.strip().lower()
    if key not in FUEL_WORDS:
        raise InvalidInput(f"fuel {text!r} is not one of {', '.join(sorted(FUEL_WORDS))}", field="fuel", value=text)
    return FUEL_WORDS[key]


def parse_category(text: str) -> Category:
    """An EU category such as ``N1`` (case-insensitive)."""
    raw = text.strip().upper()
    try:
        return Category(raw if raw != "OTHER" else "other")
    except ValueError:
        raise InvalidInput(
            f"category {text!r} is not one of {', '.join(c.value for c in Category)}", field="category", value=text
        ) from None


def parse_body(text: str) -> Body:
    """A body type such as ``van``, ``rigid`` or ``tractor``."""
    try:
        return Body(text.strip().lower())
    except ValueError:
        raise InvalidInput(
            f"body {text!r} is not one of {', '.join(b.value for b in Body)}", field="body", value=text
        ) from None


def default_body(category: Category, mass_kg: int) -> Body:
    """The body a category usually has: goods <= 3,500 kg van, heavier rigid; M1 car; M2/M3 bus."""
    if category.group == "N":
        return Body.VAN if mass_kg <= 3500 else Body.RIGID
    if category is Category.M1:
        return Body.CAR
    if category in (Category.M2, Category.M3):
        return Body.BUS
    if category is Category.L:
        return Body.MOTORCYCLE
    return Body.OTHER


@dataclass(frozen=True, slots=True)
class VehicleInput:
    """What the user told us about the vehicle; ``None`` means "not given"."""

    plate: str | None = None
    category: str | None = None
    body: str | None = None
    fuel: str | None = None
    emission_class: str | None = None
    first_admission: date | None = None
    mass_kg: int | None = None
    length_m: float | None = None
    width_m: float | None = None
    height_m: float | None = None
    body_codes: tuple[str, ...] = ()
    special_codes: tuple[str, ...] = ()
    special_purpose: tuple[str, ...] = ()

    @classmethod
    def from_flags(
        cls,
        *,
        plate: str | None,
        category: str | None,
        body: str | None,
        fuel: str | None,
        emission_class: str | None,
        first_admission: str | None,
        mass: int | None,
        length: float | None,
        width: float | None,
        height: float | None,
        body_code: Sequence[str] | None,
        special_code: Sequence[str] | None,
    ) -> VehicleInput:
        """The input from the command line's vehicle flags (``--first-admission`` as ISO text), shared by
        ``ruas check`` and ``ruas route`` so both read a vehicle the same way."""
        return cls(
            plate=plate,
            category=category,
            body=body,
            fuel=fuel,
            emission_class=emission_class,
            first_admission=parse_date(first_admission, "--first-admission") if first_admission else None,
            mass_kg=mass,
            length_m=length,
            width_m=width,
            height_m=height,
            body_codes=tuple(body_code or ()),
            special_codes=tuple(special_code or ()),
        )

    def overrides(self) -> dict[str, Any]:
        """The attributes given explicitly, as Vehicle fields."""
        out: dict[str, Any] = {}
        if self.category is not None:
            out["category"] = parse_category(self.category)
        if self.body is not None:
            out["body"] = parse_body(self.body)
        if self.fuel is not None:
            out["fuels"] = parse_fuel(self.fuel)
        if self.emission_class is not None:
            out["emission_class"] = EmissionClass.parse(self.emission_class)
        if self.first_admission is not None:
            out["first_admission"] = self.first_admission
        if self.mass_kg is not None:
            out["max_mass_kg"] = self.mass_kg
        for name in ("length_m", "width_m", "height_m"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.body_codes:
            out["body_codes"] = frozenset(self.body_codes)
        if self.special_codes:
            out["special_codes"] = frozenset(self.special_codes)
        if self.special_purpose:
            out["special_purpose"] = frozenset(c.upper() for c in self.special_purpose)
        return out


def build_vehicle(register: Register, given: VehicleInput, session: Session | None = None) -> Vehicle:
    """The vehicle to check: the register's record for the plate, with explicit attributes overriding it.

    Without a plate every attribute the rules need must be given; the error names the missing flags.
    """
    over = given.overrides()
    if given.plate:
        base = register.vehicle(given.plate, session)
        if "fuels" in over and "emission_class" not in over:
            zero = over["fuels"] <= frozenset({Fuel.ELECTRIC, Fuel.HYDROGEN})
            if not zero and base.emission_class is EmissionClass.Z:
                raise InvalidInput(
                    "the registered vehicle is zero-emission; with a combustion --fuel also give --emission-class",
                    field="emission_class",
                )
        mass_or_category = "max_mass_kg" in over or "category" in over
        if mass_or_category and "body" not in over and base.body in (Body.VAN, Body.RIGID):
            category = over.get("category", base.category)
            over["body"] = default_body(category, over.get("max_mass_kg", base.max_mass_kg))
        return replace(base, **over)
    fuels = over.get("fuels")
    zero = fuels is not None and fuels <= frozenset({Fuel.ELECTRIC, Fuel.HYDROGEN})
    missing = [
        flag
        for flag, key in (("--category", "category"), ("--fuel", "fuels"), ("--first-admission", "first_admission"))
        if key not in over
    ]
    if "emission_class" not in over and not zero:
        missing.append("--emission-class")
    category = over.get("category")
    if "max_mass_kg" not in over:
        if category is not None and category.group == "N":
            missing.append("--mass")
        else:
            over["max_mass_kg"] = 2000 if category in (None, Category.M1, Category.L) else 18000
    if missing:
        raise InvalidInput(
            "without a plate, give the vehicle's attributes: missing " + ", ".join(missing),
            field="vehicle",
            missing=missing,
        )
    over.setdefault("emission_class", EmissionClass.Z)
    over.setdefault("body", default_body(over["category"], over["max_mass_kg"]))
    return Vehicle(**over)


@dataclass(frozen=True, slots=True)
class Place:
    """Where: a point (``LAT,LON``), a zone id, or a CBS municipality code."""

    point: str | None = None
    zone: str | None = None
    municipality: str | None = None
    zone_ids: tuple[str, ...] = field(default=())

    def resolve(self, register: Register) -> tuple[str, ...]:
        """The ids of every zone whose rules apply at this place."""
        given = [x for x in (self.point, self.zone, self.municipality) if x]
        if len(given) != 1:
            raise InvalidInput(
                "give exactly one place: --point LAT,LON, --zone ZONE_ID or --municipality GMxxxx", field="place"
            )
        if self.point:
            lat, lon = parse_point(self.point)
            return tuple(register.zones_at_point(lat, lon))
        if self.zone:
            register.book.zone(self.zone)  # raises UnknownZone
            return (self.zone,)
        assert self.municipality is not None
        return tuple(register.zones_of_municipality(self.municipality))


def check(register: Register, vehicle: Vehicle, zone_ids: Sequence[str], at: datetime) -> Decision:
    """Decide for a vehicle at a set of zones and a moment."""
    return decide(register.book, vehicle, zone_ids, at=at)
