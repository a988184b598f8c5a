"""`boifi apply` says when a fault hit nothing, and why, instead of a plain "completed"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from cli.output import WARNING_PREFIX, describe_run
from executor import EmbeddedExecutor
from services import run_recording
from tests.cli.plan_files import write_plan
from tests.plans import PLAN_FILE_BODY

UNREACHED = {  # the products page never calls payment: a 100 % abort on payment can hit nothing
    **PLAN_FILE_BODY,
    "service": "payment",
    "api": "/api/v1/payment/process",
    "fault_type": "abort",
    "abort_http_status": 503,
    "percentage": 100,
    "duration_seconds": 1,
    "observe": {"service": "gateway", "api": "/api/v1/products", "method": "GET"},
}


def test_the_cli_and_the_services_agree_on_the_warning_prefix() -> None:
    assert WARNING_PREFIX == run_recording.WARNING_PREFIX


def test_a_completed_runs_warning_is_printed_as_a_warning_not_an_error() -> None:
    row = {"id": 1, "status": "completed", "fault_type": "abort", "percentage": 100, "service": "payment",
           "api": "/p", "duration_seconds": 1, "api_mode": "extended",
           "error": "warning: the fault hit none"}  # fmt: skip
    text = describe_run(row)
    assert "  warning    the fault hit none" in text.splitlines()
    assert "error" not in text.replace("error rate", "")
    failed = describe_run({**row, "status": "failed", "error": "boom", "error_class": "ExecutorHTTPError"})
    assert "  error      ExecutorHTTPError: boom" in failed.splitlines()


@pytest.mark.slow
def test_apply_of_a_plan_that_hits_nothing_prints_the_cause(
    cli: CliRunner,
    executor: EmbeddedExecutor,
    tmp_path: Path,
) -> None:
    plan = write_plan(tmp_path, {k: v for k, v in UNREACHED.items() if k != "delay_seconds"})
    result = cli.invoke(app, ["apply", str(plan), "--executor-url", executor.base_url])
    assert result.exit_code == 0, result.stderr
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("  warning")]
    assert "the fault hit none of the" in line and "may never call payment" in line
    as_json = cli.invoke(app, ["apply", str(plan), "--executor-url", executor.base_url, "--json"])
    assert "the fault hit none" in json.loads(as_json.stdout)["run"]["error"]
