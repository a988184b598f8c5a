"""Per-request measurements and the metric bodies of families B and C built from them."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = ["Recorder", "RecorderSummary", "RequestSample", "percentile"]


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Return the linearly interpolated percentile (0 <= fraction <= 1) of sorted values."""
    if not sorted_values:
        return 0.0
    position = (len(sorted_values) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def _round(value: float) -> float:
    return round(value, 3)


@dataclass(frozen=True)
class RequestSample:
    offset_ms: float
    latency_ms: float
    status_code: int
    affected: bool

    @property
    def error(self) -> bool:
        """A transport failure (status 0) or an HTTP status of 400 and above."""
        return self.status_code == 0 or self.status_code >= 400


def _latency_summary(samples: Sequence[RequestSample]) -> dict[str, float]:
    latencies = sorted(sample.latency_ms for sample in samples)
    average = sum(latencies) / len(latencies) if latencies else 0.0
    return {
        "avg_latency_ms": _round(average),
        "p50_latency_ms": _round(percentile(latencies, 0.50)),
        "p95_latency_ms": _round(percentile(latencies, 0.95)),
        "p99_latency_ms": _round(percentile(latencies, 0.99)),
        "max_latency_ms": _round(latencies[-1] if latencies else 0.0),
    }


@dataclass
class Recorder:
    """Collect every measured request of one run, its sampled traces and log lines."""

    samples: list[RequestSample] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    traces: list[dict[str, Any]] = field(default_factory=list)
    max_logs: int = 200
    keeps_samples: ClassVar[bool] = True

    def summary(self) -> RecorderSummary:
        """Return what is kept once the samples are dropped: final numbers, traces and logs."""
        return RecorderSummary(
            logs=list(self.logs),
            traces=list(self.traces),
            stored_metrics=self.metrics(),
            stored_status=self.dominant_status(),
        )

    def add(self, sample: RequestSample) -> None:
        """Record one measured request."""
        self.samples.append(sample)

    def log(self, line: str) -> None:
        """Keep a log line, up to ``max_logs``."""
        if len(self.logs) < self.max_logs:
            self.logs.append(line)

    def _ordered(self) -> list[RequestSample]:
        return sorted(self.samples, key=lambda sample: sample.offset_ms)

    def metrics(self) -> dict[str, Any]:
        """Return family B's ``metrics`` object."""
        count = len(self.samples)
        errors = sum(1 for sample in self.samples if sample.error)
        error_rate = errors / count if count else 0.0
        return {
            "request_count": count,
            "affected_count": sum(1 for sample in self.samples if sample.affected),
            "success_rate": _round(1 - error_rate) if count else 0.0,
            "error_rate": _round(error_rate),
            **_latency_summary(self.samples),
        }

    def direct_metrics(self) -> dict[str, Any]:
        """Return family C's ``metrics`` object."""
        body = self.metrics()
        return {
            "total_request_count": body["request_count"],
            "blocked_request_count": body["affected_count"],
            "success_rate": body["success_rate"],
            "error_rate": body["error_rate"],
            "avg_latency_ms": body["avg_latency_ms"],
            "p95_latency_ms": body["p95_latency_ms"],
            "p99_latency_ms": body["p99_latency_ms"],
            "max_latency_ms": body["max_latency_ms"],
        }

    def timeline(self) -> list[dict[str, Any]]:
        """Return one point per second of send time."""
        buckets: dict[int, list[RequestSample]] = {}
        for sample in self.samples:
            buckets.setdefault(int(sample.offset_ms // 1000), []).append(sample)
        points = []
        for second in sorted(buckets):
            bucket = buckets[second]
            summary = _latency_summary(bucket)
            points.append(
                {
                    "t_s": second,
                    "request_count": len(bucket),
                    "affected_count": sum(1 for sample in bucket if sample.affected),
                    "error_count": sum(1 for sample in bucket if sample.error),
                    "avg_latency_ms": summary["avg_latency_ms"],
                    "p50_latency_ms": summary["p50_latency_ms"],
                    "p95_latency_ms": summary["p95_latency_ms"],
                    "p99_latency_ms": summary["p99_latency_ms"],
                }
            )
        return points

    def sample_rows(self) -> list[list[float | int]]:
        """Return ``[offset_ms, latency_ms, status_code, affected]`` per request, in send order."""
        return [
            [_round(sample.offset_ms), _round(sample.latency_ms), sample.status_code, int(sample.affected)]
            for sample in self._ordered()
        ]

    def dominant_status(self) -> int:
        """Return the most frequent status code (0 when nothing was measured)."""
        counts = Counter(sample.status_code for sample in self.samples)
        return counts.most_common(1)[0][0] if counts else 0

    def trace_data(self) -> dict[str, Any]:
        """Return the sampled traces in the seed's shape."""
        if not self.traces:
            return {"traceID": "", "spans": [], "traces": []}
        first = self.traces[0]
        return {"traceID": first["traceID"], "spans": first["spans"], "traces": self.traces}

    def metrics_body(
        self, apply_id: str, *, final: bool, include_samples: bool, target: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Return family B's metrics response body (with a fault's ``target`` counts when given)."""
        metrics = self.metrics()
        body: dict[str, Any] = {
            "apply_id": apply_id,
            "final": final,
            "status_code": self.dominant_status(),
            "latency_ms": metrics["avg_latency_ms"],
            "error_rate": metrics["error_rate"],
            "metrics": metrics,
            "timeline": self.timeline(),
            "trace_data": self.trace_data(),
            "logs": list(self.logs),
        }
        if target is not None:
            body["target"] = target
        if include_samples and self.keeps_samples:
            body["samples"] = self.sample_rows()
        if not self.keeps_samples:
            body["summary_only"] = True  # an old run: its timeline and samples are no longer kept
        return body


@dataclass
class RecorderSummary(Recorder):
    """A finished run's measurements without their samples: same numbers, traces and logs; no timeline."""

    stored_metrics: dict[str, Any] = field(default_factory=dict)
    stored_status: int = 0
    keeps_samples: ClassVar[bool] = False

    def add(self, sample: RequestSample) -> None:
        """Drop ``sample``: a summary is of a run that has ended."""

    def metrics(self) -> dict[str, Any]:
        """Return the run's final family B ``metrics`` object."""
        return dict(self.stored_metrics)

    def dominant_status(self) -> int:
        """Return the run's most frequent status code."""
        return self.stored_status

    def timeline(self) -> list[dict[str, Any]]:
        """Return nothing: the per-second points are not kept."""
        return []

    def sample_rows(self) -> list[list[float | int]]:
        """Return nothing: the samples are not kept."""
        return []
