"""The history page compares runs chosen in the URL and keeps the selection in the URL."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest
from sqlmodel import Session
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

import storage
from dashboard import names
from storage import RunStatus
from tests.dashboard.conftest import populate

APP = "../../Home.py"
PAGE = "pages/3_History.py"


def _table_with(at: AppTest, column: str) -> pd.DataFrame:
    return next(df.value for df in at.dataframe if column in df.value.columns)


def _table(at: AppTest, key: str) -> pd.DataFrame:
    return next(df.value for df in at.dataframe if df.key == key)


def _history(
    database_url: str, *, count: int, samples: int, context: dict[str, Any] | None = None, **query: str
) -> AppTest:
    """Write `count` demo runs, open History (browser `context`, `query` in its URL), check it ran cleanly."""
    populate(database_url, count=count, samples_per_run=samples)
    at = AppTest.from_file(APP, default_timeout=60)
    at.context = context or {}
    for name, value in query.items():
        at.query_params[name] = value
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


@pytest.mark.slow
def test_runs_in_the_url_are_compared_with_verdicts(database_url: str, unreachable_executor: str) -> None:
    at = _history(database_url, count=6, samples=300, runs="1,2")
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
    at = _history(database_url, count=4, samples=50)
    at.multiselect(key="history_selected").set_value([3, 1]).run()
    assert not at.exception, at.exception
    assert at.query_params["runs"] in ("3,1", ["3,1"])
    at.multiselect(key="history_selected").set_value([]).run()
    assert "runs" not in at.query_params


@pytest.mark.slow
def test_unknown_and_malformed_ids_in_the_url_do_not_break_the_page(
    database_url: str, unreachable_executor: str
) -> None:
    at = _history(database_url, count=2, samples=10, runs="1,abc,999")
    assert any("#999" in w.value for w in at.warning)


@pytest.mark.slow
def test_filters_narrow_the_table(database_url: str, unreachable_executor: str) -> None:
    at = _history(database_url, count=30, samples=10)
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
    assert set(status.options) == {names.status_name(s) for s in RunStatus}
    status.set_value(["guardrail_stop"]).run()
    assert not at.exception, at.exception
    table = _table_with(at, "fault_type")
    assert list(table["id"]) == [guarded] and list(table["status"]) == ["Guardrail stop"]
    at.multiselect(key="history_status").set_value(["cancelled"]).run()
    assert list(_table_with(at, "fault_type")["id"]) == [halted]
    assert at.query_params["status"] in ("cancelled", ["cancelled"])


@pytest.mark.slow
def test_home_shows_a_guardrail_stop_with_its_reason(database_url: str, unreachable_executor: str) -> None:
    (run_id,) = _finished_runs(
        database_url, [(RunStatus.GUARDRAIL_STOP, "guardrail: p99 latency 900 ms exceeded 500 ms")]
    )
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    texts = [w.value for w in at.warning]
    assert any(
        f"Run #{run_id} :material/shield: Guardrail stop" in t
        and "guardrail: p99 latency 900 ms exceeded" in t
        for t in texts
    ), texts


@pytest.mark.slow
def test_each_run_in_the_table_links_to_its_page(database_url: str, unreachable_executor: str) -> None:
    at = _history(database_url, count=3, samples=10)
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
    assert list(_table_with(at, "verdict")["verdict"]) == ["Held"]  # its display name
    at.multiselect(key="history_verdict").set_value([]).run()
    assert "verdict" not in at.query_params
    assert len(_table_with(at, "verdict")) == 5


def _columns(at: AppTest, key: str) -> dict[str, dict[str, Any]]:
    """Return the column configuration a keyed table sends to the browser (header labels, types)."""
    proto = next(df.proto for df in at.dataframe if df.key == key)
    return dict(json.loads(proto.columns))


@pytest.mark.slow
def test_the_table_has_headers_in_words_and_times_in_the_browsers_zone(
    database_url: str, unreachable_executor: str
) -> None:
    at = _history(database_url, count=3, samples=10, context={"timezone": "America/New_York"})
    shown = next(df.proto for df in at.dataframe if df.key == "history_table").column_order
    columns = _columns(at, "history_table")
    labels = [columns[name]["label"] for name in shown]
    assert labels[:5] == ["Run", "Created", "Result", "Target", "Fault"]
    assert all(re.fullmatch(r"[A-Za-z0-9]+( [A-Za-z0-9]+)*", label) for label in labels), labels
    assert columns["created_at"]["type_config"]["timezone"] == "America/New_York"
    assert "launched_by" not in shown  # nobody logged in launched these
    table = _table(at, "history_table")
    assert str(table["created_at"].dtype).startswith("datetime64")
    assert all(round(v, 2) == v for v in table["error_rate_pct"].dropna())
    assert any("times in America/New_York" in c.value for c in at.caption)


@pytest.mark.slow
def test_selecting_a_row_opens_that_runs_page(database_url: str, unreachable_executor: str) -> None:
    at = _history(database_url, count=3, samples=10)
    table = _table(at, "history_table")
    at.session_state["history_table"] = {"selection": {"rows": [1], "columns": []}}
    at.run()
    assert not at.exception, at.exception
    assert at.query_params["run"] in (str(table["id"][1]), [str(table["id"][1])])
    assert any(f"#{table['id'][1]}" in t.value for t in at.title), [t.value for t in at.title]


@pytest.mark.slow
def test_every_filter_is_read_from_and_written_to_the_url(
    database_url: str, unreachable_executor: str
) -> None:
    at = _history(
        database_url,
        count=30,
        samples=10,
        service="payment,nobody",
        fault="delay",
        status="completed",
        verdict="held",
        q="demo",
        created="7d",
        rows="50",
    )
    assert at.multiselect(key="history_service").value == ["payment"]  # unknown services are dropped
    assert at.multiselect(key="history_fault_type").value == ["delay"]
    assert at.multiselect(key="history_status").value == ["completed"]
    assert at.multiselect(key="history_verdict").value == ["held"]
    assert at.text_input(key="history_search").value == "demo"
    assert at.selectbox(key="history_within").value == "last 7 days"
    assert at.selectbox(key="history_limit").value == 50
    assert at.query_params["service"] in ("payment", ["payment"])
    at.multiselect(key="history_verdict").set_value([]).run()
    at.multiselect(key="history_api").set_value([at.multiselect(key="history_api").options[0]]).run()
    at.selectbox(key="history_within").set_value("any time").run()
    at.text_input(key="history_search").set_value("").run()
    assert not at.exception, at.exception
    assert (
        "verdict" not in at.query_params and "created" not in at.query_params and "q" not in at.query_params
    )
    assert "api" in at.query_params


@pytest.mark.slow
def test_a_comparison_says_once_per_run_what_differs_and_rounds_its_fractions(
    database_url: str, unreachable_executor: str
) -> None:
    at = _history(database_url, count=4, samples=300, runs="1,2,3")
    summary = [m.value for m in at.markdown if "against #1" in m.value]
    assert (
        len(summary) == 1 and summary[0].count("\n") == 1
    )  # two candidates: two bullets, not one per metric
    assert "**#2** against #1" in summary[0] and "**#3** against #1" in summary[0]
    fractions = _table_with(at, "configured (%)")
    assert list(fractions.columns)[:5] == ["run", "requests", "affected", "configured (%)", "achieved (%)"]
    assert all(round(v, 1) == v for v in fractions["achieved (%)"])
    chart = next(c for c in at.get("plotly_chart") if "fault fraction" in c.proto.spec)
    assert json.loads(chart.proto.spec)["layout"]["xaxis"]["type"] == "category"


def _record_download_names(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the file name of every download the page offers (AppTest's media URLs do not carry it)."""
    names: list[str] = []
    original = MemoryMediaFileStorage.load_and_get_id

    def load_and_get_id(
        self: MemoryMediaFileStorage, data: Any, mimetype: str, kind: Any, filename: str | None = None
    ) -> str:
        names.append(str(filename))
        return original(self, data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", load_and_get_id)
    return names


@pytest.mark.slow
def test_downloads_are_named_after_what_they_hold(
    database_url: str, unreachable_executor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    populate(database_url, count=12, samples_per_run=20)
    offered = _record_download_names(monkeypatch)
    at = AppTest.from_file(APP, default_timeout=60)
    at.context = {"timezone": "UTC"}
    at.query_params["fault"] = "delay"
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    day = datetime.now(UTC).date().isoformat()
    assert offered[-2:] == [f"boifi-runs-delay-{day}.csv", f"boifi-runs-delay-{day}.json"]
    first, second = (int(i) for i in _table(at, "history_table")["id"][:2])
    at.multiselect(key="history_selected").set_value([second, first]).run()
    assert not at.exception, at.exception
    assert offered[-2:] == [
        f"boifi-runs-{second}-{first}-{day}.csv",
        f"boifi-comparison-{second}-vs-{first}-{day}.json",
    ]
