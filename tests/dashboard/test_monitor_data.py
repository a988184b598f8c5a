"""Monitor data from storage: breaker bands start from the state before the window; counters add up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session

import storage
from client import BreakerState
from dashboard.data import monitor_data

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
