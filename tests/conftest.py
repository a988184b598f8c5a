"""Fixtures shared by every test package."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.postgres_server import PostgresServer

if TYPE_CHECKING:
    from executor import EmbeddedExecutor


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session; CI must have it (the test command installs it).

    Under pytest-xdist each worker that needs one starts its own, on its own free port and directory.
    """
    reason = PostgresServer.unavailable_reason()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI: {reason}")
        pytest.skip(reason)
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="module")
def executor() -> Iterator[EmbeddedExecutor]:
    """An embedded executor with the demo shop on loopback, shared by one module's tests (seed 7)."""
    from tests.executors import running_demo_executor

    with running_demo_executor() as running:
        yield running
