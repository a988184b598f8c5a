"""The ``boifi executor`` command, run for real in a subprocess and stopped with SIGTERM."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner

from cli.executor_cmd import parse_services, register
from tests.executor.upstream import counting_upstream

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import typer
from cli.executor_cmd import register
app = typer.Typer()
@app.callback()
def main() -> None:
    pass
register(app)
app()
"""


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Test harness."""

    register(app)
    return app


@contextlib.contextmanager
def _running_executor(*args: str) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """Start ``boifi executor ARGS`` in a subprocess; yield it with the lines it printed up to "press Ctrl-C".

    Killed on the way out if the test did not stop it.
    """
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, "executor", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        while not lines or not lines[-1].startswith("press Ctrl-C"):
            line = process.stdout.readline()
            assert line, process.stderr.read() if process.stderr else "no output"
            lines.append(line.strip())
        yield process, lines
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


@pytest.mark.slow
def test_executor_command_serves_until_sigterm(http: httpx.Client) -> None:
    with (
        counting_upstream() as upstream,
        _running_executor("--port", "0", "--seed", "3", "--service", f"real={upstream.url}") as running,
    ):
        process, lines = running
        control = lines[0].removeprefix("control API: ")
        assert http.get(control + "/v1/health").json() == {"status": "healthy"}
        names = [line.split(":", 1)[0].removeprefix("service ") for line in lines[1:-1]]
        assert names == ["real", "gateway", "orders", "payment", "inventory"]
        real_url = lines[1].split(": ", 1)[1]
        assert http.get(real_url + "/hello").json()["path"] == "/hello"
        process.send_signal(signal.SIGTERM)
        out, _err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "executor stopped" in out


@pytest.mark.slow
def test_a_burst_of_sigterms_still_stops_the_executor_cleanly() -> None:
    # As when `uv run` forwards a signal the terminal also delivered, many times over: the shutdown must
    # neither deadlock in the signal handler nor be cut short by a later signal.
    with _running_executor("--port", "0", "--no-demo") as (process, _lines):
        for _ in range(50):
            process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "executor stopped" in out


def test_bad_service_option_is_a_usage_error() -> None:
    result = CliRunner().invoke(_app(), ["executor", "--service", "nourl"])
    assert result.exit_code == 2
    assert "NAME=http://host:port" in result.output


def test_busy_port_exits_with_an_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(_app(), ["executor", "--port", str(port), "--no-demo"])
    assert result.exit_code == 1
    assert "cannot start control API" in result.output


def test_parse_services() -> None:
    assert parse_services(["a=http://127.0.0.1:1", "b=https://x"]) == {
        "a": "http://127.0.0.1:1",
        "b": "https://x",
    }
    with pytest.raises(typer.BadParameter):
        parse_services(["=http://x"])
