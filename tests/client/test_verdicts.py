"""client.verdicts on hand-made samples: measures, deviations, recovery, verdicts and the severity score."""

from __future__ import annotations

import numpy as np
import pytest

from client import FaultPlan, FaultType, Hypothesis, RequestSample
from client.hypothesis import ExperimentVerdict, Phase, PhaseSummary
from client.intervals import Difference, Metric
from client.measures import percentile
from client.verdicts import (
    MIN_WINDOW_SAMPLES,
    deviations,
    judge,
    phase_differences,
    severity_score,
    summarize,
    time_to_recovery_s,
    verdict,
)

HYP = Hypothesis(max_p99_ms=100, max_error_rate_pct=5)


def samples(
    phase: Phase, start_ms: float, seconds: int, latency_ms: float = 10.0, status: int = 200, per_s: int = 10
) -> list[RequestSample]:
    """Return ``per_s`` evenly spaced samples a second for ``seconds`` from ``start_ms``."""
    step = 1000.0 / per_s
    return [
        RequestSample(start_ms + i * step, latency_ms, status, False, phase) for i in range(seconds * per_s)
    ]


def plan(**changes: object) -> FaultPlan:
    base: dict[str, object] = {
        "service": "payment",
        "api": "/pay",
        "fault_type": FaultType.DELAY,
        "delay_seconds": 1.0,
        "percentage": 50,
        "duration_seconds": 2,
    }
    return FaultPlan.model_validate(base | changes)


def summary(
    phase: Phase = Phase.FAULT, *, p99: float = 10.0, error_rate: float = 0.0, n: int = 100
) -> PhaseSummary:
    return PhaseSummary(
        phase=phase,
        start_offset_ms=0,
        end_offset_ms=1000,
        sample_count=n,
        error_rate=error_rate if n else None,
        p99_latency_ms=p99 if n else None,
    )


def test_summarize_uses_the_measures_rules() -> None:
    rows = [RequestSample(float(i), float(i + 1), 500 if i % 4 == 0 else 200, False) for i in range(20)]
    rows.append(RequestSample(21.0, 3.0, 0, False))  # no answer: an error too
    got = summarize(Phase.FAULT, rows, 0.0, 2000.0)
    latencies = sorted(s.latency_ms for s in rows)
    assert got.sample_count == 21
    assert got.error_count == 6
    assert got.error_rate == pytest.approx(6 / 21)
    assert got.p99_latency_ms == pytest.approx(percentile(latencies, 0.99))
    assert got.p50_latency_ms == pytest.approx(float(np.percentile(latencies, 50)))
    assert (got.start_offset_ms, got.end_offset_ms) == (0.0, 2000.0)


def test_summarize_without_samples_has_no_measures() -> None:
    got = summarize(Phase.RECOVERY, [], 4000.0, 6000.0)
    assert got.sample_count == 0 and got.p99_latency_ms is None and got.error_rate is None


def test_deviations_name_the_measure_and_by_how_much() -> None:
    found = deviations(HYP, summary(p99=150.0, error_rate=0.2))
    assert [(d.measure, d.observed, d.limit) for d in found] == [
        ("p99_latency_ms", 150.0, 100.0),
        ("error_rate_pct", 20.0, 5.0),
    ]
    assert found[0].excess == 50.0


def test_a_tolerance_left_out_is_not_judged() -> None:
    latency_only = Hypothesis(max_p99_ms=100)
    assert deviations(latency_only, summary(p99=50.0, error_rate=1.0)) == []
    errors_only = Hypothesis(max_error_rate_pct=5)
    assert deviations(errors_only, summary(p99=10_000.0, error_rate=0.01)) == []
    assert [d.measure for d in deviations(errors_only, summary(error_rate=0.06))] == ["error_rate_pct"]


def test_deviations_at_the_limit_hold() -> None:
    assert deviations(HYP, summary(p99=100.0, error_rate=0.05)) == []


def test_no_samples_and_no_hypothesis_break_nothing() -> None:
    assert deviations(HYP, summary(n=0)) == []
    assert deviations(None, summary(p99=1e6, error_rate=1.0)) == []


