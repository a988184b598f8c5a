"""Launch an experiment: api-mode switching and submission through the shared runner."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from client import ExecutorClientConfig, FaultPlan
from dashboard.factories import ConsoleHolder
from services.guardrail import Guardrail

API_MODES = ("extended", "direct", "policy")


@dataclass(frozen=True)
class Submitted:
    """A run id and the database it is recorded in, or the reason nothing was launched."""

    run_id: int | None
    error: str | None = None
    database: str | None = None


def with_api_mode(config: ExecutorClientConfig, api_mode: str) -> ExecutorClientConfig:
    """Return a validated copy of `config` speaking `api_mode` (model_copy would skip validation)."""
    return type(config)(**{**config.model_dump(), "api_mode": api_mode})


def current_api_mode(holder: ConsoleHolder) -> str:
    mode = holder.config.client_config.api_mode
    return str(getattr(mode, "value", mode))


def api_mode_problem(holder: ConsoleHolder, api_mode: str) -> str | None:
    """Return why launching in `api_mode` is not possible right now, or None."""
    if api_mode not in API_MODES:
        return f"api mode must be one of {', '.join(API_MODES)}"
    config = holder.config.client_config
    if api_mode == "policy" and not (config.collector_url or config.probe_url):
        return "policy mode needs a collector URL or a probe URL (set one on the Settings page)"
    if api_mode != current_api_mode(holder) and holder.console().runner.active_run_ids():
        return "switching the api mode rebuilds the shared client: wait for or halt the active runs first"
    return None


def submit(
    holder: ConsoleHolder,
    plan: FaultPlan,
    *,
    api_mode: str,
    guardrail: Guardrail | None,
    labels: Sequence[str] = (),
    notes: str = "",
) -> Submitted:
    """Start a run in the background (switching the process's api mode first if asked); return at once."""
    problem = api_mode_problem(holder, api_mode)
    if problem is not None:
        return Submitted(None, problem)
    if api_mode != current_api_mode(holder):
        config = holder.config
        try:
            holder.apply(with_api_mode(config.client_config, api_mode), database_url=config.database_url)
        except Exception as exc:  # building the new client failed: say why, keep going with the old one
            return Submitted(None, f"could not switch to {api_mode} mode: {exc}")
    console = holder.console()
    run_id = console.runner.submit(plan, labels=list(labels), notes=notes, guardrail=guardrail)
    return Submitted(run_id, database=str(console.engine.url))


def parse_labels(text: str) -> list[str]:
    """Split comma-separated labels, dropping blanks and duplicates."""
    seen: list[str] = []
    for part in text.split(","):
        label = part.strip()
        if label and label not in seen:
            seen.append(label)
    return seen
