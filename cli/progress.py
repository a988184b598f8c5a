"""`boifi apply`'s progress lines: the run's phase and how far it is, and its measures once there are any.

::

    run 3 running   baseline 3/10 s    requests 58  errors 0.0 %  p95 12.1 ms
    run 3 running   fault 1/5 s    requests 0
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cli.output import err

if TYPE_CHECKING:  # `boifi --help` must not load storage
    import storage
    from services.console import Console

__all__ = ["Progress", "phase_at", "progress_line"]


_LENGTH_KEYS = {"baseline": "baseline_seconds", "fault": "duration_seconds", "recovery": "recovery_seconds"}


def phase_at(
    elapsed_s: float, plan: Mapping[str, Any], reported: Mapping[str, Mapping[str, Any]] | None = None
) -> tuple[str, float, int]:
    """Return the phase a run is in `elapsed_s` after it started, the seconds spent in it, and its length.

    `reported` is the run's phases so far as storage has them (a record's ``phases``): the latest one is the
    phase in progress, since its start offset. Without it the phases follow each other as the plan gives
    them (`baseline_seconds`, `duration_seconds`, `recovery_seconds`), which runs ahead by whatever the run
    spends between them (health check, apply); past the last one the run is in its last phase, at its end.
    """
    lengths = {name: int(plan.get(key) or 0) for name, key in _LENGTH_KEYS.items()}
    known = [name for name in _LENGTH_KEYS if name in (reported or {})]
    if known:
        name = known[-1]
        start_s = float((reported or {})[name].get("start_offset_ms") or 0.0) / 1000.0
        return name, min(max(0.0, elapsed_s - start_s), float(lengths[name])), lengths[name]
    phases = [(name, length) for name, length in lengths.items() if length > 0 or name == "fault"]
    start = 0.0
    for name, length in phases:
        if elapsed_s < start + length:
            return name, max(0.0, elapsed_s - start), length
        start += length
    name, length = phases[-1]
    return name, float(length), length


def progress_line(
    row: Mapping[str, Any], *, duration_s: int | None = None, now: Callable[[], datetime] | None = None
) -> str:
    """Return one progress line for a run (a `storage.run_record`): its phase (the one storage has, else
    judged by the clock `now`), how far it is, and its measures.

    `duration_s` is the fault's length when the row's plan does not say it. Measures are shown only once
    the run has requests: no ``p95 0.0 ms`` for nothing measured.
    """
    plan = dict(row.get("plan") or {})
    plan.setdefault("duration_seconds", duration_s or row.get("duration_seconds") or 0)
    started = row.get("started_at")
    where = ""
    if started:
        clock = now or (lambda: datetime.now(UTC))
        elapsed = (clock() - datetime.fromisoformat(str(started))).total_seconds()
        phase, spent, length = phase_at(elapsed, plan, row.get("phases"))
        where = f"{phase} {spent:.0f}/{length} s  "
    parts = [f"run {row['id']} {row['status']:<9} {where}"]
    count = row.get("request_count")
    if count is not None:
        parts.append(f"requests {count}")
        if count and row.get("error_rate_pct") is not None:
            parts.append(f"errors {row['error_rate_pct']:.1f} %")
        if count and row.get("p95_latency_ms") is not None:
            parts.append(f"p95 {row['p95_latency_ms']:.1f} ms")
    return "  ".join(parts)


@dataclass
class Progress:
    """The run as last read from storage, for the progress lines and as the report's fallback."""

    run: storage.Run
    failing: str | None = None  # why storage could not be read, while it cannot

    def refresh(self, console: Console, run_id: int) -> None:
        """Read the run again; while storage cannot be read, keep the last known run and say why."""
        import storage
        from cli.run_report import read_run

        try:
            self.run, _ = read_run(console, run_id, with_timeline=False)
        except storage.STORAGE_ERRORS as exc:
            self.failing = storage.describe_failure(console.engine.url, exc)
        else:
            self.failing = None

    def show(self, console: Console, run_id: int, duration_s: int | None = None) -> None:
        """Print one progress line: from storage, or the last known one while storage cannot be read.

        `duration_s` is the fault's length when the stored run has no plan to say it.
        """
        import storage

        self.refresh(console, run_id)
        line = progress_line(storage.run_record(self.run), duration_s=duration_s)
        err(line if self.failing is None else f"{line}  (storage unavailable: {self.failing})")
