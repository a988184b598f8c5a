"""The policy-mode probe and the per-second summaries it builds."""

from __future__ import annotations

import threading

import httpx
import pytest

from client import ExecutorCancelledError, RequestSample
from client.probe import Probe, ProbeSettings
from client.retry import Deadline
from client.summaries import is_error, summarise, timeline
from tests.client.conftest import FakeClock, Script, make_client, metrics_body


def test_probe_sends_at_the_configured_rate_for_the_duration(clock: FakeClock) -> None:
    seen: list[httpx.Request] = []

    def target(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    probe = Probe(
        ProbeSettings(url="http://t.test/x", rate_rps=25, concurrency=4),
        transport=httpx.MockTransport(target),
        clock=clock,
        sleep=clock.sleep,
    )
    samples = probe.run(2.0, deadline=Deadline.after(10, clock))
    assert len(seen) == 50 and len(samples) == 50
    assert samples[0].offset_ms == 0.0 and samples[-1].offset_ms == pytest.approx(1960.0)


def test_unreachable_target_is_recorded_as_status_zero_errors(clock: FakeClock) -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    probe = Probe(
        ProbeSettings(url="http://t.test/x", rate_rps=10),
        transport=httpx.MockTransport(refused),
        clock=clock,
        sleep=clock.sleep,
    )
    samples = probe.run(1.0, deadline=Deadline.after(10, clock))
    assert len(samples) == 10 and {s.status_code for s in samples} == {0}
    assert summarise(samples).error_rate == 1.0


def test_probe_cancel_raises(clock: FakeClock) -> None:
    cancel = threading.Event()
    cancel.set()
    probe = Probe(
        ProbeSettings(url="http://t.test/x"),
        transport=httpx.MockTransport(lambda r: httpx.Response(200)),
        clock=clock,
        sleep=clock.sleep,
    )
    with pytest.raises(ExecutorCancelledError):
        probe.run(5.0, deadline=Deadline.after(10, clock), cancel=cancel)


def test_summaries_and_timeline() -> None:
    samples = [
        RequestSample(0.0, 10.0, 200, False),
        RequestSample(500.0, 30.0, 503, True),
        RequestSample(999.0, 20.0, 200, True),
        RequestSample(1000.0, 40.0, 0, False),
        RequestSample(2500.0, 50.0, 404, False),
    ]
    # One rule everywhere: no answer or a status of 400 and above (the 404 counts, as the executor counts it).
    assert [is_error(s) for s in samples] == [False, True, False, True, True]
    metrics = summarise(samples)
    assert (metrics.request_count, metrics.affected_count) == (5, 2)
    assert metrics.error_rate == pytest.approx(0.6) and metrics.success_rate == pytest.approx(0.4)
    assert (
        metrics.avg_latency_ms == 30.0 and metrics.p50_latency_ms == 30.0 and metrics.max_latency_ms == 50.0
    )
    points = timeline(samples)
    assert [(p.t_s, p.request_count, p.affected_count, p.error_count) for p in points] == [
        (0, 3, 2, 1),
        (1, 1, 0, 1),
        (2, 1, 0, 1),
    ]
    # Linear interpolation between the closest ranks: 20 + (30 - 20) * 0.9.
    assert points[0].avg_latency_ms == 20.0 and points[0].p95_latency_ms == pytest.approx(29.0)
    assert summarise([]).request_count == 0 and timeline([]) == []


def test_generated_apply_key_is_shared_by_retries(script: Script, clock: FakeClock) -> None:
    script.on(
        "POST",
        "/v1/faults/apply",
        httpx.Response(502),
        httpx.Response(200, json={"apply_id": "fault-1", "status": "applied"}),
    )
    script.on("GET", "/v1/faults/fault-1/status", httpx.Response(200, json={"status": "completed"}))
    script.on("GET", "/v1/faults/fault-1/metrics", httpx.Response(200, json=metrics_body()))
    from client import FaultPlan

    plan = FaultPlan(service="s", api="/a", fault_type="abort", abort_http_status=500, percentage=5)
    make_client(script, clock).apply_and_observe(plan)
    keys = [r.headers["Idempotency-Key"] for r in script.calls("POST", "/v1/faults/apply")]
    assert len(keys) == 2 and keys[0] == keys[1] and len(keys[0]) == 32
    make_client(script, clock).apply_and_observe(plan)
    assert script.calls("POST", "/v1/faults/apply")[-1].headers["Idempotency-Key"] != keys[0]
