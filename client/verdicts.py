"""Judge a run's phases against its hypothesis: per-phase measures, deviations, recovery, verdict, score.

Pure functions over samples; the one definition of each rule (the dashboard, the CLI, storage and the
Recommender read what these return). Measures come from `client.measures` (through `client.summaries`);
fault-minus-baseline differences from `client.intervals`, the code History compares runs with.

- **Deviation**: a tolerance of the hypothesis a phase breaks (`p99_latency_ms` over `max_p99_ms`,
  `error_rate_pct` over `max_error_rate_pct`). A phase without samples has no measures and breaks nothing.
- **Time to recovery**: the earliest whole second `k` after the fault's end (0, 1, 2, ...) such that the
  recovery samples from `k` s after the fault's end to the end of the recovery phase, taken together, hold
  the hypothesis, counting only such rests of at least `MIN_WINDOW_SAMPLES` samples. None (never back within
  `recovery_seconds`) when no such rest holds, including a recovery without samples. Pooling the rest, not
  judging each second alone, keeps one natural error in a second of 50 requests (2 %) from breaking a 1 %
  tolerance, while a fault whose effect lasts keeps every rest that includes it outside.
- **Verdict** (None without a hypothesis), by precedence: `baseline_failed` (the baseline breaks the
  hypothesis, or saw no requests: a steady state that cannot be seen is not verified, and the fault is not
  applied) > `not_recovered` (a recovery phase ran and the time to recovery is None) > `deviated` (the fault
  phase breaks it) > `held`.
- **Severity score** (None without a baseline or without samples in the baseline or the fault phase):

      z = max(0, Δp99) / s_lat + max(0, Δerr) / s_err,     score = 100 · z / (1 + z)

  with Δp99 = fault p99 − baseline p99 (ms), Δerr = fault − baseline error rate (percentage points),
  s_lat = `max_p99_ms` if the hypothesis gives it else the baseline p99 (at least `LATENCY_SCALE_FLOOR_MS`),
  s_err = `max_error_rate_pct` if given else the baseline error rate (at least `ERROR_SCALE_FLOOR_PCT`).
  z is in "tolerances broken": a fault phase one tolerance worse than the baseline on one measure scores 50,
  on both 67; it tends to 100. The score is continuous and strictly increasing in the fault's p99 and
  error rate wherever the fault phase is worse than the baseline; the one flat region is a fault phase no
  worse than its baseline on either measure, which scores 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from client.hypothesis import Deviation, ExperimentVerdict, Hypothesis, Phase, PhaseSummary
from client.intervals import Comparison, Metric, compare_error_rate, compare_latency
from client.measures import error_mask
from client.models import ExecutorMetrics, FaultPlan, RequestSample
from client.summaries import summarise

__all__ = [
    "ERROR_SCALE_FLOOR_PCT",
    "LATENCY_SCALE_FLOOR_MS",
    "MIN_WINDOW_SAMPLES",
    "Judgement",
    "deviations",
    "judge",
    "phase_differences",
    "severity_score",
    "summarize",
    "summary_of",
    "time_to_recovery_s",
    "verdict",
]

MIN_WINDOW_SAMPLES = 5
LATENCY_SCALE_FLOOR_MS = 1.0
ERROR_SCALE_FLOOR_PCT = 0.5
P99_MEASURE = "p99_latency_ms"
ERROR_MEASURE = "error_rate_pct"


def summarize(
    phase: Phase, samples: Sequence[RequestSample], start_offset_ms: float, end_offset_ms: float
) -> PhaseSummary:
    """Return the measures of one phase's samples (`client.measures` rules; error rate as a fraction)."""
    return summary_of(phase, summarise(samples), start_offset_ms, end_offset_ms)


def summary_of(
    phase: Phase, metrics: ExecutorMetrics, start_offset_ms: float, end_offset_ms: float
) -> PhaseSummary:
    """Return a phase's summary from aggregate metrics (the samples' or the Executor's)."""
    if metrics.request_count == 0:
        return PhaseSummary(phase=phase, start_offset_ms=start_offset_ms, end_offset_ms=end_offset_ms)
    return PhaseSummary(
        phase=phase,
        start_offset_ms=start_offset_ms,
        end_offset_ms=end_offset_ms,
        sample_count=metrics.request_count,
        error_count=round(metrics.error_rate * metrics.request_count),
        error_rate=metrics.error_rate,
        avg_latency_ms=metrics.avg_latency_ms,
        p50_latency_ms=metrics.p50_latency_ms,
        p95_latency_ms=metrics.p95_latency_ms,
        p99_latency_ms=metrics.p99_latency_ms,
        max_latency_ms=metrics.max_latency_ms,
    )


