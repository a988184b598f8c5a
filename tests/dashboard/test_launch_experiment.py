"""The Launch form's experiment fields, the Re-run prefill and the result card's link to the run page."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from client import FaultPlan, ServiceApi, ServiceInfo
from dashboard import launch
from dashboard.experiment_form import entry_points, experiment_summary, experiment_values, observe_value
from tests.dashboard.run_pages import finished_run
from tests.plans import payment_delay

APP = "../../Home.py"
PAGE = "pages/1_Launch.py"
SHOP = [
    ServiceInfo("gateway", None, None, (ServiceApi("POST", "/api/v1/checkout"),)),
    ServiceInfo("payment", None, None, (ServiceApi("POST", "/api/v1/payment/process"),)),
]
EXPERIMENT = {
    "baseline_seconds": 2,
    "recovery_seconds": 3,
    "observe": {"service": "gateway", "api": "/api/v1/checkout", "method": "POST"},
    "hypothesis": {"max_p99_ms": 300.0, "max_error_rate_pct": 1.0},
}


def test_entry_points_start_with_the_fault_target_and_map_back_to_observe() -> None:
    choices = entry_points(SHOP)
    assert choices == [
        "the fault's own target",
        "POST gateway/api/v1/checkout",
        "POST payment/api/v1/payment/process",
    ]
    assert observe_value(choices[1], SHOP) == EXPERIMENT["observe"]
    assert observe_value(choices[0], SHOP) is None


def _values(*, enabled: bool, max_p99_ms: float) -> dict[str, object]:
    return experiment_values(
        enabled=enabled, baseline_seconds=2, recovery_seconds=3, observe=None, max_p99_ms=max_p99_ms,
        max_error_rate_pct=1.0,
    )  # fmt: skip


def test_experiment_values_are_nothing_when_off_and_a_bound_of_zero_is_no_bound() -> None:
    assert _values(enabled=False, max_p99_ms=500.0) == {}
    assert _values(enabled=True, max_p99_ms=0.0) == {
        "baseline_seconds": 2,
        "recovery_seconds": 3,
        "hypothesis": {"max_error_rate_pct": 1.0},
    }
    assert _values(enabled=True, max_p99_ms=300.0)["hypothesis"] == {
        "max_p99_ms": 300.0,
        "max_error_rate_pct": 1.0,
    }


def test_the_summary_says_the_phases_where_and_the_hypothesis() -> None:
    plan = payment_delay(duration_seconds=4, **EXPERIMENT)
    assert experiment_summary(plan) == (
        "Experiment: baseline 2 s → fault 4 s → recovery 3 s, observed at POST gateway/api/v1/checkout; "
        "hypothesis: p99 ≤ 300 ms and error rate ≤ 1 %."
    )
    assert experiment_summary(payment_delay()) is None


def test_prefill_reproduces_the_plan_and_leaves_out_choices_not_offered() -> None:
    plan = payment_delay(duration_seconds=4, **EXPERIMENT).model_dump(mode="json")
    state = launch.prefill_state(plan, SHOP)
    assert state["launch_service"] == "payment" and state["launch_api"] == "/api/v1/payment/process"
    assert (state["launch_exp_on"], state["launch_baseline"], state["launch_recovery"]) == (True, 2, 3)
    assert state["launch_observe"] == "POST gateway/api/v1/checkout"
    assert (state["launch_hyp_p99"], state["launch_hyp_err"]) == (300.0, 1.0)
    assert state["launch_delay_seconds"] == 0.05 and "launch_abort" not in state
    bare = launch.prefill_state({**plan, "service": "gone"}, SHOP)
    assert "launch_service" not in bare and bare["launch_service_text"] == "gone"
    assert launch.prefill_state(payment_delay().model_dump(mode="json"), SHOP)["launch_exp_on"] is False


def _launch_page(**query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


@pytest.mark.slow
def test_experiment_fields_are_validated_under_their_fields_and_previewed(live_executor: str) -> None:
    at = _launch_page()
    assert not any("Experiment:" in m.value for m in at.markdown), "off by default: the plan is as before"
    at.checkbox(key="launch_exp_on").check().run()
    assert any(
        m.value.startswith("Experiment: baseline 5 s → fault 10 s → recovery 5 s") for m in at.markdown
    )
    at.number_input(key="launch_baseline").set_value(-1).run()
    at.number_input(key="launch_hyp_err").set_value(150.0).run()
    errors = [e.value for e in at.error]
    assert any("greater than or equal to 0" in e for e in errors), errors
    assert any("less than or equal to 100" in e for e in errors), errors
    at.button(key="launch_submit").click().run()
    assert any("Nothing was sent" in e.value for e in at.error)
    assert "launch_run_id" not in at.session_state


@pytest.mark.slow
def test_rerun_prefills_the_form_with_the_stored_plan(database_url: str, unreachable_executor: str) -> None:
    plan = FaultPlan(**{**payment_delay(duration_seconds=4).model_dump(), **EXPERIMENT, "observe": None})
    run_id = finished_run(database_url, plan=plan.model_dump(mode="json"))
    at = _launch_page(rerun=str(run_id))
    assert any(f"plan of run #{run_id}" in i.value for i in at.info)
    assert at.checkbox(key="launch_exp_on").value is True
    assert at.number_input(key="launch_baseline").value == 2
    assert at.number_input(key="launch_duration").value == 4
    assert at.text_input(key="launch_labels").value == "smoke, nightly"
    assert any(m.value.startswith("Experiment: baseline 2 s → fault 4 s → recovery 3 s") for m in at.markdown)


@pytest.mark.slow
def test_rerun_of_a_missing_run_says_so(database_url: str, unreachable_executor: str) -> None:
    at = _launch_page(rerun="42")
    assert any("Run #42 is not in this database" in w.value for w in at.warning)
    assert at.checkbox(key="launch_exp_on").value is False


@pytest.mark.slow
def test_the_result_card_links_to_the_run_page(database_url: str, unreachable_executor: str) -> None:
    run_id = finished_run(database_url)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    link = next(p.proto for p in at.get("page_link") if p.proto.label.startswith(f"Open run #{run_id}"))
    assert (link.page, link.query_string) == ("Run", f"run={run_id}")
