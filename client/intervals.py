"""Honest statistics for comparing two samples (runs, or the phases of one run): bootstrap and score
intervals, and how they differ (an enum, in words).

Pure numpy and the standard library (scipy.stats costs seconds to import on every page load).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from statistics import NormalDist

import numpy as np

CONFIDENCE = 0.95
_BOOTSTRAP_CHUNK = 100


class Metric(StrEnum):
    """A metric compared between two runs."""

    MEAN = "mean"
    P50 = "p50"
    P95 = "p95"
    P99 = "p99"
    ERROR_RATE = "error_rate"

    @property
    def label(self) -> str:
        return {
            Metric.MEAN: "mean latency",
            Metric.P50: "p50 latency",
            Metric.P95: "p95 latency",
            Metric.P99: "p99 latency",
            Metric.ERROR_RATE: "error rate",
        }[self]


class Difference(StrEnum):
    """How a candidate run differs from the baseline on one metric; `verdict()` says it in words."""

    HIGHER = "higher"  # significantly
    LOWER = "lower"  # significantly
    NO_SIGNIFICANT_DIFFERENCE = "no_significant_difference"
    NOT_ENOUGH_DATA = "not_enough_data"

    @property
    def significant(self) -> bool:
        """Return True for a significant difference, either way."""
        return self in (Difference.HIGHER, Difference.LOWER)


def outcome(*, difference: float, significant: bool) -> Difference:
    """Return the verdict on a difference (candidate minus baseline) and whether it is significant."""
    if math.isnan(difference):
        return Difference.NOT_ENOUGH_DATA
    if not significant:
        return Difference.NO_SIGNIFICANT_DIFFERENCE
    return Difference.HIGHER if difference > 0 else Difference.LOWER


LATENCY_METRICS = (Metric.MEAN, Metric.P50, Metric.P95, Metric.P99)
_PERCENTILE = {Metric.P50: 50.0, Metric.P95: 95.0, Metric.P99: 99.0}


@dataclass(frozen=True)
class Interval:
    """A confidence interval [low, high]."""

    low: float
    high: float

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True)
class Comparison:
    """One metric of a candidate run against a baseline run, with its 95 % interval and verdict."""

    metric: Metric
    baseline: float
    candidate: float
    difference: float
    difference_ci: Interval | None
    ratio: float | None
    ratio_ci: Interval | None
    significant: bool

    @property
    def outcome(self) -> Difference:
        """Return how the candidate differs from the baseline."""
        return outcome(difference=self.difference, significant=self.significant)

    @property
    def verdict(self) -> str:
        """Return the verdict in plain words (derived from `outcome`)."""
        return verdict(
            self.metric, ratio=self.ratio, difference=self.difference, significant=self.significant
        )


@dataclass(frozen=True)
class FractionCheck:
    """Achieved fault fraction (affected / requests) against the configured percentage."""

    affected: int
    requests: int
    achieved: float | None
    interval: Interval | None
    configured: float
    consistent: bool | None


def statistic(values: np.ndarray, metric: Metric) -> float:
    """Return the metric of one sample of latencies (nan when empty)."""
    if values.size == 0:
        return math.nan
    if metric is Metric.MEAN:
        return float(np.mean(values))
    return float(np.percentile(values, _PERCENTILE[metric]))


def _bootstrap_stats(values: np.ndarray, metric: Metric, rng: np.random.Generator, rounds: int) -> np.ndarray:
    out = np.empty(rounds)
    for start in range(0, rounds, _BOOTSTRAP_CHUNK):
        count = min(_BOOTSTRAP_CHUNK, rounds - start)
        draws = values[rng.integers(0, values.size, size=(count, values.size))]
        if metric is Metric.MEAN:
            out[start : start + count] = draws.mean(axis=1)
        else:
            out[start : start + count] = np.percentile(draws, _PERCENTILE[metric], axis=1)
    return out


def _cap(values: np.ndarray, max_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Return at most `max_samples` values drawn without replacement (keeps the bootstrap fast)."""
    if values.size <= max_samples:
        return values
    return rng.choice(values, size=max_samples, replace=False)


