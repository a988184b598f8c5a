"""Direct mode (family C): one synchronous apply whose answer carries the metrics."""

from __future__ import annotations

import json

import httpx
import pytest

from client import ApiMode, ExecutorCancelledError, FaultPlan
from tests.plans import payment_abort

PLAN = payment_abort(api="/pay", percentage=30, duration_seconds=2)
C_BODY = {
    "apply_id": "fault-9",
    "status": "completed",
    "metrics": {
        "total_request_count": 523,
        "blocked_request_count": 261,
        "success_rate": 0.48,
        "error_rate": 0.52,
        "avg_latency_ms": 3.2,
        "p95_latency_ms": 5.1,
        "p99_latency_ms": 6.5,
        "max_latency_ms": 8.0,
    },
    "samples": [[1.0, 3.0, 503, 1]],
    "trace_data": {"traceID": "x", "spans": []},
    "logs": ["done"],
}

from tests.client.conftest import FakeClock, Script, make_client  # noqa: E402


def test_direct_apply_normalises_metrics_and_asks_for_samples(script: Script, clock: FakeClock) -> None:
    script.on("POST", "/api/v1/faults/apply", httpx.Response(200, json=C_BODY))
    observation = make_client(script, clock, api_mode="direct").apply_and_observe(PLAN, apply_key="k1")
    post = script.calls("POST", "/api/v1/faults/apply")[0]
    assert post.url.params["include_samples"] == "true" and post.headers["Idempotency-Key"] == "k1"
    assert json.loads(post.content)["fault_config"] == {"http_status_code": 503}
    assert observation.api_mode is ApiMode.DIRECT
    assert observation.metrics is not None and observation.metrics.affected_count == 261
    assert observation.samples[0].status_code == 503 and observation.error_rate == 0.52
    assert script.calls("GET", "/health")  # the seed's direct health path


def test_direct_read_timeout_is_the_whole_remaining_deadline(script: Script, clock: FakeClock) -> None:
    seen = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"]["read"])
        return httpx.Response(200, json=C_BODY)

    script.on("POST", "/api/v1/faults/apply", answer)
    make_client(script, clock, api_mode="direct", default_timeout_sec=5).apply_and_observe(
        PLAN, timeout_sec=120
    )
    assert seen == [120.0]


def test_direct_cancelled_answer_raises_with_partial(script: Script, clock: FakeClock) -> None:
    script.on("POST", "/api/v1/faults/apply", httpx.Response(200, json={**C_BODY, "status": "cancelled"}))
    with pytest.raises(ExecutorCancelledError) as info:
        make_client(script, clock, api_mode="direct").apply_and_observe(PLAN)
    assert info.value.partial is not None and info.value.partial.status == "cancelled"


def test_error_injection_body(script: Script, clock: FakeClock) -> None:
    script.on("POST", "/api/v1/faults/apply", httpx.Response(200, json=C_BODY))
    plan = FaultPlan(service="s", api="/a", fault_type="error_injection", percentage=20, error_message="boom")
    make_client(script, clock, api_mode="direct").apply_and_observe(plan)
    body = json.loads(script.calls("POST", "/api/v1/faults/apply")[0].content)
    assert body["fault_config"] == {"error_percentage": 20, "error_message": "boom"}


def test_a_direct_answer_without_p50_gets_it_from_its_samples(script: Script, clock: FakeClock) -> None:
    # Family C's metrics have no p50: a finished direct-mode run showed p50 "-" beside its p95.
    samples = [[float(i), latency, 200, 0] for i, latency in enumerate([4.0, 1.0, 3.0, 2.0, 50.0])]
    script.on("POST", "/api/v1/faults/apply", httpx.Response(200, json={**C_BODY, "samples": samples}))
    observation = make_client(script, clock, api_mode="direct").apply_and_observe(PLAN)
    assert observation.metrics is not None and observation.metrics.p50_latency_ms == 3.0
    assert observation.metrics.p95_latency_ms == 5.1  # the Executor's own measures stay as it sent them
    body_with_p50 = {**C_BODY, "metrics": {**C_BODY["metrics"], "p50_latency_ms": 7.0}}  # type: ignore[dict-item]
    script.on("POST", "/api/v1/faults/apply", httpx.Response(200, json=body_with_p50))
    again = make_client(script, clock, api_mode="direct").apply_and_observe(PLAN)
    assert again.metrics is not None and again.metrics.p50_latency_ms == 7.0
