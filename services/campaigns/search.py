"""From a space to Optuna and back: the sampler of each strategy, a trial's parameters, and its FaultPlan.

Nothing here samples by itself: grid is Optuna's `GridSampler`, random its `RandomSampler`, bayes its
`TPESampler` (seeded, with a few random start-up trials). Random and bayes search the space as it is written:
a categorical target and fault type, then the delay (integer, log scale) only for a delay and the abort status
(categorical) only for an abort, the percentage and the duration. The grid cannot: its search space is a
product, and a conditional delay would repeat every abort once per delay value. So the grid's fault is one
categorical of the distinct faults (``delay:250``, ``abort:503``) and it covers each combination exactly once.
"""

from __future__ import annotations

import math

import optuna

from client import FaultPlan, FaultType
from services.campaigns.space import CampaignFile, CampaignSpace, Strategy

__all__ = ["grid_search_space", "grid_size", "make_sampler", "plan_for", "suggest"]


def _grid_faults(space: CampaignSpace) -> list[str]:
    faults: list[str] = []
    if FaultType.DELAY in space.fault_types:
        faults += [f"delay:{ms}" for ms in space.delay_ms.grid_values()]
    if FaultType.ABORT in space.fault_types:
        faults += [f"abort:{status}" for status in sorted(set(space.abort_statuses))]
    return faults


def grid_search_space(space: CampaignSpace) -> dict[str, list[str | int]]:
    """Return the grid strategy's search space: every parameter's values, each once."""
    return {
        "target": [target.label for target in space.targets],
        "fault": list(_grid_faults(space)),
        "percentage": list(space.percentage.grid_values()),
        "duration_seconds": list(space.duration_seconds.grid_values()),
    }


def grid_size(space: CampaignSpace) -> int:
    """Return how many trials cover the grid."""
    return math.prod(len(values) for values in grid_search_space(space).values())


def make_sampler(campaign: CampaignFile) -> optuna.samplers.BaseSampler:
    """Return the Optuna sampler of the campaign's strategy (seeded with its seed)."""
    if campaign.strategy is Strategy.GRID:
        return optuna.samplers.GridSampler(grid_search_space(campaign.space), seed=campaign.seed)
    if campaign.strategy is Strategy.RANDOM:
        return optuna.samplers.RandomSampler(seed=campaign.seed)
    return optuna.samplers.TPESampler(seed=campaign.seed, n_startup_trials=campaign.startup_trials)


def suggest(trial: optuna.Trial, space: CampaignSpace, strategy: Strategy) -> dict[str, str | int]:
    """Ask `trial` for one point of `space` and return its parameters (what `plan_for` reads)."""
    if strategy is Strategy.GRID:
        grid: dict[str, str | int] = {}
        for name, values in grid_search_space(space).items():
            grid[name] = trial.suggest_categorical(name, values)  # type: ignore[assignment]
        return grid
    params: dict[str, str | int] = {
        "target": trial.suggest_categorical("target", [target.label for target in space.targets]),
    }
    fault_type = trial.suggest_categorical("fault_type", [kind.value for kind in space.fault_types])
    if fault_type == FaultType.DELAY.value:
        delay = trial.suggest_int("delay_ms", space.delay_ms.low, space.delay_ms.high, log=True)
        params["fault"] = f"delay:{delay}"
    else:
        status = trial.suggest_categorical("abort_status", sorted(set(space.abort_statuses)))
        params["fault"] = f"abort:{status}"
    params["percentage"] = trial.suggest_int("percentage", space.percentage.low, space.percentage.high)
    params["duration_seconds"] = trial.suggest_int(
        "duration_seconds", space.duration_seconds.low, space.duration_seconds.high
    )
    return params


def plan_for(space: CampaignSpace, params: dict[str, str | int]) -> FaultPlan:
    """Return the FaultPlan of one trial: its target and fault, with the campaign's fixed experiment."""
    target = space.target(str(params["target"]))
    kind, _, amount = str(params["fault"]).partition(":")
    fault: dict[str, object] = (
        {"fault_type": FaultType.DELAY, "delay_seconds": int(amount) / 1000}
        if kind == FaultType.DELAY.value
        else {"fault_type": FaultType.ABORT, "abort_http_status": int(amount)}
    )
    return FaultPlan(
        service=target.service,
        api=target.api,
        method=target.method,
        percentage=int(params["percentage"]),
        duration_seconds=int(params["duration_seconds"]),
        baseline_seconds=space.baseline_seconds,
        recovery_seconds=space.recovery_seconds,
        observe=space.observe,
        hypothesis=space.hypothesis,
        **fault,
    )
