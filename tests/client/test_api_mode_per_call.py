"""One client per Executor URL speaks every API family per call, through one breaker, bus and pool."""

from __future__ import annotations

import pytest

from client import ApiMode, ClientEvent, EventKind, ExecutorClientConfig, HttpExecutorClient
from executor import EmbeddedExecutor
from tests.plans import payment_delay

PLAN = payment_delay(method="POST")


def _client(executor: EmbeddedExecutor) -> HttpExecutorClient:
    config = ExecutorClientConfig(
        base_url=executor.base_url,
        api_mode="extended",
        probe_url=executor.proxy_url("payment"),
        poll_interval_sec=0.1,
        policy_propagation_sec=0.0,
        probe_rate_rps=40,
    )
    return HttpExecutorClient(config)


@pytest.mark.slow
def test_one_client_applies_in_direct_and_policy_mode_per_call(executor: EmbeddedExecutor) -> None:
    events: list[ClientEvent] = []
    with _client(executor) as client:
        client.subscribe(events.append)
        breaker = client.circuit_breaker
        direct = client.apply_and_observe(PLAN, api_mode="direct", apply_key="per-call-direct")
        policy = client.apply_and_observe(PLAN, api_mode=ApiMode.POLICY, apply_key="per-call-policy")
        default = client.apply_and_observe(PLAN, apply_key="per-call-default")
        assert client.circuit_breaker is breaker and client.api_mode is ApiMode.EXTENDED
        assert client.list_active_faults(api_mode="policy") == []
        assert client.halt("no-such-policy", api_mode="policy") is False
    assert (direct.api_mode, policy.api_mode, default.api_mode) == (
        ApiMode.DIRECT,
        ApiMode.POLICY,
        ApiMode.EXTENDED,
    )
    assert direct.metrics is not None and direct.metrics.request_count > 0
    assert policy.metrics is not None and policy.metrics.request_count > 0
    assert policy.apply_id == client.policy_name_for("per-call-policy")
    applied = {e.apply_key for e in events if e.kind is EventKind.SUCCESS and e.operation == "apply"}
    assert {"per-call-direct", "per-call-policy", "per-call-default"} <= applied
    assert client.metrics.successful_requests >= 3


def test_preview_speaks_the_mode_of_the_call(executor: EmbeddedExecutor) -> None:
    with _client(executor) as client:
        assert client.preview_request(PLAN).url.endswith("/v1/faults/apply")
        assert "/api/v1/faults/apply" in client.preview_request(PLAN, api_mode="direct").url
        assert client.preview_request(PLAN, api_mode="policy").url.endswith("/v1/policies")
