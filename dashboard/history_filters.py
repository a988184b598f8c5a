"""History's filters as URL query parameters, and download names that say what a file holds.

Every filter lives in the URL (`/History?service=payment,orders&status=failed&created=24h&q=canary`), so a
filtered list can be shared like a comparison (`runs=3,7`). Reading a URL keeps only values the widgets
offer: a service no run has any more, or a hand-edited `rows=7`, is dropped, never an error.
Example: ``initial_values(query, options)`` seeds the widgets, ``write_query(query, values)`` the URL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

# Created-within choices: label -> (URL value, hours; None for any time).
CREATED_WITHIN = {
    "any time": ("any", None),
    "last hour": ("1h", 1),
    "last 24 hours": ("24h", 24),
    "last 7 days": ("7d", 24 * 7),
}
ROW_LIMITS = (50, 200, 1000)
DEFAULT_WITHIN = "any time"
DEFAULT_ROWS = 200


@dataclass(frozen=True)
class Filter:
    """One History filter: its widget's session key and its URL query parameter."""

    key: str
    query: str
    many: bool  # a multiselect (comma-separated in the URL) or a single value


FILTERS = (
    Filter("history_service", "service", many=True),
    Filter("history_api", "api", many=True),
    Filter("history_fault_type", "fault", many=True),
    Filter("history_status", "status", many=True),
    Filter("history_verdict", "verdict", many=True),
    Filter("history_search", "q", many=False),
    Filter("history_within", "created", many=False),
    Filter("history_limit", "rows", many=False),
)
DEFAULTS: dict[str, Any] = {
    "history_search": "",
    "history_within": DEFAULT_WITHIN,
    "history_limit": DEFAULT_ROWS,
}


def _text(value: Any) -> str:
    if isinstance(value, list):  # a repeated parameter: the last one wins, as in st.query_params.get
        value = value[-1] if value else ""
    return "" if value is None else str(value)


def _many(text: str) -> list[str]:
    return list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))


def initial_values(query: Mapping[str, Any], options: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """Return each filter widget's value named by the URL `query` (defaults where absent or unknown).

    `options` maps a multiselect's session key to the values it offers; values not offered are dropped.
    """
    values: dict[str, Any] = {}
    for item in FILTERS:
        text = _text(query.get(item.query))
        if item.many:
            offered = set(options.get(item.key, ()))
            values[item.key] = [value for value in _many(text) if value in offered]
        elif item.key == "history_within":
            labels = {url: label for label, (url, _) in CREATED_WITHIN.items()}
            values[item.key] = labels.get(text, DEFAULT_WITHIN)
        elif item.key == "history_limit":
            values[item.key] = int(text) if text.isdigit() and int(text) in ROW_LIMITS else DEFAULT_ROWS
        else:
            values[item.key] = text
    return values


def seed_widgets(
    state: MutableMapping[str, Any], query: Mapping[str, Any], options: Mapping[str, Sequence[str]]
) -> None:
    """Give each filter widget in `state` (st.session_state) the URL's value the first time it shows.

    Later runs keep what the user chose, minus multiselect values no longer offered (the database changed
    in Settings): a value a widget does not offer would be an error.
    """
    for key, value in initial_values(query, options).items():
        if key not in state:
            state[key] = value
        elif key in options:
            offered = set(options[key])
            state[key] = [v for v in state[key] if v in offered]


def query_values(values: Mapping[str, Any]) -> dict[str, str]:
    """Return the URL query parameters for filter widget `values`: only filters not at their default."""
    query: dict[str, str] = {}
    for item in FILTERS:
        value = values.get(item.key)
        if item.many:
            if value:
                query[item.query] = ",".join(str(v) for v in value)
        elif item.key == "history_within":
            if value and value != DEFAULT_WITHIN:
                query[item.query] = CREATED_WITHIN[value][0]
        elif item.key == "history_limit":
            if value is not None and int(value) != DEFAULT_ROWS:
                query[item.query] = str(int(value))
        elif value and str(value).strip():
            query[item.query] = str(value).strip()
    return query


def write_query(query: MutableMapping[str, Any], values: Mapping[str, Any]) -> None:
    """Write the filters into the URL `query` (st.query_params), leaving its other parameters alone."""
    wanted = query_values(values)
    for item in FILTERS:
        if item.query in wanted:
            if _text(query.get(item.query)) != wanted[item.query]:
                query[item.query] = wanted[item.query]
        elif item.query in query:
            del query[item.query]


def since(within: str, *, now: datetime) -> datetime | None:
    """Return the earliest creation time a created-within choice allows, or None for any time."""
    hours = CREATED_WITHIN.get(within, (None, None))[1]
    return None if hours is None else now - timedelta(hours=hours)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


MAX_NAME_PART = 60


def download_name(
    values: Mapping[str, Any], *, selected: Sequence[int], day: date, extension: str, comparison: bool = False
) -> str:
    """Return a download's file name saying what it holds, e.g. `boifi-runs-payment-abort-2026-12-04.csv`.

    Selected runs name their ids (`boifi-runs-3-7-...`, with a comparison `boifi-comparison-3-vs-7-...`);
    else the filters name the list (`all` without any). Long names are cut, never the date.
    """
    if selected:
        ids = [str(int(run_id)) for run_id in selected]
        kind = "comparison" if comparison and len(ids) > 1 else "runs"
        what = f"{ids[0]}-vs-{'-'.join(ids[1:])}" if kind == "comparison" else "-".join(ids)
    else:
        kind = "runs"
        query = query_values(values)
        parts = [query[item.query] for item in FILTERS if item.query in query and item.query != "rows"]
        what = _slug("-".join(parts)) or "all"
    what = what[:MAX_NAME_PART].rstrip("-")
    return f"boifi-{kind}-{what}-{day.isoformat()}.{extension}"
