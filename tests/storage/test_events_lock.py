"""Another connection holding the SQLite write lock costs the recorder a wait or a retry, no event."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session

import storage
from client import ClientEvent, EventKind
from services.recorder import EventRecorder
from tests.waiting import wait_until

URL = "http://127.0.0.1:9"
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
HOLD_SEC = 2.0
EVENTS = 20


@contextmanager
def exclusive_lock(path: Path, hold_sec: float) -> Iterator[threading.Thread]:
    """Hold ``BEGIN EXCLUSIVE`` on `path` from a second connection for `hold_sec`, on a thread."""
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        connection = sqlite3.connect(path, isolation_level=None, timeout=5)
        try:
            connection.execute("BEGIN EXCLUSIVE")
            locked.set()
            release.wait(hold_sec)  # the fault itself: a lock held this long, then let go
            connection.execute("COMMIT")
        finally:
            connection.close()

    holder = threading.Thread(target=hold, name="test-lock-holder", daemon=True)
    holder.start()
    assert locked.wait(10), "the second connection did not get the lock"
    try:
        yield holder
    finally:
        holder.join(timeout=HOLD_SEC + 10)
        release.set()


def _events() -> list[ClientEvent]:
    return [
        ClientEvent(
            kind=EventKind.ATTEMPT, timestamp=NOW + timedelta(seconds=i), operation="apply", apply_key="k"
        )
        for i in range(EVENTS)
    ]


def _stored(engine: object) -> int:
    with Session(engine) as session:  # type: ignore[call-overload]
        return len(storage.client_event_series(session, since=NOW))


@pytest.mark.slow
def test_a_lock_held_past_the_busy_timeout_is_retried_and_loses_no_event(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("storage.engine.SQLITE_BUSY_TIMEOUT_MS", 200)  # below the 2 s hold
    path = tmp_path / "locked.db"
    engine = storage.make_engine(f"sqlite:///{path}")
    storage.init_db(engine)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 200
    recorder = EventRecorder(engine=engine, executor_url=URL, flush_interval_sec=0.1)
    with caplog.at_level(logging.WARNING, logger="services.recorder"):
        with exclusive_lock(path, HOLD_SEC):
            recorder.start()
            for event in _events():
                recorder(event)
            wait_until(lambda: recorder.last_error is not None, timeout=10, what="a refused write")
            assert "locked" in (recorder.last_error or "")
        wait_until(lambda: _stored(engine) == EVENTS, timeout=30, what="every event stored")
        recorder.close()
    assert recorder.dropped == 0 and recorder.waiting == 0
    messages = [record.getMessage() for record in caplog.records]
    assert sum("could not record client events" in m for m in messages) == 1
    assert any("recording client events again" in m for m in messages)
    engine.dispose()


@pytest.mark.slow
def test_a_lock_held_within_the_busy_timeout_costs_a_wait_not_an_event(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    engine = storage.make_engine(f"sqlite:///{path}")
    storage.init_db(engine)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 30_000  # above the 2 s hold
    recorder = EventRecorder(engine=engine, executor_url=URL)
    with exclusive_lock(path, HOLD_SEC):
        for event in _events():
            recorder(event)
        assert recorder.flush()  # waits for the lock, then writes: no error, no retry
    assert recorder.last_error is None and recorder.dropped == 0
    assert _stored(engine) == EVENTS
    engine.dispose()