@pytest.mark.parametrize(
    ("baseline", "fault", "recovered", "expected"),
    [
        (summary(Phase.BASELINE, p99=500.0), summary(p99=500.0), False, ExperimentVerdict.BASELINE_FAILED),
        (summary(Phase.BASELINE, n=0), None, None, ExperimentVerdict.BASELINE_FAILED),
        (summary(Phase.BASELINE), summary(p99=500.0), False, ExperimentVerdict.NOT_RECOVERED),
        (summary(Phase.BASELINE), summary(p99=500.0), True, ExperimentVerdict.DEVIATED),
        (None, summary(error_rate=0.5), None, ExperimentVerdict.DEVIATED),
        (summary(Phase.BASELINE), summary(), True, ExperimentVerdict.HELD),
        (None, summary(), None, ExperimentVerdict.HELD),
        (summary(Phase.BASELINE), summary(), False, ExperimentVerdict.NOT_RECOVERED),
    ],
)
def test_verdict_precedence(
    baseline: PhaseSummary | None,
    fault: PhaseSummary | None,
    recovered: bool | None,
    expected: ExperimentVerdict,
) -> None:
    assert verdict(HYP, baseline=baseline, fault=fault, recovered=recovered) is expected


def test_no_hypothesis_no_verdict() -> None:
    assert (
        verdict(None, baseline=summary(Phase.BASELINE, n=0), fault=summary(p99=1e6), recovered=False) is None
    )


def test_recovery_from_the_first_second() -> None:
    rows = samples(Phase.RECOVERY, 4000.0, 3)
    assert time_to_recovery_s(HYP, rows, 4000.0) == 0.0


def test_recovery_after_the_last_breaking_window() -> None:
    rows = [
        *samples(Phase.RECOVERY, 4000.0, 1, latency_ms=300.0),
        *samples(Phase.RECOVERY, 5000.0, 1),
        *samples(Phase.RECOVERY, 6000.0, 1, status=503),
        *samples(Phase.RECOVERY, 7000.0, 2),
    ]
    assert time_to_recovery_s(HYP, rows, 4000.0) == 3.0


def test_recovery_that_breaks_at_the_end_never_came() -> None:
    rows = [*samples(Phase.RECOVERY, 4000.0, 2), *samples(Phase.RECOVERY, 6000.0, 1, latency_ms=300.0)]
    assert time_to_recovery_s(HYP, rows, 4000.0) is None


def test_one_natural_error_does_not_hold_recovery_back() -> None:
    rows = samples(Phase.RECOVERY, 4000.0, 4, per_s=50)
    rows[-1] = RequestSample(rows[-1].offset_ms, 10.0, 500, False, Phase.RECOVERY)  # 2 % of its second
    assert time_to_recovery_s(HYP, rows, 4000.0) == 0.0  # 1 in 200 over the rest: inside 5 %
    strict = Hypothesis(max_error_rate_pct=0.4)
    assert time_to_recovery_s(strict, rows, 4000.0) is None  # every rest holds that one error


def test_a_rest_too_small_to_judge_does_not_count() -> None:
    failed_second = samples(Phase.RECOVERY, 4000.0, 1, status=503)
    few = samples(Phase.RECOVERY, 5000.0, 1, per_s=MIN_WINDOW_SAMPLES - 1)
    enough = samples(Phase.RECOVERY, 5000.0, 1, per_s=MIN_WINDOW_SAMPLES)
    assert time_to_recovery_s(HYP, [*failed_second, *few], 4000.0) is None
    assert time_to_recovery_s(HYP, [*failed_second, *enough], 4000.0) == 1.0


def test_empty_recovery_never_recovered() -> None:
    assert time_to_recovery_s(HYP, [], 4000.0) is None


def test_severity_is_none_without_a_baseline_or_samples() -> None:
    assert severity_score(None, summary(p99=500.0)) is None
    assert severity_score(summary(Phase.BASELINE, n=0), summary(p99=500.0)) is None
    assert severity_score(summary(Phase.BASELINE), summary(n=0)) is None


