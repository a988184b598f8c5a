"""`boifi apply`: run one plan through the runner and storage, with progress and exit codes for pipelines."""

from __future__ import annotations

import contextlib
import functools
import signal
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.exit_codes import ExitCode, verdict_exit_code
from cli.experiment_output import difference_lines
from cli.output import describe_run, err, print_json
from cli.progress import Progress
from cli.signals import StopSignals, call_within

if TYPE_CHECKING:  # the command imports these in its body: `boifi --help` must not load storage or the client
    from cli.run_report import RunReport
    from client import FaultPlan
    from services.console import Console
    from services.guardrail import Guardrail


POLL_S = 0.2
PROGRESS_INTERVAL_S = 1.0
STOP_BOUND_S = 30.0  # README: after a stop signal `boifi apply` exits within this, whatever else happens
CLOSE_RESERVE_S = 12.0  # of it, what closing the console (storage, events, client) and the report may take
REPORT_RESERVE_S = 2.0  # of that, what reading the run for the report may take
EXIT_MARGIN_S = 1.5  # and what printing it and the interpreter's exit may take


def _watch(
    console: Console, run_id: int, stop: StopSignals, progress: Progress, duration_s: int
) -> tuple[int | None, float]:
    """Print progress until the run ends or a stop signal arrives; then ask the run to halt.

    Return the signal (or None) and how long closing the console may wait for the run to stop: one
    deadline, `STOP_BOUND_S` after the signal, bounds it and leaves `CLOSE_RESERVE_S` for the rest.
    """
    next_progress = time.monotonic() + PROGRESS_INTERVAL_S
    while not console.runner.wait(run_id, timeout=POLL_S):
        if stop.received is not None:
            break
        if time.monotonic() >= next_progress:
            next_progress += PROGRESS_INTERVAL_S
            progress.show(console, run_id, duration_s)
    signum = stop.received
    if signum is None:
        return None, STOP_BOUND_S
    halt_until = (stop.received_at or time.monotonic()) + STOP_BOUND_S - CLOSE_RESERVE_S
    name = signal.Signals(signum).name
    err(f"received {name}: halting the fault ...")
    console.runner.cancel(run_id, reason=f"interrupted by {name}")
    return signum, round(max(0.0, halt_until - time.monotonic()), 1)


def _open_console(
    stack: contextlib.ExitStack,
    plan: FaultPlan,
    *,
    executor_url: str | None,
    api_mode: str | None,
    embedded: bool,
    database_url: str | None,
) -> Console:
    """Start the embedded executor if asked, then a Console for the plan's run; both close with `stack`."""
    from cli.common import client_config, open_engine
    from services.console import Console
    from services.console_settings import ConsoleSettings

    settings = ConsoleSettings.from_env(
        database_url=database_url
    )  # a bad BOIFI_* value fails before anything
    extra: dict[str, Any] = {}
    owner = None
    if embedded:
        from cli.temporary import temporary_owner
        from executor import EmbeddedExecutor, ExecutorSettings

        executor = stack.enter_context(EmbeddedExecutor(ExecutorSettings(port=0, demo=True)))
        executor_url = executor.base_url
        observed = plan.observe.service if plan.observe is not None else plan.service
        if observed in executor.service_names():  # policy mode probes the observed service through its proxy
            extra["probe_url"] = executor.proxy_url(observed)
        err(f"embedded executor at {executor_url}")
        owner = temporary_owner()  # its faults end with this process: `runs recover` need not ask it
    config = client_config(executor_url=executor_url, api_mode=api_mode, **extra)
    return stack.enter_context(
        Console(
            client_config=config,
            engine=open_engine(database_url, writable=True),
            settings=settings,
            start_monitor=False,
            create_schema=False,  # open_engine has just created or upgraded it
            owner=owner,
        )
    )


def _exit_code(row: dict[str, Any], unstored: dict[str, Any]) -> int:
    """Return the exit code of a run's report: storage's lag first, then the status, then the verdict."""
    import storage
    from client.errors import ErrorKind, error_kind_named

    if unstored:
        return ExitCode.UNSTORED
    if row["status"] == storage.RunStatus.COMPLETED.value:
        return verdict_exit_code(row.get("verdict"))
    if row["status"] == storage.RunStatus.FAILED.value and error_kind_named(row.get("error_class")) in (
        ErrorKind.CONNECTION,
        ErrorKind.CIRCUIT_OPEN,
    ):
        return ExitCode.UNREACHABLE
    return ExitCode.RUN_FAILED


