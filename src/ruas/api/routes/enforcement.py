"""Camera enforcement over HTTP: the authenticated passage ingest and the officers' screens (API only).

- ``POST /enforcement/passages``: a batch of passages (JSON). An officer (or a camera's machine token of
  an officer account) may send passages only for cameras of their own municipalities; the regional
  administrator for any. Idempotent on (camera, instant, plate): resending changes nothing.
- ``GET /enforcement/violations``: the violation list (fines and warnings) of the officer's municipalities.
- ``GET /enforcement/violations/{id}``: one sanction with its evidence. Every list and view is logged
  (who looked at which violation, when).
- ``GET /enforcement/review``: reads that cannot be enforced as they are (low confidence, unknown plate).
- ``POST /enforcement/review/{id}``: an officer of the camera's municipality confirms the read, corrects the
  plate or dismisses the passage; a confirmed or corrected read is evaluated again by the pipeline and may
  join or make a sanction (one per vehicle, zone and day). Audited; a second decision on the item is 409.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from ruas.api.deps import CurrentPrincipal, CurrentRegister, DbSession, now_utc
from ruas.enforcement import service
from ruas.enforcement.passages import ingest, normalise, rows_frame
from ruas.enforcement.pipeline import Context
from ruas.enforcement.privacy import EnforcementSettings
from ruas.enforcement.storage import Store

router = APIRouter(prefix="/api/v1/enforcement", tags=["enforcement"])

MAX_PASSAGES = 10_000


class PassageIn(BaseModel):
    """One camera read."""

    model_config = ConfigDict(extra="forbid")

    camera_id: str = Field(min_length=1, max_length=64)
    at: str = Field(description="ISO-8601 instant with a UTC offset, e.g. 2025-07-01T09:00:00+02:00", max_length=40)
    plate: str = Field(min_length=1, max_length=16, description="the plate as read")
    confidence: float | None = Field(default=None, ge=0, le=1)
    country: str | None = Field(default=None, max_length=3, description="ISO 3166 code; empty: Dutch")


class PassageBatch(BaseModel):
    """A batch of at most 10,000 passages."""

    model_config = ConfigDict(extra="forbid")

    passages: list[PassageIn] = Field(min_length=1, max_length=MAX_PASSAGES)


@router.post("/passages")
def post_passages(
    body: PassageBatch, principal: CurrentPrincipal, register: CurrentRegister, db: DbSession
) -> dict[str, Any]:
    """Add a batch of passages to the inbox (officers for their municipalities' cameras; admin for all)."""
    principal.require("officer", "admin")
    frame = normalise(rows_frame([p.model_dump() for p in body.passages]), "passages")
    scope = None if principal.role == "admin" else frozenset(principal.municipalities)
    result = ingest(Store(register.path), db, frame, now=now_utc(), municipalities=scope)
    return result.to_data()


@router.get("/violations")
def get_violations(
    principal: CurrentPrincipal,
    db: DbSession,
    municipality: Annotated[str | None, Query(max_length=6)] = None,
    day: date | None = None,
    kind: Annotated[str | None, Query(pattern="^(fine|warning)$")] = None,
    status: Annotated[str | None, Query(pattern="^(open|withdrawn)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    zone: Annotated[str | None, Query(max_length=100)] = None,
) -> dict[str, Any]:
    """Fines and warnings of the officer's municipalities, newest first (the viewing is logged)."""
    return service.list_sanctions(
        db,
        principal,
        now=now_utc(),
        municipality=municipality,
        day=day,
        kind=kind,
        status=status,
        limit=limit,
        offset=offset,
        zone_id=zone,
    )


@router.get("/violations/{sanction_id}")
def get_violation(
    sanction_id: str, principal: CurrentPrincipal, register: CurrentRegister, db: DbSession
) -> dict[str, Any]:
    """One fine or warning with the violating passages of that day (the viewing is logged)."""
    return service.view_sanction(db, Store(register.path), principal, sanction_id, now=now_utc(), book=register.book)


@router.get("/review")
def get_review(
    principal: CurrentPrincipal,
    register: CurrentRegister,
    db: DbSession,
    municipality: Annotated[str | None, Query(max_length=6)] = None,
    day: date | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """The review queue: low-confidence reads and plates not in the register, newest first (each listing logged)."""
    return service.review_queue(
        Store(register.path), principal, municipality=municipality, day=day, limit=limit, log=(db, now_utc())
    )


class ReviewDecision(BaseModel):
    """An officer's decision on a review item."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["confirm", "correct", "dismiss"] = Field(
        description="confirm the read, correct it to `plate`, or dismiss the passage as unreadable"
    )
    plate: str | None = Field(default=None, max_length=16, description="the plate as it is (action correct)")


@router.post("/review/{item_id}")
def post_review(
    item_id: str, body: ReviewDecision, principal: CurrentPrincipal, register: CurrentRegister
) -> dict[str, Any]:
    """Resolve a review item (officers of the camera's municipality; the regional administrator for all)."""
    ctx = Context(register, Store(register.path), EnforcementSettings.from_env())
    result = service.resolve_review(ctx, principal, item_id, action=body.action, plate=body.plate, now=now_utc())
    return result.to_data()
