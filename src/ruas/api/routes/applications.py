"""The exemption desk over HTTP: applications, decisions, evidence, payments, and the exemption types.

Who may do what (see ``ruas.services.desk`` for the reasons):

- anonymous: ``GET /exemption-types`` only; everything else answers 401;
- applicant (a business, KvK): files applications and reads its business's own; another business's
  application answers 404, so the desk does not reveal that it exists; uploads evidence while submitted;
- officer (CBS codes): the queue of their municipalities, reads and decides those cases; another
  municipality's case answers 403;
- administrator: everything, and files for a business by giving its KvK number;
- payment provider: ``POST /applications/{id}/payment`` with the webhook token (``X-Payment-Webhook-Token``).

``POST /applications`` and ``POST /applications/{id}/decision`` honour ``Idempotency-Key``
(:mod:`ruas.api.idempotency`). Decisions carry the ``row_version`` the officer read; a stale version
answers 409. Evidence is read from the request stream and refused (413) as soon as it passes
``settings.max_upload_bytes``; the body is never read unbounded.
"""

from __future__ import annotations

import hmac
import os
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from sqlalchemy.orm import Session

from ruas.api.deps import AppSettings, CurrentPrincipal, CurrentRegister, DbSession, now_utc
from ruas.api.errors import problem
from ruas.api.idempotency import idempotent
from ruas.api.routes.checks import vehicle_input
from ruas.api.schemas import Text, VehicleAttributes
from ruas.core.config import Settings
from ruas.domain.errors import InvalidInput
from ruas.domain.timeutil import LOCAL_TZ
from ruas.register.store import Register
from ruas.rules.frameworks import national_exemption_types
from ruas.services import desk
from ruas.services.accounts import AuthError, Principal
from ruas.store.models import Application, EvidenceFile

router = APIRouter(prefix="/api/v1", tags=["exemptions"])

ENVELOPE_BYTES = 64 * 1024
"""Room for the multipart envelope (boundaries, part headers, small fields) on top of the file limit."""

WEBHOOK_HEADER = "X-Payment-Webhook-Token"
PAYMENT_PROVIDER = "payment-provider"


def desk_now() -> datetime:
    """The desk's clock (a dependency, so tests can fix the moment)."""
    return now_utc()


Now = Annotated[datetime, Depends(desk_now)]
AppId = Annotated[str, Path(min_length=1, max_length=64, description="application id (UUID)")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="retries with the same key and body return the stored response and create nothing twice",
    ),
]


# --------------------------------------------------------------------------- wire schemas


class ApplicationCreate(BaseModel):
    """An application: a plate, an exemption type, a municipality and the validity asked for."""

    model_config = ConfigDict(extra="forbid")

    plate: Text = Field(..., min_length=1, max_length=16, description="licence plate (Dutch)")
    type_id: Text = Field(..., min_length=1, max_length=50, description="an id from GET /exemption-types")
    municipality: Text = Field(..., min_length=1, max_length=6, description="CBS code, e.g. GM0363")
    vehicle: VehicleAttributes | None = Field(
        None, description="declared attributes, only for a plate that is not in the vehicle register"
    )
    day: date | None = Field(None, description="day exemptions: the day (today, also afterwards, or later)")
    valid_from: Text | None = Field(None, max_length=40, description="long exemptions: ISO-8601 start (default today)")
    valid_until: Text | None = Field(
        None, max_length=40, description="long exemptions: ISO-8601 end, exclusive (default the longest allowed)"
    )
    zones: list[Text] = Field(
        default_factory=list, max_length=50, description="only these zones of the municipality (default all)"
    )
    window: Text | None = Field(
        None, max_length=200, description="delivery-window exemptions: OSM opening_hours, e.g. 'Mo-Fr 11:00-13:00'"
    )
    visits_per_year: int | None = Field(None, ge=0, le=100_000, description="visits a year to the zone, as declared")
    note: Text = Field("", max_length=2000, description="free text for the officer")
    kvk: str | None = Field(None, pattern=r"^\d{8}$", description="administrator only: the business filed for")


