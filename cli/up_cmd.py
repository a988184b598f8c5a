"""`boifi up`: the embedded executor with its demo services, plus the dashboard."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated

import typer

from cli.exit_codes import ExitCode
from cli.output import err
from cli.signals import StopSignals

PROJECT_ROOT = Path(__file__).resolve().parent.parent
APP_PATH = PROJECT_ROOT / "Home.py"
# The dashboard halts its runs on the way out, each bounded by the runner's shutdown timeout; allow for that.
DASHBOARD_STOP_MARGIN_S = 15.0
PASSWORD_ENV = "BOIFI_DASHBOARD_PASSWORD"  # read by dashboard/auth.py
TOKEN_ENV = "BOIFI_AUTH_TOKEN"  # the dashboard's client sends it as `Authorization: Bearer`
_HOW_TO_LOG_IN = (
    f"set {PASSWORD_ENV}, or configure Streamlit's OIDC login in an [auth] section of .streamlit/secrets.toml"
)


def secrets_files(home: Path | None = None) -> list[Path]:
    """Return where Streamlit reads `secrets.toml` for the dashboard: the user's, then the project's."""
    return [base / ".streamlit" / "secrets.toml" for base in (home or Path.home(), PROJECT_ROOT)]


def oidc_configured(paths: Sequence[Path]) -> bool:
    """Tell whether one of the secrets files has an `[auth]` section (Streamlit's `st.login`)."""
    for path in paths:
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue  # absent or unreadable: Streamlit ignores it too
        if isinstance(document.get("auth"), dict) and document["auth"]:
            return True
    return False


def login_configured(environ: Mapping[str, str], paths: Sequence[Path]) -> bool:
    """Tell whether the dashboard will ask for a login: a shared password or an OIDC `[auth]` section."""
    return bool(environ.get(PASSWORD_ENV)) or oidc_configured(paths)


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

    The embedded executor requires a fresh random token, handed to the dashboard in BOIFI_AUTH_TOKEN. Off
    loopback, a dashboard login must be configured (BOIFI_DASHBOARD_PASSWORD or an OIDC [auth] secrets
    section), else `up` refuses to start (exit 2) before anything binds.

    SIGINT and SIGTERM are passed on to the dashboard, which halts and marks its runs in flight; the
    embedded executor stops only after that, so that the halts still reach it.
    """
    from client.redaction import redact_url
    from executor.control.host_names import is_loopback_host
    from services.runner import SHUTDOWN_TIMEOUT_SEC

    stop_timeout_s = SHUTDOWN_TIMEOUT_SEC + DASHBOARD_STOP_MARGIN_S
    env = dict(os.environ)
    if not is_loopback_host(host) and not login_configured(env, secrets_files()):
        err(f"error: --host {host or repr(host)} is reachable from other machines: {_HOW_TO_LOG_IN}")
        raise typer.Exit(ExitCode.BAD_SETTINGS)  # before anything binds
    exit_code = 0
    with contextlib.ExitStack() as stack:
        stop = stack.enter_context(StopSignals())  # entered first, so it also guards the shutdown
        if not env.get("BOIFI_EXECUTOR_URL"):
            from executor import EmbeddedExecutor, ExecutorSettings

            token = secrets.token_urlsafe(32)  # fresh each start; only the dashboard is given it, never shown
            settings = ExecutorSettings(host=host, port=executor_port, demo=True, seed=seed, token=token)
            executor = stack.enter_context(EmbeddedExecutor(settings))
            env["BOIFI_EXECUTOR_URL"] = executor.base_url
            env[TOKEN_ENV] = token
            env["BOIFI_EMBEDDED_EXECUTOR"] = "1"
            typer.echo(f"embedded executor: {executor.base_url}")
            for name in executor.service_names():
                typer.echo(f"  service {name}: {executor.proxy_url(name)}")
        else:
            typer.echo(f"Executor: {redact_url(env['BOIFI_EXECUTOR_URL'])}")
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
