"""Initial schema: runs, timelines, packed latency samples, client events, breaker transitions, health.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _run_fk(ondelete: str) -> sa.ForeignKey:
    return sa.ForeignKey("runs.id", ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=True),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("service", sa.String(255), nullable=False),
        sa.Column("api", sa.String(1024), nullable=False),
        sa.Column("fault_type", sa.String(64), nullable=False),
        sa.Column("percentage", sa.Integer(), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("executor_url", sa.String(1024), nullable=False),
        sa.Column("api_mode", sa.String(32), nullable=False),
        sa.Column("apply_key", sa.String(255), nullable=False),
        sa.Column("fault_id", sa.String(255), nullable=True),
        sa.Column("request_count", sa.Integer(), nullable=False),
        sa.Column("affected_count", sa.Integer(), nullable=False),
        sa.Column("error_rate", sa.Float(), nullable=True),
        sa.Column("success_rate", sa.Float(), nullable=True),
        sa.Column("avg_latency_ms", sa.Float(), nullable=True),
        sa.Column("p50_latency_ms", sa.Float(), nullable=True),
        sa.Column("p95_latency_ms", sa.Float(), nullable=True),
        sa.Column("p99_latency_ms", sa.Float(), nullable=True),
        sa.Column("max_latency_ms", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_class", sa.String(255), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
    )
    op.create_index("ix_runs_status", "runs", ["status"])
    op.create_index("ix_runs_created_at", "runs", ["created_at"])
    op.create_index("ix_runs_service", "runs", ["service"])
    op.create_index("ix_runs_service_api", "runs", ["service", "api"])
    op.create_index("ix_runs_fault_type", "runs", ["fault_type"])
    op.create_index("ix_runs_apply_key", "runs", ["apply_key"])

    op.create_table(
        "timeline_points",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.Integer(), _run_fk("CASCADE"), nullable=False),
        sa.Column("t_s", sa.Float(), nullable=False),
        sa.Column("request_count", sa.Integer(), nullable=True),
        sa.Column("affected_count", sa.Integer(), nullable=True),
        sa.Column("error_count", sa.Integer(), nullable=True),
        sa.Column("avg_latency_ms", sa.Float(), nullable=True),
        sa.Column("p50_latency_ms", sa.Float(), nullable=True),
        sa.Column("p95_latency_ms", sa.Float(), nullable=True),
        sa.Column("p99_latency_ms", sa.Float(), nullable=True),
    )
    op.create_index("ix_timeline_points_run_id_t_s", "timeline_points", ["run_id", "t_s"])

    op.create_table(
        "latency_samples",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.Integer(), _run_fk("CASCADE"), nullable=False),
        sa.Column("chunk_index", sa.Integer(), nullable=False),
        sa.Column("sample_count", sa.Integer(), nullable=False),
        sa.Column("offset_ms", sa.LargeBinary(), nullable=False),
        sa.Column("latency_ms", sa.LargeBinary(), nullable=False),
        sa.Column("status_code", sa.LargeBinary(), nullable=False),
        sa.Column("affected", sa.LargeBinary(), nullable=False),
    )
    op.create_index(
        "ux_latency_samples_run_id_chunk", "latency_samples", ["run_id", "chunk_index"], unique=True
    )

    op.create_table(
        "client_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("timestamp", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("executor_url", sa.String(1024), nullable=True),
        sa.Column("operation", sa.String(64), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=True),
        sa.Column("delay_sec", sa.Float(), nullable=True),
        sa.Column("error_class", sa.String(255), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("apply_key", sa.String(255), nullable=True),
        sa.Column("run_id", sa.Integer(), _run_fk("SET NULL"), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
    )
    op.create_index("ix_client_events_timestamp", "client_events", ["timestamp"])
    op.create_index(
        "ix_client_events_executor_url_timestamp", "client_events", ["executor_url", "timestamp"]
    )
    op.create_index("ix_client_events_run_id", "client_events", ["run_id"])

    op.create_table(
        "breaker_transitions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("timestamp", sa.DateTime(), nullable=False),
        sa.Column("executor_url", sa.String(1024), nullable=False),
        sa.Column("old_state", sa.String(32), nullable=False),
        sa.Column("new_state", sa.String(32), nullable=False),
    )
    op.create_index(
        "ix_breaker_transitions_executor_url_timestamp",
        "breaker_transitions",
        ["executor_url", "timestamp"],
    )

    op.create_table(
        "health_samples",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("timestamp", sa.DateTime(), nullable=False),
        sa.Column("executor_url", sa.String(1024), nullable=False),
        sa.Column("healthy", sa.Boolean(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("breaker_state", sa.String(32), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
    )
    op.create_index(
        "ix_health_samples_executor_url_timestamp", "health_samples", ["executor_url", "timestamp"]
    )


def downgrade() -> None:
    for table in ("health_samples", "breaker_transitions", "client_events", "latency_samples", "timeline_points"):
        op.drop_table(table)
    op.drop_table("runs")
