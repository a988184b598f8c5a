"""Fixtures: a SQLite file per test, fast client settings and consoles on them (the demo executor is
tests/conftest.py's)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

import storage
from client import ExecutorClientConfig
from services.console import Console
from services.console_settings import ConsoleSettings


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = storage.make_engine(f"sqlite:///{tmp_path / 'runs.db'}")
    storage.init_db(engine)
    yield engine
    engine.dispose()


def fast_config(base_url: str, **overrides: object) -> ExecutorClientConfig:
    """A client configuration with short timeouts and intervals for tests."""
    values: dict[str, object] = {
        "base_url": base_url,
        "poll_interval_sec": 0.1,
        "initial_retry_delay_sec": 0.05,
        "max_retry_delay_sec": 0.2,
        "connection_timeout_sec": 2.0,
        "policy_propagation_sec": 0.0,
        "probe_rate_rps": 50,
    }
    values.update(overrides)
    return ExecutorClientConfig(**values)  # type: ignore[arg-type]


@pytest.fixture
def console_factory(engine: Engine) -> Iterator[object]:
    """Make started consoles on `engine` with `fast_config` (overrides: client settings); close them after."""
    consoles: list[Console] = []

    def make(base_url: str, **overrides: object) -> Console:
        console = Console(
            client_config=fast_config(base_url, **overrides),
            engine=engine,
            settings=ConsoleSettings(lease_sec=30, max_concurrent_runs=10, health_interval_sec=0.2),
            start_monitor=False,
        ).start()
        consoles.append(console)
        return console

    yield make
    for console in consoles:
        console.close()
