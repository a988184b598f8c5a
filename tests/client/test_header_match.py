"""A plan's header match limits the blast radius end to end, in every api mode that sends it."""

from __future__ import annotations

import pytest

from client import ExecutorClientConfig, FaultPlan, FaultType, HttpExecutorClient
from client.models import HeaderMatch
from executor import EmbeddedExecutor


def _plan(header: dict[str, str]) -> FaultPlan:
    return FaultPlan(
        service="inventory",
        api="/api/v1/inventory/check",
        fault_type=FaultType.ABORT,
        abort_http_status=503,
        percentage=100,
        duration_seconds=1,
        headers=[header],
    )


@pytest.mark.slow
@pytest.mark.parametrize("api_mode", ["extended", "direct"])
def test_a_header_no_request_carries_hits_nothing(executor: EmbeddedExecutor, api_mode: str) -> None:
    # The load driver sends no x-user-id: a 100 % abort matching x-user-id: 42 must touch no request
    # (before, families B and C dropped the header match and aborted every request).
    config = ExecutorClientConfig(base_url=executor.base_url, api_mode=api_mode, poll_interval_sec=0.1)
    with HttpExecutorClient(config) as client:
        observation = client.apply_and_observe(_plan({"name": "x-user-id", "exact": "42"}), timeout_sec=30)
    assert observation.metrics is not None and observation.metrics.request_count > 0
    assert observation.metrics.affected_count == 0 and observation.error_rate == 0.0


def test_an_empty_exact_value_goes_on_the_wire_as_given() -> None:
    # An empty value is a real matcher (the header present and empty), not "no matcher": it must not vanish.
    assert HeaderMatch(name="x-canary", exact="").to_wire() == {"name": "x-canary", "exact": ""}
