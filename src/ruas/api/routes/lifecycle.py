"""The regulation lifecycle over HTTP: drafts, publication, withdrawal, versions, audit trail; the regional
base framework (basisraamwerk), adoptions with local deviations, and the harmonisation view.

Writes need an officer of the zone's municipality or the regional administrator. Published changes reach
this process's register at once and other processes through the register version (also the ETag).
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from ruas.api.deps import CurrentPrincipal, CurrentRegister, DbSession, RegisterHolder, now_utc
from ruas.api.routes.public import cached
from ruas.domain.timeutil import parse_instant
from ruas.services.lifecycle import (
    Lifecycle,
    ZoneFromTemplate,
    adopt,
    audit_trail,
    framework_view,
    harmonisation,
)

router = APIRouter(prefix="/api/v1", tags=["lifecycle"])

ZoneId = Annotated[str, Path(min_length=1, max_length=100, description="the zone's id, e.g. ams-osdorpplein")]


# --------------------------------------------------------------------------- wire schemas


class DraftOut(BaseModel):
    """A zone's open draft."""

    zone_id: str
    authority: str
    saved_by: str
    saved_at: str
    etag: str = Field(description="send it as draft_etag when publishing to publish exactly this draft")
    in_force_version: int | None = Field(description="the version in force now (null for a new zone)")
    stale: bool = Field(description="what is in force changed after the draft was saved: save it again to publish")
    record: dict[str, Any]


class PublishRequest(BaseModel):
    """Publish the zone's open draft."""

    model_config = ConfigDict(extra="forbid")

    effective_from: str | None = Field(
        None, max_length=40, description="ISO-8601 date or instant the version applies from; default now"
    )
    note: str = Field("", max_length=2000, description="why: shown in the versions and the audit trail")
    draft_etag: str | None = Field(None, max_length=100, description="the etag of the draft that was reviewed")


class WithdrawRequest(BaseModel):
    """Take a zone out of force."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field("", max_length=2000, description="why (e.g. the decree that repeals the zone)")
    expected_version: int | None = Field(None, ge=1, le=1_000_000, description="refuse unless this version is in force")


class VersionSummary(BaseModel):
    """One version of a zone, without its record."""

    zone_id: str
    version: int
    status: str = Field(description="published or withdrawn")
    in_force: bool
    name: str
    kind: str
    authority: str
    effective_from: str | None
    published_at: str | None
    note: str


class VersionOut(VersionSummary):
    """One version of a zone with its full record."""

    record: dict[str, Any]


class VersionList(BaseModel):
    """The versions of a zone, oldest first."""

    zone_id: str
    items: list[VersionSummary]


class PublishOut(BaseModel):
    """What a publication did."""

    zone_id: str
    version: VersionOut
    action: str = Field(description="publish (a new zone) or update (a new version of a zone)")
    changed: list[str]
    diff: list[dict[str, Any]]
    register_version: int


class WithdrawOut(BaseModel):
    """What a withdrawal did."""

    zone_id: str
    withdrawn_version: int
    register_version: int


class AuditEntryOut(BaseModel):
    """One audit entry: who did what, when, to which entity, and what changed."""

    id: int
    at: str
    actor: str
    action: str
    entity: str
    entity_id: str
    detail: dict[str, Any]


class AuditPage(BaseModel):
    """A page of audit entries, newest first."""

    items: list[AuditEntryOut]
    page: int
    page_size: int
    total: int


class LegalSourceIn(BaseModel):
    """A legal source: the traffic decree's citation, title, URL and a note."""

    model_config = ConfigDict(extra="forbid")

    citation: str = Field(..., max_length=1000)
    title: str = Field("", max_length=1000)
    url: str = Field("", max_length=1000)
    note: str = Field("", max_length=1000)