class DecisionCreate(BaseModel):
    """An officer's decision on the version of the application they read."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["granted", "refused"]
    motivation: Text = Field(..., min_length=10, max_length=5000, description="why (at least 10 characters)")
    valid_from: Text | None = Field(None, max_length=40, description="grant: ISO-8601 start (default as asked)")
    valid_until: Text | None = Field(None, max_length=40, description="grant: ISO-8601 end (default as asked)")
    row_version: int = Field(..., ge=1, le=2_000_000_000, description="the row_version of the application read")


class PaymentCreate(BaseModel):
    """A payment reported by the payment provider (or an administrator)."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["paid"] = "paid"
    reference: Text = Field(..., min_length=1, max_length=200, description="the provider's payment id")
    amount_eur: float | None = Field(None, ge=0, le=100_000, description="the amount received, checked against the fee")


class EligibilityCheck(BaseModel):
    """One automatic check with its reason."""

    rule: str
    ok: bool
    reason: str


class ApplicationPublic(BaseModel):
    """An application with its checks, status, validity, fee and payment status."""

    id: str
    status: str = Field(..., description="submitted, granted or refused")
    type_id: str
    type_name: str
    kind: str | None = Field(None, description="day or long")
    plate: str
    kvk: str
    municipality: str
    zones: list[str]
    regional_municipalities: list[str]
    valid_from: str
    valid_until: str
    window: str | None
    eligible: bool
    eligibility: list[EligibilityCheck]
    fee_eur: float | None
    payment_status: str = Field(..., description="due, paid or not_required")
    motivation: str
    decided_by: str | None
    decided_at: str | None
    created_at: str
    row_version: int
    details: dict[str, Any]


class ApplicationPage(BaseModel):
    """A page of applications."""

    items: list[ApplicationPublic]
    page: int
    page_size: int
    total: int


class EvidencePublic(BaseModel):
    """An evidence file's metadata."""

    id: str
    application_id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: str
    url: str


class ExemptionTypePublic(BaseModel):
    """An exemption type with its fee and terms."""

    id: str
    name: str
    name_nl: str
    kind: str
    applies_to: list[str]
    fee_eur: float | None
    max_per_year: int | None
    duration: str
    longest_validity_months: int | None
    valid_until: str | None
    evidence: str
    evidence_required: bool
    min_visits_per_year: int | None
    regional: bool
    window: bool
    note: str
    legal_basis: str
    legal_source: dict[str, str]
    offered_in: list[str]


_PROBLEM = {"content": {"application/problem+json": {"schema": {"type": "object"}}}}
PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no or unknown credentials", **_PROBLEM},
    403: {"description": "this role or municipality may not do this", **_PROBLEM},
    404: {"description": "no such application (or not yours)", **_PROBLEM},
    409: {"description": "decided or changed by someone else", **_PROBLEM},
    422: {"description": "invalid request (the problem names the field)", **_PROBLEM},
}


# --------------------------------------------------------------------------- helpers


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(LOCAL_TZ).isoformat()


def application_data(app: Application) -> dict[str, Any]:
    """The wire form of an application."""
    checks = desk.checks_of(app)
    details = dict(app.details or {})
    return {
        "id": app.id,
        "status": app.status,
        "type_id": app.type_id,
        "type_name": str(details.get("type_name", app.type_id)),
        "kind": details.get("kind"),
        "plate": app.plate,
        "kvk": app.kvk,
        "municipality": app.municipality,
        "zones": list(app.zones or []),
        "regional_municipalities": list(details.get("regional_municipalities", [])),
        "valid_from": _iso(app.valid_from),
        "valid_until": _iso(app.valid_until),
        "window": app.window,
        "eligible": all(c.get("ok") for c in checks if c.get("rule") not in desk.ADVISORY_RULES),
        "eligibility": checks,
        "fee_eur": app.fee_eur,
        "payment_status": app.payment_status,
        "motivation": app.motivation,
        "decided_by": app.decided_by,
        "decided_at": _iso(app.decided_at),
        "created_at": _iso(app.created_at),
        "row_version": app.row_version,
        "details": details,
    }


