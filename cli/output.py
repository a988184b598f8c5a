"""What the `boifi` commands print: messages on standard error, JSON and runs on standard output."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer

from cli.experiment_output import experiment_lines, verdict_lines

__all__ = ["WARNING_PREFIX", "describe_run", "err", "print_json"]

# services.run_recording.WARNING_PREFIX, not imported from there so that `boifi --help` loads no storage
# (a test checks that the two agree).
WARNING_PREFIX = "warning: "


def err(message: str) -> None:
    """Print to standard error (standard output stays clean for --json)."""
    typer.echo(message, err=True)


def print_json(document: Any) -> None:
    """Print `document` as indented JSON on standard output and flush it."""
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
        *verdict_lines(row),
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
    lines += experiment_lines(row)
    if row.get("stop_reason"):
        lines.append(f"  stopped    {row['stop_reason']}")
    error = row.get("error")
    if error and error.startswith(WARNING_PREFIX):
        # a run's warnings (whatever its status): its numbers may not mean what they seem, e.g. it hit nothing
        lines.append(f"  warning    {error.removeprefix(WARNING_PREFIX)}")
    elif error:  # "error      ExecutorTimeoutError: ...", never "error      error: ..."
        error_class = row.get("error_class")
        lines.append(f"  error      {error_class + ': ' if error_class else ''}{error}")
    return "\n".join(lines)
