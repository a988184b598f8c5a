"""Browser journeys: `streamlit run Home.py` on loopback, driven by Playwright and Debian's Chromium."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session

import storage
from tests.demo_data import populate_demo_runs
from tests.ports import free_port
from tests.waiting import WaitTimeout, wait_until

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "e2e"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_TIMEOUT_SEC = 90
_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Remember whether a journey failed, so its fixtures can leave evidence behind."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call":
        item.stash[_FAILED] = report.failed


def _failed(request: pytest.FixtureRequest) -> bool:
    return request.node.stash.get(_FAILED, False)


@dataclass
class Dashboard:
    """A running dashboard server."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


def _wait_until_ready(dashboard: Dashboard) -> None:
    def ready() -> bool:
        if dashboard.process.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{dashboard.log()}")
        try:
            return httpx.get(f"{dashboard.url}/_stcore/health", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(ready, timeout=STARTUP_TIMEOUT_SEC, interval=0.2, what="streamlit to be ready")
    except WaitTimeout as error:
        raise RuntimeError(f"streamlit did not become ready:\n{dashboard.log()}") from error


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture
def start_dashboard(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., Dashboard]]:
    """Start `streamlit run Home.py` on a free port with the given BOIFI_* variables; stop it after."""
    started: list[Dashboard] = []

    def start(**env_vars: str) -> Dashboard:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("BOIFI_")}
        env.update(env_vars)
        log_path = tmp_path / f"streamlit-{port}.log"
        command = [
            sys.executable, "-m", "streamlit", "run", str(ROOT / "Home.py"),
            "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
            "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
        ]  # fmt: skip
        with log_path.open("wb") as log:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        dashboard = Dashboard(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)
        started.append(dashboard)
        _wait_until_ready(dashboard)
        return dashboard

    yield start
    for dashboard in started:
        _stop(dashboard.process)
        if _failed(request):  # shown with the failure in the test report
            print(f"--- end of the dashboard's log ({dashboard.url}) ---\n{dashboard.log()}")


@pytest.fixture(scope="package")
def browser() -> Iterator[object]:
    """Launch Debian's Chromium through Playwright, headless.

    Package scope, not session: Playwright's sync API keeps an event loop running in the main thread until it
    stops, and later tests call asyncio.run().
    """
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        reason = "chromium is not installed (the test command installs it: apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"browser journeys must run in CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def context_options() -> dict[str, Any]:
    """Extra options of the browser context `page` opens; parametrize it, e.g. {"color_scheme": "dark"}."""
    return {}


@pytest.fixture
def page(
    browser: object, request: pytest.FixtureRequest, context_options: dict[str, Any]
) -> Iterator[object]:
    """Open a fresh browser page with a roomy viewport; a failed journey leaves a screenshot and the text."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, **context_options)  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(90_000)
    yield page
    if _failed(request):
        name = f"failed-{request.node.name}"
        path = screenshot(page, name)
        text = page.inner_text("body")
        (ARTIFACTS / f"{name}.txt").write_text(text)
        print(f"--- page at failure (screenshot {path}) ---\n{text[-4000:]}")
    context.close()


def screenshot(page: object, name: str) -> Path:
    """Save a full-page screenshot into artifacts/e2e (git ignores artifacts/)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


def click_until(button: Any, done: Callable[[], bool], *, attempts: int = 3, wait_s: float = 15.0) -> None:
    """Click `button` until `done()`; click again only when nothing came of the last click.

    A click that lands while Streamlit is still re-running the page for the field edited just before can be
    lost (the button is replaced under it). Waiting for a text does not help: the page shows the same text
    before and after that rerun. Clicking again is safe because `done()` says the first click did nothing.
    """
    for _ in range(attempts):
        button.click()
        try:
            wait_until(done, timeout=wait_s, interval=0.2, what="the click to take effect")
        except WaitTimeout:
            continue
        return
    raise AssertionError(f"{attempts} clicks on {button} did not take effect")


def base_env(database_url: str, executor_url: str) -> dict[str, str]:
    """Return the BOIFI_* variables of a test dashboard: temp database, given executor, fast breaker."""
    return {
        "BOIFI_DATABASE_URL": database_url,
        "BOIFI_EXECUTOR_URL": executor_url,
        "BOIFI_COLLECTOR_URL": executor_url,
        "BOIFI_HEALTH_INTERVAL_SEC": "1",
        "BOIFI_MAX_RETRIES": "1",
        "BOIFI_CONNECTION_TIMEOUT_SEC": "1",
        "BOIFI_CIRCUIT_BREAKER_FAILURE_THRESHOLD": "2",
        "BOIFI_CIRCUIT_BREAKER_TIMEOUT_SEC": "120",
    }


def demo_database(tmp_path: Path, *, runs: int, samples_per_run: int = 50, name: str = "e2e.db") -> str:
    """Return the URL of a fresh SQLite database under `tmp_path` holding `runs` demo runs (seed 11)."""
    url = f"sqlite:///{tmp_path / name}"
    engine = storage.make_engine(url)
    try:
        storage.init_db(engine)
        if runs:
            with Session(engine) as session:
                populate_demo_runs(session, count=runs, samples_per_run=samples_per_run, seed=11)
    finally:
        engine.dispose()
    return url
