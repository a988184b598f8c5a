"""Slow and greedy clients cannot starve the executor: head deadlines, idle bounds, caps, the load budget.

The time bounds are configured small (a fraction of a second) and waited for with ``wait_until``; raw
loopback sockets play the slow clients, against the proxy and the control API of real executors.
"""

from __future__ import annotations

import contextlib
import select
import socket
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from executor import EmbeddedExecutor, ExecutorSettings
from executor.dataplane.proxy import PROXY_PREFIX
from executor.lifecycle.load_budget import LoadBudgetExceededError, check_load_budget
from tests.executor.helpers import fault_body
from tests.executor.upstream import CountingUpstream, counting_upstream
from tests.executor.virtual_clock import VirtualClock, virtual_executor
from tests.waiting import wait_until

HEAD_S = 0.25  # the request-head deadline configured here
IDLE_S = 0.5  # the idle keep-alive bound configured here: longer, so that a 408 shows the head deadline cut
GUARD_S = 5.0  # a hung socket fails the test instead of waiting for pytest-timeout
CAP = 3
BUDGET_RPS = 100
DEFAULT_RATE_RPS = 10
Target = tuple[tuple[str, int], bytes]  # where to connect, and a whole request for it


@pytest.fixture(scope="module")
def upstream() -> Iterator[CountingUpstream]:
    with counting_upstream() as server:
        yield server


def _settings(upstream: CountingUpstream, **limits: Any) -> ExecutorSettings:
    return ExecutorSettings(demo=False, seed=3, services={"api": upstream.url}, **limits)


@pytest.fixture(scope="module")
def timed(upstream: CountingUpstream) -> Iterator[EmbeddedExecutor]:
    """An executor whose heads and idle connections are bounded to fractions of a second."""
    settings = _settings(upstream, request_head_timeout_s=HEAD_S, idle_keepalive_timeout_s=IDLE_S)
    with EmbeddedExecutor(settings) as ex:
        yield ex


@pytest.fixture(scope="module")
def capped(upstream: CountingUpstream) -> Iterator[EmbeddedExecutor]:
    """An executor whose proxy and control API each admit ``CAP`` connections."""
    with EmbeddedExecutor(_settings(upstream, max_connections=CAP)) as ex:
        yield ex


def _target(ex: EmbeddedExecutor, server: str) -> Target:
    url = urlsplit(ex.base_url if server == "control" else ex.proxy_url("api"))
    path = "/v1/health" if server == "control" else f"{PROXY_PREFIX}/api/work"
    request = f"GET {path} HTTP/1.1\r\nHost: {url.netloc}\r\n\r\n".encode()
    return (url.hostname or "", url.port or 0), request


@contextlib.contextmanager
def _connections() -> Iterator[Callable[[tuple[str, int]], socket.socket]]:
    opened: list[socket.socket] = []

    def connect(address: tuple[str, int]) -> socket.socket:
        sock = socket.create_connection(address, timeout=GUARD_S)
        opened.append(sock)
        return sock

    try:
        yield connect
    finally:
        for sock in opened:
            sock.close()


