"""Experiments through the runner on the real embedded executor: every phase, verdict and sample is stored."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.engine import Engine

import storage
from client import ExperimentVerdict, Hypothesis, Observe, Phase
from client.protocols.base import fault_body
from executor import EmbeddedExecutor
from storage import RunStatus
from tests.plans import payment_abort, payment_delay
from tests.services.test_runner import finished

GATEWAY = Observe(service="gateway", api="/api/v1/checkout", method="POST")
PHASED = payment_delay(
    method="POST",
    delay_seconds=0.01,
    baseline_seconds=1,
    duration_seconds=1,
    recovery_seconds=1,
    observe=GATEWAY,
    hypothesis=Hypothesis(max_p99_ms=1500, max_error_rate_pct=20),
)
PHASES = [Phase.BASELINE, Phase.FAULT, Phase.RECOVERY]


@pytest.mark.slow
@pytest.mark.parametrize("api_mode", ["extended", "direct"])
def test_a_phased_run_is_stored_with_its_phases_verdict_and_phased_samples(
    executor: EmbeddedExecutor, engine: Engine, console_factory, api_mode: str
) -> None:
    console = console_factory(executor.base_url, api_mode=api_mode)
    run_id = console.runner.submit(PHASED)
    assert console.runner.wait(run_id, timeout=60)
    detail = finished(engine, run_id)
    run = detail.run
    assert run.status is RunStatus.COMPLETED, run.error
    # Held, or deviated when this machine's load slows the gateway: either way with its deviations.
    assert run.verdict in (ExperimentVerdict.HELD, ExperimentVerdict.DEVIATED)
    assert (run.verdict is ExperimentVerdict.DEVIATED) == bool(run.deviations)
    assert run.severity_score is not None
    assert [summary["phase"] for summary in run.phases] == [phase.value for phase in PHASES]
    # Every sample is stored with its phase: per phase as many as its summary counts, and no other.
    assert len(detail.samples) == sum(summary["sample_count"] for summary in run.phases)
    for summary in run.phases:
        assert len(storage.samples_in_phase(detail.samples, summary["phase"])) == summary["sample_count"] > 0
    assert {point.phase for point in detail.timeline} == set(PHASES)
    assert run.request_count > 0  # the fault phase's metrics (tests/services/test_runner_recording.py)
    assert run.target is not None and (run.target["service"], run.target["api"]) == ("payment", PHASED.api)
    assert run.target["affected_count"] > 0
    outcome = console.runner.outcome(run_id)
    assert outcome is not None and outcome.verdict is run.verdict
    assert {key: getattr(run, key) for key in outcome.experiment} == dict(outcome.experiment)
    (record,) = storage.runs_to_records([run])
    assert list(record["phases"]) == ["baseline", "fault", "recovery"] and record["verdict"] == run.verdict


@pytest.mark.slow
def test_a_failing_baseline_is_a_completed_run_whose_fault_was_never_sent(
    executor: EmbeddedExecutor, engine: Engine, console_factory
) -> None:
    entry = payment_abort(service="gateway", api="/api/v1/checkout", duration_seconds=60)
    body = fault_body(entry, None) | {"load": {"rate_rps": 1}}  # an abort already active on the entry point
    first = httpx.post(f"{executor.base_url}/v1/faults/apply", json=body, timeout=5).json()["apply_id"]
    strict = PHASED.model_copy(update={"hypothesis": Hypothesis(max_error_rate_pct=1)})
    console = console_factory(executor.base_url)
    try:
        run_id = console.runner.submit(strict)
        assert console.runner.wait(run_id, timeout=30)
        faults = httpx.get(f"{executor.base_url}/v1/faults", timeout=5).json()["faults"]
    finally:
        httpx.delete(f"{executor.base_url}/v1/faults/{first}", timeout=5)
    assert [f["apply_id"] for f in faults if f["status"] in ("pending", "running")] == [first]
    detail = finished(engine, run_id)
    run = detail.run
    assert (run.status, run.verdict, run.fault_id) == (
        RunStatus.COMPLETED,
        ExperimentVerdict.BASELINE_FAILED,
        None,
    )
    assert [summary["phase"] for summary in run.phases] == ["baseline"]
    assert [(d["phase"], d["measure"]) for d in run.deviations] == [("baseline", "error_rate_pct")]
    assert run.severity_score is None
    assert len(detail.samples) == run.phases[0]["sample_count"] > 0
    assert storage.sample_phases(detail.samples) == [Phase.BASELINE] * len(detail.samples)
