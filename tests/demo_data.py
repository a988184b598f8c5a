"""Fake but realistic completed runs, for tests and benchmarks only (never real measurements).

Example: ``populate_demo_runs(session, count=1000, samples_per_run=100, seed=7)``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import insert
from sqlmodel import Session

from client.measures import error_mask
from client.models import ApiMode
from storage.models import SAMPLE_DTYPE, LatencySample, Run, RunStatus, TimelinePoint
from storage.samples import pack_chunks

DEMO_LABEL = "demo-data"
DEMO_EXECUTOR_URL = "http://127.0.0.1:8080"
DEMO_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
_TARGETS = (
    ("payment", "/api/v1/payment/process", "POST"),
    ("payment", "/api/v1/payment/refund", "POST"),
    ("orders", "/api/v1/orders", "GET"),
    ("orders", "/api/v1/orders/checkout", "POST"),
    ("inventory", "/api/v1/stock", "GET"),
    ("users", "/api/v1/users/profile", "GET"),
)
_FAULTS = ("delay", "abort", "error_injection")
_STATUSES = (RunStatus.COMPLETED,) * 8 + (RunStatus.FAILED, RunStatus.CANCELLED)


def _plan(rng: np.random.Generator, service: str, api: str, method: str, fault_type: str) -> dict[str, Any]:
    percentage = int(rng.choice([10, 25, 50, 75, 100]))
    duration_seconds = int(rng.choice([10, 30, 60]))
    config: dict[str, Any]
    if fault_type == "delay":
        config = {"delay_milliseconds": int(rng.choice([100, 250, 500, 1000, 2500]))}
    elif fault_type == "abort":
        config = {"http_status_code": int(rng.choice([500, 503, 429]))}
    else:
        config = {"error_percentage": percentage, "error_message": "injected"}
    return {
        "service": service,
        "api": api,
        "method": method,
        "fault_type": fault_type,
        "percentage": percentage,
        "duration_seconds": duration_seconds,
        "fault_config": config,
    }


def _samples(rng: np.random.Generator, plan: dict[str, Any], count: int) -> np.ndarray:
    samples = np.zeros(count, dtype=SAMPLE_DTYPE)  # phase 0: every sample of the fault phase
    duration_ms = plan["duration_seconds"] * 1000.0
    samples["offset_ms"] = np.sort(rng.uniform(0.0, duration_ms, count))
    base_ms = rng.lognormal(mean=np.log(rng.uniform(8.0, 40.0)), sigma=0.4, size=count)
    affected = rng.random(count) < plan["percentage"] / 100.0
    status = np.full(count, 200, dtype=np.int32)
    if plan["fault_type"] == "delay":
        base_ms = base_ms + affected * plan["fault_config"]["delay_milliseconds"]
    elif plan["fault_type"] == "abort":
        status[affected] = plan["fault_config"]["http_status_code"]
        base_ms = np.where(affected, base_ms * 0.1, base_ms)
    else:
        status[affected] = 500
    samples["latency_ms"] = base_ms
    samples["status_code"] = status
    samples["affected"] = affected
    return samples


def _timeline(run_id: int, samples: np.ndarray, duration_seconds: int) -> list[dict[str, Any]]:
    # Vectorised per-second buckets, with the console's one error rule and percentile method
    # (client.measures: status 0 or >= 400; linear interpolation between the closest ranks).
    seconds = np.clip((samples["offset_ms"] // 1000).astype(np.int64), 0, max(duration_seconds - 1, 0))
    latencies = samples["latency_ms"]
    counts = np.bincount(seconds, minlength=duration_seconds)
    sums = np.bincount(seconds, weights=latencies, minlength=duration_seconds)
    affected = np.bincount(seconds, weights=samples["affected"], minlength=duration_seconds)
    errors = np.bincount(seconds, weights=error_mask(samples["status_code"]), minlength=duration_seconds)
    sorted_latencies = latencies[np.lexsort((latencies, seconds))]
    starts = np.cumsum(counts) - counts

    def percentile(q: float) -> np.ndarray:
        position = q * np.maximum(counts - 1, 0)
        below = np.floor(position).astype(np.int64)
        last = max(sorted_latencies.size - 1, 0)
        low = np.minimum(starts + below, last)
        high = np.minimum(starts + np.minimum(below + 1, np.maximum(counts - 1, 0)), last)
        return sorted_latencies[low] + (sorted_latencies[high] - sorted_latencies[low]) * (position - below)

    p50, p95, p99 = (percentile(q) if latencies.size else None for q in (0.50, 0.95, 0.99))
    rows = []
    for second in range(duration_seconds):
        has = counts[second] > 0 and p50 is not None and p95 is not None and p99 is not None
        rows.append(
            {
                "run_id": run_id,
                "t_s": float(second),
                "request_count": int(counts[second]),
                "affected_count": int(affected[second]),
                "error_count": int(errors[second]),
                "avg_latency_ms": float(sums[second] / counts[second]) if has else None,
                "p50_latency_ms": float(p50[second]) if has and p50 is not None else None,
                "p95_latency_ms": float(p95[second]) if has and p95 is not None else None,
                "p99_latency_ms": float(p99[second]) if has and p99 is not None else None,
            }
        )
    return rows


def populate_demo_runs(session: Session, *, count: int, samples_per_run: int, seed: int) -> list[int]:
    """Write `count` fake finished runs with timelines and `samples_per_run` samples each; return their ids.

    The data is synthetic (labelled ``demo-data``) and deterministic for a given `seed`.
    """
    rng = np.random.default_rng(seed)
    run_ids: list[int] = []
    pending: list[tuple[Run, np.ndarray]] = []
    for index in range(count):
        service, api, method = _TARGETS[int(rng.integers(len(_TARGETS)))]
        fault_type = _FAULTS[int(rng.integers(len(_FAULTS)))]
        plan = _plan(rng, service, api, method, fault_type)
        samples = _samples(rng, plan, samples_per_run)
        latencies = samples["latency_ms"]
        created_at = DEMO_EPOCH + timedelta(minutes=5 * index, seconds=int(rng.integers(0, 120)))
        status = _STATUSES[int(rng.integers(len(_STATUSES)))]
        has = latencies.size > 0
        error_rate = float(error_mask(samples["status_code"]).mean()) if has else 0.0
        run = Run(
            created_at=created_at,
            started_at=created_at + timedelta(seconds=1),
            finished_at=created_at + timedelta(seconds=1 + plan["duration_seconds"]),
            heartbeat_at=created_at + timedelta(seconds=plan["duration_seconds"]),
            owner="demo:0:fixtures",
            status=status,
            service=service,
            api=api,
            fault_type=fault_type,
            percentage=plan["percentage"],
            duration_seconds=plan["duration_seconds"],
            plan=plan,
            executor_url=DEMO_EXECUTOR_URL,
            api_mode=ApiMode(str(rng.choice(["extended", "direct", "policy"]))),
            apply_key=f"demo-{seed}-{index}",
            fault_id=f"fault-demo-{seed}-{index}",
            request_count=int(samples.size),
            affected_count=int(samples["affected"].sum()),
            error_rate=error_rate,
            success_rate=1.0 - error_rate,
            avg_latency_ms=float(latencies.mean()) if has else None,
            p50_latency_ms=float(np.percentile(latencies, 50)) if has else None,
            p95_latency_ms=float(np.percentile(latencies, 95)) if has else None,
            p99_latency_ms=float(np.percentile(latencies, 99)) if has else None,
            max_latency_ms=float(latencies.max()) if has else None,
            error="demo failure: executor unreachable" if status is RunStatus.FAILED else None,
            error_class="ExecutorConnectionError" if status is RunStatus.FAILED else None,
            labels=[DEMO_LABEL, f"batch-{index % 5}"],
            notes="synthetic run for tests and demos",
            stop_reason="stopped by user" if status is RunStatus.CANCELLED else None,
        )
        pending.append((run, samples))
    session.add_all([run for run, _ in pending])
    session.flush()  # one batched INSERT; assigns the ids
    timeline_rows: list[dict[str, Any]] = []
    chunk_rows: list[dict[str, Any]] = []
    for run, samples in pending:
        run_id = int(run.id or 0)
        run_ids.append(run_id)
        timeline_rows.extend(_timeline(run_id, samples, run.duration_seconds))
        chunk_rows.extend(pack_chunks(run_id, samples, first_chunk_index=0))
    if timeline_rows:
        session.exec(insert(TimelinePoint), params=timeline_rows)
    if chunk_rows:
        session.exec(insert(LatencySample), params=chunk_rows)
    session.commit()
    return run_ids
