"""Fault kinds and rule matching with a seeded random source and a recording sleep."""

from __future__ import annotations

import asyncio
import json
import random

import pytest

from executor.lifecycle.fault_stats import Recorder, RequestSample, percentile
from executor.lifecycle.faultstore import FaultRecord, FaultStatus
from executor.model.fault_kinds import AbortFault, DelayFault, ErrorFault, FaultAction, FaultKind, PassThrough
from executor.model.rules import (
    HeaderMatch,
    MatchKind,
    RequestMatch,
    Rule,
    Selector,
    StringMatch,
    first_match,
)
from executor.spec.faultspec import FaultSpec


class RecordingSleep:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.mark.parametrize("percentage", [0, 1, 37, 50, 99, 100])
def test_sampling_fires_exactly_when_the_draw_is_below_the_percentage(percentage: int) -> None:
    action = FaultAction(percentage=percentage, fault=PassThrough())
    rng, twin = random.Random(11), random.Random(11)
    decisions = [action.sample(rng) for _ in range(2000)]
    assert decisions == [twin.random() < percentage / 100 for _ in range(2000)]
    if percentage == 0:
        assert not any(decisions)
    if percentage == 100:
        assert all(decisions)


def test_delay_holds_start_delay_then_the_delay() -> None:
    sleep = RecordingSleep()
    action = FaultAction(percentage=100, fault=DelayFault(delay_ms=250), start_delay_ms=40)
    injection = asyncio.run(action.apply(sleep))
    assert sleep.waits == [0.04, 0.25]
    assert injection.kinds == [FaultKind.DELAY]
    assert injection.reply is None
    assert injection.header_value == "delay"


def test_abort_answers_without_sleeping() -> None:
    sleep = RecordingSleep()
    injection = asyncio.run(FaultAction(percentage=100, fault=AbortFault(http_status=503)).apply(sleep))
    assert sleep.waits == []
    assert injection.reply is not None
    assert injection.reply.status == 503
    assert injection.reply.headers["x-fault-injected"] == "abort"


def test_error_injection_answers_500_with_the_message() -> None:
    injection = asyncio.run(FaultAction(percentage=100, fault=ErrorFault("boom")).apply(RecordingSleep()))
    assert injection.reply is not None
    assert injection.reply.status == 500
    assert injection.reply.headers["x-fault-injected"] == "error"
    assert json.loads(injection.reply.body)["error"] == "boom"


def _rule(source: str, **match: object) -> Rule:
    return Rule(
        source=source,
        selector=Selector(service=str(match.pop("service", ""))),
        match=RequestMatch(**match),  # type: ignore[arg-type]
        action=FaultAction(percentage=100, fault=PassThrough()),
    )


def test_first_matching_rule_wins() -> None:
    rules = [
        _rule("other-service", service="orders", path=StringMatch.of(MatchKind.PREFIX, "/")),
        _rule("first", path=StringMatch.of(MatchKind.PREFIX, "/api")),
        _rule("second", path=StringMatch.of(MatchKind.EXACT, "/api/v1/pay")),
    ]
    hit = first_match(
        rules, service="payment", namespace="demo", method="POST", path="/api/v1/pay", headers={}
    )
    assert hit is not None and hit.source == "first"


def test_matchers_follow_family_a_semantics() -> None:
    regex = StringMatch.of(MatchKind.REGEX, "v[0-9]/pay")
    assert regex.matches("/api/v1/payment")  # unanchored
    header = HeaderMatch(name="x-user-id", match=StringMatch.of(MatchKind.EXACT, "42"))
    rule = _rule("h", headers=(header,))
    assert first_match(
        [rule], service="s", namespace="demo", method="GET", path="/", headers={"x-user-id": "42"}
    )
    assert not first_match([rule], service="s", namespace="demo", method="GET", path="/", headers={})
    assert Selector(service="*", namespace="demo").matches("any", "demo")
    assert not Selector(namespace="prod").matches("any", "demo")


def test_fault_record_is_active_only_inside_its_window_and_until_halted() -> None:
    async def scenario() -> None:
        spec = FaultSpec(
            service="s",
            api="/",
            fault_type=FaultKind.ABORT,
            percentage=1,
            duration_seconds=10,
            fault_config={"http_status_code": 500},
        )
        record = FaultRecord(apply_id="f", spec=spec, rule=_rule("f"), start_epoch_s=100.0, end_epoch_s=110.0)
        assert record.status(99.0) is FaultStatus.PENDING
        assert not record.active(99.0)
        assert record.active(100.0) and record.status(105.0) is FaultStatus.RUNNING
        assert not record.active(110.0)
        record.finish(FaultStatus.CANCELLED)
        record.finish(FaultStatus.COMPLETED)
        assert not record.active(105.0)
        assert record.status(105.0) is FaultStatus.CANCELLED

    asyncio.run(scenario())


def test_recorder_builds_metrics_timeline_and_samples() -> None:
    recorder = Recorder()
    for index, (latency, status, affected) in enumerate(
        [(10.0, 200, False), (20.0, 200, True), (30.0, 503, True), (40.0, 0, False)]
    ):
        recorder.add(
            RequestSample(offset_ms=index * 600.0, latency_ms=latency, status_code=status, affected=affected)
        )
    metrics = recorder.metrics()
    assert metrics["request_count"] == 4
    assert metrics["affected_count"] == 2
    assert metrics["error_rate"] == 0.5
    assert metrics["avg_latency_ms"] == 25.0
    assert metrics["p50_latency_ms"] == 25.0
    assert metrics["max_latency_ms"] == 40.0
    assert [point["t_s"] for point in recorder.timeline()] == [0, 1]
    assert recorder.timeline()[1]["error_count"] == 2
    assert recorder.sample_rows()[2] == [1200.0, 30.0, 503, 1]
    direct = recorder.direct_metrics()
    assert direct["total_request_count"] == 4 and direct["blocked_request_count"] == 2
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
