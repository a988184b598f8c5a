"""The dashboard login: only the form until it succeeds, a back-off on wrong passwords, who launched a run."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

import storage
from dashboard import auth
from tests.dashboard.conftest import PAGES, ROOT
from tests.waiting import wait_until

APP = "../../Home.py"
PASSWORD = "correct horse battery staple"
OIDC_SECRETS = {
    "auth": {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "a-cookie-secret-of-thirty-two-chars!",
        "client_id": "boifi-console",
        "client_secret": "client-secret",
        "server_metadata_url": "https://idp.example/.well-known/openid-configuration",
    }
}
# What the login form itself shows: its title, the password field and the submit button.
FORM_ELEMENTS = {"title", "text_input", "button"}


class FakeClock:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeClock]:
    """Drive the login back-off with a fake clock; start each test with the process's back-off cleared."""
    fake = FakeClock()
    monkeypatch.setattr(auth, "clock", fake)
    auth._process_backoff.succeeded()
    yield fake
    auth._process_backoff.succeeded()


@pytest.fixture
def password(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> str:
    monkeypatch.setenv(auth.PASSWORD_ENV, PASSWORD)
    return PASSWORD


def test_backoff_doubles_from_one_second_to_thirty_and_resets_on_success() -> None:
    clock = FakeClock()
    backoff = auth.Backoff(clock=clock)
    assert backoff.wait_s() == 0
    delays = []
    for _ in range(7):
        backoff.failed()
        delays.append(backoff.wait_s())
    assert delays == [1, 2, 4, 8, 16, 30, 30]
    clock.advance(29.5)
    assert backoff.wait_s() == pytest.approx(0.5)
    clock.advance(0.5)
    assert backoff.wait_s() == 0
    backoff.succeeded()
    backoff.failed()
    assert backoff.wait_s() == 1


def test_passwords_are_compared_whole() -> None:
    assert auth.password_matches("pässword", "pässword")
    assert not auth.password_matches("pässwor", "pässword")
    assert not auth.password_matches("", "pässword")


def _page_files() -> list[Path]:
    return [ROOT / "Home.py", *(ROOT / page for page in PAGES)]


def _calls(statement: ast.stmt) -> list[str]:
    return [ast.unparse(node.func) for node in ast.walk(statement) if isinstance(node, ast.Call)]


def test_every_page_calls_the_login_gate_before_anything_else() -> None:
    for path in _page_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = [call for statement in tree.body for call in _calls(statement)]
        assert calls[:2] == ["page_style.set_page", "auth.require_login"], path.name


def _elements(at: AppTest) -> list[Any]:
    """Return every element AppTest saw in the main area and the sidebar (blocks walked through)."""
    found: list[Any] = []

    def walk(node: Any) -> None:
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for child in children.values():
                walk(child)
        else:
            found.append(node)

    walk(at.main)
    walk(at.sidebar)
    return found


def _only_the_form(at: AppTest) -> list[str]:
    """Return what the page shows beyond the login form (empty: only the form)."""
    assert not at.exception, at.exception
    return [f"{e.type}: {getattr(e, 'value', '')}" for e in _elements(at) if e.type not in FORM_ELEMENTS]


def _log_in(at: AppTest, given: str) -> AppTest:
    at.text_input(key="boifi_login_password").input(given)
    return next(b for b in at.button if b.label == "Log in").click().run()


@pytest.mark.slow
def test_without_a_login_configured_no_form_is_shown(database_url: str, unreachable_executor: str) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "BOIFI Console"
    assert not at.text_input and not any(b.label == "Log out" for b in at.sidebar.button)


@pytest.mark.slow
def test_every_page_shows_only_the_login_form_and_starts_nothing(
    database_url: str, unreachable_executor: str, password: str
) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert _only_the_form(at) == []
    assert at.text_input(key="boifi_login_password").label == "password"
    for page in PAGES:
        at.switch_page(page).run()
        assert _only_the_form(at) == [], page
    with pytest.raises(KeyError):
        at.session_state["launch_run_id"]


@pytest.mark.slow
def test_a_wrong_password_is_refused_and_the_next_attempt_waits(
    database_url: str, unreachable_executor: str, password: str, clock: FakeClock
) -> None:
    at = _log_in(AppTest.from_file(APP, default_timeout=60).run(), "wrong")
    assert [e.value for e in at.error] == ["Wrong password."]
    assert _only_the_form(at) == ["error: Wrong password."]

    at = _log_in(at, password)  # within the second: refused, whatever the password
    assert any("try again in 1 s" in e.value for e in at.error), [e.value for e in at.error]
    assert "Executor" not in " ".join(str(getattr(e, "value", "")) for e in _elements(at))

    other = _log_in(AppTest.from_file(APP, default_timeout=60).run(), password)  # another browser session
    assert any("try again" in e.value for e in other.error), "the process-wide back-off holds too"

    clock.advance(1.0)
    at = _log_in(at, password)
    assert not at.exception, at.exception
    assert at.title[0].value == "BOIFI Console"
    assert any(unreachable_executor in m.value for m in (*at.error, *at.warning, *at.info))
    assert any(b.label == "Log out" for b in at.sidebar.button)


@pytest.mark.slow
def test_log_out_shows_the_form_again(database_url: str, unreachable_executor: str, password: str) -> None:
    at = _log_in(AppTest.from_file(APP, default_timeout=60).run(), password)
    at.switch_page("pages/3_History.py").run()
    assert any("History" in t.value for t in at.title)
    at.sidebar.button(key="boifi_logout").click().run()
    assert _only_the_form(at) == []


@pytest.mark.slow
def test_oidc_shows_only_a_log_in_button_and_explains_a_failed_start(database_url: str) -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets = OIDC_SECRETS
    at.user = {"is_logged_in": False}
    at.run()
    assert _only_the_form(at) == []
    assert [b.label for b in at.button] == ["Log in"]
    at.button[0].click().run()
    assert not at.exception, at.exception  # this build has no Authlib: a message, not a traceback
    assert any("Could not start the login" in e.value for e in at.error), [e.value for e in at.error]


def _stored_run(database_url: str, run_id: int) -> storage.Run:
    engine = storage.make_engine(database_url)
    try:
        with Session(engine) as session:
            detail = storage.get_run(session, run_id=run_id)
            assert detail is not None
            return detail.run
    finally:
        engine.dispose()


@pytest.mark.slow
def test_a_run_records_the_oidc_user_who_launched_it_and_history_shows_it(
    database_url: str, live_executor: str
) -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets = OIDC_SECRETS
    at.user = {"is_logged_in": True, "email": "ada@example.com", "name": "Ada"}
    at.switch_page("pages/1_Launch.py").run()
    assert not at.exception, at.exception
    assert any(b.label == "Log out" for b in at.sidebar.button)
    at.selectbox(key="launch_service").set_value("payment").run()
    at.number_input(key="launch_duration").set_value(1).run()
    at.number_input(key="launch_delay_seconds").set_value(0.05).run()
    at.button(key="launch_submit").click().run()
    run_id = int(at.session_state["launch_run_id"])
    wait_until(lambda: _stored_run(database_url, run_id).finished_at is not None, timeout=30, interval=0.2)
    run = _stored_run(database_url, run_id)
    assert run.launched_by == "ada@example.com"
    assert storage.runs_to_records([run])[0]["launched_by"] == "ada@example.com"

    at.switch_page("pages/3_History.py").run()
    assert not at.exception, at.exception
    table = next(df.value for df in at.dataframe if "launched_by" in df.value.columns)
    assert list(table["launched_by"]) == ["ada@example.com"]
