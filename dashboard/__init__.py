"""Streamlit glue of BOIFI Console, tested without a browser.

- `factories`: the process-wide ConsoleHolder (services/holder.py) cached with `st.cache_resource`
- `data`, `cached`: reads for the pages as plain values; `st.cache_data` for slow or remote reads
- `forms`, `launch`: form values → validated FaultPlan / Guardrail / client config; launching runs
- `compare`: comparison tables and exports (the statistics are `client.intervals`)
- `timeline`: time-series geometry (breaker bands, observed spans, gaps, min/max downsampling), no plotly
- `charts`: Plotly figures (breaker bands drawn behind, WebGL above 2,000 points)
- `components`: the Executor banner, run cards and tables
- `links`: the run page's URL (`run_page_url`) and `st.page_link` arguments to it, Re-run and Compare with…
- `run_detail`, `phase_chart`: the run page: verdict words, phase rows, differences, events; its chart
- `experiment_form`: the Launch form's experiment fields (phases, observed entry point, hypothesis)
"""
