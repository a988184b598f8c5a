"""`boifi apply` in a real process: SIGTERM and SIGINT halt the fault, mark the run and exit 128+signum."""

from __future__ import annotations

import json
import signal
import sqlite3
from pathlib import Path

import pytest

from cli.apply_cmd import STOP_BOUND_S
from executor import EmbeddedExecutor
from storage import RunStatus
from tests.cli.processes import active_faults, boifi, clean_env, read_until, runs_in
from tests.client.raw_servers import Action, Answer, DripHead, raw_serve
from tests.waiting import wait_until

LONG_PLAN = {
    "service": "payment",
    "api": "/api/v1/payment/process",
    "fault_type": "delay",
    "delay_seconds": 0.01,
    "percentage": 50,
    "duration_seconds": 300,
}

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("signum", "exit_code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"]
)
def test_a_stop_signal_halts_the_fault_marks_the_run_and_exits_128_plus_signum(
    executor: EmbeddedExecutor, tmp_path: Path, signum: signal.Signals, exit_code: int
) -> None:
    database_url = f"sqlite:///{tmp_path / 'apply.db'}"
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(json.dumps(LONG_PLAN), encoding="utf-8")
    command = ("apply", str(plan_path), "--executor-url", executor.base_url, "--database-url", database_url)
    with boifi(*command, env=clean_env(BOIFI_POLL_INTERVAL_SEC="0.1")) as process:
        read_until(process, lambda line: "submitted" in line)
        apply_key = wait_until(lambda: runs_in(database_url)[0].apply_key, what="the run row")
        wait_until(lambda: active_faults(executor.base_url, [apply_key]), what="the fault to be injecting")
        for _ in range(3):  # a repeated signal must not cut the cleanup short
            process.send_signal(signum)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == exit_code, output
    [run] = runs_in(database_url)
    assert run.status == RunStatus.CANCELLED, output
    assert run.stop_reason is not None and signum.name in run.stop_reason
    assert active_faults(executor.base_url, [apply_key]) == []
    assert f"run {run.id}: cancelled" in output


@pytest.mark.parametrize("locked", [False, True], ids=["database-fine", "database-locked"])
def test_sigterm_exits_within_the_documented_30_s_against_a_frozen_executor(
    tmp_path: Path, locked: bool
) -> None:
    # The Executor takes every request and never finishes an answer: the apply, and the halt, hang on it;
    # and (locked) another process holds the database's write lock from the signal on, past the busy timeout.
    path = tmp_path / "apply.db"
    database_url = f"sqlite:///{path}"
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(json.dumps(LONG_PLAN), encoding="utf-8")

    def frozen(method: str, path: str) -> Action:
        if path in ("/health", "/v1/health"):
            return Answer(200, {"status": "healthy"})
        return DripHead()  # a status line, then one header byte every 0.5 s, for ever

    lock = sqlite3.connect(path, timeout=60, isolation_level=None)
    try:
        with raw_serve(frozen) as server:
            command = ("apply", str(plan_path), "--executor-url", server.url, "--database-url", database_url)
            with boifi(*command, env=clean_env()) as process:
                read_until(process, lambda line: "submitted" in line)
                wait_until(lambda: server.requests("POST", "/v1/faults/apply"), what="the apply to hang")
                if locked:
                    lock.execute("BEGIN EXCLUSIVE")
                process.send_signal(signal.SIGTERM)
                output, _ = process.communicate(timeout=STOP_BOUND_S)  # README: exits within 30 s
    finally:
        if lock.in_transaction:
            lock.execute("ROLLBACK")
        lock.close()
    assert process.returncode == 143, output
    assert "Traceback" not in output
    if not locked:
        [run] = runs_in(database_url)
        assert run.status in (RunStatus.CANCELLED, RunStatus.INTERRUPTED), output
