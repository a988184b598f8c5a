"""`boifi --help` starts at once: importing the command line loads none of the heavy libraries."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

import storage
from cli.exit_codes import ExitCode, verdict_exit_code
from cli.main import app
from cli.runs_cmd import RUN_STATUSES, RUN_VERDICTS
from client import ExperimentVerdict

HEAVY = ("sqlalchemy", "sqlmodel", "alembic", "aiohttp", "numpy", "httpx", "pandas", "streamlit", "rich")


def _modules_after(code: str) -> set[str]:
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def _roots(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def test_importing_the_command_line_loads_no_heavy_library() -> None:
    assert _roots(_modules_after("import cli.main")) & set(HEAVY) == set()


@pytest.mark.parametrize("args", [[], ["apply"], ["runs"], ["runs", "list"], ["executor"], ["up"]])
def test_help_loads_no_heavy_library(args: list[str]) -> None:
    code = (
        "import contextlib, io\nfrom cli.main import app\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        f"    app({[*args, '--help']!r}, prog_name='boifi')"
    )
    assert _roots(_modules_after(code)) & set(HEAVY) == set()


def test_the_status_help_names_every_run_status() -> None:
    assert list(RUN_STATUSES) == [status.value for status in storage.RunStatus]


def test_the_verdict_help_and_exit_codes_name_every_verdict() -> None:
    assert sorted(RUN_VERDICTS) == sorted(verdict.value for verdict in ExperimentVerdict)
    codes = {verdict: verdict_exit_code(verdict.value) for verdict in ExperimentVerdict}
    assert codes == {
        ExperimentVerdict.HELD: ExitCode.OK,
        ExperimentVerdict.DEVIATED: 8,
        ExperimentVerdict.NOT_RECOVERED: 9,
        ExperimentVerdict.BASELINE_FAILED: 10,
        ExperimentVerdict.GUARDRAIL_STOP: ExitCode.RUN_FAILED,  # as the guardrail_stop status exits
    }
    assert verdict_exit_code(None) == ExitCode.OK  # no hypothesis


def test_help_shows_each_command_in_full() -> None:
    result = CliRunner().invoke(app, ["--help"], terminal_width=80)
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "Apply one fault plan, show progress, store the run and print its observation." in text
    assert "the dashboard until Ctrl-C." in text
