"""Health samples are stored as one row per state change, else one per interval, and none is lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

import storage
from services.health_rollup import HealthRollup

URL = "http://127.0.0.1:9"
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def _rows(engine: Engine) -> list[storage.HealthSample]:
    with Session(engine) as session:
        return storage.health_series(session, since=NOW - timedelta(days=1))


def _sample(rollup: HealthRollup, second: float, *, healthy: bool = True, breaker: str = "CLOSED") -> None:
    rollup.add(
        timestamp=NOW + timedelta(seconds=second),
        healthy=healthy,
        latency_ms=2.0 + second % 2,
        breaker_state=breaker,
        error=None if healthy else "connection refused",
    )


def test_an_idle_hour_of_samples_every_5_s_is_sixty_rows(engine: Engine) -> None:
    rollup = HealthRollup(executor_url=URL, aggregate_sec=60)
    for second in range(0, 3600, 5):
        _sample(rollup, second)
        rollup.write(engine)
    rows = _rows(engine)
    assert len(rows) == 60 and sum(row.sample_count for row in rows) == 720
    assert rows[0].first_at == NOW and rows[0].timestamp == NOW + timedelta(seconds=55)
    assert rows[0].latency_ms == 2.5 and rows[0].latency_max_ms == 3.0


def test_a_change_of_state_starts_a_row_where_it_happened(engine: Engine) -> None:
    rollup = HealthRollup(executor_url=URL, aggregate_sec=60)
    for second, healthy, breaker in [
        (0, True, "CLOSED"),
        (5, True, "CLOSED"),
        (10, False, "CLOSED"),
        (15, False, "OPEN"),
        (20, True, "CLOSED"),
    ]:
        _sample(rollup, second, healthy=healthy, breaker=breaker)
        rollup.write(engine)
    rows = _rows(engine)
    assert [(r.healthy, r.breaker_state.value, r.sample_count) for r in rows] == [
        (True, "CLOSED", 2),
        (False, "CLOSED", 1),
        (False, "OPEN", 1),
        (True, "CLOSED", 1),
    ]
    assert [r.timestamp for r in rows] == [NOW + timedelta(seconds=s) for s in (5, 10, 15, 20)]
    assert rows[1].error == "connection refused"


def test_rows_storage_refused_are_written_in_order_once_it_answers(tmp_path: Path) -> None:
    engine = storage.make_engine(f"sqlite:///{tmp_path / 'late.db'}")  # no tables yet
    rollup = HealthRollup(executor_url=URL, aggregate_sec=60)
    failures = 0
    for second, healthy in [(0, True), (5, True), (10, False), (15, True)]:
        _sample(rollup, second, healthy=healthy)
        try:
            rollup.write(engine)
        except Exception:
            failures += 1
    assert failures == 4
    storage.init_db(engine)
    _sample(rollup, 20)
    rollup.write(engine)
    rows = _rows(engine)
    assert [(r.healthy, r.sample_count) for r in rows] == [(True, 2), (False, 1), (True, 2)]
    rollup.write(engine)  # nothing new: nothing written again
    assert len(_rows(engine)) == 3 and rollup.dropped == 0
    engine.dispose()
