"""The wire contract (pydantic), separate from storage and from the domain types."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Text = Annotated[str, StringConstraints(pattern=r"^[^\x00]*$")]
"""Any text without NUL characters (PostgreSQL cannot store them; they are never meaningful here)."""


class VehicleAttributes(BaseModel):
    """The vehicle options of ``ruas check``, in snake_case."""

    model_config = ConfigDict(extra="forbid")

    mass_kg: int | None = Field(None, ge=1, le=100_000, description="TMM, maximum permitted mass in kg")
    category: Text | None = Field(None, max_length=8, description="EU category: M1, N1, N2, N3, ...")
    body: Text | None = Field(None, max_length=16, description="car, van, rigid, tractor, bus, ...")
    fuel: Text | None = Field(None, max_length=16, description="diesel, petrol, lpg, cng, electric, hydrogen, phev")
    emission_class: Text | None = Field(None, max_length=8, description="0-6 or Z")
    first_admission: date | None = Field(None, description="DET, date of first admission")
    length_m: float | None = Field(None, gt=0, le=40)
    width_m: float | None = Field(None, gt=0, le=40)
    height_m: float | None = Field(None, gt=0, le=40)
    body_codes: list[Text] = Field(default_factory=list, max_length=20)
    special_codes: list[Text] = Field(default_factory=list, max_length=20)


class CheckRequest(BaseModel):
    """One vehicle (by plate and/or attributes) at one place and moment."""

    model_config = ConfigDict(extra="forbid")

    plate: Text | None = Field(None, max_length=16, description="licence plate, looked up in the vehicle register")
    vehicle: VehicleAttributes | None = None
    point: list[float] | None = Field(None, min_length=2, max_length=2, description="[lat, lon] in WGS84")
    zone: Text | None = Field(None, max_length=100)
    municipality: Text | None = Field(None, max_length=6, description="CBS code, e.g. GM0363")
    at: Text | None = Field(None, max_length=40, description="ISO-8601 moment; default now")


class FleetVehicle(BaseModel):
    """One vehicle of a fleet request."""

    model_config = ConfigDict(extra="forbid")

    plate: Text | None = Field(None, max_length=16)
    vehicle: VehicleAttributes | None = None


class FleetRequest(BaseModel):
    """Many vehicles; timelines over a period in every (or the listed) zone."""

    model_config = ConfigDict(extra="forbid")

    vehicles: list[FleetVehicle] = Field(..., min_length=1, max_length=5000)
    from_: date | None = Field(None, alias="from")
    to: date | None = None
    zones: list[Text] | None = Field(None, max_length=200)


class Page(BaseModel):
    """A page of results."""

    items: list[dict[str, Any]]
    page: int
    page_size: int
    total: int


class LoginRequest(BaseModel):
    """Username and password."""

    model_config = ConfigDict(extra="forbid")

    username: Text = Field(..., min_length=1, max_length=200)
    password: Text = Field(..., min_length=1, max_length=500)


class TokenRequest(BaseModel):
    """A name for a new bearer token."""

    model_config = ConfigDict(extra="forbid")

    name: Text = Field("api", min_length=1, max_length=100)
    days: int | None = Field(365, ge=1, le=3650)
