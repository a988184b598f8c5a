"""The campaign loop: ask Optuna for a trial, run it as one of our runs, tell Optuna its severity score.

Each trial is one stored run (`services.campaigns.trials`), linked to the campaign's row
(`storage.campaigns`). The loop is safe by construction: one trial at a time per target system (a lock per
Executor URL in this process, and the loop itself is sequential), no fault of the system active before a
trial begins (checked through the client before every trial: a fault still active fails the campaign), a
cool-down between trials, the campaign's guardrail on every trial, and a halt that halts the trial in
progress. A trial whose baseline fails (the system was not in its steady state) is told FAIL and pauses the
campaign with the reason.

The objective is the run's severity score, maximised. A trial without a score (failed, halted, stopped by its
guardrail before the fault phase was judged) is told FAIL, which Optuna's samplers skip. The grid's last
`tell` stops the study: Optuna raises RuntimeError outside `optimize()` there, after storing the trial; the
loop takes it as "grid covered".
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from sqlalchemy.engine import Engine
from sqlmodel import Session

import storage
from client import ExperimentVerdict
from services.campaigns.search import grid_size, make_sampler, plan_for, suggest
from services.campaigns.space import Budget, CampaignFile, CampaignSpace, Strategy, load_campaign_file
from services.campaigns.study import new_study_name, study_storage
from services.campaigns.trials import TrialResult, TrialRunner
from services.guardrail import Guardrail
from storage import CampaignStatus

__all__ = ["Campaign", "CampaignOutcome", "Trial"]

logger = logging.getLogger(__name__)
OBJECTIVE = "severity_score"
_FOUND = (ExperimentVerdict.DEVIATED.value, ExperimentVerdict.NOT_RECOVERED.value)
_SYSTEM_LOCKS: dict[str, threading.Lock] = {}
_SYSTEM_LOCKS_GUARD = threading.Lock()


def _system_lock(executor_url: str) -> threading.Lock:
    with _SYSTEM_LOCKS_GUARD:
        return _SYSTEM_LOCKS.setdefault(executor_url.rstrip("/"), threading.Lock())


@dataclass(frozen=True)
class Trial:
    """One trial of a campaign: Optuna's number, its parameters and plan, and how its run ended."""

    number: int
    params: dict[str, Any]
    plan: dict[str, Any]
    result: TrialResult


@dataclass
class CampaignOutcome:
    """How a campaign ended: its status and why, its row's id (None unstored) and its trials."""

    status: CampaignStatus
    reason: str
    campaign_id: int | None
    study_name: str
    trials: list[Trial] = field(default_factory=list)


