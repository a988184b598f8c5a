"""Helpers the `boifi` commands share for the client and storage (heavy: import them in command bodies)."""

from __future__ import annotations

from typing import Any

import typer
from sqlalchemy.engine import Engine
from sqlmodel import Session

import storage
from cli.exit_codes import ExitCode
from cli.output import err
from client import ExecutorClientConfig
from client.environment import SettingsError


def client_config(*, executor_url: str | None, api_mode: str | None, **extra: Any) -> ExecutorClientConfig:
    """Build the client configuration from the environment, overridden by command-line options."""
    overrides: dict[str, Any] = {key: value for key, value in extra.items() if value is not None}
    if executor_url is not None:
        overrides["base_url"] = executor_url
    if api_mode is not None:
        overrides["api_mode"] = api_mode
    try:
        return ExecutorClientConfig.from_env(**overrides)
    except SettingsError as exc:
        err(f"invalid Executor settings: {'; '.join(exc.problems)}")
        raise typer.Exit(ExitCode.INVALID_PLAN) from exc


def open_engine(database_url: str | None, *, writable: bool = False) -> Engine:
    """Open and migrate the database of `--database-url` (default: BOIFI_DATABASE_URL, then the data dir).

    With `writable` a database that takes no write (read-only) fails now, before the command starts anything.
    """
    setting = "--database-url" if database_url else "BOIFI_DATABASE_URL"
    engine = storage.make_engine(database_url, setting=setting)
    storage.init_db(engine)
    if writable:
        storage.ensure_writable(engine)
    return engine


def load_run(
    engine: Engine, run_id: int, *, with_timeline: bool = True
) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """Return a run as an export record plus its timeline points, or None when there is no such run.

    Without the timeline only the run row is read (what a progress line needs each second).
    """
    with Session(engine) as session:
        if not with_timeline:
            run = session.get(storage.Run, run_id)
            return (storage.run_record(run), []) if run is not None else None
        detail = storage.get_run(session, run_id=run_id)
        if detail is None:
            return None
        timeline = [point.model_dump(exclude={"id", "run_id"}) for point in detail.timeline]
        return storage.run_record(detail.run), timeline
