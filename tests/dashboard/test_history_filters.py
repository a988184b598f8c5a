"""History: filters round-trip through the URL, download names say what they hold, summaries stay short."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np

import storage
from dashboard import history_filters as hf
from dashboard import history_table
from dashboard.compare import compare_all, fraction_rows, fraction_table, verdict_summary
from dashboard.data import RunView
from dashboard.names import result_name

OFFERED = {
    "history_service": ["orders", "payment"],
    "history_api": ["/pay"],
    "history_fault_type": ["abort", "delay"],
    "history_status": ["completed", "failed"],
    "history_verdict": ["held", "deviated"],
}
DAY = date(2026, 12, 4)


def test_a_url_seeds_every_filter_and_drops_what_no_widget_offers() -> None:
    query = {
        "service": "payment,ghost,payment",
        "fault": ["abort", "delay"],  # repeated: the last one wins
        "status": "failed",
        "verdict": "deviated",
        "q": "canary",
        "created": "24h",
        "rows": "7",
        "runs": "3,7",
    }
    values = hf.initial_values(query, OFFERED)
    assert values == {
        "history_service": ["payment"],
        "history_api": [],
        "history_fault_type": ["delay"],
        "history_status": ["failed"],
        "history_verdict": ["deviated"],
        "history_search": "canary",
        "history_within": "last 24 hours",
        "history_limit": hf.DEFAULT_ROWS,  # 7 is no choice of the widget
    }


def test_writing_the_filters_keeps_other_parameters_and_drops_defaults() -> None:
    query: dict[str, str] = {"runs": "3,7", "q": "old", "created": "7d"}
    values = hf.initial_values({}, OFFERED) | {
        "history_service": ["orders", "payment"],
        "history_limit": 50,
    }
    hf.write_query(query, values)
    assert query == {"runs": "3,7", "service": "orders,payment", "rows": "50"}
    assert hf.initial_values(query, OFFERED) == values  # the URL gives back what was written


def test_seeding_keeps_the_users_choice_but_not_values_no_longer_offered() -> None:
    state: dict[str, object] = {"history_service": ["payment", "gone"], "history_search": "mine"}
    hf.seed_widgets(state, {"q": "from-url", "status": "failed"}, OFFERED)
    assert state["history_service"] == ["payment"]
    assert state["history_search"] == "mine"  # the URL seeds a widget only the first time
    assert state["history_status"] == ["failed"]


def test_created_within_counts_back_from_now() -> None:
    now = datetime(2026, 12, 4, 20, 0, tzinfo=UTC)
    assert hf.since("any time", now=now) is None
    assert hf.since("last 7 days", now=now) == now - timedelta(days=7)


def test_download_names_say_which_runs_or_filters_and_the_day() -> None:
    none = hf.initial_values({}, OFFERED)
    assert hf.download_name(none, selected=[], day=DAY, extension="csv") == "boifi-runs-all-2026-12-04.csv"
    filtered = none | {"history_service": ["payment"], "history_fault_type": ["abort"], "history_limit": 50}
    assert hf.download_name(filtered, selected=[], day=DAY, extension="csv") == (
        "boifi-runs-payment-abort-2026-12-04.csv"
    )
    searched = none | {"history_search": "Canary / EU?", "history_within": "last hour"}
    assert hf.download_name(searched, selected=[], day=DAY, extension="json") == (
        "boifi-runs-canary-eu-1h-2026-12-04.json"
    )
    assert hf.download_name(none, selected=[3, 7], day=DAY, extension="json", comparison=True) == (
        "boifi-comparison-3-vs-7-2026-12-04.json"
    )
    assert hf.download_name(none, selected=[3], day=DAY, extension="json", comparison=True) == (
        "boifi-runs-3-2026-12-04.json"
    )
    long = none | {"history_search": "x" * 200}
    name = hf.download_name(long, selected=[], day=DAY, extension="csv")
    assert (
        name.endswith("-2026-12-04.csv") and len(name) <= len("boifi-runs--2026-12-04.csv") + hf.MAX_NAME_PART
    )


def test_an_unknown_browser_time_zone_falls_back_to_utc() -> None:
    assert history_table.browser_timezone("Europe/Berlin") == "Europe/Berlin"
    assert history_table.browser_timezone("Mars/Olympus") == "UTC"
    assert history_table.browser_timezone(None) == "UTC"


def _view(run_id: int, latency_ms: np.ndarray, *, errors: int = 0, affected_every: int = 2) -> RunView:
    samples = np.zeros(latency_ms.size, dtype=storage.SAMPLE_DTYPE)
    samples["latency_ms"] = latency_ms
    samples["status_code"] = 200
    samples["status_code"][:errors] = 503
    samples["affected"] = (np.arange(latency_ms.size) % affected_every) == 0
    run = storage.Run(
        id=run_id,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        service="payment",
        api="/pay",
        fault_type="delay",
        percentage=33,
    )
    return RunView(run=run, timeline=[], samples=samples)


def test_the_verdict_summary_is_one_line_per_candidate_naming_what_differs() -> None:
    rng = np.random.default_rng(0)
    base = _view(1, rng.lognormal(2.0, 0.2, 500))
    slower = _view(2, rng.lognormal(3.4, 0.2, 500), errors=100)
    same = _view(3, rng.lognormal(2.0, 0.2, 500))
    lines = verdict_summary(compare_all(base, [slower, same]))
    assert len(lines) == 2  # ten comparisons, two lines
    assert lines[0] == (
        "**#2** against #1: higher mean latency, p50 latency, p95 latency, p99 latency, error rate"
    )
    assert lines[1].startswith("**#3** against #1: ") and "higher" not in lines[1]
    assert "no significant difference" in lines[1]


def test_the_fraction_table_rounds_to_one_decimal_with_headers_in_words() -> None:
    (row,) = fraction_table(fraction_rows([_view(1, np.full(1000, 5.0), affected_every=3)]))
    assert row["run"] == "#1" and row["achieved (%)"] == 33.4 and row["configured (%)"] == 33
    assert row["95 % interval (%)"].count(".") == 2 and row["as configured"] == "yes"


def test_a_finished_runs_result_is_its_verdict_and_score_else_its_status() -> None:
    assert result_name("completed", "deviated", 61.6) == "Deviated · 62"
    assert result_name("completed", "held", None) == "Held"
    assert result_name("completed", None, None) == "Completed"
    assert result_name("guardrail_stop", "guardrail_stop", None) == "Guardrail stop"
    assert result_name("failed", "held", 3.0) == "Failed"  # a failure wins over an earlier judgement
