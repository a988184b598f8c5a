"""The run page at /Run?run=<id>: a stored run in full, and a plain message for a missing or bad id."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.dashboard.run_pages import STARTED, finished_run, phased_run, running_run

APP = "../../Home.py"
PAGE = "pages/5_Run.py"


def _open(run: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["run"] = run
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _texts(at: AppTest) -> str:
    parts = [
        e.value for kind in ("title", "caption", "markdown", "error", "warning") for e in getattr(at, kind)
    ]
    return "\n".join(str(p) for p in parts)


@pytest.mark.slow
def test_a_stored_run_shows_its_plan_people_events_and_actions(
    database_url: str, unreachable_executor: str
) -> None:
    run_id = finished_run(database_url)
    at = _open(str(run_id))
    assert at.title[0].value.startswith(
        f":material/query_stats: Run #{run_id} — delay on payment/api/v1/payment/process"
    )
    metrics = _metrics(at)
    assert metrics["verdict"] == "No hypothesis"
    assert metrics["duration"] == "6.0 s"
    assert metrics["severity score (0–100)"] == "–"
    text = _texts(at)
    assert "launched by ada@example.org" in text
    assert f"started {STARTED:%Y-%m-%d %H:%M:%S} UTC" in text
    assert "labels: smoke, nightly" in text
    events = next(df.value for df in at.dataframe if "event" in df.value.columns)
    assert list(events["event"]) == ["retry", "breaker", "breaker"]  # another run's retry is not listed
    assert list(events["t (s)"]) == [1.0, 2.0, 4.0]
    assert "CLOSED → OPEN" in set(events["detail"])
    assert [b.proto.label for b in at.get("download_button")] == ["Export JSON", "Export CSV"]
    links = {link.proto.label: link.proto for link in at.get("page_link")}
    assert (links["Re-run"].page, links["Re-run"].query_string) == ("Launch", f"rerun={run_id}")
    assert (links["Compare with…"].page, links["Compare with…"].query_string) == ("History", f"runs={run_id}")
    assert len(at.get("plotly_chart")) == 1


@pytest.mark.slow
@pytest.mark.parametrize(
    ("given", "said"), [("abc", "No run chosen"), ("0", "No run chosen"), ("999", "no run #999")]
)
def test_a_missing_or_bad_run_id_is_said_plainly(
    database_url: str, unreachable_executor: str, given: str, said: str
) -> None:
    finished_run(database_url)
    at = _open(given)
    assert any(said in e.value for e in at.error)
    assert not at.get("plotly_chart")


@pytest.mark.slow
def test_a_phased_run_shows_its_verdict_phases_and_differences(
    database_url: str, unreachable_executor: str
) -> None:
    run_id = phased_run(database_url)
    at = _open(str(run_id))
    metrics = _metrics(at)
    assert metrics["verdict"] == ":material/local_fire_department: Deviated during the fault"
    assert metrics["severity score (0–100)"] == "42.2"
    warnings = [w.value for w in at.warning]
    assert "Deviation — fault: p99 latency 312.5 ms > limit 300.0 ms (+12.5 ms)" in warnings
    assert "Deviation — fault: error rate 10.0 % > limit 5.0 % (+5.0 %)" in warnings
    text = _texts(at)
    assert "Recovery: back inside the hypothesis 0.5 s after the fault ended." in text
    assert "The fault's own target payment/api/v1/payment/process: 37 of 80 requests hit." in text
    phases = next(df.value for df in at.dataframe if "phase" in df.value.columns)
    assert list(phases["phase"]) == ["baseline", "fault", "recovery"]
    assert list(phases["samples"]) == [40, 40, 40]
    assert list(phases["p99 (ms)"]) == [20.0, 312.5, 21.0]
    assert list(phases["error rate (%)"]) == [0.0, 10.0, 0.0]
    differences = next(df.value for df in at.dataframe if "fault − baseline" in df.value.columns)
    assert list(differences["measure"]) == ["p50 latency", "p95 latency", "p99 latency", "error rate"]
    assert differences["fault − baseline"][0].startswith("+2")  # the fault's 220 ms more


@pytest.mark.slow
def test_a_run_in_progress_draws_the_phases_its_plan_asks_for(
    database_url: str, unreachable_executor: str
) -> None:
    run_id = running_run(database_url)
    at = _open(str(run_id))
    assert _metrics(at)["verdict"] == "No hypothesis"
    chart = at.get("plotly_chart")[0].proto.spec
    assert all(name in chart for name in ('"phase baseline"', '"phase fault"', '"phase recovery"'))
