"""History in a real browser: headers in words, times in the browser's zone, every column in 1400 px."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Dashboard, base_env, demo_database, screenshot
from tests.ports import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(240), pytest.mark.xdist_group("browser")]
GRID = '[data-testid="stDataFrame"]'


def test_historys_headers_are_words_and_every_column_fits_at_1400_px(
    tmp_path: Path, start_dashboard: Callable[..., Dashboard], browser: Any
) -> None:
    # No Executor listens: History needs only storage.
    dashboard = start_dashboard(
        **base_env(demo_database(tmp_path, runs=6, name="history.db"), f"http://127.0.0.1:{free_port()}")
    )
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, timezone_id="Asia/Tokyo")
    try:
        page = context.new_page()
        page.set_default_timeout(90_000)
        page.goto(f"{dashboard.url}/History?fault=delay")
        # The grid draws on a canvas; its headers and cells are also in an accessibility table (hidden).
        headers = page.locator(f"{GRID} [role='columnheader']")
        headers.first.wait_for(state="attached")
        page.locator(f"{GRID} canvas").first.wait_for()
        texts = [text.strip() for text in headers.all_inner_texts() if text.strip()]
        screenshot(page, "history-table")
        assert texts[:3] == ["Run", "Created", "Result"], texts
        assert {"Error rate", "p95 latency", "Labels"} <= set(texts), texts
        assert not [text for text in texts if "_" in text or text != text.strip()], texts
        # The grid scrolls sideways only if a column does not fit: it must not.
        widths = page.evaluate(
            "() => { const s = document.querySelector('[data-testid=\"stDataFrame\"] .dvn-scroller');"
            " return [s.scrollWidth, s.clientWidth]; }"
        )
        assert widths[0] <= widths[1], widths
        cells = page.locator(f"{GRID} [role='gridcell']").all_inner_texts()
        assert any(re.match(r"2026-01-01 \d\d:\d\d", cell) and "+09:00" in cell for cell in cells), cells[:12]
        assert all("error_injection" not in cell for cell in cells)
        assert "fault=delay" in page.url  # the filter stays in the URL
        assert page.get_by_text("times in Asia/Tokyo").count() == 1
    finally:
        context.close()
