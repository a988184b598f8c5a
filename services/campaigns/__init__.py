"""Campaigns: search a fault space for the faults that hurt most, one stored run per trial, on Optuna.

`Campaign` (campaign.py) owns the loop; `space.py` the space, budget and strategy and their file; `search.py`
turns them into Optuna samplers and trial parameters into FaultPlans; `study.py` says where Optuna keeps its
study; `trials.py` runs each trial through the runner. The loop speaks to the Executor only through the one
client (via the runner) and to storage only through `storage/`.
"""

from __future__ import annotations

from services.campaigns.campaign import Campaign, CampaignOutcome, Trial
from services.campaigns.space import (
    ABORT_STATUSES,
    Budget,
    CampaignFile,
    CampaignFileError,
    CampaignSpace,
    IntRange,
    Strategy,
    Target,
    load_campaign_file,
)
from services.campaigns.trials import RunnerTrials, TrialResult, TrialRunner

__all__ = [
    "ABORT_STATUSES",
    "Budget",
    "Campaign",
    "CampaignFile",
    "CampaignFileError",
    "CampaignOutcome",
    "CampaignSpace",
    "IntRange",
    "RunnerTrials",
    "Strategy",
    "Target",
    "Trial",
    "TrialResult",
    "TrialRunner",
    "load_campaign_file",
]
