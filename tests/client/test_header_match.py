"""A plan's header match limits the blast radius end to end, and the run's traffic carries matching values."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from client import ExecutorClientConfig, FaultPlan, FaultType, HttpExecutorClient
from client.matching import carries_match, value_for_regex
from client.models import HeaderMatch
from client.protocols.base import fault_body
from executor import EmbeddedExecutor

INVENTORY = "/api/v1/inventory/check"


def _plan(header: dict[str, str], **extra: object) -> FaultPlan:
    return FaultPlan.model_validate(
        {
            "service": "inventory",
            "api": INVENTORY,
            "fault_type": FaultType.ABORT,
            "abort_http_status": 503,
            "percentage": 100,
            "duration_seconds": 1,
            "headers": [header],
            **extra,
        }
    )


def _client(executor: EmbeddedExecutor, api_mode: str) -> HttpExecutorClient:
    config = ExecutorClientConfig(
        base_url=executor.base_url,
        api_mode=api_mode,
        poll_interval_sec=0.1,
        probe_url=executor.proxy_url("inventory"),
        probe_rate_rps=40,
        policy_propagation_sec=0.1,  # the policy then outlives the probe (its duration rounds the wait up)
    )
    return HttpExecutorClient(config)


@pytest.mark.slow
@pytest.mark.parametrize("api_mode", ["extended", "direct", "policy"])
@pytest.mark.parametrize(
    "header",
    [
        {"name": "x-canary", "exact": "yes"},
        {"name": "x-user", "prefix": "beta-"},
        {"name": "x-v", "regex": "^v[0-9]+$"},
    ],
)
def test_a_header_match_run_sends_matching_traffic_and_hits_it(
    executor: EmbeddedExecutor, api_mode: str, header: dict[str, str]
) -> None:
    # Before, nothing sent the header: a 100 % abort matching x-canary: yes finished with affected 0.
    with _client(executor, api_mode) as client:
        observation = client.apply_and_observe(_plan(header), timeout_sec=30)
    assert observation.metrics is not None and observation.metrics.request_count > 0
    # Every request carried the value; one in flight as the window closes (busy machine) may miss the fault.
    assert observation.metrics.request_count - observation.metrics.affected_count <= 2
    assert not [w for w in observation.warnings if "hit none" in w]


@pytest.mark.slow
@pytest.mark.parametrize("api_mode", ["extended", "policy"])
def test_a_share_of_matching_traffic_is_the_share_hit(executor: EmbeddedExecutor, api_mode: str) -> None:
    plan = _plan({"name": "x-canary", "exact": "yes"}, matching_traffic_pct=25, duration_seconds=2)
    with _client(executor, api_mode) as client:
        observation = client.apply_and_observe(plan, timeout_sec=30)
    metrics = observation.metrics
    assert metrics is not None and metrics.request_count >= 40
    # Every fourth request carries the header (spread evenly, no random source): a quarter, to one request.
    # (within two: a request in flight as the window closes on a busy machine may miss the fault)
    assert abs(metrics.affected_count - metrics.request_count / 4) <= 2
    assert metrics.error_rate == pytest.approx(metrics.affected_count / metrics.request_count, abs=0.01)


def test_the_apply_body_asks_the_load_driver_for_matching_headers() -> None:
    plan = _plan({"name": "x-user", "prefix": "beta-"}, matching_traffic_pct=30)
    body = fault_body(plan, None)
    assert body["headers"] == [{"name": "x-user", "prefix": "beta-"}]
    assert body["load"] == {"headers": {"x-user": "beta-boifi"}, "headers_pct": 30}
    assert "load" not in fault_body(plan.model_copy(update={"headers": ()}), None)
    assert fault_body(_plan({"name": "x", "exact": "1"}), None)["load"] == {"headers": {"x": "1"}}


@pytest.mark.parametrize(
    ("pattern", "value"),
    [
        ("yes", "yes"),
        ("^canary-[0-9]+$", "canary-0"),
        (r"^(ab|c)[x-z]\d{2,}\.v+$", "abx00.v"),
        ("[^a-z]", "!"),
        (r"\w+@\w+", "a@a"),
    ],
)
def test_a_value_is_built_from_a_regex_and_matches_it(pattern: str, value: str) -> None:
    assert value_for_regex(pattern) == value
    assert HeaderMatch(name="x", regex=pattern).value_to_send == value


@pytest.mark.parametrize(("pattern", "explicit"), [(r"(?=y)y", "y"), (r"(a)\1", "aa"), (r"(?<!a)b", "b")])
def test_a_regex_no_value_is_built_for_asks_for_send_value(pattern: str, explicit: str) -> None:
    with pytest.raises(ValidationError, match="give send_value"):
        HeaderMatch(name="x-v", regex=pattern)
    assert HeaderMatch(name="x-v", regex=pattern, send_value=explicit).value_to_send == explicit


def test_a_send_value_that_does_not_match_is_refused() -> None:
    with pytest.raises(ValidationError, match="does not match header x-v"):
        HeaderMatch(name="x-v", regex="^v[0-9]$", send_value="w1")
    with pytest.raises(ValidationError, match="matching_traffic_pct"):
        _plan({"name": "x", "exact": "1"}, matching_traffic_pct=0)


@pytest.mark.parametrize("share", [1, 25, 33, 50, 99, 100])
def test_the_share_of_carrying_requests_holds_to_one_request(share: int) -> None:
    for count in (7, 100, 1234):
        carried = sum(carries_match(i, share) for i in range(count))
        assert abs(carried - count * share / 100) < 1


def test_an_empty_exact_value_goes_on_the_wire_as_given() -> None:
    # An empty value is a real matcher (the header present and empty), not "no matcher": it must not vanish.
    assert HeaderMatch(name="x-canary", exact="").to_wire() == {"name": "x-canary", "exact": ""}
