"""Policy mode (family A): the wire format, one name per apply, deletion in every outcome, the probe."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from client import (
    ApiMode,
    CircuitOpenError,
    ExecutorCancelledError,
    ExecutorResponseError,
    ExecutorServerError,
    ExecutorTimeoutError,
    FaultPlan,
    RawObservation,
    policy_name_for,
)
from client.protocols.policy import policy_body
from tests.client.conftest import FakeClock, Script, make_client, metrics_body
from tests.plans import payment_delay

PLAN = payment_delay(
    delay_seconds=0.25, duration_seconds=2, method="POST", headers=[{"name": "x-user-id", "exact": "42"}]
)
NAME = policy_name_for("key-1")
PROBE_URL = "http://target.test/s/payment"


def _stored(request: httpx.Request) -> httpx.Response:
    return httpx.Response(201, json=json.loads(request.content))


def _policy_script(script: Script) -> Script:
    script.on("POST", "/v1/policies", _stored)
    script.on(
        "DELETE", f"/v1/policies/{NAME}", httpx.Response(200, json={"message": "policy deleted successfully"})
    )
    return script


def _target(counter: list[httpx.Request]):
    def answer(request: httpx.Request) -> httpx.Response:
        counter.append(request)
        if len(counter) % 2:
            return httpx.Response(200, json={"ok": True}, headers={"x-fault-injected": "delay"})
        return httpx.Response(200, json={"ok": True})

    return answer


def test_policy_name_is_valid_and_stable() -> None:
    assert policy_name_for("key-1") == "boifi-key-1" == policy_name_for("key-1")
    weird = policy_name_for("a b/c:d" + "x" * 200)
    assert weird.startswith("boifi-") and len(weird) <= 63
    assert all(ch.isalnum() or ch in "-_" for ch in weird)


def test_policy_body_matches_family_a() -> None:
    body = policy_body(PLAN, "boifi-k")
    assert body == {
        "metadata": {"name": "boifi-k", "version": "1.0.0"},
        "spec": {
            "selector": {"service": "payment"},
            "rules": [
                {
                    "match": {
                        "path": {"exact": "/api/v1/payment/process"},
                        "method": {"exact": "POST"},
                        "headers": [{"name": "x-user-id", "exact": "42"}],
                    },
                    "fault": {
                        "percentage": 50,
                        "start_delay_ms": 0,
                        "duration_seconds": 2,
                        "delay": {"fixed_delay_ms": 250},
                    },
                }
            ],
        },
    }
    lasting = policy_body(PLAN, "boifi-k", propagation_sec=1.5)["spec"]["rules"][0]["fault"]
    assert lasting["duration_seconds"] == 4  # 2 s of fault after up to 2 s of propagation
    abort = FaultPlan(service="s", api="/a", fault_type="abort", abort_http_status=503, percentage=10)
    assert policy_body(abort, "n")["spec"]["rules"][0]["fault"]["abort"] == {"httpStatus": 503}
    error = FaultPlan(service="s", api="/a", fault_type="error_injection", percentage=10)
    assert policy_body(error, "n")["spec"]["rules"][0]["fault"]["abort"] == {"httpStatus": 500}


def test_probe_observes_and_the_policy_is_deleted(script: Script, clock: FakeClock) -> None:
    _policy_script(script)
    target: list[httpx.Request] = []
    client = make_client(
        script, clock, api_mode="policy", probe_url=PROBE_URL, probe_rate_rps=10, probe=_target(target)
    )
    progress: list[RawObservation] = []
    observation = client.apply_and_observe(PLAN, apply_key="key-1", on_progress=progress.append)
    assert len(target) == 20
    assert target[0].url == f"{PROBE_URL}/api/v1/payment/process" and target[0].method == "POST"
    assert target[0].headers["x-user-id"] == "42"
    assert observation.api_mode is ApiMode.POLICY and observation.apply_id == NAME
    assert observation.metrics is not None and observation.metrics.request_count == 20
    assert observation.metrics.affected_count == 10
    assert [p.t_s for p in observation.timeline] == [0, 1]
    assert len(observation.samples) == 20
    assert len(progress) == 1 and not progress[0].final
    assert len(script.calls("DELETE", f"/v1/policies/{NAME}")) == 1


def test_retried_post_reuses_one_policy_name(script: Script, clock: FakeClock) -> None:
    _policy_script(script).on("POST", "/v1/policies", httpx.Response(503), httpx.ReadTimeout("slow"), _stored)
    client = make_client(script, clock, api_mode="policy", probe_url=PROBE_URL, probe=_target([]))
    client.apply_and_observe(PLAN, apply_key="key-1")
    names = {json.loads(r.content)["metadata"]["name"] for r in script.calls("POST", "/v1/policies")}
    assert names == {NAME} and len(script.calls("POST", "/v1/policies")) == 3


def test_policy_is_deleted_when_observation_fails(script: Script, clock: FakeClock) -> None:
    _policy_script(script)
    script.on("GET", "/collect", httpx.Response(200, text="not json"))
    client = make_client(script, clock, api_mode="policy", collector_url="http://executor.test")
    with pytest.raises(ExecutorResponseError):
        client.apply_and_observe(PLAN, apply_key="key-1")
    assert len(script.calls("POST", "/v1/policies")) == 1
    assert len(script.calls("DELETE", f"/v1/policies/{NAME}")) == 1


def test_policy_mode_without_probe_or_collector_sends_nothing(script: Script, clock: FakeClock) -> None:
    _policy_script(script)
    client = make_client(script, clock, api_mode="policy")  # no probe_url, no collector
    with pytest.raises(ExecutorResponseError, match="probe_url"):
        client.apply_and_observe(PLAN, apply_key="key-1")
    assert script.calls("POST", "/v1/policies") == []
    assert script.calls("DELETE", f"/v1/policies/{NAME}") == []


def test_policy_is_deleted_when_the_post_fails(script: Script, clock: FakeClock) -> None:
    _policy_script(script).on("POST", "/v1/policies", httpx.Response(500))
    with pytest.raises(ExecutorServerError):
        make_client(script, clock, api_mode="policy", probe_url=PROBE_URL).apply_and_observe(
            PLAN, apply_key="key-1"
        )
    assert len(script.calls("DELETE", f"/v1/policies/{NAME}")) == 1


def test_policy_is_deleted_when_the_deadline_passes(script: Script, clock: FakeClock) -> None:
    _policy_script(script)
    client = make_client(
        script, clock, api_mode="policy", probe_url=PROBE_URL, probe=_target([]), policy_propagation_sec=10.0
    )
    with pytest.raises(ExecutorTimeoutError):
        client.apply_and_observe(PLAN, timeout_sec=3.0, apply_key="key-1")
    assert len(script.calls("DELETE", f"/v1/policies/{NAME}")) == 1


def test_policy_is_deleted_on_interrupt(script: Script, clock: FakeClock) -> None:
    _policy_script(script)

    def interrupted(observation: RawObservation) -> None:
        raise KeyboardInterrupt  # what Ctrl-C in the calling thread looks like

    client = make_client(script, clock, api_mode="policy", probe_url=PROBE_URL, probe=_target([]))
    with pytest.raises(KeyboardInterrupt):
        client.apply_and_observe(PLAN, apply_key="key-1", on_progress=interrupted)
    assert len(script.calls("DELETE", f"/v1/policies/{NAME}")) == 1


def test_cancel_deletes_the_policy_and_keeps_the_last_partial(script: Script, clock: FakeClock) -> None:
    _policy_script(script)
    cancel = threading.Event()
    seen: list[httpx.Request] = []

    def target(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 15:
            cancel.set()
        return httpx.Response(200)

    client = make_client(
        script, clock, api_mode="policy", probe_url=PROBE_URL, probe_rate_rps=10, probe=target
    )
    with pytest.raises(ExecutorCancelledError) as info:
        client.apply_and_observe(PLAN, apply_key="key-1", cancel=cancel)
    assert info.value.partial is not None and info.value.partial.metrics is not None
    assert (
        info.value.partial.metrics.request_count >= 15
    )  # everything the probe saw, not just the last second
    assert len(script.calls("DELETE", f"/v1/policies/{NAME}")) == 1


def test_delete_404_is_fine(script: Script, clock: FakeClock) -> None:
    _policy_script(script).on(
        "DELETE", f"/v1/policies/{NAME}", httpx.Response(404, json={"error": "not_found"})
    )
    client = make_client(script, clock, api_mode="policy", probe_url=PROBE_URL, probe=_target([]))
    assert client.apply_and_observe(PLAN, apply_key="key-1").final


def test_open_breaker_sends_nothing_not_even_the_delete(script: Script, clock: FakeClock) -> None:
    _policy_script(script)
    client = make_client(script, clock, api_mode="policy", probe_url=PROBE_URL)
    for _ in range(5):
        client.circuit_breaker.record_failure()
    with pytest.raises(CircuitOpenError):
        client.apply_and_observe(PLAN, apply_key="key-1")
    assert script.api_calls() == []


def test_collector_observes_through_get_collect(script: Script, clock: FakeClock) -> None:
    _policy_script(script)
    script.on("GET", "/collect", httpx.Response(200, json=metrics_body(samples=True)))
    client = make_client(script, clock, api_mode="policy", collector_url="http://executor.test")
    observation = client.apply_and_observe(PLAN, apply_key="key-1")
    params = script.calls("GET", "/collect")[0].url.params
    assert dict(params) == {
        "service": "payment",
        "api": "/api/v1/payment/process",
        "duration_sec": "2",
        "include_samples": "true",
    }
    assert observation.apply_id == NAME and len(observation.samples) == 2
    assert len(script.calls("DELETE", f"/v1/policies/{NAME}")) == 1


def test_scheduled_start_is_awaited_before_the_policy_is_posted(script: Script, clock: FakeClock) -> None:
    from datetime import UTC, datetime

    _policy_script(script)
    client = make_client(script, clock, api_mode="policy", probe_url=PROBE_URL, probe=_target([]))
    start = datetime(2026, 11, 27, 21, 0, 7, tzinfo=UTC)  # the fixed wall clock says 21:00:00
    client.apply_and_observe(PLAN, apply_key="key-1", start_time=start)
    assert clock.sleeps[0] == 7.0


def test_cancel_stops_waiting_for_a_long_collect(script: Script, clock: FakeClock) -> None:
    _policy_script(script)
    cancel = threading.Event()
    release = threading.Event()

    def slow_collect(request: httpx.Request) -> httpx.Response:
        cancel.set()
        release.wait(5)
        return httpx.Response(200, json=metrics_body())

    script.on("GET", "/collect", slow_collect)
    client = make_client(script, clock, api_mode="policy", collector_url="http://executor.test")
    try:
        with pytest.raises(ExecutorCancelledError):
            client.apply_and_observe(PLAN, apply_key="key-1", cancel=cancel)
        assert len(script.calls("DELETE", f"/v1/policies/{NAME}")) == 1
    finally:
        release.set()
