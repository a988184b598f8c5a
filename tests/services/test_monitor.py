"""The health monitor records every sample with the breaker state, in rows of one state each."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

import storage
from client import HttpExecutorClient
from executor import EmbeddedExecutor
from services.monitor import HealthMonitor
from tests.client.raw_servers import Answer, DripHead, raw_serve
from tests.services.conftest import fast_config
from tests.waiting import wait_until


def test_monitor_records_healthy_and_unhealthy_samples(executor: EmbeddedExecutor, engine: Engine) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    with (
        HttpExecutorClient(fast_config(executor.base_url, health_check_interval_sec=0)) as up,
        HttpExecutorClient(
            fast_config("http://127.0.0.1:9", health_check_interval_sec=0, max_retries=1)
        ) as down,
    ):
        assert HealthMonitor(engine=engine, client=up, interval_sec=1).sample() is True
        assert HealthMonitor(engine=engine, client=down, interval_sec=1).sample() is False
    with Session(engine) as session:
        samples = storage.health_series(session, since=since)
    by_url = {sample.executor_url.rstrip("/"): sample for sample in samples}
    assert by_url[executor.base_url.rstrip("/")].healthy is True
    assert by_url["http://127.0.0.1:9"].healthy is False
    assert by_url["http://127.0.0.1:9"].breaker_state in {"closed", "open", "half_open", "CLOSED", "OPEN"}


def test_monitor_thread_samples_until_stopped(executor: EmbeddedExecutor, engine: Engine) -> None:
    with HttpExecutorClient(fast_config(executor.base_url, health_check_interval_sec=0)) as client:
        monitor = HealthMonitor(engine=engine, client=client, interval_sec=0.05)
        monitor.start()
        wait_until(lambda: monitor.worker.steps >= 3, timeout=10, what="three health samples")
        assert monitor.stop()
        taken = monitor.worker.steps
    assert taken >= 3
    with Session(engine) as session:
        rows = storage.health_series(session, since=datetime.now(UTC) - timedelta(minutes=5))
    assert sum(row.sample_count for row in rows) == taken  # healthy all along: one row of them all


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_monitor_samples_on_time_while_the_executor_drips(engine: Engine) -> None:
    """A health endpoint dripping a header byte every 0.5 s held the first check (and the thread) for ever."""
    interval_sec = 1.0
    with (
        raw_serve(lambda method, path: DripHead()) as server,
        HttpExecutorClient(
            fast_config(server.url, health_check_interval_sec=0, connection_timeout_sec=0.5)
        ) as client,
    ):
        monitor = HealthMonitor(engine=engine, client=client, interval_sec=interval_sec)
        started = time.monotonic()
        monitor.start()
        wait_until(lambda: monitor.worker.steps >= 4, timeout=10, what="four health samples")
        elapsed = time.monotonic() - started
        taken, healthy = monitor.worker.steps, monitor.last_healthy
        monitor.stop()
    # Due at 0, 1, 2 and 3 s; each check ends within the 0.5 s health timeout.
    assert taken >= 4 and healthy is False
    assert elapsed < 3 * interval_sec + 1.0  # one check at a time after the other: 4.5 s


def test_every_sample_is_a_real_request_with_the_default_health_cache(engine: Engine) -> None:
    """With the default 60 s health cache, 11 of 12 samples at a 5 s interval were the cached answer."""
    since = datetime.now(UTC) - timedelta(seconds=1)
    with (
        raw_serve(lambda method, path: Answer(200, {"status": "healthy"})) as server,
        HttpExecutorClient(fast_config(server.url, max_retries=1)) as client,
    ):
        assert client.config.health_check_interval_sec == 60.0
        monitor = HealthMonitor(engine=engine, client=client, interval_sec=5)
        assert [monitor.sample() for _ in range(4)] == [True] * 4
        assert len(server.requests("GET", "/v1/health")) == 4
        server.stop()  # the Executor goes down between two samples
        assert monitor.sample() is False
        assert client.check_health() is False  # the failed probe dropped the gate's cached "healthy"
    with Session(engine) as session:
        samples = storage.health_series(session, since=since)
    assert [(sample.healthy, sample.sample_count) for sample in samples] == [(True, 4), (False, 1)]
    assert all(sample.latency_ms is not None and sample.latency_ms > 0 for sample in samples)
    assert samples[-1].error and samples[0].error is None
