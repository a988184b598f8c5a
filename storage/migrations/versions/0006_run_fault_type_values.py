"""A run's fault type is stored as the client's `FaultType` value, or NULL for a plan without one.

The column was a VARCHAR(64) NOT NULL that held '' for a plan without a fault type; it is now read as the
client's enum, so it becomes nullable, '' becomes NULL and other spellings of the three types (``Delay``)
become their values. A value that names no type is left as it was (no app wrote one: plans are validated).
The downgrade turns NULL back into '' and makes the column NOT NULL again.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TYPES = ("delay", "abort", "error_injection")  # client.models.FaultType values at this revision
runs = sa.table("runs", sa.column("fault_type", sa.String))


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.alter_column("fault_type", existing_type=sa.String(64), nullable=True)
    canonical = sa.func.lower(sa.func.trim(runs.c.fault_type))
    op.execute(
        runs.update().where(canonical.in_(TYPES), runs.c.fault_type != canonical).values(fault_type=canonical)
    )
    op.execute(runs.update().where(sa.func.trim(runs.c.fault_type) == "").values(fault_type=None))


def downgrade() -> None:
    op.execute(runs.update().where(runs.c.fault_type.is_(None)).values(fault_type=""))
    with op.batch_alter_table("runs") as batch:
        batch.alter_column("fault_type", existing_type=sa.String(64), nullable=False)