class TemplateZone(BaseModel):
    """Where a delivery-window template is applied: the draft zone to make."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(..., min_length=1, max_length=100, description="the new zone's id, e.g. hlm-grote-markt")
    name: str = Field(..., min_length=1, max_length=200, description="e.g. 'Haarlem Grote Markt'")
    geometry: dict[str, Any] = Field(..., description="the area: GeoJSON Polygon or MultiPolygon, WGS84 [lon, lat]")
    legal_source: LegalSourceIn | None = None
    url: str = Field("", max_length=1000)
    illustrative: bool = False
    notes: list[str] = Field(default_factory=list, max_length=20)


class AdoptionRequest(BaseModel):
    """A municipality adopts a framework item, with its local deviations."""

    model_config = ConfigDict(extra="forbid")

    municipality: str = Field(..., min_length=1, max_length=6, description="CBS code, e.g. GM0392")
    deviations: dict[str, Any] = Field(
        default_factory=dict, description="parameter -> local value, only where it differs from the framework"
    )
    zone: TemplateZone | None = Field(None, description="delivery-window items only: also make a draft zone")


class AdoptionOut(BaseModel):
    """An adoption as stored, and the draft zone made from it."""

    municipality: str
    item_id: str
    status: str = Field(description="adopted or adopted_with_deviations")
    deviations: dict[str, Any]
    adopted_by: str
    adopted_at: str
    created: bool
    draft: DraftOut | None


# --------------------------------------------------------------------------- helpers


def _sync(request: Request) -> None:
    """After a published change: this process's register reloads now (other processes follow the version)."""
    holder: RegisterHolder = request.app.state.register
    with holder.lock:
        holder.register.refresh()
        holder.version = holder.register.store.version()
        holder.checked_at = time.monotonic()


# --------------------------------------------------------------------------- zones


@router.post("/zones/{zone_id}/drafts", operation_id="saveZoneDraft", response_model=DraftOut)
def save_draft(
    zone_id: ZoneId,
    record: Annotated[dict[str, Any], Body(description="the full zone record (register/records.py form)")],
    register: CurrentRegister,
    principal: CurrentPrincipal,
) -> dict[str, Any]:
    """Create or replace the zone's one open draft (a new zone or a new version of one); never in force.

    The record is validated by compiling it; an error names the field. Officers of the zone's municipality
    and the regional administrator only.
    """
    return Lifecycle(register).save_draft(principal, zone_id, record, now=now_utc()).to_data()


@router.get("/zones/{zone_id}/drafts", operation_id="getZoneDraft", response_model=DraftOut)
def get_draft(zone_id: ZoneId, register: CurrentRegister, principal: CurrentPrincipal) -> dict[str, Any]:
    """The zone's open draft, with its etag and whether what is in force changed since it was saved."""
    return Lifecycle(register).draft(principal, zone_id).to_data()


@router.delete("/zones/{zone_id}/drafts", operation_id="discardZoneDraft", status_code=204)
def discard_draft(zone_id: ZoneId, register: CurrentRegister, principal: CurrentPrincipal) -> Response:
    """Discard the zone's open draft."""
    Lifecycle(register).discard_draft(principal, zone_id, now=now_utc())
    return Response(status_code=204)


