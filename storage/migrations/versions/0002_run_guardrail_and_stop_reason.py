"""Runs remember their guardrail settings and why they stopped early; index the heartbeat lease scan.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("guardrail", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("stop_reason", sa.Text(), nullable=True))
    op.create_index("ix_runs_status_heartbeat_at", "runs", ["status", "heartbeat_at"])


def downgrade() -> None:
    op.drop_index("ix_runs_status_heartbeat_at", table_name="runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("stop_reason")
        batch.drop_column("guardrail")
