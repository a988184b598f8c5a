"""The one Console of a process, rebuilt on new settings while the runs of the old one finish.

Configuration is loaded from `BOIFI_*` environment variables (the `environ` given, else the process's). With
no `BOIFI_EXECUTOR_URL`, `ConsoleHolder.start` starts one embedded executor with its demo services for the
whole process and the client talks to it, with the random token that executor requires; constructing a holder
does no I/O. No Streamlit here: the
dashboard caches one holder per process (dashboard/factories.py).
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from client import ExecutorClientConfig
from services.console import Console
from services.console_settings import ConsoleSettings

EXECUTOR_URL_ENV = "BOIFI_EXECUTOR_URL"
# Set by `boifi up`, which starts the embedded executor itself and passes its URL in BOIFI_EXECUTOR_URL.
EMBEDDED_FLAG_ENV = "BOIFI_EMBEDDED_EXECUTOR"


@dataclass(frozen=True)
class DashboardConfig:
    """What the shared Console is built from: the client's settings and the database location."""

    client_config: ExecutorClientConfig
    database_url: str | None
    embedded: bool


class EmbeddedHandle:
    """The embedded executor with demo services on loopback: ``start`` runs it, ``close`` stops it.

    Its control API requires a fresh random token, which only this process's client is given (`token`):
    another local user or a web page cannot drive it. The token is never shown or stored.
    """

    def __init__(self) -> None:
        from executor import EmbeddedExecutor, ExecutorSettings

        self.token: str | None = secrets.token_urlsafe(32)
        self._executor = EmbeddedExecutor(
            ExecutorSettings(host="127.0.0.1", port=0, demo=True, seed=None, token=self.token)
        )
        self.base_url = ""  # known once started

    def start(self) -> None:
        """Start the executor's thread and its listeners."""
        self._executor.start()
        self.base_url = str(self._executor.base_url)

    def proxy_url(self, service: str) -> str:
        return str(self._executor.proxy_url(service))

    def close(self) -> None:
        self._executor.stop()


def _default_config(
    embedded: EmbeddedHandle | None, *, started_elsewhere: bool, environ: Mapping[str, str]
) -> DashboardConfig:
    overrides: dict[str, Any] = {}
    if embedded is not None:
        overrides = {"base_url": embedded.base_url, "collector_url": embedded.base_url}
        if embedded.token is not None:
            overrides["auth_token"] = embedded.token
    client_config = ExecutorClientConfig.from_env(environ, **overrides)
    if started_elsewhere and client_config.collector_url is None:
        # The embedded executor serves GET /collect, so policy mode can observe through it.
        client_config = ExecutorClientConfig.from_env(environ, collector_url=client_config.base_url)
    return DashboardConfig(
        client_config=client_config,
        database_url=ConsoleSettings.from_env(environ).database_url,
        embedded=embedded is not None or started_elsewhere,
    )


def _build_console(config: DashboardConfig) -> Console:
    overrides: dict[str, Any] = {"database_url": config.database_url} if config.database_url else {}
    settings = ConsoleSettings.from_env(**overrides)
    return Console(client_config=config.client_config, settings=settings).start()


@dataclass(frozen=True)
class Applied:
    """What `ConsoleHolder.apply` did: whether it rebuilt the Console, and the runs the old one finishes."""

    changed: bool
    finishing: tuple[int, ...] = ()


def _same_settings(a: DashboardConfig, b: DashboardConfig) -> bool:
    # Compared as plain values: SecretStr compares by its secret, so a changed token is a change.
    return a.database_url == b.database_url and a.client_config.model_dump() == b.client_config.model_dump()


