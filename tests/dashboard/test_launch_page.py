"""The launch page: inline validation that sends nothing, and a real launch against the embedded executor."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

import storage
from dashboard.factories import get_holder
from tests.waiting import WaitTimeout, wait_until

APP = "../../Home.py"
PAGE = "pages/1_Launch.py"


def _launch_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def _errors(at: AppTest) -> list[str]:
    return [element.value for element in at.error]


@pytest.mark.slow
def test_out_of_range_percentage_is_refused_next_to_the_field(live_executor: str) -> None:
    at = _launch_page()
    at.number_input(key="launch_percentage").set_value(150).run()
    assert any("less than or equal to 100" in text for text in _errors(at)), _errors(at)
    at.button(key="launch_submit").click().run()
    assert any("Nothing was sent" in text for text in _errors(at))
    assert "launch_run_id" not in at.session_state


@pytest.mark.slow
def test_api_must_be_a_path_and_delay_must_be_positive(unreachable_executor: str) -> None:
    at = _launch_page()
    at.text_input(key="launch_api_text").set_value("payment").run()
    at.number_input(key="launch_delay_seconds").set_value(0.0).run()
    errors = _errors(at)
    assert any("api must start with '/'" in text for text in errors), errors
    assert any("greater than 0" in text for text in errors), errors


@pytest.mark.slow
def test_abort_needs_a_valid_status_and_header_match_needs_a_name(unreachable_executor: str) -> None:
    at = _launch_page()
    at.selectbox(key="launch_fault_type").set_value("abort").run()
    at.number_input(key="launch_abort").set_value(200).run()
    assert any("greater than or equal to 400" in text for text in _errors(at)), _errors(at)
    at.number_input(key="launch_abort").set_value(503).run()
    assert _errors(at) == []


@pytest.mark.slow
def test_guardrail_without_bounds_is_refused(unreachable_executor: str) -> None:
    at = _launch_page()
    at.checkbox(key="launch_guard_on").check()
    at.number_input(key="launch_guard_err").set_value(150.0).run()
    assert any("is a percentage: give a value from 0 to 100" in text for text in _errors(at)), _errors(at)


@pytest.mark.slow
def test_valid_form_shows_the_request_preview(unreachable_executor: str) -> None:
    at = _launch_page()
    assert _errors(at) == []
    previews = [code.value for code in at.code]
    assert previews and "/v1/faults/apply" in previews[0] and '"fault_type": "delay"' in previews[0]


@pytest.mark.slow
def test_launch_shows_the_run_then_its_result(live_executor: str) -> None:
    at = _launch_page()
    assert at.selectbox(key="launch_service").options, "services come from GET /v1/services"
    at.selectbox(key="launch_service").set_value("payment").run()
    at.number_input(key="launch_duration").set_value(1).run()
    at.number_input(key="launch_delay_seconds").set_value(0.05).run()
    at.button(key="launch_submit").click().run()
    assert not at.exception, at.exception
    run_id = at.session_state["launch_run_id"]
    assert isinstance(run_id, int)
    _wait_for(at, lambda a: any(f"Run #{run_id}" in s.value and "Completed" in s.value for s in a.success))
    texts = [s.value for s in at.success] + _errors(at) + [w.value for w in at.warning]
    assert any(f"Run #{run_id}" in t and "Completed" in t for t in texts), texts
    assert len(at.get("plotly_chart")) >= 1


def _wait_for(at: AppTest, predicate: Callable[[AppTest], bool], *, timeout_sec: float = 30) -> bool:
    """Rerun the page until `predicate` holds; False at the deadline, so that the caller shows what it saw."""
    try:
        wait_until(lambda: predicate(at.run()), timeout=timeout_sec, interval=0.2)
    except WaitTimeout:
        return False
    return True


def launch_until_halt_shows(at: AppTest, *, duration_sec: int) -> tuple[int, str]:
    """Launch a delay on payment for `duration_sec`, wait for the live panel's Halt; return run id and key."""
    at.selectbox(key="launch_service").set_value("payment").run()
    at.number_input(key="launch_duration").set_value(duration_sec).run()
    at.button(key="launch_submit").click().run()
    run_id = int(at.session_state["launch_run_id"])
    halt_key = f"launch_halt_{run_id}"
    assert _wait_for(at, lambda a: any(b.key == halt_key for b in a.button)), "live panel with Halt"
    return run_id, halt_key


@pytest.mark.slow
def test_run_survives_leaving_the_page_and_halt_cancels_it(live_executor: str) -> None:
    at = _launch_page()
    run_id, halt_key = launch_until_halt_shows(at, duration_sec=60)
    at.switch_page("pages/2_Monitor.py").run()
    at.switch_page(PAGE).run()
    assert any(b.key == halt_key for b in at.button), "the run is still shown after coming back"
    at.button(key=halt_key).click().run()
    cancelled = f"Run #{run_id} "
    assert _wait_for(at, lambda a: any(cancelled in w.value and "Cancelled" in w.value for w in a.warning))
    assert any("halted by user" in w.value for w in at.warning)


@pytest.mark.slow
def test_launch_in_policy_mode_keeps_the_shared_console_and_stores_the_mode(live_executor: str) -> None:
    at = _launch_page()
    console_before = get_holder().console()
    default_mode = console_before.client.config.api_mode
    assert str(default_mode.value) != "policy"
    at.selectbox(key="launch_service").set_value("payment").run()
    at.radio(key="launch_api_mode").set_value("policy").run()
    assert _errors(at) == []
    assert "/v1/policies" in "\n".join(code.value for code in at.code)
    at.number_input(key="launch_duration").set_value(1).run()
    at.button(key="launch_submit").click().run()
    assert not at.exception, at.exception
    run_id = at.session_state["launch_run_id"]
    done = f"Run #{run_id} "
    assert _wait_for(at, lambda a: any(done in s.value and "Completed" in s.value for s in a.success)), [
        e.value for e in (*at.error, *at.warning)
    ]
    holder = get_holder()
    assert holder.console() is console_before, "choosing a mode does not rebuild the console"
    assert holder.console().client.config.api_mode == default_mode
    assert holder.config.client_config.api_mode == default_mode
    with Session(console_before.engine) as session:
        run = session.get(storage.Run, run_id)
    assert run is not None and run.api_mode == "policy"


@pytest.mark.slow
def test_a_guardrail_in_percent_stops_the_run_with_its_own_status(live_executor: str) -> None:
    at = _launch_page()
    at.selectbox(key="launch_service").set_value("payment").run()
    at.selectbox(key="launch_fault_type").set_value("abort").run()
    at.number_input(key="launch_percentage").set_value(100).run()
    at.number_input(key="launch_duration").set_value(30).run()
    at.checkbox(key="launch_guard_on").check().run()
    at.number_input(key="launch_guard_err").set_value(50.0).run()
    at.number_input(key="launch_guard_min").set_value(5).run()
    assert _errors(at) == []
    at.button(key="launch_submit").click().run()
    run_id = at.session_state["launch_run_id"]
    stopped = f"Run #{run_id} :material/shield: Guardrail stop"
    assert _wait_for(at, lambda a: any(stopped in w.value for w in a.warning)), [w.value for w in at.warning]
    reason = next(w.value for w in at.warning if stopped in w.value)
    assert "guardrail: error rate 100.0% exceeded 50.0%" in reason
