"""`boifi apply` on a bad plan file: exit 2, plain words naming the file, line or field; nothing stored."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.plans import PLAN_FILE_BODY

GOOD_YAML = "\n".join(f"{key}: {value}" for key, value in PLAN_FILE_BODY.items())
INTERNAL_WORDS = (
    "Value error",
    "Input should",
    "Field required",
    "Extra inputs",
    "<unicode string>",
    "NoneType",
)


def _apply(cli: CliRunner, tmp_path: Path, text: str, name: str = "plan.yaml") -> str:
    """Apply a plan file holding `text`; assert it failed as a bad plan and return its one message."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = cli.invoke(app, ["apply", str(path)])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    for words in INTERNAL_WORDS:
        assert words not in result.stderr, result.stderr
    assert not (tmp_path / "cli.db").exists()  # refused before storage was even opened
    return result.stderr.replace(str(tmp_path) + "/", "")


def test_an_empty_plan_file_is_said_to_be_empty(cli: CliRunner, tmp_path: Path) -> None:
    message = _apply(cli, tmp_path, "# only a comment\n")
    assert message.startswith("plan.yaml is empty: write the plan's fields in it (service, api, fault_type")


def test_a_yaml_error_names_the_file_line_and_column(cli: CliRunner, tmp_path: Path) -> None:
    text = GOOD_YAML.replace("percentage: 50", "percentage: [50\n  oops: 1")
    line = text.splitlines().index("percentage: [50") + 2  # the bad line is the one after the bracket
    message = _apply(cli, tmp_path, text)
    assert message.startswith(f"plan.yaml, line {line}, column "), message
    assert "not valid YAML" in message


def test_a_json_file_error_names_the_line_as_json(cli: CliRunner, tmp_path: Path) -> None:
    message = _apply(cli, tmp_path, '{"service": "payment",\n "api": }\n', name="plan.json")
    assert message.startswith("plan.json, line 2, column 9: not valid JSON: Expecting value"), message


def test_a_list_is_not_a_plan(cli: CliRunner, tmp_path: Path) -> None:
    message = _apply(cli, tmp_path, "- service: payment\n")
    assert "plan.yaml must hold one mapping of plan fields" in message and "but holds a list" in message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"delay_seconds": None}, "delay_seconds: required when fault_type is delay"),
        ({"percentage": "fifty"}, "percentage: should be a whole number, got 'fifty'"),
        ({"percentage": 150}, "percentage: should be at most 100, got 150"),
        ({"delay_seconds": 0}, "delay_seconds: should be more than 0, got 0"),
        (
            {"fault_type": "slow"},
            "fault_type: should be one of 'delay', 'abort' or 'error_injection', got 'slow'",
        ),
        ({"service": None}, "service: required, but missing"),
        ({"percentag": 50}, "percentag: not a plan field; did you mean percentage?"),
        ({"zzz": 1}, "zzz: not a plan field; the fields are abort_http_status, api, baseline_seconds"),
        (
            {"hypothesis": {"max_p99": 5}},
            "hypothesis.max_p99: not a field of hypothesis; did you mean max_p99_ms?",
        ),
    ],
)
def test_a_bad_field_is_named_in_plain_words(
    cli: CliRunner, tmp_path: Path, change: dict[str, object], expected: str
) -> None:
    fields = {**PLAN_FILE_BODY, **change}
    text = "\n".join(f"{key}: {value!r}" if isinstance(value, str) else f"{key}: {value}"
                     for key, value in fields.items() if value is not None)  # fmt: skip
    message = _apply(cli, tmp_path, text)
    assert message.splitlines()[0] == "invalid plan in plan.yaml:"
    assert message.splitlines()[1].startswith(expected), message
