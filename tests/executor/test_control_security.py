"""The control API refuses what a web page, a rebound DNS name or a caller without the token would send."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from aiohttp.test_utils import make_mocked_request

from executor import EmbeddedExecutor, ExecutorSettings
from executor.control.api_guard import ControlGuard
from tests.executor.helpers import JSON_TYPE, fault_body, policy
from tests.executor.upstream import counting_upstream

TOKEN = "s3cret-T0ken.for~tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# (method, path, family) of every kind of control endpoint; family "A" answers in the Go server's shape.
ENDPOINTS = [
    ("POST", "/v1/policies", "A"),
    ("GET", "/v1/policies", "A"),
    ("PUT", "/v1/policies/p1", "A"),
    ("GET", "/v1/config/stream", "A"),
    ("POST", "/v1/faults/apply", "B"),
    ("GET", "/v1/faults", "B"),
    ("DELETE", "/v1/faults/fault-nope", "B"),
    ("POST", "/api/v1/faults/apply", "C"),
    ("GET", "/collect?service=api&api=/work&duration_sec=1", "B"),
    ("GET", "/v1/services", "ops"),
    ("GET", "/metrics", "ops"),
]
BODY_TYPES = [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]


@pytest.fixture(scope="module")
def guarded() -> Iterator[EmbeddedExecutor]:
    """An executor with a token that fronts service ``api`` (an upstream refused requests never reach)."""
    with (
        counting_upstream() as upstream,
        EmbeddedExecutor(
            ExecutorSettings(demo=False, seed=3, services={"api": upstream.url}, token=TOKEN)
        ) as ex,
    ):
        yield ex


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    """One client for the module's many short requests (making one costs more than the requests)."""
    with httpx.Client(timeout=30) as client:
        yield client


def _port(ex: EmbeddedExecutor) -> int:
    port = urlsplit(ex.base_url).port
    assert port is not None
    return port


def _policy() -> dict[str, Any]:
    return policy("p1", match={"path": {"prefix": "/work"}})


def _body_for(path: str) -> bytes:
    document = _policy() if path.startswith("/v1/policies") else fault_body()
    return json.dumps(document).encode()


def _assert_nothing_stored(ex: EmbeddedExecutor) -> None:
    assert ex.call(lambda: ex.runtime.fault_store.records()) == []
    assert ex.call(lambda: ex.runtime.policy_store.documents() if ex.runtime.policy_store else None) == []


def _assert_family_shape(response: httpx.Response, family: str, code: str, field: str) -> None:
    body = response.json()
    assert body["error"] == code and body["message"]
    if family == "A":
        assert set(body) == {"error", "message"}  # the Go server's errors: no details of ours
    else:
        assert body["details"] == {"field": field}
    assert TOKEN not in response.text and TOKEN not in str(response.headers)


