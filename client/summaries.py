"""Summaries of measured requests: per-second timeline points and aggregate metrics."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from client.measures import is_error_status, percentile
from client.models import ExecutorMetrics, RequestSample, TimelinePoint


def is_error(sample: RequestSample) -> bool:
    """Tell whether a request failed, by the console's one rule (`client.measures.is_error_status`)."""
    return is_error_status(sample.status_code)


# A warning needs far more untouched failures than a healthy target has (the demo shop fails ~0.2 %):
# 1 in 363 is the target's natural error rate, which the result card states in every mode, not a warning.
WARN_UNTOUCHED_ERROR_SHARE = 0.10


def baseline_warning(samples: Sequence[RequestSample]) -> str | None:
    """Return a warning when many requests no fault touched failed (10 % or more): a wrong target, likely."""
    untouched = [s for s in samples if not s.affected]
    failed = [s for s in untouched if is_error(s)]
    if not failed or len(failed) < WARN_UNTOUCHED_ERROR_SHARE * len(untouched):
        return None
    by_status: dict[int, int] = defaultdict(int)
    for sample in failed:
        by_status[sample.status_code] += 1
    statuses = ", ".join(
        f"{'no answer' if code == 0 else f'status {code}'}: {count}"
        for code, count in sorted(by_status.items(), key=lambda item: -item[1])
    )
    return (
        f"the target answered errors for requests no fault touched: {len(failed)} of {len(untouched)} "
        f"({statuses}); check the plan's service, API and method"
    )


def summarise(samples: Sequence[RequestSample]) -> ExecutorMetrics:
    """Return aggregate metrics of samples."""
    if not samples:
        return ExecutorMetrics()
    latencies = sorted(s.latency_ms for s in samples)
    errors = sum(1 for s in samples if is_error(s))
    count = len(samples)
    return ExecutorMetrics(
        request_count=count,
        affected_count=sum(1 for s in samples if s.affected),
        success_rate=(count - errors) / count,
        error_rate=errors / count,
        avg_latency_ms=sum(latencies) / count,
        p50_latency_ms=percentile(latencies, 0.50),
        p95_latency_ms=percentile(latencies, 0.95),
        p99_latency_ms=percentile(latencies, 0.99),
        max_latency_ms=latencies[-1],
    )


def timeline(samples: Sequence[RequestSample]) -> list[TimelinePoint]:
    """Return one point per second of fault time that saw requests."""
    buckets: dict[int, list[RequestSample]] = defaultdict(list)
    for sample in samples:
        buckets[int(sample.offset_ms // 1000)].append(sample)
    points = []
    for second in sorted(buckets):
        group = buckets[second]
        latencies = sorted(s.latency_ms for s in group)
        points.append(
            TimelinePoint(
                t_s=second,
                request_count=len(group),
                affected_count=sum(1 for s in group if s.affected),
                error_count=sum(1 for s in group if is_error(s)),
                avg_latency_ms=sum(latencies) / len(latencies),
                p50_latency_ms=percentile(latencies, 0.50),
                p95_latency_ms=percentile(latencies, 0.95),
                p99_latency_ms=percentile(latencies, 0.99),
            )
        )
    return points