def apply(
    plan_file: Annotated[str, typer.Argument(help="Plan as a JSON or YAML file, or '-' for standard input.")],
    json_output: Annotated[
        bool, typer.Option("--json", help="Print only the JSON result on stdout.")
    ] = False,
    executor_url: Annotated[
        str | None, typer.Option(help="Executor base URL (default: BOIFI_EXECUTOR_URL).")
    ] = None,
    api_mode: Annotated[
        str | None, typer.Option(help="direct, extended or policy (default: BOIFI_API_MODE).")
    ] = None,
    embedded: Annotated[
        bool, typer.Option("--embedded", help="Start the embedded executor with demo services for this run.")
    ] = False,
    timeout_sec: Annotated[
        float | None, typer.Option("--timeout", help="Deadline for the whole apply, in seconds.")
    ] = None,
    max_error_rate: Annotated[
        float | None,
        typer.Option(
            help="Guardrail: halt when the measured error rate exceeds this percentage, 0-100 "
            "(50 means 50 %, 0.5 means 0.5 %)."
        ),
    ] = None,
    max_p99_ms: Annotated[
        float | None, typer.Option(help="Guardrail: halt when the measured p99 latency exceeds this (ms).")
    ] = None,
    min_requests: Annotated[int, typer.Option(help="Guardrail: requests to see before judging.")] = 20,
    label: Annotated[list[str] | None, typer.Option(help="Label for the run (repeatable).")] = None,
    notes: Annotated[str, typer.Option(help="Free-text notes stored with the run.")] = "",
    database_url: Annotated[
        str | None, typer.Option(help="Storage URL (default: BOIFI_DATABASE_URL or the user data dir).")
    ] = None,
) -> None:
    """Apply one fault plan, show progress, store the run and print its observation."""
    from cli.plan_file import PlanFileError, load_plan
    from cli.run_report import final_report, planned_run
    from services.guardrail import Guardrail
    from services.runner import SHUT_DOWN

    try:
        plan = load_plan(plan_file)
        guardrail = Guardrail.from_percent(
            max_error_rate_pct=max_error_rate, max_p99_latency_ms=max_p99_ms, min_requests=min_requests
        )
    except (PlanFileError, ValueError) as exc:
        err(str(exc))
        raise typer.Exit(ExitCode.INVALID_PLAN) from exc

    # For the whole command, shutdown included: a signal is recorded, not obeyed, so a repeated Ctrl-C or
    # SIGTERM cannot cut the cleanup short and leave the fault injecting or the run `running`.
    with StopSignals() as stop:
        with contextlib.ExitStack() as stack:
            console = _open_console(
                stack, plan, executor_url=executor_url, api_mode=api_mode, embedded=embedded,
                database_url=database_url,
            )  # fmt: skip
            _check_targets(console, plan)
            run_id = _submit(
                console, plan, guardrail, labels=label or (), notes=notes, timeout_sec=timeout_sec
            )
            guarded = f"; guardrail: {guardrail.describe()}" if guardrail.enabled else ""
            err(f"run {run_id} submitted to {console.executor_url} ({console.runner.api_mode} mode){guarded}")
            progress = Progress(planned_run(console, run_id, plan))
            progress.refresh(console, run_id)
            signum, close_s = _watch(console, run_id, stop, progress, plan.duration_seconds)
            exit_by = None if stop.received_at is None else stop.received_at + STOP_BOUND_S - EXIT_MARGIN_S
            close = functools.partial(console.close, reason=SHUT_DOWN, timeout_sec=close_s)
            if not call_within(close, None if exit_by is None else exit_by - REPORT_RESERVE_S):
                err(
                    "closing the console did not finish in time; what storage has not taken is replayed later"
                )
        # Read after the console closed: closing records a run that did not stop in time as interrupted.
        report = final_report(console, run_id, last_known=progress.run, exit_by=exit_by)
        if report.unstored:
            err(_unstored_line(run_id, report))
        if json_output:
            print_json(report.document())
        else:
            typer.echo("\n".join([describe_run(report.record), *difference_lines(report.differences)]))
    if signum is not None:
        raise typer.Exit(128 + signum)  # the shell's convention: 130 for SIGINT, 143 for SIGTERM
    raise typer.Exit(_exit_code(report.record, report.unstored))


def _check_targets(console: Console, plan: FaultPlan) -> None:
    """Exit 2 naming the known ones when the Executor lists services and not the plan's (nothing stored).

    An Executor that lists none (404: the real control plane) or cannot answer skips the check; the submit
    then reports an unreachable Executor as usual.
    """
    from cli.known_services import unknown_targets
    from client.errors import ExecutorClientError

    try:
        services = console.client.list_services()
    except ExecutorClientError:
        return
    problems = unknown_targets(plan, services)
    if problems:
        for line in problems:
            err(line)
        raise typer.Exit(ExitCode.INVALID_PLAN)


def _submit(
    console: Console, plan: FaultPlan, guardrail: Guardrail, *, labels: Sequence[str], notes: str,
    timeout_sec: float | None,
) -> int:  # fmt: skip
    """Submit the run; a database that cannot record it fails the command with one line (nothing started)."""
    import storage

    try:
        return console.runner.submit(
            plan,
            labels=labels,
            notes=notes,
            guardrail=guardrail if guardrail.enabled else None,
            timeout_sec=timeout_sec,
        )
    except storage.STORAGE_ERRORS as exc:
        raise storage.StorageUnavailableError(storage.describe_failure(console.engine.url, exc)) from exc


def _unstored_line(run_id: int, report: RunReport) -> str:
    missing = ", ".join(
        f"{value} {name}" if value is not True else name for name, value in report.unstored.items()
    )
    why = f" ({report.storage_error})" if report.storage_error else ""
    return (
        f"run {run_id} ended {report.run.status}, but storage has not taken all of it yet{why}: {missing} "
        "kept for the next start or `boifi runs recover`"
    )
