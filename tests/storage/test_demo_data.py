"""Demo data: realistic, varied, deterministic per seed."""

from __future__ import annotations

import pkgutil

from sqlalchemy.engine import Engine
from sqlmodel import Session

import storage
from storage import RunStatus
from tests.demo_data import DEMO_LABEL, populate_demo_runs


def test_populate_demo_runs_writes_complete_runs(memory_engine: Engine) -> None:
    with Session(memory_engine) as session:
        ids = populate_demo_runs(session, count=30, samples_per_run=200, seed=5)
        assert storage.count_runs(session) == 30 and len(set(ids)) == 30
        values = storage.distinct_values(session)
        assert len(values["services"]) > 1 and len(values["fault_types"]) == 3
        detail = storage.get_run(session, run_id=ids[0])
        assert detail is not None
        run = detail.run
        assert run.status in {RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED}
        assert DEMO_LABEL in run.labels
        assert detail.samples.size == 200 == run.request_count
        assert len(detail.timeline) == run.duration_seconds
        assert sum(point.request_count or 0 for point in detail.timeline) == 200
        assert run.p50_latency_ms is not None and run.p99_latency_ms is not None
        assert run.p50_latency_ms <= run.p99_latency_ms <= (run.max_latency_ms or 0)


def test_same_seed_gives_same_data(memory_engine: Engine) -> None:
    with Session(memory_engine) as session:
        first = populate_demo_runs(session, count=3, samples_per_run=50, seed=9)
        second = populate_demo_runs(session, count=3, samples_per_run=50, seed=9)
        for a, b in zip(first, second, strict=True):
            left = storage.get_run(session, run_id=a)
            right = storage.get_run(session, run_id=b)
            assert left is not None and right is not None
            assert left.run.plan == right.run.plan
            assert left.samples.tolist() == right.samples.tolist()


def test_the_storage_package_ships_no_demo_data() -> None:
    assert "fixtures" not in {module.name for module in pkgutil.iter_modules(storage.__path__)}
    assert not hasattr(storage, "populate_demo_runs")
