"""Where a campaign's Optuna study lives: Optuna's own database, never the console's tables.

Optuna's RDB storage has fixed table names (`studies`, `trials`, ...) and its own `alembic_version`, which
would collide with ours. So beside a SQLite console database `boifi.db` the study goes to `boifi.optuna.db`;
an in-memory console database gets an in-memory study. PostgreSQL (a schema of Optuna's own) comes with the
campaign workers of a later slice.
"""

from __future__ import annotations

import uuid

import optuna
from sqlalchemy.engine import URL, make_url

__all__ = ["new_study_name", "study_storage"]


def new_study_name() -> str:
    """Return a fresh, unique study name."""
    return f"boifi-campaign-{uuid.uuid4().hex[:12]}"


def study_storage(console_url: str | URL) -> optuna.storages.BaseStorage:
    """Return Optuna's storage for a console database at `console_url`: a sibling SQLite file, or memory."""
    url = make_url(console_url)
    if url.get_backend_name() != "sqlite":
        raise ValueError(
            "campaigns keep their study beside a SQLite database; "
            f"{url.get_backend_name()} is not supported yet"
        )
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        return optuna.storages.InMemoryStorage()
    stem = database.removesuffix(".db").removesuffix(".sqlite")
    return optuna.storages.RDBStorage(f"sqlite:///{stem}.optuna.db")
