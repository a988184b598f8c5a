"""Events, metrics, health checks and the operations beside apply (halt, lists, preview)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import httpx
import pytest

from client import (
    BreakerState,
    CircuitOpenError,
    ClientEvent,
    EventKind,
    ExecutorConnectionError,
    ExecutorServerError,
    FaultPlan,
    PreparedRequest,
)
from tests.client.conftest import FakeClock, Script, make_client, metrics_body

PLAN = FaultPlan(
    service="payment", api="/pay", fault_type="delay", delay_seconds=1.0, percentage=50, duration_seconds=2
)


def _ok_extended(script: Script) -> Script:
    script.on(
        "POST", "/v1/faults/apply", httpx.Response(200, json={"apply_id": "fault-1", "status": "applied"})
    )
    script.on("GET", "/v1/faults/fault-1/status", httpx.Response(200, json={"status": "completed"}))
    script.on("GET", "/v1/faults/fault-1/metrics", httpx.Response(200, json=metrics_body()))
    return script


def test_every_step_reaches_listeners_as_a_typed_timestamped_event(script: Script, clock: FakeClock) -> None:
    _ok_extended(script).on(
        "POST",
        "/v1/faults/apply",
        httpx.Response(503),
        httpx.Response(200, json={"apply_id": "fault-1", "status": "applied"}),
    )
    client = make_client(script, clock, circuit_breaker_failure_threshold=1)
    events: list[ClientEvent] = []
    client.subscribe(events.append)
    with pytest.raises(CircuitOpenError):
        client.apply_and_observe(PLAN, apply_key="k")
    kinds = [(e.kind, e.operation) for e in events]
    assert kinds[:6] == [
        (EventKind.HEALTH_CHECK, "health"),
        (EventKind.ATTEMPT, "apply"),
        (EventKind.BREAKER_TRANSITION, "breaker"),
        (EventKind.RETRY, "apply"),
        (EventKind.REJECTED, "apply"),  # the second try met the open breaker: nothing was sent
        (EventKind.FAILURE, "apply"),
    ]
    retry = events[3]
    assert retry.delay_sec == 0.25 and retry.error_class == "ExecutorServerError" and retry.status_code == 503
    assert retry.apply_key == "k" and retry.attempt == 1
    assert events[2].old_state == "CLOSED" and events[2].new_state == "OPEN"
    assert events[4].attempt == 2 and events[4].error_class == "CircuitOpenError"
    assert events[5].error_class == "CircuitOpenError"  # the breaker opened after the first 503
    assert all(e.timestamp == datetime(2026, 11, 27, 21, 0, tzinfo=UTC) for e in events)
    assert events[0].healthy is True and events[0].latency_ms is not None
    assert events[5].to_dict()["kind"] == "failure"


def test_success_event_and_metrics_subscriber(script: Script, clock: FakeClock) -> None:
    _ok_extended(script).on(
        "POST",
        "/v1/faults/apply",
        httpx.ConnectError("refused"),
        httpx.Response(200, json={"apply_id": "fault-1", "status": "applied"}),
    )
    client = make_client(script, clock)
    events: list[ClientEvent] = []
    client.subscribe(events.append)
    client.apply_and_observe(PLAN)
    success = [e for e in events if e.kind is EventKind.SUCCESS and e.operation == "apply"]
    assert len(success) == 1 and success[0].attempt == 2 and success[0].status_code == 200
    snapshot = client.metrics.snapshot()
    assert snapshot["total_retries"] == 1 and snapshot["successful_retries"] == 1
    assert snapshot["total_requests"] == 3 and snapshot["successful_requests"] == 3  # apply, status, metrics
    assert client.metrics.get_success_rate() == 1.0 and client.metrics.get_retry_rate() == pytest.approx(
        1 / 3
    )


def test_failure_counts_by_error_class(script: Script, clock: FakeClock) -> None:
    script.on("POST", "/v1/faults/apply", httpx.ReadTimeout("slow"))
    client = make_client(script, clock, max_retries=1)
    with pytest.raises(TimeoutError):
        client.apply_and_observe(PLAN)
    assert client.metrics.timeout_errors == 1 and client.metrics.failed_requests == 1


def test_raising_listener_does_not_break_the_call_and_unsubscribe_works(
    script: Script, clock: FakeClock
) -> None:
    _ok_extended(script)
    client = make_client(script, clock)
    calls: list[ClientEvent] = []

    def bad(event: ClientEvent) -> None:
        calls.append(event)
        raise RuntimeError("listener bug")

    unsubscribe = client.subscribe(bad)
    assert client.apply_and_observe(PLAN).apply_id == "fault-1"
    seen = len(calls)
    assert seen > 0
    unsubscribe()
    client.apply_and_observe(PLAN)
    assert len(calls) == seen


def test_healthy_result_is_cached_for_the_interval(script: Script, clock: FakeClock) -> None:
    client = make_client(script, clock, health_check_interval_sec=60)
    assert client.check_health() and client.check_health()
    assert len(script.calls("GET", "/v1/health")) == 1
    clock.advance(61)
    assert client.check_health()
    assert len(script.calls("GET", "/v1/health")) == 2


def test_failed_health_check_fails_fast_but_does_not_lock_calls_out(script: Script, clock: FakeClock) -> None:
    _ok_extended(script).on(
        "GET", "/v1/health", httpx.ConnectError("down"), httpx.Response(200, json={"status": "healthy"})
    )
    client = make_client(script, clock)
    with pytest.raises(ExecutorConnectionError, match="unhealthy"):
        client.apply_and_observe(PLAN)
    assert script.calls("POST", "/v1/faults/apply") == []
    assert client.apply_and_observe(PLAN).apply_id == "fault-1"  # re-checked at once, not after 60 s


def test_unhealthy_status_is_false(script: Script, clock: FakeClock) -> None:
    script.on("GET", "/v1/health", httpx.Response(503, json={"status": "not_ready"}))
    assert make_client(script, clock).check_health() is False


def test_halt_is_mode_aware_and_404_means_false(script: Script, clock: FakeClock) -> None:
    script.on("DELETE", "/v1/faults/f1", httpx.Response(200, json={"status": "cancelled"}))
    script.on(
        "DELETE", "/v1/policies/boifi-x", httpx.Response(200, json={"message": "policy deleted successfully"})
    )
    assert make_client(script, clock).halt("f1") is True
    assert make_client(script, clock).halt("nope") is False
    assert make_client(script, clock, api_mode="policy").halt("boifi-x") is True
    assert make_client(script, clock, api_mode="direct").halt("f1") is True


def test_halt_goes_through_retries(script: Script, clock: FakeClock) -> None:
    script.on(
        "DELETE", "/v1/faults/f1", httpx.Response(502), httpx.Response(200, json={"status": "cancelled"})
    )
    assert make_client(script, clock).halt("f1") is True
    assert len(script.calls("DELETE", "/v1/faults/f1")) == 2
    script.on("DELETE", "/v1/faults/f2", httpx.Response(500))
    with pytest.raises(ExecutorServerError):
        make_client(script, clock).halt("f2")


def test_list_active_faults_in_extended_mode_keeps_pending_and_running(
    script: Script, clock: FakeClock
) -> None:
    faults = [
        {
            "apply_id": "a",
            "status": "running",
            "service": "payment",
            "api": "/pay",
            "fault_type": "delay",
            "percentage": 50,
        },
        {"apply_id": "b", "status": "completed", "service": "payment", "api": "/pay", "fault_type": "delay"},
        {"apply_id": "c", "status": "pending", "service": "orders", "api": "/o", "fault_type": "abort"},
    ]
    script.on("GET", "/v1/faults", httpx.Response(200, json={"faults": faults}))
    active = make_client(script, clock).list_active_faults()
    assert [(f.fault_id, f.status, f.percentage) for f in active] == [
        ("a", "running", 50),
        ("c", "pending", None),
    ]
    assert active[0].raw == faults[0]


def test_list_active_faults_in_policy_mode_lists_every_policy(script: Script, clock: FakeClock) -> None:
    policies = [
        {
            "metadata": {"name": "boifi-k1", "version": "1.0.0"},
            "spec": {
                "selector": {"service": "payment"},
                "rules": [
                    {
                        "match": {"path": {"exact": "/pay"}},
                        "fault": {"percentage": 50, "delay": {"fixed_delay_ms": 100}},
                    }
                ],
            },
        },
        {
            "metadata": {"name": "delay-policy", "version": ""},
            "spec": {
                "rules": [
                    {
                        "match": {"path": {"prefix": "/api"}},
                        "fault": {"percentage": 10, "abort": {"httpStatus": 503}},
                    }
                ]
            },
        },
    ]
    script.on("GET", "/v1/policies", httpx.Response(200, json={"policies": policies}))
    active = make_client(script, clock, api_mode="policy").list_active_faults()
    assert [(f.fault_id, f.service, f.api, f.fault_type, f.percentage) for f in active] == [
        ("boifi-k1", "payment", "/pay", "delay", 50),
        ("delay-policy", "*", "/api", "abort", 10),
    ]


def test_list_services_and_404_means_none(script: Script, clock: FakeClock) -> None:
    services = {
        "services": [
            {
                "name": "payment",
                "upstream": "http://127.0.0.1:1",
                "proxy_url": "http://p/s/payment",
                "apis": [{"method": "POST", "path": "/api/v1/payment/process"}],
            }
        ]
    }
    script.on("GET", "/v1/services", httpx.Response(200, json=services))
    [payment] = make_client(script, clock).list_services()
    assert payment.name == "payment" and payment.proxy_url == "http://p/s/payment"
    assert payment.apis[0].path == "/api/v1/payment/process"
    script.on("GET", "/v1/services", httpx.Response(404, text="404 page not found"))
    assert make_client(script, clock, api_mode="policy").list_services() == []


def test_preview_is_what_apply_sends_first_with_the_token_masked(script: Script, clock: FakeClock) -> None:
    _ok_extended(script)
    client = make_client(script, clock, auth_token="s3cret")
    preview = client.preview_request(PLAN, apply_key="k9")
    assert isinstance(preview, PreparedRequest)
    assert preview.headers["Authorization"] == "Bearer ***" and preview.headers["Idempotency-Key"] == "k9"
    client.apply_and_observe(PLAN, apply_key="k9")
    sent = script.calls("POST", "/v1/faults/apply")[0]
    assert (sent.method, str(sent.url)) == (preview.method, preview.url)
    import json

    assert json.loads(sent.content) == preview.json
    assert sent.headers["Authorization"] == "Bearer s3cret"
    policy = make_client(script, clock, api_mode="policy").preview_request(PLAN, apply_key="k9")
    assert policy.url.endswith("/v1/policies") and policy.json is not None
    assert policy.json["metadata"]["name"] == "boifi-k9"


def test_token_never_reaches_logs_or_events(
    script: Script, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    script.on("POST", "/v1/faults/apply", httpx.Response(503, json={"error": "x"}))
    client = make_client(script, clock, auth_token="s3cret-token")
    events: list[ClientEvent] = []
    client.subscribe(events.append)
    with caplog.at_level(logging.DEBUG), pytest.raises(ExecutorServerError):
        client.apply_and_observe(PLAN)
    assert "s3cret-token" not in caplog.text
    assert all("s3cret-token" not in str(e) for e in events)
    assert "s3cret-token" not in repr(client.config)


def test_plan_given_as_dict_is_validated_before_sending(script: Script, clock: FakeClock) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="percentage"):
        make_client(script, clock).apply_and_observe(
            {
                "service": "s",
                "api": "/a",
                "fault_type": "delay",  # type: ignore[arg-type]
                "delay_seconds": 1,
                "percentage": 500,
            }
        )
    assert script.requests == []


def test_metrics_latency_percentiles_and_breaker_counts() -> None:
    from client import ExecutorClientMetrics

    metrics = ExecutorClientMetrics()
    stamp = datetime(2026, 11, 27, tzinfo=UTC)
    for latency in range(1, 101):
        metrics(ClientEvent(EventKind.SUCCESS, stamp, "apply", attempt=1, latency_ms=float(latency)))
    metrics(
        ClientEvent(
            EventKind.BREAKER_TRANSITION,
            stamp,
            "breaker",
            old_state=BreakerState.CLOSED,
            new_state=BreakerState.OPEN,
        )
    )
    metrics(
        ClientEvent(
            EventKind.BREAKER_TRANSITION,
            stamp,
            "breaker",
            old_state=BreakerState.OPEN,
            new_state=BreakerState.HALF_OPEN,
        )
    )
    metrics(ClientEvent(EventKind.HEALTH_CHECK, stamp, "health", healthy=False))
    assert metrics.avg_latency_ms == 50.5
    # Linearly interpolated, as every percentile the console shows (client.measures).
    assert metrics.p95_latency_ms == pytest.approx(95.05) and metrics.p99_latency_ms == pytest.approx(99.01)
    assert (metrics.circuit_breaker_opens, metrics.circuit_breaker_half_opens) == (1, 1)
    assert (metrics.health_checks, metrics.failed_health_checks) == (1, 1)
    assert metrics.snapshot()["success_rate"] == 1.0
