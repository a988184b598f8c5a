"""Runs their guardrail stopped get their own status, `guardrail_stop`, instead of `cancelled`.

The status column is a VARCHAR(16) without a constraint, so the new value needs no DDL; this revision only
reclassifies the runs an older app recorded as cancelled with a guardrail's stop reason. The downgrade turns
them back into `cancelled`, the only status an older app can read for them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

GUARDRAIL_REASON_PREFIX = "guardrail:"  # services.guardrail.Guardrail.violation starts every reason so
runs = sa.table("runs", sa.column("status", sa.String), sa.column("stop_reason", sa.Text))


def upgrade() -> None:
    op.execute(
        runs.update()
        .where(runs.c.status == "cancelled", runs.c.stop_reason.like(f"{GUARDRAIL_REASON_PREFIX}%"))
        .values(status="guardrail_stop")
    )


def downgrade() -> None:
    op.execute(runs.update().where(runs.c.status == "guardrail_stop").values(status="cancelled"))
