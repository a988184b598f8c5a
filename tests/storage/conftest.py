"""Shared fixtures: migrated engines (in memory and on a temporary file) and a fixed clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

import storage

T0 = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
PLAN: dict[str, Any] = {
    "service": "payment",
    "api": "/api/v1/payment/process",
    "method": "POST",
    "fault_type": "delay",
    "percentage": 50,
    "duration_seconds": 30,
    "fault_config": {"delay_milliseconds": 250},
}


def file_engine(path: Path) -> Engine:
    engine = storage.make_engine(f"sqlite:///{path}")
    storage.init_db(engine)
    return engine


@pytest.fixture(params=["memory", "file", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated engine: in-memory SQLite, a SQLite file, then a fresh schema on a real PostgreSQL server."""
    if request.param == "memory":
        made = storage.make_engine("sqlite://")
        storage.init_db(made)
    elif request.param == "file":
        made = file_engine(tmp_path / "boifi.db")
    else:
        made = postgres_engine(request.getfixturevalue("postgres_server").url)
    yield made
    made.dispose()


def postgres_engine(url: str) -> Engine:
    """Return a migrated engine on an emptied PostgreSQL database (public schema dropped and recreated)."""
    made = storage.make_engine(url)
    with made.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    storage.init_db(made)
    return made


@pytest.fixture
def memory_engine() -> Iterator[Engine]:
    made = storage.make_engine("sqlite://")
    storage.init_db(made)
    yield made
    made.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as opened:
        yield opened


def new_run(session: Session, *, owner: str = "host:1:a", now: datetime = T0, **plan_overrides: Any) -> int:
    """Create a queued run of PLAN (with overrides) and return its id."""
    run = storage.create_run(
        session,
        plan={**PLAN, **plan_overrides},
        executor_url="http://127.0.0.1:8080",
        api_mode="extended",
        apply_key=f"key-{plan_overrides}-{now.isoformat()}",
        owner=owner,
        now=now,
    )
    assert run.id is not None
    return run.id
