"""Benchmark storage on a temporary SQLite file: record a run, list runs, load runs for comparison.

Prints measured seconds and the ratio to each target (≤ 1.0 meets it), all measured in this one run: the
ratio uses the median wall time of the calls after the first (a warm process, as the dashboard is); the
first call and the CPU time are printed too, as is the load average (on a busy machine wall time inflates).
The database holds 1,000 demo runs of 1,000 samples plus the two 100,000-sample runs.

Then telemetry growth: a real Console (health monitor and faults poller at their default 5 s and 2 s)
against the embedded executor, for `BOIFI_BENCH_GROWTH_SEC` (default 120 s) idle and as long again under
one run; the rows it added to the telemetry tables and the bytes they use (SQLite's dbstat, indexes
included) are extrapolated to a minute and a day. Printed, not asserted. ``--growth-only`` skips the rest.
Usage: ``uv run python benchmarks/storage.py [--growth-only]``.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path and this module would shadow the package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]

import numpy as np  # noqa: E402
from sqlmodel import Session  # noqa: E402

from client import ExecutorClientConfig, FaultPlan  # noqa: E402
from executor import EmbeddedExecutor, ExecutorSettings  # noqa: E402
from services.console import Console  # noqa: E402
from services.console_settings import ConsoleSettings  # noqa: E402
from storage import (  # noqa: E402
    RunStatus,
    create_run,
    finish_run,
    init_db,
    list_runs,
    load_runs_for_comparison,
    make_engine,
)
from storage.models import SAMPLE_DTYPE  # noqa: E402
from tests.demo_data import populate_demo_runs  # noqa: E402

RECORD_TARGET_SEC = 0.5
LIST_TARGET_SEC = 0.1
COMPARE_TARGET_SEC = 0.5
REPEAT = 5
GROWTH_SEC = float(os.environ.get("BOIFI_BENCH_GROWTH_SEC", "120"))
TELEMETRY_TABLES = ("client_events", "client_call_aggregates", "health_samples", "breaker_transitions")


def _timed(action: Callable[[], Any], repeat: int) -> tuple[float, float, float, Any]:
    """Return (first call's wall seconds, later calls' median wall and CPU seconds, last result)."""
    walls, cpus = [], []
    result: Any = None
    for _ in range(repeat + 1):
        wall, cpu = time.perf_counter(), time.process_time()
        result = action()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return walls[0], statistics.median(walls[1:]), statistics.median(cpus[1:]), result


def _samples(count: int, seed: int) -> list[tuple[float, float, int, bool]]:
    rng = np.random.default_rng(seed)
    array = np.zeros(count, dtype=SAMPLE_DTYPE)
    array["offset_ms"] = np.sort(rng.uniform(0, 30_000, count))
    array["latency_ms"] = rng.lognormal(3.0, 0.5, count)
    array["status_code"] = np.where(rng.random(count) < 0.05, 503, 200)
    array["affected"] = rng.random(count) < 0.5
    # The runner hands over plain tuples, so measure that (slower) path.
    return [(float(o), float(lat), int(s), bool(a)) for o, lat, s, a, _phase in array.tolist()]


def _report(name: str, timing: tuple[float, float, float, Any], target_sec: float) -> None:
    cold_sec, wall_sec, cpu_sec, _ = timing
    ratio = wall_sec / target_sec
    verdict = "meets" if ratio <= 1.0 else "MISSES"
    print(
        f"{name:<46} {wall_sec:7.4f} s  ratio {ratio:5.2f} {verdict:<6}  (target {target_sec:.3f} s;"
        f" CPU {cpu_sec:.4f} s; first call {cold_sec:.4f} s)"
    )


def _telemetry_size(engine: Any) -> tuple[int, int]:
    """Return the telemetry tables' rows and the bytes they and their indexes use (tables absent: 0)."""
    with engine.connect() as connection:
        tables = [
            name
            for (name,) in connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'")
            if name in TELEMETRY_TABLES
        ]
        rows = sum(
            int(connection.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar() or 0) for name in tables
        )
        marks = ", ".join("?" * len(tables))
        objects = [
            name
            for (name,) in connection.exec_driver_sql(
                f"SELECT name FROM sqlite_master WHERE tbl_name IN ({marks})", tuple(tables)
            )
        ]
        names = ", ".join("?" * len(objects))
        used = connection.exec_driver_sql(
            f"SELECT coalesce(sum(pgsize - unused), 0) FROM dbstat WHERE name IN ({names})", tuple(objects)
        ).scalar()
    return rows, int(used or 0)


