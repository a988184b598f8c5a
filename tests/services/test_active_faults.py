"""The active-faults poller: one listing per interval whatever the readers, and the reason when it fails."""

from __future__ import annotations

from types import SimpleNamespace

import httpx

from client import ActiveFault, ClientEvent, HttpExecutorClient
from executor import EmbeddedExecutor
from services.active_faults import ActiveFaultsPoller
from tests.services.conftest import fast_config
from tests.waiting import wait_until


def _apply(executor: EmbeddedExecutor, key: str) -> str:
    body = {
        "service": "payment",
        "api": "/api/v1/payment/process",
        "fault_type": "delay",
        "percentage": 0,
        "duration_seconds": 30,
        "fault_config": {"delay_milliseconds": 5},
        "load": {"rate_rps": 1},
    }
    response = httpx.post(
        f"{executor.base_url}/v1/faults/apply", json=body, headers={"Idempotency-Key": key}, timeout=5
    )
    response.raise_for_status()
    return str(response.json()["apply_id"])


def test_snapshot_lists_active_faults_and_reading_it_sends_nothing(executor: EmbeddedExecutor) -> None:
    apply_id = _apply(executor, "poller-test")
    try:
        with HttpExecutorClient(fast_config(executor.base_url, api_mode="extended")) as client:
            calls: list[ClientEvent] = []
            client.subscribe(lambda event: calls.append(event) if event.kind.value == "attempt" else None)
            poller = ActiveFaultsPoller(client=client, interval_sec=60)
            assert poller.snapshot.taken_at is None and poller.snapshot.faults == ()
            snapshot = poller.poll()
            assert apply_id in {fault.fault_id for fault in snapshot.faults}
            assert snapshot.error is None and snapshot.taken_at is not None
            sent = len(calls)
            for _ in range(100):  # a hundred page refreshes, in any number of tabs
                assert poller.snapshot is snapshot
            assert len(calls) == sent == 2  # one listing per family: faults, then policies
    finally:
        httpx.delete(f"{executor.base_url}/v1/faults/{apply_id}", timeout=5)


def test_thread_polls_on_refresh_and_stops(executor: EmbeddedExecutor) -> None:
    with HttpExecutorClient(fast_config(executor.base_url)) as client:
        poller = ActiveFaultsPoller(client=client, interval_sec=60)
        poller.start()
        try:
            wait_until(lambda: poller.snapshot.polls >= 1, timeout=10, interval=0.01, what="the first poll")
            assert poller.snapshot.polls == 1  # the first poll at start, the next one not before 60 s
            poller.refresh()
            wait_until(
                lambda: poller.snapshot.polls >= 2, timeout=10, interval=0.01, what="the refreshed poll"
            )
            assert poller.snapshot.polls == 2
        finally:
            poller.stop()
        assert not poller.worker.running


def test_an_unreachable_executor_gives_the_reason_not_an_empty_list() -> None:
    config = fast_config("http://127.0.0.1:9", max_retries=1, circuit_breaker_enabled=False)
    with HttpExecutorClient(config) as client:
        snapshot = ActiveFaultsPoller(client=client, interval_sec=1).poll()
    assert snapshot.faults == () and snapshot.error and snapshot.taken_at is not None


class _TwoFamilies:
    """A client whose Executor lists faults in the extended family and policies in the policy family."""

    def __init__(self, mode: str, *, policies: Exception | None = None) -> None:
        from client import ApiMode

        self.config = SimpleNamespace(api_mode=ApiMode(mode))
        self.asked: list[str | None] = []
        self._policies_error = policies

    def list_active_faults(self, *, api_mode: str | None = None) -> list[ActiveFault]:
        self.asked.append(api_mode)
        if api_mode == "policy":
            if self._policies_error is not None:
                raise self._policies_error
            return [ActiveFault("boifi-run-1", "payment", "/x", "delay", "active", 50)]
        return [ActiveFault("f-1", "payment", "/x", "abort", "active", 10)]


def test_poller_lists_the_policy_family_too_and_merges() -> None:
    client = _TwoFamilies("extended")
    snapshot = ActiveFaultsPoller(client=client, interval_sec=60).poll()  # type: ignore[arg-type]
    assert snapshot.error is None
    assert [fault.fault_id for fault in snapshot.faults] == ["f-1", "boifi-run-1"]
    assert snapshot.api_mode_of("boifi-run-1") == "policy" and snapshot.api_mode_of("f-1") is None
    assert client.asked == [None, "policy"]


def test_poller_ignores_an_executor_without_policies_and_lists_once_in_policy_mode() -> None:
    from client import NotFoundError

    missing = _TwoFamilies("direct", policies=NotFoundError("no /v1/policies", status_code=404))
    snapshot = ActiveFaultsPoller(client=missing, interval_sec=60).poll()  # type: ignore[arg-type]
    assert snapshot.error is None and [fault.fault_id for fault in snapshot.faults] == ["f-1"]
    policy = _TwoFamilies("policy")
    ActiveFaultsPoller(client=policy, interval_sec=60).poll()  # type: ignore[arg-type]
    assert policy.asked == [None]
