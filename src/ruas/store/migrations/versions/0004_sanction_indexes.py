"""Sanctions: drop two indexes that cost every bulk insert and serve no query of their own

``ix_enforcement_sanctions_plate`` repeats the first column of the unique key (plate, zone, day, slot), which
already answers lookups by plate; ``ix_enforcement_sanctions_status`` indexes a column of a handful of
values that every query also filters by municipality and day (``ix_enforcement_sanctions_muni_day``).
A run inserts a sanction per vehicle, zone and day in one statement; each index is one more B-tree to
update per row.

Revision ID: 0004_sanction_indexes
Revises: 0002_enforcement
Create Date: 2026-11-28 11:00:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op

revision = "0004_sanction_indexes"
down_revision = "0002_enforcement"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("enforcement_sanctions", schema=None) as batch_op:
        batch_op.drop_index("ix_enforcement_sanctions_plate")
        batch_op.drop_index("ix_enforcement_sanctions_status")


def downgrade() -> None:
    with op.batch_alter_table("enforcement_sanctions", schema=None) as batch_op:
        batch_op.create_index("ix_enforcement_sanctions_status", ["status"], unique=False)
        batch_op.create_index("ix_enforcement_sanctions_plate", ["plate"], unique=False)
