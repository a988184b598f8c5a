"""The history page compares runs chosen in the URL and keeps the selection in the URL."""

from __future__ import annotations

import pandas as pd
from streamlit.testing.v1 import AppTest

from tests.dashboard.conftest import populate

APP = "../../app.py"
PAGE = "pages/3_History.py"


def _table_with(at: AppTest, column: str) -> pd.DataFrame:
    return next(df.value for df in at.dataframe if column in df.value.columns)


def test_runs_in_the_url_are_compared_with_verdicts(database_url: str, unreachable_executor: str) -> None:
    populate(database_url, count=6, samples_per_run=300)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["runs"] = "1,2"
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert at.multiselect(key="history_selected").value == [1, 2]
    assert any("Compared with baseline #1" in h.value for h in at.subheader)
    comparison = _table_with(at, "verdict")
    assert list(comparison["metric"]) == [
        "mean latency",
        "p50 latency",
        "p95 latency",
        "p99 latency",
        "error rate",
    ]
    assert all(("significant" in v) or ("not enough data" in v) for v in comparison["verdict"])
    assert len(at.get("plotly_chart")) == 3


def test_selection_is_written_to_the_url(database_url: str, unreachable_executor: str) -> None:
    populate(database_url, count=4, samples_per_run=50)
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page(PAGE).run()
    at.multiselect(key="history_selected").set_value([3, 1]).run()
    assert not at.exception, at.exception
    assert at.query_params["runs"] in ("3,1", ["3,1"])
    at.multiselect(key="history_selected").set_value([]).run()
    assert "runs" not in at.query_params


def test_unknown_and_malformed_ids_in_the_url_do_not_break_the_page(
    database_url: str, unreachable_executor: str
) -> None:
    populate(database_url, count=2, samples_per_run=10)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["runs"] = "1,abc,999"
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert any("#999" in w.value for w in at.warning)


def test_filters_narrow_the_table(database_url: str, unreachable_executor: str) -> None:
    populate(database_url, count=30, samples_per_run=10)
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page(PAGE).run()
    service = at.multiselect(key="history_service").options[0]
    at.multiselect(key="history_service").set_value([service]).run()
    table = _table_with(at, "fault_type")
    assert set(table["service"]) == {service}
