"""Exit codes of `boifi apply` and friends."""

from __future__ import annotations

__all__ = ["ExitCode"]


class ExitCode:
    """Exit codes of `boifi apply` and friends (README lists them)."""

    OK = 0
    INVALID_PLAN = 2
    BAD_SETTINGS = 2  # a BOIFI_* variable or option that does not validate; the message names it
    UNREACHABLE = 3
    RUN_FAILED = 4
    UNSTORED = 5  # the run ended, but storage has not taken all its results yet (they are kept for replay)
    STORAGE_UNAVAILABLE = 6  # the database cannot be opened or written (read-only, full, unreachable)
