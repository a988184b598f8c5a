"""Issue 16's acceptance on the demo shop, through the library: verdicts and scores seen at the gateway.

A payment delay just above the gateway's timeout sets off a retry storm: `deviated` at the entry point with a
high score. A total inventory abort, a larger fault, is masked by orders' cached stock: it holds and scores
far lower. Once a fault ends the entry point is back inside the hypothesis during recovery.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from client import ExecutorClientConfig, FaultPlan, HttpExecutorClient, RawObservation
from client.hypothesis import ExperimentVerdict, Hypothesis, Observe, Phase
from executor import EmbeddedExecutor
from executor.dataplane.demo_resilience import ShopResilience
from tests.executors import running_demo_executor
from tests.plans import payment_delay

GATEWAY = Observe(service="gateway", api="/api/v1/checkout", method="POST")
HYPOTHESIS = Hypothesis(max_p99_ms=500, max_error_rate_pct=5)  # room for a loaded machine
PHASES = {"baseline_seconds": 2, "duration_seconds": 2, "recovery_seconds": 4}
JUST_ABOVE_TIMEOUT_S = (ShopResilience().gateway_timeout_ms + 50) / 1000


@pytest.fixture(scope="module")
def shop() -> Iterator[EmbeddedExecutor]:
    with running_demo_executor(seed=11) as executor:
        yield executor


def _run(shop: EmbeddedExecutor, plan: FaultPlan) -> RawObservation:
    config = ExecutorClientConfig(base_url=shop.base_url, api_mode="extended", poll_interval_sec=0.2)
    with HttpExecutorClient(config) as client:
        return client.apply_and_observe(plan)


@pytest.mark.slow
def test_a_retry_storm_deviates_and_outscores_a_larger_masked_abort(shop: EmbeddedExecutor) -> None:
    storm = _run(
        shop,
        payment_delay(
            delay_seconds=JUST_ABOVE_TIMEOUT_S,
            percentage=100,
            observe=GATEWAY,
            hypothesis=HYPOTHESIS,
            **PHASES,
        ),
    )
    masked = _run(
        shop,
        FaultPlan(
            service="inventory",
            api="/api/v1/inventory/check",
            fault_type="abort",
            abort_http_status=503,
            percentage=100,
            observe=GATEWAY,
            hypothesis=HYPOTHESIS,
            **PHASES,
        ),
    )
    assert storm.verdict is ExperimentVerdict.DEVIATED, storm.deviations
    assert {d.measure for d in storm.deviations} >= {"error_rate_pct"}
    assert masked.verdict is ExperimentVerdict.HELD, masked.deviations
    assert storm.severity_score is not None and masked.severity_score is not None
    assert storm.severity_score >= masked.severity_score + 40  # clearly above, though the fault is smaller
    # The storm's target was the payment API; the abort hit every inventory call it saw, yet users saw none.
    assert storm.target is not None and storm.target.service == "payment"
    assert masked.target is not None and masked.target.affected_count == masked.target.request_count > 0
    for observation in (storm, masked):  # the fault ended: the entry point was back within recovery
        assert [p.phase for p in observation.phases] == [Phase.BASELINE, Phase.FAULT, Phase.RECOVERY]
        assert observation.time_to_recovery_s is not None
        recovery = observation.phase(Phase.RECOVERY)
        assert recovery is not None and recovery.sample_count > 0
