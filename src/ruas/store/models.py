"""The database schema (SQLAlchemy 2): register, vehicles, accounts, exemption desk, audit.

One schema for SQLite (embedded default, WAL) and PostgreSQL (production). JSON columns hold
zone records and condition trees in the same form as the files (see ``register/records.py``).
Camera passages do not live here (they go to partitioned Parquet, see the enforcement issue).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes stored as UTC on every backend (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; every timestamp must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every RUAS table."""


class Municipality(Base):
    """A CBS municipality (GMxxxx) of the 2024 indeling."""

    __tablename__ = "municipalities"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    province_code: Mapped[str | None] = mapped_column(String(4))
    province_name: Mapped[str | None] = mapped_column(String(50))
    population: Mapped[int | None] = mapped_column(Integer)
    geometry: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ZoneVersion(Base):
    """One version of a zone record; the published version with the highest number is in force.

    ``status``: ``draft`` (being edited, not used for decisions), ``published`` or ``withdrawn``.
    """

    __tablename__ = "zone_versions"
    __table_args__ = (
        UniqueConstraint("zone_id", "version", name="uq_zone_version"),
        Index("ix_zone_versions_zone_status", "zone_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    zone_id: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    authority: Mapped[str] = mapped_column(String(6), index=True, default="")
    kind: Mapped[str] = mapped_column(String(30))
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    effective_from: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    published_by: Mapped[str | None] = mapped_column(String(200))
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    note: Mapped[str] = mapped_column(Text, default="")


class RegisterState(Base):
    """A single row: the register's version counter, bumped by every published change (for ETags)."""

    __tablename__ = "register_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class VehicleRow(Base):
    """A vehicle of the register (canonical vehicle schema; ``synthetic`` flags generated rows).

    The code lists (fuels, body codes, ...) are stored as ``|``-separated text: plain columns
    keep bulk loads of a million-vehicle register fast on both SQLite and PostgreSQL.
    """

    __tablename__ = "vehicles"

    plate: Mapped[str] = mapped_column(String(8), primary_key=True)
    category: Mapped[str] = mapped_column(String(8))
    body: Mapped[str] = mapped_column(String(16))
    fuels: Mapped[str] = mapped_column(String(500), default="")
    emission_class: Mapped[str] = mapped_column(String(1))
    first_admission: Mapped[date] = mapped_column(Date)
    max_mass_kg: Mapped[int] = mapped_column(Integer)
    length_m: Mapped[float | None] = mapped_column(Float)
    width_m: Mapped[float | None] = mapped_column(Float)
    height_m: Mapped[float | None] = mapped_column(Float)
    axle_load_kg: Mapped[int | None] = mapped_column(Integer)
    body_codes: Mapped[str] = mapped_column(String(500), default="")
    special_purpose: Mapped[str] = mapped_column(String(500), default="")
    special_codes: Mapped[str] = mapped_column(String(500), default="")
    usage: Mapped[str] = mapped_column(String(500), default="")
    holder: Mapped[str] = mapped_column(String(500), default="")
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)


class AuditEntry(Base):
    """Who did what, when, to which entity, and what changed."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(50))
    entity: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[str] = mapped_column(String(200), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class User(Base):
    """An account: applicant (business, KvK), municipal officer (CBS codes) or regional administrator."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(200), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(30))
    kvk: Mapped[str | None] = mapped_column(String(8), index=True)
    municipalities: Mapped[list[Any]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ApiToken(Base):
    """A bearer token for machine clients; only its SHA-256 hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class WebSession(Base):
    """A portal session (cookie) with its CSRF token; only the session id's hash is stored."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Application(Base):
    """An application for an exemption (ontheffing) and, once decided, the grant or refusal.

    ``row_version`` is an optimistic lock: a decision succeeds only against the version read.
    """

    __tablename__ = "applications"
    __table_args__ = (Index("ix_applications_municipality_status", "municipality", "status"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kvk: Mapped[str] = mapped_column(String(8), index=True)
    type_id: Mapped[str] = mapped_column(String(50))
    plate: Mapped[str] = mapped_column(String(8), index=True)
    municipality: Mapped[str] = mapped_column(String(6))
    zones: Mapped[list[Any]] = mapped_column(JSON, default=list)
    valid_from: Mapped[datetime] = mapped_column(UtcDateTime())
    valid_until: Mapped[datetime] = mapped_column(UtcDateTime())
    window: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), index=True)
    eligibility: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    fee_eur: Mapped[float | None] = mapped_column(Float)
    payment_status: Mapped[str] = mapped_column(String(20), default="not_required")
    motivation: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    row_version: Mapped[int] = mapped_column(Integer, default=1)


class EvidenceFile(Base):
    """A document uploaded as evidence for an application (bounded in size and type)."""

    __tablename__ = "evidence_files"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class IdempotencyRecord(Base):
    """The stored response of a POST sent with an ``Idempotency-Key``, replayed on retries."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("principal", "key", name="uq_idempotency_principal_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    principal: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class FrameworkItem(Base):
    """A template of the regional base framework (basisraamwerk): delivery window, exemption type, policy."""

    __tablename__ = "framework_items"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Adoption(Base):
    """A municipality's adoption of a framework item, with its local deviations stored explicitly."""

    __tablename__ = "adoptions"
    __table_args__ = (UniqueConstraint("municipality", "item_id", name="uq_adoption"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    municipality: Mapped[str] = mapped_column(String(6), index=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("framework_items.id"))
    deviations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    adopted_by: Mapped[str] = mapped_column(String(200))
    adopted_at: Mapped[datetime] = mapped_column(UtcDateTime())


# --------------------------------------------------------------------------- camera enforcement (issue 5)
# Only what must be transactional lives here: the camera registry, dated policy versions, sanctions and
# warnings (one per vehicle, zone, day and slot: reprocessing updates, never duplicates), the monthly keys of
# the analytics pseudonyms, and who looked at which violation. Passages, violations' evidence, the review
# queue, de-identified records and aggregates are partitioned Parquet (see ``ruas.enforcement.storage``).


class Camera(Base):
    """An ANPR camera at a zone entrance: where it stands, which way it looks, which zone(s) it guards."""

    __tablename__ = "enforcement_cameras"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    direction_deg: Mapped[float | None] = mapped_column(Float)
    zones: Mapped[list[Any]] = mapped_column(JSON, default=list)
    municipality: Mapped[str] = mapped_column(String(6), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class EnforcementPolicyVersion(Base):
    """A dated version of the enforcement policy: the region's defaults (``scope`` "region") or a
    municipality's explicit deviations (``scope`` = CBS code), in force from ``valid_from`` (local day)."""

    __tablename__ = "enforcement_policy_versions"
    __table_args__ = (UniqueConstraint("scope", "valid_from", name="uq_enforcement_policy_scope_from"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(10), index=True)
    valid_from: Mapped[date] = mapped_column(Date)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Sanction(Base):
    """A fine or a warning letter for one vehicle in one zone on one local day (``slot`` 0 when the policy
    allows one sanction a day; else the epoch second of the passage). ``revision`` counts changes;
    ``exported_revision`` the revision last written to an export file."""

    __tablename__ = "enforcement_sanctions"
    __table_args__ = (
        UniqueConstraint("plate", "zone_id", "day", "slot", name="uq_enforcement_sanction"),
        Index("ix_enforcement_sanctions_muni_day", "municipality", "day"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    plate: Mapped[str] = mapped_column(String(16))  # looked up through the unique key's first column
    zone_id: Mapped[str] = mapped_column(String(100))
    municipality: Mapped[str] = mapped_column(String(6))
    day: Mapped[date] = mapped_column(Date)
    slot: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12))
    amount_eur: Mapped[float | None] = mapped_column(Float)
    vehicle_class: Mapped[str] = mapped_column(String(10))
    regulation_id: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text, default="")
    camera_id: Mapped[str] = mapped_column(String(64))
    passage_at: Mapped[datetime] = mapped_column(UtcDateTime())
    passages: Mapped[int] = mapped_column(Integer, default=1)
    repeat_count: Mapped[int] = mapped_column(Integer, default=0)
    policy: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    exported_revision: Mapped[int] = mapped_column(Integer, default=0)
    exported_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PseudonymKey(Base):
    """The secret HMAC key of one calendar month (``YYYY-MM``) for plate pseudonyms in analytics.

    Deleting a month's key (``ruas enforcement purge``) makes its pseudonyms unlinkable to plates."""

    __tablename__ = "enforcement_pseudonym_keys"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ViolationAccess(Base):
    """Who looked at which violation (or list of violations), when."""

    __tablename__ = "enforcement_access_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(20))
    sanction_id: Mapped[str | None] = mapped_column(String(36), index=True)
    municipality: Mapped[str | None] = mapped_column(String(6))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# --------------------------------------------------------------------------- the agenda (issue 10)
# The agenda itself (themes, activities, steps, budgets as written) ships with the package
# (``ruas/data/agenda``); the database holds only what changes while the programme runs: dated status
# changes of steps, budget lines (committed / spent), progress notes, the history of every edit and the
# reports issued to the steering group. Events are appended, never updated (see ``ruas.agenda.progress``).


class AgendaStepStatus(Base):
    """A step's status set on ``as_of`` (local date) by the regional administrator."""

    __tablename__ = "agenda_step_status"
    __table_args__ = (Index("ix_agenda_step_status_step", "activity_id", "step_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    activity_id: Mapped[str] = mapped_column(String(100))
    step_seq: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    as_of: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AgendaBudgetLine(Base):
    """Money committed or spent for an activity (euro cents; negative for a correction)."""

    __tablename__ = "agenda_budget_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    activity_id: Mapped[str] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    amount_cents: Mapped[int] = mapped_column(Integer)
    as_of: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AgendaProgressNote(Base):
    """A dated note on how an activity stands (stand van zaken)."""

    __tablename__ = "agenda_progress_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    activity_id: Mapped[str] = mapped_column(String(100), index=True)
    as_of: Mapped[date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AgendaEdit(Base):
    """The history of every edit of the agenda's progress: who, when, what (before and after)."""

    __tablename__ = "agenda_edits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(30))
    activity_id: Mapped[str] = mapped_column(String(100), index=True)
    entity_id: Mapped[str] = mapped_column(String(200))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any]] = mapped_column(JSON)


class AgendaReport(Base):
    """A progress report issued to the steering group and provincial states, for ``report_date``."""

    __tablename__ = "agenda_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_date: Mapped[date] = mapped_column(Date, unique=True)
    since_date: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    issued_by: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())