def evidence_data(file: EvidenceFile) -> dict[str, Any]:
    """The wire form of an evidence file's metadata."""
    return {
        "id": file.id,
        "application_id": file.application_id,
        "filename": file.filename,
        "content_type": file.content_type,
        "size": file.size,
        "sha256": file.sha256,
        "uploaded_at": _iso(file.uploaded_at),
        "url": f"/api/v1/applications/{file.application_id}/evidence/{file.id}",
    }


def _apply_request(body: ApplicationCreate) -> desk.ApplyRequest:
    return desk.ApplyRequest(
        plate=body.plate,
        type_id=body.type_id,
        municipality=body.municipality,
        vehicle=vehicle_input(None, body.vehicle) if body.vehicle is not None else None,
        day=body.day,
        valid_from=desk.parse_moment(body.valid_from, "valid_from"),
        valid_until=desk.parse_moment(body.valid_until, "valid_until"),
        zones=tuple(body.zones),
        window=body.window,
        visits_per_year=body.visits_per_year,
        note=body.note,
        kvk=body.kvk,
    )


# --------------------------------------------------------------------------- applications


@router.post(
    "/applications",
    operation_id="createApplication",
    status_code=201,
    response_model=ApplicationPublic,
    responses=PROBLEMS,
)
def create_application(
    body: ApplicationCreate,
    request: Request,
    db: DbSession,
    register: CurrentRegister,
    principal: CurrentPrincipal,
    now: Now,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Apply for an exemption; the automatic checks and their reasons are stored on the application.

    A day exemption is decided at once (granted when eligible: it is a right); a long exemption is
    ``submitted`` for an officer. An ineligible application is stored as ``refused`` with its reasons.
    """
    principal.require("applicant", "admin")

    def run() -> dict[str, Any]:
        return application_data(desk.apply(db, register, principal, _apply_request(body), now))

    return idempotent(
        db,
        principal,
        idempotency_key,
        method="POST",
        path=request.url.path,
        payload=body.model_dump(mode="json"),
        now=now,
        status_code=201,
        operation=run,
        headers=lambda out: {"Location": f"/api/v1/applications/{out.get('id')}"},
    )


@router.get("/applications", operation_id="listApplications", response_model=ApplicationPage, responses=PROBLEMS)
def list_applications(
    db: DbSession,
    principal: CurrentPrincipal,
    status: Annotated[str | None, Query(max_length=20, description="submitted, granted or refused")] = None,
    municipality: Annotated[str | None, Query(max_length=6, description="CBS code")] = None,
    type_id: Annotated[str | None, Query(max_length=50)] = None,
    plate: Annotated[str | None, Query(max_length=16)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """Applications, oldest first: an applicant's own, an officer's queue (their municipalities), or all (admin)."""
    rows, total = desk.list_applications(
        db,
        principal,
        status=status,
        municipality=municipality,
        type_id=type_id,
        plate=plate,
        page=page,
        page_size=page_size,
    )
    return {"items": [application_data(a) for a in rows], "page": page, "page_size": page_size, "total": total}


@router.get(
    "/applications/{application_id}",
    operation_id="getApplication",
    response_model=ApplicationPublic,
    responses=PROBLEMS,
)
def get_application(application_id: AppId, db: DbSession, principal: CurrentPrincipal) -> dict[str, Any]:
    """One application with its status, checks, validity, fee and ``row_version`` (needed to decide)."""
    return application_data(desk.readable(db, principal, application_id))


@router.post(
    "/applications/{application_id}/decision",
    operation_id="decideApplication",
    response_model=ApplicationPublic,
    responses=PROBLEMS,
)
def decide_application(
    application_id: AppId,
    body: DecisionCreate,
    request: Request,
    db: DbSession,
    principal: CurrentPrincipal,
    now: Now,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Grant or refuse a submitted application (officer of its municipality, or administrator).

    Send the ``row_version`` you read: if someone decided first (or evidence arrived) the answer is 409.
    A grant counts in every check at once; the fee stays due also after a refusal.
    """
    principal.require("officer", "admin")
    req = desk.DecisionRequest(
        decision=body.decision,
        motivation=body.motivation,
        row_version=body.row_version,
        valid_from=desk.parse_moment(body.valid_from, "valid_from"),
        valid_until=desk.parse_moment(body.valid_until, "valid_until"),
    )

    def run() -> dict[str, Any]:
        return application_data(desk.decide_application(db, principal, application_id, req, now))

    return idempotent(
        db,
        principal,
        idempotency_key,
        method="POST",
        path=request.url.path,
        payload=body.model_dump(mode="json"),
        now=now,
        status_code=200,
        operation=run,
    )


# --------------------------------------------------------------------------- payment


def _webhook_token(settings: Settings) -> str:
    """The payment provider's webhook token: ``settings.payment_webhook_token`` if the settings have it,
    else ``RUAS_PAYMENT_WEBHOOK_TOKEN``; shorter than 32 characters counts as not configured."""
    token = settings.payment_webhook_token or os.environ.get("RUAS_PAYMENT_WEBHOOK_TOKEN", "")
    return token if len(token) >= 32 else ""


def payment_actor(principal: Principal, webhook_token: str | None, settings: Settings) -> str:
    """Who reports the payment: the provider (by its webhook token) or an administrator."""
    if webhook_token is not None:
        expected = _webhook_token(settings)
        if not expected or not hmac.compare_digest(webhook_token.encode(), expected.encode()):
            raise AuthError(f"unknown {WEBHOOK_HEADER}", field=WEBHOOK_HEADER)
        return PAYMENT_PROVIDER
    principal.require("admin")
    return principal.username


@router.post(
    "/applications/{application_id}/payment",
    operation_id="recordPayment",
    response_model=ApplicationPublic,
    responses=PROBLEMS,
)
def record_payment(
    application_id: AppId,
    body: PaymentCreate,
    db: DbSession,
    principal: CurrentPrincipal,
    settings: AppSettings,
    now: Now,
    webhook_token: Annotated[str | None, Header(alias=WEBHOOK_HEADER, max_length=500)] = None,
) -> dict[str, Any]:
    """Mark an application's fee paid: the integration point of the external payment provider.

    RUAS computes and records fees (``fee_eur``, ``payment_status``) but does not collect money. The
    provider's webhook calls this with the shared token in ``X-Payment-Webhook-Token`` (configured as
    ``RUAS_PAYMENT_WEBHOOK_TOKEN``, at least 32 characters) and its payment ``reference``; an
    administrator may call it with their own credentials. Repeating a call with the same reference
    changes nothing (webhooks are retried).
    """
    actor = payment_actor(principal, webhook_token, settings)
    app = desk.record_payment(
        db, application_id, actor=actor, reference=body.reference, amount_eur=body.amount_eur, now=now
    )
    return application_data(app)


# --------------------------------------------------------------------------- evidence


class _Parts:
    """Collects the part named ``file`` of a multipart body, at most ``limit`` bytes of it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.headers: dict[bytes, bytes] = {}
        self.field = b""
        self.value = b""
        self.current: str | None = None
        self.filename: str | None = None
        self.content_type: str | None = None
        self.data = bytearray()
        self.found = False

    def callbacks(self) -> Any:
        def part_begin() -> None:
            self.headers, self.field, self.value, self.current = {}, b"", b"", None

        def header_field(data: bytes, start: int, end: int) -> None:
            self.field += data[start:end]

        def header_value(data: bytes, start: int, end: int) -> None:
            self.value += data[start:end]

        def header_end() -> None:
            self.headers[self.field.strip().lower()] = self.value.strip()
            self.field, self.value = b"", b""

        def headers_finished() -> None:
            _disp, params = parse_options_header(self.headers.get(b"content-disposition", b""))
            name = params.get(b"name", b"").decode("utf-8", "replace")
            if name == "file" and not self.found:
                self.found = True
                self.current = "file"
                self.filename = params.get(b"filename", b"").decode("utf-8", "replace")
                self.content_type = self.headers.get(b"content-type", b"").decode("latin-1") or None

        def part_data(data: bytes, start: int, end: int) -> None:
            if self.current != "file":
                return
            self.data += data[start:end]
            if len(self.data) > self.limit:
                raise desk.UploadTooLarge(
                    f"the file is larger than the limit of {self.limit} bytes", field="file", limit=self.limit
                )

        def part_end() -> None:
            self.current = None

        return {
            "on_part_begin": part_begin,
            "on_header_field": header_field,
            "on_header_value": header_value,
            "on_header_end": header_end,
            "on_headers_finished": headers_finished,
            "on_part_data": part_data,
            "on_part_end": part_end,
        }


async def read_upload(request: Request, limit: int) -> desk.Upload:
    """The ``file`` part of a multipart body, read from the stream and stopped as soon as it passes ``limit``."""
    mime, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if mime != b"multipart/form-data" or not boundary:
        raise desk.UnsupportedEvidence("send the file as multipart/form-data in a part named 'file'", field="file")
    envelope = limit + ENVELOPE_BYTES
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > envelope:
        raise desk.UploadTooLarge(f"the file is larger than the limit of {limit} bytes", field="file", limit=limit)
    parts = _Parts(limit)
    parser = MultipartParser(boundary, parts.callbacks())
    total = 0
    try:
        async for chunk in request.stream():
            total += len(chunk)
            if total > envelope:
                raise desk.UploadTooLarge(
                    f"the request is larger than the limit of {limit} bytes", field="file", limit=limit
                )
            parser.write(chunk)
        parser.finalize()
    except (FormParserError, ValueError) as exc:  # the desk's own errors are not ValueErrors: they pass
        raise InvalidInput(f"malformed multipart body: {exc}", field="file") from None
    if not parts.found:
        raise InvalidInput("no part named 'file' in the multipart body", field="file")
    return desk.Upload(filename=parts.filename or "", declared_type=parts.content_type, data=bytes(parts.data))


_MULTIPART_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            }
        },
    }
}


def _store_evidence(
    db: Session, principal: Principal, application_id: str, upload: desk.Upload, limit: int, now: datetime
) -> dict[str, Any]:
    return evidence_data(desk.add_evidence(db, principal, application_id, upload, max_bytes=limit, now=now))


@router.post(
    "/applications/{application_id}/evidence",
    operation_id="uploadEvidence",
    status_code=201,
    response_model=EvidencePublic,
    openapi_extra=_MULTIPART_BODY,
    responses={
        **PROBLEMS,
        413: {"description": "the file is larger than the upload limit", **_PROBLEM},
        415: {"description": "not a PDF, PNG or JPEG by content, or not multipart", **_PROBLEM},
    },
)
async def upload_evidence(
    application_id: AppId,
    request: Request,
    db: DbSession,
    principal: CurrentPrincipal,
    settings: AppSettings,
    now: Now,
) -> Response:
    """Upload one evidence file (PDF, PNG or JPEG, checked by content) as multipart part ``file``.

    The applicant of a submitted application (or the administrator) uploads; the size limit is
    ``RUAS_MAX_UPLOAD_BYTES`` (413 beyond it, checked while the body streams in). Nothing is stored
    when the file is refused.
    """
    await run_in_threadpool(desk.evidence_target, db, principal, application_id)
    limit = settings.max_upload_bytes
    try:
        upload = await read_upload(request, limit)
        out = await run_in_threadpool(_store_evidence, db, principal, application_id, upload, limit, now)
    except (desk.UploadTooLarge, desk.UnsupportedEvidence) as exc:
        await run_in_threadpool(db.rollback)
        status = 413 if isinstance(exc, desk.UploadTooLarge) else 415
        return problem(status, type(exc).__name__, exc.message, request.url.path, errors=[dict(exc.details)])
    return JSONResponse(out, status_code=201, headers={"Location": out["url"]})


@router.get(
    "/applications/{application_id}/evidence",
    operation_id="listEvidence",
    response_model=list[EvidencePublic],
    responses=PROBLEMS,
)
def list_evidence(application_id: AppId, db: DbSession, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    """The evidence files of an application (the applicant's own, or a case of the officer's municipality)."""
    return [evidence_data(f) for f in desk.list_evidence(db, principal, application_id)]


@router.get(
    "/applications/{application_id}/evidence/{file_id}",
    operation_id="getEvidence",
    responses={
        200: {
            "description": "the file as uploaded",
            "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in desk.ALLOWED_EVIDENCE},
        },
        **PROBLEMS,
    },
    response_class=Response,
)
def get_evidence(
    application_id: AppId,
    file_id: Annotated[str, Path(min_length=1, max_length=64)],
    db: DbSession,
    principal: CurrentPrincipal,
) -> Response:
    """Download one evidence file (as an attachment, never rendered inline)."""
    file = desk.get_evidence(db, principal, application_id, file_id)
    return Response(
        content=file.data,
        media_type=file.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{file.filename}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
            "ETag": f'"{file.sha256}"',
        },
    )


# --------------------------------------------------------------------------- exemption types


def _offered_in(register: Register, type_id: str) -> list[str]:
    return sorted(
        {
            z.authority
            for z in register.zones
            if z.status.value == "in_force"
            and any(r.status.value == "in_force" and type_id in r.exemption_types for r in z.regulations)
        }
    )


@router.get("/exemption-types", operation_id="listExemptionTypes", response_model=list[ExemptionTypePublic])
def list_exemption_types(
    response: Response,
    db: DbSession,
    register: CurrentRegister,
    municipality: Annotated[
        str | None, Query(max_length=6, description="CBS code: show that municipality's fees and caps")
    ] = None,
) -> list[dict[str, Any]]:
    """Every exemption type one can apply for, with fee, yearly cap, validity, evidence and legal basis (public)."""
    code = municipality.strip().upper() if municipality else None
    if code is not None:
        register.zones_of_municipality(code)  # 404 for an unknown code
    out = []
    for etype in national_exemption_types().values():
        terms = desk.terms_of(etype, desk.type_settings(db, etype.id, code))
        out.append(
            {
                "id": etype.id,
                "name": etype.name,
                "name_nl": etype.name_nl,
                "kind": terms.kind,
                "applies_to": [k.value for k in etype.applies_to],
                "fee_eur": terms.fee_eur,
                "max_per_year": terms.max_per_year,
                "duration": etype.duration,
                "longest_validity_months": terms.months if terms.kind == "long" else None,
                "valid_until": terms.until.isoformat() if terms.until else None,
                "evidence": etype.evidence,
                "evidence_required": bool(etype.evidence),
                "min_visits_per_year": terms.min_visits_per_year,
                "regional": terms.regional,
                "window": terms.window,
                "note": etype.note,
                "legal_basis": etype.legal_source.citation,
                "legal_source": etype.legal_source.to_data(),
                "offered_in": _offered_in(register, etype.id),
            }
        )
    response.headers["Cache-Control"] = "public, max-age=60"
    return out


__all__ = ["desk_now", "router"]
