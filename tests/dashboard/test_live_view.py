"""The live view says what it can show in each mode, and draws nothing before there is something to draw."""

from __future__ import annotations

from datetime import UTC, datetime

from streamlit.testing.v1 import AppTest

import storage
from client import ApiMode
from client.hypothesis import Phase
from dashboard.header_form import header_match_state
from dashboard.live_view import live_state

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def _run(mode: ApiMode, *, requests: int = 0, plan: dict[str, object] | None = None) -> storage.Run:
    return storage.Run(
        id=3, created_at=T0, started_at=T0, api_mode=mode, duration_seconds=10, request_count=requests,
        service="payment", api="/pay", percentage=50, plan=plan or {},
    )  # fmt: skip


def _point(phase: Phase = Phase.FAULT) -> storage.TimelinePoint:
    return storage.TimelinePoint(run_id=3, t_s=0.0, phase=phase, request_count=5)


def test_direct_mode_says_its_numbers_come_at_the_end_and_shows_no_zeros() -> None:
    state = live_state(_run(ApiMode.DIRECT), [], elapsed_s=4.0)
    assert state.notice is not None and "come at its end (in about 6 s)" in state.notice
    assert not state.show_numbers
    assert state.progress == 0.4 and state.caption == "elapsed 4 s of 10 s · remaining 6 s"


def test_direct_mode_with_a_baseline_streams_the_baseline_and_counts_to_the_faults_end() -> None:
    run = _run(ApiMode.DIRECT, requests=40, plan={"baseline_seconds": 5, "recovery_seconds": 5})
    state = live_state(run, [_point(Phase.BASELINE)], elapsed_s=2.0)
    assert state.notice is not None and state.notice.startswith("Baseline: observed without a fault, live.")
    assert "in about 13 s" in state.notice and state.show_numbers
    assert state.caption.startswith("baseline phase · elapsed 2 s of 20 s")
    assert live_state(run, [_point(Phase.RECOVERY)], elapsed_s=17.0).notice is None  # the fault answered


def test_streaming_modes_wait_for_the_first_samples_then_show_them() -> None:
    for mode in (ApiMode.EXTENDED, ApiMode.POLICY):
        waiting = live_state(_run(mode), [], elapsed_s=0.5)
        assert waiting.notice is not None and waiting.notice.startswith("No samples yet")
        assert not waiting.show_numbers
        live = live_state(_run(mode, requests=12), [_point()], elapsed_s=3.0)
        assert live.notice is None and live.show_numbers
        assert live.caption.startswith("fault phase · ")


def test_the_header_fields_give_the_plan_its_match_and_share() -> None:
    def page() -> None:
        import streamlit as st

        from dashboard.header_form import header_match_fields

        st.session_state["values"] = header_match_fields({})

    at = AppTest.from_function(page).run()
    assert at.session_state["values"] == {}
    at.text_input(key="launch_header_name").set_value("x-v").run()
    at.radio(key="launch_header_kind").set_value("regex").run()
    at.text_input(key="launch_header_value").set_value("^v[0-9]$").run()
    at.text_input(key="launch_header_send").set_value("v7").run()
    at.number_input(key="launch_matching_pct").set_value(40).run()
    assert not at.exception, at.exception
    assert at.session_state["values"] == {
        "headers": [{"name": "x-v", "regex": "^v[0-9]$", "send_value": "v7"}],
        "matching_traffic_pct": 40,
    }


def test_a_rerun_prefills_the_header_kind_value_and_share() -> None:
    plan = {"headers": [{"name": "x-user", "prefix": "beta-"}], "matching_traffic_pct": 30}
    assert header_match_state(plan) == {
        "launch_header_name": "x-user", "launch_header_kind": "prefix", "launch_header_value": "beta-",
        "launch_matching_pct": 30,
    }  # fmt: skip
    assert header_match_state({}) == {}
