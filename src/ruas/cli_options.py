"""The vehicle flags shared by ``ruas check`` and ``ruas route``: one spelling, one help text, one unit each.

Read together with :meth:`ruas.services.check.VehicleInput.from_flags`, which turns them into the service's input.
"""

from __future__ import annotations

from typing import Annotated

import typer

Plate = Annotated[str | None, typer.Argument(help="Licence plate, looked up in the vehicle register")]
Mass = Annotated[int | None, typer.Option("--mass", help="TMM, maximum permitted mass in kg")]
Category = Annotated[str | None, typer.Option(help="EU category: M1, M2, M3, N1, N2, N3, L, ...")]
Body = Annotated[str | None, typer.Option(help="car, van, rigid, tractor, bus, motorcycle, special")]
Fuel = Annotated[str | None, typer.Option(help="diesel, petrol, lpg, cng, electric, hydrogen, phev")]
EmissionClass = Annotated[str | None, typer.Option(help="0-6 or Z")]
FirstAdmission = Annotated[str | None, typer.Option(help="DET, date of first admission YYYY-MM-DD")]
Length = Annotated[float | None, typer.Option(help="length in metres")]
Width = Annotated[float | None, typer.Option(help="width in metres")]
Height = Annotated[float | None, typer.Option(help="height in metres")]
BodyCode = Annotated[list[str] | None, typer.Option(help="RDW body code (carrosseriecode), repeatable")]
SpecialCode = Annotated[list[str] | None, typer.Option(help="RDW special code (bijzonderheid), repeatable")]
