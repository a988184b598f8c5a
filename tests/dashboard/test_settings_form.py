"""The Settings form's checks: each problem in the field's own words and unit, all of them at once."""

from __future__ import annotations

import pytest

from client import ExecutorClientConfig
from dashboard.settings_apply import reachability_text
from dashboard.settings_form import FIELDS, check_settings, in_words

CURRENT = ExecutorClientConfig(base_url="http://127.0.0.1:8000")
UNREACHABLE = "health: cannot reach the Executor: "  # how client/exchange.py words a failed health request


def _check(**values: object) -> dict[str, list[str]]:
    return check_settings(
        values, database_url="", current=CURRENT, current_database_url=None, keep_token=None
    ).errors


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("probe_rate_rps", 0.0, "Probe rate must be more than 0 req/s."),
        ("probe_rate_rps", 5000.0, "Probe rate must be at most 1000 req/s."),
        ("max_retries", 0, "Max attempts must be at least 1."),
        ("connection_timeout_sec", -2.0, "Connect timeout must be more than 0 s."),
        ("circuit_breaker_timeout_sec", -1.0, "Open for must be at least 0 s."),
        (
            "base_url",
            "ftp://x",
            "Executor URL must be an http:// or https:// URL with a host, got 'ftp://x'.",
        ),
        (
            "collector_url",
            "nope",
            "Collector URL must be an http:// or https:// URL with a host, got 'nope'.",
        ),
    ],
)
def test_each_bad_value_is_described_in_the_fields_words(name: str, value: object, message: str) -> None:
    assert _check(**{"base_url": "http://127.0.0.1:8000", name: value}) == {name: [message]}


def test_every_problem_is_reported_at_once() -> None:
    errors = _check(
        base_url="http://127.0.0.1:8000",
        max_retries=0,
        default_timeout_sec=0.0,
        probe_rate_rps=0.0,
        initial_retry_delay_sec=20.0,
        max_retry_delay_sec=10.0,
    )
    both = ["Initial retry delay (20 s) must not be more than max retry delay (10 s)."]
    assert errors == {
        "max_retries": ["Max attempts must be at least 1."],
        "default_timeout_sec": ["Call timeout must be more than 0 s."],
        "probe_rate_rps": ["Probe rate must be more than 0 req/s."],
        "initial_retry_delay_sec": both,
        "max_retry_delay_sec": both,
    }


def test_good_values_give_the_config_and_no_errors() -> None:
    check = check_settings(
        {"base_url": "http://exec.test:9", "initial_retry_delay_sec": 10.0, "max_retry_delay_sec": 10.0},
        database_url="sqlite:///x.db",
        current=CURRENT,
        current_database_url=None,
        keep_token=None,
    )
    assert check.ok and check.config is not None and check.config.base_url == "http://exec.test:9"
    assert check.database_url == "sqlite:///x.db"


def test_a_missing_url_and_a_bad_database_are_both_named() -> None:
    check = check_settings(
        {"base_url": " "},
        database_url="not a url",
        current=CURRENT,
        current_database_url=None,
        keep_token=None,
    )
    assert check.config is None
    assert check.errors["base_url"] == ["Executor URL is required."]
    assert check.errors["database_url"][0].startswith("Database URL is not usable: a database URL looks like")


def test_setting_names_read_as_labels_inside_sentences() -> None:
    assert in_words("max_retry_delay_sec is below initial_retry_delay_sec") == (
        "Max retry delay is below initial retry delay"
    )
    assert in_words("needs base_url") == "Needs Executor URL"
    assert all(" " in spec.widget_label or spec.label.isalpha() for spec in FIELDS.values())


@pytest.mark.parametrize(
    ("healthy", "error", "text"),
    [
        (True, None, "reachable, healthy"),
        (False, f"{UNREACHABLE}[Errno 111] Connection refused", "not reachable: connection refused"),
        (False, f"{UNREACHABLE}[Errno -2] Name or service not known", "not reachable: name or service not known"),  # noqa: E501
        (False, "health answered 503", "reachable, but not healthy: health answered 503"),
        (False, None, "not reachable: no answer"),
    ],
)  # fmt: skip
def test_the_health_answer_reads_as_words(healthy: bool, error: str | None, text: str) -> None:
    assert reachability_text(healthy, error) == text
