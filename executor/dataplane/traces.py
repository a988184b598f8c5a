"""Spans in the seed's trace shape, collected in-process for sampled requests."""

from __future__ import annotations

import random
from collections import OrderedDict
from typing import Any

__all__ = ["TraceCollector"]


class TraceCollector:
    """Keep the spans of the most recent sampled traces (only requests carrying a trace header)."""

    def __init__(self, *, rng: random.Random | None = None, max_traces: int = 500) -> None:
        self._rng = rng or random.Random()
        self._max_traces = max_traces
        self._traces: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()

    def new_id(self, hex_digits: int = 32) -> str:
        """Return a random hexadecimal id."""
        return f"{self._rng.getrandbits(hex_digits * 4):0{hex_digits}x}"

    def record(
        self,
        *,
        trace_id: str,
        span_id: str,
        parent_span_id: str | None,
        operation_name: str,
        start_us: int,
        duration_us: int,
        ok: bool,
        tags: dict[str, Any],
    ) -> None:
        """Store one span of ``trace_id``."""
        span = {
            "traceID": trace_id,
            "spanID": span_id,
            "parentSpanID": parent_span_id or "",
            "operationName": operation_name,
            "startTime": start_us,
            "duration": duration_us,
            "status": "ok" if ok else "error",
            "tags": tags,
        }
        spans = self._traces.get(trace_id)
        if spans is None:
            spans = self._traces[trace_id] = []
            while len(self._traces) > self._max_traces:
                self._traces.popitem(last=False)
        spans.append(span)

    def trace(self, trace_id: str) -> dict[str, Any]:
        """Return ``{"traceID", "spans"}`` with spans ordered by start time."""
        spans = sorted(self._traces.get(trace_id, []), key=lambda span: span["startTime"])
        return {"traceID": trace_id, "spans": spans}
