"""The dashboard's own embedded executor requires a fresh random token, which only its client is given."""

from __future__ import annotations

import httpx
import pytest

from client import HttpExecutorClient
from services.holder import EmbeddedHandle, _default_config


@pytest.mark.slow
def test_the_embedded_executor_gets_a_fresh_token_and_the_client_sends_it() -> None:
    first, second = EmbeddedHandle(), EmbeddedHandle()
    try:
        first.start()
        second.start()
        assert first.token and second.token and first.token != second.token
        assert len(first.token) >= 40
        config = _default_config(first, started_elsewhere=False, environ={}).client_config
        assert config.auth_token is not None and config.auth_token.get_secret_value() == first.token
        assert first.token not in repr(config) and first.token not in str(config.model_dump())
        with HttpExecutorClient(config) as client:
            assert [service.name for service in client.list_services()]
            assert client.list_active_faults() == []
        assert httpx.get(first.base_url + "/v1/health").status_code == 200
        assert httpx.get(first.base_url + "/v1/faults").status_code == 401
        wrong = {"Authorization": f"Bearer {second.token}"}
        assert httpx.get(first.base_url + "/v1/faults", headers=wrong).status_code == 401
    finally:
        first.close()
        second.close()
