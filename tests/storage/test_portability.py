"""Nothing SQLite-only leaks into migrations or queries: they render for PostgreSQL (no server needed)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from alembic import command
from sqlalchemy.dialects import postgresql
from sqlmodel import col, select

from storage import Run, RunStatus
from storage.engine import alembic_config
from storage.queries import _run_conditions


def test_migrations_render_for_postgresql() -> None:
    config = alembic_config()
    config.set_main_option("sqlalchemy.url", "postgresql://boifi@127.0.0.1/boifi")
    buffer = io.StringIO()
    config.output_buffer = buffer
    command.upgrade(config, "head", sql=True)
    sql = buffer.getvalue()
    assert "CREATE TABLE runs" in sql and "plan JSON NOT NULL" in sql and "BYTEA" in sql
    assert "ALTER TABLE runs ADD COLUMN guardrail JSON" in sql
    assert "PRAGMA" not in sql and "BEGIN IMMEDIATE" not in sql
    assert "UPDATE runs SET status='guardrail_stop'" in sql
    assert "UPDATE alembic_version SET version_num='0003'" in sql


def test_run_filters_compile_for_postgresql() -> None:
    conditions = _run_conditions(
        service=["payment"],
        api="/pay",
        fault_type=None,
        status=[RunStatus.RUNNING],
        since=datetime(2026, 1, 1, tzinfo=UTC),
        until=None,
        search="canary_1",
    )
    statement = select(Run).where(*conditions).order_by(col(Run.created_at).desc())
    sql = str(statement.compile(dialect=postgresql.dialect()))
    assert "ILIKE" in sql and "CAST(runs.labels AS VARCHAR)" in sql
