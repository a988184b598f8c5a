"""`boifi up`: the embedded executor with its demo services, plus the dashboard."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.output import err
from cli.signals import StopSignals

PROJECT_ROOT = Path(__file__).resolve().parent.parent
APP_PATH = PROJECT_ROOT / "app.py"
# The dashboard halts its runs on the way out, each bounded by the runner's shutdown timeout; allow for that.
DASHBOARD_STOP_MARGIN_S = 15.0


def _stop_dashboard(process: subprocess.Popen[bytes], signum: int, timeout_s: float) -> int:
    """Pass `signum` on to the dashboard and wait `timeout_s` for it to halt its runs; then kill it.

    Return the exit code `boifi up` should end with: 0 when the dashboard stopped cleanly, else non-zero.
    """
    err("stopping the dashboard (halting its runs) ...")
    process.send_signal(signum)
    try:
        return 0 if process.wait(timeout=timeout_s) == 0 else 1
    except subprocess.TimeoutExpired:
        err(f"the dashboard did not stop within {timeout_s:g} s; killing it")
        process.kill()
        process.wait()
        return 1


def up(
    host: Annotated[str, typer.Option(help="Address the dashboard and executor bind to.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Dashboard port.")] = 8501,
    executor_port: Annotated[int, typer.Option(help="Embedded executor control port (0: any free).")] = 0,
    seed: Annotated[int | None, typer.Option(help="Seed of the embedded executor's random source.")] = None,
) -> None:
    """Start the embedded executor (unless BOIFI_EXECUTOR_URL is set) and the dashboard until Ctrl-C.

    SIGINT and SIGTERM are passed on to the dashboard, which halts and marks its runs in flight; the
    embedded executor stops only after that, so that the halts still reach it.
    """
    from services.runner import SHUTDOWN_TIMEOUT_SEC

    stop_timeout_s = SHUTDOWN_TIMEOUT_SEC + DASHBOARD_STOP_MARGIN_S
    env = dict(os.environ)
    exit_code = 0
    with contextlib.ExitStack() as stack:
        stop = stack.enter_context(StopSignals())  # entered first, so it also guards the shutdown
        if not env.get("BOIFI_EXECUTOR_URL"):
            from executor import EmbeddedExecutor, ExecutorSettings

            executor = stack.enter_context(
                EmbeddedExecutor(ExecutorSettings(host=host, port=executor_port, demo=True, seed=seed))
            )
            env["BOIFI_EXECUTOR_URL"] = executor.base_url
            env["BOIFI_EMBEDDED_EXECUTOR"] = "1"
            typer.echo(f"embedded executor: {executor.base_url}")
            for name in executor.service_names():
                typer.echo(f"  service {name}: {executor.proxy_url(name)}")
        else:
            typer.echo(f"Executor: {env['BOIFI_EXECUTOR_URL']}")
        if not APP_PATH.exists():
            err("the dashboard is not part of this build; the executor runs until Ctrl-C")
            stop.wait()
            return
        command = [
            sys.executable, "-m", "streamlit", "run", str(APP_PATH),
            "--server.address", host, "--server.port", str(port),
            "--server.headless", "true", "--browser.gatherUsageStats", "false",
        ]  # fmt: skip
        typer.echo(f"dashboard: http://{host}:{port}")
        process = subprocess.Popen(command, env=env, cwd=PROJECT_ROOT)
        try:
            while process.poll() is None and not stop.wait(0.5):
                pass
        finally:
            if process.poll() is None:
                exit_code = _stop_dashboard(process, stop.received or signal.SIGTERM, stop_timeout_s)
            elif stop.received is None:
                err(f"the dashboard exited with code {process.returncode}")
                exit_code = process.returncode if process.returncode > 0 else 1
    if exit_code:
        raise typer.Exit(exit_code)


def register(app: typer.Typer) -> None:
    app.command()(up)
