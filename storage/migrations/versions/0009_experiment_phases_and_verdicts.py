"""Experiments: runs keep their verdict, severity score, recovery time, phases, deviations and target hits;
samples and timeline points keep their phase.

`runs` gains `verdict` (VARCHAR(16), the client's `ExperimentVerdict` values, NULL without a hypothesis;
indexed), `severity_score`, `time_to_recovery_s`, `phases` and `deviations` (JSON lists, `'[]'` for the rows
already there), `target` (JSON, NULL). `timeline_points.phase` is NOT NULL with the default `'fault'`, so the
points already stored read as the fault phase's; `latency_samples.phase` is a nullable blob of one phase code
per sample, NULL meaning every sample of the chunk is of the fault phase, as all older chunks are. Nothing is
rewritten: every column is added in place.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("verdict", sa.String(16), nullable=True))
        batch.add_column(sa.Column("severity_score", sa.Float(), nullable=True))
        batch.add_column(sa.Column("time_to_recovery_s", sa.Float(), nullable=True))
        batch.add_column(sa.Column("phases", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("deviations", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("target", sa.JSON(), nullable=True))
    op.create_index("ix_runs_verdict", "runs", ["verdict"])
    with op.batch_alter_table("timeline_points") as batch:
        batch.add_column(sa.Column("phase", sa.String(16), nullable=False, server_default="fault"))
    with op.batch_alter_table("latency_samples") as batch:
        batch.add_column(sa.Column("phase", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("latency_samples") as batch:
        batch.drop_column("phase")
    with op.batch_alter_table("timeline_points") as batch:
        batch.drop_column("phase")
    op.drop_index("ix_runs_verdict", table_name="runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("target")
        batch.drop_column("deviations")
        batch.drop_column("phases")
        batch.drop_column("time_to_recovery_s")
        batch.drop_column("severity_score")
        batch.drop_column("verdict")
