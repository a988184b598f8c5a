"""The campaign loop with a fake trial runner (the wire does not matter here): grid coverage, budget, the
stops (first deviation, a failed baseline, a halt, a fault left active) and Optuna's samplers per strategy."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import Session

import storage
from client import FaultPlan, Hypothesis
from services.campaigns import (
    Budget,
    Campaign,
    CampaignSpace,
    IntRange,
    Strategy,
    Target,
    TrialResult,
)
from services.campaigns.search import grid_size
from services.guardrail import Guardrail
from storage import CampaignStatus

SPACE = CampaignSpace(
    targets=(Target(service="payment", api="/pay"), Target(service="inventory", api="/check")),
    fault_types=("delay", "abort"),  # type: ignore[arg-type]
    delay_ms=IntRange(low=10, high=1000, grid=(10, 100, 1000)),
    abort_statuses=(500, 503),
    percentage=IntRange(low=50, high=100),
    duration_seconds=IntRange(low=1, high=1),
    hypothesis=Hypothesis(max_p99_ms=500),
    baseline_seconds=1,
    cooldown_seconds=0,
)


class FakeTrials:
    """Records each plan; scores it by `score` and answers with `verdict` (a function of the plan)."""

    executor_url = "http://127.0.0.1:1"

    def __init__(
        self,
        score: Callable[[FaultPlan], float | None] = lambda plan: float(plan.percentage),
        verdict: Callable[[FaultPlan], str] = lambda plan: "held",
    ) -> None:
        self.plans: list[FaultPlan] = []
        self.guardrails: list[Guardrail | None] = []
        self.links: list[tuple[int | None, int]] = []
        self.score, self.verdict = score, verdict
        self.active = 0
        self.halted: list[str] = []
        self.campaign: Campaign | None = None
        self.halt_after: int | None = None

    def run_trial(
        self, plan: FaultPlan, *, guardrail: Guardrail | None, campaign_id: int | None, trial_number: int
    ) -> TrialResult:
        self.plans.append(plan)
        self.guardrails.append(guardrail)
        self.links.append((campaign_id, trial_number))
        if self.campaign is not None and len(self.plans) == self.halt_after:
            self.campaign.halt("stop now")
        return TrialResult(len(self.plans), "completed", self.verdict(plan), self.score(plan))

    def halt(self, reason: str) -> None:
        self.halted.append(reason)

    def active_fault_count(self) -> int:
        return self.active


def _key(plan: FaultPlan) -> tuple[object, ...]:
    return (plan.service, plan.api, plan.fault_type, plan.delay_ms, plan.abort_http_status, plan.percentage)


def test_the_grid_covers_its_space_exactly_once_and_its_last_tell_ends_the_campaign() -> None:
    campaign = Campaign(space=SPACE, strategy="grid", budget=Budget(trials=100))
    trials = FakeTrials()
    outcome = campaign.run(trials)
    # 2 targets x (3 delays + 2 aborts) x 2 percentages x 1 duration
    assert grid_size(SPACE) == campaign.planned_trials == 20
    expected = {
        (target.service, target.api, *fault, percentage)
        for target, fault, percentage in itertools.product(
            SPACE.targets,
            [("delay", ms, None) for ms in (10, 100, 1000)]
            + [("abort", None, status) for status in (500, 503)],
            (50, 100),
        )
    }
    assert len(trials.plans) == 20 and {_key(plan) for plan in trials.plans} == expected
    assert (outcome.status, outcome.reason) == (CampaignStatus.COMPLETED, "the grid is covered")
    best = campaign.best()
    assert best is not None and best.result.severity_score == 100.0


def test_every_trial_carries_the_campaigns_fixed_experiment_and_guardrail() -> None:
    space = SPACE.model_copy(update={"recovery_seconds": 3, "max_error_rate_pct": 40.0})
    trials = FakeTrials()
    Campaign(space=space, strategy="random", budget=Budget(trials=5), seed=3).run(trials)
    assert len(trials.plans) == 5
    for plan, guardrail in zip(trials.plans, trials.guardrails, strict=True):
        assert (plan.baseline_seconds, plan.recovery_seconds, plan.hypothesis) == (1, 3, SPACE.hypothesis)
        assert 10 <= (plan.delay_ms or 10) <= 1000 and 50 <= plan.percentage <= 100
        assert guardrail is not None and guardrail.max_error_rate == pytest.approx(0.4)
    assert [number for _, number in trials.links] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("strategy", ["random", "bayes"])
def test_a_seeded_strategy_proposes_the_same_trials_again(strategy: str) -> None:
    runs = []
    for _ in range(2):
        trials = FakeTrials()
        Campaign(space=SPACE, strategy=strategy, budget=Budget(trials=6), seed=11, startup_trials=2).run(
            trials
        )
        runs.append([_key(plan) for plan in trials.plans])
    assert runs[0] == runs[1] and len(set(runs[0])) > 1


def test_the_campaign_stops_at_its_first_deviation_when_asked() -> None:
    trials = FakeTrials(verdict=lambda plan: "deviated" if len(trials.plans) == 3 else "held")
    budget = Budget(trials=10, stop_at_first_deviation=True)
    outcome = Campaign(space=SPACE, strategy="random", budget=budget).run(trials)
    assert len(trials.plans) == 3
    assert (outcome.status, outcome.reason) == (CampaignStatus.COMPLETED, "trial 2 deviated: stopped at it")


def test_a_failed_baseline_pauses_the_campaign_and_says_so() -> None:
    trials = FakeTrials(score=lambda plan: None, verdict=lambda plan: "baseline_failed")
    outcome = Campaign(space=SPACE, strategy="bayes", budget=Budget(trials=10)).run(trials)
    assert len(trials.plans) == 1 and outcome.status is CampaignStatus.PAUSED
    assert "trial 0's baseline failed" in outcome.reason


def test_halting_the_campaign_halts_its_trial_and_starts_no_other() -> None:
    campaign = Campaign(space=SPACE, strategy="random", budget=Budget(trials=10))
    trials = FakeTrials()
    trials.campaign, trials.halt_after = campaign, 2
    outcome = campaign.run(trials)
    assert len(trials.plans) == 2 and trials.halted == ["stop now"]
    assert (outcome.status, outcome.reason) == (CampaignStatus.HALTED, "stop now")


def test_a_fault_still_active_on_the_system_fails_the_campaign_before_any_trial() -> None:
    trials = FakeTrials()
    trials.active = 1
    outcome = Campaign(space=SPACE, strategy="random").run(trials)
    assert trials.plans == [] and outcome.status is CampaignStatus.FAILED
    assert "still active" in outcome.reason


def test_the_minutes_of_the_budget_bound_the_campaign() -> None:
    now = [0.0]

    def clock() -> float:
        now[0] += 30.0  # each look at the clock is half a minute later
        return now[0]

    trials = FakeTrials()
    budget = Budget(trials=50, max_minutes=2)
    outcome = Campaign(space=SPACE, strategy="random", budget=budget, clock=clock).run(trials)
    assert 0 < len(trials.plans) < 50 and outcome.reason == "its 2 minutes are spent"


def test_a_stored_campaign_links_its_trials_and_keeps_optunas_study_in_its_own_file(tmp_path: Path) -> None:
    engine = storage.make_engine(f"sqlite:///{tmp_path / 'boifi.db'}")
    storage.init_db(engine)
    trials = FakeTrials()
    outcome = Campaign(space=SPACE, strategy="grid", budget=Budget(trials=3)).run(trials, engine=engine)
    assert outcome.campaign_id is not None and {link[0] for link in trials.links} == {outcome.campaign_id}
    with Session(engine) as session:
        row = storage.get_campaign(session, campaign_id=outcome.campaign_id)
        assert row is not None and row.status is CampaignStatus.COMPLETED and row.strategy == "grid"
        assert row.study_name == outcome.study_name and row.budget["trials"] == 3
    assert (tmp_path / "boifi.optuna.db").is_file()
    tables = set(
        storage.make_engine(f"sqlite:///{tmp_path / 'boifi.db'}").dialect.get_table_names(engine.connect())
    )
    assert "studies" not in tables and "campaigns" in tables
    engine.dispose()


def test_one_campaign_at_a_time_per_target_system() -> None:
    inner = Campaign(space=SPACE, strategy="random", budget=Budget(trials=1))
    errors: list[str] = []

    class Nested(FakeTrials):
        def run_trial(self, plan: FaultPlan, **kwargs: object) -> TrialResult:  # type: ignore[override]
            try:
                inner.run(FakeTrials())
            except RuntimeError as exc:
                errors.append(str(exc))
            return super().run_trial(plan, **kwargs)  # type: ignore[arg-type]

    Campaign(space=SPACE, strategy="random", budget=Budget(trials=1)).run(Nested())
    assert errors == ["another campaign is running against http://127.0.0.1:1: one at a time"]
    assert Strategy("bayes") is Strategy.BAYES
