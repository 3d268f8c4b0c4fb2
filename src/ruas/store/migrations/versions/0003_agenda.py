"""The agenda's progress: step status changes, budget lines, progress notes, edit history, issued reports

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-28 13:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = ("agenda",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agenda_step_status",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("activity_id", sa.String(length=100), nullable=False),
        sa.Column("step_seq", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("agenda_step_status", schema=None) as batch_op:
        batch_op.create_index("ix_agenda_step_status_step", ["activity_id", "step_seq"], unique=False)

    op.create_table(
        "agenda_budget_lines",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("activity_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("agenda_budget_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agenda_budget_lines_activity_id"), ["activity_id"], unique=False)

    op.create_table(
        "agenda_progress_notes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("activity_id", sa.String(length=100), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("agenda_progress_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agenda_progress_notes_activity_id"), ["activity_id"], unique=False)

    op.create_table(
        "agenda_edits",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("activity_id", sa.String(length=100), nullable=False),
        sa.Column("entity_id", sa.String(length=200), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("agenda_edits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agenda_edits_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_agenda_edits_activity_id"), ["activity_id"], unique=False)

    op.create_table(
        "agenda_reports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("report_date", sa.Date(), nullable=False),
        sa.Column("since_date", sa.Date(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("issued_by", sa.String(length=200), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("report_date"),
    )


def downgrade() -> None:
    op.drop_table("agenda_reports")
    with op.batch_alter_table("agenda_edits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agenda_edits_activity_id"))
        batch_op.drop_index(batch_op.f("ix_agenda_edits_at"))
    op.drop_table("agenda_edits")
    with op.batch_alter_table("agenda_progress_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agenda_progress_notes_activity_id"))
    op.drop_table("agenda_progress_notes")
    with op.batch_alter_table("agenda_budget_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agenda_budget_lines_activity_id"))
    op.drop_table("agenda_budget_lines")
    with op.batch_alter_table("agenda_step_status", schema=None) as batch_op:
        batch_op.drop_index("ix_agenda_step_status_step")
    op.drop_table("agenda_step_status")
