"""The embedded executor: control API, fault-injecting proxy, load driver and demo services."""

from __future__ import annotations

from executor.errors import ExecutorError, ExecutorStartError
from executor.runtime import ExecutorRuntime
from executor.server import EmbeddedExecutor
from executor.settings import ExecutorSettings

__all__ = [
    "EmbeddedExecutor",
    "ExecutorError",
    "ExecutorRuntime",
    "ExecutorSettings",
    "ExecutorStartError",
]
