"""The Launch form's header match: one header, how it matches, and the share of traffic that carries it.

The run's own traffic then sends a matching value (client/matching.py), so a header-match run measures the
requests the fault targets; `matching_traffic_pct` below 100 mixes in requests without the header.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

__all__ = ["MATCH_KINDS", "header_match_fields", "header_match_state"]

MATCH_KINDS = ("exact", "prefix", "regex")


def header_match_fields(slots: dict[str, Any]) -> dict[str, Any]:
    """Draw the header-match fields; return the plan values they give (none without a header name)."""
    name = st.text_input("header match: name (optional)", key="launch_header_name")
    off = not name.strip()
    kind = st.radio("header match", MATCH_KINDS, key="launch_header_kind", horizontal=True, disabled=off)
    value = st.text_input("header match: value", key="launch_header_value", disabled=off)
    send_value = ""
    if kind == "regex":
        send_value = st.text_input(
            "value the traffic sends (optional)",
            key="launch_header_send",
            help="Left empty, a value is built from the pattern; give one when the form says it cannot be.",
        )
    share = st.number_input(
        "requests carrying the header (%)",
        min_value=1,
        max_value=100,
        value=100,
        step=10,
        key="launch_matching_pct",
        disabled=off,
        help="The share of the run's requests (load driver or probe) that send a matching value.",
    )
    slots["headers"] = st.empty()
    slots["matching_traffic_pct"] = st.empty()
    if off:
        return {}
    header: dict[str, str] = {"name": name.strip(), str(kind): value}
    if send_value:
        header["send_value"] = send_value
    return {"headers": [header], "matching_traffic_pct": int(share)}


def header_match_state(plan: Mapping[str, Any]) -> dict[str, Any]:
    """Return the session state that prefills the header-match fields with a plan's first header."""
    headers = plan.get("headers") or []
    if not headers:
        return {}
    header = headers[0]
    kind = next((k for k in MATCH_KINDS if header.get(k) is not None), "exact")
    state = {
        "launch_header_name": header.get("name") or "",
        "launch_header_kind": kind,
        "launch_header_value": header.get(kind) or "",
        "launch_matching_pct": int(plan.get("matching_traffic_pct") or 100),
    }
    if header.get("send_value"):
        state["launch_header_send"] = header["send_value"]
    return state
