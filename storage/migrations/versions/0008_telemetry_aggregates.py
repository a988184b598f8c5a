"""Routine telemetry is stored per interval: call aggregates, and health rows that stand for many samples.

`client_call_aggregates` holds the console's background calls (the active-faults poll, health probes) as one
row per interval, operation and kind with a count and latency sum/max, instead of one `client_events` row
per call. A `health_samples` row now stands for `sample_count` samples in one state from `first_at` to
`timestamp` (`latency_ms` their mean, `latency_max_ms` their maximum); existing rows are one sample each.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "client_call_aggregates",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("interval_start", sa.DateTime(), nullable=False),
        sa.Column("interval_sec", sa.Integer(), nullable=False),
        sa.Column("executor_url", sa.String(1024), nullable=False),
        sa.Column("operation", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("latency_count", sa.Integer(), nullable=False),
        sa.Column("latency_sum_ms", sa.Float(), nullable=False),
        sa.Column("latency_max_ms", sa.Float(), nullable=True),
    )
    op.create_index("ix_client_call_aggregates_interval_start", "client_call_aggregates", ["interval_start"])
    op.create_index(
        "ix_client_call_aggregates_executor_url_interval_start",
        "client_call_aggregates",
        ["executor_url", "interval_start"],
    )
    with op.batch_alter_table("health_samples") as batch:
        batch.add_column(sa.Column("sample_count", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("first_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("latency_max_ms", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("health_samples") as batch:
        batch.drop_column("latency_max_ms")
        batch.drop_column("first_at")
        batch.drop_column("sample_count")
    op.drop_index("ix_client_call_aggregates_executor_url_interval_start", table_name="client_call_aggregates")
    op.drop_index("ix_client_call_aggregates_interval_start", table_name="client_call_aggregates")
    op.drop_table("client_call_aggregates")
