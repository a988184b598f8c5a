"""`boifi up` with a dashboard password, in Chromium: nothing shows before the right password."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli.processes import boifi, clean_env, read_until
from tests.e2e.conftest import click_until
from tests.ports import free_port
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(240), pytest.mark.xdist_group("browser")]

PASSWORD = "a shared secret"


def _dashboard_environ(up_pid: int) -> dict[str, str]:
    """Return the environment of the dashboard process `boifi up` (pid `up_pid`) started."""
    [child] = Path(f"/proc/{up_pid}/task/{up_pid}/children").read_text().split()
    raw = Path(f"/proc/{child}/environ").read_bytes()
    return dict(entry.split("=", 1) for entry in raw.decode().split("\0") if "=" in entry)


def _ready(url: str) -> bool:
    try:
        return httpx.get(url + "/_stcore/health", timeout=1).text == "ok"
    except httpx.HTTPError:
        return False


def test_up_with_a_password_shows_the_dashboard_only_after_the_right_one(tmp_path: Path, page: Any) -> None:
    port = free_port()
    env = clean_env(
        BOIFI_DATABASE_URL=f"sqlite:///{tmp_path / 'console.db'}", BOIFI_DASHBOARD_PASSWORD=PASSWORD
    )
    with boifi("up", "--port", str(port), env=env) as process:
        lines = read_until(process, lambda line: line.startswith("dashboard: "))
        dashboard_url = lines[-1].removeprefix("dashboard: ")
        wait_until(lambda: _ready(dashboard_url), timeout=90, interval=0.2, what="the dashboard")
        token = _dashboard_environ(process.pid)["BOIFI_AUTH_TOKEN"]
        assert len(token) >= 40 and not any(token in line for line in lines)
        executor_url = lines[0].removeprefix("embedded executor: ")
        assert httpx.get(executor_url + "/v1/faults", timeout=5).status_code == 401
        bearer = {"Authorization": f"Bearer {token}"}
        assert httpx.get(executor_url + "/v1/faults", headers=bearer, timeout=5).status_code == 200

        page.goto(dashboard_url)
        field = page.get_by_role("textbox", name="password")
        field.wait_for()
        before = page.inner_text("body")
        assert "Executor" not in before and "Active runs" not in before and "runs" not in before, before

        field.fill("not it")
        page.get_by_role("button", name="Log in").click()
        page.get_by_text("Wrong password.").wait_for()
        assert "Active runs" not in page.inner_text("body")

        field.fill(PASSWORD)  # refused while the 1 s back-off runs: click again until it lets us in
        click_until(
            page.get_by_role("button", name="Log in"),
            lambda: page.get_by_text("Active runs").count() > 0,
            attempts=5,
            wait_s=3.0,
        )
        page.get_by_text("embedded executor (demo services)").first.wait_for()
        page.get_by_test_id("stSidebarNavItems").get_by_role(
            "link", name="Monitor"
        ).click()  # the same session: still logged in
        page.get_by_text("No active faults.").first.wait_for()  # listed with the token `boifi up` made
        page.get_by_role("button", name="Log out").click()
        page.get_by_role("textbox", name="password").wait_for()
        assert "Active faults" not in page.inner_text("body")

        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert token not in output
