"""Settings and Home in a real browser: each bad field's message sits under it; Home says it right."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Dashboard, base_env, click_until, demo_database, screenshot
from tests.ports import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(240), pytest.mark.xdist_group("browser")]

# label of the field -> (the bad value typed, the message that must appear right under it)
BAD_FIELDS = {
    "Max attempts": ("0", "Max attempts must be at least 1."),
    "Call timeout (s)": ("-1", "Call timeout must be more than 0 s."),
    "Probe rate (req/s)": ("0", "Probe rate must be more than 0 req/s."),
    "Half-open trial calls": ("0", "Half-open trial calls must be at least 1."),
}


def _nearest_alert_below(page: Any, field: Any) -> str:
    """Return the text of the alert closest below `field` that overlaps it horizontally."""
    box = field.bounding_box()
    best: tuple[float, str] | None = None
    for alert in page.locator('[data-testid="stAlert"]').all():
        other = alert.bounding_box()
        if other is None or other["y"] < box["y"] + box["height"]:
            continue
        if other["x"] > box["x"] + box["width"] or other["x"] + other["width"] < box["x"]:
            continue
        distance = other["y"] - (box["y"] + box["height"])
        if best is None or distance < best[0]:
            best = (distance, alert.inner_text().strip())
    assert best is not None, "no message under the field"
    assert best[0] < 60, f"the nearest message is {best[0]:.0f} px below the field"
    return best[1]


def test_settings_with_four_bad_fields_shows_four_messages_under_four_fields(
    tmp_path: Path, start_dashboard: Callable[..., Dashboard], page: Any
) -> None:
    dashboard = start_dashboard(
        **base_env(demo_database(tmp_path, runs=0), f"http://127.0.0.1:{free_port()}")
    )
    page.goto(f"{dashboard.url}/Settings")
    page.get_by_role("button", name="Apply").wait_for()
    for label, (value, _message) in BAD_FIELDS.items():
        page.get_by_label(label, exact=True).fill(value)
    refused = page.get_by_text("Settings not applied: fix the 4 fields marked above.")
    click_until(page.get_by_role("button", name="Apply"), lambda: refused.count() > 0)
    screenshot(page, "settings-four-bad-fields")
    for label, (_value, message) in BAD_FIELDS.items():
        assert _nearest_alert_below(page, page.get_by_label(label, exact=True)) == message
    assert page.get_by_text("Settings applied").count() == 0
    body = page.inner_text("body")
    assert "probe_rate_rps" not in body and "Input should be" not in body


def test_home_is_named_home_and_says_none_are_active_among_finished_runs(
    tmp_path: Path, start_dashboard: Callable[..., Dashboard], page: Any
) -> None:
    dashboard = start_dashboard(
        **base_env(demo_database(tmp_path, runs=3, samples_per_run=20), f"http://127.0.0.1:{free_port()}")
    )
    page.goto(dashboard.url)
    page.get_by_text("None active right now; 3 runs in all, the latest below.").wait_for()
    first = page.get_by_test_id("stSidebarNavItems").get_by_role("link").first
    assert first.inner_text().strip() == "Home"
    body = page.inner_text("body")
    assert "Active runs (0)" in body and "No runs yet" not in body
    screenshot(page, "home-finished-runs")
