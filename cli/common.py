"""Helpers the `boifi` commands share: configuration, storage and output."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session

import storage
from client import ExecutorClientConfig


class ExitCode:
    """Exit codes of `boifi apply` and friends."""

    OK = 0
    INVALID_PLAN = 2
    UNREACHABLE = 3
    RUN_FAILED = 4


UNREACHABLE_ERRORS = frozenset({"ExecutorConnectionError", "CircuitOpenError"})


def err(message: str) -> None:
    """Print to standard error (standard output stays clean for --json)."""
    typer.echo(message, err=True)


def client_config(*, executor_url: str | None, api_mode: str | None, **extra: Any) -> ExecutorClientConfig:
    """Build the client configuration from the environment, overridden by command-line options."""
    overrides: dict[str, Any] = {key: value for key, value in extra.items() if value is not None}
    if executor_url is not None:
        overrides["base_url"] = executor_url
    if api_mode is not None:
        overrides["api_mode"] = api_mode
    try:
        return ExecutorClientConfig(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ())) or 'config'}: {e.get('msg')}" for e in exc.errors()
        )
        err(f"invalid Executor settings: {problems}")
        raise typer.Exit(ExitCode.INVALID_PLAN) from exc


def open_engine(database_url: str | None) -> Engine:
    engine = storage.make_engine(database_url)
    storage.init_db(engine)
    return engine


def load_run(
    engine: Engine, run_id: int, *, with_timeline: bool = True
) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """Return a run as an export record plus its timeline points, or None when there is no such run.

    Without the timeline only the run row is read (what a progress line needs each second).
    """
    with Session(engine) as session:
        if not with_timeline:
            run = session.get(storage.Run, run_id)
            return (storage.run_record(run), []) if run is not None else None
        detail = storage.get_run(session, run_id=run_id)
        if detail is None:
            return None
        timeline = [point.model_dump(exclude={"id", "run_id"}) for point in detail.timeline]
        return storage.run_record(detail.run), timeline


def print_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, indent=2, default=str) + "\n")
    sys.stdout.flush()


def _fmt(value: Any, unit: str = "", digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}{unit}"
    return f"{value}{unit}"


def describe_run(row: dict[str, Any]) -> str:
    """Render one run (a `storage.run_record`) as a few human-readable lines."""
    lines = [
        f"run {row['id']}: {row['status']}  {row['fault_type']} {row['percentage']}% on "
        f"{row['service']} {row['api']} for {row['duration_seconds']} s ({row['api_mode']} mode)",
    ]
    if row.get("fault_id"):
        lines.append(f"  fault id   {row['fault_id']}")
    if row.get("request_count"):  # nothing measured (e.g. the Executor was unreachable): no metric lines
        lines.append(
            f"  requests   {row['request_count']}, affected {_fmt(row.get('affected_count'))}, "
            f"error rate {_fmt(row.get('error_rate_pct'), ' %')}"
        )
        lines.append(
            "  latency    avg {avg}, p50 {p50}, p95 {p95}, p99 {p99}, max {mx}".format(
                avg=_fmt(row.get("avg_latency_ms"), " ms"),
                p50=_fmt(row.get("p50_latency_ms"), " ms"),
                p95=_fmt(row.get("p95_latency_ms"), " ms"),
                p99=_fmt(row.get("p99_latency_ms"), " ms"),
                mx=_fmt(row.get("max_latency_ms"), " ms"),
            )
        )
    if row.get("stop_reason"):
        lines.append(f"  stopped    {row['stop_reason']}")
    if row.get("error"):
        lines.append(f"  error      {row.get('error_class') or 'error'}: {row['error']}")
    return "\n".join(lines)