def deviations(hypothesis: Hypothesis | None, summary: PhaseSummary) -> list[Deviation]:
    """Return the tolerances ``summary`` breaks (none without a hypothesis or without samples)."""
    if hypothesis is None or summary.sample_count == 0:
        return []
    out: list[Deviation] = []
    p99 = summary.p99_latency_ms
    if hypothesis.max_p99_ms is not None and p99 is not None and p99 > hypothesis.max_p99_ms:
        out.append(
            Deviation(phase=summary.phase, measure=P99_MEASURE, observed=p99, limit=hypothesis.max_p99_ms)
        )
    limit_pct = hypothesis.max_error_rate_pct
    if limit_pct is not None and summary.error_rate is not None and summary.error_rate * 100 > limit_pct:
        out.append(
            Deviation(
                phase=summary.phase, measure=ERROR_MEASURE, observed=summary.error_rate * 100, limit=limit_pct
            )
        )
    return out


def time_to_recovery_s(
    hypothesis: Hypothesis, recovery_samples: Sequence[RequestSample], fault_end_offset_ms: float
) -> float | None:
    """Return how many whole seconds after the fault ended the entry point was back inside the hypothesis
    for the rest of the recovery phase, or None if it never was (see the module docstring)."""
    ordered = sorted(recovery_samples, key=lambda s: s.offset_ms)
    seconds = [max(0, math.floor((s.offset_ms - fault_end_offset_ms) / 1000.0)) for s in ordered]
    start = 0
    for second in sorted(set(seconds)):
        while seconds[start] < second:
            start += 1
        rest = ordered[start:]
        if len(rest) < MIN_WINDOW_SAMPLES:
            return None
        if not deviations(hypothesis, summarize(Phase.RECOVERY, rest, 0.0, 0.0)):
            return float(second)
    return None


def verdict(
    hypothesis: Hypothesis | None,
    *,
    baseline: PhaseSummary | None = None,
    fault: PhaseSummary | None = None,
    recovered: bool | None = None,
) -> ExperimentVerdict | None:
    """Return the verdict by precedence baseline_failed > not_recovered > deviated > held.

    ``recovered`` is None when the run had no recovery phase; ``fault`` is None when it was never applied.
    """
    if hypothesis is None:
        return None
    if baseline is not None and (baseline.sample_count == 0 or deviations(hypothesis, baseline)):
        return ExperimentVerdict.BASELINE_FAILED
    if recovered is False:
        return ExperimentVerdict.NOT_RECOVERED
    if fault is not None and deviations(hypothesis, fault):
        return ExperimentVerdict.DEVIATED
    return ExperimentVerdict.HELD


def _scale(tolerance: float | None, baseline_value: float, floor: float) -> float:
    return max(tolerance if tolerance is not None else baseline_value, floor)


def severity_score(
    baseline: PhaseSummary | None, fault: PhaseSummary | None, hypothesis: Hypothesis | None = None
) -> float | None:
    """Return the run's severity, 0..100, from the fault phase against the baseline (module docstring)."""
    if baseline is None or fault is None or baseline.sample_count == 0 or fault.sample_count == 0:
        return None
    base_p99 = baseline.p99_latency_ms or 0.0
    base_err_pct = (baseline.error_rate or 0.0) * 100
    tolerance_p99 = hypothesis.max_p99_ms if hypothesis is not None else None
    tolerance_err = hypothesis.max_error_rate_pct if hypothesis is not None else None
    delta_p99 = max(0.0, (fault.p99_latency_ms or 0.0) - base_p99)
    delta_err = max(0.0, (fault.error_rate or 0.0) * 100 - base_err_pct)
    z = delta_p99 / _scale(tolerance_p99, base_p99, LATENCY_SCALE_FLOOR_MS) + delta_err / _scale(
        tolerance_err, base_err_pct, ERROR_SCALE_FLOOR_PCT
    )
    return 100.0 * z / (1.0 + z)


