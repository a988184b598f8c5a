"""StopSignals: a lock-free stop flag for long-running commands."""

from __future__ import annotations

import signal

from cli.signals import StopSignals


def test_a_signal_sets_the_flag_and_handlers_are_restored_afterwards() -> None:
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    with StopSignals(poll_s=0.01) as stop:
        assert stop.wait(timeout_s=0.02) is False
        signal.raise_signal(signal.SIGTERM)
        signal.raise_signal(signal.SIGINT)  # a repeat neither raises KeyboardInterrupt nor kills the process
        assert stop.wait() is True
        assert stop.received == signal.SIGINT
    assert {sig: signal.getsignal(sig) for sig in before} == before
