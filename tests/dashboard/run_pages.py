"""Runs written through storage for the run page's tests: a plain run with its client events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlmodel import Session

import storage
from tests.plans import payment_delay

# Recent: the console prunes old telemetry (client events, breaker transitions) when it starts.
STARTED = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
EXECUTOR_URL = "http://127.0.0.1:9"


def finished_run(url: str, *, plan: dict[str, Any] | None = None, samples: int = 60, **finish: Any) -> int:
    """Write one completed run with samples, a timeline, a retry and a breaker round trip; return its id."""
    engine = storage.make_engine(url)
    try:
        storage.init_db(engine)
        with Session(engine) as session:
            run = storage.create_run(
                session,
                plan=plan or payment_delay(duration_seconds=6).model_dump(mode="json"),
                executor_url=EXECUTOR_URL,
                api_mode="extended",
                apply_key="key-1",
                owner="test",
                labels=["smoke", "nightly"],
                now=STARTED - timedelta(seconds=1),
                launched_by="ada@example.org",
            )
            run_id = int(run.id or 0)
            storage.mark_running(session, run_id=run_id, now=STARTED)
            storage.record_client_events(session, events=_events(run_id))
            for offset, old, new in ((2.0, "closed", "open"), (4.0, "open", "half_open")):
                storage.record_breaker_transition(
                    session,
                    timestamp=STARTED + timedelta(seconds=offset),
                    old_state=old,
                    new_state=new,
                    executor_url=EXECUTOR_URL,
                )
            storage.finish_run(
                session,
                run_id=run_id,
                status=finish.pop("status", storage.RunStatus.COMPLETED),
                summary={"request_count": samples, "error_rate": 0.1, "p99_latency_ms": 120.0},
                timeline=[
                    {"t_s": float(t), "request_count": 10, "error_count": t % 2, "p50_latency_ms": 10.0 + t}
                    for t in range(6)
                ],
                samples=_samples(samples),
                now=STARTED + timedelta(seconds=6),
                **finish,
            )
        return run_id
    finally:
        engine.dispose()


def _events(run_id: int) -> list[dict[str, Any]]:
    at = STARTED + timedelta(seconds=1)
    return [
        {"timestamp": at, "kind": "attempt", "operation": "apply", "run_id": run_id},
        {
            "timestamp": at,
            "kind": "retry",
            "operation": "apply",
            "run_id": run_id,
            "delay_sec": 0.5,
            "error_class": "ExecutorServerError",
        },
        {"timestamp": at, "kind": "retry", "operation": "apply", "apply_key": "another-run"},
    ]


def _samples(count: int) -> np.ndarray:
    rng = np.random.default_rng(5)
    array = np.empty(count, dtype=storage.SAMPLE_DTYPE)
    array["offset_ms"] = np.sort(rng.uniform(0, 6000, count))
    array["latency_ms"] = rng.uniform(5, 50, count)
    array["status_code"] = np.where(rng.random(count) < 0.1, 503, 200)
    array["affected"] = rng.random(count) < 0.5
    return array
