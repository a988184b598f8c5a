"""The background-worker primitive, driven by a scripted clock and wait: no real sleeps."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import pytest

from services.worker import Worker


class ScriptedTime:
    """A clock that moves only when the worker waits (or a step says so); stops the worker after `waits`."""

    def __init__(self, waits: int) -> None:
        self.now = 0.0
        self.timeouts: list[float] = []
        self._waits_left = waits
        self.worker: Worker | None = None

    def clock(self) -> float:
        return self.now

    def wait(self, event: threading.Event, timeout: float) -> bool:
        self.timeouts.append(timeout)
        if event.is_set():  # woken: no time passes
            return True
        self.now += timeout
        self._waits_left -= 1
        if self._waits_left <= 0 and self.worker is not None:
            self.worker.stop()
        return False


def _worker(time: ScriptedTime, step: Callable[[], object], **options: object) -> Worker:
    worker = Worker(
        name="test-worker",
        step=step,
        period_sec=2.0,
        clock=time.clock,
        wait=time.wait,
        **options,  # type: ignore[arg-type]
    )
    time.worker = worker
    return worker


def test_steps_at_once_then_every_period_until_stopped() -> None:
    time = ScriptedTime(waits=3)
    at: list[float] = []
    worker = _worker(time, lambda: at.append(time.now))
    worker.run()
    assert at == [0.0, 2.0, 4.0]
    assert time.timeouts == [2.0, 2.0, 2.0]
    assert (worker.steps, worker.failures, worker.last_error) == (3, 0, None)


def test_a_fixed_rate_keeps_its_schedule_and_skips_the_ticks_a_slow_step_missed() -> None:
    time = ScriptedTime(waits=3)
    at: list[float] = []

    def step() -> None:
        at.append(time.now)
        time.now += 5.0 if len(at) == 2 else 0.5  # the second step overruns two and a half periods

    worker = _worker(time, step, fixed_rate=True)
    worker.run()
    # Due at 0, 2, (4 and 6 missed while the second step ran until 7) 8.
    assert at == [0.0, 2.0, 8.0]
    assert time.timeouts == [1.5, 1.0, 1.5]


def test_without_immediate_the_first_step_waits_a_period_and_the_final_step_runs_once() -> None:
    time = ScriptedTime(waits=2)
    calls: list[tuple[str, float]] = []
    worker = _worker(
        time,
        lambda: calls.append(("step", time.now)),
        immediate=False,
        final_step=lambda: calls.append(("final", time.now)),
    )
    worker.run()
    assert calls == [("step", 2.0), ("final", 4.0)]


def test_a_wake_during_a_step_runs_the_next_step_at_once() -> None:
    time = ScriptedTime(waits=2)
    at: list[float] = []

    def step() -> None:
        at.append(time.now)
        if len(at) == 1:
            worker.wake()

    worker = _worker(time, step)
    worker.run()
    assert at == [0.0, 0.0, 2.0]


def test_a_failing_step_is_reported_once_per_error_and_the_loop_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    time = ScriptedTime(waits=5)
    outcomes: list[Exception | None] = [
        ValueError("disk full"),
        ValueError("disk full"),
        KeyError("other"),
        None,
        ValueError("disk full"),
    ]
    seen: list[str | None] = []

    def step() -> None:
        seen.append(worker.last_error)
        outcome = outcomes[len(seen) - 1]
        if outcome is not None:
            raise outcome

    worker = _worker(time, step)
    with caplog.at_level(logging.ERROR, logger="services.worker"):
        worker.run()
    assert worker.steps == 5 and worker.failures == 4
    assert seen == [None, "ValueError: disk full", "ValueError: disk full", "KeyError: 'other'", None]
    assert worker.last_error == "ValueError: disk full"
    assert [record.getMessage() for record in caplog.records] == [
        "test-worker failed: ValueError: disk full",
        "test-worker failed: KeyError: 'other'",
    ]


def test_stop_waits_by_its_deadline_and_says_whether_the_thread_ended() -> None:
    release = threading.Event()
    entered = threading.Event()

    def step() -> None:
        entered.set()
        release.wait(10)

    worker = Worker(name="test-stuck-worker", step=step, period_sec=60)
    assert worker.stop() is True  # never started: nothing to wait for
    worker = Worker(name="test-stuck-worker", step=step, period_sec=60)
    worker.start()
    worker.start()  # once
    try:
        assert entered.wait(10)
        assert worker.stop(timeout_sec=0.01) is False and worker.running
    finally:
        release.set()
    assert worker.stop(timeout_sec=10) is True and not worker.running
    assert worker.steps == 1


def test_the_period_must_be_positive() -> None:
    with pytest.raises(ValueError, match="period_sec"):
        Worker(name="w", step=lambda: None, period_sec=0)
