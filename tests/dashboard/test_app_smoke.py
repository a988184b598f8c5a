"""Every page renders without an exception, with an empty and with a large database."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.dashboard.conftest import PAGES, populate

APP = "../../Home.py"
TIMEOUT_SEC = 60


def _run_all_pages() -> list[AppTest]:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_SEC).run()
    results = [at]
    assert not at.exception, at.exception
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        results.append(at)
    return results


@pytest.mark.slow
def test_every_page_renders_with_an_empty_database_and_unreachable_executor(
    unreachable_executor: str,
) -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_SEC).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "BOIFI Console"
    assert any("No runs yet." in c.value for c in at.caption)
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)


@pytest.mark.slow
def test_every_page_renders_with_a_thousand_runs(database_url: str, unreachable_executor: str) -> None:
    populate(database_url, count=1000, samples_per_run=20)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_SEC).run()
    assert not at.exception, at.exception
    assert len(at.dataframe) >= 1
    at.switch_page("pages/3_History.py").run()
    assert not at.exception, at.exception
    assert any("1,000 runs match" in c.value for c in at.caption)
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)


@pytest.mark.slow
def test_unreachable_executor_shows_a_banner_not_a_traceback(unreachable_executor: str) -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_SEC)
    at.switch_page("pages/2_Monitor.py").run()
    assert not at.exception
    banners = [m.value for m in (*at.error, *at.warning, *at.info)]
    assert any(unreachable_executor in text for text in banners), banners