class ConsoleHolder:
    """Hold the one Console of this process; `apply` swaps it for one built from new settings.

    Applying never halts a run: settings that did not change keep the Console as it is, and a replaced
    Console that still has runs in flight is *retired* (its health monitor and faults poller stop) and closed
    only once they have finished, so an experiment ends on the Executor, database and client it started
    with. New runs go to the new Console at once.

    Construction does no I/O; ``start`` starts the embedded executor (unless ``BOIFI_EXECUTOR_URL`` names
    one) and reads the settings.

    Example::

        holder = ConsoleHolder().start()
        run_id = holder.console().runner.submit(plan)
        holder.apply(new_client_config, database_url=None)  # the run goes on; it closes the old Console
        holder.close()
    """

    def __init__(
        self,
        *,
        console_factory: Callable[[DashboardConfig], Console] = _build_console,
        embedded_factory: Callable[[], EmbeddedHandle] = EmbeddedHandle,
        environ: dict[str, str] | None = None,
    ) -> None:
        self._environ: Mapping[str, str] = os.environ if environ is None else environ
        self._lock = threading.RLock()
        self._console_factory = console_factory
        self._embedded_factory = embedded_factory
        self.embedded: EmbeddedHandle | None = None
        self._config: DashboardConfig | None = None  # read by start
        self._embedded_url: str | None = None
        self._embedded_config: ExecutorClientConfig | None = None
        self._console: Console | None = None
        self._retiring: dict[Console, threading.Thread] = {}
        self.generation = 0
        self.last_error: str | None = None

    def start(self) -> ConsoleHolder:
        """Start the embedded executor (unless ``BOIFI_EXECUTOR_URL`` is set) and read the settings."""
        with self._lock:
            if self._config is not None:
                return self
            env = self._environ
            if not env.get(EXECUTOR_URL_ENV):
                embedded = self._embedded_factory()
                embedded.start()
                self.embedded = embedded
            started_elsewhere = self.embedded is None and env.get(EMBEDDED_FLAG_ENV) == "1"
            config = _default_config(self.embedded, started_elsewhere=started_elsewhere, environ=env)
            self._embedded_url = config.client_config.base_url if config.embedded else None
            self._embedded_config = config.client_config if config.embedded else None
            self._config = config
            return self

    @property
    def config(self) -> DashboardConfig:
        with self._lock:
            return self._started_config()

    def _started_config(self) -> DashboardConfig:
        if self._config is None:
            raise RuntimeError("ConsoleHolder.start() was not called")
        return self._config

    def embedded_settings(self) -> ExecutorClientConfig | None:
        """Return the client settings this process started with for its embedded executor, or None.

        None when the process was pointed at another Executor (`BOIFI_EXECUTOR_URL` without `boifi up`).
        """
        with self._lock:
            return self._embedded_config

    def console(self) -> Console:
        """Return the current Console, building it on first use."""
        with self._lock:
            if self._console is None:
                self._console = self._console_factory(self._started_config())
            return self._console

    def retiring(self) -> list[Console]:
        """Return the replaced Consoles that are still finishing their runs, oldest first."""
        with self._lock:
            return list(self._retiring)

    def console_for_run(self, run_id: int, database: str | None) -> Console | None:
        """Return the Console that runs (or can show) run `run_id` of `database`, or None if none can.

        A retired Console still running it comes first (halting must go through its runner); else the
        current one, if it uses that database. Run ids are per database, so a Console on another database
        is never the answer.
        """
        current = self.console()
        for candidate in self.retiring():
            if _database_of(candidate) == database and run_id in candidate.runner.active_run_ids():
                return candidate
        return current if database is None or _database_of(current) == database else None

    def apply(self, client_config: ExecutorClientConfig, *, database_url: str | None) -> Applied:
        """Use new settings from now on; runs in flight finish on the Console they started on."""
        config = DashboardConfig(
            client_config=client_config,
            database_url=database_url or None,
            embedded=client_config.base_url == self._embedded_url,
        )
        with self._lock:
            current = self._started_config()
            if self._console is not None and _same_settings(config, current):
                return Applied(changed=False)
        new_console = self._console_factory(config)
        with self._lock:
            old, self._console, self._config = self._console, new_console, config
            self.generation += 1
        return Applied(changed=True, finishing=self._retire(old) if old is not None else ())

    def _retire(self, old: Console) -> tuple[int, ...]:
        finishing = tuple(old.runner.active_run_ids())
        if not finishing:
            old.close()
            return ()
        old.retire()
        closer = threading.Thread(
            target=self._close_when_finished, args=(old,), name="boifi-retired-console", daemon=True
        )
        with self._lock:
            self._retiring[old] = closer
        closer.start()
        return finishing

    def _close_when_finished(self, old: Console) -> None:
        while running := old.runner.active_run_ids():
            old.runner.wait(running[0])
        try:
            old.close()
        finally:
            with self._lock:
                self._retiring.pop(old, None)

    def close(self) -> None:
        """Close every Console (their active runs are halted), then the embedded executor."""
        with self._lock:
            console, self._console = self._console, None
            retiring = dict(self._retiring)
        for each in [*retiring, *([console] if console is not None else [])]:
            each.close()
        for closer in retiring.values():
            closer.join(timeout=10)
        if self.embedded is not None:
            self.embedded.close()
            self.embedded = None


def _database_of(console: Console) -> str:
    return str(console.engine.url)
