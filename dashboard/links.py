"""Where a run's own page lives: one URL shape for the pages, the CLI and shared links.

The run detail page is `pages/5_Run.py`, which Streamlit serves at `/Run`; the run is named in the query
(`/Run?run=7`), so the URL can be shared. Example: ``st.page_link(**run_page_link(7))``.
"""

from __future__ import annotations

from typing import Any

RUN_PAGE = "pages/5_Run.py"
RUN_PATH = "/Run"
RUN_QUERY = "run"
LAUNCH_PAGE = "pages/1_Launch.py"
HISTORY_PAGE = "pages/3_History.py"
RERUN_QUERY = "rerun"  # Launch prefills its form with this run's plan


def run_page_url(run_id: int, *, base_url: str = "") -> str:
    """Return the path (or, with `base_url` such as http://127.0.0.1:8501, the URL) of a run's page."""
    return f"{base_url.rstrip('/')}{RUN_PATH}?{RUN_QUERY}={int(run_id)}"


def run_page_link(run_id: int, *, label: str | None = None) -> dict[str, Any]:
    """Return `st.page_link` keyword arguments that open a run's page."""
    return _link(RUN_PAGE, label or f"Open run #{int(run_id)}", ":material/query_stats:", RUN_QUERY, run_id)


def rerun_link(run_id: int) -> dict[str, Any]:
    """Return `st.page_link` keyword arguments that open Launch prefilled with a run's plan."""
    return _link(LAUNCH_PAGE, "Re-run", ":material/replay:", RERUN_QUERY, run_id)


def compare_link(run_id: int) -> dict[str, Any]:
    """Return `st.page_link` keyword arguments that open History's comparison with this run first."""
    return _link(HISTORY_PAGE, "Compare with…", ":material/compare_arrows:", "runs", run_id)


def _link(page: str, label: str, icon: str, query: str, run_id: int) -> dict[str, Any]:
    return {"page": page, "label": label, "icon": icon, "query_params": {query: str(int(run_id))}}


def parse_run_id(value: Any) -> int | None:
    """Return the run id a query value names (a positive integer), or None for a missing or bad value."""
    if isinstance(value, list):
        value = value[0] if value else None
    text = str(value).strip() if value is not None else ""
    if not text.isdigit() or text.startswith("0"):
        return None
    return int(text)
