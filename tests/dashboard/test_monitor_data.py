"""Monitor data from storage: breaker bands start from the state before the window; counters add up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session

import storage
from client import BreakerState, ClientEvent, EventKind
from dashboard.monitor_data import monitor_data
from services.recorder import EventRecorder
from storage.aggregates import save_health_row
from tests.plans import payment_delay

URL = "http://127.0.0.1:9"


def test_bands_counters_and_latency_come_from_storage(tmp_path: Path) -> None:
    engine = storage.make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    storage.init_db(engine)
    now = datetime.now(UTC)
    with Session(engine) as session:
        # Opened long before the window, half-opened and closed inside it.
        storage.record_breaker_transition(
            session,
            timestamp=now - timedelta(hours=2),
            old_state="CLOSED",
            new_state="OPEN",
            executor_url=URL,
        )
        storage.record_breaker_transition(
            session,
            timestamp=now - timedelta(seconds=60),
            old_state="OPEN",
            new_state="HALF_OPEN",
            executor_url=URL,
        )
        storage.record_breaker_transition(
            session,
            timestamp=now - timedelta(seconds=59),
            old_state="HALF_OPEN",
            new_state="CLOSED",
            executor_url=URL,
        )
        storage.record_health_sample(
            session,
            timestamp=now - timedelta(seconds=30),
            healthy=True,
            latency_ms=3.0,
            breaker_state="CLOSED",
            executor_url=URL,
        )
        events = [
            {
                "timestamp": now - timedelta(seconds=20),
                "kind": "attempt",
                "operation": "apply",
                "executor_url": URL,
            },
            {
                "timestamp": now - timedelta(seconds=20),
                "kind": "failure",
                "operation": "apply",
                "latency_ms": 9.0,
                "executor_url": URL,
            },
            {
                "timestamp": now - timedelta(seconds=20),
                "kind": "retry",
                "operation": "apply",
                "executor_url": URL,
            },
        ]
        storage.record_client_events(session, events=events)
    view = monitor_data(engine, URL, window_sec=300, bucket_sec=5, gap_sec=60)
    engine.dispose()
    # Nothing before the first observation in the window (the transition at -60 s): the OPEN state from
    # two hours ago is not painted back to the window's start.
    assert [band.state for band in view.bands] == [BreakerState.HALF_OPEN, BreakerState.CLOSED]
    assert view.bands[0].start == now - timedelta(seconds=60)
    assert view.bands[-1].end == view.until
    assert view.counters["attempt"] == 1 and view.counters["retry"] == 1 and view.counters["failure"] == 1
    assert view.counters["breaker_opens"] == 0  # the only opening was before the window
    assert [h.latency_ms for h in view.health] == [3.0]
    assert [(p.latency_ms, p.error_rate_pct) for p in view.latency] == [(9.0, 100.0)]


def test_bands_stop_at_a_silence_and_resume_with_the_next_sample(tmp_path: Path) -> None:
    engine = storage.make_engine(f"sqlite:///{tmp_path / 'gap.db'}")
    storage.init_db(engine)
    now = datetime.now(UTC)
    with Session(engine) as session:
        for seconds_ago in (200, 195, 190, 40, 35, 30):  # the console was down from -190 s to -40 s
            storage.record_health_sample(
                session,
                timestamp=now - timedelta(seconds=seconds_ago),
                healthy=True,
                latency_ms=2.0,
                breaker_state="CLOSED",
                executor_url=URL,
            )
    view = monitor_data(engine, URL, window_sec=300, bucket_sec=5, gap_sec=15)
    engine.dispose()
    assert [(b.start, b.end) for b in view.bands] == [
        (now - timedelta(seconds=200), now - timedelta(seconds=190)),
        (now - timedelta(seconds=40), now - timedelta(seconds=30)),  # last sample 30 s old: not live
    ]


def test_no_sample_in_the_window_draws_no_band(tmp_path: Path) -> None:
    engine = storage.make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    storage.init_db(engine)
    view = monitor_data(engine, URL, window_sec=300, bucket_sec=5, gap_sec=15)
    engine.dispose()
    assert view.bands == []


def _calls(start: datetime) -> list[ClientEvent]:
    """Ten minutes of an idle console (a poll every 2 s, a probe every 5 s), a few failures, a run's calls."""
    events = []
    for second in range(0, 600, 2):
        moment = start + timedelta(seconds=second)
        failed = second % 50 == 0
        events.append(ClientEvent(kind=EventKind.ATTEMPT, timestamp=moment, operation="list"))
        events.append(
            ClientEvent(
                kind=EventKind.FAILURE if failed else EventKind.SUCCESS,
                timestamp=moment,
                operation="list",
                latency_ms=8.0 if failed else 1.5 + (second % 3) * 0.25,
            )
        )
    for second in range(0, 600, 5):
        moment = start + timedelta(seconds=second, milliseconds=500)
        events.append(ClientEvent(kind=EventKind.HEALTH_CHECK, timestamp=moment, operation="health"))
    for second in (61, 62, 300):
        moment = start + timedelta(seconds=second)
        for kind in (EventKind.ATTEMPT, EventKind.SUCCESS):
            events.append(
                ClientEvent(kind=kind, timestamp=moment, operation="apply", apply_key="k", latency_ms=4.0)
            )
    return events


