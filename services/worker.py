"""One background worker: call a step every period on a daemon thread, report failures, stop by a deadline."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

from storage import STORAGE_ERRORS, describe_error

logger = logging.getLogger(__name__)

__all__ = ["Wait", "Worker", "event_wait"]

# Block on `event` for at most `timeout` seconds; return whether it was set. Tests inject their own.
Wait = Callable[[threading.Event, float], bool]

_MAX_REMEMBERED_ERRORS = 100


def event_wait(event: threading.Event, timeout: float) -> bool:
    """Wait on `event` for up to `timeout` seconds, as the production worker does."""
    return event.wait(timeout)


class Worker:
    """Call `step` every `period_sec` on one daemon thread named `name` until `stop`.

    The first step runs at once (`immediate`) or one period after `start`. With `fixed_rate` the steps keep
    their schedule (the next is due a period after the previous was due, and a step that overran skips
    the ticks it missed); otherwise the worker waits a full period after each step. `wake()` runs the next
    step now. A step that raises is reported (`last_error`, `failures`, logged once per distinct error)
    and the loop goes on. `final_step` runs once on the thread after the loop ends.

    Example::

        worker = Worker(name="boifi-sampler", step=sample, period_sec=5)
        worker.start()
        ...
        stopped = worker.stop(timeout_sec=10)
    """

    def __init__(
        self,
        *,
        name: str,
        step: Callable[[], object],
        period_sec: float,
        immediate: bool = True,
        fixed_rate: bool = False,
        final_step: Callable[[], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wait: Wait = event_wait,
    ) -> None:
        if period_sec <= 0:
            raise ValueError("period_sec must be positive")
        self.name = name
        self.period_sec = period_sec
        self._step = step
        self._immediate = immediate
        self._fixed_rate = fixed_rate
        self._final_step = final_step
        self._clock = clock
        self._wait = wait
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._reported: set[str] = set()
        self.steps = 0
        self.failures = 0
        self.last_error: str | None = None

    @property
    def running(self) -> bool:
        """Whether the thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the thread (once; later calls do nothing)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self.run, name=self.name, daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Run the next step now instead of at its due time."""
        self._wake.set()

    def stop(self, timeout_sec: float = 10.0) -> bool:
        """Ask the thread to end and wait up to `timeout_sec`; return whether it has ended."""
        self._stopping.set()
        self._wake.set()
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return True
        thread.join(timeout=timeout_sec)
        if thread.is_alive():
            logger.warning("%s did not stop within %g s", self.name, timeout_sec)
            return False
        return True

    def run(self) -> None:
        """Run the loop on the calling thread until `stop` (the thread's target; tests call it directly)."""
        due = self._clock()
        if not self._immediate:
            due += self.period_sec
            self._pause(due)
        while not self._stopping.is_set():
            self._wake.clear()  # a wake during the step below is kept for the next wait
            self._call(self._step)
            due = self._next_due(due)
            self._pause(due)
        if self._final_step is not None:
            self._call(self._final_step)

    def _next_due(self, due: float) -> float:
        now = self._clock()
        if not self._fixed_rate:
            return now + self.period_sec
        due += self.period_sec
        if due < now:  # the step overran: skip the missed ticks
            due += math.ceil((now - due) / self.period_sec) * self.period_sec
        return due

    def _pause(self, due: float) -> None:
        if not self._stopping.is_set():
            self._wait(self._wake, max(0.0, due - self._clock()))

    def _call(self, step: Callable[[], object]) -> None:
        try:
            step()
        except Exception as exc:
            self.failures += 1
            expected = isinstance(exc, STORAGE_ERRORS)  # an outage, said in one line: no traceback
            self.last_error = f"{type(exc).__name__}: {describe_error(exc) if expected else exc}"
            if self.last_error not in self._reported:
                if len(self._reported) < _MAX_REMEMBERED_ERRORS:
                    self._reported.add(self.last_error)
                logger.error("%s failed: %s", self.name, self.last_error, exc_info=None if expected else exc)
        else:
            self.last_error = None
        finally:
            self.steps += 1
