"""Translate client observations into the plain values storage keeps.

A run's summary columns are its fault phase's measures (`RawObservation.metrics`); the phases, verdict and
score go to the experiment columns (`experiment_of`). Every sample is stored with its phase, so a run's stored
sample count is the sum of its phases' `sample_count` (for a run without phases, its `request_count`).
"""

from __future__ import annotations

from typing import Any

from client import ExperimentVerdict, Phase, RawObservation
from client.summaries import timeline
from storage.runs import SUMMARY_COUNT_KEYS, SUMMARY_FLOAT_KEYS

# The summary columns storage keeps for a run, in one place.
SUMMARY_KEYS = SUMMARY_COUNT_KEYS + SUMMARY_FLOAT_KEYS


def summary_of(observation: RawObservation) -> dict[str, Any]:
    """Return the run summary (counts, rates and latency percentiles) of an observation: `metrics`, which
    on a final observation are the fault phase's (a partial's are those of the phase in progress)."""
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


def samples_of(observation: RawObservation) -> list[tuple[float, float, int, bool, str]]:
    """Return per-request samples as (offset_ms, latency_ms, status_code, affected, phase) tuples."""
    return [
        (s.offset_ms, s.latency_ms, s.status_code, s.affected, s.phase.value) for s in observation.samples
    ]


def phase_of(observation: RawObservation) -> Phase:
    """Return the phase an observation is in: that of its last phase (a plan without phases: the fault)."""
    return observation.phases[-1].phase if observation.phases else Phase.FAULT


def phases_of(observation: RawObservation) -> list[dict[str, Any]]:
    """Return the observation's phase summaries as the JSON dumps storage keeps."""
    return [summary.model_dump(mode="json") for summary in observation.phases]


def experiment_of(observation: RawObservation | None, *, guardrail_stop: bool = False) -> dict[str, Any]:
    """Return the experiment columns of a run's end: verdict, score, recovery time, phases, deviations and
    target hits. The verdict is the observation's, but `guardrail_stop` for a run its guardrail stopped."""
    verdict = observation.verdict if observation is not None else None
    if guardrail_stop:
        verdict = ExperimentVerdict.GUARDRAIL_STOP
    if observation is None:
        return {"verdict": verdict}
    return {
        "verdict": verdict,
        "severity_score": observation.severity_score,
        "time_to_recovery_s": observation.time_to_recovery_s,
        "phases": phases_of(observation),
        "deviations": [deviation.model_dump(mode="json") for deviation in observation.deviations],
        "target": observation.target.model_dump(mode="json") if observation.target is not None else None,
    }


def p99_of(observation: RawObservation) -> float | None:
    return observation.metrics.p99_latency_ms if observation.metrics is not None else None


def request_count_of(observation: RawObservation) -> int:
    return observation.metrics.request_count if observation.metrics is not None else 0
