"""Comparison statistics: intervals that cover what they should and verdicts that say it plainly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from client.intervals import (
    Difference,
    Metric,
    compare_error_rate,
    compare_latency,
    compare_samples,
    fault_fraction,
    outcome,
    verdict,
    wilson_interval,
)


def _lognormal(seed: int, scale_ms: float, size: int = 2000) -> np.ndarray:
    return np.random.default_rng(seed).lognormal(mean=math.log(scale_ms), sigma=0.3, size=size)


def test_p95_four_times_higher_is_significant_with_a_ratio_near_four() -> None:
    base, cand = _lognormal(1, 10.0), _lognormal(2, 40.0)
    result = compare_latency(base, cand, Metric.P95, rounds=400)
    assert result.significant
    assert result.ratio is not None and 3.5 < result.ratio < 4.5
    assert result.ratio_ci is not None and result.ratio_ci.low < result.ratio < result.ratio_ci.high
    assert result.verdict.startswith("p95 latency ") and result.verdict.endswith("× higher, significant")


def test_same_distribution_is_not_significant() -> None:
    base, cand = _lognormal(3, 10.0), _lognormal(4, 10.0)
    result = compare_latency(base, cand, Metric.MEAN, rounds=400)
    assert not result.significant
    assert result.difference_ci is not None and result.difference_ci.contains(0.0)
    assert result.verdict == "mean latency: no significant difference"


def test_bootstrap_is_reproducible_with_a_seed() -> None:
    base, cand = _lognormal(5, 10.0, 500), _lognormal(6, 12.0, 500)
    first = compare_latency(base, cand, Metric.P99, rounds=200, seed=7)
    second = compare_latency(base, cand, Metric.P99, rounds=200, seed=7)
    assert first == second


def test_lower_latency_says_lower() -> None:
    result = compare_latency(_lognormal(8, 20.0), _lognormal(9, 15.0), Metric.P50, rounds=300)
    assert result.significant
    assert "% lower, significant" in result.verdict


def test_too_few_samples_give_no_interval() -> None:
    result = compare_latency(np.array([1.0]), np.array([2.0, 3.0]), Metric.MEAN)
    assert result.difference_ci is None and not result.significant


def test_empty_sample_says_not_enough_data() -> None:
    result = compare_latency(np.array([]), np.array([2.0, 3.0]), Metric.MEAN)
    assert result.verdict == "mean latency: not enough data"


def test_error_rate_difference_uses_score_interval() -> None:
    result = compare_error_rate(10, 1000, 120, 1000)
    assert result.significant
    assert result.difference == pytest.approx(0.11)
    assert result.difference_ci is not None
    assert result.difference_ci.low < 0.11 < result.difference_ci.high
    assert result.verdict == "error rate 11.0 pp higher, significant"


def test_equal_error_rates_are_not_significant() -> None:
    result = compare_error_rate(50, 1000, 55, 1000)
    assert not result.significant


def test_wilson_interval_matches_reference_values() -> None:
    interval = wilson_interval(50, 100)
    assert interval is not None
    assert interval.low == pytest.approx(0.4038, abs=1e-4)
    assert interval.high == pytest.approx(0.5962, abs=1e-4)
    assert wilson_interval(0, 0) is None
    zero = wilson_interval(0, 10)
    assert zero is not None and zero.low == 0.0 and zero.high > 0.2


def test_fault_fraction_checks_configured_percentage() -> None:
    ok = fault_fraction(492, 1000, 50)
    assert ok.consistent is True and ok.achieved == pytest.approx(0.492)
    off = fault_fraction(100, 1000, 50)
    assert off.consistent is False
    empty = fault_fraction(0, 0, 50)
    assert empty.consistent is None and empty.achieved is None


def test_compare_samples_covers_every_metric() -> None:
    results = compare_samples(_lognormal(10, 10.0, 300), 3, _lognormal(11, 10.0, 300), 4, rounds=100)
    assert [r.metric for r in results] == [Metric.MEAN, Metric.P50, Metric.P95, Metric.P99, Metric.ERROR_RATE]


def test_compare_latency_refuses_error_rate() -> None:
    with pytest.raises(ValueError):
        compare_latency(np.ones(3), np.ones(3), Metric.ERROR_RATE)


def test_verdict_uses_percent_for_small_changes() -> None:
    assert (
        verdict(Metric.P95, ratio=1.2, difference=2.0, significant=True)
        == "p95 latency 20% higher, significant"
    )
    assert (
        verdict(Metric.P95, ratio=0.25, difference=-3.0, significant=True)
        == "p95 latency 4.0× lower, significant"
    )


def test_the_verdict_is_an_enum_and_its_words_derive_from_it() -> None:
    higher = compare_latency(_lognormal(1, 10.0), _lognormal(2, 40.0), Metric.P95, rounds=400)
    same = compare_latency(_lognormal(3, 10.0), _lognormal(4, 10.0), Metric.MEAN, rounds=400)
    lower = compare_error_rate(30, 100, 5, 100)
    empty = compare_latency(np.empty(0), np.empty(0), Metric.MEAN)
    assert [r.outcome for r in (higher, same, lower, empty)] == [
        Difference.HIGHER,
        Difference.NO_SIGNIFICANT_DIFFERENCE,
        Difference.LOWER,
        Difference.NOT_ENOUGH_DATA,
    ]
    assert [r.outcome.significant for r in (higher, same, lower, empty)] == [True, False, True, False]
    assert lower.verdict == "error rate 25.0 pp lower, significant"
    assert outcome(difference=math.nan, significant=True) is Difference.NOT_ENOUGH_DATA
