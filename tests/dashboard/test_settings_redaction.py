"""The dashboard never shows a password of the Executor, probe, collector or database URL."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.factories import get_holder
from dashboard.forms import build_client_config, database_url_from_form, shown_database_url
from tests.dashboard.conftest import closed_port

APP = "../../Home.py"
PASSWORD = "s3cret-pw"
SHOWN = ("markdown", "caption", "error", "warning", "info", "success", "text_input", "code", "title")


def _page(page: str | None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    (at.switch_page(page) if page else at).run()
    assert not at.exception, at.exception
    return at


def _shown(at: AppTest) -> str:
    """Return every text the page shows, the values in its inputs included."""
    return "\n".join(str(element.value) for kind in SHOWN for element in getattr(at, kind))


@pytest.fixture
def executor_with_password(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"http://alice:{PASSWORD}@127.0.0.1:{closed_port()}"
    monkeypatch.setenv("BOIFI_EXECUTOR_URL", url)
    monkeypatch.setenv("BOIFI_PROBE_URL", f"http://bob:{PASSWORD}@127.0.0.1:{closed_port()}")
    monkeypatch.setenv("BOIFI_COLLECTOR_URL", f"http://carol:{PASSWORD}@127.0.0.1:{closed_port()}")
    return url


@pytest.mark.slow
def test_settings_show_urls_masked_and_applying_them_unchanged_keeps_the_real_ones(
    executor_with_password: str,
) -> None:
    at = _page("pages/4_Settings.py")
    assert at.text_input(key="settings_base_url").value == executor_with_password.replace(PASSWORD, "***")
    assert at.text_input(key="settings_probe_url").value.startswith("http://bob:***@")
    assert at.text_input(key="settings_collector_url").value.startswith("http://carol:***@")
    assert "alice:***@" in _shown(at) and PASSWORD not in _shown(at)
    next(b for b in at.button if b.label == "Apply").click().run()
    assert not at.exception, at.exception
    assert any("Nothing changed" in i.value for i in at.info), _shown(at)
    config = get_holder().config.client_config
    assert config.base_url == executor_with_password
    assert config.probe_url and PASSWORD in config.probe_url
    assert config.collector_url and PASSWORD in config.collector_url
    assert PASSWORD not in _shown(at)


SLOW = pytest.mark.slow


@pytest.mark.parametrize(
    "page",
    [None, pytest.param("pages/1_Launch.py", marks=SLOW), pytest.param("pages/2_Monitor.py", marks=SLOW),
     "pages/3_History.py"],
)  # fmt: skip
def test_no_page_shows_the_executor_urls_password(executor_with_password: str, page: str | None) -> None:
    at = _page(page)
    assert PASSWORD not in _shown(at)


@pytest.mark.slow
def test_settings_show_the_database_url_masked(
    unreachable_executor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"postgresql+psycopg://boifi:{PASSWORD}@127.0.0.1:{closed_port()}/boifi?connect_timeout=2"
    monkeypatch.setenv("BOIFI_DATABASE_URL", url)
    at = _page("pages/4_Settings.py")
    assert at.text_input(key="settings_database_url").value == url.replace(PASSWORD, "***")
    assert PASSWORD not in _shown(at)
    next(b for b in at.button if b.label == "Apply").click().run()
    assert not at.exception, at.exception
    assert PASSWORD not in _shown(at)


def test_a_masked_url_sent_back_means_the_current_one() -> None:
    real = f"postgresql+psycopg://boifi:{PASSWORD}@db.test/boifi"
    assert database_url_from_form(shown_database_url(real), real) == real
    assert database_url_from_form("sqlite:///other.db", real) == "sqlite:///other.db"
    assert database_url_from_form("  ", real) is None
    current = build_client_config({"base_url": f"http://alice:{PASSWORD}@exec.test"}).value
    sent_back = build_client_config({"base_url": "http://alice:***@exec.test"}, current=current)
    assert sent_back.value.base_url == f"http://alice:{PASSWORD}@exec.test"
    edited = build_client_config({"base_url": "http://alice:new@exec.test"}, current=current)
    assert edited.value.base_url == "http://alice:new@exec.test"
