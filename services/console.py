"""The process-wide composition root: one engine and client; recorder, runner, monitor, poller, retention."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine

import storage
from client import ExecutorClientConfig, HttpExecutorClient, redact_url
from services.active_faults import ActiveFaultsPoller
from services.console_settings import ConsoleSettings
from services.monitor import HealthMonitor
from services.recorder import EventRecorder
from services.retention import TelemetryRetention
from services.runner import SHUT_DOWN, SHUTDOWN_TIMEOUT_SEC, Runner

logger = logging.getLogger(__name__)


class Console:
    """Own the objects every page, the CLI and the runner share; start them together, close them together.

    Building one does no I/O; `start` (or entering `with`) creates the schema, recovers orphaned runs and
    starts the background workers.

    Example::

        with Console(client_config=ExecutorClientConfig(base_url=url)) as console:
            run_id = console.runner.submit(plan)
    """

    def __init__(
        self,
        *,
        client_config: ExecutorClientConfig,
        settings: ConsoleSettings | None = None,
        engine: Engine | None = None,
        start_monitor: bool = True,
        recover_on_start: bool = True,
        create_schema: bool = True,
        client_kwargs: dict[str, Any] | None = None,
        owner: str | None = None,
    ) -> None:
        self.settings = settings if settings is not None else ConsoleSettings.from_env()
        self._owns_engine = engine is None
        self.engine = engine if engine is not None else storage.make_engine(self.settings.database_url)
        self._start_monitor = start_monitor
        self._create_schema = create_schema  # False: the caller has created it (the CLI's open_engine)
        client: HttpExecutorClient | None = None
        try:
            client = HttpExecutorClient(client_config, **(client_kwargs or {}))
            self.runner = Runner(
                engine=self.engine,
                client=client,
                max_workers=self.settings.max_concurrent_runs,
                lease_sec=self.settings.lease_sec,
                recover_on_start=recover_on_start,
                spool_dir=self.settings.spool_dir,
                spool_memory_items=self.settings.spool_memory_items,
                owner=owner,  # None: Runner's own id for this process
            )
        except BaseException:
            # Nothing half-built may outlive a failed construction: close what exists, then re-raise.
            if client is not None:
                client.close()
            if self._owns_engine:
                self.engine.dispose()
            raise
        self.client = client
        self.executor_url = redact_url(str(client_config.base_url))  # shown and stored: no password
        self.recorder = EventRecorder(
            engine=self.engine, executor_url=self.executor_url, resolve_run_id=self.runner.run_id_for_key
        )
        self._unsubscribe: Callable[[], None] = lambda: None
        self.monitor = HealthMonitor(
            engine=self.engine, client=self.client, interval_sec=self.settings.health_interval_sec
        )
        # Pages read `faults.snapshot`; only this thread lists the Executor's faults, whatever the open tabs.
        self.faults = ActiveFaultsPoller(
            client=self.client, interval_sec=self.settings.active_faults_interval_sec
        )
        self.retention = TelemetryRetention(
            engine=self.engine,
            retention_days=self.settings.telemetry_retention_days,
        )
        self._started = False
        self._closed = False
        self._close_lock = threading.Lock()

    def start(self) -> Console:
        """Create the schema, then start recording, the runner (recovery, leases), retention and watchers.

        With `create_schema` False the caller has created it (`boifi apply` opens storage once). With
        `start_monitor` False (the CLI) the health monitor and faults poller stay off. Starting twice
        does nothing; a start that fails closes what it started and re-raises.
        """
        with self._close_lock:
            if self._started or self._closed:
                return self
            self._started = True
        try:
            if self._create_schema:
                storage.init_db(self.engine)
            self._unsubscribe = self.client.subscribe(self.recorder)
            self.recorder.start()
            self.runner.start()
            self.retention.start()
            if self._start_monitor:
                self.monitor.start()
                self.faults.start()
        except BaseException:
            self.close()
            raise
        return self

    def retire(self) -> None:
        """Stop watching the Executor (health monitor, faults poller); runs in flight go on until `close`."""
        self.monitor.stop()
        self.faults.stop()
        self.retention.stop()

    def close(self, *, reason: str = SHUT_DOWN, timeout_sec: float = SHUTDOWN_TIMEOUT_SEC) -> None:
        """Halt active runs (removing their faults), stop the threads, flush events, close the client.

        Runs are recorded as cancelled with `reason`; one that does not stop within `timeout_sec` is
        recorded as interrupted.
        """
        with self._close_lock:  # a retired Console may be closed by its closer and the holder at once
            if self._closed:
                return
            self._closed = True
        self.monitor.stop()
        self.faults.stop()
        self.retention.stop()
        self.runner.shutdown(cancel_active=True, wait=True, timeout_sec=timeout_sec, reason=reason)
        self._unsubscribe()
        self.recorder.close()
        self.client.close()
        if self._owns_engine:
            self.engine.dispose()

    def __enter__(self) -> Console:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()
