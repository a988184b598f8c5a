"""Read what the pages show from storage and the shared client, as plain values; never raise to a page."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine
from sqlmodel import Session

import storage
from client import BreakerState, ExecutorClientError, ServiceInfo
from client.measures import error_mask
from dashboard.timeline import Band, breaker_bands, clip_bands, observed_spans
from services.active_faults import FaultsSnapshot
from services.console import Console

logger = logging.getLogger(__name__)

BREAKER_LOOKBACK_DAYS = 30


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
    with Session(engine) as session:
        detail = storage.get_run(session, run_id=run_id)
    if detail is None:
        return None
    return RunView(run=detail.run, timeline=detail.timeline, samples=detail.samples)


def load_runs(engine: Engine, run_ids: Sequence[int]) -> list[RunView]:
    """Return several runs for comparison, in the order asked."""
    with Session(engine) as session:
        details = storage.load_runs_for_comparison(session, run_ids=list(run_ids))
    by_id = {d.run.id: d for d in details}
    return [
        RunView(run=by_id[i].run, timeline=by_id[i].timeline, samples=by_id[i].samples)
        for i in run_ids
        if i in by_id
    ]


def active_runs(engine: Engine) -> list[storage.Run]:
    with Session(engine) as session:
        return storage.active_runs(session)


def recent_runs(engine: Engine, *, limit: int = 10) -> list[storage.Run]:
    with Session(engine) as session:
        return storage.list_runs(session, limit=limit)


def filter_options(engine: Engine) -> dict[str, list[str]]:
    with Session(engine) as session:
        return storage.distinct_values(session)


def find_runs(
    engine: Engine, *, limit: int = 200, offset: int = 0, **filters: Any
) -> tuple[list[storage.Run], int]:
    """Return one page of runs matching `filters` and how many match in all."""
    with Session(engine) as session:
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


@dataclass(frozen=True)
class LatencyBucket:
    """Finished client calls in the bucket starting at `bucket_start`: mean latency and the share failed."""

    bucket_start: datetime
    latency_ms: float | None
    error_rate_pct: float
    calls: int


@dataclass(frozen=True)
class MonitorData:
    """Everything the monitor page draws for one time window."""

    since: datetime
    until: datetime
    health: list[storage.HealthSample]
    bands: list[Band]
    counts: list[storage.EventCount]
    latency: list[LatencyBucket]
    counters: dict[str, int]
    gap_sec: float


def monitor_gap_sec(console: Console, *, bucket_sec: int) -> float:
    """Return the silence after which the monitor's charts break: three missed health samples, at least."""
    return max(3.0 * console.settings.health_interval_sec, 1.5 * bucket_sec)


def monitor_data(
    engine: Engine, executor_url: str, *, window_sec: int, bucket_sec: int, gap_sec: float
) -> MonitorData:
    """Load health samples, breaker bands, call counts and call latency for the last `window_sec`.

    The breaker's state is shown only where it was observed: from the first health sample or transition in
    the window on, and not across a silence longer than `gap_sec` (the console was down, or its monitor
    stalled), so a window is never painted CLOSED back to its start on the strength of one old transition.
    """
    until = datetime.now(UTC)
    since = until - timedelta(seconds=window_sec)
    with Session(engine) as session:
        health = storage.health_series(session, since=since, until=until, executor_url=executor_url)
        transitions = storage.breaker_series(session, since=since, until=until, executor_url=executor_url)
        # The state at the window's start: the last transition before it (bounded by `since`, so a transition
        # recorded while we read cannot colour the whole window).
        before = storage.breaker_series(
            session,
            since=since - timedelta(days=BREAKER_LOOKBACK_DAYS),
            until=since,
            executor_url=executor_url,
        )
        initial = before[-1].new_state if before else (transitions[0].old_state if transitions else None)
        counts = storage.event_counts_per_bucket(
            session, since=since, until=until, bucket_sec=bucket_sec, executor_url=executor_url
        )
        events = storage.client_event_series(session, since=since, until=until, executor_url=executor_url)
    bands = breaker_bands(
        [(t.timestamp, t.new_state) for t in transitions],
        start=since,
        end=until,
        initial=initial or BreakerState.CLOSED,
    )
    seen = [h.timestamp for h in health] + [t.timestamp for t in transitions]
    bands = clip_bands(bands, observed_spans(seen, gap_sec=gap_sec, end=until))
    totals: dict[str, int] = {}
    for row in counts:
        totals[row.kind] = totals.get(row.kind, 0) + row.count
    totals["breaker_opens"] = sum(1 for t in transitions if t.new_state is BreakerState.OPEN)
    return MonitorData(
        since=since,
        until=until,
        health=health,
        bands=bands,
        counts=counts,
        latency=call_latency_buckets(
            [(e.timestamp, e.kind, e.latency_ms) for e in events], bucket_sec=bucket_sec
        ),
        counters=totals,
        gap_sec=gap_sec,
    )


def call_latency_buckets(
    events: Sequence[tuple[datetime, str, float | None]], *, bucket_sec: int
) -> list[LatencyBucket]:
    """Average latency of finished calls and the share that failed, per time bucket."""
    buckets: dict[int, list[tuple[str, float | None]]] = {}
    for timestamp, kind, latency_ms in events:
        if str(kind).lower() not in ("success", "failure"):
            continue
        start = int(timestamp.timestamp() // bucket_sec) * bucket_sec
        buckets.setdefault(start, []).append((str(kind).lower(), latency_ms))
    out = []
    for start in sorted(buckets):
        rows = buckets[start]
        latencies = [lat for _, lat in rows if lat is not None]
        failures = sum(1 for kind, _ in rows if kind == "failure")
        out.append(
            LatencyBucket(
                bucket_start=datetime.fromtimestamp(start, UTC),
                latency_ms=float(np.mean(latencies)) if latencies else None,
                error_rate_pct=100.0 * failures / len(rows),
                calls=len(rows),
            )
        )
    return out


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