def _read_response(sock: socket.socket) -> bytes:
    """Read one response with a Content-Length body; return its status line."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed before a whole head came: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next(int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:"))
    while len(body) < length:
        body += sock.recv(65536)
    return lines[0].encode()


def _read_to_end(sock: socket.socket) -> bytes:
    """Read until the server closes (a reset counts as closed); a socket still open fails at GUARD_S."""
    data = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            data += chunk
    return data


@pytest.mark.parametrize("server", ["proxy", "control"])
def test_a_head_trickled_past_its_deadline_is_cut_with_a_408(timed: EmbeddedExecutor, server: str) -> None:
    address, request = _target(timed, server)
    with _connections() as connect:
        sock = connect(address)
        sock.sendall(request.split(b"\r\n")[0] + b"\r\nX-Slow: ")

        def cut() -> bytes | None:
            if select.select([sock], [], [], 0)[0]:
                return _read_to_end(sock) or b"closed without an answer"
            with contextlib.suppress(OSError):
                sock.sendall(b"a")  # every byte well within the idle bound: only the head deadline cuts
            return None

        answer = wait_until(cut, timeout=GUARD_S, interval=HEAD_S / 5, what="the slow head to be cut")
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"connection: close" in answer.lower()


@pytest.mark.parametrize("server", ["proxy", "control"])
def test_a_connection_that_sends_no_head_is_closed(timed: EmbeddedExecutor, server: str) -> None:
    address, _ = _target(timed, server)
    with _connections() as connect:
        assert _read_to_end(connect(address)) == b""


@pytest.mark.parametrize("server", ["proxy", "control"])
def test_an_idle_keep_alive_connection_is_closed(timed: EmbeddedExecutor, server: str) -> None:
    address, request = _target(timed, server)
    with _connections() as connect:
        sock = connect(address)
        for _ in range(2):  # kept alive between requests sent at once
            sock.sendall(request)
            assert _read_response(sock).startswith(b"HTTP/1.1 200 ")
        assert _read_to_end(sock) == b""  # then closed, without an answer, once idle for IDLE_S


@pytest.mark.parametrize("server", ["proxy", "control"])
def test_past_the_cap_a_new_connection_is_refused_and_open_ones_are_served(
    capped: EmbeddedExecutor, server: str
) -> None:
    address, request = _target(capped, server)
    with _connections() as connect:
        open_ones = [connect(address) for _ in range(CAP)]
        for sock in open_ones:
            sock.sendall(request)
            assert _read_response(sock).startswith(b"HTTP/1.1 200 ")
        refused = _read_to_end(connect(address))
        assert refused.startswith(b"HTTP/1.1 503 ")
        assert b"connection: close" in refused.lower()
        open_ones[0].sendall(request)
        assert _read_response(open_ones[0]).startswith(b"HTTP/1.1 200 ")
        open_ones.pop().close()

        def served() -> bool:
            sock = connect(address)
            sock.sendall(request)
            with contextlib.suppress(OSError):
                return _read_response(sock).startswith(b"HTTP/1.1 200 ")
            return False

        wait_until(served, timeout=GUARD_S, what="a new connection to be served once one closed")


@pytest.fixture
def budgeted(upstream: CountingUpstream, virtual_clock: VirtualClock) -> Iterator[EmbeddedExecutor]:
    """An executor with a small load budget, on a clock that stands still (its faults stay active)."""
    settings = _settings(upstream, load_budget_rps=BUDGET_RPS, default_rate_rps=DEFAULT_RATE_RPS)
    with virtual_executor(settings, virtual_clock) as ex:
        yield ex


def _apply(
    http: httpx.Client, ex: EmbeddedExecutor, rate: float | None, *, key: str | None = None, path: str = ""
) -> httpx.Response:
    body = fault_body(percentage=0, duration_seconds=600, load={"rate_rps": rate})
    if rate is None:
        del body["load"]
    headers = {"Idempotency-Key": key} if key else {}
    return http.post(ex.base_url + (path or "/v1/faults/apply"), json=body, headers=headers)


def _stored(http: httpx.Client, ex: EmbeddedExecutor) -> tuple[list[str], int, int]:
    store = ex.runtime.fault_store
    faults = [fault["apply_id"] for fault in http.get(ex.base_url + "/v1/faults").json()["faults"]]
    return faults, ex.call(lambda: len(store)), ex.call(store.key_count)


def test_an_apply_past_the_load_budget_is_refused_and_nothing_is_stored(
    http: httpx.Client, budgeted: EmbeddedExecutor
) -> None:
    assert _apply(http, budgeted, 60, key="first").status_code == 200
    before = _stored(http, budgeted)
    for path in ("/v1/faults/apply", "/api/v1/faults/apply"):  # families B and C
        refused = _apply(http, budgeted, 50, key="second", path=path)
        assert refused.status_code == 429
        body = refused.json()
        assert body["error"] == "load_budget_exceeded"
        assert body["details"] == {"budget_rps": BUDGET_RPS, "in_use_rps": 60, "requested_rps": 50}
        assert all(f"{number} req/s" in body["message"] for number in (BUDGET_RPS, 60, 50))
        assert _stored(http, budgeted) == before
    assert len(before[0]) == 1


def test_an_apply_that_fits_is_accepted_and_a_retried_key_is_not_counted_twice(
    http: httpx.Client, budgeted: EmbeddedExecutor
) -> None:
    first = _apply(http, budgeted, 60, key="first")
    assert _apply(http, budgeted, 40).status_code == 200  # 60 + 40: exactly the budget
    retried = _apply(http, budgeted, 60, key="first")
    assert (retried.status_code, retried.json()["apply_id"]) == (200, first.json()["apply_id"])
    defaulted = _apply(http, budgeted, None)  # no load.rate_rps: the default rate counts
    assert defaulted.status_code == 429
    assert defaulted.json()["details"] == {"budget_rps": 100, "in_use_rps": 100, "requested_rps": 10}
    http.delete(budgeted.base_url + f"/v1/faults/{first.json()['apply_id']}").raise_for_status()
    assert _apply(http, budgeted, 60).status_code == 200  # a halted fault's load is free again


def test_only_the_windows_that_overlap_share_the_budget() -> None:
    earlier, later = (0.0, 10.0, 60.0), (20.0, 30.0, 60.0)
    check_load_budget(100, (10.0, 20.0, 100.0), [earlier, later])  # touching ends do not overlap
    with pytest.raises(LoadBudgetExceededError) as refused:
        check_load_budget(100, (5.0, 25.0, 1.0), [earlier, later])
    assert (refused.value.in_use_rps, refused.value.requested_rps) == (120.0, 1.0)
