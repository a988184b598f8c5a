"""The runner's workers cannot hang on an Executor that drips its answers: runs end by their deadline."""

from __future__ import annotations

import time

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

import storage
from client import HttpExecutorClient
from services.runner import Runner
from storage import RunStatus
from tests.client.raw_servers import Action, Answer, DripHead, raw_serve
from tests.plans import payment_delay
from tests.services.conftest import fast_config

TIMEOUT_SEC = 1.0
PLAN = payment_delay(duration_seconds=60)

pytestmark = pytest.mark.timeout(90)


@pytest.mark.slow
@pytest.mark.parametrize("api_mode", ["direct", "extended"])
def test_a_run_against_a_dripping_executor_fails_by_its_deadline(engine: Engine, api_mode: str) -> None:
    def handler(method: str, path: str) -> Action:
        if path in ("/health", "/v1/health"):
            return Answer(200, {"status": "healthy"})
        if method == "GET" and path == "/v1/faults":
            return Answer(200, {"faults": []})
        return DripHead()  # the apply: a status line, then one header byte every 0.5 s

    with raw_serve(handler) as server:
        config = fast_config(server.url, api_mode=api_mode, connection_timeout_sec=1.0, max_retries=1)
        client = HttpExecutorClient(config)
        runner = Runner(engine=engine, client=client, recover_on_start=False)
        runner.start()
        try:
            started = time.monotonic()
            run_id = runner.submit(PLAN, timeout_sec=TIMEOUT_SEC)
            # Without the wire deadline the worker waits on the drip for the plan's minute and more.
            assert runner.wait(run_id, timeout=TIMEOUT_SEC + 20)
            elapsed = time.monotonic() - started
        finally:
            runner.shutdown()
            client.close()
    with Session(engine) as session:
        detail = storage.get_run(session, run_id=run_id)
    assert detail is not None and detail.run.status == RunStatus.FAILED
    assert detail.run.error_class == "ExecutorTimeoutError"
    assert elapsed < TIMEOUT_SEC + 20
