"""Launch an experiment: submission through the shared runner, in the api mode the form chose for that run."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from client import ApiMode, BreakerState, FaultPlan, ServiceInfo
from dashboard.data import ExecutorStatus, executor_status
from dashboard.experiment_form import entry_points
from dashboard.header_form import header_match_state
from services.guardrail import Guardrail
from services.holder import ConsoleHolder

# The form lists the recommended mode first.
API_MODES = tuple(mode.value for mode in (ApiMode.EXTENDED, ApiMode.DIRECT, ApiMode.POLICY))


# The field of each fault type, with its default. Only the chosen type's field shows, and Streamlit forgets
# (or resets) the state of a widget that does not show: the values are kept under shadow keys instead.
FAULT_FIELDS = {
    "delay": ("launch_delay_seconds", 0.2),
    "abort": ("launch_abort", 503),
    "error_injection": ("launch_error_msg", "injected error"),
}
KEPT_PREFIX = "launch_kept_"
SHOWN_KEY = "launch_fault_shown"  # the fault type whose field the last run showed


def keep_fault_fields(state: MutableMapping[str, Any]) -> None:
    """Keep what was typed for each fault type across a change of type (call before the widgets).

    The field that showed on the last run holds what the user typed: remember it. The others get back what
    was remembered (or the default), so 0.7 s stays 0.7 s after a look at abort.
    """
    shown = state.get(SHOWN_KEY)
    for fault_type, (key, default) in FAULT_FIELDS.items():
        kept = KEPT_PREFIX + key
        if fault_type == shown and key in state:
            state[kept] = state[key]
        else:
            state[key] = state.get(kept, state.get(key, default))


def showing_fault_type(state: MutableMapping[str, Any], fault_type: str) -> None:
    """Note which fault type's field this run shows, for `keep_fault_fields` on the next run."""
    state[SHOWN_KEY] = fault_type


def launch_blocked(status: ExecutorStatus) -> str | None:
    """Return why Launch cannot send anything now (breaker open, Executor unreachable), or None."""
    if status.breaker_state is BreakerState.OPEN:
        return "the circuit breaker is OPEN: the client fails every call fast until a trial call succeeds"
    if status.healthy is False:
        return "the Executor is not reachable: its last health check failed"
    return None


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
    blocked = launch_blocked(executor_status(console, embedded=holder.config.embedded))
    if blocked is not None:  # the page was drawn before the breaker opened: store nothing, send nothing
        return Submitted(None, blocked)
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


def prefill_state(plan: Mapping[str, Any], services: Sequence[ServiceInfo]) -> dict[str, Any]:
    """Return the Launch form's widget values (session-state keys) that reproduce a stored run's plan.

    A choice the form's lists do not offer (a service the Executor no longer lists) is left out, so the
    widget keeps its default rather than failing; the text inputs used without discovery take it all.
    """
    state: dict[str, Any] = {
        "launch_service_text": plan.get("service") or "",
        "launch_api_text": plan.get("api") or "",
        "launch_method": plan.get("method") or "",
        "launch_fault_type": plan.get("fault_type") or "delay",
        "launch_percentage": int(plan.get("percentage") or 0),
        "launch_duration": int(plan.get("duration_seconds") or 1),
        "launch_start_delay": int(plan.get("start_delay_ms") or 0),
    }
    for name, key in (("delay_seconds", "launch_delay_seconds"), ("abort_http_status", "launch_abort")):
        if plan.get(name) is not None:
            state[key] = plan[name]
    if plan.get("error_message"):
        state["launch_error_msg"] = plan["error_message"]
    state.update(header_match_state(plan))
    service = next((s for s in services if s.name == plan.get("service")), None)
    if service is not None:
        state["launch_service"] = service.name
        if plan.get("api") in [api.path for api in service.apis]:
            state["launch_api"] = plan["api"]
    state.update(_experiment_state(plan, services))
    for key, _ in FAULT_FIELDS.values():  # what keep_fault_fields gives back to a field not shown
        if key in state:
            state[KEPT_PREFIX + key] = state[key]
    return state


def _experiment_state(plan: Mapping[str, Any], services: Sequence[ServiceInfo]) -> dict[str, Any]:
    hypothesis = plan.get("hypothesis") or {}
    observe = plan.get("observe") or None
    if not (plan.get("baseline_seconds") or plan.get("recovery_seconds") or observe or hypothesis):
        return {"launch_exp_on": False}
    state: dict[str, Any] = {
        "launch_exp_on": True,
        "launch_baseline": int(plan.get("baseline_seconds") or 0),
        "launch_recovery": int(plan.get("recovery_seconds") or 0),
        "launch_hyp_p99": float(hypothesis.get("max_p99_ms") or 0.0),
    }
    if hypothesis.get("max_error_rate_pct") is not None:
        state["launch_hyp_err"] = float(hypothesis["max_error_rate_pct"])
    if observe:
        choice = f"{observe.get('method') or ''} {observe.get('service')}{observe.get('api')}".strip()
        if choice in entry_points(services):
            state["launch_observe"] = choice
    return state


def prefill_from_run(run: Any, services: Sequence[ServiceInfo]) -> dict[str, Any]:
    """Return the Launch form's widget values that re-run a stored run: its plan, api mode and labels."""
    state = prefill_state(run.plan or {}, services)
    mode = ApiMode(run.api_mode).value
    if mode in API_MODES:
        state["launch_api_mode"] = mode
    state["launch_labels"] = ", ".join(run.labels or [])
    return state
