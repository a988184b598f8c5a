"""A run whose fault should have hit requests but hit none ends with a warning that names the cause."""

from __future__ import annotations

import pytest

from client import ApiMode, ExecutorClientConfig, FaultPlan, FaultType, HttpExecutorClient, RawObservation
from client.hypothesis import Observe, TargetHits
from client.models import ExecutorMetrics
from client.no_hits import no_hit_warning
from executor import EmbeddedExecutor

PAYMENT = "/api/v1/payment/process"


def _plan(**extra: object) -> FaultPlan:
    fields: dict[str, object] = {
        "service": "payment",
        "api": PAYMENT,
        "fault_type": FaultType.ABORT,
        "abort_http_status": 503,
        "percentage": 100,
        "duration_seconds": 1,
    }
    return FaultPlan.model_validate(fields | extra)


def _observation(
    requests: int, affected: int, target: TargetHits | None = None, mode: ApiMode = ApiMode.EXTENDED
) -> RawObservation:
    metrics = ExecutorMetrics(request_count=requests, affected_count=affected)
    return RawObservation(
        status_code=200, latency_ms=1.0, error_rate=0.0, metrics=metrics, target=target, api_mode=mode
    )


def _target(requests: int, affected: int) -> TargetHits:
    return TargetHits(service="payment", api=PAYMENT, request_count=requests, affected_count=affected)


def test_a_fault_whose_rule_no_request_matched_names_each_matcher() -> None:
    plan = _plan(method="POST", headers=[{"name": "x-canary", "exact": "yes"}])
    warning = no_hit_warning(plan, _observation(50, 0, _target(0, 0)))
    assert warning is not None
    assert warning.startswith("the fault hit none of the 50 requests although it targets 100 %")
    assert "no request matched its rule" in warning
    assert "header x-canary (exact 'yes')" in warning
    assert "method is not POST" in warning and f"path is not {PAYMENT}" in warning


def test_an_entry_point_that_never_calls_the_target_is_named() -> None:
    plan = _plan(observe=Observe(service="gateway", api="/api/v1/products", method="GET"))
    warning = no_hit_warning(plan, _observation(50, 0, _target(0, 0)))
    assert warning is not None
    assert f"entry point gateway/api/v1/products may never call payment{PAYMENT}" in warning


def test_few_matched_requests_at_a_low_percentage_are_blamed_on_chance() -> None:
    warning = no_hit_warning(_plan(percentage=2), _observation(10, 0, _target(10, 0)))
    assert warning is not None and "happens by chance (82%)" in warning
    assert "chance" not in (no_hit_warning(_plan(), _observation(10, 0, _target(10, 0))) or "")


def test_policy_mode_names_the_data_plane_and_the_match() -> None:
    plan = _plan(headers=[{"name": "x-v", "prefix": "b"}])
    warning = no_hit_warning(plan, _observation(40, 0, mode=ApiMode.POLICY))
    assert warning is not None
    assert "policy_propagation_sec" in warning and "header x-v (prefix 'b')" in warning


@pytest.mark.parametrize(
    ("plan", "observation"),
    [
        (_plan(), _observation(50, 1, _target(50, 1))),  # it hit something
        (_plan(percentage=0), _observation(50, 0, _target(50, 0))),  # it was asked to hit nothing
        (_plan(), _observation(0, 0, _target(0, 0))),  # no traffic at all: nothing to say about the match
        (_plan(), _observation(50, 0, _target(50, 3))),  # the target was hit, the entry point was not
        (_plan(observe=Observe(service="gateway", api="/x")), _observation(50, 0, mode=ApiMode.POLICY)),
    ],
)
def test_no_warning_when_nothing_was_missed(plan: FaultPlan, observation: RawObservation) -> None:
    assert no_hit_warning(plan, observation) is None


@pytest.mark.slow
@pytest.mark.parametrize("api_mode", ["extended", "direct"])
def test_a_run_that_hits_nothing_ends_with_the_warning(executor: EmbeddedExecutor, api_mode: str) -> None:
    plan = _plan(observe=Observe(service="gateway", api="/api/v1/products", method="GET"))
    config = ExecutorClientConfig(base_url=executor.base_url, api_mode=api_mode, poll_interval_sec=0.1)
    with HttpExecutorClient(config) as client:
        observation = client.apply_and_observe(plan, timeout_sec=30)
    assert observation.metrics is not None and observation.metrics.request_count > 0
    assert observation.target is not None and observation.target.request_count == 0
    (warning,) = [w for w in observation.warnings if w.startswith("the fault hit none")]
    assert "may never call payment" in warning and warning in observation.logs