def compare_latency(
    baseline: np.ndarray,
    candidate: np.ndarray,
    metric: Metric,
    *,
    rounds: int = 1000,
    seed: int = 0,
    max_samples: int = 4000,
) -> Comparison:
    """Compare a latency metric of two runs with a seeded percentile bootstrap of difference and ratio.

    Point estimates use every sample; the bootstrap resamples a random subset of at most `max_samples` per
    run, which keeps a page responsive and can only widen the interval (conservative, never overconfident).
    """
    if metric is Metric.ERROR_RATE:
        raise ValueError("use compare_error_rate for the error rate")
    base = np.asarray(baseline, dtype=float)
    cand = np.asarray(candidate, dtype=float)
    base_value, cand_value = statistic(base, metric), statistic(cand, metric)
    if base.size < 2 or cand.size < 2:
        return _comparison(metric, base_value, cand_value, None, None)
    rng = np.random.default_rng(seed)
    base_boot = _bootstrap_stats(_cap(base, max_samples, rng), metric, rng, rounds)
    cand_boot = _bootstrap_stats(_cap(cand, max_samples, rng), metric, rng, rounds)
    alpha = (1.0 - CONFIDENCE) / 2.0
    diffs = cand_boot - base_boot
    diff_ci = Interval(float(np.quantile(diffs, alpha)), float(np.quantile(diffs, 1 - alpha)))
    ratio_ci: Interval | None = None
    if np.all(base_boot > 0):
        ratios = cand_boot / base_boot
        ratio_ci = Interval(float(np.quantile(ratios, alpha)), float(np.quantile(ratios, 1 - alpha)))
    return _comparison(metric, base_value, cand_value, diff_ci, ratio_ci)


def _comparison(
    metric: Metric, base: float, cand: float, diff_ci: Interval | None, ratio_ci: Interval | None
) -> Comparison:
    ratio = cand / base if base > 0 and not math.isnan(cand) else None
    significant = diff_ci is not None and not diff_ci.contains(0.0)
    return Comparison(
        metric=metric,
        baseline=base,
        candidate=cand,
        difference=cand - base,
        difference_ci=diff_ci,
        ratio=ratio,
        ratio_ci=ratio_ci,
        significant=significant,
    )


def wilson_interval(successes: int, trials: int, confidence: float = CONFIDENCE) -> Interval | None:
    """Return the Wilson score interval of a binomial proportion (None without trials)."""
    if trials <= 0:
        return None
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    low = 0.0 if successes <= 0 else max(0.0, centre - half)
    high = 1.0 if successes >= trials else min(1.0, centre + half)
    return Interval(low, high)


def compare_error_rate(
    baseline_errors: int, baseline_requests: int, candidate_errors: int, candidate_requests: int
) -> Comparison:
    """Compare two error rates with Newcombe's hybrid score interval for the difference of proportions."""
    base_ci = wilson_interval(baseline_errors, baseline_requests)
    cand_ci = wilson_interval(candidate_errors, candidate_requests)
    base = baseline_errors / baseline_requests if baseline_requests else math.nan
    cand = candidate_errors / candidate_requests if candidate_requests else math.nan
    if base_ci is None or cand_ci is None:
        return _comparison(Metric.ERROR_RATE, base, cand, None, None)
    diff = cand - base
    low = diff - math.sqrt((cand - cand_ci.low) ** 2 + (base_ci.high - base) ** 2)
    high = diff + math.sqrt((cand_ci.high - cand) ** 2 + (base - base_ci.low) ** 2)
    return _comparison(Metric.ERROR_RATE, base, cand, Interval(low, high), None)


def fault_fraction(affected: int, requests: int, configured_percentage: float) -> FractionCheck:
    """Check the achieved fault fraction against the configured percentage with a Wilson interval."""
    configured = configured_percentage / 100.0
    interval = wilson_interval(affected, requests)
    return FractionCheck(
        affected=affected,
        requests=requests,
        achieved=affected / requests if requests else None,
        interval=interval,
        configured=configured,
        consistent=interval.contains(configured) if interval is not None else None,
    )


def verdict(metric: Metric, *, ratio: float | None, difference: float, significant: bool) -> str:
    """Say in plain words how the candidate differs from the baseline on one metric."""
    label = metric.label
    kind = outcome(difference=difference, significant=significant)
    if kind is Difference.NOT_ENOUGH_DATA:
        return f"{label}: not enough data"
    if kind is Difference.NO_SIGNIFICANT_DIFFERENCE:
        return f"{label}: no significant difference"
    direction = kind.value
    if metric is Metric.ERROR_RATE:
        return f"{label} {abs(difference) * 100:.1f} pp {direction}, significant"
    if ratio is None or ratio <= 0:
        return f"{label} {abs(difference):.1f} ms {direction}, significant"
    factor = ratio if ratio >= 1 else 1 / ratio
    if factor >= 1.5:
        return f"{label} {factor:.1f}× {direction}, significant"
    return f"{label} {abs(ratio - 1) * 100:.0f}% {direction}, significant"


def compare_samples(
    baseline_latency_ms: np.ndarray,
    baseline_errors: int,
    candidate_latency_ms: np.ndarray,
    candidate_errors: int,
    *,
    seed: int = 0,
    rounds: int = 1000,
) -> list[Comparison]:
    """Compare every latency metric and the error rate of a candidate run with a baseline run."""
    out = [
        compare_latency(baseline_latency_ms, candidate_latency_ms, metric, seed=seed, rounds=rounds)
        for metric in LATENCY_METRICS
    ]
    out.append(
        compare_error_rate(
            baseline_errors,
            int(np.size(baseline_latency_ms)),
            candidate_errors,
            int(np.size(candidate_latency_ms)),
        )
    )
    return out
