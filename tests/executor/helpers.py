"""Shared by the executor tests: apply bodies, policies, polling, and an executor in its own process."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from executor import EmbeddedExecutor
from tests.executor.virtual_clock import VirtualClock
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]

# One request every 100 ms for a 1-second fault (see test_fault_api for why not faster).
RATE_RPS = 10
REQUESTS = 10
# What every JSON client sends with a body; the control API refuses a body of any other type (415).
JSON_TYPE = {"Content-Type": "application/json"}


def fault_body(**overrides: Any) -> dict[str, Any]:
    """Return a valid family B/C body (an abort on service ``api``), with ``overrides`` applied."""
    body: dict[str, Any] = {
        "service": "api",
        "api": "/work",
        "method": "GET",
        "fault_type": "abort",
        "percentage": 100,
        "duration_seconds": 1,
        "fault_config": {"http_status_code": 503},
        "load": {"rate_rps": RATE_RPS},
    }
    body.update(overrides)
    return body


def policy(name: str, *, match: dict[str, Any], fault: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return a family A policy with one rule (by default: abort 503 for every matched request)."""
    action = fault if fault is not None else {"percentage": 100, "abort": {"httpStatus": 503}}
    return {
        "metadata": {"name": name, "version": "1.0.0"},
        "spec": {"rules": [{"match": match, "fault": action}]},
    }


def wait_final(
    http: httpx.Client, ex: EmbeddedExecutor | str, apply_id: str, clock: VirtualClock | None = None
) -> dict[str, Any]:
    """Poll a fault's metrics until they are final (letting ``clock`` run meanwhile); return them."""
    base = ex if isinstance(ex, str) else ex.base_url

    def final() -> dict[str, Any] | None:
        metrics: dict[str, Any] = http.get(base + f"/v1/faults/{apply_id}/metrics").json()
        return metrics if metrics["final"] else None

    with clock.running() if clock is not None else contextlib.nullcontext():
        interval = 0.05 if clock is None else 0.01
        return wait_until(final, timeout=60, interval=interval, what=f"final metrics of {apply_id}")


_CHILD = """
import sys
from executor import EmbeddedExecutor, ExecutorSettings
settings = ExecutorSettings(demo=False, seed=1, services={"api": sys.argv[1]})
with EmbeddedExecutor(settings) as ex:
    print(ex.base_url, ex.proxy_url("api"), flush=True)
    sys.stdin.readline()
"""


@contextlib.contextmanager
def executor_process(upstream_url: str) -> Iterator[tuple[str, str]]:
    """Run an executor fronting ``api`` in a child process; yield its control and proxy base URLs.

    A test whose failure mode is an executor that freezes its process (a regex holding the interpreter lock)
    needs it out of the test's own process, so that the test can time out and report.
    """
    process = subprocess.Popen(
        [sys.executable, "-c", _CHILD, upstream_url],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stdin is not None
        line = process.stdout.readline()
        assert line, process.stderr.read() if process.stderr else "no output"
        control, proxy = line.split()
        yield control, proxy
        process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                stream.close()
