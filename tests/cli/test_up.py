"""`boifi up`, the README's first command after installing: executor, demo services and dashboard together."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 90


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _refuses(url: str) -> bool:
    try:
        httpx.get(url, timeout=2)
    except httpx.ConnectError:
        return True
    return False


@pytest.mark.slow
def test_up_serves_executor_and_dashboard_then_stops_everything_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("BOIFI_")}
    env["BOIFI_DATABASE_URL"] = f"sqlite:///{tmp_path / 'console.db'}"
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "up", "--port", str(port), "--seed", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        while not lines or not lines[-1].startswith("dashboard: "):
            line = process.stdout.readline()
            assert line, "\n".join(lines)
            lines.append(line.strip())
        executor_url = lines[0].removeprefix("embedded executor: ")
        dashboard_url = lines[-1].removeprefix("dashboard: ")
        assert dashboard_url == f"http://127.0.0.1:{port}"
        assert httpx.get(executor_url + "/v1/health").json() == {"status": "healthy"}
        services = [line.split(":", 1)[0].removeprefix("service ") for line in lines[1:-1]]
        assert services == ["gateway", "orders", "payment", "inventory"]
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            assert process.poll() is None, process.stdout.read()
            try:
                if httpx.get(dashboard_url + "/_stcore/health", timeout=1).text == "ok":
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the dashboard did not become ready"
            time.sleep(0.2)
        for _ in range(3):  # a repeated SIGTERM must not cut the shutdown short
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert _refuses(dashboard_url + "/_stcore/health")
    assert _refuses(executor_url + "/v1/health")
