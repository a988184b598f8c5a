"""Exit codes of `boifi apply` and friends, and the errors that mean the Executor was unreachable."""

from __future__ import annotations

__all__ = ["UNREACHABLE_ERRORS", "ExitCode"]


class ExitCode:
    """Exit codes of `boifi apply` and friends."""

    OK = 0
    INVALID_PLAN = 2
    UNREACHABLE = 3
    RUN_FAILED = 4


UNREACHABLE_ERRORS = frozenset({"ExecutorConnectionError", "CircuitOpenError"})
