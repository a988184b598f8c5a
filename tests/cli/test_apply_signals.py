"""`boifi apply` in a real process: SIGTERM and SIGINT halt the fault, mark the run and exit 128+signum."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from executor import EmbeddedExecutor
from storage import RunStatus
from tests.cli.processes import active_faults, boifi, clean_env, read_until, runs_in
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
