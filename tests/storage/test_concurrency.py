"""Several threads writing to one SQLite file (WAL + busy timeout) lose nothing."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

import storage
from storage import RunStatus
from tests.storage.conftest import PLAN, T0, file_engine

THREADS = 4
RUNS_PER_THREAD = 8
EVENTS_PER_RUN = 5
SAMPLES_PER_RUN = 50


@pytest.mark.slow
def test_concurrent_writers_to_one_file_lose_nothing(tmp_path: Path) -> None:
    engine = file_engine(tmp_path / "shared.db")
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        try:
            start.wait(timeout=10)
            for index in range(RUNS_PER_THREAD):
                with Session(engine) as session:
                    run = storage.create_run(
                        session,
                        plan={**PLAN, "service": f"svc-{worker}"},
                        executor_url="http://127.0.0.1:1",
                        api_mode="extended",
                        apply_key=f"{worker}-{index}",
                        owner=f"worker-{worker}",
                        now=T0,
                    )
                    run_id = run.id or 0
                    storage.mark_running(session, run_id=run_id, now=T0)
                    storage.heartbeat(session, run_ids=[run_id], owner=f"worker-{worker}", now=T0)
                    storage.record_client_events(
                        session,
                        events=[
                            {"timestamp": T0 + timedelta(seconds=n), "kind": "attempt", "run_id": run_id}
                            for n in range(EVENTS_PER_RUN)
                        ],
                    )
                    storage.finish_run(
                        session,
                        run_id=run_id,
                        status=RunStatus.COMPLETED,
                        summary={"request_count": SAMPLES_PER_RUN},
                        timeline=[{"t_s": 0, "request_count": SAMPLES_PER_RUN}],
                        samples=[(float(n), 1.0, 200, False) for n in range(SAMPLES_PER_RUN)],
                    )
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    workers = [threading.Thread(target=writer, args=(worker,)) for worker in range(THREADS)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in workers)
    assert errors == []

    total_runs = THREADS * RUNS_PER_THREAD
    with Session(engine) as session:
        assert storage.count_runs(session, status=RunStatus.COMPLETED) == total_runs
        for worker in range(THREADS):
            assert storage.count_runs(session, service=f"svc-{worker}") == RUNS_PER_THREAD
        assert len(storage.client_event_series(session, since=T0)) == total_runs * EVENTS_PER_RUN
        ids = [run.id or 0 for run in storage.list_runs(session, limit=total_runs)]
        details = storage.load_runs_for_comparison(session, run_ids=ids)
        assert [detail.samples.size for detail in details] == [SAMPLES_PER_RUN] * total_runs
        assert all(len(detail.timeline) == 1 for detail in details)
    engine.dispose()
