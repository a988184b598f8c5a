"""`boifi apply`'s check of a plan's targets against the services the Executor lists (`GET /v1/services`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from client import FaultPlan, ServiceInfo

__all__ = ["unknown_targets"]


def unknown_targets(plan: FaultPlan, services: Sequence[ServiceInfo]) -> list[str]:
    """Return one line per target of `plan` (its own and `observe`'s) that `services` does not list.

    An empty `services` (an Executor without the endpoint) knows nothing and so refuses nothing; a listed
    service without APIs accepts any API.

    Example: a plan on service ``pay`` against an Executor that lists only ``payment`` gives
    ``["plan: unknown service 'pay'; the Executor lists: payment"]``.
    """
    if not services:
        return []
    targets = [("plan", plan.service, plan.api)]
    if plan.observe is not None:
        targets.append(("observe", plan.observe.service, plan.observe.api))
    by_name = {service.name: service for service in services}
    problems = []
    for field, name, api in targets:
        service = by_name.get(name)
        if service is None:
            problems.append(f"{field}: unknown service {name!r}; the Executor lists: {', '.join(by_name)}")
        elif service.apis and api not in {listed.path for listed in service.apis}:
            apis = ", ".join(f"{listed.method} {listed.path}" for listed in service.apis)
            problems.append(f"{field}: service {name!r} has no API {api!r}; it lists: {apis}")
    return problems
