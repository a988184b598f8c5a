"""In Chromium: a header-match run hits, a plan that can hit nothing warns why, policy mode is live."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import storage
from tests.e2e.conftest import Dashboard, base_env, click_until, screenshot
from tests.executors import running_demo_executor

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(240), pytest.mark.xdist_group("browser")]


@pytest.fixture
def executor() -> Any:
    """A fresh demo executor for each journey (seed 5)."""
    with running_demo_executor(seed=5) as instance:
        yield instance


def _open_launch(tmp_path: Path, executor: Any, start_dashboard: Callable[..., Dashboard], page: Any) -> None:
    url = f"sqlite:///{tmp_path / 'e2e.db'}"
    engine = storage.make_engine(url)
    storage.init_db(engine)
    engine.dispose()
    dashboard = start_dashboard(**base_env(url, executor.base_url))
    page.goto(f"{dashboard.url}/Launch")
    page.get_by_text("Launch an experiment").first.wait_for()


def _fill(page: Any, label: str, value: str) -> None:
    field = page.get_by_label(label, exact=True)
    field.fill(value)
    field.press("Enter")


def _choose(page: Any, label: str, option: str) -> None:
    page.get_by_label(label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()


def _launch(page: Any) -> None:
    page.get_by_text("Preview of the exact request").first.wait_for()
    click_until(
        page.get_by_role("button", name="Launch", exact=True),
        lambda: page.get_by_text(re.compile(r"Run #1 ")).count() > 0,
    )


def _metric(page: Any, label: str) -> str:
    metric = page.locator('[data-testid="stMetric"]', has_text=label).first
    return str(metric.locator('[data-testid="stMetricValue"]').inner_text())


def test_a_header_match_run_hits_the_requests_it_matches(
    tmp_path: Path, executor: Any, start_dashboard: Callable[..., Dashboard], page: Any
) -> None:
    _open_launch(tmp_path, executor, start_dashboard, page)
    _choose(page, "fault type", "abort")
    _fill(page, "percentage of requests (%)", "100")
    _fill(page, "duration (s)", "2")
    _fill(page, "header match: name (optional)", "x-canary")
    _fill(page, "header match: value", "yes")
    _launch(page)
    page.get_by_text(re.compile(r"Run #1 .*Completed")).first.wait_for(timeout=90_000)
    screenshot(page, "launch-header-match")
    # Before, nothing sent x-canary: the run completed with affected 0.
    assert int(_metric(page, "affected").replace(",", "")) > 0
    assert page.get_by_text("the fault hit none").count() == 0


def test_a_plan_that_can_hit_nothing_ends_with_the_warning(
    tmp_path: Path, executor: Any, start_dashboard: Callable[..., Dashboard], page: Any
) -> None:
    _open_launch(tmp_path, executor, start_dashboard, page)
    _choose(page, "service", "payment")
    _choose(page, "fault type", "abort")
    _fill(page, "duration (s)", "2")
    page.get_by_text("Experiment (optional)").first.click()
    page.get_by_text("run as an experiment with a hypothesis").first.click()
    _fill(page, "baseline (s), before the fault", "0")
    _fill(page, "recovery (s), after the fault", "0")
    _fill(page, "hypothesis: max p99 latency (ms)", "10000")
    _fill(page, "hypothesis: max error rate (%)", "50")
    _choose(page, "observe (entry point)", "GET gateway/api/v1/products")  # it never calls payment
    _launch(page)
    warning = page.get_by_text(re.compile(r"the fault hit none of the \d+ requests")).first
    warning.wait_for(timeout=90_000)
    screenshot(page, "launch-hit-nothing")
    assert "may never call payment" in warning.inner_text()


def test_a_policy_mode_run_shows_samples_while_it_runs(
    tmp_path: Path, executor: Any, start_dashboard: Callable[..., Dashboard], page: Any
) -> None:
    _open_launch(tmp_path, executor, start_dashboard, page)
    page.get_by_text("policy", exact=True).first.click()
    _fill(page, "duration (s)", "20")
    _fill(page, "delay (s)", "0.05")
    _launch(page)
    halt = page.get_by_role("button", name="Halt")
    halt.wait_for(timeout=60_000)
    # While it runs (Halt still there), the request count grows and the live chart is drawn.
    page.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid="stMetric"]')]
              .some(m => m.innerText.includes('requests') && /[1-9]/.test(m.innerText))""",
        timeout=30_000,
    )
    assert halt.count() == 1 and page.get_by_text(re.compile(r"Run #1 .*running")).count() >= 1
    page.get_by_text("Live latency and error rate").first.wait_for(timeout=10_000)
    screenshot(page, "launch-policy-live")
    halt.click()
    page.get_by_text(re.compile(r"Run #1 .*cancelled", re.IGNORECASE)).first.wait_for(timeout=60_000)
