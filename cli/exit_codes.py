"""Exit codes of `boifi apply` and friends."""

from __future__ import annotations

__all__ = ["ExitCode", "verdict_exit_code"]


class ExitCode:
    """Exit codes of `boifi apply` and friends (README lists them)."""

    OK = 0
    INVALID_PLAN = 2
    BAD_SETTINGS = 2  # a BOIFI_* variable or option that does not validate; the message names it
    UNREACHABLE = 3
    RUN_FAILED = 4
    UNSTORED = 5  # the run ended, but storage has not taken all its results yet (they are kept for replay)
    STORAGE_UNAVAILABLE = 6  # the database cannot be opened or written (read-only, full, unreachable)
    DEVIATED = 8  # the hypothesis did not hold during the fault
    NOT_RECOVERED = 9  # it did not hold again within recovery_seconds after the fault
    BASELINE_FAILED = 10  # it did not hold before the fault, so the fault was never applied


# `client.ExperimentVerdict`'s values (this module imports nothing heavy; a test keeps them equal).
_VERDICT_CODES = {
    "held": ExitCode.OK,
    "deviated": ExitCode.DEVIATED,
    "not_recovered": ExitCode.NOT_RECOVERED,
    "baseline_failed": ExitCode.BASELINE_FAILED,
}


def verdict_exit_code(verdict: str | None) -> int:
    """Return the exit code of a completed run's verdict: 0 for `held` or no hypothesis (None).

    A `guardrail_stop` verdict never gets here: such a run's status is `guardrail_stop`, exit code 4.
    """
    if verdict is None:
        return ExitCode.OK
    return _VERDICT_CODES.get(str(verdict), ExitCode.RUN_FAILED)
