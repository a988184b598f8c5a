"""Turn the errors a user can fix (bad settings, unusable storage) into one line on stderr and an exit code.

Any `boifi` command that meets one prints a single line naming the setting or the failing resource, e.g.
``BOIFI_DATABASE_URL: directory /nonexistent/sub does not exist``, and exits with its documented code. The
traceback follows only with ``--verbose`` or ``BOIFI_LOG_LEVEL=DEBUG``.
"""

from __future__ import annotations

import logging
import os
import traceback
from enum import StrEnum

from cli.exit_codes import ExitCode
from cli.output import err

__all__ = ["LOG_LEVEL_ENV", "LogLevel", "configure_logging", "known_problem", "report"]

LOG_LEVEL_ENV = "BOIFI_LOG_LEVEL"


class LogLevel(StrEnum):
    """The values `BOIFI_LOG_LEVEL` takes."""

    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class BadSettingError(ValueError):
    """A setting of the command line itself that does not validate; the message names the variable."""


_state = {"tracebacks": False}


def configure_logging(*, verbose: bool, environ: dict[str, str] | None = None) -> None:
    """Set the log level of the process from `BOIFI_LOG_LEVEL` (default: WARNING, INFO with --verbose)."""
    env = os.environ if environ is None else environ
    raw = env.get(LOG_LEVEL_ENV, "").strip()
    try:
        level = getattr(logging, LogLevel(raw.lower()).name) if raw else logging.WARNING
    except ValueError as exc:
        allowed = ", ".join(member.value for member in LogLevel)
        raise BadSettingError(f"{LOG_LEVEL_ENV}: not a log level: {raw!r}; use one of {allowed}") from exc
    if verbose:
        level = min(level, logging.INFO)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    _state["tracebacks"] = verbose or level <= logging.DEBUG


def known_problem(exc: BaseException) -> tuple[str, int] | None:
    """Return the one line and exit code for an error the user can fix, or None for anything else (a bug)."""
    if isinstance(exc, BadSettingError):
        return str(exc), ExitCode.BAD_SETTINGS
    from client.environment import SettingsError

    if isinstance(exc, SettingsError):
        return "; ".join(exc.problems), ExitCode.BAD_SETTINGS
    import storage

    if isinstance(exc, storage.DatabaseUrlError):
        return str(exc), ExitCode.BAD_SETTINGS
    if isinstance(exc, storage.StorageUnavailableError):
        return str(exc), ExitCode.STORAGE_UNAVAILABLE
    if isinstance(exc, storage.STORAGE_ERRORS):
        return f"storage unavailable: {storage.describe_error(exc)}", ExitCode.STORAGE_UNAVAILABLE
    return None


def report(exc: BaseException) -> int | None:
    """Print the one line for a known problem (after its traceback if asked for) and return its exit code."""
    known = known_problem(exc)
    if known is None:
        return None
    line, code = known
    if _state["tracebacks"]:
        err("".join(traceback.format_exception(exc)).rstrip())
    err(line)
    return code
