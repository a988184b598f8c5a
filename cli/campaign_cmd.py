"""`boifi campaign run`: search a fault space, trial by trial, with a progress line and exit codes."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.exit_codes import ExitCode
from cli.output import err, print_json
from cli.signals import StopSignals

if TYPE_CHECKING:
    from services.campaigns import Campaign, CampaignOutcome

campaign_app = typer.Typer(
    help="Campaigns: search a fault space for the faults that hurt most.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
POLL_S = 0.2


def _load(space_file: str, strategy: str | None, trials: int | None, max_minutes: float | None) -> Campaign:
    """Load the campaign file with the options' overrides; a bad file or option is exit 2, naming it."""
    from pydantic import ValidationError

    from services.campaigns import Budget, Campaign, CampaignFileError, Strategy, load_campaign_file

    try:
        loaded = load_campaign_file(space_file)
        budget = loaded.budget.model_dump()
        budget.update({k: v for k, v in (("trials", trials), ("max_minutes", max_minutes)) if v is not None})
        chosen = loaded.strategy if strategy is None else Strategy(strategy)
        return Campaign(
            space=loaded.space, strategy=chosen, budget=Budget(**budget), seed=loaded.seed,
            startup_trials=loaded.startup_trials,
        )  # fmt: skip
    except CampaignFileError as exc:
        err(str(exc))
    except ValidationError as exc:
        err(
            "; ".join(f"--{'-'.join(map(str, e['loc'])).replace('_', '-')}: {e['msg']}" for e in exc.errors())
        )
    except ValueError:
        err(f"--strategy: give grid, random or bayes, not {strategy!r}")
    raise typer.Exit(ExitCode.INVALID_PLAN)


def _representative_plan(campaign: Campaign) -> Any:
    """A plan of the campaign's first target: what opening the console needs (the observed service)."""
    from client import FaultPlan, FaultType

    target = campaign.config.space.targets[0]
    return FaultPlan(
        service=target.service, api=target.api, fault_type=FaultType.DELAY, delay_seconds=0.001,
        percentage=1, observe=campaign.config.space.observe,
    )  # fmt: skip


@campaign_app.command("run")
def run(
    space_file: Annotated[str, typer.Argument(help="The campaign as a YAML or JSON file.")],
    strategy: Annotated[str | None, typer.Option(help="grid, random or bayes (default: the file's).")] = None,
    trials: Annotated[
        int | None, typer.Option(help="At most this many trials (default: the file's).")
    ] = None,
    max_minutes: Annotated[float | None, typer.Option(help="At most this many minutes.")] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print only the JSON result on stdout.")
    ] = False,
    executor_url: Annotated[str | None, typer.Option(help="Executor base URL (BOIFI_EXECUTOR_URL).")] = None,
    api_mode: Annotated[str | None, typer.Option(help="direct, extended or policy (BOIFI_API_MODE).")] = None,
    embedded: Annotated[
        bool,
        typer.Option("--embedded", help="Run against a throw-away embedded executor with the demo shop."),
    ] = False,
    database_url: Annotated[str | None, typer.Option(help="Storage URL (BOIFI_DATABASE_URL).")] = None,
) -> None:
    """Run a campaign: propose a fault, run it as a stored run, score it, and propose the next one."""
    from cli.apply_cmd import _open_console
    from cli.campaign_output import campaign_document, exit_code, progress_line, summary_line
    from services.campaigns import RunnerTrials, Trial

    campaign = _load(space_file, strategy, trials, max_minutes)
    with StopSignals() as stop, contextlib.ExitStack() as stack:
        console = _open_console(
            stack, _representative_plan(campaign), executor_url=executor_url, api_mode=api_mode,
            embedded=embedded, database_url=database_url,
        )  # fmt: skip
        planned, started = campaign.planned_trials, time.monotonic()
        err(f"campaign of {planned} trials ({campaign.config.strategy.value}) against {console.executor_url}")

        def on_trial(trial: Trial) -> None:
            done = len(campaign.trials)
            elapsed = time.monotonic() - started
            err(progress_line(trial, done=done, planned=planned, best=campaign.best(), elapsed_s=elapsed))

        result: list[CampaignOutcome] = []
        failure: list[BaseException] = []

        def work() -> None:
            try:
                trials = RunnerTrials(console.runner)
                owner = console.runner.owner
                result.append(campaign.run(trials, engine=console.engine, owner=owner, on_trial=on_trial))
            except BaseException as exc:  # handed to the main thread, which reports it
                failure.append(exc)

        worker = threading.Thread(target=work, name="boifi-campaign", daemon=True)
        worker.start()
        halted = False
        while worker.is_alive():
            worker.join(POLL_S)
            if stop.received is not None and not halted:
                halted = True
                name = signal.Signals(stop.received).name
                err(f"received {name}: halting the campaign and its trial's fault ...")
                campaign.halt(f"interrupted by {name}")
        if failure:
            raise failure[0]
        (outcome,) = result
        best = campaign.best()
        if json_output:
            print_json(campaign_document(console.engine, outcome, best))
        else:
            typer.echo(summary_line(outcome, best))
    if stop.received is not None:
        raise typer.Exit(128 + stop.received)
    raise typer.Exit(exit_code(outcome))
