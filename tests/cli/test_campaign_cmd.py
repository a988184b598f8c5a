"""`boifi campaign run`: the README's space file runs as it is with --embedded; bad files and options are
exit 2 naming the field."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from services.campaigns import load_campaign_file

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_space(tmp_path: Path) -> Path:
    """Write the README's campaign space file (the YAML block of its Campaigns section) to `tmp_path`."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### Campaigns: search a fault space") :]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None
    path = tmp_path / "space.yaml"
    path.write_text(block.group(1), encoding="utf-8")
    return path


def test_the_readme_space_file_is_a_valid_campaign(tmp_path: Path) -> None:
    loaded = load_campaign_file(readme_space(tmp_path))
    assert loaded.budget.trials == 6 and len(loaded.space.targets) == 2


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--trials", "0"], "--trials: Input should be greater than or equal to 1"),
        (["--strategy", "annealing"], "--strategy: give grid, random or bayes, not 'annealing'"),
    ],
)
def test_bad_options_are_exit_2_naming_them(
    cli: CliRunner, tmp_path: Path, args: list[str], words: str
) -> None:
    result = cli.invoke(app, ["campaign", "run", str(readme_space(tmp_path)), *args])
    assert result.exit_code == 2 and words in result.stderr, result.stderr


def test_a_bad_space_file_is_exit_2_naming_the_field(cli: CliRunner, tmp_path: Path) -> None:
    path = readme_space(tmp_path)
    path.write_text(path.read_text().replace("low: 50, high: 2000", "low: 5000, high: 2000"))
    result = cli.invoke(app, ["campaign", "run", str(path), "--embedded"])
    assert result.exit_code == 2
    assert "space.delay_ms: low (5000) must be at most high (2000)" in result.stderr, result.stderr


@pytest.mark.slow
def test_the_readme_campaign_runs_embedded_and_prints_its_trials_as_export_records(
    cli: CliRunner, tmp_path: Path
) -> None:
    path = readme_space(tmp_path)
    args = ["campaign", "run", str(path), "--embedded", "--json", "--trials", "2", "--strategy", "grid"]
    result = cli.invoke(app, args)
    assert result.exit_code in (0, 8), result.stderr  # 8: a trial found a weakness
    document = json.loads(result.stdout)
    campaign = document["campaign"]
    assert campaign["status"] == "completed" and campaign["strategy"] == "grid"
    assert [(run["campaign_id"], run["trial_number"]) for run in document["trials"]] == [
        (campaign["id"], 0), (campaign["id"], 1),
    ]  # fmt: skip
    assert all(
        run["status"] == "completed" and run["severity_score"] is not None for run in document["trials"]
    )
    assert document["best"]["severity_score"] == max(run["severity_score"] for run in document["trials"])
    assert re.search(r"trial 2/2: .*best so far [0-9.]+ \(trial [01]\); ETA 0 s", result.stderr)
    found = any(run["verdict"] in ("deviated", "not_recovered") for run in document["trials"])
    assert result.exit_code == (8 if found else 0)
