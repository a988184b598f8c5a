"""The wire of an experiment against a scripted family-B server on 127.0.0.1: observe, /collect, target."""

from __future__ import annotations

from typing import Any

import pytest

from client import ExecutorClientConfig, HttpExecutorClient
from client.errors import ExecutorResponseError
from client.hypothesis import ExperimentVerdict, Hypothesis, Observe, Phase
from client.parsing import parse_target
from tests.client.servers import Reply, Seen, serve
from tests.plans import payment_delay

GATEWAY = Observe(service="gateway", api="/api/v1/checkout", method="post")
HEALTHY = Reply(200, {"status": "healthy"})
TARGET = {"service": "payment", "api": "/api/v1/payment/process", "request_count": 40, "affected_count": 20}


def _rows(count: int, latency_ms: float = 10.0, status: int = 200) -> list[list[Any]]:
    return [[i * 100.0, latency_ms, status, False] for i in range(count)]


def _body(rows: list[list[Any]], **extra: Any) -> dict[str, Any]:
    errors = sum(1 for r in rows if r[2] >= 400)
    return {
        "apply_id": "fault-9",
        "final": True,
        "metrics": {
            "request_count": len(rows),
            "affected_count": 0,
            "error_rate": errors / max(1, len(rows)),
        },
        "samples": rows,
        **extra,
    }


class Shop:
    """A family-B executor whose /collect answers the baseline first and then the recovery."""

    def __init__(self, *, recovery: Reply | None = None, baseline_status: int = 200) -> None:
        self.collects: list[Seen] = []
        self.recovery = recovery
        self.baseline_status = baseline_status

    def __call__(self, seen: Seen) -> Reply:
        if seen.path == "/v1/health":
            return HEALTHY
        if seen.path == "/collect":
            self.collects.append(seen)
            if len(self.collects) == 1:
                return Reply(200, _body(_rows(10, status=self.baseline_status)))
            return self.recovery or Reply(200, _body(_rows(20)))
        if seen.path == "/v1/faults/apply":
            return Reply(200, {"apply_id": "fault-9", "status": "applied"})
        if seen.path.endswith("/status"):
            return Reply(200, {"apply_id": "fault-9", "status": "completed"})
        if seen.path.endswith("/metrics"):
            return Reply(200, _body(_rows(10, latency_ms=30.0), target=TARGET))
        return Reply(404, {"error": "not_found"})


def _client(url: str) -> HttpExecutorClient:
    return HttpExecutorClient(
        ExecutorClientConfig(
            base_url=url, poll_interval_sec=0.02, retry_strategy="none", policy_propagation_sec=0.0
        )
    )


PLAN = payment_delay(
    baseline_seconds=1,
    recovery_seconds=2,
    observe=GATEWAY,
    hypothesis=Hypothesis(max_p99_ms=100, max_error_rate_pct=1),
)


def test_an_experiment_sends_observe_and_collects_baseline_and_recovery() -> None:
    shop = Shop()
    with serve(shop) as server, _client(server.url) as client:
        observation = client.apply_and_observe(PLAN)
        applies = server.requests("POST", "/v1/faults/apply")
    assert len(applies) == 1 and applies[0].json()["observe"] == {
        "service": "gateway",
        "api": "/api/v1/checkout",
        "method": "POST",
    }
    assert [seen.query for seen in shop.collects] == [
        {
            "service": ["gateway"],
            "api": ["/api/v1/checkout"],
            "method": ["POST"],
            "duration_sec": [seconds],
            "include_samples": ["true"],
        }
        for seconds in ("1", "2")
    ]
    assert [p.phase for p in observation.phases] == [Phase.BASELINE, Phase.FAULT, Phase.RECOVERY]
    assert [p.sample_count for p in observation.phases] == [10, 10, 20]
    assert observation.target is not None and observation.target.affected_count == 20
    assert observation.verdict is ExperimentVerdict.HELD
    assert observation.time_to_recovery_s == 0.0
    assert observation.severity_score is not None and observation.severity_score > 0
    fault = observation.phase(Phase.FAULT)
    assert fault is not None and fault.start_offset_ms >= observation.phases[0].end_offset_ms
    assert observation.apply_id == "fault-9"


def test_a_failed_recovery_keeps_the_fault_results_with_a_warning() -> None:
    shop = Shop(recovery=Reply(500, {"error": "collector broke"}))
    with serve(shop) as server, _client(server.url) as client:
        observation = client.apply_and_observe(PLAN)
    assert [p.phase for p in observation.phases] == [Phase.BASELINE, Phase.FAULT]
    assert observation.verdict is ExperimentVerdict.HELD
    assert any(w.startswith("recovery: not observed") for w in observation.warnings)
    assert observation.metrics is not None and observation.metrics.request_count == 10


def test_a_failed_baseline_sends_no_fault() -> None:
    shop = Shop(baseline_status=503)
    with serve(shop) as server, _client(server.url) as client:
        observation = client.apply_and_observe(PLAN)
        assert server.requests("POST", "/v1/faults/apply") == []
    assert len(shop.collects) == 1
    assert observation.verdict is ExperimentVerdict.BASELINE_FAILED
    assert observation.apply_id is None and observation.final
    assert any("fault was not applied" in line for line in observation.logs)


def test_a_plain_plan_sends_what_it_always_did_and_gets_its_fault_phase() -> None:
    shop = Shop()
    with serve(shop) as server, _client(server.url) as client:
        observation = client.apply_and_observe(payment_delay())
        body = server.requests("POST", "/v1/faults/apply")[0].json()
    assert shop.collects == [] and "observe" not in body
    assert [p.phase for p in observation.phases] == [Phase.FAULT]
    assert observation.phases[0].start_offset_ms == 0.0 and observation.phases[0].sample_count == 10
    assert observation.verdict is None and observation.severity_score is None
    assert observation.target is not None and observation.target.request_count == 40
    assert [s.offset_ms for s in observation.samples] == [r[0] for r in _rows(10)]


def test_the_target_object_is_parsed_and_a_malformed_one_refused() -> None:
    assert parse_target(None, "metrics") is None
    hits = parse_target({**TARGET, "extra": 1}, "metrics")
    assert hits is not None and (hits.request_count, hits.affected_count) == (40, 20)
    with pytest.raises(ExecutorResponseError, match="'target' must be an object"):
        parse_target([1], "metrics")
    with pytest.raises(ExecutorResponseError, match="malformed target"):
        parse_target({"service": "payment", "api": "/p", "request_count": "many"}, "metrics")


def test_one_default_deadline_covers_every_phase() -> None:
    plain = payment_delay(duration_seconds=3)
    with _client("http://127.0.0.1:9") as client:
        timeout = client._default_timeout_sec  # the deadline apply_and_observe sets without timeout_sec
        extra = timeout(PLAN.model_copy(update={"duration_seconds": 3}), None, client.api_mode) - timeout(
            plain, None, client.api_mode
        )
    assert extra == PLAN.baseline_seconds + PLAN.recovery_seconds
