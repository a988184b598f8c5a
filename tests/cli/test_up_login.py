"""`boifi up` off loopback refuses to start without a dashboard login, before anything binds."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.up_cmd import PASSWORD_ENV, login_configured, oidc_configured
from executor.control.host_names import is_loopback_host
from tests.cli.processes import boifi, clean_env, refuses
from tests.ports import free_port

# TEST-NET-1 (RFC 5737): not loopback, and no interface here has it, so nothing could bind it even by mistake.
OFF_LOOPBACK = "192.0.2.1"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "localhost", "LOCALHOST", "::1", "[::1]"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", OFF_LOOPBACK, "10.0.0.5", "console.example"])
def test_hosts_other_machines_may_reach(host: str) -> None:
    assert not is_loopback_host(host)


def test_a_login_is_a_password_or_an_auth_section_in_a_secrets_file(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.toml"
    missing = tmp_path / "missing.toml"
    assert not login_configured({}, [missing])
    assert not login_configured({PASSWORD_ENV: ""}, [missing])
    assert login_configured({PASSWORD_ENV: "pw"}, [missing])
    secrets.write_text('api_key = "x"\n[other]\nkey = 1\n')
    assert not oidc_configured([missing, secrets])
    secrets.write_text("[auth\nbroken")
    assert not oidc_configured([secrets])
    secrets.write_text('[auth]\nredirect_uri = "http://localhost:8501/oauth2callback"\nclient_id = "c"\n')
    assert oidc_configured([missing, secrets])
    assert login_configured({}, [missing, secrets])


@pytest.mark.slow
def test_up_off_loopback_without_a_login_refuses_before_binding(tmp_path: Path) -> None:
    port = free_port()
    env = clean_env(HOME=str(tmp_path), BOIFI_DATABASE_URL=f"sqlite:///{tmp_path / 'console.db'}")
    with boifi("up", "--host", OFF_LOOPBACK, "--port", str(port), env=env) as process:
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 2, output
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert f"--host {OFF_LOOPBACK} is reachable from other machines" in lines[0]
    assert PASSWORD_ENV in lines[0] and "[auth]" in lines[0]
    assert refuses(f"http://127.0.0.1:{port}/_stcore/health")
    assert not (tmp_path / "console.db").exists()
