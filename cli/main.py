"""The `boifi` command line."""

from __future__ import annotations

import logging

import typer

from cli import executor_cmd, up_cmd
from cli.apply_cmd import apply
from cli.runs_cmd import runs_app

app = typer.Typer(
    help="BOIFI Console: fault-injection experiments from the command line.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log what the client does.")) -> None:
    """Run fault-injection experiments against an Executor."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )


app.command()(apply)
app.add_typer(runs_app, name="runs")
executor_cmd.register(app)
up_cmd.register(app)