@pytest.mark.parametrize(("method", "path", "family"), ENDPOINTS)
@pytest.mark.parametrize(
    ("authorization", "challenge"),
    [
        (None, "Bearer"),
        (f"Basic {TOKEN}", "Bearer"),
        ("Bearer", "Bearer"),
        ("Bearer wrong-token", 'Bearer error="invalid_token"'),
        (f"Bearer {TOKEN}x", 'Bearer error="invalid_token"'),
    ],
)
def test_every_control_endpoint_refuses_a_missing_malformed_or_wrong_token(
    guarded: EmbeddedExecutor,
    http: httpx.Client,
    method: str,
    path: str,
    family: str,
    authorization: str | None,
    challenge: str,
) -> None:
    headers = {**JSON_TYPE, **({"Authorization": authorization} if authorization else {})}
    content = _body_for(path) if method in ("POST", "PUT") else None
    response = http.request(method, guarded.base_url + path, content=content, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == challenge
    assert "x-request-id" in response.headers
    _assert_family_shape(response, family, "unauthorized", "Authorization")
    _assert_nothing_stored(guarded)


def test_the_right_token_opens_every_endpoint(guarded: EmbeddedExecutor, http: httpx.Client) -> None:
    base = guarded.base_url
    assert http.get(base + "/v1/faults", headers=AUTH).json() == {"faults": []}
    services = http.get(base + "/v1/services", headers=AUTH)
    assert services.status_code == 200 and TOKEN not in services.text
    assert http.get(base + "/metrics", headers=AUTH).status_code == 200
    created = http.post(
        base + "/v1/policies", content=_body_for("/v1/policies"), headers={**AUTH, **JSON_TYPE}
    )
    assert created.status_code == 201
    assert http.delete(base + "/v1/policies/p1", headers=AUTH).status_code == 200
    with http.stream("GET", base + "/v1/config/stream", headers=AUTH) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"] == "text/event-stream"
        assert "access-control-allow-origin" not in stream.headers
    assert http.get(base + "/v1/faults/fault-nope/status", headers=AUTH).status_code == 404


def test_health_probes_stay_open_and_reveal_nothing(guarded: EmbeddedExecutor, http: httpx.Client) -> None:
    assert http.get(guarded.base_url + "/v1/health").json() == {"status": "healthy"}
    assert http.get(guarded.base_url + "/health").json() == {"status": "healthy"}
    assert http.get(guarded.base_url + "/v1/ready").json() == {"status": "ready", "storage": "memory"}


def test_the_token_is_never_logged(
    guarded: EmbeddedExecutor, http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        for headers in ({}, AUTH, {"Authorization": f"Bearer {TOKEN}-wrong"}):
            http.get(guarded.base_url + "/v1/faults", headers=headers)
            http.post(guarded.base_url + "/v1/faults/apply", content=b"x", headers=headers)
    assert TOKEN not in caplog.text


def test_the_token_is_never_in_a_repr(guarded: EmbeddedExecutor) -> None:
    assert TOKEN not in repr(guarded.settings)
    guard = ControlGuard(bound_host="127.0.0.1", token=TOKEN, allowed_hosts=())
    assert TOKEN not in repr(guard)


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1", "https://127.0.0.1"])
@pytest.mark.parametrize(("method", "path", "family"), [ENDPOINTS[0], ENDPOINTS[1], ENDPOINTS[4]])
def test_a_foreign_origin_is_refused(
    guarded: EmbeddedExecutor, http: httpx.Client, origin: str, method: str, path: str, family: str
) -> None:
    content = _body_for(path) if method == "POST" else None
    headers = {**AUTH, **JSON_TYPE, "Origin": origin}
    response = http.request(method, guarded.base_url + path, content=content, headers=headers)
    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers
    _assert_family_shape(response, family, "forbidden_origin", "Origin")
    _assert_nothing_stored(guarded)


def test_no_preflight_is_granted_to_a_foreign_origin(guarded: EmbeddedExecutor, http: httpx.Client) -> None:
    preflight = {
        "Origin": "http://evil.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, authorization",
    }
    for path in ("/v1/faults/apply", "/v1/policies", "/v1/config/stream"):
        response = http.options(guarded.base_url + path, headers=preflight)
        assert response.status_code == 403
        assert not [name for name in response.headers if name.lower().startswith("access-control-")]


def test_the_executors_own_origin_is_accepted(guarded: EmbeddedExecutor, http: httpx.Client) -> None:
    own = f"http://127.0.0.1:{_port(guarded)}"
    response = http.get(guarded.base_url + "/v1/faults", headers={**AUTH, "Origin": own})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize("content_type", BODY_TYPES)
@pytest.mark.parametrize(
    ("method", "path", "family"), [ENDPOINTS[0], ENDPOINTS[2], ENDPOINTS[4], ENDPOINTS[7]]
)
def test_a_body_that_is_not_json_is_refused_before_it_is_read(
    guarded: EmbeddedExecutor,
    http: httpx.Client,
    content_type: str | None,
    method: str,
    path: str,
    family: str,
) -> None:
    headers = {**AUTH, **({"Content-Type": content_type} if content_type else {})}
    response = http.request(method, guarded.base_url + path, content=_body_for(path), headers=headers)
    assert response.status_code == 415
    _assert_family_shape(response, family, "unsupported_media_type", "Content-Type")
    _assert_nothing_stored(guarded)


def test_json_with_a_charset_is_accepted(guarded: EmbeddedExecutor, http: httpx.Client) -> None:
    headers = {**AUTH, "Content-Type": "application/json; charset=utf-8"}
    response = http.post(
        guarded.base_url + "/v1/policies", content=_body_for("/v1/policies"), headers=headers
    )
    assert response.status_code == 201
    assert http.delete(guarded.base_url + "/v1/policies/p1", headers=AUTH).status_code == 200


@pytest.mark.parametrize(("method", "path", "family"), [ENDPOINTS[1], ENDPOINTS[4], ENDPOINTS[5]])
@pytest.mark.parametrize("host", ["evil.example:{port}", "evil.example", "127.0.0.1.evil.example:{port}", ""])
def test_a_foreign_host_on_a_loopback_bind_is_misdirected(
    guarded: EmbeddedExecutor, http: httpx.Client, method: str, path: str, family: str, host: str
) -> None:
    content = _body_for(path) if method == "POST" else None
    headers = {**AUTH, **JSON_TYPE, "Host": host.format(port=_port(guarded))}
    response = http.request(method, guarded.base_url + path, content=content, headers=headers)
    assert response.status_code == 421
    _assert_family_shape(response, family, "misdirected_request", "Host")
    _assert_nothing_stored(guarded)


@pytest.mark.parametrize(
    "host", ["localhost:{port}", "localhost", "127.0.0.1:{port}", "[::1]:{port}", "[::1]"]
)
def test_the_loopback_names_are_accepted_as_host(
    guarded: EmbeddedExecutor, http: httpx.Client, host: str
) -> None:
    headers = {**AUTH, "Host": host.format(port=_port(guarded))}
    assert http.get(guarded.base_url + "/v1/faults", headers=headers).status_code == 200


def test_an_allowed_host_is_accepted_as_host_and_origin(http: httpx.Client) -> None:
    with EmbeddedExecutor(ExecutorSettings(demo=False, allowed_hosts=["Console.Example"])) as ex:
        port = _port(ex)
        named = {"Host": f"console.example:{port}", "Origin": "https://console.example"}
        assert http.get(ex.base_url + "/v1/policies", headers=named).status_code == 200
        other = {"Host": f"other.example:{port}"}
        assert http.get(ex.base_url + "/v1/policies", headers=other).status_code == 421


def test_without_a_token_the_loopback_executor_needs_no_configuration(
    bare_executor: EmbeddedExecutor, http: httpx.Client
) -> None:
    base = bare_executor.base_url
    assert http.get(base + "/v1/policies").json() == {"policies": []}
    assert http.post(base + "/v1/policies", json=_policy()).status_code == 201
    assert (
        http.post(base + "/v1/policies", content=b"{}", headers={"Content-Type": "text/plain"}).status_code
        == 415
    )
    assert http.get(base + "/v1/policies", headers={"Origin": "http://evil.example"}).status_code == 403


def _mocked(host: str) -> ControlGuard:
    return ControlGuard(bound_host=host, token=TOKEN, allowed_hosts=())


def test_off_loopback_the_host_is_not_restricted_unless_hosts_are_allowed() -> None:
    request = make_mocked_request("GET", "/v1/faults", headers={"Host": "evil.example:8000", **AUTH})
    assert _mocked("0.0.0.0").check(request) is None
    assert _mocked("192.0.2.10").check(request) is None
    restricted = ControlGuard(bound_host="0.0.0.0", token=TOKEN, allowed_hosts=("console.example",))
    refused = restricted.check(request)
    assert refused is not None and refused.status == 421
    ok = make_mocked_request("GET", "/v1/faults", headers={"Host": "console.example", **AUTH})
    assert restricted.check(ok) is None


def test_a_service_url_with_credentials_is_refused_without_echoing_them() -> None:
    with pytest.raises(ValueError, match="credentials in service URLs") as caught:
        ExecutorSettings(services={"shop": "http://alice:secret@shop.internal:8080"})
    assert "'shop'" in str(caught.value) and "secret" not in str(caught.value)
    with pytest.raises(ValueError, match="credentials in service URLs"):
        ExecutorSettings(services={"shop": "http://alice@shop.internal"})


@pytest.mark.parametrize("token", ["", "has space", "new\nline", "tab\there"])
def test_a_token_no_header_can_carry_is_refused(token: str) -> None:
    with pytest.raises(ValueError, match="token must be") as caught:
        ExecutorSettings(token=token)
    if token:
        assert token not in str(caught.value)
