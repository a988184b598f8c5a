"""The Launch form's experiment fields: phases around the fault, the observed entry point, the hypothesis.

Off by default: a plan without them is sent as before. Turned on, the defaults are a 5 s baseline and a
5 s recovery at the fault's own target, judged against p99 <= 500 ms and an error rate <= 1 %.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import streamlit as st

from client import FaultPlan, ServiceInfo

OWN_TARGET = "the fault's own target"
DEFAULT_PHASE_SECONDS = 5
DEFAULT_MAX_P99_MS = 500.0
DEFAULT_MAX_ERROR_RATE_PCT = 1.0
EXPERIMENT_FIELDS = ("baseline_seconds", "recovery_seconds", "observe", "hypothesis")


def entry_points(services: Sequence[ServiceInfo]) -> list[str]:
    """Return the observable entry points as "METHOD service/path" choices, the fault's own target first."""
    choices = [OWN_TARGET]
    for service in services:
        choices.extend(f"{api.method} {service.name}{api.path}" for api in service.apis)
    return choices


def observe_value(choice: str, services: Sequence[ServiceInfo]) -> dict[str, Any] | None:
    """Return the plan's `observe` for an entry-point choice; None for the fault's own target."""
    for service in services:
        for api in service.apis:
            if choice == f"{api.method} {service.name}{api.path}":
                return {"service": service.name, "api": api.path, "method": api.method or None}
    return None


def experiment_values(
    *,
    enabled: bool,
    baseline_seconds: Any,
    recovery_seconds: Any,
    observe: Mapping[str, Any] | None,
    max_p99_ms: Any,
    max_error_rate_pct: Any,
) -> dict[str, Any]:
    """Return the experiment fields to add to the plan's form values ({} when the experiment is off).

    A p99 bound of 0 (or none) and an error-rate bound left empty mean "no bound"; with neither, there is
    no hypothesis to judge and the plan says so through its validation message.
    """
    if not enabled:
        return {}
    values: dict[str, Any] = {"baseline_seconds": baseline_seconds, "recovery_seconds": recovery_seconds}
    if observe is not None:
        values["observe"] = dict(observe)
    hypothesis = {
        key: value
        for key, value in (("max_p99_ms", max_p99_ms or None), ("max_error_rate_pct", max_error_rate_pct))
        if value is not None
    }
    values["hypothesis"] = hypothesis
    return values


def experiment_summary(plan: FaultPlan) -> str | None:
    """Say in one line what the experiment around the fault is; None for a plan without one."""
    if not (plan.baseline_seconds or plan.recovery_seconds or plan.observe or plan.hypothesis):
        return None
    phases = [f"fault {plan.duration_seconds} s"]
    if plan.baseline_seconds:
        phases.insert(0, f"baseline {plan.baseline_seconds} s")
    if plan.recovery_seconds:
        phases.append(f"recovery {plan.recovery_seconds} s")
    where = plan.observe
    at = f"{where.method + ' ' if where.method else ''}{where.service}{where.api}" if where else OWN_TARGET
    text = f"Experiment: {' → '.join(phases)}, observed at {at}"
    if plan.hypothesis is not None:
        bounds = []
        if plan.hypothesis.max_p99_ms is not None:
            bounds.append(f"p99 ≤ {plan.hypothesis.max_p99_ms:g} ms")
        if plan.hypothesis.max_error_rate_pct is not None:
            bounds.append(f"error rate ≤ {plan.hypothesis.max_error_rate_pct:g} %")
        text += f"; hypothesis: {' and '.join(bounds)}"
    return text + "."


def experiment_fields(services: Sequence[ServiceInfo], slots: dict[str, Any]) -> dict[str, Any]:
    """Draw the experiment fields (an expander) and return the plan values they give; `slots` gets the
    places where each field's validation error is shown."""
    with st.expander("Experiment (optional): baseline and recovery phases, observed entry point, hypothesis"):
        enabled = st.checkbox("run as an experiment with a hypothesis", key="launch_exp_on")
        p1, p2 = st.columns(2)
        baseline = p1.number_input(
            "baseline (s), before the fault", value=DEFAULT_PHASE_SECONDS, step=1, key="launch_baseline"
        )
        slots["baseline_seconds"] = p1.empty()
        recovery = p2.number_input(
            "recovery (s), after the fault", value=DEFAULT_PHASE_SECONDS, step=1, key="launch_recovery"
        )
        slots["recovery_seconds"] = p2.empty()
        choice = st.selectbox(
            "observe (entry point)",
            entry_points(services),
            key="launch_observe",
            help="Where the load goes and the measures come from; by default the fault's own target.",
        )
        slots["observe"] = st.empty()
        h1, h2 = st.columns(2)
        max_p99 = h1.number_input(
            "hypothesis: max p99 latency (ms)",
            value=DEFAULT_MAX_P99_MS,
            key="launch_hyp_p99",
            help="0 = no bound",
        )
        max_error = h2.number_input(
            "hypothesis: max error rate (%)", value=DEFAULT_MAX_ERROR_RATE_PCT, key="launch_hyp_err"
        )
        slots["hypothesis"] = st.empty()
    return experiment_values(
        enabled=enabled,
        baseline_seconds=baseline,
        recovery_seconds=recovery,
        observe=observe_value(str(choice), services),
        max_p99_ms=max_p99,
        max_error_rate_pct=max_error,
    )
