"""`boifi up`, the README's first command after installing: executor, demo services and dashboard together."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.runner import PROCESS_EXITING
from storage import RunStatus
from tests.cli.processes import (
    active_faults,
    boifi,
    clean_env,
    read_until,
    refuses,
    runs_in,
)
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, click_until
from tests.executors import running_demo_executor
from tests.ports import free_port
from tests.waiting import wait_until

STARTUP_TIMEOUT_S = 90

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]  # see tests/e2e/test_journeys.py


def _wait_until_ready(process: subprocess.Popen[str], dashboard_url: str) -> None:
    def ready() -> bool:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        try:
            return httpx.get(dashboard_url + "/_stcore/health", timeout=1).text == "ok"
        except httpx.HTTPError:
            return False

    wait_until(ready, timeout=STARTUP_TIMEOUT_S, interval=0.2, what="the dashboard to be ready")


def test_up_serves_executor_and_dashboard_then_stops_everything_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = clean_env(BOIFI_DATABASE_URL=f"sqlite:///{tmp_path / 'console.db'}")
    with boifi("up", "--port", str(port), "--seed", "1", env=env) as process:
        lines = read_until(process, lambda line: line.startswith("dashboard: "))
        executor_url = lines[0].removeprefix("embedded executor: ")
        dashboard_url = lines[-1].removeprefix("dashboard: ")
        assert dashboard_url == f"http://127.0.0.1:{port}"
        assert httpx.get(executor_url + "/v1/health").json() == {"status": "healthy"}
        services = [line.split(":", 1)[0].removeprefix("service ") for line in lines[1:-1]]
        assert services == ["gateway", "orders", "payment", "inventory"]
        _wait_until_ready(process, dashboard_url)
        for _ in range(3):  # a repeated SIGTERM must not cut the shutdown short
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    assert process.returncode == 0
    assert refuses(dashboard_url + "/_stcore/health")
    assert refuses(executor_url + "/v1/health")


@pytest.fixture
def browser_page() -> Iterator[Any]:
    """A headless Chromium page through Playwright (as the browser journeys use)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (the test command installs it: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(90_000)
        yield page
        browser.close()


def _launch_long_run(page: Any, dashboard_url: str, executor_url: str, database_url: str) -> str:
    """Launch a 300 s run from the dashboard's Launch page; return its apply key once its fault is active."""
    page.goto(f"{dashboard_url}/Launch")
    page.get_by_text("Launch an experiment").first.wait_for()
    duration = page.get_by_label("duration (s)")
    duration.fill("300")
    duration.press("Enter")
    page.get_by_text("Preview of the exact request").first.wait_for()
    click_until(page.get_by_role("button", name="Launch", exact=True), lambda: bool(runs_in(database_url)))
    apply_key: str = wait_until(lambda: [run.apply_key for run in runs_in(database_url)], what="the run")[0]
    wait_until(lambda: active_faults(executor_url, [apply_key]), what="the fault to be injecting")
    return apply_key


@pytest.mark.e2e
@pytest.mark.timeout(240)
def test_sigterm_to_up_halts_and_marks_the_run_in_flight(tmp_path: Path, browser_page: Any) -> None:
    database_url = f"sqlite:///{tmp_path / 'console.db'}"
    port = free_port()
    # The test owns the executor, so it can check that no fault is left on it after `boifi up` has gone.
    with running_demo_executor(seed=2) as executor:
        env = clean_env(BOIFI_DATABASE_URL=database_url, BOIFI_EXECUTOR_URL=executor.base_url)
        with boifi("up", "--port", str(port), env=env) as process:
            dashboard_url = read_until(process, lambda line: line.startswith("dashboard: "))[-1].split()[-1]
            _wait_until_ready(process, dashboard_url)
            apply_key = _launch_long_run(browser_page, dashboard_url, executor.base_url, database_url)
            process.send_signal(signal.SIGTERM)
            output, _ = process.communicate(timeout=60)
        assert process.returncode == 0, output
        [run] = runs_in(database_url)
        assert run.status == RunStatus.CANCELLED, output
        assert run.stop_reason == PROCESS_EXITING
        assert active_faults(executor.base_url, [apply_key]) == []
