"""Crash safety: a run whose owner died is interrupted by recovery and its fault removed from the Executor."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

import storage
from client import HttpExecutorClient
from executor import EmbeddedExecutor
from services.recovery import recover_orphaned_runs
from storage import RunStatus
from tests.services.conftest import fast_config
from tests.waiting import wait_until

PLAN = {
    "service": "payment",
    "api": "/api/v1/payment/process",
    "fault_type": "abort",
    "abort_http_status": 503,
    "percentage": 10,
    "duration_seconds": 120,
}


def _policy_names(base_url: str) -> set[str]:
    body = httpx.get(f"{base_url}/v1/policies", timeout=5).json()
    return {policy["metadata"]["name"] for policy in body["policies"]}


@pytest.mark.slow
def test_kill_9_mid_run_then_recover_interrupts_the_run_and_removes_the_policy(
    executor: EmbeddedExecutor, tmp_path: Path
) -> None:
    database_url = f"sqlite:///{tmp_path / 'crash.db'}"
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(PLAN), encoding="utf-8")
    env = dict(os.environ)
    env.update(
        {
            "BOIFI_EXECUTOR_URL": executor.base_url,
            "BOIFI_API_MODE": "policy",
            "BOIFI_PROBE_URL": executor.proxy_url("payment"),
            "BOIFI_POLICY_PROPAGATION_SEC": "0",
            "BOIFI_DATABASE_URL": database_url,
        }
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "apply", str(plan_file)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    engine = storage.make_engine(database_url)
    try:
        wait_until(
            lambda: any(name.startswith("boifi-") for name in _policy_names(executor.base_url)),
            timeout=90,  # a boifi process starting up on a busy machine (with xdist, another worker's load)
            interval=0.1,
            what="the run's policy on the executor",
        )
        with Session(engine) as session:
            (run,) = storage.list_runs(session)
        assert run.status == RunStatus.RUNNING
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        with Session(engine) as session:  # until the lease below (1 s) has run out on the killed run
            wait_until(
                lambda: storage.orphaned_runs(session, lease_sec=1), interval=0.1, what="the lease to run out"
            )
        result = subprocess.run(
            [sys.executable, "-m", "cli", "runs", "recover", "--lease-sec", "1", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        (recovered,) = json.loads(result.stdout)
        assert recovered["run_id"] == run.id
        assert recovered["fault_removed"] is True
        with Session(engine) as session:
            after = storage.get_run(session, run_id=int(run.id))  # type: ignore[arg-type]
        assert after is not None and after.run.status == RunStatus.INTERRUPTED
        assert not any(name.startswith("boifi-") for name in _policy_names(executor.base_url))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        engine.dispose()


def test_recovery_leaves_runs_of_a_live_owner_alone(executor: EmbeddedExecutor, engine: Engine) -> None:
    with Session(engine) as session:
        run = storage.create_run(
            session,
            plan=PLAN,
            executor_url=executor.base_url,
            api_mode="extended",
            apply_key="run-live",
            owner="other-host:1:live",
        )
        run_id = int(run.id)  # type: ignore[arg-type]
        storage.mark_running(session, run_id=run_id)
        storage.heartbeat(session, run_ids=[run_id], owner="other-host:1:live")
    with HttpExecutorClient(fast_config(executor.base_url)) as client:
        fresh = recover_orphaned_runs(engine=engine, client_for=lambda url, mode: client, lease_sec=30)
        later = datetime.now(UTC) + timedelta(seconds=60)
        stale = recover_orphaned_runs(
            engine=engine, client_for=lambda url, mode: client, lease_sec=30, now=lambda: later
        )
    assert fresh == []
    assert [r.run_id for r in stale] == [run_id]
    assert stale[0].detail == "no fault id was recorded"


# A long, light fault whose run recovery must clean up (5 % aborts at 1 request a second for 2 minutes).
LONG_FAULT = {
    "service": "inventory",
    "api": "/api/v1/inventory/check",
    "fault_type": "abort",
    "percentage": 5,
    "duration_seconds": 120,
    "fault_config": {"http_status_code": 503},
    "load": {"rate_rps": 1},
}


def test_recovery_finds_an_unrecorded_fault_by_its_apply_key(
    executor: EmbeddedExecutor, engine: Engine
) -> None:
    applied = httpx.post(
        f"{executor.base_url}/v1/faults/apply",
        json=LONG_FAULT,
        headers={"Idempotency-Key": "run-crashed"},
        timeout=5,
    )
    apply_id = applied.json()["apply_id"]
    long_ago = datetime.now(UTC) - timedelta(minutes=10)
    with Session(engine) as session:
        run = storage.create_run(
            session,
            plan=PLAN,
            executor_url=executor.base_url,
            api_mode="extended",
            apply_key="run-crashed",
            owner="dead-host:1:gone",
            now=long_ago,
        )
        storage.mark_running(session, run_id=int(run.id), now=long_ago)  # type: ignore[arg-type]
    with HttpExecutorClient(fast_config(executor.base_url)) as client:
        (result,) = recover_orphaned_runs(engine=engine, client_for=lambda url, mode: client, lease_sec=30)
        remaining = [fault.fault_id for fault in client.list_active_faults()]
    assert result.fault_id == apply_id and result.fault_removed is True
    assert apply_id not in remaining


def _active_keys(base_url: str) -> set[str]:
    faults = httpx.get(f"{base_url}/v1/faults", timeout=5).json()["faults"]
    return {f["idempotency_key"] for f in faults if f["status"] in ("pending", "running")}


@pytest.mark.slow
@pytest.mark.parametrize("status", [RunStatus.FAILED, RunStatus.GUARDRAIL_STOP])
def test_recovery_halts_the_fault_a_failed_direct_run_left_active(
    executor: EmbeddedExecutor, engine: Engine, status: RunStatus
) -> None:
    """A direct apply that timed out or was stopped (its own halt not through) leaves its fault injecting."""
    key = f"run-direct-{status.value}"
    url = f"{executor.base_url}/api/v1/faults/apply"
    with contextlib.suppress(httpx.ReadTimeout):  # a direct POST answers when its fault has run its course
        httpx.post(url, json=LONG_FAULT, headers={"Idempotency-Key": key}, timeout=0.5)
    assert key in _active_keys(executor.base_url)
    with Session(engine) as session:
        run = storage.create_run(
            session, plan=PLAN, executor_url=executor.base_url, api_mode="direct", apply_key=key, owner="me"
        )
        run_id = int(run.id)  # type: ignore[arg-type]
        storage.mark_running(session, run_id=run_id)
        storage.finish_run(session, run_id=run_id, status=status, error="apply: timed out")
    try:
        with HttpExecutorClient(fast_config(executor.base_url, api_mode="direct")) as client:
            (result,) = recover_orphaned_runs(engine=engine, client_for=lambda url, mode: client)
            again = recover_orphaned_runs(engine=engine, client_for=lambda url, mode: client)
    finally:
        for fault in httpx.get(f"{executor.base_url}/v1/faults", timeout=5).json()["faults"]:
            if fault["idempotency_key"] == key:
                httpx.delete(f"{executor.base_url}/v1/faults/{fault['apply_id']}", timeout=5)
    assert result.run_id == run_id and result.fault_removed is True and result.run_status == status.value
    assert key not in _active_keys(executor.base_url)
    assert again == []
    with Session(engine) as session:
        after = storage.get_run(session, run_id=run_id)
    assert after is not None and after.run.status == status  # recovery does not rewrite history


def test_recovery_asks_no_executor_about_runs_whose_faults_have_expired(engine: Engine) -> None:
    long_ago = datetime.now(UTC) - timedelta(hours=3)
    with Session(engine) as session:
        for status in (RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.COMPLETED):
            run = storage.create_run(
                session,
                plan=PLAN,
                executor_url="http://127.0.0.1:9",
                api_mode="direct",
                apply_key=f"old-{status.value}",
                owner="me",
                now=long_ago,
            )
            storage.finish_run(session, run_id=int(run.id), status=status, now=long_ago)  # type: ignore[arg-type]
    asked: list[tuple[str, str]] = []

    def client_for(url: str, mode: str) -> None:
        asked.append((url, mode))

    assert recover_orphaned_runs(engine=engine, client_for=client_for) == []
    assert asked == []
