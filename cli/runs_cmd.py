"""`boifi runs`: list, show, export and recover stored runs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.output import describe_run, err, print_json

if TYPE_CHECKING:  # the commands import storage in their bodies: `boifi --help` must not load it
    from sqlalchemy.engine import Engine

    import storage
    from client import ExperimentVerdict
    from services.recovery import RecoveredRun

runs_app = typer.Typer(
    help="List, show, export and recover stored runs.", no_args_is_help=True, rich_markup_mode=None
)

# `storage.RunStatus`'s values, spelled out: the help needs no storage import (a test keeps them equal).
RUN_STATUSES = ("queued", "running", "completed", "failed", "cancelled", "interrupted", "guardrail_stop")

DatabaseOption = Annotated[
    str | None, typer.Option(help="Storage URL (default: BOIFI_DATABASE_URL or the user data dir).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
StatusOption = Annotated[
    list[str] | None,
    typer.Option(help="Only runs in this status (repeatable): " + ", ".join(RUN_STATUSES) + "."),
]
# `client.ExperimentVerdict`'s values, spelled out for the same reason (the same test keeps them equal).
RUN_VERDICTS = ("baseline_failed", "held", "deviated", "not_recovered", "guardrail_stop")
VerdictOption = Annotated[
    list[str] | None,
    typer.Option(help="Only runs with this verdict (repeatable): " + ", ".join(RUN_VERDICTS) + "."),
]


def _status_filter(status: list[str] | None) -> list[storage.RunStatus] | None:
    import storage

    if not status:
        return None
    try:
        return [storage.RunStatus(value) for value in status]
    except ValueError as exc:
        allowed = ", ".join(s.value for s in storage.RunStatus)
        err(f"unknown status in {status}; use one of: {allowed}")
        raise typer.Exit(2) from exc


def _verdict_filter(verdict: list[str] | None) -> list[ExperimentVerdict] | None:
    from client import ExperimentVerdict

    if not verdict:
        return None
    try:
        return [ExperimentVerdict(value) for value in verdict]
    except ValueError as exc:
        err(f"unknown verdict in {verdict}; use one of: {', '.join(v.value for v in ExperimentVerdict)}")
        raise typer.Exit(2) from exc


@runs_app.command("list")
def list_runs(
    service: Annotated[str | None, typer.Option(help="Only runs against this service.")] = None,
    api: Annotated[str | None, typer.Option(help="Only runs against this API path.")] = None,
    fault_type: Annotated[str | None, typer.Option(help="delay, abort or error_injection.")] = None,
    status: StatusOption = None,
    verdict: VerdictOption = None,
    limit: Annotated[int, typer.Option(help="At most this many runs, newest first.")] = 50,
    json_output: JsonOption = False,
    database_url: DatabaseOption = None,
) -> None:
    """List runs, newest first."""
    from sqlmodel import Session

    import storage
    from cli.common import open_engine
    from cli.runs_table import runs_table_lines

    engine = open_engine(database_url)
    with Session(engine) as session:
        runs = storage.list_runs(
            session,
            service=service,
            api=api,
            fault_type=fault_type,
            status=_status_filter(status),
            verdict=_verdict_filter(verdict),
            limit=limit,
        )
        rows = storage.runs_to_records(runs)
    if json_output:
        print_json(rows)
        return
    if not rows:
        typer.echo("no runs")
        return
    typer.echo("\n".join(runs_table_lines(rows)))


@runs_app.command("show")
def show_run(
    run_id: Annotated[int, typer.Argument(help="The run's id.")],
    json_output: JsonOption = False,
    database_url: DatabaseOption = None,
) -> None:
    """Show one run with its summary, verdict, phases and the URL of its page (with --json, its timeline)."""
    from cli.common import load_run, open_engine
    from cli.run_page import run_page_lines, run_page_url
    from services.console_settings import ConsoleSettings

    dashboard_url = ConsoleSettings.from_env().dashboard_url  # a bad BOIFI_* value fails before anything

    loaded = load_run(open_engine(database_url), run_id)
    if loaded is None:
        err(f"no run with id {run_id}")
        raise typer.Exit(1)
    row, timeline = loaded
    if json_output:
        print_json({"run": row, "timeline": timeline, "page_url": run_page_url(dashboard_url, run_id)})
    else:
        typer.echo("\n".join([describe_run(row), *run_page_lines(row, dashboard_url=dashboard_url)]))


def runs_json(runs: Sequence[storage.Run]) -> str:
    """Return runs as a JSON array of `storage.runs_to_records` records."""
    import storage

    return json.dumps(storage.runs_to_records(runs), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


@runs_app.command("export")
def export_runs(
    run_ids: Annotated[
        list[int] | None, typer.Argument(help="Runs to export (default: all matching).")
    ] = None,
    format: Annotated[str, typer.Option("--format", help="csv or json.")] = "csv",
    output: Annotated[Path | None, typer.Option(help="Write here instead of standard output.")] = None,
    service: Annotated[str | None, typer.Option(help="Only runs against this service.")] = None,
    status: StatusOption = None,
    limit: Annotated[int, typer.Option(help="At most this many runs.")] = 10_000,
    database_url: DatabaseOption = None,
) -> None:
    """Export runs with their summaries as CSV or JSON (the dashboard's download shape; rates in percent)."""
    from sqlmodel import Session

    import storage
    from cli.common import open_engine

    if format not in ("csv", "json"):
        err(f"unknown format {format!r}; use csv or json")
        raise typer.Exit(2)
    engine = open_engine(database_url)
    with Session(engine) as session:
        if run_ids:
            details = storage.load_runs_for_comparison(session, run_ids=run_ids)
            missing = sorted(set(run_ids) - {int(d.run.id) for d in details})  # type: ignore[arg-type]
            if missing:
                err(f"no run with id {', '.join(map(str, missing))}")
                raise typer.Exit(1)
            runs = [d.run for d in details]
        else:
            runs = storage.list_runs(session, service=service, status=_status_filter(status), limit=limit)
        text = storage.runs_to_csv(runs) if format == "csv" else runs_json(runs)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        err(f"wrote {len(runs)} runs to {output}")


@runs_app.command("recover")
def recover(
    lease_sec: Annotated[
        float, typer.Option(help="A run whose heartbeat is older than this is orphaned.")
    ] = 30.0,
    json_output: JsonOption = False,
    database_url: DatabaseOption = None,
) -> None:
    """Mark orphaned runs as interrupted and remove their faults from the Executor."""
    from cli.common import client_config, open_engine
    from cli.temporary import temporary_executor_urls
    from client import HttpExecutorClient, redact_url
    from services.recovery import recover_orphaned_runs

    engine = open_engine(database_url)
    clients: dict[tuple[str, str], HttpExecutorClient] = {}
    temporary = temporary_executor_urls(
        engine
    )  # gone with the `--embedded` apply that ran them, faults and all

    def client_for(executor_url: str, api_mode: str) -> HttpExecutorClient | None:
        if executor_url in temporary:
            return None
        key = (executor_url, api_mode)
        if key not in clients:
            config = client_config(executor_url=None, api_mode=api_mode)
            if redact_url(config.base_url) != redact_url(executor_url):  # runs store it password-masked
                config = client_config(executor_url=executor_url, api_mode=api_mode)
            clients[key] = HttpExecutorClient(config)
        return clients[key]

    try:
        results = recover_orphaned_runs(engine=engine, client_for=client_for, lease_sec=lease_sec)
    finally:
        for client in clients.values():
            client.close()
    results = _say_temporary(engine, results)
    if json_output:
        print_json([result.__dict__ for result in results])
        return
    if not results:
        typer.echo("no orphaned runs and no faults left behind")
    for result in results:
        typer.echo(f"run {result.run_id}: {result.run_status}; {result.detail}")


def _say_temporary(engine: Engine, results: list[RecoveredRun]) -> list[RecoveredRun]:
    """Say of an orphaned run on a temporary Executor that its fault ended with it (not "expires later")."""
    from dataclasses import replace

    from cli.temporary import TEMPORARY_DETAIL, temporary_runs
    from services.recovery import NO_CLIENT_DETAIL

    unasked = [result.run_id for result in results if result.detail.startswith(NO_CLIENT_DETAIL)]
    gone = temporary_runs(engine, unasked)
    return [
        replace(result, detail=TEMPORARY_DETAIL) if result.run_id in gone else result for result in results
    ]
