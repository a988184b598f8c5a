"""A repeated request header reaches the upstream as sent, every value in order; matchers see them joined."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from executor import EmbeddedExecutor, ExecutorSettings
from executor.model.header_names import TRACE_HEADER
from tests.executor.virtual_clock import VirtualClock, virtual_executor

REPEATED = [
    ("X-Forwarded-For", "10.0.0.1"),
    ("Cookie", "a=1"),
    ("X-Forwarded-For", "10.0.0.2"),
    ("Cookie", "b=2"),
    ("X-Forwarded-For", "10.0.0.3"),
]
NAMES = {"x-forwarded-for", "cookie"}


class RecordingUpstream:
    """A keep-alive HTTP/1.1 upstream on loopback that records each request's header lines as received."""

    def __init__(self) -> None:
        self.received: list[list[tuple[str, str]]] = []
        recorded = self.received

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                recorded.append(list(self.headers.items()))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def repeated(self, index: int) -> list[tuple[str, str]]:
        """Return the repeated headers request ``index`` carried, in the order they came."""
        return [(name, value) for name, value in self.received[index] if name.lower() in NAMES]


@pytest.fixture
def upstream() -> Iterator[RecordingUpstream]:
    recording = RecordingUpstream()
    thread = threading.Thread(target=recording.server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield recording
    finally:
        recording.server.shutdown()
        recording.server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def ex(upstream: RecordingUpstream, virtual_clock: VirtualClock) -> Iterator[EmbeddedExecutor]:
    settings = ExecutorSettings(demo=False, seed=1, services={"api": upstream.url})
    with virtual_executor(settings, virtual_clock) as executor:  # an injected delay costs no real time
        yield executor


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


def _policy(name: str, fault: dict[str, object], header: dict[str, str] | None = None) -> dict[str, object]:
    match: dict[str, object] = {"path": {"prefix": "/"}}
    if header is not None:
        match["headers"] = [header]
    spec = {"rules": [{"match": match, "fault": fault}]}
    return {"metadata": {"name": name, "version": "1.0.0"}, "spec": spec}


def test_repeated_headers_reach_the_upstream_in_order(
    http: httpx.Client, ex: EmbeddedExecutor, upstream: RecordingUpstream
) -> None:
    for _ in range(2):  # a new upstream connection, then a pooled one (the callback path)
        assert http.get(ex.proxy_url("api") + "/x", headers=REPEATED).status_code == 200
    assert [upstream.repeated(0), upstream.repeated(1)] == [REPEATED, REPEATED]


def test_repeated_headers_survive_a_delay_and_a_trace(
    http: httpx.Client, ex: EmbeddedExecutor, upstream: RecordingUpstream, virtual_clock: VirtualClock
) -> None:
    fault = {"percentage": 100, "delay": {"fixed_delay_ms": 5}}
    assert http.post(ex.base_url + "/v1/policies", json=_policy("slow", fault)).status_code == 201
    with virtual_clock.running():
        response = http.get(ex.proxy_url("api") + "/x", headers=REPEATED)
        assert response.headers["x-fault-injected"] == "delay"
        traced = http.get(ex.proxy_url("api") + "/x", headers=[*REPEATED, (TRACE_HEADER, "ab" * 16)])
    assert traced.status_code == 200
    assert [upstream.repeated(0), upstream.repeated(1)] == [REPEATED, REPEATED]


@pytest.mark.parametrize(
    ("header", "hit"),
    [
        ({"name": "x-forwarded-for", "exact": "10.0.0.1,10.0.0.2,10.0.0.3"}, True),
        ({"name": "x-forwarded-for", "exact": "10.0.0.3"}, False),  # not only the last value
        ({"name": "x-forwarded-for", "prefix": "10.0.0.1,"}, True),
        ({"name": "cookie", "regex": r"(^|,)a=1(,|$)"}, True),
    ],
)
def test_a_header_matcher_sees_repeated_values_joined_with_commas(
    http: httpx.Client, ex: EmbeddedExecutor, header: dict[str, str], hit: bool
) -> None:
    fault = {"percentage": 100, "abort": {"httpStatus": 503}}
    assert http.post(ex.base_url + "/v1/policies", json=_policy("xff", fault, header)).status_code == 201
    status = http.get(ex.proxy_url("api") + "/x", headers=REPEATED).status_code
    assert status == (503 if hit else 200)
