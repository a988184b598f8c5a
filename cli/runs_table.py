"""The table `boifi runs list` prints: one line per run, with its times and labels."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["runs_table_lines", "table_time"]

_HEADER = (
    f"{'id':>5}  {'status':<14} {'verdict':<15} {'started (UTC)':<19}  {'ended (UTC)':<19}  "
    f"{'fault':<15} {'%':>3}  {'target':<40}  labels"
)


def table_time(value: Any) -> str:
    """Return a stored timestamp (datetime or ISO text, UTC) as ``YYYY-MM-DD HH:MM:SS``, or ``-`` if unset."""
    return "-" if not value else str(value)[:19].replace("T", " ")


def runs_table_lines(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Return the header and one line per run record (`storage.runs_to_records`), in the given order.

    A run that has not started (or not ended) shows ``-`` for that time; labels are comma-separated, ``-``
    when there are none.
    """
    lines = [_HEADER]
    for row in rows:
        target = f"{row['service']} {row['api']}"
        labels = ",".join(str(label) for label in row.get("labels") or []) or "-"
        lines.append(
            f"{row['id']:>5}  {row['status']:<14} {row.get('verdict') or '-':<15} "
            f"{table_time(row.get('started_at')):<19}  {table_time(row.get('finished_at')):<19}  "
            f"{row['fault_type']:<15} {row['percentage']:>3}  {target:<40}  {labels}"
        )
    return lines
