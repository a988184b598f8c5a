"""Read what the pages show from storage and the shared client, as plain values.

A read that storage cannot answer raises `storage.StorageUnavailableError` with one line saying why
(`storage.describe_failure`); pages show it with `dashboard.components.storage_reads`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine
from sqlmodel import Session

import storage
from client import BreakerState, ExecutorClientError, ExperimentVerdict, ServiceInfo
from client.measures import error_mask
from services.active_faults import FaultsSnapshot
from services.console import Console

logger = logging.getLogger(__name__)

VERDICTS = tuple(verdict.value for verdict in ExperimentVerdict)  # History's verdict filter, in this order


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """Open a session for reading; a storage outage becomes one `StorageUnavailableError` line."""
    try:
        with Session(engine) as session:
            yield session
    except storage.STORAGE_ERRORS as exc:
        raise storage.StorageUnavailableError(storage.describe_failure(engine.url, exc)) from exc


@dataclass(frozen=True)
class ExecutorStatus:
    """What the header banner says about the Executor."""

    url: str
    healthy: bool | None
    breaker_state: BreakerState
    embedded: bool


@dataclass
class RunView:
    """One run as the pages show it: its row, timeline points and per-request samples."""

    run: storage.Run
    timeline: list[storage.TimelinePoint]
    samples: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=storage.SAMPLE_DTYPE))

    @property
    def label(self) -> str:
        return run_label(self.run)


def run_label(run: storage.Run) -> str:
    """Return a run's short label: id, fault type, target and percentage."""
    return f"#{run.id} {run.fault_type or ''} {run.service}{run.api} {run.percentage}%"


def executor_status(console: Console, *, embedded: bool) -> ExecutorStatus:
    """Return the Executor's last known health (from the monitor) and the breaker's state, without I/O."""
    return ExecutorStatus(
        url=console.executor_url,
        healthy=console.monitor.last_healthy,
        breaker_state=console.client.circuit_breaker.state,
        embedded=embedded,
    )


def load_run(engine: Engine, run_id: int) -> RunView | None:
    """Return one run with its timeline and samples, or None when it does not exist."""
    with read_session(engine) as session:
        detail = storage.get_run(session, run_id=run_id)
    if detail is None:
        return None
    return RunView(run=detail.run, timeline=detail.timeline, samples=detail.samples)


def load_runs(engine: Engine, run_ids: Sequence[int]) -> list[RunView]:
    """Return several runs for comparison, in the order asked."""
    with read_session(engine) as session:
        details = storage.load_runs_for_comparison(session, run_ids=list(run_ids))
    by_id = {d.run.id: d for d in details}
    return [
        RunView(run=by_id[i].run, timeline=by_id[i].timeline, samples=by_id[i].samples)
        for i in run_ids
        if i in by_id
    ]


def active_runs(engine: Engine) -> list[storage.Run]:
    with read_session(engine) as session:
        return storage.active_runs(session)


def recent_runs(engine: Engine, *, limit: int = 10) -> list[storage.Run]:
    with read_session(engine) as session:
        return storage.list_runs(session, limit=limit)


def filter_options(engine: Engine) -> dict[str, list[str]]:
    with read_session(engine) as session:
        return storage.distinct_values(session)


def find_runs(
    engine: Engine, *, limit: int = 200, offset: int = 0, **filters: Any
) -> tuple[list[storage.Run], int]:
    """Return one page of runs matching `filters` and how many match in all."""
    with read_session(engine) as session:
        runs = storage.list_runs(session, limit=limit, offset=offset, **filters)
        total = storage.count_runs(session, **filters)
    return runs, total


def runs_frame(runs: Sequence[storage.Run]) -> pd.DataFrame:
    """Return runs as a table for display: the export rows (rates in percent), labels comma-separated."""
    rows = storage.runs_to_rows(runs)
    for row in rows:
        row["labels"] = ", ".join(json.loads(row["labels"] or "[]"))
    return pd.DataFrame(rows, columns=list(storage.RECORD_FIELDS))


def error_count(samples: np.ndarray) -> int:
    """Count failed requests by the console's one rule (`client.measures`)."""
    if samples.size == 0:
        return 0
    return int(np.count_nonzero(error_mask(samples["status_code"])))


def list_services(console: Console) -> tuple[list[ServiceInfo], str | None]:
    """Return the Executor's services, or an empty list and the reason it could not answer."""
    try:
        return list(console.client.list_services()), None
    except ExecutorClientError as exc:
        return [], str(exc)


def list_active_faults(console: Console) -> FaultsSnapshot:
    """Return the Executor's active faults as the console's poller last listed them (no I/O)."""
    return console.faults.snapshot


def snapshot_age(snapshot: FaultsSnapshot, *, now: datetime | None = None) -> str:
    """Say how old a listing is: "listed 3 s ago", or "not listed yet"."""
    if snapshot.taken_at is None:
        return "not listed yet"
    age_sec = max(0.0, ((now or datetime.now(UTC)) - snapshot.taken_at).total_seconds())
    return f"listed {age_sec:.0f} s ago"


def preview(console: Console, plan: Any, *, api_mode: str) -> dict[str, Any]:
    """Return the first request an apply in `api_mode` would send (token masked), without sending it."""
    request = console.client.preview_request(plan, apply_key="<idempotency key>", api_mode=api_mode)
    return {"method": request.method, "url": request.url, "headers": request.headers, "json": request.json}