def _phase_arrays(samples: Sequence[RequestSample], phase: Phase) -> tuple[np.ndarray, int]:
    chosen = [s for s in samples if s.phase is phase]
    latencies = np.asarray([s.latency_ms for s in chosen], dtype=float)
    errors = int(np.count_nonzero(error_mask([s.status_code for s in chosen]))) if chosen else 0
    return latencies, errors


def phase_differences(
    samples: Sequence[RequestSample], *, seed: int = 0, rounds: int = 1000
) -> list[Comparison]:
    """Return fault minus baseline for p50, p95, p99 and the error rate, with 95 % intervals ([] without a
    baseline or a fault phase); the same statistics History compares two runs with."""
    base, base_errors = _phase_arrays(samples, Phase.BASELINE)
    fault, fault_errors = _phase_arrays(samples, Phase.FAULT)
    if base.size == 0 or fault.size == 0:
        return []
    out = [
        compare_latency(base, fault, metric, seed=seed, rounds=rounds)
        for metric in (Metric.P50, Metric.P95, Metric.P99)
    ]
    out.append(compare_error_rate(base_errors, int(base.size), fault_errors, int(fault.size)))
    return out


@dataclass(frozen=True)
class Judgement:
    """What `judge` found: the RawObservation fields of an experiment (`fields()` for ``model_copy``)."""

    phases: list[PhaseSummary]
    verdict: ExperimentVerdict | None
    deviations: list[Deviation]
    severity_score: float | None
    time_to_recovery_s: float | None
    warnings: list[str] = field(default_factory=list)

    def fields(self) -> dict[str, Any]:
        """Return the RawObservation fields this judgement fills (warnings are the caller's to merge)."""
        return {
            "phases": self.phases,
            "verdict": self.verdict,
            "deviations": self.deviations,
            "severity_score": self.severity_score,
            "time_to_recovery_s": self.time_to_recovery_s,
        }


def judge(
    plan: FaultPlan,
    samples: Sequence[RequestSample],
    phase_bounds: Mapping[Phase, tuple[float, float]],
    *,
    known: Mapping[Phase, PhaseSummary] | None = None,
) -> Judgement:
    """Judge a run: ``phase_bounds`` gives each phase the run had its (start, end) offset in ms.

    A run that stopped after its baseline (no fault bounds) is judged on the baseline alone. ``known`` gives
    the summary of a phase that has no samples but whose measures the Executor reported (used only then).
    """
    hypothesis = plan.hypothesis
    by_phase = {phase: [s for s in samples if s.phase is phase] for phase in phase_bounds}
    order = sorted(phase_bounds, key=lambda phase: phase_bounds[phase][0])
    summaries = {phase: summarize(phase, by_phase[phase], *phase_bounds[phase]) for phase in order}
    for phase, summary in (known or {}).items():
        if phase in summaries and not by_phase[phase]:
            summaries[phase] = summary
    baseline = summaries.get(Phase.BASELINE)
    fault = summaries.get(Phase.FAULT)
    recovery = summaries.get(Phase.RECOVERY)
    warnings: list[str] = []
    recovery_s: float | None = None
    if hypothesis is not None and recovery is not None and fault is not None:
        recovery_s = time_to_recovery_s(hypothesis, by_phase[Phase.RECOVERY], phase_bounds[Phase.FAULT][1])
    outcome = verdict(
        hypothesis,
        baseline=baseline,
        fault=fault,
        recovered=None if recovery is None or hypothesis is None else recovery_s is not None,
    )
    found: list[Deviation] = []
    if outcome is ExperimentVerdict.BASELINE_FAILED and baseline is not None:
        found = deviations(hypothesis, baseline)
    elif fault is not None:
        found = deviations(hypothesis, fault)
        if outcome is ExperimentVerdict.NOT_RECOVERED and recovery is not None:
            found += deviations(hypothesis, recovery)
    for summary in summaries.values():
        if summary.sample_count == 0:
            warnings.append(f"{summary.phase.value}: no requests were observed")
    return Judgement(
        phases=list(summaries.values()),
        verdict=outcome,
        deviations=found,
        severity_score=severity_score(baseline, fault, hypothesis),
        time_to_recovery_s=recovery_s,
        warnings=warnings,
    )
