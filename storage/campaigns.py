"""Campaigns (revision 0010): the row that links an Optuna study, its trials and our runs.

The study itself lives in Optuna's own database (services/campaigns/study.py says where); this table keeps
what the console needs to list and show a campaign: the study's name, the space and objective it searches,
the strategy and budget, its status and why it ended, where it ran and who launched it. Each trial is a run
whose `campaign_id` and `trial_number` point here (`campaign_runs`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, String, Text, update
from sqlmodel import Field, Session, SQLModel, col, select

from client.redaction import redact_url
from storage.models import Run
from storage.types import UTCDateTime, as_utc, enum_column_type, json_safe, utc_now


class CampaignStatus(StrEnum):
    """Where a campaign stands. Values are at most 16 characters (the status column's length)."""

    RUNNING = "running"
    COMPLETED = "completed"  # its budget is spent, its grid covered, or it stopped at its first deviation
    PAUSED = "paused"  # a trial's baseline failed: the system was not in its steady state (status_reason)
    HALTED = "halted"  # someone halted it; its current run was halted with it
    FAILED = "failed"  # it could not go on (the Executor unreachable, storage refused it): status_reason


class Campaign(SQLModel, table=True):
    """One campaign: a space, an objective, a strategy and a budget, searched trial by trial."""

    __tablename__ = "campaigns"
    __table_args__ = (
        Index("ux_campaigns_study_name", "study_name", unique=True),
        Index("ix_campaigns_status", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    started_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    study_name: str = Field(sa_column=Column(String(255), nullable=False))
    space: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    objective: str = Field(sa_column=Column(String(64), nullable=False))
    strategy: str = Field(sa_column=Column(String(16), nullable=False))
    status: CampaignStatus = Field(
        default=CampaignStatus.RUNNING,
        sa_column=Column(enum_column_type(CampaignStatus, name="campaign_status", length=16), nullable=False),
    )
    status_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    budget: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    executor_url: str = Field(default="", sa_column=Column(String(1024), nullable=False))
    owner: str = Field(default="", sa_column=Column(String(255), nullable=False))
    launched_by: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))


def create_campaign(
    session: Session,
    *,
    study_name: str,
    space: Mapping[str, Any],
    objective: str,
    strategy: str,
    budget: Mapping[str, Any],
    executor_url: str,
    owner: str,
    launched_by: str | None = None,
    now: datetime | None = None,
) -> Campaign:
    """Record a running campaign (before its first trial) and return it with its id."""
    at = as_utc(now) if now is not None else utc_now()
    campaign = Campaign(
        created_at=at,
        started_at=at,
        study_name=study_name,
        space=json_safe(dict(space)),
        objective=objective,
        strategy=strategy,
        budget=json_safe(dict(budget)),
        executor_url=redact_url(executor_url),
        owner=owner,
        launched_by=launched_by[:255] if launched_by else None,
    )
    session.add(campaign)
    session.commit()
    session.refresh(campaign)
    session.expunge(campaign)
    return campaign


def finish_campaign(
    session: Session,
    *,
    campaign_id: int,
    status: CampaignStatus,
    reason: str | None = None,
    now: datetime | None = None,
) -> None:
    """Record how a campaign ended (or paused): its status, why, and when."""
    at = as_utc(now) if now is not None else utc_now()
    values = {"status": CampaignStatus(status), "status_reason": reason, "finished_at": at}
    session.exec(update(Campaign).where(col(Campaign.id) == campaign_id).values(**values))
    session.commit()


def get_campaign(session: Session, *, campaign_id: int) -> Campaign | None:
    """Return the campaign `campaign_id`, or None."""
    return session.get(Campaign, campaign_id)


def list_campaigns(session: Session, *, limit: int = 100) -> list[Campaign]:
    """Return the latest campaigns, newest first."""
    statement = select(Campaign).order_by(col(Campaign.id).desc()).limit(limit)
    return list(session.exec(statement))


def campaign_runs(session: Session, *, campaign_id: int) -> list[Run]:
    """Return the runs of a campaign's trials, by trial number."""
    statement = (
        select(Run).where(col(Run.campaign_id) == campaign_id).order_by(col(Run.trial_number), col(Run.id))
    )
    return list(session.exec(statement))


def campaign_record(campaign: Campaign) -> dict[str, Any]:
    """Return a campaign as a JSON-ready record (timestamps ISO 8601 UTC, status as its value)."""
    record: dict[str, Any] = {}
    for name in Campaign.model_fields:
        value = getattr(campaign, name)
        if isinstance(value, datetime):
            value = as_utc(value).isoformat()
        elif isinstance(value, StrEnum):
            value = value.value
        record[name] = value
    return record
