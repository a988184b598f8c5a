"""`boifi executor` run for real: its token options, and what it refuses before it binds anything."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest
import typer

from cli.executor_cmd import parse_services
from executor import ExecutorSettings
from tests.cli.processes import boifi, clean_env, read_until

TOKEN = "tok-4f9a.Zq~"


def _refusal(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run `boifi executor ARGS` to its end; return its exit code and output."""
    with boifi("executor", "--port", "0", "--no-demo", *args, env=env or clean_env()) as process:
        out, _ = process.communicate(timeout=60)
    return process.returncode, out


@pytest.mark.slow
def test_off_loopback_without_a_token_refuses_to_start_and_says_how() -> None:
    code, out = _refusal("--host", "0.0.0.0")  # refused before it binds anything
    assert code == 2
    assert len(out.strip().splitlines()) == 1, out
    assert "--token-file" in out and "BOIFI_EXECUTOR_TOKEN" in out
    assert "control API:" not in out


@pytest.mark.slow
def test_a_bad_token_file_is_a_one_line_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    for args, reason in (
        (["--token-file", str(tmp_path / "missing")], "cannot read --token-file"),
        (["--token-file", str(empty)], "is empty"),
        (["--token", TOKEN, "--token-file", str(empty)], "not both"),
    ):
        code, out = _refusal(*args)
        assert code == 2, out
        assert len(out.strip().splitlines()) == 1 and reason in out, out


@pytest.mark.slow
def test_a_service_url_with_credentials_is_refused_without_echoing_the_password() -> None:
    code, out = _refusal("--service", "shop=http://alice:hunter2@127.0.0.1:9")
    assert code == 2
    assert "credentials in service URLs" in out and "shop" in out
    assert "hunter2" not in out


@pytest.mark.slow
@pytest.mark.parametrize("source", ["file", "environment"])
def test_the_token_guards_the_control_api(tmp_path: Path, source: str) -> None:
    secret = tmp_path / "token"
    secret.write_text(TOKEN + "\n")  # as a mounted secret often ends
    args = ["--token-file", str(secret)] if source == "file" else []
    env = clean_env(BOIFI_EXECUTOR_TOKEN=TOKEN) if source == "environment" else clean_env()
    command = ["executor", "--port", "0", "--no-demo", "--allowed-host", "console.example", *args]
    with boifi(*command, env=env) as process, httpx.Client(timeout=10) as http:
        lines = read_until(process, lambda line: line.startswith("press Ctrl-C"))
        base = lines[0].removeprefix("control API: ")
        port = base.rsplit(":", 1)[1]
        assert http.get(base + "/v1/health").status_code == 200
        assert http.get(base + "/v1/faults").status_code == 401
        authorised = {"Authorization": f"Bearer {TOKEN}"}
        assert http.get(base + "/v1/faults", headers=authorised).json() == {"faults": []}
        named = {**authorised, "Host": f"console.example:{port}"}
        assert http.get(base + "/v1/faults", headers=named).status_code == 200
        foreign = {**authorised, "Host": f"evil.example:{port}"}
        assert http.get(base + "/v1/faults", headers=foreign).status_code == 421
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    assert TOKEN not in "\n".join(lines) + out


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.9.9.9", True), ("::1", True), ("[::1]", True), ("LocalHost", True),
     ("0.0.0.0", False), ("::", False), ("192.0.2.1", False), ("", False), ("box.example", False)],
)  # fmt: skip
def test_which_binds_are_loopback(host: str, loopback: bool) -> None:
    assert ExecutorSettings(host=host).on_loopback is loopback


def test_parse_services_refuses_credentials_without_echoing_them() -> None:
    for value in ("shop=http://alice:hunter2@shop.internal", "shop=ftp://alice:hunter2@shop.internal"):
        with pytest.raises(typer.BadParameter) as caught:
            parse_services([value])
        assert "hunter2" not in str(caught.value)
    assert parse_services(["shop=http://shop.internal:8080/base"]) == {
        "shop": "http://shop.internal:8080/base"
    }
