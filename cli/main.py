"""The `boifi` command line."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="BOIFI Console: fault-injection experiments from the command line.",
    no_args_is_help=True,
)


@app.callback()
def main() -> None:
    """Run fault-injection experiments against an Executor."""
