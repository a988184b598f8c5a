"""What a run's own page shows, as plain values: its experiment outcome, phases, differences and events.

The page (`pages/5_Run.py`) only renders these. Statistics come from `client.intervals` (History's code);
phase measures are the stored `PhaseSummary`s (`client.measures`' rules): nothing is recomputed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy.engine import Engine

import storage
from client import Deviation, ExperimentVerdict, Phase, PhaseSummary, TargetHits, redact_url
from client.breaker import BreakerState
from client.events import EventKind
from client.intervals import Comparison
from dashboard.data import read_session
from dashboard.names import VERDICT_ICONS, VERDICT_SENTENCES
from dashboard.timeline import breaker_bands

MEASURE_NAMES = {"p99_latency_ms": "p99 latency", "error_rate_pct": "error rate"}
MEASURE_UNITS = {"p99_latency_ms": "ms", "error_rate_pct": "%"}
# Client events the page lists; attempts, successes and health checks are routine and only counted.
LISTED_EVENTS = (EventKind.RETRY, EventKind.FAILURE, EventKind.REJECTED)


@dataclass(frozen=True)
class AxisBand:
    """The breaker held `state` from `start` to `end` seconds on the run's time axis."""

    start: float
    end: float
    state: BreakerState


@dataclass(frozen=True)
class Experiment:
    """A run's experiment outcome as stored: verdict, score, phases, deviations and the fault's target."""

    verdict: ExperimentVerdict | None = None
    severity_score: float | None = None
    time_to_recovery_s: float | None = None
    phases: list[PhaseSummary] = field(default_factory=list)
    deviations: list[Deviation] = field(default_factory=list)
    target: TargetHits | None = None

    def phase(self, phase: Phase) -> PhaseSummary | None:
        """Return the summary of one phase, or None if the run had no such phase."""
        return next((p for p in self.phases if p.phase is phase), None)


@dataclass
class RunPage:
    """Everything the run page shows about one run."""

    run: storage.Run
    experiment: Experiment
    timeline: list[storage.TimelinePoint]
    samples: np.ndarray
    events: list[storage.ClientEventRow]
    bands: list[AxisBand]
    attempt_count: int = 0


def experiment_of(run: storage.Run) -> Experiment:
    """Return the experiment columns of a stored run (revision 0009; a run stored before has none)."""
    return Experiment(
        verdict=None if run.verdict is None else ExperimentVerdict(run.verdict),
        severity_score=run.severity_score,
        time_to_recovery_s=run.time_to_recovery_s,
        phases=[PhaseSummary.model_validate(p) for p in run.phases or []],
        deviations=[Deviation.model_validate(d) for d in run.deviations or []],
        target=None if not run.target else TargetHits.model_validate(run.target),
    )


def axis_phases(run: storage.Run, experiment: Experiment) -> list[PhaseSummary]:
    """Return the phases to draw: the stored ones, else those the plan asks for (a run still going, or
    stored without phases: one fault phase from 0)."""
    if experiment.phases:
        return list(experiment.phases)
    plan = run.plan or {}
    planned = (
        (Phase.BASELINE, int(plan.get("baseline_seconds") or 0)),
        (Phase.FAULT, int(run.duration_seconds)),
        (Phase.RECOVERY, int(plan.get("recovery_seconds") or 0)),
    )
    phases, start_ms = [], 0.0
    for phase, seconds in planned:
        if seconds or phase is Phase.FAULT:
            phases.append(
                PhaseSummary(phase=phase, start_offset_ms=start_ms, end_offset_ms=start_ms + seconds * 1e3)
            )
            start_ms += seconds * 1e3
    return phases


def run_window(run: storage.Run, *, now: datetime | None = None) -> tuple[datetime, datetime]:
    """Return when the run was live: from its start (else creation) to its end (else now)."""
    start = run.started_at or run.created_at
    end = run.finished_at or now or datetime.now(UTC)
    return start, max(start, end)