@router.post("/zones/{zone_id}/publish", operation_id="publishZone", response_model=PublishOut)
def publish(
    zone_id: ZoneId, body: PublishRequest, request: Request, register: CurrentRegister, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Publish the open draft as the zone's next version, in force from ``effective_from`` (default now).

    Bumps the register version (the ETag of public reads) and writes the audit entry in the same transaction.
    409 when there is no draft, the draft changed (``draft_etag``), or the zone changed after it was saved.
    """
    effective_from = parse_instant(body.effective_from, "effective_from") if body.effective_from else None
    result = Lifecycle(register).publish(
        principal, zone_id, now=now_utc(), effective_from=effective_from, note=body.note, draft_etag=body.draft_etag
    )
    _sync(request)
    return {
        "zone_id": zone_id,
        "version": result.version.to_data(record=True),
        "action": result.action,
        "changed": result.changed,
        "diff": result.diff,
        "register_version": result.register_version,
    }


@router.post("/zones/{zone_id}/withdraw", operation_id="withdrawZone", response_model=WithdrawOut)
def withdraw(
    zone_id: ZoneId, body: WithdrawRequest, request: Request, register: CurrentRegister, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Withdraw the zone: no version is in force any more (audited; the register version is bumped)."""
    version, register_version = Lifecycle(register).withdraw(
        principal, zone_id, now=now_utc(), note=body.note, expected_version=body.expected_version
    )
    _sync(request)
    return {"zone_id": zone_id, "withdrawn_version": version, "register_version": register_version}


@router.get("/zones/{zone_id}/versions", operation_id="listZoneVersions", response_model=VersionList)
def list_versions(zone_id: ZoneId, request: Request, response: Response, register: CurrentRegister) -> Any:
    """The zone's published and withdrawn versions, oldest first, with effective dates and notes."""
    not_modified = cached(request, response, register.store.version())
    if not_modified:
        return not_modified
    items = [v.to_data(record=False) for v in Lifecycle(register).versions(zone_id)]
    return {"zone_id": zone_id, "items": items}


@router.get("/zones/{zone_id}/versions/{number}", operation_id="getZoneVersion", response_model=VersionOut)
def get_version(
    zone_id: ZoneId,
    number: Annotated[int, Path(ge=1, le=1_000_000)],
    request: Request,
    response: Response,
    register: CurrentRegister,
) -> Any:
    """One version of the zone with its full record."""
    not_modified = cached(request, response, register.store.version())
    if not_modified:
        return not_modified
    return Lifecycle(register).version(zone_id, number).to_data(record=True)


# --------------------------------------------------------------------------- audit trail

Filter = Annotated[str | None, Query(max_length=200)]


@router.get("/audit", operation_id="listAuditEntries", response_model=AuditPage)
def list_audit(
    db: DbSession,
    principal: CurrentPrincipal,
    entity: Filter = None,
    entity_id: Filter = None,
    action: Filter = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """The audit trail, newest first: who did what, when, and what changed (filter by entity, id, action).

    The administrator sees everything; an officer the entries of their municipalities' zones and adoptions
    and of the framework.
    """
    items, total = audit_trail(
        db, principal, entity=entity, entity_id=entity_id, action=action, page=page, page_size=page_size
    )
    return {"items": items, "page": page, "page_size": page_size, "total": total}


# --------------------------------------------------------------------------- regional base framework


@router.get("/framework", operation_id="getFramework")
def get_framework(register: CurrentRegister) -> dict[str, Any]:
    """The regional base framework: delivery-window templates, exemption types with harmonised terms, and the
    enforcement policy; every parameter with its framework value, whether it is fixed, and how many adopted."""
    return framework_view(register.store.engine, now=now_utc())


@router.post(
    "/framework/{item_id}/adoptions", operation_id="adoptFrameworkItem", response_model=AdoptionOut, status_code=201
)
def adopt_item(
    item_id: Annotated[str, Path(min_length=1, max_length=100)],
    body: AdoptionRequest,
    response: Response,
    register: CurrentRegister,
    principal: CurrentPrincipal,
) -> dict[str, Any]:
    """A municipality adopts a framework item; its local deviations are stored explicitly (re-adopting replaces
    them; 201 when new, 200 when replaced). With ``zone``, a delivery-window template also becomes a draft zone."""
    zone = None
    if body.zone is not None:
        zone = ZoneFromTemplate(
            id=body.zone.id,
            name=body.zone.name,
            geometry=body.zone.geometry,
            legal_source=body.zone.legal_source.model_dump() if body.zone.legal_source else None,
            url=body.zone.url,
            illustrative=body.zone.illustrative,
            notes=tuple(body.zone.notes),
        )
    result = adopt(
        Lifecycle(register),
        principal,
        item_id,
        municipality=body.municipality,
        deviations=body.deviations,
        now=now_utc(),
        zone=zone,
    )
    if not result.created:
        response.status_code = 200
    return result.to_data()


@router.get("/harmonisation", operation_id="getHarmonisation")
def get_harmonisation(
    register: CurrentRegister, municipality: Annotated[str | None, Query(max_length=6)] = None
) -> dict[str, Any]:
    """Municipalities x framework items: adopted as-is, adopted with deviations (each listed with the framework
    value and the local one), or not adopted; with counts per item and per municipality."""
    return harmonisation(register.store.engine, now=now_utc(), municipality=municipality)
