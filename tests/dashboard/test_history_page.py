"""The history page compares runs chosen in the URL and keeps the selection in the URL."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

import storage
from storage import RunStatus
from tests.dashboard.conftest import populate

APP = "../../Home.py"
PAGE = "pages/3_History.py"


def _table_with(at: AppTest, column: str) -> pd.DataFrame:
    return next(df.value for df in at.dataframe if column in df.value.columns)


@pytest.mark.slow
def test_runs_in_the_url_are_compared_with_verdicts(database_url: str, unreachable_executor: str) -> None:
    populate(database_url, count=6, samples_per_run=300)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["runs"] = "1,2"
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert at.multiselect(key="history_selected").value == [1, 2]
    assert any("Compared with baseline #1" in h.value for h in at.subheader)
    comparison = _table_with(at, "metric")  # the runs table has a verdict column too
    assert list(comparison["metric"]) == [
        "mean latency",
        "p50 latency",
        "p95 latency",
        "p99 latency",
        "error rate",
    ]
    assert all(("significant" in v) or ("not enough data" in v) for v in comparison["verdict"])
    assert len(at.get("plotly_chart")) == 3


@pytest.mark.slow
def test_selection_is_written_to_the_url(database_url: str, unreachable_executor: str) -> None:
    populate(database_url, count=4, samples_per_run=50)
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page(PAGE).run()
    at.multiselect(key="history_selected").set_value([3, 1]).run()
    assert not at.exception, at.exception
    assert at.query_params["runs"] in ("3,1", ["3,1"])
    at.multiselect(key="history_selected").set_value([]).run()
    assert "runs" not in at.query_params


@pytest.mark.slow
def test_unknown_and_malformed_ids_in_the_url_do_not_break_the_page(
    database_url: str, unreachable_executor: str
) -> None:
    populate(database_url, count=2, samples_per_run=10)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["runs"] = "1,abc,999"
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert any("#999" in w.value for w in at.warning)


@pytest.mark.slow
def test_filters_narrow_the_table(database_url: str, unreachable_executor: str) -> None:
    populate(database_url, count=30, samples_per_run=10)
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page(PAGE).run()
    service = at.multiselect(key="history_service").options[0]
    at.multiselect(key="history_service").set_value([service]).run()
    table = _table_with(at, "fault_type")
    assert set(table["service"]) == {service}


def _finished_runs(url: str, outcomes: list[tuple[RunStatus, str | None]]) -> list[int]:
    """Write one finished run per (status, stop reason) into the database at `url`; return their ids."""
    engine = storage.make_engine(url)
    ids = []
    try:
        storage.init_db(engine)
        with Session(engine) as session:
            for index, (status, reason) in enumerate(outcomes):
                run = storage.create_run(
                    session,
                    plan={"service": "payment", "api": "/pay", "fault_type": "abort", "percentage": 100},
                    executor_url="http://127.0.0.1:1",
                    api_mode="extended",
                    apply_key=f"k{index}",
                    owner="test:1:x",
                )
                assert run.id is not None
                storage.finish_run(session, run_id=run.id, status=status, stop_reason=reason)
                ids.append(run.id)
    finally:
        engine.dispose()
    return ids


@pytest.mark.slow
def test_history_filters_runs_their_guardrail_stopped(database_url: str, unreachable_executor: str) -> None:
    halted, guarded = _finished_runs(
        database_url,
        [
            (RunStatus.CANCELLED, "halted by user"),
            (RunStatus.GUARDRAIL_STOP, "guardrail: error rate 100.0% exceeded 50.0% after 20 requests"),
        ],
    )
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page(PAGE).run()
    status = at.multiselect(key="history_status")
    assert set(status.options) == {s.value for s in RunStatus}
    status.set_value(["guardrail_stop"]).run()
    assert not at.exception, at.exception
    table = _table_with(at, "fault_type")
    assert list(table["id"]) == [guarded] and list(table["status"]) == ["guardrail_stop"]
    at.multiselect(key="history_status").set_value(["cancelled"]).run()
    assert list(_table_with(at, "fault_type")["id"]) == [halted]


@pytest.mark.slow
def test_home_shows_a_guardrail_stop_with_its_reason(database_url: str, unreachable_executor: str) -> None:
    (run_id,) = _finished_runs(
        database_url, [(RunStatus.GUARDRAIL_STOP, "guardrail: p99 latency 900 ms exceeded 500 ms")]
    )
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    texts = [w.value for w in at.warning]
    assert any(
        f"Run #{run_id} :material/shield: guardrail_stop" in t
        and "guardrail: p99 latency 900 ms exceeded" in t
        for t in texts
    ), texts


@pytest.mark.slow
def test_each_run_in_the_table_links_to_its_page(database_url: str, unreachable_executor: str) -> None:
    populate(database_url, count=3, samples_per_run=10)
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page(PAGE).run()
    table = _table_with(at, "page")
    assert dict(zip(table["id"], table["page"], strict=True)) == {i: f"/Run?run={i}" for i in (1, 2, 3)}


def _give_verdicts(url: str, verdicts: dict[int, str]) -> None:
    engine = storage.make_engine(url)
    try:
        with Session(engine) as session:
            for run_id, verdict in verdicts.items():
                storage.finish_run(
                    session,
                    run_id=run_id,
                    status=RunStatus.COMPLETED,
                    experiment={"verdict": verdict, "severity_score": 10.0 * run_id},
                )
    finally:
        engine.dispose()


@pytest.mark.slow
def test_the_verdict_filter_comes_from_the_url_and_goes_back_to_it(
    database_url: str, unreachable_executor: str
) -> None:
    populate(database_url, count=5, samples_per_run=10)
    _give_verdicts(database_url, {1: "held", 2: "deviated", 4: "not_recovered"})
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["verdict"] = "deviated,not_recovered,bogus"
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert at.multiselect(key="history_verdict").value == ["deviated", "not_recovered"]
    table = _table_with(at, "verdict")
    assert sorted(table["id"]) == [2, 4]
    assert dict(zip(table["id"], table["severity_score"], strict=True)) == {2: 20.0, 4: 40.0}
    at.multiselect(key="history_verdict").set_value(["held"]).run()
    assert at.query_params["verdict"] in ("held", ["held"])
    assert list(_table_with(at, "verdict")["verdict"]) == ["held"]
    at.multiselect(key="history_verdict").set_value([]).run()
    assert "verdict" not in at.query_params
    assert len(_table_with(at, "verdict")) == 5
