"""Home says what the data says: no runs, finished runs only, or active runs with their page and Halt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

import storage
from client import FaultType
from dashboard.factories import get_holder
from tests.dashboard.conftest import populate
from tests.plans import payment_delay
from tests.waiting import wait_until

APP = "../../Home.py"


def _home() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    return at


def _texts(at: AppTest) -> list[str]:
    return [e.value for e in (*at.subheader, *at.caption, *at.markdown, *at.info, *at.error, *at.warning)]


def _add_failed_run(database_url: str) -> int:
    """Store a run that failed before it measured anything: every number is missing."""
    engine = storage.make_engine(database_url)
    try:
        storage.init_db(engine)
        with Session(engine) as session:
            now = datetime.now(UTC)
            run = storage.Run(
                created_at=now, started_at=now, finished_at=now + timedelta(seconds=1),
                status=storage.RunStatus.FAILED, service="payment", api="/api/v1/payment/process",
                fault_type=FaultType.DELAY, percentage=50, duration_seconds=5, error="Executor unreachable",
            )  # fmt: skip
            session.add(run)
            session.commit()
            assert run.id is not None
            return run.id
    finally:
        engine.dispose()


def test_with_no_runs_home_says_so_once_per_section(unreachable_executor: str) -> None:
    at = _home()
    texts = _texts(at)
    assert "Active runs (0)" in texts
    assert "No runs yet: launch an experiment and it shows here while it runs." in texts
    assert "No runs yet." in texts
    assert not at.dataframe


def test_with_finished_runs_none_active_is_said_without_no_runs_yet(
    database_url: str, unreachable_executor: str
) -> None:
    populate(database_url, count=3, samples_per_run=10)
    failed = _add_failed_run(database_url)
    at = _home()
    texts = _texts(at)
    assert "Active runs (0)" in texts
    assert "None active right now; 4 runs in all, the latest below." in texts
    assert "All 4 runs, newest first." in texts
    assert not any("No runs yet" in text for text in texts), texts
    table = at.dataframe[0].value
    row = table[table["run"] == failed].iloc[0]
    assert (row["error rate"], row["p95 latency"]) == ("–", "–")
    assert row["page"] == f"/Run?run={failed}"
    cells = [str(value) for value in table.to_numpy().ravel()]
    assert "None" not in cells and "nan" not in cells, cells


@pytest.mark.slow
def test_an_active_run_is_listed_with_its_page_and_halted_from_home(
    live_executor: str, database_url: str
) -> None:
    console = get_holder().console()
    run_id = console.runner.submit(payment_delay(delay_seconds=0.01, percentage=10, duration_seconds=60))
    wait_until(lambda: run_id in console.runner.active_run_ids(), what=f"run {run_id} to be active")
    at = _home()
    texts = _texts(at)
    assert "Active runs (1)" in texts
    assert not any("No runs yet" in text or "None active" in text for text in texts), texts
    assert any(text.startswith(f"**#{run_id}**") for text in texts), texts
    links = [link for link in at.get("page_link") if f"run #{run_id}" in link.proto.label]
    assert links and (links[0].proto.page, links[0].proto.query_string) == ("Run", f"run={run_id}")
    at.button(key=f"home_halt_{run_id}").click().run()
    assert not at.exception, at.exception
    assert console.runner.wait(run_id, timeout=30)
    engine = storage.make_engine(database_url)
    try:
        with Session(engine) as session:
            run = session.get(storage.Run, run_id)
            assert run is not None and run.status is storage.RunStatus.CANCELLED
    finally:
        engine.dispose()
    assert any(f"halting run #{run_id}" in i.value for i in at.info), [i.value for i in at.info]
