"""Embedded executors with the demo shop on loopback, for tests that need a real one."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from executor import EmbeddedExecutor, ExecutorSettings


@contextlib.contextmanager
def running_demo_executor(*, seed: int = 7, **settings: Any) -> Iterator[EmbeddedExecutor]:
    """Run an executor with the demo services on 127.0.0.1 (ports the kernel picks); stop it after.

    Example::

        with running_demo_executor(seed=2) as executor:
            httpx.get(executor.base_url + "/v1/health")
    """
    with EmbeddedExecutor(
        ExecutorSettings(host="127.0.0.1", port=0, demo=True, seed=seed, **settings)
    ) as running:
        yield running
