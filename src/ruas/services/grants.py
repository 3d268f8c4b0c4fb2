"""Granted exemptions (ontheffingen) as the engine sees them, read from the exemption desk's store.

A granted application counts in every check of its plate from the moment it is decided: the
checks read the grants on each request, so there is nothing to refresh.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ruas.domain.regulation import ExemptionGrant, GrantStatus
from ruas.domain.timeutil import Interval
from ruas.domain.windows import parse_window
from ruas.store.models import Application


def grant_of(app: Application) -> ExemptionGrant:
    """The engine's view of one decided application."""
    return ExemptionGrant(
        id=app.id,
        type_id=app.type_id,
        plate=app.plate,
        validity=Interval(app.valid_from, app.valid_until),
        zones=frozenset(app.zones or ()),
        municipalities=frozenset({app.municipality}) | frozenset(app.details.get("regional_municipalities", ())),
        window=parse_window(app.window) if app.window else None,
        status=GrantStatus(app.status) if app.status in GrantStatus._value2member_map_ else GrantStatus.PENDING,
    )


def grants_for_plate(session: Session, plate: str) -> list[ExemptionGrant]:
    """Every granted exemption of a plate (pending or refused applications give no access)."""
    rows = session.scalars(select(Application).where(Application.plate == plate, Application.status == "granted"))
    return [grant_of(a) for a in rows]
