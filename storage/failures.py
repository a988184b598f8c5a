"""Say in one line why storage cannot be used, naming the setting or the failing resource.

`make_engine` and `init_db` (storage/engine.py) raise `DatabaseUrlError` for a database URL that cannot work
(the variable named) and `StorageUnavailableError` for a database that cannot be opened or written just now::

    DatabaseUrlError: BOIFI_DATABASE_URL: directory /nonexistent/sub does not exist
    StorageUnavailableError: PostgreSQL at 127.0.0.1:5432 unreachable: connection refused
"""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL

DATABASE_URL_ENV = "BOIFI_DATABASE_URL"

# What a database raises when it cannot be reached, opened or written: an outage, not a bug.
STORAGE_ERRORS: tuple[type[BaseException], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
    sqlite3.OperationalError,  # raised as is by a connect hook (the pragmas)
)

_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")


class DatabaseUrlError(ValueError):
    """A database URL that cannot work; the message names its setting (``BOIFI_DATABASE_URL: ...``)."""


class StorageUnavailableError(RuntimeError):
    """The database cannot be opened or written; the message is one line naming it and why."""


def redact(text: str) -> str:
    """Return `text` with the password of any URL in it replaced by ``***``."""
    return _PASSWORD.sub(r"\1***@", text)


def describe_error(exc: BaseException) -> str:
    """Return the first line of what the database driver said (no SQL, no links), or the error's type."""
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    return redact(lines[0].strip()) if lines else type(original).__name__


def describe_failure(url: URL, exc: BaseException) -> str:
    """Return one line saying which database failed and why, for an error raised while using `url`."""
    text = describe_error(exc)
    backend = url.get_backend_name()
    if backend == "sqlite":
        return _describe_sqlite(url.database or ":memory:", text)
    if backend == "postgresql":
        return _describe_postgresql(url, text)
    return f"database at {url.render_as_string(hide_password=True)} unavailable: {text}"


def _describe_sqlite(database: str, text: str) -> str:
    low = text.lower()
    if "readonly" in low or "read-only" in low:
        return f"database is read-only: {database}"
    if "full" in low:
        return f"disk full: cannot write database {database}"
    if "locked" in low:
        return f"database is locked by another connection: {database}"
    if "unable to open" in low:
        return f"cannot open database {database}: {_why_not_openable(Path(database).expanduser())}"
    return f"database {database}: {text}"


def _why_not_openable(path: Path) -> str:
    directory = path.parent
    if read_only_filesystem(directory):
        return "read-only file system"
    if not directory.exists():
        return f"directory {directory} does not exist"
    if not directory.is_dir():
        return f"{directory} is not a directory"
    if not os.access(directory, os.W_OK | os.X_OK):
        return f"permission denied in {directory}"
    return "unable to open the file"


def read_only_filesystem(path: Path) -> bool:
    """Return True when `path` (an existing directory or file) lies on a file system mounted read-only."""
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _describe_postgresql(url: URL, text: str) -> str:
    where = f"PostgreSQL at {url.host or 'localhost'}:{url.port or 5432}"
    reason = text.rsplit(" failed: ", 1)[-1].strip()
    reason = reason[:1].lower() + reason[1:]
    if "authentication failed" in reason:
        return f"{where} refused the login: {reason.removeprefix('fatal:').strip()}"
    if "does not exist" in reason:
        return f"{where}: {reason.removeprefix('fatal:').strip()}"
    return f"{where} unreachable: {reason}"