def test_severity_scales_by_the_tolerances() -> None:
    base = summary(Phase.BASELINE, p99=20.0, error_rate=0.0)
    one_tolerance = summary(p99=120.0, error_rate=0.0)
    assert severity_score(base, one_tolerance, HYP) == pytest.approx(50.0)
    both = summary(p99=120.0, error_rate=0.05)
    assert severity_score(base, both, HYP) == pytest.approx(100 * 2 / 3)
    assert severity_score(base, base, HYP) == 0.0


def test_severity_without_tolerances_scales_by_the_baseline() -> None:
    base = summary(Phase.BASELINE, p99=40.0, error_rate=0.02)
    assert severity_score(base, summary(p99=80.0, error_rate=0.02)) == pytest.approx(50.0)
    assert severity_score(base, summary(p99=40.0, error_rate=0.04)) == pytest.approx(50.0)
    zero = summary(Phase.BASELINE, p99=0.0, error_rate=0.0)  # floors keep the scale positive
    assert 0 < severity_score(zero, summary(p99=1.0, error_rate=0.005)) < 100  # type: ignore[operator]


def _grid(hypothesis: Hypothesis | None, p99s: np.ndarray, errors: np.ndarray) -> np.ndarray:
    base = summary(Phase.BASELINE, p99=50.0, error_rate=0.01)
    return np.array(
        [
            [severity_score(base, summary(p99=float(p), error_rate=float(e)), hypothesis) for e in errors]
            for p in p99s
        ]
    )


@pytest.mark.parametrize(
    ("hypothesis", "latency_scale_ms", "error_scale_pct"),
    [(HYP, 100.0, 5.0), (Hypothesis(max_p99_ms=300), 300.0, 1.0), (None, 50.0, 1.0)],
)
def test_severity_is_monotone_continuous_and_bounded_on_a_dense_grid(
    hypothesis: Hypothesis | None, latency_scale_ms: float, error_scale_pct: float
) -> None:
    p99s = np.linspace(0.0, 2000.0, 161)  # baseline p99 50 ms and error rate 1 % are grid points
    errors = np.linspace(0.0, 0.5, 101)
    grid = _grid(hypothesis, p99s, errors)
    assert np.all((grid >= 0) & (grid < 100))
    assert np.all(np.diff(grid, axis=0) >= 0) and np.all(np.diff(grid, axis=1) >= 0)
    worse_p, worse_e = p99s > 50.0, errors > 0.01
    assert np.all(np.diff(grid[worse_p], axis=0) > 0)  # strictly increasing where worse: no plateau
    assert np.all(np.diff(grid[:, worse_e], axis=1) > 0)
    # Continuity without steps: no step between neighbours exceeds the score's Lipschitz bound
    # (d score / dz <= 100, z moves by the deltas over their scales); a jump anywhere would.
    step_p, step_e = p99s[1] - p99s[0], (errors[1] - errors[0]) * 100
    assert np.max(np.diff(grid, axis=0)) <= 100 * step_p / latency_scale_ms + 1e-9
    assert np.max(np.diff(grid, axis=1)) <= 100 * step_e / error_scale_pct + 1e-9
    assert np.max(np.diff(grid, axis=0)) == pytest.approx(
        100 * step_p / latency_scale_ms / (1 + step_p / latency_scale_ms)
    )


def test_phase_differences_use_the_history_intervals() -> None:
    rng = np.random.default_rng(3)
    rows = [RequestSample(i, float(rng.normal(20, 2)), 200, False, Phase.BASELINE) for i in range(200)]
    rows += [
        RequestSample(5000 + i, float(rng.normal(80, 5)), 500 if i % 5 == 0 else 200, True)
        for i in range(200)
    ]
    found = {c.metric: c for c in phase_differences(rows, rounds=200)}
    assert list(found) == [Metric.P50, Metric.P95, Metric.P99, Metric.ERROR_RATE]
    assert found[Metric.P50].outcome is Difference.HIGHER
    assert found[Metric.P50].difference == pytest.approx(60, abs=3)
    assert found[Metric.ERROR_RATE].difference == pytest.approx(0.2)
    assert found[Metric.ERROR_RATE].outcome is Difference.HIGHER


