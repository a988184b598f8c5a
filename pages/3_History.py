"""History: filter runs, compare a selection with honest statistics, export, share the selection by URL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import streamlit as st

from dashboard import auth, cached, compare, data, links, page_style
from dashboard.charts import fault_fraction_figure, latency_ecdf_figure, latency_overlay_figure
from dashboard.components import RUN_STATUSES, require_console, storage_reads

page_style.set_page("History · BOIFI Console", icon=":material/history:")
auth.require_login()  # with a login configured, nothing else shows until it succeeds
st.title(":material/history: History and comparison")
holder, console = require_console()
CREATED_WITHIN = {"any time": None, "last hour": 1, "last 24 hours": 24, "last 7 days": 24 * 7}

with storage_reads(stop=True):  # not live: on an outage the page stops here and reruns by itself
    options = data.filter_options(console.engine)
f1, f2, f3, f4 = st.columns(4)
services = f1.multiselect("service", options.get("services", []), key="history_service")
apis = f2.multiselect("api", options.get("apis", []), key="history_api")
fault_types = f3.multiselect("fault type", options.get("fault_types", []), key="history_fault_type")
statuses = f4.multiselect("status", RUN_STATUSES, key="history_status")
s1, s2, s3, s4 = st.columns([3, 2, 1, 1])
search = s1.text_input("search (labels, notes, target)", key="history_search")
# The verdict filter lives in the URL (?verdict=deviated,not_recovered), like the selection below.
if "history_verdict" not in st.session_state:
    st.session_state["history_verdict"] = data.parse_verdicts(st.query_params.get_all("verdict"))
verdicts = s2.multiselect("verdict", data.VERDICTS, key="history_verdict")
if verdicts:
    st.query_params["verdict"] = ",".join(verdicts)
elif "verdict" in st.query_params:
    del st.query_params["verdict"]
within = s3.selectbox("created", list(CREATED_WITHIN), key="history_within")
limit = s4.selectbox("rows", (50, 200, 1000), index=1, key="history_limit")
hours = CREATED_WITHIN[within]
since = None if hours is None else datetime.now(UTC) - timedelta(hours=hours)

with storage_reads(stop=True):
    runs, total = data.find_runs(
        console.engine,
        limit=int(limit),
        service=services or None,
        api=apis or None,
        fault_type=fault_types or None,
        status=statuses or None,
        verdict=verdicts or None,
        search=search.strip() or None,
        since=since,
    )
st.caption(f"{total:,} runs match; showing {len(runs):,}.")
frame = data.runs_frame(runs)
if frame.empty:
    st.info("No runs match. Launch an experiment first, or clear the filters.")
else:
    shown = [
        c for c in ("id", "status", "created_at", "service", "api", "fault_type", "percentage") if c in frame
    ]
    shown += [c for c in ("request_count", "error_rate_pct", "p95_latency_ms", "labels") if c in frame]
    shown += [c for c in ("launched_by",) if c in frame]  # who launched it, with a dashboard login
    shown += [c for c in ("verdict", "severity_score") if c in frame]  # an experiment's outcome
    table = frame[shown].assign(page=[links.run_page_url(int(run_id)) for run_id in frame["id"]])
    st.dataframe(
        table,
        hide_index=True,
        key="history_table",
        column_config={"page": st.column_config.LinkColumn("page", display_text="open run")},
    )

# The selection lives in the URL (?runs=3,7) so that a comparison can be shared.
url_ids = compare.parse_run_ids(st.query_params.get("runs"))
if "history_selected" not in st.session_state:
    st.session_state["history_selected"] = url_ids
choices = list(
    dict.fromkeys([*url_ids, *st.session_state["history_selected"], *(int(r.id) for r in runs if r.id)])
)
labels = {int(r.id): data.run_label(r) for r in runs if r.id}
selected = st.multiselect(
    "runs to compare (the first is the baseline)",
    choices,
    key="history_selected",
    format_func=lambda run_id: labels.get(run_id, f"#{run_id}"),
)
if selected:
    st.query_params["runs"] = ",".join(str(run_id) for run_id in selected)
elif "runs" in st.query_params:
    del st.query_params["runs"]

comparisons: list[compare.CandidateComparison] = []
with storage_reads(stop=True):
    views = data.load_runs(console.engine, selected) if selected else []
missing = [run_id for run_id in selected if run_id not in {v.run.id for v in views}]
if missing:
    st.warning(f"Runs not found: {', '.join(f'#{m}' for m in missing)}")
if len(views) >= 2:
    baseline, candidates = views[0], views[1:]
    st.subheader(f"Compared with baseline #{baseline.run.id}")
    key = cached.comparison_key(views, str(console.engine.url))
    comparisons = cached.comparisons(views, key)
    comparison_rows = compare.display_rows(comparisons)
    for item in comparisons:
        if item.result.outcome.significant:
            st.markdown(f"- **#{item.candidate_id}**: {item.result.verdict}")
    st.dataframe(comparison_rows, hide_index=True, key="history_comparison")
    st.plotly_chart(latency_overlay_figure([(v.label, v.timeline) for v in views]), key="history_overlay")
    st.plotly_chart(
        latency_ecdf_figure([(v.label, v.samples["latency_ms"]) for v in views if v.samples.size]),
        key="history_ecdf",
    )
    fractions = compare.fraction_rows(views)
    st.plotly_chart(fault_fraction_figure(fractions), key="history_fraction")
    st.dataframe(compare.fraction_table(fractions), hide_index=True, key="history_fraction_table")
elif len(views) == 1:
    st.caption("Select a second run to compare.")

st.subheader("Export")
st.caption(
    "The selected runs, or else the runs listed above: the same records `boifi runs export` writes "
    "(rates in percent, latencies in ms, times in ISO 8601 UTC)."
)
e1, e2 = st.columns(2)
export_runs = [v.run for v in views] if views else runs
e1.download_button(
    "Download CSV",
    compare.export_csv(export_runs),
    file_name="boifi-runs.csv",
    mime="text/csv",
    key="history_csv",
)
e2.download_button(
    "Download JSON",
    compare.export_json(export_runs, comparisons),
    file_name="boifi-runs.json",
    mime="application/json",
    key="history_json",
)
