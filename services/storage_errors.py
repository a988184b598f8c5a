"""Tell a storage outage (locked, read-only, full, unreachable) from a bug, and say it in one line."""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

# What a database says when it cannot take a write just now: retried, not a bug.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
)


def describe_storage_error(exc: BaseException) -> str:
    """Return the first line of what the database driver said, without SQL or links."""
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    return lines[0] if lines else type(original).__name__