def seconds_on_axis(run: storage.Run, moment: datetime) -> float:
    """Return `moment` in seconds on the run's axis, whose 0 is taken as the time the run started."""
    start, _ = run_window(run)
    return (moment - start).total_seconds()


def load_run_page(engine: Engine, run_id: int, *, now: datetime | None = None) -> RunPage | None:
    """Return what the run page shows, or None when the run does not exist."""
    with read_session(engine) as session:
        found = storage.get_run_with_events(session, run_id=run_id, now=now)
    if found is None:
        return None
    run = found.detail.run
    # The window holds every client event of the run's Executor: keep the run's own (another run's retries
    # and the health checks are not this run's events).
    own = [
        e
        for e in found.client_events
        if e.run_id == run.id or (run.apply_key and e.apply_key == run.apply_key)
    ]
    transitions = [(t.timestamp, BreakerState(t.new_state)) for t in found.breaker_transitions]
    return RunPage(
        run=run,
        experiment=experiment_of(run),
        timeline=list(found.detail.timeline),
        samples=found.detail.samples,
        events=[e for e in own if e.kind in LISTED_EVENTS],
        bands=bands_on_axis(
            run, transitions, end=found.until, initial=found.breaker_state_at_start or BreakerState.CLOSED
        ),
        attempt_count=sum(1 for e in own if e.kind == EventKind.ATTEMPT),
    )


def bands_on_axis(
    run: storage.Run,
    transitions: Sequence[tuple[datetime, BreakerState]],
    *,
    end: datetime,
    initial: BreakerState = BreakerState.CLOSED,
) -> list[AxisBand]:
    """Return the breaker's states from the run's start to `end` as bands on its time axis."""
    start, _ = run_window(run)
    bands = breaker_bands(transitions, start=start, end=max(start, end), initial=initial)
    return [
        AxisBand(seconds_on_axis(run, band.start), seconds_on_axis(run, band.end), band.state)
        for band in bands
    ]


def verdict_name(verdict: ExperimentVerdict | str | None) -> str:
    """Return a verdict as people read it; "No hypothesis" without one."""
    if verdict is None:
        return "No hypothesis"
    kind = ExperimentVerdict(verdict)
    return f"{VERDICT_ICONS[kind]} {VERDICT_SENTENCES[kind]}"


def deviation_text(deviation: Deviation) -> str:
    """Say which tolerance a phase broke and by how much, e.g. "fault: p99 latency 812 ms > 300 ms"."""
    unit = MEASURE_UNITS.get(deviation.measure, "")
    name = MEASURE_NAMES.get(deviation.measure, deviation.measure)
    return (
        f"{deviation.phase.value}: {name} {deviation.observed:,.1f} {unit} > limit {deviation.limit:,.1f} "
        f"{unit} (+{deviation.excess:,.1f} {unit})"
    )


def recovery_text(experiment: Experiment, *, recovery_seconds: int) -> str | None:
    """Say how long the entry point took to come back, or that it did not; None without a recovery phase."""
    if experiment.phase(Phase.RECOVERY) is None:
        return None
    if experiment.time_to_recovery_s is None:
        return f"not back inside the hypothesis within {recovery_seconds} s"
    return f"back inside the hypothesis {experiment.time_to_recovery_s:.1f} s after the fault ended"


def score_text(score: float | None) -> str:
    """Return the severity score as shown (0 to 100), or a dash without a baseline."""
    return "–" if score is None else f"{score:.1f}"


def phase_rows(phases: Sequence[PhaseSummary]) -> list[dict[str, Any]]:
    """Return one table row per phase: its window on the axis, samples, percentiles and error rate."""
    return [
        {
            "phase": p.phase.value,
            "from (s)": round(p.start_offset_ms / 1000.0, 1),
            "to (s)": round(p.end_offset_ms / 1000.0, 1),
            "samples": p.sample_count,
            "p50 (ms)": _round(p.p50_latency_ms),
            "p95 (ms)": _round(p.p95_latency_ms),
            "p99 (ms)": _round(p.p99_latency_ms),
            "error rate (%)": None if p.error_rate is None else round(p.error_rate * 100.0, 2),
        }
        for p in phases
    ]


