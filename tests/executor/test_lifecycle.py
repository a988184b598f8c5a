"""Starting, stopping and misbehaving clients leave the process healthy and nothing behind."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from pathlib import Path

import aiohttp
import httpx
import pytest

from executor import EmbeddedExecutor, ExecutorRuntime, ExecutorSettings, ExecutorStartError
from tests.waiting import wait_until, wait_until_async


def _socket_fds() -> set[str]:
    fds = set()
    for entry in Path("/proc/self/fd").iterdir():
        try:
            if os.readlink(entry).startswith("socket:"):
                fds.add(entry.name)
        except OSError:
            continue
    return fds


DELAY_FAULT = {
    "service": "payment",
    "api": "/api/v1/payment/process",
    "fault_type": "delay",
    "percentage": 100,
    "duration_seconds": 600,
    "fault_config": {"delay_milliseconds": 600_000},
    "load": {"rate_rps": 5},
}


def test_stopping_during_an_active_fault_leaves_no_task_or_socket() -> None:
    before = _socket_fds()

    async def scenario() -> None:
        async with (
            ExecutorRuntime(ExecutorSettings(demo=True, seed=1)) as runtime,
            aiohttp.ClientSession() as session,
        ):
            async with session.post(runtime.base_url + "/v1/faults/apply", json=DELAY_FAULT) as response:
                assert response.status == 200
            held = asyncio.ensure_future(
                session.post(runtime.proxy_url("payment") + "/api/v1/payment/process")
            )
            await wait_until_async(lambda: runtime.counters.proxied["payment"] >= 2, what="two proxied calls")
            await runtime.stop()
            await asyncio.gather(held, return_exceptions=True)
            assert runtime.fault_store.active_count() == 0
        assert asyncio.all_tasks() == {asyncio.current_task()}

    asyncio.run(scenario())
    assert _socket_fds() <= before


def test_embedded_executor_stops_its_thread_and_frees_its_ports(http: httpx.Client) -> None:
    threads_before = set(threading.enumerate())
    ex = EmbeddedExecutor(ExecutorSettings(demo=True))
    ex.start()
    port = int(ex.base_url.rsplit(":", 1)[1])
    assert http.get(ex.base_url + "/v1/ready").status_code == 200
    ex.stop()
    ex.stop()  # idempotent
    assert not ex.running
    assert set(threading.enumerate()) <= threads_before
    with socket.socket() as probe:  # binds only if nothing listens there any more
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
        probe.listen()
    with pytest.raises(ExecutorStartError):
        _ = ex.base_url


def test_starting_on_a_busy_port_fails_clearly() -> None:
    with EmbeddedExecutor(ExecutorSettings(demo=False)) as first:
        port = int(first.base_url.rsplit(":", 1)[1])
        second = EmbeddedExecutor(ExecutorSettings(demo=False, port=port))
        with pytest.raises(ExecutorStartError, match=f"control API on 127.0.0.1:{port}"):
            second.start()
        assert not second.running
        with pytest.raises(ExecutorStartError, match="already started"):
            first.start()


def test_a_restarted_executor_has_no_fault_active(http: httpx.Client) -> None:
    with EmbeddedExecutor(ExecutorSettings(demo=True, seed=2)) as first:
        port = int(first.base_url.rsplit(":", 1)[1])
        http.post(first.base_url + "/v1/faults/apply", json=DELAY_FAULT)
        policy = {
            "metadata": {"name": "stay"},
            "spec": {
                "rules": [
                    {
                        "match": {"path": {"prefix": "/"}},
                        "fault": {"percentage": 100, "abort": {"httpStatus": 500}},
                    }
                ]
            },
        }
        http.post(first.base_url + "/v1/policies", json=policy)
    with EmbeddedExecutor(ExecutorSettings(demo=True, seed=2, port=port)) as second:
        assert http.get(second.base_url + "/v1/faults").json() == {"faults": []}
        assert http.get(second.base_url + "/v1/policies").json() == {"policies": []}
        assert "boifi_executor_active_faults 0" in http.get(second.base_url + "/metrics").text
        assert http.post(second.proxy_url("payment") + "/api/v1/payment/process").status_code in (200, 500)


def test_clients_disconnecting_mid_request_leave_the_executor_healthy(http: httpx.Client) -> None:
    with EmbeddedExecutor(ExecutorSettings(demo=True, seed=4)) as ex:
        http.post(ex.base_url + "/v1/faults/apply", json=DELAY_FAULT)
        host, port = ex.proxy_url("payment").split("//")[1].split("/")[0].split(":")
        for partial in (
            b"POST /s/payment/api/v1/payment/process HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
            b"POST /s/payment/api/v1/payment/process HTTP/1.1\r\nContent-Length: 100\r\n\r\n{",
        ):
            with socket.create_connection((host, int(port))) as raw:
                raw.sendall(partial)
        sse = socket.create_connection(("127.0.0.1", int(ex.base_url.rsplit(":", 1)[1])))
        sse.sendall(b"GET /v1/config/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        sse.recv(1024)
        sse.close()
        assert http.get(ex.base_url + "/v1/health").status_code == 200
        assert http.get(ex.proxy_url("inventory") + "/api/v1/inventory/check").status_code in (200, 500)
        faults = http.get(ex.base_url + "/v1/faults").json()["faults"]
        http.delete(ex.base_url + f"/v1/faults/{faults[0]['apply_id']}")


def test_shutdown_answers_a_waiting_direct_apply(http: httpx.Client) -> None:
    ex = EmbeddedExecutor(ExecutorSettings(demo=True, seed=6))
    ex.start()
    outcome: list[object] = []

    def call() -> None:
        try:
            outcome.append(http.post(ex.base_url + "/api/v1/faults/apply", json=DELAY_FAULT).json()["status"])
        except httpx.HTTPError as exc:
            outcome.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    wait_until(
        lambda: ex.call(lambda: ex.runtime.fault_store.records()), interval=0.01, what="the fault stored"
    )
    ex.stop()
    caller.join(timeout=30)
    assert not caller.is_alive()
    assert outcome and (outcome[0] == "cancelled" or isinstance(outcome[0], httpx.HTTPError))


@pytest.mark.parametrize(
    ("services", "message"),
    [
        ({"a/b": "http://127.0.0.1:1"}, "service name"),
        ({"api": "127.0.0.1:1"}, "http"),
        ({"payment": "http://127.0.0.1:1"}, "taken by a demo service"),
    ],
)
def test_bad_service_settings_fail_to_start_cleanly(services: dict[str, str], message: str) -> None:
    threads_before = set(threading.enumerate())
    with pytest.raises(ExecutorStartError, match=message):
        EmbeddedExecutor(ExecutorSettings(services=services)).start()
    assert set(threading.enumerate()) <= threads_before
