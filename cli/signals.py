"""Stop long-running commands on SIGINT or SIGTERM, safely when signals repeat."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

__all__ = ["StopSignals", "call_within"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    """Record SIGINT and SIGTERM in a flag for the whole life of a command, its shutdown included.

    The handler only assigns an attribute. A handler that takes a lock (``threading.Event.set`` does) can
    deadlock when a second signal arrives while the first handler still holds it, which happens when
    ``uv run`` forwards a signal the terminal also delivered. And because the handlers stay installed until
    the command has shut down, a repeated Ctrl-C or SIGTERM cannot cut the shutdown short.

    Example::

        with StopSignals() as stop, EmbeddedExecutor(settings):
            stop.wait()
    """

    def __init__(self, *, poll_s: float = 0.1) -> None:
        self.received: int | None = None
        self.received_at: float | None = None  # time.monotonic() of the first signal
        self._poll_s = poll_s
        self._previous: dict[int, object] = {}

    def __enter__(self) -> StopSignals:
        for sig in _SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *_exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self._previous.clear()

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.received_at is None:
            self.received_at = time.monotonic()
        self.received = signum

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until a stop signal arrives (True) or ``timeout_s`` passes (False)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while self.received is None:
            if deadline is None:
                time.sleep(self._poll_s)
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(self._poll_s, remaining))
        return True


def call_within(call: Callable[[], object], until: float | None) -> bool:
    """Call `call`; with `until` (a `time.monotonic()` instant) on a daemon thread, given up on at `until`.

    Return whether it finished in time. An exception it raised is raised here (when it finished in time).
    """
    if until is None:
        call()
        return True
    failed: list[BaseException] = []

    def target() -> None:
        try:
            call()
        except BaseException as exc:  # handed to the caller
            failed.append(exc)

    thread = threading.Thread(target=target, name="boifi-apply-exit", daemon=True)
    thread.start()
    thread.join(max(0.0, until - time.monotonic()))
    if thread.is_alive():
        return False
    if failed:
        raise failed[0]
    return True
