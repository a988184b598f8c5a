"""Experiments with phases on the real embedded executor: one time axis, verdicts, baseline_failed, cancel."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from client import ApiMode, ExecutorClientConfig, HttpExecutorClient, RawObservation
from client.errors import ExecutorCancelledError
from client.hypothesis import ExperimentVerdict, Hypothesis, Observe, Phase
from client.protocols.base import fault_body
from executor import EmbeddedExecutor
from tests.plans import payment_abort, payment_delay

GATEWAY = Observe(service="gateway", api="/api/v1/checkout", method="POST")
TOLERANT = Hypothesis(max_p99_ms=1500, max_error_rate_pct=20)
PHASED = payment_delay(
    method="POST",
    baseline_seconds=2,
    duration_seconds=2,
    recovery_seconds=2,
    observe=GATEWAY,
    hypothesis=TOLERANT,
)


def _client(executor: EmbeddedExecutor, mode: ApiMode) -> HttpExecutorClient:
    return HttpExecutorClient(
        ExecutorClientConfig(
            base_url=executor.base_url,
            api_mode=mode,
            probe_url=executor.proxy_url("gateway"),
            poll_interval_sec=0.2,
            policy_propagation_sec=0.0,
            probe_rate_rps=40,
        )
    )


def _active_faults(executor: EmbeddedExecutor) -> list[dict[str, Any]]:
    faults = httpx.get(f"{executor.base_url}/v1/faults", timeout=5).json()["faults"]
    return [f for f in faults if f["status"] in ("pending", "running")]


def _assert_one_axis(observation: RawObservation, phases: list[Phase]) -> None:
    assert [p.phase for p in observation.phases] == phases
    for earlier, later in zip(observation.phases, observation.phases[1:], strict=False):
        assert earlier.start_offset_ms < earlier.end_offset_ms <= later.start_offset_ms
    assert observation.phases[0].start_offset_ms == 0.0
    for summary in observation.phases:
        mine = [s for s in observation.samples if s.phase is summary.phase]
        assert summary.sample_count == len(mine) > 0
        # Each phase's samples lie inside its bounds on the run axis (a sample starts before it ends).
        assert summary.start_offset_ms <= min(s.offset_ms for s in mine)
        assert max(s.offset_ms for s in mine) <= summary.end_offset_ms + 250
    assert {p.phase for p in observation.timeline} == set(phases)


@pytest.mark.slow
@pytest.mark.parametrize("mode", [ApiMode.EXTENDED, ApiMode.POLICY, ApiMode.DIRECT])
def test_three_phases_on_one_axis_with_a_verdict(executor: EmbeddedExecutor, mode: ApiMode) -> None:
    partial_phases: list[Phase] = []
    with _client(executor, mode) as client:
        observation = client.apply_and_observe(
            PHASED, on_progress=lambda partial: partial_phases.append(partial.phases[-1].phase)
        )
    _assert_one_axis(observation, [Phase.BASELINE, Phase.FAULT, Phase.RECOVERY])
    assert observation.verdict is ExperimentVerdict.HELD, observation.deviations
    assert observation.deviations == []
    assert observation.time_to_recovery_s is not None
    assert observation.severity_score is not None and 0 <= observation.severity_score < 100
    assert {Phase.BASELINE, Phase.FAULT, Phase.RECOVERY} <= set(partial_phases)
    assert partial_phases == sorted(partial_phases, key=[Phase.BASELINE, Phase.FAULT, Phase.RECOVERY].index)
    if mode is ApiMode.POLICY:
        assert observation.target is None  # family A counts nothing on the fault's target
    else:
        target = observation.target
        assert target is not None and (target.service, target.api) == ("payment", PHASED.api)
        assert target.request_count > 0 and target.affected_count > 0
    assert _active_faults(executor) == []


@pytest.mark.slow
@pytest.mark.parametrize("mode", [ApiMode.EXTENDED, ApiMode.POLICY])
def test_a_failing_baseline_never_applies_the_fault(executor: EmbeddedExecutor, mode: ApiMode) -> None:
    entry = payment_abort(service="gateway", api="/api/v1/checkout", duration_seconds=60)
    entry_abort = fault_body(entry, None) | {"load": {"rate_rps": 1}}  # an abort already on the entry
    first = httpx.post(f"{executor.base_url}/v1/faults/apply", json=entry_abort, timeout=5).json()["apply_id"]
    strict = PHASED.model_copy(update={"hypothesis": Hypothesis(max_error_rate_pct=1), "baseline_seconds": 1})
    try:
        with _client(executor, mode) as client:
            observation = client.apply_and_observe(strict)
        assert [f["apply_id"] for f in _active_faults(executor)] == [first]
        if mode is ApiMode.POLICY:
            assert httpx.get(f"{executor.base_url}/v1/policies", timeout=5).json()["policies"] == []
    finally:
        httpx.delete(f"{executor.base_url}/v1/faults/{first}", timeout=5)
    assert observation.verdict is ExperimentVerdict.BASELINE_FAILED
    assert [p.phase for p in observation.phases] == [Phase.BASELINE]
    assert observation.phases[0].sample_count > 0 and observation.phases[0].error_rate == 1.0
    assert [(d.phase, d.measure) for d in observation.deviations] == [(Phase.BASELINE, "error_rate_pct")]
    assert observation.apply_id is None and observation.severity_score is None
    assert observation.metrics is not None and observation.metrics.error_rate == 1.0


@pytest.mark.slow
@pytest.mark.parametrize("mode", [ApiMode.EXTENDED, ApiMode.POLICY])
@pytest.mark.parametrize("phase", [Phase.BASELINE, Phase.FAULT, Phase.RECOVERY])
def test_cancel_in_a_phase_stops_at_once_and_leaves_no_fault(
    executor: EmbeddedExecutor, mode: ApiMode, phase: Phase
) -> None:
    cancel = threading.Event()

    def on_progress(partial: RawObservation) -> None:
        if partial.phases and partial.phases[-1].phase is phase:
            cancel.set()

    plan = PHASED.model_copy(
        update={
            "baseline_seconds": 30 if phase is Phase.BASELINE else 1,
            "duration_seconds": 30 if phase is Phase.FAULT else 1,
            "recovery_seconds": 30,
        }
    )
    with _client(executor, mode) as client, pytest.raises(ExecutorCancelledError) as caught:
        client.apply_and_observe(plan, on_progress=on_progress, cancel=cancel, timeout_sec=20)
    partial = caught.value.partial
    assert partial is not None and partial.phases[-1].phase is phase
    expected = [Phase.BASELINE, Phase.FAULT, Phase.RECOVERY]
    assert [p.phase for p in partial.phases] == expected[: expected.index(phase) + 1]
    if phase is not Phase.BASELINE:
        assert partial.phases[0].sample_count > 0  # the baseline seen before is kept
    if phase is Phase.RECOVERY:
        assert partial.phase(Phase.FAULT).sample_count > 0  # type: ignore[union-attr]
    assert _active_faults(executor) == []
    assert httpx.get(f"{executor.base_url}/v1/policies", timeout=5).json()["policies"] == []
