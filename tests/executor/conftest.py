"""Fixtures: embedded executors on free loopback ports, stopped after each test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from executor import EmbeddedExecutor, ExecutorSettings
from tests.executor.helpers import RATE_RPS
from tests.executor.upstream import CountingUpstream, counting_upstream
from tests.executor.virtual_clock import VirtualClock, virtual_executor
from tests.executors import running_demo_executor


@pytest.fixture
def bare_executor() -> Iterator[EmbeddedExecutor]:
    """An executor without demo services (control API and proxy only)."""
    with EmbeddedExecutor(ExecutorSettings(demo=False, seed=7)) as ex:
        yield ex


@pytest.fixture
def demo_executor() -> Iterator[EmbeddedExecutor]:
    """An executor with the demo shop and a seeded random source."""
    with running_demo_executor(seed=7, default_rate_rps=40) as ex:
        yield ex


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


@pytest.fixture
def counting() -> Iterator[CountingUpstream]:
    """A loopback upstream that records every request it gets."""
    with counting_upstream() as server:
        yield server


@pytest.fixture
def api_executor(counting: CountingUpstream) -> Iterator[EmbeddedExecutor]:
    """An executor fronting the ``counting`` upstream as service ``api``, without demo services."""
    settings = ExecutorSettings(demo=False, seed=3, services={"api": counting.url}, default_rate_rps=RATE_RPS)
    with EmbeddedExecutor(settings) as ex:
        yield ex


@pytest.fixture
def virtual_clock() -> VirtualClock:
    """A clock that stands still until the test lets it run (``running()``, ``advance()``)."""
    return VirtualClock()


@pytest.fixture
def virtual_api_executor(
    counting: CountingUpstream, virtual_clock: VirtualClock
) -> Iterator[EmbeddedExecutor]:
    """``api_executor`` on ``virtual_clock``: its faults, load and holds wait on virtual time only."""
    settings = ExecutorSettings(demo=False, seed=3, services={"api": counting.url}, default_rate_rps=RATE_RPS)
    with virtual_executor(settings, virtual_clock) as ex:
        yield ex


@pytest.fixture(scope="module")
def refusing_executor() -> Iterator[EmbeddedExecutor]:
    """One executor for a module's tests that only send what it must refuse (so nothing is ever stored).

    It fronts service ``api`` (an upstream that is never reached), so that a body is refused for what it
    is, not for naming an unknown service.
    """
    with (
        counting_upstream() as upstream,
        EmbeddedExecutor(ExecutorSettings(demo=False, seed=3, services={"api": upstream.url})) as ex,
    ):
        yield ex
