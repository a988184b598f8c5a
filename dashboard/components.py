"""Small Streamlit pieces shared by the pages: Executor and storage banners, run cards, the console guard."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import streamlit as st

import storage
from client import BreakerState
from dashboard import data, links, names, result_text, run_detail
from dashboard.factories import get_holder, get_read_outage_log
from dashboard.history_table import browser_timezone
from services.console import Console
from services.holder import ConsoleHolder
from services.run_recording import run_warning

if TYPE_CHECKING:
    from services.spool import StorageBacklog

logger = logging.getLogger(__name__)

STATUS_ICONS = {
    storage.RunStatus.QUEUED: ":material/hourglass_empty:",
    storage.RunStatus.RUNNING: ":material/play_circle:",
    storage.RunStatus.COMPLETED: ":material/check_circle:",
    storage.RunStatus.FAILED: ":material/cancel:",
    storage.RunStatus.CANCELLED: ":material/stop_circle:",
    storage.RunStatus.INTERRUPTED: ":material/warning:",
    storage.RunStatus.GUARDRAIL_STOP: ":material/shield:",
}
RUN_STATUSES = tuple(status.value for status in storage.RunStatus)
STORAGE_BANNER_REFRESH_SEC = 2.0
STORAGE_RETRY_SEC = 2.0
_RETRY_ARMED = "_storage_reads_retry_armed"


def require_holder() -> ConsoleHolder:
    """Return the shared holder, or show why it could not start (bad BOIFI_* settings) and stop the page."""
    try:
        return get_holder()
    except Exception as exc:  # a page must show the reason, never a traceback
        _log_start_failure("could not start the dashboard", exc)
        st.error(f"BOIFI Console could not start: {exc}. Fix the BOIFI_* environment variables and restart.")
        st.stop()
        raise  # st.stop raises; this keeps type checkers honest


def try_console(holder: ConsoleHolder) -> Console | None:
    """Return the shared Console, or show why it could not be built and return None."""
    try:
        console = holder.console()
    except Exception as exc:  # e.g. a database that cannot be opened: say so, the Settings page can fix it
        _log_start_failure("could not build the console", exc)
        st.error(
            f"BOIFI Console could not connect its database or client: {exc}. Fix it on the Settings page."
        )
        return None
    storage_banner(holder)
    return console


def _log_start_failure(what: str, exc: Exception) -> None:
    """Log why the dashboard cannot start: one line for a bad setting or storage outage, else a traceback."""
    from client.environment import SettingsError

    expected = (
        SettingsError,
        storage.DatabaseUrlError,
        storage.StorageUnavailableError,
        *storage.STORAGE_ERRORS,
    )
    if isinstance(exc, expected):
        logger.error("%s: %s", what, storage.describe_error(exc))
    else:
        logger.exception(what)


def storage_outage_text(backlog: StorageBacklog) -> str | None:
    """Return the storage banner's text for `backlog`, or None when storage has taken everything."""
    if backlog.empty:
        return None
    waiting = f"{backlog.samples:,} samples waiting"
    if backlog.summaries:
        waiting += f", {backlog.summaries} final {'summary' if backlog.summaries == 1 else 'summaries'}"
    runs = ", ".join(f"#{run_id}" for run_id in backlog.runs)
    where = "in memory" if not backlog.spooled_runs else "in memory and spool files"
    why = f" Storage said: {backlog.last_error}." if backlog.last_error else ""
    return (
        f"Storage unavailable: results are being kept {where}: {waiting} (runs {runs}). They are stored "
        f"as soon as the database answers again.{why}"
    )


@st.fragment(run_every=STORAGE_BANNER_REFRESH_SEC)
def storage_banner(holder: ConsoleHolder) -> None:
    """Show on every page what waits for an unavailable storage; redrawn every 2 s, gone once stored."""
    texts = []
    try:
        consoles = [holder.console(), *holder.retiring()]
    except Exception:  # the page itself says why there is no console
        return
    for console in consoles:
        text = storage_outage_text(console.runner.storage_backlog())
        if text is not None:
            texts.append(text)
    for text in texts:
        st.warning(text, icon=":material/database:")


def storage_unavailable_text(reason: str) -> str:
    """Return the one line a page shows when storage cannot answer its reads."""
    return (
        f"Storage unavailable: {reason} — results are kept in memory and written when it answers; "
        "this page retries by itself."
    )


@contextmanager
def storage_reads(*, stop: bool = False) -> Iterator[None]:
    """Show a storage outage inside the block as one line, not a traceback; the page retries by itself.

    Inside a live fragment the block is skipped and the fragment's next run tries again. With `stop`
    (a page that is not live) the page stops here and reruns in STORAGE_RETRY_SEC seconds.
    """
    try:
        yield
    except storage.StorageUnavailableError as exc:
        get_read_outage_log().failed(str(exc))  # logged once per outage, not at each retry
        st.error(storage_unavailable_text(str(exc)), icon=":material/database:")
        if stop:
            _rerun_soon()
            st.stop()
    else:
        get_read_outage_log().answered()


@st.fragment(run_every=STORAGE_RETRY_SEC)
def _rerun_soon() -> None:
    """Rerun the whole page on this fragment's first timed run (the page stopped at a storage outage)."""
    if st.session_state.pop(_RETRY_ARMED, False):
        st.rerun()
    st.session_state[_RETRY_ARMED] = True


def require_console() -> tuple[ConsoleHolder, Console]:
    """Return the shared holder and Console, or show why they could not start and stop the page."""
    holder = require_holder()
    console = try_console(holder)
    if console is None:
        st.stop()
        raise RuntimeError("unreachable: st.stop() raises")
    return holder, console


