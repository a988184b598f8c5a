"""The README's configuration table names every setting the code reads from the environment."""

from __future__ import annotations

from pathlib import Path

from client import ExecutorClientConfig
from services.console_settings import ConsoleSettings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_readme_lists_every_boifi_environment_variable() -> None:
    fields = set(ExecutorClientConfig.model_fields) | set(ConsoleSettings.model_fields)
    names = {f"BOIFI_{name.upper()}" for name in fields}
    names.discard("BOIFI_BASE_URL")  # documented as BOIFI_EXECUTOR_URL
    names.add("BOIFI_EXECUTOR_URL")
    missing = sorted(name for name in names if f"`{name}`" not in README)
    assert missing == []


def test_readme_has_the_two_setup_commands_that_exist() -> None:
    root = Path(__file__).resolve().parent.parent
    assert "./scripts/up" in README and (root / "scripts" / "up").exists()
    assert "./scripts/test" in README and (root / "scripts" / "test").exists()
    assert "bash scripts/test" in (root / ".ci" / "run").read_text(encoding="utf-8")
