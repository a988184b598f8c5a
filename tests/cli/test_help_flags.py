"""Every `boifi` command's help shows its on/off options as flags, never as taking a value."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cli.main import app

COMMANDS = [["apply"], ["runs", "list"], ["runs", "show"], ["runs", "export"], ["runs", "recover"],
            ["executor"], ["up"]]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_shows_flags_without_a_value(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.stdout
    json_lines = [line.split() for line in result.stdout.splitlines() if line.split()[:1] == ["--json"]]
    for words in json_lines:  # "--json  Print ...", not "--json <bool>  Print ..."
        assert not words[1].startswith("<"), words
