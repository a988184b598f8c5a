"""FaultPlan validation and the normalisation of Executor bodies."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from client import ApiMode, ExecutorResponseError, FaultPlan, FaultType, RequestSample
from client.parsing import observation_from_body
from tests.client.conftest import metrics_body

VALID: dict[str, Any] = {
    "service": "payment",
    "api": "/pay",
    "fault_type": "delay",
    "percentage": 50,
    "delay_seconds": 1.5,
}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"service": ""}, "service"),
        ({"service": "   "}, "service"),
        ({"api": "pay"}, "api"),
        ({"percentage": 101}, "percentage"),
        ({"percentage": -1}, "percentage"),
        ({"percentage": 50.5}, "percentage"),
        ({"delay_seconds": 0}, "delay_seconds"),
        ({"delay_seconds": 31}, "delay_seconds"),
        ({"delay_seconds": None}, "delay_seconds"),
        ({"fault_type": "abort", "delay_seconds": None}, "abort_http_status"),
        ({"fault_type": "abort", "abort_http_status": 200}, "abort_http_status"),
        ({"fault_type": "abort", "abort_http_status": 600}, "abort_http_status"),
        ({"duration_seconds": 0}, "duration_seconds"),
        ({"duration_seconds": 3601}, "duration_seconds"),
        ({"start_delay_ms": -1}, "start_delay_ms"),
        ({"method": "GE T"}, "method"),
        ({"fault_type": "explode"}, "fault_type"),
    ],
)
def test_invalid_plan_names_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        FaultPlan(**{**VALID, **change})
    assert field in str(info.value)


def test_valid_plans_of_each_type() -> None:
    delay = FaultPlan(**VALID)
    assert delay.duration_seconds == 30 and delay.start_delay_ms == 0 and delay.delay_ms == 1500
    abort = FaultPlan(
        service="s", api="/a", fault_type=FaultType.ABORT, percentage=100, abort_http_status=503
    )
    assert abort.abort_http_status == 503
    error = FaultPlan(
        service="s",
        api="/a",
        fault_type="error_injection",
        percentage=10,
        error_message="boom",
        method="post",
    )
    assert error.method == "POST" and error.fault_type is FaultType.ERROR_INJECTION


def test_header_match_needs_exactly_one_matcher() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        FaultPlan(**VALID, headers=[{"name": "x-user", "exact": "1", "prefix": "2"}])
    plan = FaultPlan(**VALID, headers=[{"name": "x-user", "exact": "42"}])
    assert plan.headers[0].to_wire() == {"name": "x-user", "exact": "42"}


@pytest.mark.parametrize(
    ("change", "loc", "needle"),
    [
        ({"service": "payment\r\nX-Evil: 1"}, "service", "service must not contain control characters"),
        ({"service": "pay\x00ment"}, "service", "'\\x00' at position 3"),
        ({"api": "/pay\nHost: evil"}, "api", "api must not contain control characters"),
        ({"api": "/pay\x7f"}, "api", "'\\x7f'"),
        ({"api": "/pay\x85"}, "api", "control characters"),
        ({"method": "GET\n"}, "method", "method must not contain control characters"),
        ({"method": "GET\r\nX: y"}, "method", "control characters"),
        ({"headers": [{"name": "x-a\r\nx-b", "exact": "1"}]}, "headers.0.name", "header name must not"),
        ({"headers": [{"name": "x a", "exact": "1"}]}, "headers.0.name", "not an HTTP token"),
        ({"headers": [{"name": "x:a", "exact": "1"}]}, "headers.0.name", "RFC 9110"),
        ({"headers": [{"name": "x-é", "exact": "1"}]}, "headers.0.name", "not an HTTP token"),
        ({"headers": [{"name": "x", "exact": "1\r\nX-Evil: 2"}]}, "headers.0.exact", "header exact value"),
        ({"headers": [{"name": "x", "prefix": "a\tb"}]}, "headers.0.prefix", "header prefix value"),
        ({"headers": [{"name": "x", "regex": "^a\n"}]}, "headers.0.regex", "header regex value"),
    ],
)
def test_control_characters_and_non_token_header_names_are_refused(
    change: dict[str, Any], loc: str, needle: str
) -> None:
    with pytest.raises(ValidationError) as info:
        FaultPlan(**{**VALID, **change})
    (error,) = info.value.errors()
    assert ".".join(str(part) for part in error["loc"]) == loc
    assert needle in str(info.value)


def test_plain_http_tokens_and_values_are_kept() -> None:
    header = {"name": "X-User_Id.v2!#$%&'*+^`|~", "regex": "^[0-9]+\\s?$"}
    plan = FaultPlan(**{**VALID, "method": "patch", "headers": [header]})
    assert plan.method == "PATCH" and plan.headers[0].to_wire() == header


def test_family_b_metrics_body_normalises() -> None:
    obs = observation_from_body(metrics_body(samples=True), operation="metrics", api_mode=ApiMode.EXTENDED)
    assert obs.metrics is not None and obs.metrics.request_count == 100 and obs.metrics.affected_count == 50
    assert obs.latency_ms == 120.5 and obs.error_rate == 0.02 and obs.status_code == 200
    assert obs.timeline[0].request_count == 50 and obs.timeline[0].p50_latency_ms is None
    assert obs.samples == [RequestSample(0.5, 6.0, 200, False), RequestSample(10.25, 250.0, 200, True)]
    assert obs.logs == ["started", "ended"] and obs.trace_data["traceID"] == "t1"


def test_family_c_metric_names_normalise_into_the_same_model() -> None:
    body = {
        "apply_id": "f",
        "status": "completed",
        "metrics": {
            "total_request_count": 523,
            "blocked_request_count": 261,
            "success_rate": 0.48,
            "error_rate": 0.02,
            "avg_latency_ms": 3250.45,
            "p95_latency_ms": 5100.0,
            "p99_latency_ms": 6500.0,
            "max_latency_ms": 8000.0,
        },
    }
    obs = observation_from_body(body, operation="apply", api_mode=ApiMode.DIRECT)
    assert obs.metrics is not None
    assert (obs.metrics.request_count, obs.metrics.affected_count) == (523, 261)
    assert obs.latency_ms == 3250.45 and obs.samples == [] and obs.timeline == []


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ([1, 2], "JSON object"),
        ({"apply_id": "x"}, "'metrics'"),
        ({"metrics": {"error_rate": 0.1}}, "request_count"),
        ({"metrics": {"request_count": "many"}}, "request_count"),
        ({"metrics": {"request_count": 1}, "samples": [[1, 2]]}, "sample"),
        ({"metrics": {"request_count": 1}, "samples": "x"}, "samples"),
        ({"metrics": {"request_count": 1}, "timeline": [{"request_count": 1}]}, "t_s"),
        ({"metrics": {"request_count": 1}, "logs": "x"}, "logs"),
    ],
)
def test_malformed_bodies_become_response_errors(body: Any, needle: str) -> None:
    with pytest.raises(ExecutorResponseError, match=needle):
        observation_from_body(body, operation="metrics", api_mode=ApiMode.EXTENDED)
