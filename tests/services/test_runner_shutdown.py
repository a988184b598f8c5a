"""Shutting the runner down halts runs in flight, bounded in time, also when the dashboard's process exits."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

import storage
from client import ExecutorClientConfig, ExecutorClientError, FaultPlan, HttpExecutorClient
from executor import EmbeddedExecutor
from services.console import Console
from services.console_settings import ConsoleSettings
from services.runner import PROCESS_EXITING, Runner
from storage import RunStatus
from tests.cli.processes import ROOT, active_faults, clean_env, read_until, runs_in
from tests.plans import payment_delay
from tests.ports import free_port
from tests.services.conftest import fast_config
from tests.waiting import wait_until

# Builds the dashboard's process-wide console as a page would, launches a run into it, then serves the
# dashboard exactly as `streamlit run` does (Streamlit's own SIGTERM handling and exit path).
DASHBOARD_SCRIPT = """
import sys
from streamlit.web import cli
from client import FaultPlan
from dashboard.factories import get_console

run_id = get_console().runner.submit(FaultPlan.model_validate_json(sys.argv[1]))
print(f"run {run_id} submitted", flush=True)
sys.argv = ["streamlit", "run", "Home.py", "--server.address", "127.0.0.1", "--server.port", sys.argv[2],
            "--server.headless", "true", "--server.fileWatcherType", "none",
            "--browser.gatherUsageStats", "false"]
cli.main()
"""


def long_plan(service: str = "payment", api: str = "/api/v1/payment/process") -> FaultPlan:
    return payment_delay(service=service, api=api, delay_seconds=0.01, duration_seconds=300)


def run_row(engine: Engine, run_id: int) -> storage.Run:
    with Session(engine) as session:
        run = session.get(storage.Run, run_id)
    assert run is not None
    return run


@pytest.mark.slow
def test_closing_the_console_halts_every_run_in_flight_and_names_the_reason(
    executor: EmbeddedExecutor, engine: Engine
) -> None:
    console = Console(
        client_config=fast_config(executor.base_url),
        engine=engine,
        settings=ConsoleSettings(max_concurrent_runs=4),
        start_monitor=False,
    ).start()
    try:
        run_ids = [
            console.runner.submit(long_plan()),
            console.runner.submit(long_plan("inventory", "/api/v1/inventory/check")),
        ]
        keys = [run_row(engine, run_id).apply_key for run_id in run_ids]
        wait_until(lambda: len(active_faults(executor.base_url, keys)) == 2, what="both faults to be active")
    finally:
        console.close(reason="dashboard stopped by SIGTERM")
    for run_id in run_ids:
        run = run_row(engine, run_id)
        assert run.status == RunStatus.CANCELLED, run.error
        assert run.stop_reason == "dashboard stopped by SIGTERM"
    assert active_faults(executor.base_url, keys) == []


class _DeafClient(HttpExecutorClient):
    """A client whose apply ignores cancellation until released (an Executor that no longer answers)."""

    def __init__(self, config: ExecutorClientConfig) -> None:
        super().__init__(config)
        self.release = threading.Event()
        self.applying = threading.Event()

    def apply_and_observe(self, plan: FaultPlan, timeout_sec: float | None = None, **_: Any) -> Any:
        self.applying.set()
        self.release.wait(60)
        raise ExecutorClientError("released")


def test_a_run_that_does_not_stop_within_the_shutdown_timeout_is_marked_interrupted(engine: Engine) -> None:
    client = _DeafClient(ExecutorClientConfig(base_url="http://127.0.0.1:9"))
    runner = Runner(engine=engine, client=client, recover_on_start=False)
    runner.start()
    try:
        run_id = runner.submit(long_plan())
        assert client.applying.wait(10)
        runner.shutdown(timeout_sec=0.2, reason="console shut down")
        run = run_row(engine, run_id)
        assert run.status == RunStatus.INTERRUPTED
        assert run.error is not None and "did not stop within 0.2 s" in run.error
        with pytest.raises(RuntimeError, match="shut down"):
            runner.submit(long_plan())
    finally:
        client.release.set()
        runner.wait(run_id, timeout=10)
        client.close()


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_the_dashboard_process_halts_and_marks_its_runs_when_streamlit_stops_on_sigterm(
    executor: EmbeddedExecutor, tmp_path: Path
) -> None:
    database_url = f"sqlite:///{tmp_path / 'dashboard.db'}"
    port = free_port()
    env = clean_env(
        BOIFI_EXECUTOR_URL=executor.base_url, BOIFI_DATABASE_URL=database_url, BOIFI_POLL_INTERVAL_SEC="0.1"
    )
    plan = json.dumps(long_plan().model_dump(mode="json"))
    process = subprocess.Popen(
        [sys.executable, "-c", DASHBOARD_SCRIPT, plan, str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        read_until(process, lambda line: "submitted" in line)
        apply_key = runs_in(database_url)[0].apply_key
        wait_until(lambda: active_faults(executor.base_url, [apply_key]), what="the fault to be injecting")
        # Streamlit installs its signal handlers once its server is up: wait for that before signalling.
        wait_until(lambda: _healthy(f"http://127.0.0.1:{port}"), timeout=90, what="the dashboard server")
        for _ in range(3):
            process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    [run] = runs_in(database_url)
    assert run.status == RunStatus.CANCELLED, output
    assert run.stop_reason == PROCESS_EXITING
    assert active_faults(executor.base_url, [apply_key]) == []


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/_stcore/health", timeout=1).text == "ok"
    except httpx.HTTPError:
        return False
