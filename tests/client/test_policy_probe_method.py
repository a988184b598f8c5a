"""Policy mode probes with the method the target accepts, and warns when the no-fault baseline fails."""

from __future__ import annotations

import httpx
import pytest

from client import ExecutorClientConfig, FaultPlan, HttpExecutorClient, RequestSample
from client.summaries import baseline_warning
from executor import EmbeddedExecutor
from tests.client.conftest import FakeClock, Script, make_client

README_PLAN = FaultPlan(  # client/README.md's example, shortened; no method
    service="payment",
    api="/api/v1/payment/process",
    fault_type="delay",
    delay_seconds=0.5,
    percentage=50,
    duration_seconds=3,
)


def _policy_client(executor: EmbeddedExecutor) -> HttpExecutorClient:
    return HttpExecutorClient(
        ExecutorClientConfig(
            base_url=executor.base_url,
            api_mode="policy",
            probe_url=executor.proxy_url("payment"),
            policy_propagation_sec=0.0,
            probe_rate_rps=20,
            probe_concurrency=16,
        )
    )


@pytest.mark.slow
def test_readme_plan_without_method_probes_with_post_and_sees_no_errors(executor: EmbeddedExecutor) -> None:
    """It probed with GET: the payment API answered 405 and the run reported ~51 % errors."""
    with _policy_client(executor) as client:
        observation = client.apply_and_observe(README_PLAN)
    assert observation.metrics is not None and observation.metrics.request_count >= 30
    assert observation.metrics.error_rate <= 0.02
    assert 0.3 <= observation.metrics.affected_count / observation.metrics.request_count <= 0.7
    assert {s.status_code for s in observation.samples} == {200}
    assert observation.warnings == []


@pytest.mark.slow
def test_a_plan_against_an_api_the_probe_cannot_reach_warns(executor: EmbeddedExecutor) -> None:
    plan = README_PLAN.model_copy(update={"api": "/api/v1/payment/nowhere", "duration_seconds": 2})
    with _policy_client(executor) as client:
        observation = client.apply_and_observe(plan)
    assert len(observation.warnings) == 1
    warning = observation.warnings[0]
    assert warning.startswith("the target answered errors for requests no fault touched: ")
    assert "status 404" in warning and warning in observation.logs


def test_the_plans_method_wins_over_discovery(script: Script, clock: FakeClock) -> None:
    seen: list[str] = []

    def probe(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        return httpx.Response(200)

    script.on("POST", "/v1/policies", httpx.Response(201, json={}))
    script.on("DELETE", "/v1/policies/boifi-k", httpx.Response(200, json={}))
    plan = README_PLAN.model_copy(update={"method": "PUT", "duration_seconds": 1})
    with make_client(script, clock, api_mode="policy", probe_url="http://target.test", probe=probe) as c:
        c.apply_and_observe(plan, apply_key="k")
    assert seen and set(seen) == {"PUT"} and not script.calls("GET", "/v1/services")
    assert script.calls("POST", "/v1/policies")[0].read().count(b'"method"') == 1


def test_baseline_warning_counts_only_untouched_errors() -> None:
    samples = [
        RequestSample(0, 1, 405, False),
        RequestSample(1, 1, 405, False),
        RequestSample(2, 1, 0, False),
        RequestSample(3, 1, 200, False),
        RequestSample(4, 1, 503, True),  # the fault's own abort
    ]
    assert baseline_warning(samples) == (
        "the target answered errors for requests no fault touched: 3 of 4 "
        "(status 405: 2, no answer: 1); check the plan's service, API and method"
    )
    assert baseline_warning([RequestSample(0, 1, 503, True)]) is None
