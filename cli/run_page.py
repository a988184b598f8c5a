"""What `boifi runs show` adds to a run's report: its labels, its timestamps and the URL of its page.

The URL is the dashboard's run detail page, ``<BOIFI_DASHBOARD_URL>/Run?run=<id>``; it is shown, never
fetched, so it is printed whether or not a dashboard is running there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from client.redaction import redact_url

__all__ = ["run_page_lines", "run_page_url"]


def run_page_url(dashboard_url: str, run_id: int) -> str:
    """Return the URL of run `run_id`'s page on the dashboard at `dashboard_url` (a password shown as ***)."""
    return f"{redact_url(dashboard_url).rstrip('/')}/Run?{urlencode({'run': run_id})}"


def _when(value: Any) -> str:
    return "-" if not value else str(value)[:19].replace("T", " ") + " UTC"


def run_page_lines(row: Mapping[str, Any], *, dashboard_url: str) -> list[str]:
    """Return the labels, who launched the run, its timestamps and its page's URL as report lines."""
    lines = []
    if row.get("labels"):
        lines.append(f"  labels     {', '.join(row['labels'])}")
    if row.get("launched_by"):
        lines.append(f"  launched   by {row['launched_by']}")
    lines.append(
        f"  created    {_when(row.get('created_at'))}, started {_when(row.get('started_at'))}, "
        f"finished {_when(row.get('finished_at'))}"
    )
    lines.append(f"  page       {run_page_url(dashboard_url, int(row['id']))}")
    return lines
