"""History: filter runs, compare a selection with honest statistics, export, share the selection by URL."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import streamlit as st

from dashboard import auth, cached, compare, data, history_filters, history_table, links, names, page_style
from dashboard.charts import fault_fraction_figure, latency_ecdf_figure, latency_overlay_figure
from dashboard.components import RUN_STATUSES, require_console, storage_reads

page_style.set_page("History · BOIFI Console", icon=":material/history:")
auth.require_login()  # with a login configured, nothing else shows until it succeeds
st.title(":material/history: History and comparison")
holder, console = require_console()

with storage_reads(stop=True):  # not live: on an outage the page stops here and reruns by itself
    options = data.filter_options(console.engine)
offered = {
    "history_service": options.get("services", []),
    "history_api": options.get("apis", []),
    "history_fault_type": options.get("fault_types", []),
    "history_status": list(RUN_STATUSES),
    "history_verdict": list(data.VERDICTS),
}
history_filters.seed_widgets(st.session_state, st.query_params, offered)  # the URL's filters, once
f1, f2, f3, f4, f5 = st.columns(5)
services = f1.multiselect("Service", offered["history_service"], key="history_service")
apis = f2.multiselect("API", offered["history_api"], key="history_api")
fault_types = f3.multiselect("Fault type", offered["history_fault_type"], key="history_fault_type")
statuses = f4.multiselect(
    "Status", offered["history_status"], key="history_status", format_func=names.status_name
)
verdicts = f5.multiselect(
    "Verdict", offered["history_verdict"], key="history_verdict", format_func=names.verdict_short_name
)
s1, s2, s3 = st.columns([3, 1, 1])
search = s1.text_input("Search labels, notes, target", key="history_search")
within = s2.selectbox("Created", list(history_filters.CREATED_WITHIN), key="history_within")
limit = s3.selectbox("Rows", history_filters.ROW_LIMITS, key="history_limit")
filter_values = {item.key: st.session_state[item.key] for item in history_filters.FILTERS}
history_filters.write_query(st.query_params, filter_values)
timezone = history_table.browser_timezone(st.context.timezone)

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
        since=history_filters.since(within, now=datetime.now(UTC)),
    )
st.caption(f"{total:,} runs match; showing {len(runs):,}. Select a row to open its run; times in {timezone}.")
frame = history_table.history_frame(runs)
if frame.empty:
    st.info("No runs match. Launch an experiment first, or clear the filters.")
else:
    event = st.dataframe(
        frame,
        hide_index=True,
        key="history_table",
        column_order=history_table.shown_columns(frame),
        column_config=history_table.column_config(timezone),
        on_select="rerun",
        selection_mode="single-row",
    )
    opened = history_table.selected_run(frame, event.selection.rows)
    if opened is not None:
        st.switch_page(links.RUN_PAGE, query_params={links.RUN_QUERY: str(opened)})

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
    st.markdown("\n".join(f"- {line}" for line in compare.verdict_summary(comparisons)))
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
exported_ids = [int(v.run.id) for v in views if v.run.id is not None]
today = datetime.now(ZoneInfo(timezone)).date()
e1.download_button(
    "Download CSV",
    compare.export_csv(export_runs),
    file_name=history_filters.download_name(filter_values, selected=exported_ids, day=today, extension="csv"),
    mime="text/csv",
    key="history_csv",
)
e2.download_button(
    "Download JSON",
    compare.export_json(export_runs, comparisons),
    file_name=history_filters.download_name(
        filter_values, selected=exported_ids, day=today, extension="json", comparison=bool(comparisons)
    ),
    mime="application/json",
    key="history_json",
)
