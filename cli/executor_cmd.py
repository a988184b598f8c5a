"""The ``boifi executor`` command: run the embedded executor until interrupted."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import typer

from cli.signals import StopSignals

if TYPE_CHECKING:  # imported in the bodies: `boifi --help` must not load the executor (aiohttp)
    from executor import ExecutorSettings

__all__ = ["parse_services", "register", "run_executor"]


def parse_services(values: list[str]) -> dict[str, str]:
    """Parse repeated ``NAME=URL`` options; raise typer.BadParameter on a malformed one."""
    services: dict[str, str] = {}
    for value in values:
        name, sep, url = value.partition("=")
        if not sep or not name or not url.startswith(("http://", "https://")):
            raise typer.BadParameter(f"expected NAME=http://host:port, got {value!r}", param_hint="--service")
        services[name] = url
    return services


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
    ) -> None:
        """Run the embedded executor: control API, fault proxy and demo services."""
        from executor import ExecutorSettings, ExecutorStartError

        settings = ExecutorSettings(
            host=host,
            port=port,
            proxy_port=proxy_port,
            demo=demo,
            services=parse_services(service),
            seed=seed,
            default_rate_rps=rate_rps,
        )
        try:
            run_executor(settings)
        except ExecutorStartError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(code=1) from exc
