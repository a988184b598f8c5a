"""In Chromium: launch an experiment with phases, follow the run to its page, see them and the verdict."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import storage
from dashboard.names import VERDICT_SENTENCES
from tests.e2e.conftest import Dashboard, base_env, click_until, screenshot
from tests.executors import running_demo_executor

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(240), pytest.mark.xdist_group("browser")]


@pytest.fixture
def executor() -> Any:
    """A fresh demo executor for the journey (seed 5)."""
    with running_demo_executor(seed=5) as instance:
        yield instance


def _fill(page: Any, label: str, value: str) -> None:
    field = page.get_by_label(label, exact=True)
    field.fill(value)
    field.press("Enter")


def test_launch_with_phases_then_see_them_shaded_on_the_run_page(
    tmp_path: Path, executor: Any, start_dashboard: Callable[..., Dashboard], page: Any
) -> None:
    url = f"sqlite:///{tmp_path / 'e2e.db'}"
    engine = storage.make_engine(url)
    storage.init_db(engine)
    engine.dispose()
    dashboard = start_dashboard(**base_env(url, executor.base_url))
    page.goto(f"{dashboard.url}/Launch")
    page.get_by_text("Launch an experiment").first.wait_for()
    _fill(page, "duration (s)", "2")
    _fill(page, "delay (s)", "0.05")
    page.get_by_text("Experiment (optional)").first.click()
    page.get_by_text("run as an experiment with a hypothesis").first.click()
    _fill(page, "baseline (s), before the fault", "1")
    _fill(page, "recovery (s), after the fault", "1")
    # Loose tolerances: a baseline slowed by a busy test machine must not fail the hypothesis.
    _fill(page, "hypothesis: max p99 latency (ms)", "10000")
    _fill(page, "hypothesis: max error rate (%)", "50")
    page.get_by_text("Preview of the exact request").first.click()
    page.get_by_text("Experiment: baseline 1 s → fault 2 s → recovery 1 s").first.wait_for()
    click_until(
        page.get_by_role("button", name="Launch", exact=True),
        lambda: page.get_by_text(re.compile(r"Run #1 ")).count() > 0,
    )
    page.get_by_text(re.compile(r"Run #1 .*Completed")).first.wait_for(timeout=90_000)
    page.get_by_role("link", name=re.compile(r"Open run #1")).first.click()
    page.wait_for_url(re.compile(r"/Run\?run=1$"))
    page.get_by_text(re.compile(r"Run #1 — delay on ")).first.wait_for()
    chart = page.locator(".js-plotly-plot").first
    chart.wait_for()
    chart.scroll_into_view_if_needed()
    screenshot(page, "run-page-phases")
    names = chart.locator(".annotation-text").all_text_contents()
    assert [n for n in names if n in ("baseline", "fault", "recovery")] == ["baseline", "fault", "recovery"]
    assert {"fault start", "fault end"} <= set(names)
    # Each phase is shaded behind the latency and the error-rate rows: six rectangles.
    assert chart.locator(".shapelayer path").count() >= 6
    verdicts = "|".join(re.escape(name) for name in VERDICT_SENTENCES.values())
    assert page.get_by_text(re.compile(verdicts)).count() >= 1
    assert page.get_by_text("Traceback").count() == 0
