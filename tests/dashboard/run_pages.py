"""Runs written through storage for the run page's tests: a plain run with its client events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlmodel import Session

import storage
from client import Phase
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
                samples=_phased_samples(_samples(samples)) if "experiment" in finish else _samples(samples),
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
    array = np.zeros(count, dtype=storage.SAMPLE_DTYPE)  # phase code 0: fault
    array["offset_ms"] = np.sort(rng.uniform(0, 6000, count))
    array["latency_ms"] = rng.uniform(5, 50, count)
    array["status_code"] = np.where(rng.random(count) < 0.1, 503, 200)
    array["affected"] = rng.random(count) < 0.5
    return array


def _summary(phase: str, start_ms: float, p50: float, p95: float, p99: float, errors: int) -> dict[str, Any]:
    return {
        "phase": phase,
        "start_offset_ms": start_ms,
        "end_offset_ms": start_ms + 2000.0,
        "sample_count": 40,
        "error_count": errors,
        "error_rate": errors / 40,
        "p50_latency_ms": p50,
        "p95_latency_ms": p95,
        "p99_latency_ms": p99,
    }


PHASED = [
    _summary("baseline", 0.0, 11.0, 19.0, 20.0, 0),
    _summary("fault", 2000.0, 240.0, 290.0, 312.5, 4),
    _summary("recovery", 4000.0, 12.0, 18.0, 21.0, 0),
]


def phased_run(url: str) -> int:
    """Write a run with a baseline, a fault that deviated and a recovery (40 samples each); return its id."""
    plan = payment_delay(
        duration_seconds=2,
        baseline_seconds=2,
        recovery_seconds=2,
        observe={"service": "gateway", "api": "/api/v1/checkout", "method": "POST"},
        hypothesis={"max_p99_ms": 300.0, "max_error_rate_pct": 5.0},
    )
    experiment = {
        "verdict": "deviated",
        "severity_score": 42.25,
        "time_to_recovery_s": 0.5,
        "phases": PHASED,
        "deviations": [
            {"phase": "fault", "measure": "p99_latency_ms", "observed": 312.5, "limit": 300.0},
            {"phase": "fault", "measure": "error_rate_pct", "observed": 10.0, "limit": 5.0},
        ],
        "target": {"service": "payment", "api": "/api/v1/payment/process", "request_count": 80,
                   "affected_count": 37},
    }  # fmt: skip
    return finished_run(url, plan=plan.model_dump(mode="json"), samples=120, experiment=experiment)


def _phased_samples(array: np.ndarray) -> np.ndarray:
    """Give 120 samples their phases: 40 baseline (fast), 40 fault (slow, some errors), 40 recovery."""
    codes = storage.PHASE_CODES
    array["phase"] = [codes[Phase(p["phase"])] for p in PHASED for _ in range(40)]
    array["latency_ms"][40:80] += 220.0
    return array


def running_run(url: str) -> int:
    """Write a started, unfinished run (2 s baseline, 6 s fault, 2 s recovery); return its id."""
    engine = storage.make_engine(url)
    try:
        storage.init_db(engine)
        plan = payment_delay(duration_seconds=6, baseline_seconds=2, recovery_seconds=2)
        with Session(engine) as session:
            run = storage.create_run(
                session,
                plan=plan.model_dump(mode="json"),
                executor_url=EXECUTOR_URL,
                api_mode="extended",
                apply_key="key-running",
                owner="test",
            )
            storage.mark_running(session, run_id=int(run.id or 0))
        return int(run.id or 0)
    finally:
        engine.dispose()
