"""The main journeys in a real browser: launch a delay experiment, watch the breaker open, compare runs."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Dashboard, base_env, click_until, demo_database, screenshot
from tests.executors import running_demo_executor

# One xdist worker runs every test with a real dashboard and Chromium (one browser, no two at once).
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(240), pytest.mark.xdist_group("browser")]


@pytest.fixture
def executor() -> Any:
    """A fresh demo executor for each journey (seed 5)."""
    with running_demo_executor(seed=5) as instance:
        yield instance


def test_launch_a_delay_experiment_and_see_its_result_and_chart(
    tmp_path: Path, executor: Any, start_dashboard: Callable[..., Dashboard], page: Any
) -> None:
    dashboard = start_dashboard(**base_env(demo_database(tmp_path, runs=0), executor.base_url))
    page.goto(f"{dashboard.url}/Launch")
    page.get_by_text("Launch an experiment").first.wait_for()
    duration = page.get_by_label("duration (s)")
    duration.fill("2")
    duration.press("Enter")
    delay = page.get_by_label("delay (s)")
    delay.fill("0.05")
    delay.press("Enter")
    page.get_by_text("Preview of the exact request").first.wait_for()
    click_until(
        page.get_by_role("button", name="Launch", exact=True),
        lambda: page.get_by_text(re.compile(r"Run #1 ")).count() > 0,
    )
    page.get_by_text(re.compile(r"Run #1 .*Completed")).first.wait_for(timeout=90_000)
    chart = page.locator(".js-plotly-plot").first
    chart.wait_for()
    chart.scroll_into_view_if_needed()
    screenshot(page, "launch-result")
    assert page.get_by_text("p95 latency").count() >= 1


def test_stopping_the_executor_opens_the_breaker_on_the_monitor(
    tmp_path: Path, executor: Any, start_dashboard: Callable[..., Dashboard], page: Any
) -> None:
    dashboard = start_dashboard(**base_env(demo_database(tmp_path, runs=0), executor.base_url))
    page.goto(f"{dashboard.url}/Monitor")
    page.get_by_text("Executor healthy").first.wait_for(timeout=60_000)
    page.get_by_text("No active faults.").first.wait_for()
    executor.stop()
    page.get_by_text("circuit breaker OPEN").first.wait_for(timeout=90_000)
    opens = page.locator('[data-testid="stMetric"]', has_text="breaker opens")
    opens.get_by_text("1", exact=True).wait_for(timeout=30_000)
    page.locator(".js-plotly-plot").first.wait_for()
    screenshot(page, "monitor-breaker-open")
    assert page.get_by_text("Traceback").count() == 0


def test_compare_two_runs_in_history_with_the_default_embedded_executor(
    tmp_path: Path, start_dashboard: Callable[..., Dashboard], page: Any
) -> None:
    env = base_env(demo_database(tmp_path, runs=5, samples_per_run=400), "")
    del env["BOIFI_EXECUTOR_URL"], env["BOIFI_COLLECTOR_URL"]  # no Executor given: the embedded one starts
    dashboard = start_dashboard(**env)
    page.goto(f"{dashboard.url}/History?runs=1,2")
    page.get_by_text("Compared with baseline #1").first.wait_for()
    # One summary line per compared run names what differs (the table's cells are a canvas grid, hidden).
    page.get_by_text(re.compile(r"against #1: (higher|lower|no significant difference)")).first.wait_for()
    page.get_by_text("Latency distribution (ECDF)").first.wait_for()
    assert "runs=1%2C2" in page.url or "runs=1,2" in page.url
    screenshot(page, "history-compare")
    assert page.get_by_role("button", name="Download CSV").count() == 1
    page.goto(dashboard.url)
    page.get_by_text("embedded executor (demo services)").first.wait_for()
    page.get_by_text("Executor healthy").first.wait_for()
