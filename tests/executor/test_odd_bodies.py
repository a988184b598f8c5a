"""Odd request bodies are a 400 with a reason in every family, never a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from executor import EmbeddedExecutor, ExecutorSettings
from executor.gojson import go_marshal
from tests.executor.helpers import fault_body, policy
from tests.executor.upstream import CountingUpstream

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
        response = http.post(refusing_executor.base_url + path, content=body)
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
        response = http.post(refusing_executor.base_url + path, content=body)
        assert response.status_code == 400
        assert response.json() == {"error": error}


def test_a_huge_integer_in_a_policy_is_a_go_type_error(
    http: httpx.Client, bare_executor: EmbeddedExecutor
) -> None:
    response = http.post(bare_executor.base_url + "/v1/policies", content=_policy_with(HUGE_INT))
    assert response.status_code == 400
    assert response.json()["error"].startswith("invalid request body: json: cannot unmarshal number 1111")


def test_a_policy_name_with_a_lone_surrogate_is_stored_as_go_stores_it(
    http: httpx.Client, bare_executor: EmbeddedExecutor
) -> None:
    body = json.dumps(policy("odd", match={"path": {"prefix": "/"}})).replace('"odd"', '"odd\\ud800"')
    response = http.post(bare_executor.base_url + "/v1/policies", content=body.encode())
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


# -- property: whatever the body, the answer is a 4xx with a JSON reason (or a success), never a 500

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(
        ["api", "/work", "delay", "abort", "error_injection", "GET", "\r\n", "\ud800", "9999-12-31T23:59:59Z"]
    ),
)
_json = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
_FIELDS = [
    "service",
    "api",
    "method",
    "fault_type",
    "percentage",
    "duration_seconds",
    "start_delay_ms",
    "start_time",
    "fault_config",
    "load",
    "headers",
    "bogus",
]


# Raw JSON literals that have broken a parser or a validator somewhere: drawn often, beside arbitrary JSON.
_NASTY = [
    "[" * 5000 + "]" * 5000,
    '{"a":' * 3000 + "1" + "}" * 3000,
    HUGE_INT,
    "9223372036854775808",
    "1e999",
    "-1e999",
    "NaN",
    "-Infinity",
    '"\\ud800"',
    '"\\u0000"',
    '"a\\r\\nb: c"',
    '"9999-12-31T23:59:59Z"',
    '"0001-01-01T00:00:00+01:00"',
    '{"delay_ms": 1}',
    '[{"name": "x", "regex": "(a)\\\\1"}]',
    '[{"name": "x y", "exact": "1"}]',
    '{"rate_rps": 1, "headers": {"x": "1\\r\\ny: 2"}}',
    "1000",
    "100",
]
_literals = st.one_of(_json.map(json.dumps), st.sampled_from(_NASTY))


def _fill(template: dict[str, Any], fields: list[tuple[dict[str, Any], str]], draw: st.DrawFn) -> bytes:
    """Set each (owner, key) to a placeholder, then replace the placeholders by drawn raw literals."""
    for index, (owner, key) in enumerate(fields):
        owner[key] = f"@@{index}@@"
    text = json.dumps(template)
    for index in range(len(fields)):
        text = text.replace(f'"@@{index}@@"', draw(_literals), 1)
    return text.encode()


@st.composite
def _fault_bodies(draw: st.DrawFn) -> bytes:
    """A valid body with some fields replaced by odd JSON, or arbitrary JSON, or arbitrary bytes."""
    kind = draw(st.sampled_from(["mutated", "mutated", "json", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=64))
    if kind == "json":
        return draw(_literals).encode()
    body: dict[str, Any] = fault_body(duration_seconds=1, load={"rate_rps": 1})
    keys = draw(st.lists(st.sampled_from(_FIELDS), min_size=1, max_size=3, unique=True))
    return _fill(body, [(body, key) for key in keys], draw)


@st.composite
def _policy_bodies(draw: st.DrawFn) -> bytes:
    """A valid policy with some parts replaced by odd JSON, or arbitrary JSON, or arbitrary bytes."""
    kind = draw(st.sampled_from(["mutated", "mutated", "json", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=64))
    if kind == "json":
        return draw(_literals).encode()
    document = policy("prop", match={"path": {"prefix": "/"}})
    rule = document["spec"]["rules"][0]
    targets = [(document["metadata"], "name"), (document, "spec"), (rule, "match"), (rule["match"], "path")]
    targets += [(rule["match"], "headers"), (rule["match"]["path"], "regex"), (rule, "fault")]
    targets += [(rule["fault"], "percentage"), (rule["fault"], "abort"), (rule["fault"], "duration_seconds")]
    targets += [(document["spec"], "selector")]
    picked = draw(st.lists(st.sampled_from(range(len(targets))), min_size=1, max_size=3, unique=True))
    return _fill(document, [targets[index] for index in picked], draw)


@pytest.fixture
def prop_executor(counting: CountingUpstream) -> Iterator[EmbeddedExecutor]:
    settings = ExecutorSettings(demo=False, seed=3, services={"api": counting.url}, default_rate_rps=1)
    with EmbeddedExecutor(settings) as ex:
        yield ex


_PROPERTY = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_PROPERTY
@given(body=_fault_bodies())
def test_property_fault_applies_never_answer_500(
    http: httpx.Client, prop_executor: EmbeddedExecutor, bare_executor: EmbeddedExecutor, body: bytes
) -> None:
    extended = http.post(prop_executor.base_url + "/v1/faults/apply", content=body)
    assert extended.status_code in (200, 400, 404, 409), extended.text
    assert isinstance(extended.json(), dict)
    if extended.status_code == 200:
        http.delete(prop_executor.base_url + f"/v1/faults/{extended.json()['apply_id']}")
    # family C blocks until the fault ends: send it where no service exists, so a valid body is a 404
    direct = http.post(bare_executor.base_url + "/api/v1/faults/apply", content=body)
    assert direct.status_code in (400, 404), direct.text
    assert isinstance(direct.json(), dict)


@_PROPERTY
@given(body=_policy_bodies())
def test_property_policy_writes_never_answer_500(
    http: httpx.Client, bare_executor: EmbeddedExecutor, body: bytes
) -> None:
    base = bare_executor.base_url
    for method, path in (
        ("POST", "/v1/policies"),
        ("POST", "/v1/policies/create"),
        ("PUT", "/v1/policies/prop"),
    ):
        response = http.request(method, base + path, content=body)
        assert response.status_code in (200, 201, 400, 409), response.text
        assert isinstance(response.json(), dict)
    assert http.get(base + "/v1/policies").status_code == 200
    assert http.get(base + "/v1/policies/status").status_code == 200
    http.delete(base + "/v1/policies/prop")


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