def executor_banner(holder: ConsoleHolder, console: Console) -> data.ExecutorStatus:
    """Show the Executor's URL, health and breaker state; a clear warning when it is unreachable."""
    status = data.executor_status(console, embedded=holder.config.embedded)
    where = "embedded executor (demo services)" if status.embedded else "Executor"
    text = f"{where} at `{status.url}` · circuit breaker **{status.breaker_state}**"
    if status.breaker_state is BreakerState.OPEN:
        st.error(
            f"Executor unreachable: circuit breaker OPEN, calls fail fast — {text}", icon=":material/error:"
        )
    elif status.healthy is False:
        st.warning(f"Executor unreachable or unhealthy — {text}", icon=":material/warning:")
    elif status.healthy is None:
        st.info(f"Checking the Executor — {text}", icon=":material/hourglass_empty:")
    else:
        st.success(f"Executor healthy — {text}", icon=":material/check_circle:")
    return status


def format_ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f} ms" if value >= 100 else f"{value:,.1f} ms"


def format_pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def status_text(run: storage.Run) -> str:
    """Return a run's status as shown: its icon and display name ("Guardrail stop", not guardrail_stop)."""
    status = storage.RunStatus(run.status)
    return f"{STATUS_ICONS[status]} {names.status_name(status)}"


def planned_seconds(run: storage.Run) -> float:
    """Return how long the run's plan lasts: its baseline, fault and recovery phases together."""
    plan = run.plan or {}
    return float(
        run.duration_seconds + int(plan.get("baseline_seconds") or 0) + int(plan.get("recovery_seconds") or 0)
    )


def elapsed_and_remaining(run: storage.Run, *, now: datetime | None = None) -> tuple[float, float]:
    """Return seconds since the run started and seconds left of its planned phases."""
    if run.started_at is None:
        return 0.0, planned_seconds(run)
    end = run.finished_at or now or datetime.now(UTC)
    elapsed = max(0.0, (end - run.started_at).total_seconds())
    return elapsed, max(0.0, planned_seconds(run) - elapsed)


def run_metrics(run: storage.Run) -> None:
    """Show a run's summary metrics as a row of numbers."""
    cols = st.columns(6)
    cols[0].metric("requests", f"{run.request_count:,}")
    cols[1].metric("affected", f"{run.affected_count:,}")
    cols[2].metric("error rate", format_pct(run.error_rate))
    cols[3].metric("p50 latency", format_ms(run.p50_latency_ms))
    cols[4].metric("p95 latency", format_ms(run.p95_latency_ms))
    cols[5].metric("p99 latency", format_ms(run.p99_latency_ms))


def result_card(run: storage.Run, *, link: bool = True, samples: np.ndarray | None = None) -> None:
    """Show the outcome of a finished run: status, times, labels, verdict and score, metrics, its page.

    `samples` (the run's stored requests) add its natural error rate, said the same way in every api mode.
    `link` False leaves the link out (a script with no pages to link to, as `AppTest.from_function`'s).
    """
    status = storage.RunStatus(run.status)
    fault = run.fault_type or ""  # None: a plan without a fault type
    headline = f"Run #{run.id} {status_text(run)} — {fault} on {run.service}{run.api} at {run.percentage}%"
    if status is storage.RunStatus.COMPLETED:
        st.success(headline)
        warning = run_warning(run)
        if warning:  # the run completed; its numbers may not mean what they seem
            st.warning(f"Warning: {warning}", icon=":material/warning:")
    elif status in (storage.RunStatus.FAILED, storage.RunStatus.INTERRUPTED):
        st.error(f"{headline}: {run.error or 'no error message'}")
    else:  # cancelled (someone halted it) or guardrail_stop (its guardrail did): say why
        st.warning(f"{headline}{': ' + run.stop_reason if run.stop_reason else ''}")
    st.caption(result_text.times_text(run, timezone=browser_timezone(st.context.timezone)))
    natural = result_text.natural_errors_text(samples) if samples is not None else None
    if natural:
        st.caption(natural)
    experiment = run_detail.experiment_of(run)
    if experiment.verdict is not None or experiment.severity_score is not None:
        verdict = run_detail.verdict_name(experiment.verdict)
        st.markdown(
            f"**{verdict}** · severity score {run_detail.score_text(experiment.severity_score)} / 100"
        )
    run_metrics(run)
    if link and run.id is not None:
        st.page_link(**links.run_page_link(run.id, label=f"Open run #{run.id}: phases, events, export"))


def runs_table(runs: list[storage.Run], *, key: str) -> None:
    """Show a compact table of runs."""
    if not runs:
        st.caption("No runs yet.")
        return
    rows: list[dict[str, Any]] = [
        {
            "run": run.id,
            "status": names.status_name(run.status),  # a table cell shows no icon
            "created (UTC)": run.created_at.strftime("%Y-%m-%d %H:%M:%S") if run.created_at else "–",
            "target": f"{run.service}{run.api}",
            "fault": f"{run.fault_type or 'no fault'} {run.percentage}%",
            "requests": f"{run.request_count:,}" if run.request_count is not None else "–",
            "error rate": format_pct(run.error_rate),  # "–" for a run with no numbers, never "None"
            "p95 latency": format_ms(run.p95_latency_ms),
            "page": links.run_page_url(run.id) if run.id is not None else None,
        }
        for run in runs
    ]
    st.dataframe(
        rows,
        hide_index=True,
        key=key,
        column_config={"page": st.column_config.LinkColumn("page", display_text="open run")},
    )
