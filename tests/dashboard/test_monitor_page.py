"""The monitor page lists the Executor's active faults and Halt all stops them."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from client import ClientEvent, EventKind, FaultPlan, FaultType
from dashboard.data import load_run
from dashboard.factories import get_holder
from tests.waiting import wait_until

APP = "../../Home.py"


@pytest.mark.slow
def test_halt_all_stops_the_active_fault(live_executor: str) -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/2_Monitor.py").run()
    assert not at.exception, at.exception
    console = get_holder().console()
    plan = FaultPlan(
        service="payment", api="/api/v1/payment/process", fault_type=FaultType.ABORT, abort_http_status=503,
        percentage=20, duration_seconds=60,
    )  # fmt: skip
    run_id = console.runner.submit(plan)
    wait_until(
        lambda: any(b.key == "monitor_halt_all" for b in at.run().button), interval=0.3, what="Halt all"
    )
    at.button(key="monitor_halt_all").click().run()
    assert not at.exception, at.exception
    assert console.runner.wait(run_id, timeout=30)
    view = load_run(console.engine, run_id)
    assert view is not None and view.run.status.value == "cancelled"


@pytest.mark.slow
def test_rendering_the_monitor_lists_no_faults_itself(
    live_executor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOIFI_ACTIVE_FAULTS_INTERVAL_SEC", "600")  # one listing at start, then none
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/2_Monitor.py").run()
    assert not at.exception, at.exception
    console = get_holder().console()
    listings: list[ClientEvent] = []
    console.client.subscribe(
        lambda event: (
            listings.append(event) if event.kind is EventKind.ATTEMPT and event.operation == "list" else None
        )
    )
    renders = 25  # page refreshes, in any number of tabs
    for _ in range(renders):
        at.run()
        assert not at.exception, at.exception
    # at most the poller's first poll: one listing of faults, one of policies
    assert len(listings) <= 2, f"{len(listings)} listings for {renders} renders"
    wait_until(lambda: console.faults.snapshot.taken_at, what="the poller's first listing")
    at.run()
    assert any("No active faults. Listed" in c.value and "s ago" in c.value for c in at.caption), [
        c.value for c in at.caption
    ]


def test_the_monitor_counts_calls_the_breaker_rejected(unreachable_executor: str) -> None:
    from datetime import UTC, datetime

    from sqlmodel import Session

    import storage

    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/2_Monitor.py").run()
    console = get_holder().console()
    now = datetime.now(UTC)
    events = [
        {
            "timestamp": now,
            "kind": EventKind.REJECTED.value,
            "operation": "apply",
            "executor_url": console.executor_url,
        }
        for _ in range(3)
    ]
    with Session(console.engine) as session:
        storage.record_client_events(session, events=events)
    at.run()
    assert not at.exception, at.exception
    rejected = [m for m in at.metric if m.label == "rejected (not sent)"]
    assert rejected and rejected[0].value == "3", [(m.label, m.value) for m in at.metric]