def _growth(
    executor: EmbeddedExecutor, workdir: Path, *, seconds: float, with_run: bool
) -> tuple[float, float]:
    """Run a Console for `seconds` (idle, or under one run); return (rows per minute, bytes per day)."""
    engine = make_engine(f"sqlite:///{workdir / ('run.db' if with_run else 'idle.db')}")
    console = Console(
        client_config=ExecutorClientConfig(base_url=executor.base_url),
        settings=ConsoleSettings(),
        engine=engine,
    )
    try:
        console.start()
        rows_before, bytes_before = _telemetry_size(engine)
        started = time.monotonic()
        if with_run:
            plan = FaultPlan(
                service="payment",
                api="/api/v1/pay",
                fault_type="delay",
                delay_seconds=0.01,
                percentage=50,
                duration_seconds=int(seconds),
            )
            run_id = console.runner.submit(plan)
            console.runner.wait(run_id, timeout=seconds + 60)
        time.sleep(max(0.0, seconds - (time.monotonic() - started)))  # the console works meanwhile
    finally:
        console.close()
    elapsed = time.monotonic() - started
    rows_after, bytes_after = _telemetry_size(engine)
    engine.dispose()
    return (rows_after - rows_before) / elapsed * 60, (bytes_after - bytes_before) / elapsed * 86_400


def growth() -> None:
    """Measure and print the telemetry growth of an idle console and of one under a run."""
    workdir = Path(tempfile.mkdtemp(prefix="boifi-growth-bench-"))
    try:
        with EmbeddedExecutor(ExecutorSettings(host="127.0.0.1", port=0, demo=True, seed=1)) as executor:
            idle = _growth(executor, workdir, seconds=GROWTH_SEC, with_run=False)
            busy = _growth(executor, workdir, seconds=GROWTH_SEC, with_run=True)
        print(
            f"telemetry growth: real Console, embedded executor, default intervals, {GROWTH_SEC:g} s each,"
            " extrapolated (target idle: ≤ 20 rows/min, ≤ 5 MB/day)"
        )
        for name, (rows_per_min, bytes_per_day) in (("idle, Monitor's workers on", idle), ("one run", busy)):
            print(f"  {name:<28} {rows_per_min:8.1f} rows/min  {bytes_per_day / 1e6:8.2f} MB/day")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    """Run the three measurements and print them, then the telemetry growth."""
    if "--growth-only" in sys.argv[1:]:
        growth()
        return
    workdir = Path(tempfile.mkdtemp(prefix="boifi-storage-bench-"))
    try:
        engine = make_engine(f"sqlite:///{workdir / 'bench.db'}")
        init_db(engine)
        with Session(engine) as session:
            populate_demo_runs(session, count=1000, samples_per_run=1000, seed=1)
            big_ids = populate_demo_runs(session, count=2, samples_per_run=100_000, seed=2)
        samples = _samples(30_000, seed=3)
        plan = {"service": "payment", "api": "/api/v1/pay", "fault_type": "delay", "percentage": 50}
        summary = {"request_count": 30_000, "p99_latency_ms": 80.0}
        timeline = [{"t_s": float(second), "request_count": 1000} for second in range(30)]

        def record() -> None:
            with Session(engine) as session:
                run = create_run(
                    session,
                    plan=plan,
                    executor_url="http://127.0.0.1:1",
                    api_mode="extended",
                    apply_key="bench",
                    owner="bench",
                )
                finish_run(
                    session,
                    run_id=int(run.id or 0),
                    status=RunStatus.COMPLETED,
                    summary=summary,
                    timeline=timeline,
                    samples=samples,
                )

        def list_all() -> list[Any]:
            with Session(engine) as session:
                return list_runs(session, limit=1000)

        def compare() -> list[Any]:
            with Session(engine) as session:
                return load_runs_for_comparison(session, run_ids=big_ids)

        load_before = os.getloadavg()[0]
        recording = _timed(record, REPEAT)
        listing = _timed(list_all, REPEAT)
        comparing = _timed(compare, REPEAT)
        load_after = os.getloadavg()[0]
        engine.dispose()
        compared = sum(detail.samples.size for detail in comparing[3])
        print(
            f"SQLite file; {len(listing[3])} runs listed; {compared} samples compared;"
            f" median of {REPEAT} calls;"
            f" load average {load_before:.1f} → {load_after:.1f} on {os.cpu_count()} CPUs"
        )
        _report("record a 30,000-sample run (create + finish)", recording, RECORD_TARGET_SEC)
        _report("list 1,000 runs", listing, LIST_TARGET_SEC)
        _report("load two 100,000-sample runs for comparison", comparing, COMPARE_TARGET_SEC)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    growth()


if __name__ == "__main__":
    main()
