"""Streamlit glue of BOIFI Console, tested without a browser.

- `factories`: the process-wide ConsoleHolder (services/holder.py) cached with `st.cache_resource`
- `data`, `cached`: reads for the pages as plain values; `st.cache_data` for slow or remote reads
- `forms`, `launch`: form values → validated FaultPlan / Guardrail / client config; launching runs
- `intervals`, `compare`: bootstrap and score intervals, verdicts, comparison tables and exports
- `timeline`: time-series geometry (breaker bands, observed spans, gaps, min/max downsampling), no plotly
- `charts`: Plotly figures (breaker bands drawn behind, WebGL above 2,000 points)
- `components`: the Executor banner, run cards and tables
"""
