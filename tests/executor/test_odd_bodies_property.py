"""Property: whatever the body of a fault apply or policy write, the answer is never a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from executor import EmbeddedExecutor, ExecutorSettings
from tests.executor.helpers import JSON_TYPE, fault_body, policy
from tests.executor.upstream import CountingUpstream

HUGE_INT = "1" * 5000

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


@pytest.mark.slow
@_PROPERTY
@given(body=_fault_bodies())
def test_property_fault_applies_never_answer_500(
    http: httpx.Client, prop_executor: EmbeddedExecutor, bare_executor: EmbeddedExecutor, body: bytes
) -> None:
    extended = http.post(prop_executor.base_url + "/v1/faults/apply", content=body, headers=JSON_TYPE)
    assert extended.status_code in (200, 400, 404, 409), extended.text
    assert isinstance(extended.json(), dict)
    if extended.status_code == 200:
        http.delete(prop_executor.base_url + f"/v1/faults/{extended.json()['apply_id']}")
    # family C blocks until the fault ends: send it where no service exists, so a valid body is a 404
    direct = http.post(bare_executor.base_url + "/api/v1/faults/apply", content=body, headers=JSON_TYPE)
    assert direct.status_code in (400, 404), direct.text
    assert isinstance(direct.json(), dict)


@pytest.mark.slow
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
        response = http.request(method, base + path, content=body, headers=JSON_TYPE)
        assert response.status_code in (200, 201, 400, 409), response.text
        assert isinstance(response.json(), dict)
    assert http.get(base + "/v1/policies").status_code == 200
    assert http.get(base + "/v1/policies/status").status_code == 200
    http.delete(base + "/v1/policies/prop")
