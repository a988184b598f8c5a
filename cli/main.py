"""The `boifi` command line."""

from __future__ import annotations

import sys
from typing import Any

import typer

from cli import executor_cmd, problems, up_cmd
from cli.apply_cmd import apply
from cli.campaign_cmd import campaign_app
from cli.runs_cmd import runs_app


class BoifiTyper(typer.Typer):
    """The `boifi` app: a problem the user can fix ends the command with one line, not a traceback."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except Exception as exc:
            code = problems.report(exc)
            if code is None:
                raise
            sys.exit(code)


app = BoifiTyper(
    help="BOIFI Console: fault-injection experiments from the command line.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain click help: rendering it with rich costs more than the rest of `--help`
)


@app.callback()
def main(
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Log what the client does; show tracebacks (or BOIFI_LOG_LEVEL)."
    ),
) -> None:
    """Run fault-injection experiments against an Executor."""
    problems.configure_logging(verbose=verbose)


def _complete_short_help(typer_app: typer.Typer) -> None:
    """Give each command its docstring's first line as short help (plain click would cut it at the width)."""
    for info in typer_app.registered_commands:
        if info.short_help is None and info.callback is not None and info.callback.__doc__:
            info.short_help = info.callback.__doc__.strip().splitlines()[0]


app.command()(apply)
app.add_typer(runs_app, name="runs")
app.add_typer(campaign_app, name="campaign")
executor_cmd.register(app)
up_cmd.register(app)
_complete_short_help(app)
_complete_short_help(runs_app)
_complete_short_help(campaign_app)
