"""The ``boifi executor`` command: run the embedded executor until interrupted."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from cli.exit_codes import ExitCode
from cli.output import err
from cli.signals import StopSignals

if TYPE_CHECKING:  # imported in the bodies: `boifi --help` must not load the executor (aiohttp)
    from executor import ExecutorSettings

__all__ = ["parse_services", "read_token", "register", "run_executor"]

TOKEN_ENV = "BOIFI_EXECUTOR_TOKEN"
_HOW_TO_SET_A_TOKEN = f"pass --token-file PATH or set {TOKEN_ENV}"


def parse_services(values: list[str]) -> dict[str, str]:
    """Parse repeated ``NAME=URL`` options; raise typer.BadParameter on a malformed one or on credentials."""
    from executor.settings import check_service_url

    services: dict[str, str] = {}
    for value in values:
        name, sep, url = value.partition("=")
        if not sep or not name or not url.startswith(("http://", "https://")):
            if "@" in value:  # do not echo what may be a password
                raise typer.BadParameter("expected NAME=http://host:port", param_hint="--service")
            raise typer.BadParameter(f"expected NAME=http://host:port, got {value!r}", param_hint="--service")
        try:
            check_service_url(name, url)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--service") from exc
        services[name] = url
    return services


def _fail(message: str) -> typer.Exit:
    err(f"error: {message}")
    return typer.Exit(code=ExitCode.BAD_SETTINGS)


def read_token(token: str | None, token_file: Path | None) -> str | None:
    """Return the token of --token, --token-file or BOIFI_EXECUTOR_TOKEN; raise typer.Exit(2) on a bad one."""
    if token is not None and token_file is not None:
        raise _fail("give --token or --token-file, not both")
    if token_file is not None:
        try:
            text = token_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
            raise _fail(f"cannot read --token-file {token_file}: {reason}") from exc
        token = text.removesuffix("\n").removesuffix("\r")
        if not token:
            raise _fail(f"--token-file {token_file} is empty")
    if token is None:
        token = os.environ.get(TOKEN_ENV) or None
    return token


def run_executor(
    settings: ExecutorSettings,
    *,
    echo: Callable[[str], None] = typer.echo,
) -> None:
    """Start the executor, print its URLs, block until SIGINT or SIGTERM and stop cleanly."""
    from executor import EmbeddedExecutor

    with StopSignals() as stop, EmbeddedExecutor(settings) as ex:
        echo(f"control API: {ex.base_url}")
        for name in ex.service_names():
            echo(f"service {name}: {ex.proxy_url(name)}")
        echo("press Ctrl-C to stop")
        stop.wait()
    echo("executor stopped")


def register(app: typer.Typer) -> None:
    """Add the ``executor`` command to ``app``."""

    @app.command("executor")
    def executor_command(
        host: str = typer.Option("127.0.0.1", help="Interface to bind (loopback by default)."),
        port: int = typer.Option(8000, help="Control API port, the client's default (0: any free)."),
        proxy_port: int = typer.Option(0, help="Fault proxy port (0 picks a free one)."),
        demo: bool = typer.Option(True, "--demo/--no-demo", help="Run the demo shop services."),
        service: list[str] = typer.Option(  # noqa: B008
            [], "--service", help="NAME=URL of a real upstream to put behind the proxy (repeatable)."
        ),
        seed: int | None = typer.Option(None, help="Seed of the random source, for reproducible runs."),
        rate_rps: float = typer.Option(50.0, help="Default load-driver rate in requests per second."),
        token: str | None = typer.Option(
            None,
            help=f"Bearer token the control API requires (prefer --token-file or {TOKEN_ENV}: other "
            "users can read a command line).",
        ),
        token_file: Path | None = typer.Option(  # noqa: B008
            None, help="File holding the token (a mounted secret); one trailing newline is ignored."
        ),
        allowed_host: list[str] = typer.Option(  # noqa: B008
            [], "--allowed-host", help="Extra host name the control API answers to (repeatable)."
        ),
    ) -> None:
        """Run the embedded executor: control API, fault proxy and demo services."""
        from executor import ExecutorSettings, ExecutorStartError

        services = parse_services(service)
        secret = read_token(token, token_file)
        try:
            settings = ExecutorSettings(
                host=host,
                port=port,
                proxy_port=proxy_port,
                demo=demo,
                services=services,
                seed=seed,
                default_rate_rps=rate_rps,
                token=secret,
                allowed_hosts=allowed_host,
            )
        except ValueError as exc:
            raise _fail(str(exc)) from exc
        if secret is None and not settings.on_loopback:
            where = f"--host {host}" if host else "--host ''"
            raise _fail(f"{where} is reachable from other machines: set a token ({_HOW_TO_SET_A_TOKEN})")
        try:
            run_executor(settings)
        except ExecutorStartError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(code=1) from exc
