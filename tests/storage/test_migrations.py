"""Opening a database made by an older revision upgrades it in place without losing data."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

import storage
from client import ApiMode, BreakerState, FaultType
from storage.engine import alembic_config, current_revision, head_revision, upgrade


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


@pytest.mark.slow
def test_database_at_first_revision_upgrades_keeping_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _seed_first_schema(path)

    engine = storage.make_engine(f"sqlite:///{path}")
    storage.init_db(engine)

    assert current_revision(engine) == head_revision()
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


def _seed_second_schema(path: Path) -> Engine:
    engine = storage.make_engine(f"sqlite:///{path}")
    upgrade(engine, "0002")
    rows = [
        (1, "cancelled", "guardrail: error rate 60.0% exceeded 50.0% after 20 requests"),
        (2, "cancelled", "halted by user"),
        (3, "cancelled", None),
        (4, "completed", None),
    ]
    with engine.begin() as connection:
        for run_id, status, stop_reason in rows:
            connection.execute(
                text(
                    "INSERT INTO runs (id, created_at, owner, status, service, api, fault_type, percentage,"
                    " duration_seconds, plan, executor_url, api_mode, apply_key, request_count,"
                    " affected_count, labels, notes, stop_reason)"
                    " VALUES (:id, '2026-01-02 03:04:05.000000', 'old:1:x', :status, 'payment', '/pay',"
                    " 'abort', 100, 10, '{}', 'http://127.0.0.1:1', 'extended', :key, 40, 40, '[]', '',"
                    " :stop_reason)"
                ),
                {"id": run_id, "status": status, "key": f"k{run_id}", "stop_reason": stop_reason},
            )
    return engine


def _statuses(engine: Engine) -> dict[int, str]:
    with engine.connect() as connection:
        return {row[0]: row[1] for row in connection.execute(text("SELECT id, status FROM runs ORDER BY id"))}


def test_runs_an_older_app_recorded_as_cancelled_by_their_guardrail_get_the_new_status(
    tmp_path: Path,
) -> None:
    engine = _seed_second_schema(tmp_path / "older.db")
    storage.init_db(engine)
    assert _statuses(engine) == {1: "guardrail_stop", 2: "cancelled", 3: "cancelled", 4: "completed"}
    with Session(engine) as session:
        stopped = storage.list_runs(session, status=storage.RunStatus.GUARDRAIL_STOP)
        assert [(run.id, run.stop_reason) for run in stopped] == [
            (1, "guardrail: error rate 60.0% exceeded 50.0% after 20 requests")
        ]
    engine.dispose()


def test_downgrading_gives_an_older_app_statuses_it_knows(tmp_path: Path) -> None:
    engine = _seed_second_schema(tmp_path / "older.db")
    storage.init_db(engine)
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")
    assert current_revision(engine) == "0002"
    assert _statuses(engine) == {1: "cancelled", 2: "cancelled", 3: "cancelled", 4: "completed"}
    engine.dispose()


def test_breaker_states_an_older_app_stored_in_any_spelling_read_back_as_the_clients_enum(
    tmp_path: Path,
) -> None:
    engine = storage.make_engine(f"sqlite:///{tmp_path / 'older.db'}")
    upgrade(engine, "0003")
    with engine.begin() as connection:
        for second, (old, new) in enumerate(
            (("closed", "open"), ("OPEN", "half-open"), ("half_open", "CLOSED"))
        ):
            connection.execute(
                text(
                    "INSERT INTO breaker_transitions (timestamp, executor_url, old_state, new_state)"
                    " VALUES (:ts, 'u', :old, :new)"
                ),
                {"ts": f"2026-01-02 03:04:0{second}.000000", "old": old, "new": new},
            )
        connection.execute(
            text(
                "INSERT INTO health_samples (timestamp, executor_url, healthy, latency_ms, breaker_state)"
                " VALUES ('2026-01-02 03:04:06.000000', 'u', 1, 2.5, ' Half-Open ')"
            )
        )
    storage.init_db(engine)
    with Session(engine) as session:
        series = storage.breaker_series(session, since=datetime(2026, 1, 1, tzinfo=UTC))
        health = storage.health_series(session, since=datetime(2026, 1, 1, tzinfo=UTC))
        last = storage.last_breaker_state(session, executor_url="u")
    assert [(t.old_state, t.new_state) for t in series] == [
        (BreakerState.CLOSED, BreakerState.OPEN),
        (BreakerState.OPEN, BreakerState.HALF_OPEN),
        (BreakerState.HALF_OPEN, BreakerState.CLOSED),
    ]
    assert all(type(t.new_state) is BreakerState for t in series)
    assert [(h.breaker_state, h.latency_ms) for h in health] == [(BreakerState.HALF_OPEN, 2.5)]
    assert last is BreakerState.CLOSED
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT old_state, new_state FROM breaker_transitions")).all()
    assert [tuple(row) for row in stored] == [
        ("CLOSED", "OPEN"),
        ("OPEN", "HALF_OPEN"),
        ("HALF_OPEN", "CLOSED"),
    ]
    engine.dispose()


def test_api_modes_an_older_app_stored_read_back_as_the_clients_enum_and_export_unchanged(
    tmp_path: Path,
) -> None:
    engine = storage.make_engine(f"sqlite:///{tmp_path / 'older.db'}")
    upgrade(engine, "0004")
    with engine.begin() as connection:
        for run_id, mode in ((1, "policy"), (2, " Direct"), (3, "extended")):
            connection.execute(
                text(
                    "INSERT INTO runs (id, created_at, owner, status, service, api, fault_type, percentage,"
                    " duration_seconds, plan, executor_url, api_mode, apply_key, request_count,"
                    " affected_count, labels, notes)"
                    " VALUES (:id, '2026-01-02 03:04:05.000000', 'old:1:x', 'completed', 'payment', '/pay',"
                    " 'abort', 100, 10, '{}', 'http://127.0.0.1:1', :mode, :key, 40, 40, '[]', '')"
                ),
                {"id": run_id, "mode": mode, "key": f"k{run_id}"},
            )
    storage.init_db(engine)
    with Session(engine) as session:
        runs = sorted(storage.list_runs(session), key=lambda run: run.id or 0)
    assert [run.api_mode for run in runs] == [ApiMode.POLICY, ApiMode.DIRECT, ApiMode.EXTENDED]
    assert all(type(run.api_mode) is ApiMode for run in runs)
    assert [record["api_mode"] for record in storage.runs_to_records(runs)] == [
        "policy",
        "direct",
        "extended",
    ]
    assert all(type(record["api_mode"]) is str for record in storage.runs_to_records(runs))
    engine.dispose()


def test_fault_types_read_back_as_the_clients_enum_and_none_when_the_plan_had_none(tmp_path: Path) -> None:
    engine = storage.make_engine(f"sqlite:///{tmp_path / 'older.db'}")
    upgrade(engine, "0005")
    with engine.begin() as connection:
        for run_id, fault_type in ((1, ""), (2, "Delay"), (3, "abort")):
            connection.execute(
                text(
                    "INSERT INTO runs (id, created_at, owner, status, service, api, fault_type, percentage,"
                    " duration_seconds, plan, executor_url, api_mode, apply_key, request_count,"
                    " affected_count, labels, notes)"
                    " VALUES (:id, '2026-01-02 03:04:05.000000', 'old:1:x', 'completed', 'payment', '/pay',"
                    " :fault_type, 100, 10, '{}', 'http://127.0.0.1:1', 'direct', :key, 40, 40, '[]', '')"
                ),
                {"id": run_id, "fault_type": fault_type, "key": f"k{run_id}"},
            )
    storage.init_db(engine)
    with Session(engine) as session:
        runs = sorted(storage.list_runs(session), key=lambda run: run.id or 0)
        delays = storage.list_runs(session, fault_type="delay")
    assert [run.fault_type for run in runs] == [None, FaultType.DELAY, FaultType.ABORT]
    assert type(runs[1].fault_type) is FaultType
    assert [run.id for run in delays] == [2]
    assert [record["fault_type"] for record in storage.runs_to_records(runs)] == ["", "delay", "abort"]
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0005")
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT fault_type FROM runs ORDER BY id")).scalars().all()
    assert stored == ["", "delay", "abort"]
    engine.dispose()
