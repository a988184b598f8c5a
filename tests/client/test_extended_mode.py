"""Extended mode (family B): apply, poll, progress, samples, cancel, halting on early exit."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import httpx
import pytest

from client import (
    ApiMode,
    ExecutorCancelledError,
    ExecutorTimeoutError,
    FaultExecutionError,
    RawObservation,
)
from tests.client.conftest import FakeClock, Script, make_client, metrics_body
from tests.plans import payment_delay

PLAN = payment_delay(delay_seconds=2.5, duration_seconds=3, start_delay_ms=200, method="POST")
OK_APPLY = httpx.Response(200, json={"apply_id": "fault-1", "status": "applied"})
STATUS = "/v1/faults/fault-1/status"
METRICS = "/v1/faults/fault-1/metrics"


def _status(value: str) -> httpx.Response:
    return httpx.Response(200, json={"apply_id": "fault-1", "status": value, "progress_percent": 50})


def test_apply_sends_the_documented_body_with_integers(script: Script, clock: FakeClock) -> None:
    script.on("POST", "/v1/faults/apply", OK_APPLY)
    script.on("GET", STATUS, _status("completed"))
    script.on("GET", METRICS, httpx.Response(200, json=metrics_body(samples=True)))
    start = datetime(2026, 11, 27, 21, 0, 5, tzinfo=UTC)
    make_client(script, clock).apply_and_observe(PLAN, start_time=start, apply_key="k")
    body = json.loads(script.calls("POST", "/v1/faults/apply")[0].content)
    assert body == {
        "service": "payment",
        "api": "/api/v1/payment/process",
        "fault_type": "delay",
        "percentage": 50,
        "duration_seconds": 3,
        "start_delay_ms": 200,
        "method": "POST",
        "fault_config": {"delay_milliseconds": 2500},
        "start_time": "2026-11-27T21:00:05Z",
    }


def test_polls_until_completed_and_returns_final_metrics_with_samples(
    script: Script, clock: FakeClock
) -> None:
    script.on("POST", "/v1/faults/apply", OK_APPLY)
    script.on("GET", STATUS, _status("pending"), _status("running"), _status("running"), _status("completed"))
    script.on("GET", METRICS, httpx.Response(200, json=metrics_body(samples=True)))
    observation = make_client(script, clock, poll_interval_sec=1.0).apply_and_observe(PLAN)
    assert len(script.calls("GET", STATUS)) == 4
    assert clock.sleeps == [1.0, 1.0, 1.0]
    finals = script.calls("GET", METRICS)
    assert len(finals) == 1 and finals[0].url.params["include_samples"] == "true"
    assert observation.api_mode is ApiMode.EXTENDED and observation.final
    assert observation.metrics is not None and observation.metrics.request_count == 100
    assert len(observation.samples) == 2 and observation.samples[1].affected


def test_on_progress_gets_partials_and_its_errors_are_swallowed(script: Script, clock: FakeClock) -> None:
    script.on("POST", "/v1/faults/apply", OK_APPLY)
    script.on("GET", STATUS, _status("running"), _status("running"), _status("completed"))
    script.on("GET", METRICS, httpx.Response(200, json=metrics_body(final=False)))
    seen: list[RawObservation] = []

    def progress(observation: RawObservation) -> None:
        seen.append(observation)
        raise RuntimeError("dashboard bug")

    make_client(script, clock).apply_and_observe(PLAN, on_progress=progress)
    assert len(seen) == 2 and not seen[0].final
    partial_calls = script.calls("GET", METRICS)[:2]
    assert all("include_samples" not in call.url.params for call in partial_calls)


def test_failed_fault_raises_fault_execution_error(script: Script, clock: FakeClock) -> None:
    script.on("POST", "/v1/faults/apply", OK_APPLY)
    script.on("GET", STATUS, _status("failed"))
    with pytest.raises(FaultExecutionError, match="fault-1"):
        make_client(script, clock).apply_and_observe(PLAN)


def test_fault_cancelled_elsewhere_raises_with_partial(script: Script, clock: FakeClock) -> None:
    script.on("POST", "/v1/faults/apply", OK_APPLY)
    script.on("GET", STATUS, _status("cancelled"))
    script.on("GET", METRICS, httpx.Response(200, json=metrics_body()))
    with pytest.raises(ExecutorCancelledError) as info:
        make_client(script, clock).apply_and_observe(PLAN)
    assert info.value.partial is not None and info.value.partial.metrics is not None
    assert script.calls("DELETE", "/v1/faults/fault-1") == []


def test_cancel_halts_the_fault_and_carries_the_partial(script: Script, clock: FakeClock) -> None:
    cancel = threading.Event()
    polls = {"n": 0}

    def status(request: httpx.Request) -> httpx.Response:
        polls["n"] += 1
        if polls["n"] == 2:
            cancel.set()  # another thread presses "halt"
        return _status("running")

    script.on("POST", "/v1/faults/apply", OK_APPLY)
    script.on("GET", STATUS, status)
    script.on("GET", METRICS, httpx.Response(200, json=metrics_body(final=False)))
    script.on("DELETE", "/v1/faults/fault-1", httpx.Response(200, json={"status": "cancelled"}))
    with pytest.raises(ExecutorCancelledError) as info:
        make_client(script, clock).apply_and_observe(PLAN, cancel=cancel, on_progress=lambda o: None)
    assert len(script.calls("DELETE", "/v1/faults/fault-1")) == 1
    assert info.value.partial is not None


def test_deadline_during_polling_halts_and_raises_timeout(script: Script, clock: FakeClock) -> None:
    script.on("POST", "/v1/faults/apply", OK_APPLY)
    script.on("GET", STATUS, _status("running"))
    script.on("DELETE", "/v1/faults/fault-1", httpx.Response(200, json={"status": "cancelled"}))
    client = make_client(script, clock, poll_interval_sec=1.0)
    started = clock()
    with pytest.raises(ExecutorTimeoutError):
        client.apply_and_observe(PLAN, timeout_sec=4.5)
    assert clock() - started <= 4.5 + client.config.connection_timeout_sec
    assert len(script.calls("DELETE", "/v1/faults/fault-1")) == 1


def test_default_deadline_covers_the_fault_duration(script: Script, clock: FakeClock) -> None:
    script.on("POST", "/v1/faults/apply", OK_APPLY)
    script.on("GET", STATUS, *([_status("running")] * 40), _status("completed"))
    script.on("GET", METRICS, httpx.Response(200, json=metrics_body()))
    long_plan = PLAN.model_copy(update={"duration_seconds": 35})
    make_client(script, clock, poll_interval_sec=1.0).apply_and_observe(long_plan)
    assert len(script.calls("GET", STATUS)) == 41


def test_status_poll_errors_are_retried(script: Script, clock: FakeClock) -> None:
    script.on("POST", "/v1/faults/apply", OK_APPLY)
    script.on("GET", STATUS, httpx.Response(503), _status("completed"))
    script.on("GET", METRICS, httpx.Response(200, json=metrics_body()))
    assert make_client(script, clock).apply_and_observe(PLAN).apply_id == "fault-1"


def test_unknown_status_is_a_clear_error(script: Script, clock: FakeClock) -> None:
    script.on("POST", "/v1/faults/apply", OK_APPLY)
    script.on("GET", STATUS, _status("exploded"))
    script.on("DELETE", "/v1/faults/fault-1", httpx.Response(404, json={"error": "not_found"}))
    with pytest.raises(Exception, match="unknown fault status 'exploded'"):
        make_client(script, clock).apply_and_observe(PLAN)
