"""Launch an experiment: submission through the shared runner, in the api mode the form chose for that run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from client import ApiMode, FaultPlan
from services.guardrail import Guardrail
from services.holder import ConsoleHolder

# The form lists the recommended mode first.
API_MODES = tuple(mode.value for mode in (ApiMode.EXTENDED, ApiMode.DIRECT, ApiMode.POLICY))


@dataclass(frozen=True)
class Submitted:
    """A run id and the database it is recorded in, or the reason nothing was launched."""

    run_id: int | None
    error: str | None = None
    database: str | None = None


def current_api_mode(holder: ConsoleHolder) -> str:
    """The configured (default) api mode; a launch may choose another for its own run."""
    return ApiMode(holder.config.client_config.api_mode).value


def api_mode_problem(holder: ConsoleHolder, api_mode: str) -> str | None:
    """Return why launching in `api_mode` is not possible right now, or None."""
    if api_mode not in API_MODES:
        return f"api mode must be one of {', '.join(API_MODES)}"
    config = holder.config.client_config
    if api_mode == ApiMode.POLICY and not (config.collector_url or config.probe_url):
        return "policy mode needs a collector URL or a probe URL (set one on the Settings page)"
    return None


def submit(
    holder: ConsoleHolder,
    plan: FaultPlan,
    *,
    api_mode: str,
    guardrail: Guardrail | None,
    labels: Sequence[str] = (),
    notes: str = "",
    launched_by: str | None = None,
) -> Submitted:
    """Start a run in the background in `api_mode` (for this run only: the shared console is kept).

    `launched_by` is who is logged in (dashboard/auth.py), recorded on the run; None without a login.
    """
    problem = api_mode_problem(holder, api_mode)
    if problem is not None:
        return Submitted(None, problem)
    console = holder.console()
    run_id = console.runner.submit(
        plan,
        labels=list(labels),
        notes=notes,
        guardrail=guardrail,
        api_mode=api_mode,
        launched_by=launched_by,
    )
    return Submitted(run_id, database=str(console.engine.url))


def parse_labels(text: str) -> list[str]:
    """Split comma-separated labels, dropping blanks and duplicates."""
    seen: list[str] = []
    for part in text.split(","):
        label = part.strip()
        if label and label not in seen:
            seen.append(label)
    return seen
