"""The console holder without Streamlit: one Console, rebuilt on new settings while old runs finish."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

import pytest

from client import ExecutorClientConfig
from services.holder import (
    EMBEDDED_FLAG_ENV,
    EXECUTOR_URL_ENV,
    ConsoleHolder,
    DashboardConfig,
    EmbeddedHandle,
)
from tests.waiting import wait_until


class _FakeRunner:
    def __init__(self) -> None:
        self.active: list[int] = []
        self.finished = threading.Event()

    def active_run_ids(self) -> list[int]:
        return list(self.active)

    def wait(self, run_id: int, timeout: float | None = None) -> bool:
        return self.finished.wait(timeout)


class _FakeConsole:
    def __init__(self, config: DashboardConfig) -> None:
        self.config = config
        self.engine = SimpleNamespace(url=config.database_url or "sqlite:///default.db")
        self.runner = _FakeRunner()
        self.closed = False
        self.retired = False

    def retire(self) -> None:
        self.retired = True

    def close(self) -> None:  # like Console.close: its runs are halted
        self.closed = True
        self.runner.active = []
        self.runner.finished.set()


class _FakeEmbedded:
    base_url = "http://127.0.0.1:5555"
    token: str | None = None

    def __init__(self) -> None:
        self.closed = False
        self.started = False

    def start(self) -> None:
        self.started = True

    def close(self) -> None:
        self.closed = True


def test_holder_starts_an_embedded_executor_only_without_an_executor_url() -> None:
    consoles: list[Any] = []

    def factory(config: DashboardConfig) -> Any:
        consoles.append(_FakeConsole(config))
        return consoles[-1]

    holder = ConsoleHolder(console_factory=factory, embedded_factory=_FakeEmbedded, environ={}).start()
    assert holder.config.embedded
    assert holder.config.client_config.base_url == "http://127.0.0.1:5555"
    assert holder.config.client_config.collector_url == "http://127.0.0.1:5555"
    first = holder.console()
    assert holder.console() is first
    holder.apply(ExecutorClientConfig(base_url="http://127.0.0.1:6000"), database_url="sqlite://")
    assert first.closed and holder.generation == 1
    assert holder.console().config.database_url == "sqlite://"
    embedded = holder.embedded
    holder.close()
    assert consoles[-1].closed and embedded is not None and embedded.closed

    remote = ConsoleHolder(
        console_factory=factory, embedded_factory=_FakeEmbedded, environ={EXECUTOR_URL_ENV: "http://h:1"}
    ).start()
    assert remote.embedded is None and not remote.config.embedded

    started_by_up = ConsoleHolder(
        console_factory=factory,
        embedded_factory=_FakeEmbedded,
        environ={EXECUTOR_URL_ENV: "http://127.0.0.1:7000", EMBEDDED_FLAG_ENV: "1"},
    ).start()
    assert started_by_up.embedded is None and started_by_up.config.embedded
    # The holder's settings come from the environ it was given, not the process's.
    assert started_by_up.config.client_config.base_url == "http://127.0.0.1:7000"
    assert started_by_up.config.client_config.collector_url == "http://127.0.0.1:7000"


def test_holder_keeps_the_old_console_when_new_settings_fail() -> None:
    calls = {"n": 0}

    def factory(config: DashboardConfig) -> Any:
        calls["n"] += 1
        if calls["n"] > 1:
            raise RuntimeError("cannot open database")
        return _FakeConsole(config)

    holder = ConsoleHolder(console_factory=factory, embedded_factory=_FakeEmbedded, environ={}).start()
    first = holder.console()
    with pytest.raises(RuntimeError):
        holder.apply(ExecutorClientConfig(base_url="http://127.0.0.1:6000"), database_url=None)
    assert holder.console() is first and not first.closed and holder.generation == 0
    holder.close()


def _holder_with_fakes() -> tuple[ConsoleHolder, list[Any]]:
    consoles: list[Any] = []

    def factory(config: DashboardConfig) -> Any:
        consoles.append(_FakeConsole(config))
        return consoles[-1]

    return ConsoleHolder(
        console_factory=factory, embedded_factory=_FakeEmbedded, environ={}
    ).start(), consoles


def test_applying_unchanged_settings_builds_nothing() -> None:
    holder, consoles = _holder_with_fakes()
    first = holder.console()
    first.runner.active = [4]
    config = holder.config
    outcome = holder.apply(
        ExecutorClientConfig(**config.client_config.model_dump()), database_url=config.database_url
    )
    assert (outcome.changed, outcome.finishing) == (False, ())
    assert consoles == [first] and holder.console() is first and holder.generation == 0
    assert not first.closed and not first.retired
    holder.close()


def test_a_replaced_console_finishes_its_runs_then_closes() -> None:
    holder, consoles = _holder_with_fakes()
    first = holder.console()
    first.runner.active = [4, 5]
    outcome = holder.apply(ExecutorClientConfig(base_url="http://127.0.0.1:6000"), database_url=None)
    assert (outcome.changed, outcome.finishing) == (True, (4, 5))
    assert first.retired and not first.closed
    assert holder.console() is consoles[1] and holder.retiring() == [first]
    assert holder.console_for_run(4, "sqlite:///default.db") is first  # a retired console's run
    assert holder.console_for_run(9, "sqlite:///elsewhere.db") is None  # run ids are per database
    first.runner.active = []
    first.runner.finished.set()
    wait_until(lambda: not holder.retiring(), timeout=10, interval=0.01, what="the retired console to close")
    assert first.closed and holder.retiring() == []
    holder.close()


def test_closing_the_holder_closes_retired_consoles_too() -> None:
    holder, _ = _holder_with_fakes()
    first = holder.console()
    first.runner.active = [4]
    holder.apply(ExecutorClientConfig(base_url="http://127.0.0.1:6000"), database_url=None)
    holder.close()  # closing halts the run, so the closer ends too
    assert first.closed and holder.retiring() == []


def test_constructing_a_holder_does_no_io_until_start() -> None:
    built: list[_FakeEmbedded] = []
    consoles: list[Any] = []

    def embedded() -> _FakeEmbedded:
        built.append(_FakeEmbedded())
        return built[-1]

    def factory(config: DashboardConfig) -> Any:
        consoles.append(_FakeConsole(config))
        return consoles[-1]

    threads = set(threading.enumerate())
    holder = ConsoleHolder(console_factory=factory, embedded_factory=embedded, environ={})
    assert built == [] and consoles == [] and holder.embedded is None
    assert set(threading.enumerate()) == threads
    with pytest.raises(RuntimeError, match=r"start\(\) was not called"):
        holder.console()
    assert holder.start() is holder and holder.start() is holder  # a second start does nothing
    assert len(built) == 1 and built[0].started and holder.embedded is built[0]
    assert holder.config.client_config.base_url == "http://127.0.0.1:5555"
    holder.close()
    assert built[0].closed


def test_constructing_the_embedded_handle_starts_no_executor() -> None:
    threads = set(threading.enumerate())
    handle = EmbeddedHandle()
    assert handle.base_url == "" and set(threading.enumerate()) == threads
