"""A short real campaign on the embedded demo shop: its trials are stored runs linked to it, each judged at
the gateway, and no fault stays active after it; halting it halts its trial's fault."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

import storage
from client import Hypothesis, Observe
from executor import EmbeddedExecutor
from services.campaigns import Budget, Campaign, CampaignSpace, IntRange, RunnerTrials, Target
from storage import CampaignStatus, RunStatus
from tests.waiting import wait_until

SPACE = CampaignSpace(
    targets=(Target(service="payment", api="/api/v1/payment/process", method="POST"),),
    fault_types=("delay", "abort"),  # type: ignore[arg-type]
    delay_ms=IntRange(low=5, high=5),
    abort_statuses=(503,),
    percentage=IntRange(low=50, high=50),
    duration_seconds=IntRange(low=1, high=1),
    observe=Observe(service="gateway", api="/api/v1/checkout", method="POST"),
    hypothesis=Hypothesis(max_p99_ms=1500, max_error_rate_pct=90),  # loose: a loaded machine still holds
    baseline_seconds=1,
    recovery_seconds=1,
    cooldown_seconds=0,
)


@pytest.mark.slow
def test_a_grid_campaign_stores_its_trials_linked_to_it_and_leaves_no_fault_active(
    executor: EmbeddedExecutor, engine: Engine, console_factory
) -> None:
    console = console_factory(executor.base_url, api_mode="extended")
    campaign = Campaign(space=SPACE, strategy="grid", budget=Budget(trials=5))
    seen: list[int] = []
    outcome = campaign.run(
        RunnerTrials(console.runner), engine=engine, on_trial=lambda t: seen.append(t.number)
    )
    assert (outcome.status, outcome.reason) == (CampaignStatus.COMPLETED, "the grid is covered"), outcome
    assert seen == [0, 1]
    assert console.runner.client.list_active_faults() == []
    with Session(engine) as session:
        runs = storage.campaign_runs(session, campaign_id=outcome.campaign_id or -1)
        row = storage.get_campaign(session, campaign_id=outcome.campaign_id or -1)
    assert row is not None and row.status is CampaignStatus.COMPLETED
    assert [(run.trial_number, run.status) for run in runs] == [
        (0, RunStatus.COMPLETED),
        (1, RunStatus.COMPLETED),
    ]
    assert {(run.plan["fault_type"], run.plan.get("abort_http_status")) for run in runs} == {
        ("delay", None), ("abort", 503),
    }  # fmt: skip
    for run, trial in zip(runs, outcome.trials, strict=True):
        assert [phase["phase"] for phase in run.phases] == ["baseline", "fault", "recovery"]
        assert run.severity_score is not None and run.severity_score == trial.result.severity_score
        assert run.labels == ["campaign"] and run.id == trial.result.run_id
    best = campaign.best()
    assert best is not None and best.result.severity_score == max(run.severity_score or 0 for run in runs)


@pytest.mark.slow
def test_halting_a_campaign_halts_its_trial_and_removes_the_fault(
    executor: EmbeddedExecutor, engine: Engine, console_factory
) -> None:
    console = console_factory(executor.base_url, api_mode="extended")
    long_fault = SPACE.model_copy(
        update={"duration_seconds": IntRange(low=60, high=60), "baseline_seconds": 1}
    )
    campaign = Campaign(space=long_fault, strategy="random", budget=Budget(trials=3))
    result: list[object] = []
    worker = threading.Thread(
        target=lambda: result.append(campaign.run(RunnerTrials(console.runner), engine=engine))
    )
    worker.start()
    wait_until(lambda: bool(console.runner.client.list_active_faults()), timeout=30)
    campaign.halt("operator said stop")
    worker.join(timeout=30)
    assert not worker.is_alive()
    (outcome,) = result
    assert outcome.status is CampaignStatus.HALTED and len(outcome.trials) == 1  # type: ignore[attr-defined]
    assert outcome.trials[0].result.status == RunStatus.CANCELLED.value  # type: ignore[attr-defined]
    assert console.runner.client.list_active_faults() == []
