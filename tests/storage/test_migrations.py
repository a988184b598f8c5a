"""Opening a database made by an older revision upgrades it in place without losing data."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import inspect, text
from sqlmodel import Session

import storage
from storage.engine import current_revision, upgrade


def _seed_first_schema(path: Path) -> None:
    engine = storage.make_engine(f"sqlite:///{path}")
    upgrade(engine, "0001")
    assert current_revision(engine) == "0001"
    assert "guardrail" not in {column["name"] for column in inspect(engine).get_columns("runs")}
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO runs (id, created_at, owner, status, service, api, fault_type, percentage,"
                " duration_seconds, plan, executor_url, api_mode, apply_key, fault_id, request_count,"
                " affected_count, p99_latency_ms, labels, notes)"
                " VALUES (7, '2026-01-02 03:04:05.000000', 'old:1:x', 'completed', 'payment', '/pay',"
                " 'abort',"
                " 20, 10, '{\"service\": \"payment\"}', 'http://127.0.0.1:1', 'direct', 'k7', 'fault-7', 120,"
                " 24, 88.5, '[\"baseline\"]', 'kept')"
            )
        )
        connection.execute(
            text("INSERT INTO timeline_points (run_id, t_s, request_count) VALUES (7, 0, 12), (7, 1, 13)")
        )
        connection.execute(
            text(
                "INSERT INTO health_samples (timestamp, executor_url, healthy, latency_ms, breaker_state)"
                " VALUES ('2026-01-02 03:04:06.000000', 'http://127.0.0.1:1', 1, 2.5, 'closed')"
            )
        )
    engine.dispose()


def test_database_at_first_revision_upgrades_keeping_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _seed_first_schema(path)

    engine = storage.make_engine(f"sqlite:///{path}")
    storage.init_db(engine)

    assert current_revision(engine) == "0002"
    with Session(engine) as session:
        detail = storage.get_run(session, run_id=7)
        assert detail is not None
        run = detail.run
        assert (run.service, run.status, run.request_count, run.p99_latency_ms) == (
            "payment",
            storage.RunStatus.COMPLETED,
            120,
            88.5,
        )
        assert run.created_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        assert run.labels == ["baseline"] and run.notes == "kept" and run.plan == {"service": "payment"}
        assert [point.request_count for point in detail.timeline] == [12, 13]
        assert run.guardrail is None and run.stop_reason is None
        health = storage.health_series(session, since=datetime(2026, 1, 1, tzinfo=UTC))
        assert [(sample.healthy, sample.latency_ms) for sample in health] == [(True, 2.5)]

        new_id = storage.create_run(
            session,
            plan={"service": "orders"},
            executor_url="u",
            api_mode="extended",
            apply_key="k8",
            owner="new:1:y",
            guardrail={"max_error_rate": 0.5},
        ).id
        assert new_id is not None
        storage.finish_run(
            session, run_id=new_id, status=storage.RunStatus.CANCELLED, stop_reason="guardrail"
        )
    with Session(engine) as session:
        stored = storage.get_run(session, run_id=new_id)
        assert stored is not None
        assert stored.run.guardrail == {"max_error_rate": 0.5}
        assert stored.run.stop_reason == "guardrail"
        assert storage.count_runs(session) == 2
    engine.dispose()


def test_upgraded_database_gets_the_new_index(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _seed_first_schema(path)
    engine = storage.make_engine(f"sqlite:///{path}")
    storage.init_db(engine)
    names = {index["name"] for index in inspect(engine).get_indexes("runs")}
    assert "ix_runs_status_heartbeat_at" in names
    engine.dispose()
