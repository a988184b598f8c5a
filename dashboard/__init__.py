"""Streamlit glue of BOIFI Console, tested without a browser.

- `factories`: the process-wide ConsoleHolder (`st.cache_resource`), embedded executor when no URL is set
- `data`, `cached`: reads for the pages as plain values; `st.cache_data` for slow or remote reads
- `forms`, `launch`: form values → validated FaultPlan / Guardrail / client config; launching runs
- `stats`, `compare`: bootstrap and score intervals, verdicts, comparison tables and exports
- `charts`: Plotly figures (breaker bands, WebGL above 2,000 points, min/max downsampling)
- `components`: the Executor banner, run cards and tables
"""
