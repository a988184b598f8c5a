"""Settings of the console process: an immutable value; ``from_env`` loads one from ``BOIFI_*`` variables."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from client.environment import load_settings


class ConsoleSettings(BaseModel):
    """Settings of the console process (the client's own settings live in ExecutorClientConfig).

    Constructing one never reads the environment; `from_env` does.

    >>> ConsoleSettings(max_concurrent_runs=8)
    >>> ConsoleSettings.from_env(database_url="sqlite://")  # BOIFI_LEASE_SEC, ..., then the keywords
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    database_url: str | None = None
    lease_sec: float = Field(default=30.0, gt=0)
    max_concurrent_runs: int = Field(default=4, ge=1)
    health_interval_sec: float = Field(default=5.0, gt=0)  # the health monitor refuses 0
    active_faults_interval_sec: float = Field(default=2.0, gt=0)
    telemetry_retention_days: float = Field(default=30.0, gt=0)
    spool_dir: Path | None = None  # None: services.spool_files.default_spool_dir()
    spool_memory_items: int = Field(default=200_000, gt=0)  # services.spool.DEFAULT_MEMORY_ITEMS
    # Where the dashboard is reached: `boifi runs show` prints `<dashboard_url>/Run?run=<id>` (never fetched).
    dashboard_url: str = "http://127.0.0.1:8501"

    @field_validator("dashboard_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("give the dashboard's http:// or https:// URL, e.g. http://127.0.0.1:8501")
        return value

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> ConsoleSettings:
        """Load settings from ``BOIFI_<FIELD>`` of `environ` (default: the process's), then `overrides`.

        Raises `client.environment.SettingsError` naming the variable of a bad value.
        """
        return load_settings(cls, environ=environ, overrides=overrides)