class Campaign:
    """A space, an objective, a strategy and a budget, searched one trial (one run) at a time.

    Example::

        campaign = Campaign.from_file("space.yaml")
        outcome = campaign.run(RunnerTrials(console.runner), engine=console.engine)
        campaign.best()
    """

    def __init__(
        self,
        *,
        space: CampaignSpace,
        objective: str = OBJECTIVE,
        strategy: Strategy | str = Strategy.BAYES,
        budget: Budget | None = None,
        seed: int | None = 0,
        startup_trials: int = 4,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if objective != OBJECTIVE:
            raise ValueError(f"objective: campaigns maximise {OBJECTIVE}, not {objective!r}")
        self.config = CampaignFile(
            space=space,
            strategy=Strategy(strategy),
            budget=budget or Budget(),
            seed=seed,
            startup_trials=startup_trials,
        )
        self.objective = objective
        self.trials: list[Trial] = []
        self._clock = clock
        self._halt = threading.Event()
        self._halt_reason = "halted by user"
        self._runner: TrialRunner | None = None

    @classmethod
    def from_file(cls, path: str | Path, **overrides: Any) -> Campaign:
        """Load a campaign from a YAML or JSON file; `overrides` (strategy, budget, seed) replace its own."""
        loaded = load_campaign_file(path)
        values = {"strategy": loaded.strategy, "budget": loaded.budget, "seed": loaded.seed, **overrides}
        return cls(space=loaded.space, startup_trials=loaded.startup_trials, **values)

    @property
    def planned_trials(self) -> int:
        """Return how many trials the budget allows (the grid's size when that is fewer)."""
        planned = self.config.budget.trials
        if self.config.strategy is Strategy.GRID:
            planned = min(planned, grid_size(self.config.space))
        return planned

    def halt(self, reason: str = "halted by user") -> None:
        """Halt the campaign: its trial in progress is halted (its fault removed) and no other begins."""
        self._halt_reason = reason
        self._halt.set()
        if self._runner is not None:
            self._runner.halt(reason)

    def best(self) -> Trial | None:
        """Return the trial with the highest severity score so far, or None before any was scored."""
        scored = [trial for trial in self.trials if trial.result.severity_score is not None]
        return max(scored, key=lambda trial: trial.result.severity_score or 0.0, default=None)

    def run(
        self,
        trials: TrialRunner,
        *,
        engine: Engine | None = None,
        owner: str = "",
        launched_by: str | None = None,
        on_trial: Callable[[Trial], None] | None = None,
    ) -> CampaignOutcome:
        """Run the campaign to its end through `trials`, recording it in `engine`'s database if given."""
        lock = _system_lock(trials.executor_url)
        if not lock.acquire(blocking=False):
            raise RuntimeError(f"another campaign is running against {trials.executor_url}: one at a time")
        try:
            self._runner = trials
            return self._run(trials, engine=engine, owner=owner, launched_by=launched_by, on_trial=on_trial)
        finally:
            self._runner = None
            lock.release()

    def _run(
        self,
        trials: TrialRunner,
        *,
        engine: Engine | None,
        owner: str,
        launched_by: str | None,
        on_trial: Callable[[Trial], None] | None,
    ) -> CampaignOutcome:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study_name = new_study_name()
        sampler = make_sampler(self.config)
        study = optuna.create_study(
            storage=study_storage(engine.url) if engine is not None else None,
            sampler=sampler,
            study_name=study_name,
            direction="maximize",
        )
        campaign_id = self._record_start(engine, study_name, trials.executor_url, owner, launched_by)
        outcome = CampaignOutcome(CampaignStatus.COMPLETED, "", campaign_id, study_name, self.trials)
        try:
            outcome.status, outcome.reason = self._loop(study, sampler, trials, campaign_id, on_trial)
        except Exception as exc:
            outcome.status, outcome.reason = CampaignStatus.FAILED, f"{type(exc).__name__}: {exc}"
            logger.exception("campaign %s failed", study_name)
        if engine is not None and campaign_id is not None:
            with Session(engine) as session:
                storage.finish_campaign(
                    session, campaign_id=campaign_id, status=outcome.status, reason=outcome.reason
                )
        return outcome

    def _record_start(
        self, engine: Engine | None, study_name: str, executor_url: str, owner: str, launched_by: str | None
    ) -> int | None:
        if engine is None:
            return None
        with Session(engine) as session:
            row = storage.create_campaign(
                session,
                study_name=study_name,
                space=self.config.space.model_dump(mode="json"),
                objective=self.objective,
                strategy=self.config.strategy.value,
                budget={**self.config.budget.model_dump(mode="json"), "seed": self.config.seed},
                executor_url=executor_url,
                owner=owner,
                launched_by=launched_by,
            )
        return row.id

    def _guardrail(self) -> Guardrail | None:
        space = self.config.space
        guardrail = Guardrail.from_percent(
            max_error_rate_pct=space.max_error_rate_pct, max_p99_latency_ms=space.max_p99_ms
        )
        return guardrail if guardrail.enabled else None

    def _loop(
        self,
        study: optuna.Study,
        sampler: optuna.samplers.BaseSampler,
        trials: TrialRunner,
        campaign_id: int | None,
        on_trial: Callable[[Trial], None] | None,
    ) -> tuple[CampaignStatus, str]:
        config, space = self.config, self.config.space
        deadline = (
            None if config.budget.max_minutes is None else self._clock() + config.budget.max_minutes * 60
        )
        for index in range(config.budget.trials):
            if self._halt.is_set():
                return CampaignStatus.HALTED, self._halt_reason
            if deadline is not None and self._clock() >= deadline:
                return CampaignStatus.COMPLETED, f"its {config.budget.max_minutes:g} minutes are spent"
            if isinstance(sampler, optuna.samplers.GridSampler) and sampler.is_exhausted(study):
                return CampaignStatus.COMPLETED, "the grid is covered"
            active = trials.active_fault_count()
            if active:
                return CampaignStatus.FAILED, f"{active} fault(s) still active on the target system"
            if index and self._halt.wait(space.cooldown_seconds):  # cool-down; the baseline then judges
                return CampaignStatus.HALTED, self._halt_reason
            optuna_trial = study.ask()
            params = suggest(optuna_trial, space, config.strategy)
            plan = plan_for(space, params)
            result = trials.run_trial(
                plan, guardrail=self._guardrail(), campaign_id=campaign_id, trial_number=optuna_trial.number
            )
            trial = Trial(optuna_trial.number, params, plan.model_dump(mode="json"), result)
            self.trials.append(trial)
            grid_done = self._tell(study, optuna_trial, result)
            if on_trial is not None:
                on_trial(trial)
            if result.verdict == ExperimentVerdict.BASELINE_FAILED.value:
                return CampaignStatus.PAUSED, (
                    f"trial {trial.number}'s baseline failed: the system was not in its steady state before "
                    "the fault (which was not applied); resume once it holds again"
                )
            if self._halt.is_set():
                return CampaignStatus.HALTED, self._halt_reason
            if config.budget.stop_at_first_deviation and result.verdict in _FOUND:
                return CampaignStatus.COMPLETED, f"trial {trial.number} {result.verdict}: stopped at it"
            if grid_done:
                return CampaignStatus.COMPLETED, "the grid is covered"
        return CampaignStatus.COMPLETED, f"its {config.budget.trials} trials are done"

    @staticmethod
    def _tell(study: optuna.Study, trial: optuna.Trial, result: TrialResult) -> bool:
        """Tell Optuna the trial's score (or FAIL); return True when that covered the grid."""
        score = result.severity_score
        try:
            if score is None or result.verdict == ExperimentVerdict.BASELINE_FAILED.value:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                study.tell(trial, score)
        except RuntimeError:  # GridSampler's study.stop() outside optimize(): the trial is stored
            return True
        return False
