"""What the CLI tests share: a CliRunner on a fresh SQLite database."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A CliRunner whose `boifi` stores in `tmp_path/cli.db`, retries fast and has no Executor URL set."""
    monkeypatch.setenv("BOIFI_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("BOIFI_POLL_INTERVAL_SEC", "0.1")
    monkeypatch.setenv("BOIFI_INITIAL_RETRY_DELAY_SEC", "0.01")
    monkeypatch.delenv("BOIFI_EXECUTOR_URL", raising=False)
    return CliRunner()
