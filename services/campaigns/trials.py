"""How a campaign runs one trial: as one of our runs, through the runner (services/runner.py).

The runner already makes each run safe: the run is stored before the fault is sent, its guardrail is checked
on every progress, a halt removes its fault, and the client removes it in every outcome. A campaign adds what
is between runs: it runs one trial at a time, and checks through the client that no fault of this Executor is
still active before the next one (`active_fault_count`). `TrialRunner` is the seam: the unit tests of the
loop (where the wire does not matter) give a fake one.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from client import FaultPlan
from services.guardrail import Guardrail
from services.runner import Runner

__all__ = ["RunnerTrials", "TrialResult", "TrialRunner"]

CAMPAIGN_LABEL = "campaign"


@dataclass(frozen=True)
class TrialResult:
    """How one trial's run ended: its id, status, verdict, severity score and the reason it stopped."""

    run_id: int | None
    status: str  # a storage.RunStatus value
    verdict: str | None  # a client.ExperimentVerdict value; None without a hypothesis
    severity_score: float | None
    reason: str | None = None  # the run's error or stop reason


class TrialRunner(Protocol):
    """What a campaign needs to run its trials against one target system."""

    executor_url: str

    def run_trial(
        self, plan: FaultPlan, *, guardrail: Guardrail | None, campaign_id: int | None, trial_number: int
    ) -> TrialResult:
        """Run `plan` as one trial to its end and return how it ended."""
        ...

    def halt(self, reason: str) -> None:
        """Halt the trial in progress, if any (its fault is removed)."""
        ...

    def active_fault_count(self) -> int:
        """Return how many faults are active on the target system now."""
        ...


class RunnerTrials:
    """Run each trial as a stored run of `runner`, linked to its campaign and trial number."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.executor_url = runner.executor_url
        self._lock = threading.Lock()
        self._current: int | None = None
        self._halted: str | None = None

    def run_trial(
        self, plan: FaultPlan, *, guardrail: Guardrail | None, campaign_id: int | None, trial_number: int
    ) -> TrialResult:
        """Submit the trial's run, wait for its end and return its outcome."""
        run_id = self.runner.submit(
            plan,
            labels=(CAMPAIGN_LABEL,),
            guardrail=guardrail,
            campaign_id=campaign_id,
            trial_number=trial_number,
        )
        with self._lock:
            self._current = run_id
            halted = self._halted
        if halted is not None:  # a halt that came while the run was being submitted
            self.runner.cancel(run_id, reason=halted)
        try:
            self.runner.wait(run_id)
        finally:
            with self._lock:
                self._current = None
        outcome = self.runner.outcome(run_id)
        if outcome is None:
            return TrialResult(run_id, "interrupted", None, None, "the run's outcome is unknown")
        score = outcome.experiment.get("severity_score")
        return TrialResult(
            run_id=run_id,
            status=outcome.status.value,
            verdict=None if outcome.verdict is None else outcome.verdict.value,
            severity_score=None if score is None else float(score),
            reason=outcome.error or outcome.stop_reason,
        )

    def halt(self, reason: str) -> None:
        """Halt the run in progress (and any trial submitted after this)."""
        with self._lock:
            self._halted = reason
            current = self._current
        if current is not None:
            self.runner.cancel(current, reason=reason)

    def active_fault_count(self) -> int:
        """Return the Executor's active faults, asked through the client in the runner's api mode."""
        return len(self.runner.client.list_active_faults(api_mode=self.runner.api_mode))
