"""The embedded executor: control API, fault-injecting proxy, load driver and demo services.

Its rooms, each importing only the rooms above it in this list:

- ``model``: fault kinds, request-matching rules, RE2 patterns, wire syntax, header names;
- ``spec``: API bodies read and checked (fault specs, policies and their schema, Go-style JSON, times);
- ``dataplane``: the HTTP/1.1 server, the upstream pool, the fault proxy, traces, counters, the demo shop;
- ``lifecycle``: the fault and policy stores, the fault runner, the load driver and its recorder;
- ``control``: the control API (policy family A, fault families B and C, ops endpoints).

``runtime`` assembles them on one event loop; ``server`` runs that loop in a thread.
"""

from __future__ import annotations

from executor.runtime import ExecutorRuntime
from executor.server import EmbeddedExecutor
from executor.settings import ExecutorSettings
from executor.startup_errors import ExecutorError, ExecutorStartError

__all__ = [
    "EmbeddedExecutor",
    "ExecutorError",
    "ExecutorRuntime",
    "ExecutorSettings",
    "ExecutorStartError",
]
