"""Aborts always answer a valid status line; start times stay in a window; no record can break a listing."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

import httpx
import pytest

from executor import EmbeddedExecutor
from executor.model.fault_kinds import FAULT_HEADER, AbortFault, Injection
from executor.spec.timefmt import rfc3339
from tests.executor.helpers import fault_body, policy


@pytest.mark.parametrize("status", [999, 1000, 100, 101, 199, 42, 2**31])
def test_a_policy_abort_status_no_response_may_carry_answers_500(
    http: httpx.Client, api_executor: EmbeddedExecutor, status: int
) -> None:
    fault = {"percentage": 100, "abort": {"httpStatus": status}}
    document = policy("odd-status", match={"path": {"prefix": "/"}}, fault=fault)
    assert http.post(api_executor.base_url + "/v1/policies", json=document).status_code == 201
    answer = http.get(api_executor.proxy_url("api") + "/work", timeout=10)
    assert answer.status_code == 500
    assert answer.headers[FAULT_HEADER] == "abort"
    assert str(status) in answer.text


@pytest.mark.parametrize("status", [200, 404, 503, 599])
def test_a_valid_abort_status_is_answered_as_it_is(status: int) -> None:
    injection = Injection()
    asyncio.run(AbortFault(http_status=status).inject(injection, asyncio.sleep))
    assert injection.reply is not None and injection.reply.status == status


@pytest.mark.parametrize("status", [100, 101, 199, 600, 99])
def test_fault_api_abort_statuses_must_be_final_statuses(
    http: httpx.Client, refusing_executor: EmbeddedExecutor, status: int
) -> None:
    body = fault_body(fault_config={"http_status_code": status})
    for path in ("/v1/faults/apply", "/api/v1/faults/apply"):
        response = http.post(refusing_executor.base_url + path, json=body)
        assert response.status_code == 400
        assert response.json()["details"] == {"field": "fault_config.http_status_code"}


def _iso(epoch_s: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))


@pytest.mark.parametrize(
    "start_time",
    [
        "9999-12-31T23:59:59Z",
        "9999-12-31T23:59:59-01:00",
        "3000-01-01T00:00:00Z",
        "2026-13-40T00:00:00Z",
        "2026-11-27T21:00:00",  # no offset
        "2026-11-27",
        "20261127T210000Z",  # ISO 8601 basic format, not RFC 3339
        "2026-11-27T21:00:00+25:00",
        "",
        5,
    ],
)
def test_start_times_out_of_the_window_or_unparsable_are_refused(
    http: httpx.Client, refusing_executor: EmbeddedExecutor, start_time: Any
) -> None:
    for path in ("/v1/faults/apply", "/api/v1/faults/apply"):
        response = http.post(refusing_executor.base_url + path, json=fault_body(start_time=start_time))
        assert response.status_code == 400, (start_time, response.text)
        assert response.json()["details"] == {"field": "start_time"}
    listing = http.get(refusing_executor.base_url + "/v1/faults")
    assert listing.status_code == 200
    assert listing.json() == {"faults": []}


def test_a_start_time_a_day_ahead_is_refused_and_just_under_is_pending(
    http: httpx.Client, api_executor: EmbeddedExecutor
) -> None:
    base = api_executor.base_url + "/v1/faults/apply"
    too_far = http.post(base, json=fault_body(start_time=_iso(time.time() + 24 * 3600 + 120)))
    assert too_far.status_code == 400
    assert "24" in too_far.json()["message"]
    ahead = http.post(base, json=fault_body(start_time=_iso(time.time() + 23 * 3600)))
    assert ahead.status_code == 200
    apply_id = ahead.json()["apply_id"]
    assert http.get(api_executor.base_url + f"/v1/faults/{apply_id}/status").json()["status"] == "pending"
    assert http.get(api_executor.base_url + "/v1/faults").status_code == 200


@pytest.mark.parametrize(
    "start_time", ["0001-01-01T00:00:00+01:00", "0001-01-01T00:00:00Z", "1970-01-01T00:00:00.123456789Z"]
)
def test_a_start_time_long_past_starts_now(
    http: httpx.Client, api_executor: EmbeddedExecutor, start_time: str
) -> None:
    before = time.time()
    response = http.post(api_executor.base_url + "/v1/faults/apply", json=fault_body(start_time=start_time))
    assert response.status_code == 200, response.text
    apply_id = response.json()["apply_id"]
    status = http.get(api_executor.base_url + f"/v1/faults/{apply_id}/status").json()
    assert status["status"] == "running"
    assert status["start_time"] >= _iso(before - 1)
    assert http.get(api_executor.proxy_url("api") + "/work").status_code == 503
    assert http.get(api_executor.base_url + "/v1/faults").status_code == 200


@pytest.mark.parametrize(
    ("epoch_s", "expected"),
    [
        (0.0, "1970-01-01T00:00:00.000Z"),
        (1e20, "9999-12-31T23:59:59.999Z"),
        (-1e20, "0001-01-01T00:00:00.000Z"),
        (math.inf, "9999-12-31T23:59:59.999Z"),
        (-math.inf, "0001-01-01T00:00:00.000Z"),
        (math.nan, "1970-01-01T00:00:00.000Z"),
        (253402300800.0, "9999-12-31T23:59:59.999Z"),  # 10000-01-01
    ],
)
def test_rfc3339_never_raises(epoch_s: float, expected: str) -> None:
    assert rfc3339(epoch_s) == expected
