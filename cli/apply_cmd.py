"""`boifi apply`: run one plan through the runner and storage, with progress and exit codes for pipelines."""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.exit_codes import UNREACHABLE_ERRORS, ExitCode
from cli.output import describe_run, err, print_json
from cli.signals import StopSignals

if TYPE_CHECKING:  # the command imports these in its body: `boifi --help` must not load storage or the client
    from client import FaultPlan
    from services.console import Console
    from services.guardrail import Guardrail


def _progress_line(row: dict[str, Any], duration_s: int) -> str:
    started = row.get("started_at")
    elapsed = ""
    if started:
        seconds = (datetime.now(UTC) - datetime.fromisoformat(str(started))).total_seconds()
        elapsed = f"{min(seconds, duration_s):4.0f}/{duration_s} s  "
    parts = [f"run {row['id']} {row['status']:<9} {elapsed}"]
    if row.get("request_count") is not None:
        parts.append(f"requests {row['request_count']}")
        if row.get("error_rate_pct") is not None:
            parts.append(f"errors {row['error_rate_pct']:.1f} %")
        if row.get("p95_latency_ms") is not None:
            parts.append(f"p95 {row['p95_latency_ms']:.1f} ms")
    return "  ".join(parts)


def _load_row(
    console: Console, run_id: int, *, with_timeline: bool = True
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    from cli.common import load_run

    loaded = load_run(console.engine, run_id, with_timeline=with_timeline)
    assert loaded is not None, f"run {run_id} vanished from storage"
    return loaded


POLL_S = 0.2
PROGRESS_INTERVAL_S = 1.0
HALT_TIMEOUT_S = 30.0


def _watch(console: Console, run_id: int, stop: StopSignals, duration_s: int) -> int | None:
    """Print progress until the run ends or a stop signal arrives; then halt it and return that signal."""
    next_progress = time.monotonic() + PROGRESS_INTERVAL_S
    while not console.runner.wait(run_id, timeout=POLL_S):
        if stop.received is not None:
            break
        if time.monotonic() >= next_progress:
            next_progress += PROGRESS_INTERVAL_S
            row, _ = _load_row(console, run_id, with_timeline=False)
            err(_progress_line(row, duration_s))
    signum = stop.received
    if signum is None:
        return None
    name = signal.Signals(signum).name
    err(f"received {name}: halting the fault ...")
    console.runner.cancel(run_id, reason=f"interrupted by {name}")
    if not console.runner.wait(run_id, timeout=HALT_TIMEOUT_S):
        err(f"run {run_id} did not stop within {HALT_TIMEOUT_S:g} s; closing the console marks it")
    return signum


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

    settings = ConsoleSettings.from_env(database_url=database_url)  # a bad value fails before anything starts
    extra: dict[str, Any] = {}
    if embedded:
        from executor import EmbeddedExecutor, ExecutorSettings

        executor = stack.enter_context(EmbeddedExecutor(ExecutorSettings(port=0, demo=True)))
        executor_url = executor.base_url
        if plan.service in executor.service_names():
            extra["probe_url"] = executor.proxy_url(plan.service)
        err(f"embedded executor at {executor_url}")
    config = client_config(executor_url=executor_url, api_mode=api_mode, **extra)
    return stack.enter_context(
        Console(
            client_config=config,
            engine=open_engine(database_url, writable=True),
            settings=settings,
            start_monitor=False,
        )
    )


def _exit_code(row: dict[str, Any]) -> int:
    import storage

    if row["status"] == storage.RunStatus.COMPLETED.value:
        return ExitCode.OK
    if row["status"] == storage.RunStatus.FAILED.value and row.get("error_class") in UNREACHABLE_ERRORS:
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
    from services.guardrail import Guardrail

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
            run_id = _submit(
                console, plan, guardrail, labels=label or (), notes=notes, timeout_sec=timeout_sec
            )
            guarded = f"; guardrail: {guardrail.describe()}" if guardrail.enabled else ""
            err(f"run {run_id} submitted to {console.executor_url} ({console.runner.api_mode} mode){guarded}")
            signum = _watch(console, run_id, stop, plan.duration_seconds)
        # Read after the console closed: closing records a run that did not stop in time as interrupted.
        row, timeline = _load_row(console, run_id)
        if json_output:
            print_json({"run": row, "timeline": timeline})
        else:
            typer.echo(describe_run(row))
    if signum is not None:
        raise typer.Exit(128 + signum)  # the shell's convention: 130 for SIGINT, 143 for SIGTERM
    raise typer.Exit(_exit_code(row))


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
