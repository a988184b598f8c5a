"""Theme and accessibility in a real browser: the dark preference, emoji-free pages, keyboard focus."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dashboard.theme import DARK, LIGHT, relative_luminance
from tests.e2e.conftest import Dashboard, base_env, demo_database, screenshot
from tests.emoji import emoji_in
from tests.executors import running_demo_executor
from tests.waiting import WaitTimeout, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(300), pytest.mark.xdist_group("browser")]

# The colours Plotly drew with, read from the figure in the page (not from what the server sent).
FIGURE_COLOURS = """el => {
    const l = el._fullLayout;
    if (!l || !l.yaxis || !l.yaxis.tickfont) return null;  // not drawn yet
    return {paper: l.paper_bgcolor, plot: l.plot_bgcolor, font: l.font.color, ticks: l.yaxis.tickfont.color};
}"""
APP_BACKGROUND = "getComputedStyle(document.querySelector('.stApp')).backgroundColor"
PAGES = {  # path -> a text the page shows once drawn
    "/": "Latest results",
    "/Launch": "Preview of the exact request",
    "/Monitor": "Active faults on the Executor",
    "/History?runs=1,2": "Latency distribution (ECDF)",
    "/Settings": "Retries and timeouts",
    "/Run?run=1": "Phases",
}


@pytest.fixture
def executor() -> Any:
    """A demo executor for the dashboard to talk to (seed 5)."""
    with running_demo_executor(seed=5) as instance:
        yield instance


def _figure_colours(page: Any) -> list[dict[str, str]]:
    page.locator(".js-plotly-plot").first.wait_for()
    return [chart.evaluate(FIGURE_COLOURS) for chart in page.locator(".js-plotly-plot").all()]


def _luminance(css_colour: str) -> float:
    """Return the WCAG relative luminance of a CSS `rgb(r, g, b)` colour."""
    red, green, blue = (int(v) for v in re.findall(r"\d+", css_colour)[:3])
    return relative_luminance(f"#{red:02x}{green:02x}{blue:02x}")


@pytest.mark.parametrize("context_options", [{"color_scheme": "dark"}])
def test_the_dark_preference_gives_a_dark_page_and_dark_charts(
    tmp_path: Path, executor: Any, start_dashboard: Callable[..., Dashboard], page: Any, browser: Any
) -> None:
    dashboard = start_dashboard(
        **base_env(demo_database(tmp_path, runs=3, samples_per_run=200, name="theme.db"), executor.base_url)
    )
    page.goto(f"{dashboard.url}/Monitor")
    page.get_by_text("Executor healthy").first.wait_for(timeout=60_000)
    background = page.evaluate(APP_BACKGROUND)
    assert _luminance(background) < 0.05, background  # a dark page, not the light default
    expected = {"paper": DARK.background, "plot": DARK.background, "font": DARK.text, "ticks": DARK.text}
    seen: list[Any] = []

    def dark_charts() -> bool:
        # The Monitor redraws every 2 s: a chart being replaced has no layout yet, and the stale copy of a
        # chart may still be in the DOM beside its new one. Every drawn chart must be dark, three at least.
        seen[:] = _figure_colours(page)
        drawn = [colours for colours in seen if colours]
        return len(drawn) >= 3 and all(colours == expected for colours in drawn)

    try:
        wait_until(dark_charts, timeout=30, what="three dark Monitor charts")
    except WaitTimeout:
        raise AssertionError(f"Monitor charts drew {seen}, not {expected}") from None
    screenshot(page, "monitor-dark")
    page.goto(f"{dashboard.url}/History?runs=1,2")
    page.get_by_text("Latency distribution (ECDF)").first.wait_for()
    assert {str(c) for c in _figure_colours(page)} == {str(expected)}
    screenshot(page, "history-dark")
    # The same page in a light browser: light page, light charts (the dark ones came from the preference).
    light = browser.new_context(viewport={"width": 1400, "height": 1000}, color_scheme="light")
    try:
        other = light.new_page()
        other.set_default_timeout(90_000)
        other.goto(f"{dashboard.url}/History?runs=1,2")
        other.get_by_text("Latency distribution (ECDF)").first.wait_for()
        colours = _figure_colours(other)
        assert colours and all(c["paper"] == LIGHT.background and c["font"] == LIGHT.text for c in colours)
        assert _luminance(other.evaluate(APP_BACKGROUND)) > 0.9
    finally:
        light.close()


def test_no_page_shows_an_emoji_and_headings_add_no_tab_stop(
    tmp_path: Path, executor: Any, start_dashboard: Callable[..., Dashboard], page: Any
) -> None:
    dashboard = start_dashboard(
        **base_env(demo_database(tmp_path, runs=3, samples_per_run=200, name="theme.db"), executor.base_url)
    )
    for path, text in PAGES.items():
        page.goto(f"{dashboard.url}{path}")
        page.get_by_text(text).first.wait_for()
        page.wait_for_timeout(1500)  # let live fragments draw once more
        body = page.inner_text("body")
        assert emoji_in(body) == [], f"{path}: {emoji_in(body)}"
        assert "Traceback" not in body, path
        # Streamlit's heading anchors ("Link to heading") are hidden: no tab stop per heading.
        assert page.locator("a[aria-label='Link to heading']:visible").count() == 0, path
        assert page.locator("h1, h2, h3").count() >= 1, path
    page.goto(f"{dashboard.url}/Monitor")
    page.get_by_text("Active faults on the Executor").first.wait_for()
    stops = []
    for _ in range(12):
        page.keyboard.press("Tab")
        stops.append(page.evaluate("document.activeElement.getAttribute('aria-label') || ''"))
    assert "Link to heading" not in stops, stops


def test_the_focus_ring_is_blue_not_the_red_of_errors(
    tmp_path: Path, executor: Any, start_dashboard: Callable[..., Dashboard], page: Any
) -> None:
    dashboard = start_dashboard(
        **base_env(demo_database(tmp_path, runs=3, samples_per_run=200, name="theme.db"), executor.base_url)
    )
    page.goto(f"{dashboard.url}/Launch")
    page.get_by_text("Preview of the exact request").first.wait_for()
    launch = page.get_by_role("button", name="Launch", exact=True)
    launch.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")  # focus by keyboard: the ring Streamlit draws for keyboard users
    ring = page.evaluate("getComputedStyle(document.activeElement).boxShadow")
    assert page.evaluate("document.activeElement.innerText").strip() == "Launch"
    red, green, blue = (int(v) for v in re.findall(r"\d+", ring)[:3])
    assert (red, green, blue) == (0x1A, 0x5F, 0xB4), ring  # the light theme's primary colour
