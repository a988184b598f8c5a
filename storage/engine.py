"""Engine factory and schema setup: SQLite file by default, any SQLAlchemy URL from `BOIFI_DATABASE_URL`."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import platformdirs
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import StaticPool
from sqlmodel import create_engine

from storage.failures import (
    DATABASE_URL_ENV,
    STORAGE_ERRORS,
    DatabaseUrlError,
    StorageUnavailableError,
    describe_failure,
    redact,
)

# A writer waits this long for another connection's lock (a long transaction, a backup) before failing.
SQLITE_BUSY_TIMEOUT_MS = 30_000
WAL_SWITCH_TIMEOUT_MS = 5000  # creating the write-ahead log races only while a new file is opened
CONNECT_TIMEOUT_SEC = 10
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def default_database_url() -> str:
    """Return `BOIFI_DATABASE_URL`, or a SQLite file under the user's data directory (created).

    Raises `StorageUnavailableError` when the data directory cannot be created.
    """
    url = os.environ.get(DATABASE_URL_ENV, "").strip()
    if url:
        return url
    data_dir = Path(platformdirs.user_data_dir("boifi"))
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageUnavailableError(f"cannot create the data directory {data_dir}: {exc.strerror}") from exc
    return f"sqlite:///{data_dir / 'boifi.db'}"


def make_engine(url: str | None = None, *, setting: str = DATABASE_URL_ENV) -> Engine:
    """Create an engine for `url` (default: `default_database_url()`), with SQLite tuned for concurrent use.

    SQLite gets WAL, a busy timeout and foreign keys on every connection; ``sqlite://`` (in memory) shares
    one connection across threads so that every session sees the same database. A URL that cannot work (not
    a URL, an unknown database, a SQLite file whose directory does not exist) raises `DatabaseUrlError`
    naming `setting`; the directory of an explicit URL is never created, only the default one is.
    """
    url = url or default_database_url()
    parsed = _parse(url, setting)
    if parsed.get_backend_name() != "sqlite":
        # A server that does not answer costs a bounded wait, not a hung command (unless the URL says so).
        timeout = {} if "connect_timeout" in parsed.query else {"connect_timeout": CONNECT_TIMEOUT_SEC}
        connect_args = timeout if parsed.get_backend_name() == "postgresql" else {}
        return _create(
            url, setting, pool_pre_ping=True, json_serializer=_json_dumps, connect_args=connect_args
        )
    in_memory = parsed.database in (None, "", ":memory:")
    sqlite_args: dict[str, Any] = {
        "connect_args": {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        "json_serializer": _json_dumps,
    }
    if in_memory:
        engine = _create(url, setting, poolclass=StaticPool, **sqlite_args)
    else:
        _check_directory(Path(parsed.database or "").expanduser().parent, setting)
        engine = _create(url, setting, **sqlite_args)
    _install_sqlite_pragmas(engine, wal=not in_memory)
    return engine


def _parse(url: str, setting: str) -> URL:
    try:
        return make_url(url)
    except sa_exc.ArgumentError as exc:
        raise DatabaseUrlError(f"{setting}: not a valid URL: {redact(url)!r}") from exc


def _create(url: str, setting: str, **kwargs: Any) -> Engine:
    try:
        return create_engine(url, **kwargs)
    except sa_exc.NoSuchModuleError as exc:
        name = make_url(url).drivername
        raise DatabaseUrlError(
            f"{setting}: unknown database {name!r}; use sqlite:/// or postgresql+psycopg://"
        ) from exc
    except ModuleNotFoundError as exc:
        raise DatabaseUrlError(f"{setting}: the driver {exc.name!r} of this URL is not installed") from exc


def _check_directory(directory: Path, setting: str) -> None:
    if directory.is_dir():
        return
    if directory.exists():
        raise DatabaseUrlError(f"{setting}: {directory} is not a directory")
    for parent in directory.parents:  # a regular file somewhere above: say which
        if parent.exists() and not parent.is_dir():
            raise DatabaseUrlError(f"{setting}: {parent} is not a directory")
    raise DatabaseUrlError(f"{setting}: directory {directory} does not exist")


def _json_dumps(value: Any) -> str:
    # Keep non-ASCII labels and notes readable in the database, and searchable with LIKE.
    return json.dumps(value, ensure_ascii=False)


def _install_sqlite_pragmas(engine: Engine, *, wal: bool) -> None:
    """Set the busy timeout (read at each connect), foreign keys and, for files, WAL on every connection."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_MS)}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if wal:
                _enable_wal(cursor)
                # Safe with WAL (no corruption on power loss, only the last commits may be lost); much faster.
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()


def _enable_wal(cursor: Any) -> None:
    """Switch the file to WAL, retrying while another connection is switching or recovering it.

    SQLite answers "database is locked" at once, without its busy handler, when connections open a new file
    at the same moment and one of them is creating the write-ahead log; retry for `WAL_SWITCH_TIMEOUT_MS`.
    """
    deadline = time.monotonic() + WAL_SWITCH_TIMEOUT_MS / 1000
    pause_s = 0.002
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + pause_s > deadline:
                raise
        time.sleep(pause_s)
        pause_s = min(pause_s * 2, 0.05)


def alembic_config(engine: Engine | None = None) -> Config:
    """Return an Alembic config pointing at the packaged migrations (and at `engine`'s URL if given)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        url = engine.url.render_as_string(hide_password=False)
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def init_db(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration; idempotent, keeps existing data.

    Raises `StorageUnavailableError` (one line: which database, and why) when the database cannot be
    opened or written.
    """
    try:
        upgrade(engine, "head")
    except STORAGE_ERRORS as exc:
        raise StorageUnavailableError(describe_failure(engine.url, exc)) from exc


def ensure_writable(engine: Engine) -> None:
    """Raise `StorageUnavailableError` unless the database takes a write (one, rolled back at once)."""
    try:
        with engine.connect() as connection, connection.begin() as transaction:
            connection.exec_driver_sql("UPDATE alembic_version SET version_num = version_num")
            transaction.rollback()
    except STORAGE_ERRORS as exc:
        raise StorageUnavailableError(describe_failure(engine.url, exc)) from exc


def upgrade(engine: Engine, revision: str) -> None:
    """Upgrade the database behind `engine` to `revision` (used by `init_db` and by migration tests).

    On SQLite the whole upgrade is one ``BEGIN IMMEDIATE`` transaction, so processes that open a new database
    at the same moment take turns instead of racing, and foreign keys are off meanwhile, so that a migration
    that rebuilds a table (Alembic batch mode) cannot cascade-delete its children.
    """
    config = alembic_config(engine)
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:
            _sqlite_pragma(connection, "PRAGMA foreign_keys = OFF")
        try:
            with connection.begin():
                if sqlite:
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
        finally:
            if sqlite:
                _sqlite_pragma(connection, "PRAGMA foreign_keys = ON")


def _sqlite_pragma(connection: Connection, pragma: str) -> None:
    # Pragmas about foreign keys are ignored inside a transaction: run them between transactions.
    connection.exec_driver_sql(pragma)
    connection.commit()


def current_revision(engine: Engine) -> str | None:
    """Return the database's Alembic revision, or None for a database without one."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """Return the newest migration's revision id."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migrations found in the storage package")
    return head
