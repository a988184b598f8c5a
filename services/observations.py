"""Translate client observations into the plain values storage keeps."""

from __future__ import annotations

from typing import Any

import numpy as np

from client import RawObservation
from storage.runs import SUMMARY_COUNT_KEYS, SUMMARY_FLOAT_KEYS

# The summary columns storage keeps for a run, in one place.
SUMMARY_KEYS = SUMMARY_COUNT_KEYS + SUMMARY_FLOAT_KEYS


def summary_of(observation: RawObservation) -> dict[str, Any]:
    """Return the run summary (counts, rates and latency percentiles) of an observation."""
    if observation.metrics is not None:
        data = observation.metrics.model_dump()
        return {key: data.get(key) for key in SUMMARY_KEYS}
    return {
        "error_rate": observation.error_rate,
        "success_rate": 1.0 - observation.error_rate,
        "avg_latency_ms": observation.latency_ms,
    }


def timeline_of(observation: RawObservation) -> list[dict[str, Any]]:
    """Return per-second timeline points as dicts; derive them from the samples when none were sent."""
    if observation.timeline:
        return [point.model_dump() for point in observation.timeline]
    return timeline_from_samples(samples_of(observation))


def timeline_from_samples(samples: list[tuple[float, float, int, bool]]) -> list[dict[str, Any]]:
    """Bucket per-request samples into per-second points (direct mode's response carries no timeline)."""
    if not samples:
        return []
    data = np.asarray([(s[0], s[1], s[2], s[3]) for s in samples], dtype=float)
    seconds = np.floor(data[:, 0] / 1000.0).astype(int)
    points = []
    for second in np.unique(seconds):
        bucket = data[seconds == second]
        latency = bucket[:, 1]
        points.append(
            {
                "t_s": int(second),
                "request_count": len(bucket),
                "affected_count": int(bucket[:, 3].sum()),
                "error_count": int(((bucket[:, 2] >= 400) | (bucket[:, 2] == 0)).sum()),
                "avg_latency_ms": float(latency.mean()),
                "p50_latency_ms": float(np.percentile(latency, 50)),
                "p95_latency_ms": float(np.percentile(latency, 95)),
                "p99_latency_ms": float(np.percentile(latency, 99)),
            }
        )
    return points


def samples_of(observation: RawObservation) -> list[tuple[float, float, int, bool]]:
    """Return per-request samples as (offset_ms, latency_ms, status_code, affected) tuples."""
    return [(s.offset_ms, s.latency_ms, s.status_code, s.affected) for s in observation.samples]


def p99_of(observation: RawObservation) -> float | None:
    return observation.metrics.p99_latency_ms if observation.metrics is not None else None


def request_count_of(observation: RawObservation) -> int:
    return observation.metrics.request_count if observation.metrics is not None else 0
