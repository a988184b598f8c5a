"""Fixtures for dashboard tests: a temporary database, an Executor, and clean Streamlit caches."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import streamlit as st
from sqlmodel import Session

import storage
from tests.demo_data import populate_demo_runs
from tests.ports import free_port as closed_port

if TYPE_CHECKING:
    from executor import EmbeddedExecutor

ROOT = Path(__file__).resolve().parents[2]
CONSOLE_THREADS = (
    "boifi-health-monitor",
    "boifi-event-recorder",
    "boifi-run",
    "boifi-heartbeat",
    "boifi-active-faults",
    "boifi-retired-console",
    "boifi-telemetry-retention",
)
PAGES = (
    "pages/1_Launch.py",
    "pages/2_Monitor.py",
    "pages/3_History.py",
    "pages/4_Settings.py",
    "pages/5_Run.py",
)


def _clear_streamlit_caches() -> None:
    st.cache_data.clear()
    st.cache_resource.clear()  # releases the ConsoleHolder: closes the Console and any embedded executor


@pytest.fixture
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the dashboard at a fresh SQLite file and fast client settings; clear caches around the test."""
    url = f"sqlite:///{tmp_path / 'dashboard.db'}"
    monkeypatch.setenv("BOIFI_DATABASE_URL", url)
    monkeypatch.setenv("BOIFI_MAX_RETRIES", "1")
    monkeypatch.setenv("BOIFI_CONNECTION_TIMEOUT_SEC", "1")
    monkeypatch.setenv("BOIFI_DEFAULT_TIMEOUT_SEC", "5")
    monkeypatch.setenv("BOIFI_HEALTH_INTERVAL_SEC", "0.5")
    _clear_streamlit_caches()
    before = set(threading.enumerate())
    yield url
    _clear_streamlit_caches()
    _assert_console_threads_stopped(before)


def _assert_console_threads_stopped(before: set[threading.Thread]) -> None:
    """Closing the cached holder must stop every thread the Console started (monitor, recorder, runner)."""
    leftovers = [t for t in set(threading.enumerate()) - before if t.name.startswith(CONSOLE_THREADS)]
    for thread in leftovers:
        thread.join(timeout=10)
    assert [t.name for t in leftovers if t.is_alive()] == []


@pytest.fixture
def unreachable_executor(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the client at a loopback port nobody listens on."""
    url = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("BOIFI_EXECUTOR_URL", url)
    return url


@pytest.fixture(scope="module")
def embedded_executor(executor: EmbeddedExecutor) -> str:
    """Return the URL of the module's in-process embedded executor with demo services."""
    return executor.base_url


@pytest.fixture
def live_executor(database_url: str, embedded_executor: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the dashboard at the in-process executor (policy mode observes through its collector)."""
    monkeypatch.setenv("BOIFI_EXECUTOR_URL", embedded_executor)
    monkeypatch.setenv("BOIFI_COLLECTOR_URL", embedded_executor)
    return embedded_executor


def populate(url: str, *, count: int, samples_per_run: int = 40) -> None:
    """Write `count` fake completed runs (test data) into the database at `url`."""
    engine = storage.make_engine(url)
    try:
        storage.init_db(engine)
        with Session(engine) as session:
            populate_demo_runs(session, count=count, samples_per_run=samples_per_run, seed=3)
    finally:
        engine.dispose()