def difference_rows(comparisons: Sequence[Comparison]) -> list[dict[str, Any]]:
    """Return fault-minus-baseline rows with their 95 % intervals, in ms (or percentage points)."""
    rows = []
    for c in comparisons:
        scale, unit = (100.0, "pp") if c.metric.value == "error_rate" else (1.0, "ms")
        interval = c.difference_ci
        rows.append(
            {
                "measure": c.metric.label,
                "baseline": _round(c.baseline * scale),
                "fault": _round(c.candidate * scale),
                "fault − baseline": f"{c.difference * scale:+,.1f} {unit}",
                "95 % interval": "–"
                if interval is None
                else f"[{interval.low * scale:+,.1f}, {interval.high * scale:+,.1f}] {unit}",
                "verdict": c.verdict,
            }
        )
    return rows


def event_rows(page: RunPage) -> list[dict[str, Any]]:
    """Return the run's retries, failures, rejected calls, breaker transitions and halt, in time order."""
    run = page.run
    rows: list[tuple[datetime, dict[str, Any]]] = []
    for event in page.events:
        detail = event.error_class or (f"HTTP {event.status_code}" if event.status_code else "")
        if event.kind == EventKind.RETRY and event.delay_sec is not None:
            detail = f"{detail} · retry in {event.delay_sec:.2f} s".strip(" ·")
        rows.append(
            (event.timestamp, _event(run, event.timestamp, event.kind, event.operation or "", detail))
        )
    for before, after in zip(page.bands, page.bands[1:], strict=False):
        moment = run_window(run)[0] + timedelta(seconds=after.start)
        text = f"{before.state.value} → {after.state.value}"
        rows.append((moment, _event(run, moment, "breaker", "", text)))
    if run.stop_reason and run.finished_at is not None:
        rows.append((run.finished_at, _event(run, run.finished_at, "halt", "", run.stop_reason)))
    return [row for _, row in sorted(rows, key=lambda item: item[0])]


def _event(run: storage.Run, moment: datetime, kind: str, operation: str, detail: str) -> dict[str, Any]:
    return {
        "t (s)": round(seconds_on_axis(run, moment), 2),
        "time (UTC)": moment.astimezone(UTC).strftime("%H:%M:%S.%f")[:-3],
        "event": str(kind),
        "operation": operation,
        "detail": detail,
    }


def _round(value: float | None) -> float | None:
    return None if value is None or np.isnan(value) else round(float(value), 1)


def duration_text(run: storage.Run, *, now: datetime | None = None) -> str:
    """Return how long the run took (or has taken so far), e.g. "12.3 s"; a dash before it started."""
    if run.started_at is None:
        return "–"
    start, end = run_window(run, now=now)
    return f"{(end - start).total_seconds():,.1f} s"


def who_and_when(run: storage.Run) -> str:
    """Say who launched the run, how and when (UTC), and its labels."""
    stamp = "%Y-%m-%d %H:%M:%S UTC"
    parts = [f"launched by {run.launched_by}" if run.launched_by else "launched without a login"]
    parts.append(f"created {run.created_at.astimezone(UTC).strftime(stamp)}")
    if run.started_at:
        parts.append(f"started {run.started_at.astimezone(UTC).strftime(stamp)}")
    if run.finished_at:
        parts.append(f"finished {run.finished_at.astimezone(UTC).strftime(stamp)}")
    parts.append(f"{run.api_mode.value} api at {redact_url(run.executor_url)}")
    if run.labels:
        parts.append("labels: " + ", ".join(run.labels))
    return " · ".join(parts)
