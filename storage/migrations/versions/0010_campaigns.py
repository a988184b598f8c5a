"""Campaigns: a `campaigns` table, and runs' `campaign_id` + `trial_number`.

A campaign (services/campaigns) searches a fault space with Optuna; each of its trials is one of our runs.
`campaigns` holds the Optuna study's name (the study itself lives in Optuna's own database, never in ours:
its tables and its own `alembic_version` would collide with these), the space and objective (JSON and a
name), the strategy, the status and why it ended, where it ran, who launched it and when. `runs` gains
`campaign_id` (NULL for a run of no campaign; the campaign's deletion leaves its runs) and `trial_number`
(Optuna's trial number, NULL outside a campaign). Nothing is rewritten.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("study_name", sa.String(255), nullable=False),
        sa.Column("space", sa.JSON(), nullable=False),
        sa.Column("objective", sa.String(64), nullable=False),
        sa.Column("strategy", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("budget", sa.JSON(), nullable=False),
        sa.Column("executor_url", sa.String(1024), nullable=False),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("launched_by", sa.String(255), nullable=True),
    )
    op.create_index("ux_campaigns_study_name", "campaigns", ["study_name"], unique=True)
    op.create_index("ix_campaigns_status", "campaigns", ["status"])
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("campaign_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("trial_number", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_runs_campaign_id_campaigns", "campaigns", ["campaign_id"], ["id"], ondelete="SET NULL"
        )
    op.create_index("ix_runs_campaign_id_trial_number", "runs", ["campaign_id", "trial_number"])


def downgrade() -> None:
    op.drop_index("ix_runs_campaign_id_trial_number", table_name="runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_constraint("fk_runs_campaign_id_campaigns", type_="foreignkey")
        batch.drop_column("trial_number")
        batch.drop_column("campaign_id")
    op.drop_index("ix_campaigns_status", table_name="campaigns")
    op.drop_index("ux_campaigns_study_name", table_name="campaigns")
    op.drop_table("campaigns")