def test_phase_differences_need_both_phases() -> None:
    assert phase_differences(samples(Phase.FAULT, 0, 2)) == []


def test_judge_a_run_that_held() -> None:
    rows = [
        *samples(Phase.BASELINE, 0, 2),
        *samples(Phase.FAULT, 2000, 2, latency_ms=40.0),
        *samples(Phase.RECOVERY, 4000, 2),
    ]
    bounds = {Phase.BASELINE: (0.0, 2000.0), Phase.FAULT: (2000.0, 4000.0), Phase.RECOVERY: (4000.0, 6000.0)}
    got = judge(plan(hypothesis=HYP), rows, bounds)
    assert [p.phase for p in got.phases] == [Phase.BASELINE, Phase.FAULT, Phase.RECOVERY]
    assert [p.sample_count for p in got.phases] == [20, 20, 20]
    assert got.verdict is ExperimentVerdict.HELD and got.deviations == []
    assert got.time_to_recovery_s == 0.0
    assert got.severity_score == pytest.approx(100 * 0.3 / 1.3)
    assert got.fields()["verdict"] is ExperimentVerdict.HELD


def test_judge_a_deviation_that_did_not_recover() -> None:
    rows = [
        *samples(Phase.BASELINE, 0, 2),
        *samples(Phase.FAULT, 2000, 2, status=503),
        *samples(Phase.RECOVERY, 4000, 2, status=503),
    ]
    bounds = {Phase.BASELINE: (0.0, 2000.0), Phase.FAULT: (2000.0, 4000.0), Phase.RECOVERY: (4000.0, 6000.0)}
    got = judge(plan(hypothesis=HYP), rows, bounds)
    assert got.verdict is ExperimentVerdict.NOT_RECOVERED
    assert [(d.phase, d.measure) for d in got.deviations] == [
        (Phase.FAULT, "error_rate_pct"),
        (Phase.RECOVERY, "error_rate_pct"),
    ]
    assert got.time_to_recovery_s is None


def test_judge_a_failed_baseline_alone() -> None:
    rows = samples(Phase.BASELINE, 0, 2, status=503)
    got = judge(plan(hypothesis=HYP), rows, {Phase.BASELINE: (0.0, 2000.0)})
    assert got.verdict is ExperimentVerdict.BASELINE_FAILED
    assert [d.phase for d in got.deviations] == [Phase.BASELINE]
    assert got.severity_score is None


def test_judge_without_hypothesis_or_phases() -> None:
    got = judge(plan(), samples(Phase.FAULT, 0, 2), {Phase.FAULT: (0.0, 2000.0)})
    assert got.verdict is None and got.severity_score is None and got.time_to_recovery_s is None
    assert [p.phase for p in got.phases] == [Phase.FAULT]


def test_judge_warns_about_an_empty_phase() -> None:
    bounds = {Phase.FAULT: (0.0, 2000.0), Phase.RECOVERY: (2000.0, 4000.0)}
    got = judge(plan(hypothesis=HYP), samples(Phase.FAULT, 0, 2), bounds)
    assert got.verdict is ExperimentVerdict.NOT_RECOVERED
    assert got.warnings == ["recovery: no requests were observed"]


def test_judge_takes_the_executors_measures_of_a_phase_without_samples() -> None:
    reported = summary(Phase.BASELINE, p99=20.0, error_rate=0.0, n=50)
    bounds = {Phase.BASELINE: (0.0, 2000.0), Phase.FAULT: (2000.0, 4000.0)}
    rows = samples(Phase.FAULT, 2000, 2)
    got = judge(plan(hypothesis=HYP), rows, bounds, known={Phase.BASELINE: reported})
    assert got.verdict is ExperimentVerdict.HELD and got.phases[0] == reported
    assert judge(plan(hypothesis=HYP), rows, bounds).verdict is ExperimentVerdict.BASELINE_FAILED
    fault_known = summary(Phase.FAULT, p99=1e6, n=1)  # ignored: the fault phase has samples of its own
    both = {Phase.BASELINE: reported, Phase.FAULT: fault_known}
    assert judge(plan(hypothesis=HYP), rows, bounds, known=both).verdict is ExperimentVerdict.HELD
