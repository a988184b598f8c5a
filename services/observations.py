"""Translate client observations into the plain values storage keeps."""

from __future__ import annotations

from typing import Any

from client import RawObservation
from client.summaries import timeline
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
    """Return per-second timeline points as dicts; derive them from the samples when none were sent.

    Direct mode's response carries no timeline; its points come from the same `client.summaries.timeline` the
    policy-mode probe uses, so both count errors and take percentiles by the one rule of `client.measures`.
    """
    if observation.timeline:
        return [point.model_dump() for point in observation.timeline]
    return [point.model_dump() for point in timeline(observation.samples)]


def samples_of(observation: RawObservation) -> list[tuple[float, float, int, bool]]:
    """Return per-request samples as (offset_ms, latency_ms, status_code, affected) tuples."""
    return [(s.offset_ms, s.latency_ms, s.status_code, s.affected) for s in observation.samples]


def p99_of(observation: RawObservation) -> float | None:
    return observation.metrics.p99_latency_ms if observation.metrics is not None else None


def request_count_of(observation: RawObservation) -> int:
    return observation.metrics.request_count if observation.metrics is not None else 0
