"""Names of the headers the executor reads or writes on the data plane besides HTTP's own."""

from __future__ import annotations

__all__ = ["PARENT_HEADER", "TRACE_HEADER"]

TRACE_HEADER = "x-boifi-trace-id"
PARENT_HEADER = "x-boifi-parent-span-id"
