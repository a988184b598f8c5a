"""Families B and C, /collect, discovery, health and Prometheus metrics: every status and body."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import httpx
import pytest

from executor import EmbeddedExecutor, ExecutorSettings
from tests.executor.helpers import JSON_TYPE, REQUESTS, fault_body, wait_final
from tests.executor.upstream import CountingUpstream
from tests.executor.virtual_clock import VirtualClock, virtual_executor
from tests.waiting import wait_until

_body = fault_body


@pytest.fixture
def upstream(counting: CountingUpstream) -> CountingUpstream:
    return counting


@pytest.fixture
def ex(virtual_api_executor: EmbeddedExecutor) -> EmbeddedExecutor:
    """The executor fronting ``upstream`` as ``api``, on virtual time: it stands still unless let run."""
    return virtual_api_executor


def test_extended_apply_runs_load_and_reports_final_metrics(
    http: httpx.Client, ex: EmbeddedExecutor, virtual_clock: VirtualClock
) -> None:
    response = http.post(ex.base_url + "/v1/faults/apply", json=_body(), headers={"Idempotency-Key": "k-1"})
    assert response.status_code == 200
    applied = response.json()
    assert list(applied) == ["apply_id", "status", "scheduled_start_time", "scheduled_end_time"]
    assert applied["status"] == "applied"
    assert applied["apply_id"].startswith("fault-")
    apply_id = applied["apply_id"]
    status = http.get(ex.base_url + f"/v1/faults/{apply_id}/status").json()
    assert list(status) == [
        "apply_id",
        "status",
        "start_time",
        "end_time",
        "progress_percent",
        "error_message",
    ]
    assert status["status"] in ("pending", "running")
    metrics = wait_final(http, ex, apply_id, virtual_clock)
    assert set(metrics) == {
        "apply_id",
        "final",
        "status_code",
        "latency_ms",
        "error_rate",
        "metrics",
        "timeline",
        "trace_data",
        "logs",
        "target",
    }
    assert metrics["target"] == {
        "service": "api",
        "api": "/work",
        "request_count": REQUESTS,
        "affected_count": REQUESTS,
    }
    assert metrics["metrics"]["request_count"] == REQUESTS
    assert metrics["metrics"]["affected_count"] == REQUESTS
    assert metrics["status_code"] == 503
    assert metrics["error_rate"] == 1.0
    assert set(metrics["timeline"][0]) == {
        "t_s",
        "request_count",
        "affected_count",
        "error_count",
        "avg_latency_ms",
        "p50_latency_ms",
        "p95_latency_ms",
        "p99_latency_ms",
    }
    assert metrics["trace_data"]["spans"][0]["tags"]["fault.injected"] is True
    assert metrics["logs"]
    assert http.get(ex.base_url + f"/v1/faults/{apply_id}/status").json()["status"] == "completed"
    with_samples = http.get(ex.base_url + f"/v1/faults/{apply_id}/metrics?include_samples=true").json()
    assert len(with_samples["samples"]) == REQUESTS
    offsets = [row[0] for row in with_samples["samples"]]
    assert offsets == sorted(offsets)
    assert {row[2] for row in with_samples["samples"]} == {503}
    assert {row[3] for row in with_samples["samples"]} == {1}


def test_idempotency_key_replays_the_same_fault_and_refuses_a_different_body(
    http: httpx.Client, ex: EmbeddedExecutor
) -> None:
    headers = {"Idempotency-Key": "same"}
    first = http.post(ex.base_url + "/v1/faults/apply", json=_body(duration_seconds=30), headers=headers)
    again = http.post(ex.base_url + "/v1/faults/apply", json=_body(duration_seconds=30), headers=headers)
    assert again.status_code == 200
    assert again.json() == first.json()
    (listed,) = http.get(ex.base_url + "/v1/faults").json()["faults"]
    assert listed["idempotency_key"] == "same"
    conflict = http.post(ex.base_url + "/v1/faults/apply", json=_body(percentage=5), headers=headers)
    assert conflict.status_code == 409
    assert conflict.json()["error"] == "idempotency_key_reused"
    long_key = http.post(
        ex.base_url + "/v1/faults/apply", json=_body(), headers={"Idempotency-Key": "k" * 256}
    )
    assert long_key.status_code == 400
    http.delete(ex.base_url + f"/v1/faults/{first.json()['apply_id']}")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"service": 5}, "service"),
        ({"api": "no-slash"}, "api"),
        ({"fault_type": "melt"}, "fault_type"),
        ({"percentage": 50.0}, "percentage"),
        ({"percentage": 101}, "percentage"),
        ({"percentage": True}, "percentage"),
        ({"duration_seconds": 0}, "duration_seconds"),
        ({"method": "FETCH"}, "method"),
        ({"start_time": "tomorrow"}, "start_time"),
        ({"start_delay_ms": -1}, "start_delay_ms"),
        ({"fault_config": {}}, "fault_config.http_status_code"),
        ({"fault_config": []}, "fault_config"),
        (
            {"fault_type": "delay", "fault_config": {"delay_milliseconds": "5"}},
            "fault_config.delay_milliseconds",
        ),
        ({"load": {"rate_rps": 0}}, "load.rate_rps"),
        ({"load": {"concurrency": 0}}, "load.concurrency"),
    ],
)
def test_invalid_apply_bodies_are_400_naming_the_field(
    http: httpx.Client, ex: EmbeddedExecutor, overrides: dict[str, Any], field: str
) -> None:
    for path in ("/v1/faults/apply", "/api/v1/faults/apply"):
        response = http.post(ex.base_url + path, json=_body(**overrides))
        assert response.status_code == 400
        body = response.json()
        assert body["error"] == "invalid_input"
        assert body["details"] == {"field": field}
        assert body["message"]


def test_malformed_unknown_and_oversized_applies(http: httpx.Client, ex: EmbeddedExecutor) -> None:
    malformed = http.post(ex.base_url + "/v1/faults/apply", content=b'{"service": ', headers=JSON_TYPE)
    assert malformed.status_code == 400
    assert "malformed JSON" in malformed.json()["message"]
    not_object = http.post(ex.base_url + "/v1/faults/apply", json=[1])
    assert not_object.json()["details"] == {"field": "body"}
    unknown = http.post(ex.base_url + "/v1/faults/apply", json=_body(service="ghost"))
    assert unknown.status_code == 404
    assert "ghost" in unknown.json()["message"]
    huge = http.post(ex.base_url + "/v1/faults/apply", content=b"x" * (1024 * 1024 + 1), headers=JSON_TYPE)
    assert huge.status_code == 413
    assert huge.json()["error"] == "request_too_large"
    assert http.get(ex.base_url + "/v1/faults").json() == {"faults": []}


def test_unknown_apply_ids_are_404(http: httpx.Client, ex: EmbeddedExecutor) -> None:
    for method, path in (("GET", "/status"), ("GET", "/metrics"), ("DELETE", "")):
        response = http.request(method, ex.base_url + f"/v1/faults/fault-nope{path}")
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"


def test_cancel_halts_a_fault_at_once_and_lists_it(
    http: httpx.Client, ex: EmbeddedExecutor, virtual_clock: VirtualClock
) -> None:
    apply_id = http.post(ex.base_url + "/v1/faults/apply", json=_body(duration_seconds=600)).json()[
        "apply_id"
    ]
    assert http.get(ex.proxy_url("api") + "/work").status_code == 503
    cancelled = http.delete(ex.base_url + f"/v1/faults/{apply_id}")
    assert cancelled.json() == {"apply_id": apply_id, "status": "cancelled"}
    assert http.get(ex.proxy_url("api") + "/work").status_code == 200
    assert wait_final(http, ex, apply_id, virtual_clock)["final"] is True
    (listed,) = http.get(ex.base_url + "/v1/faults").json()["faults"]
    assert listed["apply_id"] == apply_id
    assert listed["status"] == "cancelled"
    assert listed["service"] == "api" and listed["fault_type"] == "abort"
    assert listed["idempotency_key"] is None


def test_fault_scheduled_in_the_future_is_pending(http: httpx.Client, ex: EmbeddedExecutor) -> None:
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    apply_id = http.post(ex.base_url + "/v1/faults/apply", json=_body(start_time=start)).json()["apply_id"]
    assert http.get(ex.base_url + f"/v1/faults/{apply_id}/status").json()["status"] == "pending"
    assert http.get(ex.proxy_url("api") + "/work").status_code == 200
    http.delete(ex.base_url + f"/v1/faults/{apply_id}")


def test_fault_ends_by_itself_at_its_end_time(
    http: httpx.Client, ex: EmbeddedExecutor, virtual_clock: VirtualClock
) -> None:
    apply_id = http.post(ex.base_url + "/v1/faults/apply", json=_body(load={"rate_rps": 2})).json()[
        "apply_id"
    ]
    wait_final(http, ex, apply_id, virtual_clock)
    assert http.get(ex.base_url + f"/v1/faults/{apply_id}/status").json()["progress_percent"] == 100.0
    assert http.get(ex.proxy_url("api") + "/work").status_code == 200


def test_direct_apply_returns_completed_metrics(
    http: httpx.Client, ex: EmbeddedExecutor, virtual_clock: VirtualClock
) -> None:
    with virtual_clock.running():
        response = http.post(
            ex.base_url + "/api/v1/faults/apply?include_samples=true", json=_body(percentage=50)
        )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "completed"
    assert list(body["metrics"]) == [
        "total_request_count",
        "blocked_request_count",
        "success_rate",
        "error_rate",
        "avg_latency_ms",
        "p95_latency_ms",
        "p99_latency_ms",
        "max_latency_ms",
    ]
    assert body["metrics"]["total_request_count"] == REQUESTS
    assert body["metrics"]["blocked_request_count"] == sum(row[3] for row in body["samples"])
    twin = random.Random(3)  # the executor's seed; only the proxy draws from it
    assert body["metrics"]["blocked_request_count"] == sum(twin.random() < 0.5 for _ in range(REQUESTS))
    assert body["metrics"]["success_rate"] == pytest.approx(
        1 - body["metrics"]["blocked_request_count"] / REQUESTS
    )
    assert "traceID" in body["trace_data"] and body["logs"]
    with virtual_clock.running():
        plain = http.post(ex.base_url + "/api/v1/faults/apply", json=_body(load={"rate_rps": 5})).json()
    assert "samples" not in plain


def test_direct_apply_can_be_cancelled_from_another_connection(
    http: httpx.Client, ex: EmbeddedExecutor, virtual_clock: VirtualClock
) -> None:
    results: list[httpx.Response] = []
    key = {"Idempotency-Key": "direct-1"}
    caller = threading.Thread(
        target=lambda: results.append(
            http.post(ex.base_url + "/api/v1/faults/apply", json=_body(duration_seconds=600), headers=key)
        )
    )
    caller.start()
    faults: list[dict[str, Any]] = wait_until(
        lambda: http.get(ex.base_url + "/v1/faults").json()["faults"], interval=0.01, what="the fault"
    )
    metrics_url = ex.base_url + f"/v1/faults/{faults[0]['apply_id']}/metrics"
    wait_until(
        lambda: http.get(metrics_url).json()["metrics"]["request_count"], interval=0.02, what="a request"
    )
    http.delete(ex.base_url + f"/v1/faults/{faults[0]['apply_id']}")
    with virtual_clock.running():  # the halted load stops at its next tick
        caller.join(timeout=30)
    assert results[0].status_code == 200
    assert results[0].json()["status"] == "cancelled"
    assert results[0].json()["metrics"]["total_request_count"] >= 1
    replay = http.post(ex.base_url + "/api/v1/faults/apply", json=_body(duration_seconds=600), headers=key)
    assert replay.json()["apply_id"] == results[0].json()["apply_id"]


def test_collect_probes_through_the_proxy(
    http: httpx.Client, ex: EmbeddedExecutor, upstream: CountingUpstream, virtual_clock: VirtualClock
) -> None:
    with virtual_clock.running():
        body = http.get(
            ex.base_url + "/collect?service=api&api=/probe&duration_sec=1&include_samples=1"
        ).json()
    assert body["final"] is True
    assert body["metrics"]["request_count"] == REQUESTS
    assert len(body["samples"]) == REQUESTS
    assert upstream.hits.count(("GET", "/probe")) == REQUESTS
    assert http.get(ex.base_url + "/collect?service=ghost&api=/x&duration_sec=1").status_code == 404
    bad = http.get(ex.base_url + "/collect?service=api&api=/x&duration_sec=abc")
    assert bad.status_code == 400 and bad.json()["details"] == {"field": "duration_sec"}
    assert http.get(ex.base_url + "/collect?api=/x").json()["details"] == {"field": "service"}


def test_health_ready_services_and_prometheus(http: httpx.Client, demo_executor: EmbeddedExecutor) -> None:
    base = demo_executor.base_url
    assert http.get(base + "/health").json() == {"status": "healthy"}
    assert http.get(base + "/v1/health").json() == {"status": "healthy"}
    assert http.get(base + "/v1/ready").json() == {"status": "ready", "storage": "memory"}
    services = http.get(base + "/v1/services").json()["services"]
    assert [item["name"] for item in services] == ["gateway", "orders", "payment", "inventory"]
    payment = services[2]
    assert set(payment) == {"name", "upstream", "proxy_url", "apis"}
    assert payment["apis"] == [{"method": "POST", "path": "/api/v1/payment/process"}]
    assert payment["proxy_url"] == demo_executor.proxy_url("payment")
    direct = http.post(payment["proxy_url"] + payment["apis"][0]["path"], json={})
    assert direct.status_code in (200, 500)
    text = http.get(base + "/metrics")
    assert text.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert 'boifi_executor_proxied_requests_total{service="payment"} 1' in text.text
    for name in ("injected_delays_total", "injected_aborts_total", "injected_errors_total", "active_faults"):
        assert f"# TYPE boifi_executor_{name}" in text.text


def test_requests_a_fault_holds_at_its_end_keep_their_whole_delay(
    http: httpx.Client, ex: EmbeddedExecutor, virtual_clock: VirtualClock
) -> None:
    body = _body(fault_type="delay", fault_config={"delay_milliseconds": 400})
    apply_id = http.post(ex.base_url + "/v1/faults/apply", json=body).json()["apply_id"]
    metrics = wait_final(http, ex, apply_id, virtual_clock)
    assert metrics["metrics"]["request_count"] == metrics["metrics"]["affected_count"] == REQUESTS
    samples = http.get(ex.base_url + f"/v1/faults/{apply_id}/metrics?include_samples=true").json()["samples"]
    # the last four were sent within the fault's last 400 ms: they were not cut short when it ended
    assert min(latency_ms for _offset, latency_ms, _status, _affected in samples) >= 400
    assert http.get(ex.base_url + f"/v1/faults/{apply_id}/status").json()["status"] == "completed"


def test_requests_held_past_the_end_grace_are_released(
    http: httpx.Client, upstream: CountingUpstream, virtual_clock: VirtualClock
) -> None:
    settings = ExecutorSettings(demo=False, seed=3, services={"api": upstream.url}, end_grace_s=0.3)
    with virtual_executor(settings, virtual_clock) as ex:
        body = _body(fault_type="delay", fault_config={"delay_milliseconds": 600_000}, load={"rate_rps": 4})
        apply_id = http.post(ex.base_url + "/v1/faults/apply", json=body).json()["apply_id"]
        metrics = wait_final(http, ex, apply_id, virtual_clock)
        sent = metrics["metrics"]["request_count"]
        assert 1 <= sent <= 4  # 4 req/s for 1 s; a loaded machine may start the last one after the end
        # every request was measured; those the fault held (all but one that a loaded machine may start
        # after the end) were released after the grace instead of waiting out their 600 s delay
        assert sent - 1 <= metrics["metrics"]["affected_count"] <= sent
        assert metrics["metrics"]["affected_count"] >= 1
        assert metrics["metrics"]["max_latency_ms"] < 10_000
        assert metrics["status_code"] == 200
        assert http.get(ex.base_url + f"/v1/faults/{apply_id}/status").json()["status"] == "completed"
        assert http.delete(ex.base_url + f"/v1/faults/{apply_id}").json()["status"] == "completed"


def test_cancelling_in_the_end_grace_releases_at_once_and_keeps_completed(
    http: httpx.Client, ex: EmbeddedExecutor, virtual_clock: VirtualClock
) -> None:
    body = _body(fault_type="delay", fault_config={"delay_milliseconds": 600_000}, load={"rate_rps": 4})
    apply_id = http.post(ex.base_url + "/v1/faults/apply", json=body).json()["apply_id"]
    end = http.get(ex.base_url + f"/v1/faults/{apply_id}/status").json()["end_time"]
    virtual_clock.advance(1.0)  # to the fault's end, not further: its grace has just begun
    assert http.get(ex.base_url + f"/v1/faults/{apply_id}/status").json()["progress_percent"] == 100
    assert not http.get(ex.base_url + "/v1/faults").json()["faults"][0]["active"]  # past its end: 10 s grace
    assert http.delete(ex.base_url + f"/v1/faults/{apply_id}").status_code == 200
    metrics = wait_final(http, ex, apply_id)  # time stands still: long before the grace runs out
    assert metrics["metrics"]["max_latency_ms"] < 10_000
    status = http.get(ex.base_url + f"/v1/faults/{apply_id}/status").json()
    assert (status["status"], status["end_time"]) == ("completed", end)
