"""A URL's password is sent as the user asked (Basic) and never shown: errors, previews, settings."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from client import ExecutorClientConfig, ExecutorClientError, HttpExecutorClient, redact_url
from client.environment import SettingsError
from tests.client.servers import Reply, ScriptedServer, refused_url, serve
from tests.plans import payment_abort

TOKEN = "executor-t0ken"
PLAN = payment_abort()


def _client(url: str, **overrides: Any) -> HttpExecutorClient:
    settings: dict[str, Any] = {"base_url": url, "auth_token": TOKEN, "max_retries": 1, **overrides}
    return HttpExecutorClient(ExecutorClientConfig(**settings))


def _authorizations(server: ScriptedServer) -> list[str | None]:
    return [seen.headers.get("authorization") for seen in server.seen]


def test_user_info_in_the_executor_url_is_sent_as_basic_and_never_shown() -> None:
    with serve(lambda seen: Reply(200, {"faults": []})) as server:
        url = server.url.replace("http://", "http://alice:s3cret@")
        with _client(url, auth_token=None) as client:
            client.list_active_faults()
    assert _authorizations(server) == ["Basic " + base64.b64encode(b"alice:s3cret").decode()]


def test_an_unreachable_executor_is_named_without_its_password() -> None:
    url = refused_url().replace("http://", "http://alice:s3cret@")
    with _client(url) as client, pytest.raises(ExecutorClientError) as caught:
        client.apply_and_observe(PLAN, timeout_sec=2.0)
    assert "alice:***@" in str(caught.value) and "s3cret" not in str(caught.value)


def test_a_preview_masks_the_urls_password_and_the_token() -> None:
    with _client("http://alice:s3cret@127.0.0.1:9") as client:
        preview = client.preview_request(PLAN)
    assert preview.url == "http://alice:***@127.0.0.1:9/v1/faults/apply"
    assert preview.headers.get("Authorization") == "Bearer ***"


def test_a_bad_url_setting_never_echoes_its_password() -> None:
    with pytest.raises(SettingsError) as caught:
        ExecutorClientConfig.from_env({"BOIFI_EXECUTOR_URL": "ftp://alice:s3cret@exec.test"})
    assert "BOIFI_EXECUTOR_URL" in str(caught.value) and "s3cret" not in str(caught.value)
    assert "alice:***@exec.test" in str(caught.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://alice:s3cret@exec.test:8000/v1", "http://alice:***@exec.test:8000/v1"),
        ("http://alice:p@ss@exec.test", "http://alice:***@exec.test"),
        ("http://alice@exec.test", "http://alice@exec.test"),
        ("http://exec.test:8000", "http://exec.test:8000"),
        ("not a url", "not a url"),
        ("http://alice:s3cret@exec.test:bad", "http://alice:***@exec.test:bad"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown
