"""`boifi apply plan --embedded` with phases, an observed entry point and a hypothesis, in a real process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cli.exit_codes import ExitCode
from tests.cli.processes import clean_env, run_boifi, runs_in
from tests.plans import PLAN_FILE_BODY

pytestmark = pytest.mark.slow

CHECKOUT = {"service": "gateway", "api": "/api/v1/checkout", "method": "POST"}
EXPERIMENT: dict[str, Any] = {
    **PLAN_FILE_BODY,  # a 10 ms payment delay on half the calls for 1 s: the gateway copes
    "baseline_seconds": 1,
    "recovery_seconds": 1,
    "observe": CHECKOUT,
    "hypothesis": {"max_p99_ms": 5000},
}


def _apply(tmp_path: Path, plan: dict[str, Any], *args: str) -> tuple[Any, str]:
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(json.dumps(plan), encoding="utf-8")
    database_url = f"sqlite:///{tmp_path / 'apply.db'}"
    env = clean_env(BOIFI_POLL_INTERVAL_SEC="0.1", BOIFI_POLICY_PROPAGATION_SEC="0.2")
    done = run_boifi("apply", str(plan_path), "--embedded", "--database-url", database_url, *args, env=env)
    assert "Traceback" not in done.stderr, done.stderr
    return done, database_url


def test_a_hypothesis_that_holds_prints_held_with_its_phases_and_exits_0(tmp_path: Path) -> None:
    done, _ = _apply(tmp_path, EXPERIMENT)
    assert done.returncode == ExitCode.OK, done.stdout + done.stderr
    assert "  verdict    held" in done.stdout
    assert "  observed   gateway POST /api/v1/checkout" in done.stdout
    table = [
        line.split() for line in done.stdout.splitlines() if line.split()[1:2] and line.split()[1].isdigit()
    ]
    assert [row[0] for row in table] == ["baseline", "fault", "recovery"], done.stdout
    assert all(int(row[1]) > 0 for row in table), done.stdout  # each phase's sample count
    assert "fault minus baseline, with 95 % intervals:" in done.stdout
    assert any("baseline " in line for line in done.stderr.splitlines() if line.startswith("run "))


def test_json_carries_the_verdict_and_each_phase_in_policy_mode(tmp_path: Path) -> None:
    done, _ = _apply(tmp_path, EXPERIMENT, "--json", "--api-mode", "policy")
    assert done.returncode == ExitCode.OK, done.stderr
    run = json.loads(done.stdout)["run"]
    assert run["verdict"] == "held" and run["status"] == "completed"
    assert list(run["phases"]) == ["baseline", "fault", "recovery"]
    assert all(phase["sample_count"] > 0 for phase in run["phases"].values()), run["phases"]
    assert run["severity_score"] is not None


def test_a_failing_baseline_exits_10_and_never_applies_the_fault(tmp_path: Path) -> None:
    plan = {**EXPERIMENT, "hypothesis": {"max_p99_ms": 0.001}}  # no request is that fast
    done, database_url = _apply(tmp_path, plan, "--json")
    assert done.returncode == ExitCode.BASELINE_FAILED, done.stderr
    run = json.loads(done.stdout)["run"]
    assert run["verdict"] == "baseline_failed" and run["status"] == "completed"
    assert list(run["phases"]) == ["baseline"] and run["phases"]["baseline"]["sample_count"] > 0
    assert run["deviations"][0]["measure"] == "p99_latency_ms"
    [stored] = runs_in(database_url)
    assert not stored.fault_id and not run["fault_id"]
