"""Launch: typed values survive a change of fault type, a launched run shows at the top, and Launch is off
while the Executor cannot be reached (nothing sent, nothing stored)."""

from __future__ import annotations

import pytest
from sqlmodel import Session

import storage
from dashboard import launch
from dashboard.factories import get_holder
from tests.dashboard.test_auth import _elements
from tests.dashboard.test_launch_page import _launch_page, _wait_for, launch_until_halt_shows
from tests.plans import payment_delay


def _stored_runs(database_url: str) -> int:
    engine = storage.make_engine(database_url)
    try:
        with Session(engine) as session:
            return storage.count_runs(session)
    finally:
        engine.dispose()


@pytest.mark.slow
def test_values_typed_for_one_fault_type_survive_a_look_at_another(unreachable_executor: str) -> None:
    at = _launch_page()
    at.number_input(key="launch_delay_seconds").set_value(0.7).run()
    at.selectbox(key="launch_fault_type").set_value("abort").run()
    assert at.number_input(key="launch_abort").value == 503  # the default, the first time
    at.number_input(key="launch_abort").set_value(429).run()
    at.selectbox(key="launch_fault_type").set_value("error_injection").run()
    at.text_input(key="launch_error_msg").set_value("boom").run()
    at.selectbox(key="launch_fault_type").set_value("delay").run()
    assert not at.exception, at.exception
    assert at.number_input(key="launch_delay_seconds").value == 0.7
    at.selectbox(key="launch_fault_type").set_value("abort").run()
    assert at.number_input(key="launch_abort").value == 429
    at.selectbox(key="launch_fault_type").set_value("error_injection").run()
    assert at.text_input(key="launch_error_msg").value == "boom"
    assert any('"error_message": "boom"' in code.value for code in at.code)


@pytest.mark.slow
def test_launch_is_off_with_its_reason_while_the_executor_is_unreachable(
    database_url: str, unreachable_executor: str
) -> None:
    at = _launch_page()
    assert _wait_for(at, lambda a: any("Launch is off" in c.value for c in a.caption)), "the health check"
    reason = next(c.value for c in at.caption if "Launch is off" in c.value)
    assert "not reachable" in reason or "circuit breaker is OPEN" in reason, reason
    assert at.button(key="launch_submit").disabled
    # A page drawn before the Executor went away still has Launch on: submitting checks again.
    outcome = launch.submit(get_holder(), payment_delay(), api_mode="extended", guardrail=None)
    assert outcome.run_id is None and outcome.error is not None and "not reachable" in outcome.error
    assert "launch_run_id" not in at.session_state
    assert _stored_runs(database_url) == 0


@pytest.mark.slow
def test_a_launched_run_shows_at_the_top_above_the_form(live_executor: str) -> None:
    at = _launch_page()
    _, halt_key = launch_until_halt_shows(at, duration_sec=30)
    order = _elements(at)  # page order: the main area first
    halt = next(i for i, e in enumerate(order) if getattr(e, "key", None) == halt_key)
    form = next(i for i, e in enumerate(order) if e.type == "subheader" and e.value == "Target")
    assert halt < form, "Halt comes before the form's first field"
    at.button(key=halt_key).click().run()
