"""A campaign file's errors name the file and the field; a valid one loads with its defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.campaigns import Campaign, CampaignFileError, Strategy, load_campaign_file

VALID = """
strategy: grid
budget: {trials: 4}
space:
  targets: [{service: payment, api: /api/v1/payment/process}]
  fault_types: [delay]
  delay_ms: {low: 100, high: 800}
  hypothesis: {max_p99_ms: 500}
"""


def _write(tmp_path: Path, text: str, name: str = "space.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_file_loads_with_its_defaults(tmp_path: Path) -> None:
    loaded = load_campaign_file(_write(tmp_path, VALID))
    assert loaded.strategy is Strategy.GRID and loaded.budget.trials == 4
    assert loaded.space.delay_ms.grid_values() == (100, 800) and loaded.space.baseline_seconds == 2
    campaign = Campaign.from_file(_write(tmp_path, VALID), strategy="random")
    assert campaign.config.strategy is Strategy.RANDOM and campaign.planned_trials == 4


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (("low: 100, high: 800", "low: 900, high: 800"), "space.delay_ms", "must be at most high"),
        (("low: 100, high: 800", "low: 0, high: 800"), "space", "delay_ms must lie from 1 to 30000"),
        (("fault_types: [delay]", "fault_types: [error_injection]"), "space", "not error_injection"),
        (("{max_p99_ms: 500}", "{}"), "space.hypothesis", "give max_p99_ms, max_error_rate_pct"),
        (("trials: 4", "trials: 0"), "budget.trials", "greater than or equal to 1"),
        (("strategy: grid", "strategy: annealing"), "strategy", "'grid', 'random' or 'bayes'"),
        (("fault_types: [delay]", "fault_types: [abort]\n  abort_statuses: [418]"), "space", "choose from"),
        (("budget:", "budgte:"), "budgte", "Extra inputs are not permitted"),
    ],
)
def test_errors_name_the_file_and_the_field(
    tmp_path: Path, change: tuple[str, str], field: str, words: str
) -> None:
    path = _write(tmp_path, VALID.replace(*change))
    with pytest.raises(CampaignFileError) as caught:
        load_campaign_file(path)
    message = str(caught.value)
    assert str(path) in message and f"  {field}: " in message and words in message, message


def test_a_file_that_is_not_a_mapping_or_not_yaml_says_so(tmp_path: Path) -> None:
    with pytest.raises(CampaignFileError, match="must hold a mapping"):
        load_campaign_file(_write(tmp_path, "- 1\n- 2\n"))
    with pytest.raises(CampaignFileError, match="not valid YAML or JSON"):
        load_campaign_file(_write(tmp_path, "space: [unclosed\n"))
    with pytest.raises(CampaignFileError, match="cannot read campaign file"):
        load_campaign_file(tmp_path / "missing.yaml")
