"""Read what the Monitor page draws: health, breaker bands, call counts and latency, runs, events dropped."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

import storage
from client import BreakerState, Phase
from client.events import EventKind
from dashboard.data import read_session
from dashboard.monitor_charts import RunSpan
from dashboard.run_detail import axis_phases, experiment_of, run_window
from dashboard.timeline import Band, breaker_bands, clip_bands
from services.console import Console
from storage.aggregates import call_aggregate_series

BREAKER_LOOKBACK_DAYS = 30
RUNS_SHOWN = 50  # the newest runs looked at for the window; more would not read as shading anyway
FINISHED_KINDS = (EventKind.SUCCESS.value, EventKind.FAILURE.value)

# Finished calls counted per interval: (interval start, kind, latency sum, latency count, calls).
CallTotals = tuple[datetime, str, float, int, int]


@dataclass(frozen=True)
class LatencyBucket:
    """Finished client calls in the bucket starting at `bucket_start`: mean latency and the share failed."""

    bucket_start: datetime
    latency_ms: float | None
    error_rate_pct: float
    calls: int


@dataclass(frozen=True)
class MonitorData:
    """Everything the monitor page draws for one time window.

    `health` rows may each stand for many samples (`sample_count`, from `first_at`); `health_gap_sec` is
    the silence after which the health line breaks, allowing for one such row's length.
    """

    since: datetime
    until: datetime
    health: list[storage.HealthSample]
    bands: list[Band]
    counts: list[storage.EventCount]
    latency: list[LatencyBucket]
    counters: dict[str, int]
    gap_sec: float
    health_gap_sec: float = float("inf")
    runs: list[RunSpan] = field(default_factory=list)


def monitor_gap_sec(console: Console, *, bucket_sec: int) -> float:
    """Return the silence after which the monitor's charts break: three missed health samples, at least."""
    return max(3.0 * console.settings.health_interval_sec, 1.5 * bucket_sec)


def events_dropped(console: Console) -> int:
    """Return how many client events and health samples this console had to drop (storage failing)."""
    return console.recorder.dropped + console.monitor.rollup.dropped


def monitor_data(
    engine: Engine,
    executor_url: str,
    *,
    window_sec: int,
    bucket_sec: int,
    gap_sec: float,
    now: datetime | None = None,
) -> MonitorData:
    """Load health samples, breaker bands, call counts and call latency for the `window_sec` before `now`.

    The breaker's state is shown only where it was observed: over the health rows and transitions in the
    window, and not across a silence longer than `gap_sec` (the console was down, or its monitor
    stalled), so a window is never painted CLOSED back to its start on the strength of one old transition.
    Routine calls stored per interval (call aggregates) count as if each had its row.
    """
    until = now or datetime.now(UTC)
    since = until - timedelta(seconds=window_sec)
    with read_session(engine) as session:
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
        aggregates = call_aggregate_series(session, since=since, until=until, executor_url=executor_url)
        recent_runs = storage.list_runs(session, until=until, limit=RUNS_SHOWN)
    bands = breaker_bands(
        [(t.timestamp, t.new_state) for t in transitions],
        start=since,
        end=until,
        initial=initial or BreakerState.CLOSED,
    )
    seen = [(h.first_at or h.timestamp, h.timestamp) for h in health] + [
        (t.timestamp, t.timestamp) for t in transitions
    ]
    bands = clip_bands(bands, observed_intervals(seen, gap_sec=gap_sec, end=until))
    totals: dict[str, int] = {}
    for row in counts:
        totals[row.kind] = totals.get(row.kind, 0) + row.count
    totals["breaker_opens"] = sum(1 for t in transitions if t.new_state is BreakerState.OPEN)
    finished: list[CallTotals] = [
        (a.interval_start, a.kind, a.latency_sum_ms, a.latency_count, a.count)
        for a in aggregates
        if a.kind in FINISHED_KINDS
    ]
    row_sec = (
        max((h.timestamp - (h.first_at or h.timestamp)).total_seconds() for h in health) if health else 0.0
    )
    return MonitorData(
        since=since,
        until=until,
        health=health,
        bands=bands,
        counts=counts,
        latency=call_latency_buckets(
            [(e.timestamp, e.kind, e.latency_ms) for e in events], bucket_sec=bucket_sec, totals=finished
        ),
        counters=totals,
        gap_sec=gap_sec,
        health_gap_sec=gap_sec + row_sec,
        runs=run_spans(recent_runs, since=since, until=until, executor_url=executor_url),
    )


