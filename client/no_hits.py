"""The warning of a run whose fault should have hit requests but hit none, naming the likely cause.

A fault at a percentage above 0 that saw traffic and hit nothing measured nothing about the fault: the
run must not read as a plain success. The cause is named from what the plan and the Executor tell:

- the Executor counted no request on the fault's rule (``target.request_count == 0``): the traffic did not
  match it, so each matcher of the plan is named (header, method, path), and an observed entry point that may
  never call the target, or not forward the header, is named too;
- requests matched but none was hit: at a low percentage over few requests that happens by chance, and the
  chance is given;
- policy mode (no target counts): the data plane may not have had the policy yet, as well as the above.
"""

from __future__ import annotations

from client.models import ApiMode, FaultPlan, RawObservation

__all__ = ["no_hit_warning"]

_CHANCE_WORTH_SAYING = 0.01  # below this, hitting none by chance is not the explanation


def no_hit_warning(plan: FaultPlan, observation: RawObservation) -> str | None:
    """Return the warning for a fault that hit none of the requests it should have, or None."""
    metrics = observation.metrics
    requests = metrics.request_count if metrics is not None else 0
    target = observation.target
    affected = target.affected_count if target is not None else (metrics.affected_count if metrics else 0)
    if plan.percentage <= 0 or requests <= 0 or affected > 0:
        return None
    if target is None and plan.observe is not None:
        return None  # the entry point's answers cannot show a hit deeper in the call graph: nothing to tell
    head = f"the fault hit none of the {requests} requests although it targets {plan.percentage} %"
    matched = target.request_count if target is not None else requests
    chance = (1.0 - plan.percentage / 100.0) ** matched
    if target is not None and target.request_count > 0:
        if chance >= _CHANCE_WORTH_SAYING:
            return (
                f"{head}: {matched} requests matched its rule, and at {plan.percentage} % hitting none of "
                f"them happens by chance ({chance:.0%}); run longer or at a higher percentage"
            )
        return f"{head}: {matched} requests matched its rule, yet none was hit; check the Executor's logs"
    causes = _mismatches(plan)
    if observation.api_mode is ApiMode.POLICY:
        causes.append("the data plane may not have received the policy yet (raise policy_propagation_sec)")
    if target is None and chance >= _CHANCE_WORTH_SAYING:
        causes.append(
            f"at {plan.percentage} % of {requests} requests, hitting none happens by chance ({chance:.0%})"
        )
    where = "no request matched its rule" if target is not None else "check its match"
    return f"{head}: {where}; possible causes: " + "; ".join(causes)


def _mismatches(plan: FaultPlan) -> list[str]:
    """Return what in the plan's match the traffic may have missed."""
    causes = []
    if plan.observe is not None:
        causes.append(
            f"the observed entry point {plan.observe.service}{plan.observe.api} may never call "
            f"{plan.service}{plan.api}"
        )
    for header in plan.headers:
        rule = next(f"{k} {v!r}" for k, v in header.to_wire().items() if k != "name")
        sent = "" if plan.observe is None else f", or {plan.observe.service} does not forward it"
        causes.append(f"no request carried header {header.name} ({rule}){sent}")
    if plan.method:
        causes.append(f"the traffic's method is not {plan.method} (method mismatch)")
    causes.append(f"the traffic's path is not {plan.api} (path mismatch)")
    return causes
