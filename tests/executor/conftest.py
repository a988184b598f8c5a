"""Fixtures: embedded executors on free loopback ports, stopped after each test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from executor import EmbeddedExecutor, ExecutorSettings


@pytest.fixture
def bare_executor() -> Iterator[EmbeddedExecutor]:
    """An executor without demo services (control API and proxy only)."""
    with EmbeddedExecutor(ExecutorSettings(demo=False, seed=7)) as ex:
        yield ex


@pytest.fixture
def demo_executor() -> Iterator[EmbeddedExecutor]:
    """An executor with the demo shop and a seeded random source."""
    with EmbeddedExecutor(ExecutorSettings(demo=True, seed=7, default_rate_rps=40)) as ex:
        yield ex


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client
