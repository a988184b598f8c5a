"""A storage outage shows as a banner on every page, not as an exception, and goes once storage drains."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.components import storage_outage_text
from dashboard.factories import get_holder
from services.spool import StorageBacklog
from tests.dashboard.conftest import PAGES

APP = "../../Home.py"
TIMEOUT_SEC = 60
WAITING = StorageBacklog(
    samples=812, events=3, summaries=1, runs=(7,), last_error="attempt to write a readonly database"
)
BANNER = "results are being kept in memory: 812 samples waiting"


def test_the_banner_says_what_waits_and_nothing_when_all_is_stored() -> None:
    text = storage_outage_text(WAITING)
    assert text is not None and BANNER in text
    assert "1 final summary" in text and "#7" in text and "readonly database" in text
    assert storage_outage_text(StorageBacklog()) is None
    spooled = storage_outage_text(StorageBacklog(samples=5, runs=(3,), spooled_runs=(3,)))
    assert spooled is not None and "kept in memory and spool files: 5 samples waiting" in spooled


def _banners(at: AppTest) -> list[str]:
    return [warning.value for warning in at.warning if BANNER in str(warning.value)]


@pytest.mark.slow
def test_every_page_shows_the_outage_banner_until_the_backlog_drains(
    unreachable_executor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_SEC).run()
    assert not at.exception, at.exception
    assert _banners(at) == []
    backlog = [WAITING]
    runner = get_holder().console().runner
    monkeypatch.setattr(runner, "storage_backlog", lambda run_id=None: backlog[0])
    at.run()
    assert not at.exception, at.exception
    assert len(_banners(at)) == 1
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert len(_banners(at)) == 1, page
    backlog[0] = StorageBacklog()  # storage took everything: the banner goes by itself
    at.run()
    assert not at.exception, at.exception
    assert _banners(at) == []
