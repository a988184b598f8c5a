"""History's table of runs: words for headers, local times, rounded numbers, widths that fit 1400 px.

The frame keeps the stored names as its columns (`fault_type`, `p95_latency_ms`: tests and code read them);
`column_config()` gives each shown column its header, unit and width, and `SHOWN` which ones show, in order.
Times are timezone-aware UTC; the table shows them in the browser's time zone (`st.context.timezone`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import streamlit as st

import storage
from dashboard import links, names

# Shown columns in order, with a width (px) each: with the selection's checkbox they add up to 923 px, what
# the main area of a 1400 px window holds beside the sidebar (938 px), so no column is cut.
WIDTHS = {
    "page": 45,
    "created_at": 115,
    "result": 110,
    "target": 195,
    "fault": 125,
    "request_count": 65,
    "error_rate_pct": 70,
    "p95_latency_ms": 80,
    "labels": 85,
    "launched_by": 120,
}
RUN_LINK = r"run=(\d+)$"  # the link column shows the run id its URL names
TIME_FORMAT = "YYYY-MM-DD HH:mm"


def _fault(run: storage.Run) -> str:
    kind = (run.fault_type or "no fault").replace("_", " ")  # error_injection reads "error injection"
    return f"{kind} {run.percentage:g} %"


def _labels(run: storage.Run) -> str:
    return ", ".join(str(label) for label in run.labels or [])


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


def history_frame(runs: Sequence[storage.Run]) -> pd.DataFrame:
    """Return one row per run: display names for status and verdict, rates in percent, times as datetimes."""
    rows: list[dict[str, Any]] = []
    for record, run in zip(storage.runs_to_records(runs), runs, strict=True):
        rows.append(
            {
                "id": record["id"],
                "page": links.run_page_url(int(run.id)) if run.id is not None else None,
                "created_at": run.created_at,
                "status": names.status_name(run.status),
                "verdict": names.verdict_short_name(run.verdict),
                "result": names.result_name(run.status, run.verdict, run.severity_score),
                "service": run.service,
                "api": run.api,
                "target": f"{run.service}{run.api}",
                "fault_type": record["fault_type"],
                "percentage": run.percentage,
                "fault": _fault(run),
                "request_count": run.request_count,
                "error_rate_pct": _rounded(record["error_rate_pct"], 2),
                "p95_latency_ms": _rounded(record["p95_latency_ms"], 1),
                "severity_score": _rounded(record["severity_score"], 1),
                "labels": _labels(run),
                "launched_by": run.launched_by,
            }
        )
    extra = ["status", "verdict", "severity_score", "service", "api", "fault_type", "percentage"]
    frame = pd.DataFrame(rows, columns=["id", *WIDTHS, *extra])
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame


def shown_columns(frame: pd.DataFrame) -> list[str]:
    """Return the columns the table shows, in order; "Launched by" only when a login recorded someone."""
    shown = [name for name in WIDTHS if name != "launched_by"]
    if "launched_by" in frame and frame["launched_by"].notna().any():
        shown.append("launched_by")
    return shown


def browser_timezone(name: str | None) -> str:
    """Return the browser's IANA time zone if Python knows it, else "UTC"."""
    if not name:
        return "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return name


def column_config(timezone: str) -> dict[str, Any]:
    """Return each column's header, format and width; times shown in `timezone`."""
    w = WIDTHS
    return {
        "id": None,  # the run id shows as the link's text
        "page": st.column_config.LinkColumn(
            "Run", display_text=RUN_LINK, width=w["page"], help="Open the run's page"
        ),
        "created_at": st.column_config.DatetimeColumn(
            "Created", format=TIME_FORMAT, timezone=timezone, width=w["created_at"], help=f"In {timezone}"
        ),
        "result": st.column_config.TextColumn(
            "Result", width=w["result"], help="The run's status, or its verdict and severity score (0 to 100)"
        ),
        "target": st.column_config.TextColumn("Target", width=w["target"], help="Service and API"),
        "fault": st.column_config.TextColumn("Fault", width=w["fault"], help="Fault type, share of requests"),
        "request_count": st.column_config.NumberColumn(
            "Requests", format="localized", width=w["request_count"]
        ),
        "error_rate_pct": st.column_config.NumberColumn(
            "Error rate", format="%.1f %%", width=w["error_rate_pct"]
        ),
        "p95_latency_ms": st.column_config.NumberColumn(
            "p95 latency", format="%.1f ms", width=w["p95_latency_ms"]
        ),
        "labels": st.column_config.TextColumn("Labels", width=w["labels"]),
        "launched_by": st.column_config.TextColumn("Launched by", width=w["launched_by"]),
    }


def selected_run(frame: pd.DataFrame, rows: Sequence[int]) -> int | None:
    """Return the id of the run in the first selected row, or None."""
    if not rows or rows[0] >= len(frame):
        return None
    return int(frame["id"].iloc[rows[0]])
