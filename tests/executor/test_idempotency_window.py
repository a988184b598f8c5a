"""An idempotency key is remembered for a time window, however many faults come after it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from executor import EmbeddedExecutor, ExecutorSettings
from tests.executor.helpers import fault_body, wait_final
from tests.executor.upstream import CountingUpstream
from tests.executor.virtual_clock import VirtualClock, virtual_executor
from tests.waiting import wait_until

WINDOW_S = 600.0


@pytest.fixture
def clock(virtual_clock: VirtualClock) -> VirtualClock:
    return virtual_clock


@pytest.fixture
def small_executor(counting: CountingUpstream, clock: VirtualClock) -> Iterator[EmbeddedExecutor]:
    """An executor keeping one finished fault in full, with a 10-minute idempotency window."""
    settings = ExecutorSettings(
        demo=False,
        seed=3,
        services={"api": counting.url},
        keep_recent_faults=1,
        idempotency_window_s=WINDOW_S,
    )
    with virtual_executor(settings, clock) as ex:
        yield ex


def _apply(http: httpx.Client, base: str, key: str | None, **overrides: Any) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    body = fault_body(**{"percentage": 0, "load": {"rate_rps": 2}, **overrides})
    return http.post(base + "/v1/faults/apply", json=body, headers=headers)


def _wait_all_finished(http: httpx.Client, base: str, clock: VirtualClock) -> None:
    def finished() -> bool:
        faults = http.get(base + "/v1/faults").json()["faults"]
        return not any(item["status"] in ("pending", "running") for item in faults)

    with clock.running():
        wait_until(finished, interval=0.01, what="every fault to finish")


@pytest.mark.slow
def test_a_key_retried_after_more_than_200_newer_faults_returns_the_same_fault(
    http: httpx.Client, virtual_api_executor: EmbeddedExecutor, clock: VirtualClock
) -> None:
    base = virtual_api_executor.base_url
    first = _apply(http, base, "retried")
    assert first.status_code == 200
    wait_final(http, virtual_api_executor, first.json()["apply_id"], clock)
    for index in range(205):
        assert _apply(http, base, f"newer-{index}").status_code == 200
        if index % 20 == 19:  # let them run out 20 at a time: all at once, their load overflows listen queues
            clock.advance(1.0)
    _wait_all_finished(http, base, clock)
    _apply(http, base, None)  # one more apply after they all finished: the store tidies up on apply
    again = _apply(http, base, "retried")
    assert again.status_code == 200
    assert again.json() == first.json()
    status = http.get(base + f"/v1/faults/{first.json()['apply_id']}/status")
    assert status.status_code == 200 and status.json()["status"] == "completed"
    listed = http.get(base + "/v1/faults").json()["faults"]
    assert sum(1 for item in listed if item["status"] == "completed") == 200  # the most recent, in full
    assert first.json()["apply_id"] not in {item["apply_id"] for item in listed}  # summarised, not listed


def test_a_key_is_replayed_within_its_window_and_forgotten_after_it(
    http: httpx.Client, small_executor: EmbeddedExecutor, clock: VirtualClock
) -> None:
    base = small_executor.base_url
    first = _apply(http, base, "k1")
    apply_id = first.json()["apply_id"]
    second = _apply(http, base, "k2").json()["apply_id"]
    final = wait_final(http, small_executor, apply_id, clock)
    wait_final(http, small_executor, second, clock)
    _apply(http, base, None)  # pushes k1 out of the full records: only a summary is left
    clock.advance(WINDOW_S / 2)
    replay = _apply(http, base, "k1")
    assert replay.json() == first.json()
    assert http.get(base + f"/v1/faults/{apply_id}/status").json()["status"] == "completed"
    summary = http.get(base + f"/v1/faults/{apply_id}/metrics").json()
    assert summary["final"] is True
    assert summary["metrics"] == final["metrics"]
    assert summary["logs"] == final["logs"]
    assert _apply(http, base, "k1", percentage=5).status_code == 409  # a different body is still refused
    clock.advance(WINDOW_S)  # now more than the window after k1's fault ended
    fresh = _apply(http, base, "k1")
    assert fresh.status_code == 200
    assert fresh.json()["apply_id"] != apply_id
    assert http.get(base + f"/v1/faults/{apply_id}/status").status_code == 404
    http.delete(base + f"/v1/faults/{fresh.json()['apply_id']}")


def test_memory_is_released_when_the_window_has_passed(
    http: httpx.Client, small_executor: EmbeddedExecutor, clock: VirtualClock
) -> None:
    base = small_executor.base_url
    applied = [_apply(http, base, f"k{index}").json()["apply_id"] for index in range(5)]
    for apply_id in applied:
        wait_final(http, small_executor, apply_id, clock)
    store = small_executor.runtime.fault_store
    assert small_executor.call(lambda: len(store)) == 5
    clock.advance(WINDOW_S + 2)
    last = _apply(http, base, "last").json()["apply_id"]
    assert small_executor.call(lambda: len(store)) == 1
    assert small_executor.call(lambda: store.key_count()) == 1
    http.delete(base + f"/v1/faults/{last}")


def test_a_direct_apply_retried_after_its_record_was_summarised_answers_the_same(
    http: httpx.Client, small_executor: EmbeddedExecutor, clock: VirtualClock
) -> None:
    base = small_executor.base_url
    key = {"Idempotency-Key": "direct-k"}
    body = fault_body(percentage=50, load={"rate_rps": 4})
    with clock.running():
        first = http.post(base + "/api/v1/faults/apply", json=body, headers=key)
    assert first.status_code == 200
    others = [_apply(http, base, f"other-{index}").json()["apply_id"] for index in range(2)]
    for apply_id in others:
        wait_final(http, small_executor, apply_id, clock)
    _apply(http, base, None)
    again = http.post(base + "/api/v1/faults/apply", json=body, headers=key)
    assert again.json() == first.json()
