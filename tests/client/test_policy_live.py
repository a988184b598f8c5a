"""Policy mode streams what it observes while the fault runs: partial observations about every second."""

from __future__ import annotations

import pytest

from client import ExecutorClientConfig, HttpExecutorClient, RawObservation
from executor import EmbeddedExecutor
from tests.plans import payment_delay


@pytest.mark.slow
@pytest.mark.parametrize("observer", ["collector", "probe"])
def test_policy_mode_reports_samples_while_the_fault_runs(executor: EmbeddedExecutor, observer: str) -> None:
    where = {"collector_url": executor.base_url} if observer == "collector" else {
        "probe_url": executor.proxy_url("payment")
    }  # fmt: skip
    config = ExecutorClientConfig(
        base_url=executor.base_url,
        api_mode="policy",
        policy_propagation_sec=0.0,
        poll_interval_sec=1.0,
        **where,
    )
    seen: list[RawObservation] = []
    with HttpExecutorClient(config) as client:
        final = client.apply_and_observe(
            payment_delay(duration_seconds=3), timeout_sec=30, on_progress=seen.append
        )
    partials = [o for o in seen if not o.final]
    # Before, the collector answered once at the end: nothing reached on_progress while the fault ran.
    counts = [len(o.samples) for o in partials]
    assert len(partials) >= 2 and counts[0] > 0, counts
    assert counts == sorted(counts) and counts[-1] < len(final.samples)
    assert all(o.apply_id == final.apply_id for o in partials)
