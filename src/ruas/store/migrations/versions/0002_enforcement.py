"""Camera enforcement: cameras, dated policy versions, sanctions, pseudonym keys, access log

Revision ID: 0002_enforcement
Revises: 0001
Create Date: 2026-11-28 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_enforcement"
down_revision = "0001"
branch_labels = ("enforcement",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "enforcement_cameras",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("direction_deg", sa.Float(), nullable=True),
        sa.Column("zones", sa.JSON(), nullable=False),
        sa.Column("municipality", sa.String(length=6), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("enforcement_cameras", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enforcement_cameras_municipality"), ["municipality"], unique=False)

    op.create_table(
        "enforcement_policy_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scope", "valid_from", name="uq_enforcement_policy_scope_from"),
    )
    with op.batch_alter_table("enforcement_policy_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enforcement_policy_versions_scope"), ["scope"], unique=False)

    op.create_table(
        "enforcement_sanctions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("plate", sa.String(length=16), nullable=False),
        sa.Column("zone_id", sa.String(length=100), nullable=False),
        sa.Column("municipality", sa.String(length=6), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("amount_eur", sa.Float(), nullable=True),
        sa.Column("vehicle_class", sa.String(length=10), nullable=False),
        sa.Column("regulation_id", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("camera_id", sa.String(length=64), nullable=False),
        sa.Column("passage_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("passages", sa.Integer(), nullable=False),
        sa.Column("repeat_count", sa.Integer(), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("exported_revision", sa.Integer(), nullable=False),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("plate", "zone_id", "day", "slot", name="uq_enforcement_sanction"),
    )
    with op.batch_alter_table("enforcement_sanctions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enforcement_sanctions_plate"), ["plate"], unique=False)
        batch_op.create_index(batch_op.f("ix_enforcement_sanctions_status"), ["status"], unique=False)
        batch_op.create_index("ix_enforcement_sanctions_muni_day", ["municipality", "day"], unique=False)

    op.create_table(
        "enforcement_pseudonym_keys",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("month"),
    )
    op.create_table(
        "enforcement_access_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("sanction_id", sa.String(length=36), nullable=True),
        sa.Column("municipality", sa.String(length=6), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("enforcement_access_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enforcement_access_log_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_enforcement_access_log_sanction_id"), ["sanction_id"], unique=False)


def downgrade() -> None:
    op.drop_table("enforcement_access_log")
    op.drop_table("enforcement_pseudonym_keys")
    with op.batch_alter_table("enforcement_sanctions", schema=None) as batch_op:
        batch_op.drop_index("ix_enforcement_sanctions_muni_day")
        batch_op.drop_index(batch_op.f("ix_enforcement_sanctions_status"))
        batch_op.drop_index(batch_op.f("ix_enforcement_sanctions_plate"))
    op.drop_table("enforcement_sanctions")
    with op.batch_alter_table("enforcement_policy_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enforcement_policy_versions_scope"))
    op.drop_table("enforcement_policy_versions")
    with op.batch_alter_table("enforcement_cameras", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enforcement_cameras_municipality"))
    op.drop_table("enforcement_cameras")
