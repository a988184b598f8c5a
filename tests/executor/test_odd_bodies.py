"""Odd request bodies are a 400 with a reason in every family, never a 500."""

from __future__ import annotations

import json

import httpx
import pytest

from executor import EmbeddedExecutor
from executor.spec.gojson import go_marshal
from tests.executor.helpers import JSON_TYPE, fault_body, policy

DEEP = b"[" * 100_000
HUGE_INT = "1" * 5000
FAULT_PATHS = ("/v1/faults/apply", "/api/v1/faults/apply")
POLICY_PATHS = ("/v1/policies", "/v1/policies/create")


def _with(field: str, literal: str) -> bytes:
    """Return a valid apply body whose ``field`` holds the raw JSON ``literal``."""
    body = json.dumps(fault_body(**{field: "@@"}))
    return body.replace('"@@"', literal).encode()


ODD_FAULT_BODIES = [
    DEEP,
    b"{" * 100_000,
    _with("load", '{"rate_rps": 1, "body": ' + "[" * 100_000 + "]" * 100_000 + "}"),
    _with("percentage", HUGE_INT),
    _with("percentage", "1e999"),
    _with("percentage", "-1e999"),
    _with("percentage", "NaN"),
    _with("percentage", "Infinity"),
    _with("load", '{"rate_rps": 1e999}'),
    _with("load", '{"rate_rps": 1, "body": [-Infinity]}'),
    _with("load", '{"rate_rps": 1, "body": ' + HUGE_INT + "}"),
    _with("service", '"\\ud800"'),
    _with("service", '"api\\udfff"'),
    b'{"service": "\xff\xfe", "api": "/x"}',
    b"\xef\xbb\xbf" + json.dumps(fault_body()).encode(),
    json.dumps(fault_body(percentage=0))[:-1].encode() + b', "percentage": 100}',
    b"[1]",
    b'"x"',
    b"5",
    b"null",
    b"",
    b"   ",
    b'{"service": "api"} x',
    b"\x00",
]


def _odd_fault_id(body: bytes) -> str:
    return repr(body[:40]) + f"..({len(body)})"


@pytest.mark.parametrize("body", ODD_FAULT_BODIES, ids=_odd_fault_id)
def test_odd_fault_bodies_are_400_with_a_reason(
    http: httpx.Client, refusing_executor: EmbeddedExecutor, body: bytes
) -> None:
    for path in FAULT_PATHS:
        response = http.post(refusing_executor.base_url + path, content=body, headers=JSON_TYPE)
        assert response.status_code == 400, (path, response.text)
        answer = response.json()
        assert answer["error"] == "invalid_input"
        assert answer["message"]
        assert "field" in answer["details"]
    assert http.get(refusing_executor.base_url + "/v1/faults").json() == {"faults": []}


def _policy_with(literal: str) -> bytes:
    text = json.dumps(policy("odd", match={"path": {"prefix": "/"}}, fault={"percentage": "@@"}))
    return text.replace('"@@"', literal).encode()


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (DEEP, "invalid request body: invalid character '[' exceeded max depth"),
        (b'{"a":' * 100_000, "invalid request body: invalid character '{' exceeded max depth"),
        (
            _policy_with("9223372036854775808"),
            "invalid request body: json: cannot unmarshal number 9223372036854775808 into Go struct field "
            "FaultAction.spec.rules.fault.percentage of type int",
        ),
        (
            _policy_with("1e999"),
            "invalid request body: json: cannot unmarshal number 1e999 into Go struct field "
            "FaultAction.spec.rules.fault.percentage of type int",
        ),
        (_policy_with("NaN"), "invalid request body: invalid character 'N' looking for beginning of value"),
        (b'{"metadata": {}} x', "invalid request body: invalid character 'x' after top-level value"),
        (
            b'{"metadata": {"name": "a\nb"}}',
            "invalid request body: invalid character '\\n' in string literal",
        ),
        (
            b"[1]",
            "invalid request body: json: cannot unmarshal array into Go value of type "
            "models.FaultInjectionPolicy",
        ),
        (b"", "invalid request body: EOF"),
    ],
)
def test_odd_policy_bodies_are_answered_as_go_does(
    http: httpx.Client, refusing_executor: EmbeddedExecutor, body: bytes, error: str
) -> None:
    for path in POLICY_PATHS:
        response = http.post(refusing_executor.base_url + path, content=body, headers=JSON_TYPE)
        assert response.status_code == 400
        assert response.json() == {"error": error}


def test_a_huge_integer_in_a_policy_is_a_go_type_error(
    http: httpx.Client, bare_executor: EmbeddedExecutor
) -> None:
    response = http.post(
        bare_executor.base_url + "/v1/policies", content=_policy_with(HUGE_INT), headers=JSON_TYPE
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith("invalid request body: json: cannot unmarshal number 1111")


def test_a_policy_name_with_a_lone_surrogate_is_stored_as_go_stores_it(
    http: httpx.Client, bare_executor: EmbeddedExecutor
) -> None:
    body = json.dumps(policy("odd", match={"path": {"prefix": "/"}})).replace('"odd"', '"odd\\ud800"')
    response = http.post(bare_executor.base_url + "/v1/policies", content=body.encode(), headers=JSON_TYPE)
    assert response.status_code == 201
    assert response.json()["metadata"]["name"] == "odd\ufffd"
    assert http.get(bare_executor.base_url + "/v1/policies").status_code == 200
    assert http.get(bare_executor.base_url + "/v1/policies/status").status_code == 200


def test_a_policy_with_an_int64_duration_expires_never_and_lists(
    http: httpx.Client, bare_executor: EmbeddedExecutor
) -> None:
    fault = {
        "percentage": 0,
        "duration_seconds": 2**63 - 1,
        "start_delay_ms": 2**63 - 1,
        "delay": {"fixed_delay_ms": 2**63 - 1},
    }
    response = http.post(
        bare_executor.base_url + "/v1/policies",
        json=policy("forever", match={"path": {"prefix": "/"}}, fault=fault),
    )
    assert response.status_code == 201
    assert http.get(bare_executor.base_url + "/v1/policies").status_code == 200


@pytest.mark.parametrize("key", [b"k\xff\xfe", "kä".encode(), b"k\x80", b"k y\tz"])
def test_an_idempotency_key_that_is_not_visible_ascii_is_refused_and_listings_stay_up(
    http: httpx.Client, api_executor: EmbeddedExecutor, key: bytes
) -> None:
    body = fault_body(percentage=0)
    for path in FAULT_PATHS:
        response = http.post(api_executor.base_url + path, json=body, headers={"Idempotency-Key": key})
        assert response.status_code == 400
        assert response.json()["details"] == {"field": "Idempotency-Key"}
    assert http.get(api_executor.base_url + "/v1/faults").status_code == 200


def test_go_marshal_never_fails_on_a_lone_surrogate() -> None:
    assert go_marshal({"key": "k\udcff"}) == '{"key":"k\ufffd"}'.encode()
