"""Policy regexes run in linear time (RE2), unanchored, and a pattern RE2 cannot run is refused.

Python's ``re`` backtracks: ``^/(a+)+$`` against a 40-character near-miss takes it hours, holding the
interpreter lock all along, so the whole executor (control API included) would freeze. The executor runs in a
child process here, so that such a regression fails these tests on their client timeouts instead of freezing
the test run.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from executor import EmbeddedExecutor
from tests.executor.helpers import executor_process, fault_body, policy
from tests.executor.upstream import CountingUpstream

CATASTROPHIC = "^/(a+)+$"
NEAR_MISS = "/" + "a" * 39 + "!"  # 40 characters: hours for a backtracking engine


@pytest.fixture
def child(counting: CountingUpstream) -> Iterator[tuple[str, str]]:
    with executor_process(counting.url) as urls:
        yield urls


def _send_raw(proxy: str, path: str, headers: dict[str, str] | None = None) -> socket.socket:
    parts = urlsplit(proxy)
    assert parts.hostname and parts.port
    connection = socket.create_connection((parts.hostname, parts.port), timeout=30)
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    head = f"GET {parts.path}{path} HTTP/1.1\r\nHost: x\r\n{extra}Connection: close\r\n\r\n"
    connection.sendall(head.encode())
    return connection


def _status_of(connection: socket.socket) -> int:
    with connection:
        received = b""
        while b"\r\n" not in received:
            chunk = connection.recv(4096)
            assert chunk, "connection closed without an answer"
            received += chunk
    return int(received.split(b" ", 2)[1])


def test_a_catastrophic_path_regex_answers_promptly_and_never_stalls_the_control_api(
    child: tuple[str, str],
) -> None:
    control, proxy = child
    with httpx.Client(timeout=30) as http:
        document = policy("redos", match={"path": {"regex": CATASTROPHIC}})
        assert http.post(control + "/v1/policies", json=document).status_code == 201
        stuck = _send_raw(proxy, NEAR_MISS)
        # sent before the health check: a backtracking engine would still be matching it
        assert http.get(control + "/v1/health").json() == {"status": "healthy"}
        assert _status_of(stuck) == 200  # no match: passed on to the upstream
        assert http.get(proxy + "/aaaa").status_code == 503


def test_a_catastrophic_header_regex_answers_promptly(child: tuple[str, str]) -> None:
    control, proxy = child
    with httpx.Client(timeout=30) as http:
        body = fault_body(duration_seconds=60, headers=[{"name": "x-user-id", "regex": "^(a+)+$"}])
        response = http.post(control + "/v1/faults/apply", json=body)
        assert response.status_code == 200, response.text
        stuck = _send_raw(proxy, "/work", {"x-user-id": NEAR_MISS[1:]})
        assert http.get(control + "/v1/faults").status_code == 200
        assert _status_of(stuck) == 200
        assert http.get(proxy + "/work", headers={"x-user-id": "aaa"}).status_code == 503
        http.delete(control + f"/v1/faults/{response.json()['apply_id']}")


@pytest.mark.parametrize(
    ("match", "field"),
    [
        ({"path": {"regex": r"(a)\1"}}, "spec.rules[0].match.path.regex"),
        ({"path": {"regex": "a(?=b)"}}, "spec.rules[0].match.path.regex"),
        ({"method": {"regex": "(?<!x)GET"}}, "spec.rules[0].match.method.regex"),
        ({"headers": [{"name": "x", "regex": "("}]}, "spec.rules[0].match.headers[0].regex"),
        ({"path": {"regex": "a{1001}"}}, "spec.rules[0].match.path.regex"),
    ],
)
def test_a_policy_regex_re2_cannot_run_is_refused(
    http: httpx.Client, refusing_executor: EmbeddedExecutor, match: dict[str, Any], field: str
) -> None:
    base = refusing_executor.base_url
    posted = http.post(base + "/v1/policies", json=policy("bad-re", match=match))
    assert posted.status_code == 400
    assert posted.json() == {"error": "invalid_input", "message": "The provided input is invalid"}
    created = http.post(base + "/v1/policies/create", json=policy("bad-re", match=match))
    assert created.status_code == 400
    assert created.json()["details"] == {"field": field}
    assert created.json()["code"] == "validation_error"
    assert http.get(base + "/v1/policies").json() == {"policies": []}


@pytest.mark.parametrize("pattern", [r"(a)\1", "a(?=b)", "(", "a{1001}"])
def test_a_fault_header_regex_re2_cannot_run_is_refused(
    http: httpx.Client, refusing_executor: EmbeddedExecutor, pattern: str
) -> None:
    body = fault_body(headers=[{"name": "x", "exact": "1"}, {"name": "y", "regex": pattern}])
    for path in ("/v1/faults/apply", "/api/v1/faults/apply"):
        response = http.post(refusing_executor.base_url + path, json=body)
        assert response.status_code == 400
        assert response.json()["details"] == {"field": "headers[1].regex"}


def test_policy_regexes_search_unanchored(http: httpx.Client, api_executor: EmbeddedExecutor) -> None:
    match = {"path": {"regex": "wor"}, "method": {"regex": "^(GET|POST)$"}}
    assert (
        http.post(api_executor.base_url + "/v1/policies", json=policy("re", match=match)).status_code == 201
    )
    proxy = api_executor.proxy_url("api")
    assert http.get(proxy + "/a/work/b").status_code == 503
    assert http.put(proxy + "/a/work/b").status_code == 200
    assert http.get(proxy + "/other").status_code == 200