def _raw_rows(events: list[ClientEvent]) -> list[dict[str, object]]:
    """The rows the recorder wrote before routine calls were aggregated: one per event."""
    return [
        {
            "timestamp": e.timestamp,
            "kind": e.kind.value,
            "operation": e.operation,
            "latency_ms": e.latency_ms,
            "apply_key": e.apply_key,
            "executor_url": URL,
        }
        for e in events
    ]


def test_routine_calls_stored_per_interval_give_the_monitor_the_same_figures(tmp_path: Path) -> None:
    start = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)  # a whole minute: the window holds whole intervals
    now = start + timedelta(minutes=10)
    events = _calls(start)
    raw = storage.make_engine(f"sqlite:///{tmp_path / 'raw.db'}")
    storage.init_db(raw)
    with Session(raw) as session:
        storage.record_client_events(session, events=_raw_rows(events))
    aggregated = storage.make_engine(f"sqlite:///{tmp_path / 'aggregated.db'}")
    storage.init_db(aggregated)
    recorder = EventRecorder(engine=aggregated, executor_url=URL, aggregate_sec=60)
    for event in events:
        recorder(event)
    recorder.close()
    with Session(aggregated) as session:
        assert len(storage.client_event_series(session, since=start)) == 6  # only the run's calls
    for bucket_sec in (2, 7, 30, 60, 180):
        before, after = (
            monitor_data(engine, URL, window_sec=600, bucket_sec=bucket_sec, gap_sec=60, now=now)
            for engine in (raw, aggregated)
        )
        assert after.counters == before.counters
        assert sum(p.calls for p in after.latency) == sum(p.calls for p in before.latency)
        if bucket_sec % 60 == 0:  # buckets of whole intervals: every bar and point the same too
            assert after.counts == before.counts
            assert after.latency == before.latency
    assert before.counters["attempt"] == 300 + 6 // 2 and before.counters["failure"] == 12
    raw.dispose()
    aggregated.dispose()


def test_a_health_row_of_many_samples_vouches_for_its_whole_span(tmp_path: Path) -> None:
    engine = storage.make_engine(f"sqlite:///{tmp_path / 'rollup.db'}")
    storage.init_db(engine)
    now = datetime.now(UTC)
    with Session(engine) as session:
        save_health_row(
            session,
            row_id=None,
            first_at=now - timedelta(seconds=70),
            timestamp=now - timedelta(seconds=5),
            sample_count=14,
            healthy=True,
            latency_ms=2.0,
            latency_max_ms=3.0,
            breaker_state="CLOSED",
            executor_url=URL,
        )
    view = monitor_data(engine, URL, window_sec=300, bucket_sec=5, gap_sec=15)
    engine.dispose()
    assert [(b.start, b.end, b.state) for b in view.bands] == [
        (now - timedelta(seconds=70), view.until, BreakerState.CLOSED)
    ]
    assert [(h.sample_count, h.latency_max_ms) for h in view.health] == [(14, 3.0)]
    assert view.health_gap_sec == 15 + 65


def test_runs_in_the_window_come_with_their_fault_span(tmp_path: Path) -> None:
    engine = storage.make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    storage.init_db(engine)
    now = datetime.now(UTC)
    plan = payment_delay(duration_seconds=10, baseline_seconds=5, recovery_seconds=5).model_dump(mode="json")
    with Session(engine) as session:
        ids = []
        for key, url, started in (("a", URL, 40), ("b", "http://elsewhere:1", 40), ("c", URL, 900)):
            run = storage.create_run(
                session, plan=plan, executor_url=url, api_mode="extended", apply_key=key, owner="o",
                now=now - timedelta(seconds=started + 1),
            )  # fmt: skip
            assert run.id is not None
            storage.mark_running(session, run_id=run.id, now=now - timedelta(seconds=started))
            ids.append(run.id)
        phases = [
            {"phase": "baseline", "start_offset_ms": 0, "end_offset_ms": 5000},
            {"phase": "fault", "start_offset_ms": 5000, "end_offset_ms": 15000},
            {"phase": "recovery", "start_offset_ms": 15000, "end_offset_ms": 20000},
        ]
        for run_id, started in ((ids[0], 40), (ids[2], 900)):
            storage.finish_run(
                session, run_id=run_id, status=storage.RunStatus.COMPLETED,
                now=now - timedelta(seconds=started - 20), experiment={"phases": phases},
            )  # fmt: skip
    view = monitor_data(engine, URL, window_sec=300, bucket_sec=5, gap_sec=15.0, now=now)
    # The run against another Executor and the one that ended before the window are not shaded.
    assert [span.run_id for span in view.runs] == [ids[0]]
    span = view.runs[0]
    start = now - timedelta(seconds=40)
    assert (span.start, span.end) == (start, start + timedelta(seconds=20))
    assert (span.fault_start, span.fault_end) == (start + timedelta(seconds=5), start + timedelta(seconds=15))
