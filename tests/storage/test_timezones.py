"""Datetimes go in with any timezone and come back as the same instant, timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import text
from sqlmodel import Session

import storage
from storage.types import as_utc, to_naive_utc
from tests.storage.conftest import T0, new_run

TOKYO = timezone(timedelta(hours=9), "JST")


def test_aware_datetimes_round_trip_as_utc(session: Session) -> None:
    local = T0.astimezone(TOKYO)
    run_id = new_run(session, now=local)
    storage.mark_running(session, run_id=run_id, now=local + timedelta(seconds=1))
    storage.record_health_sample(
        session, timestamp=local, healthy=True, latency_ms=1.0, breaker_state="closed", executor_url="u"
    )
    detail = storage.get_run(session, run_id=run_id)
    assert detail is not None
    assert detail.run.created_at == T0 and detail.run.created_at.tzinfo is not None
    assert detail.run.created_at.utcoffset() == timedelta(0)
    assert detail.run.started_at == T0 + timedelta(seconds=1)
    (sample,) = storage.health_series(session, since=T0)
    assert sample.timestamp == T0 and sample.timestamp.utcoffset() == timedelta(0)


def test_database_holds_naive_utc(session: Session) -> None:
    new_run(session, now=T0.astimezone(TOKYO))
    stored = session.connection().execute(text("SELECT created_at FROM runs")).scalar()
    assert str(stored).startswith("2026-11-27 12:00:00")


def test_naive_input_is_taken_as_utc(session: Session) -> None:
    run_id = new_run(session, now=datetime(2026, 11, 27, 12, 0, 0))
    detail = storage.get_run(session, run_id=run_id)
    assert detail is not None and detail.run.created_at == T0


def test_create_run_without_now_uses_the_current_utc_time(session: Session) -> None:
    before = datetime.now(UTC)
    run = storage.create_run(session, plan={}, executor_url="u", api_mode="direct", apply_key="k", owner="o")
    after = datetime.now(UTC)
    assert before <= run.created_at <= after


def test_conversion_helpers() -> None:
    assert to_naive_utc(T0.astimezone(TOKYO)) == datetime(2026, 11, 27, 12, 0, 0)
    assert as_utc(datetime(2026, 11, 27, 12, 0, 0)) == T0
    assert as_utc(T0.astimezone(TOKYO)).tzinfo is UTC