def run_spans(
    runs: Iterable[storage.Run], *, since: datetime, until: datetime, executor_url: str
) -> list[RunSpan]:
    """Return the spans of the runs against `executor_url` live in [since, until], oldest first.

    A run spans its start (else creation) to its end (else `until`); its fault is its fault phase on that
    axis (the whole run without phases), cut to the run's span.
    """
    spans = []
    for run in runs:
        if run.id is None or run.executor_url != executor_url:
            continue
        start, end = run_window(run, now=until)
        if end <= since or start >= until:
            continue
        fault = next((p for p in axis_phases(run, experiment_of(run)) if p.phase is Phase.FAULT), None)
        if fault is None:  # the baseline failed: the fault was never sent
            fault_start = fault_end = start
        else:
            fault_start = start + timedelta(milliseconds=fault.start_offset_ms)
            fault_end = start + timedelta(milliseconds=fault.end_offset_ms)
        spans.append(
            RunSpan(
                run_id=run.id,
                start=start,
                end=end,
                fault_start=min(max(fault_start, start), end),
                fault_end=min(max(fault_end, start), end),
            )
        )
    return sorted(spans, key=lambda span: span.start)


def observed_intervals(
    intervals: Iterable[tuple[datetime, datetime]], *, gap_sec: float, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Merge observed (first, last) intervals into spans; a silence longer than `gap_sec` is a gap.

    As `dashboard.timeline.observed_spans` for points: the latest span reaches `end` only while its last
    observation is at most `gap_sec` old.
    """
    spans: list[list[datetime]] = []
    for first, last in sorted(intervals):
        if spans and (first - spans[-1][1]).total_seconds() <= gap_sec:
            spans[-1][1] = max(spans[-1][1], last)
        else:
            spans.append([first, last])
    if spans and 0 <= (end - spans[-1][1]).total_seconds() <= gap_sec:
        spans[-1][1] = end
    return [(first, last) for first, last in spans]


def call_latency_buckets(
    events: Sequence[tuple[datetime, str, float | None]],
    *,
    bucket_sec: int,
    totals: Sequence[CallTotals] = (),
) -> list[LatencyBucket]:
    """Average latency of finished calls and the share that failed, per time bucket.

    `totals` adds calls counted per interval: (interval start, kind, latency sum, latency count, calls).
    """
    buckets: dict[int, list[float]] = {}  # start -> [latency sum, latency count, failures, calls]

    def add(moment: datetime, kind: str, latency_sum: float, latency_count: int, calls: int) -> None:
        start = int(moment.timestamp() // bucket_sec) * bucket_sec
        bucket = buckets.setdefault(start, [0.0, 0, 0, 0])
        bucket[0] += latency_sum
        bucket[1] += latency_count
        bucket[2] += calls if kind == EventKind.FAILURE.value else 0
        bucket[3] += calls

    for timestamp, kind, latency_ms in events:
        if str(kind).lower() in FINISHED_KINDS:
            add(timestamp, str(kind).lower(), latency_ms or 0.0, latency_ms is not None, 1)
    for moment, kind, latency_sum, latency_count, calls in totals:
        add(moment, kind, latency_sum, latency_count, calls)
    return [
        LatencyBucket(
            bucket_start=datetime.fromtimestamp(start, UTC),
            latency_ms=latency_sum / latency_count if latency_count else None,
            error_rate_pct=100.0 * failures / calls,
            calls=int(calls),
        )
        for start, (latency_sum, latency_count, failures, calls) in sorted(buckets.items())
    ]
