"""Exports: one record shape for JSON (objects, lists, numbers with units in names), flat rows for CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

from sqlmodel import Session

import storage
from client.hypothesis import Deviation, ExperimentVerdict, Phase, PhaseSummary, TargetHits
from storage import RunStatus
from tests.storage.conftest import PLAN, T0, new_run

SUMMARY = {
    "request_count": 200,
    "affected_count": 100,
    "error_rate": 0.07,
    "success_rate": 0.93,
    "avg_latency_ms": 12.5,
    "p50_latency_ms": 10.0,
    "p95_latency_ms": 30.25,
    "p99_latency_ms": 41.0,
    "max_latency_ms": 55.0,
}


def _guardrail_run(session: Session) -> storage.Run:
    run = storage.create_run(
        session,
        plan=PLAN,
        executor_url="http://127.0.0.1:8080",
        api_mode="extended",
        apply_key="k-export",
        owner="host:1:a",
        labels=["nightly", "canary"],
        notes="export me",
        guardrail={"max_error_rate": 0.05, "max_p99_latency_ms": None, "min_requests": 20},
        now=T0,
    )
    assert run.id is not None
    storage.mark_running(session, run_id=run.id, now=T0 + timedelta(seconds=1))
    storage.finish_run(
        session,
        run_id=run.id,
        status=RunStatus.GUARDRAIL_STOP,
        summary=SUMMARY,
        stop_reason="guardrail: error rate 7.0% exceeded 5.0% after 200 requests",
        now=T0 + timedelta(seconds=31),
    )
    found = session.get(storage.Run, run.id)
    assert found is not None
    return found


def test_records_hold_objects_lists_and_numbers_with_units(session: Session) -> None:
    (record,) = storage.runs_to_records([_guardrail_run(session)])
    assert record["status"] == "guardrail_stop"
    assert record["plan"] == PLAN
    assert record["labels"] == ["nightly", "canary"]
    assert record["guardrail"] == {"max_error_rate_pct": 5.0, "max_p99_latency_ms": None, "min_requests": 20}
    assert (record["error_rate_pct"], record["success_rate_pct"]) == (7.0, 93.0)
    assert (record["p95_latency_ms"], record["request_count"], record["duration_seconds"]) == (30.25, 200, 30)
    assert record["created_at"] == T0.isoformat() and record["started_at"] == "2026-11-27T12:00:01+00:00"
    assert "error_rate" not in record and "success_rate" not in record
    assert json.loads(json.dumps(record, allow_nan=False)) == record


def test_rows_are_the_records_with_objects_encoded_as_json(session: Session) -> None:
    run = _guardrail_run(session)
    (record,) = storage.runs_to_records([run])
    (row,) = storage.runs_to_rows([run])
    assert list(row) == list(record)
    assert all(not isinstance(value, dict | list) for value in row.values())
    assert json.loads(row["plan"]) == record["plan"] and json.loads(row["labels"]) == ["nightly", "canary"]
    assert json.loads(row["guardrail"]) == record["guardrail"]
    assert (json.loads(row["phases"]), json.loads(row["deviations"]), row["target"]) == ({}, [], None)
    encoded = ("plan", "labels", "guardrail", "phases", "deviations", "target")
    assert {k: v for k, v in row.items() if k not in encoded} == {
        k: v for k, v in record.items() if k not in encoded
    }


def test_csv_has_one_line_per_run_and_empty_cells_for_nothing(session: Session) -> None:
    run = _guardrail_run(session)
    queued = session.get(storage.Run, new_run(session, now=T0 + timedelta(hours=1)))
    assert queued is not None
    text = storage.runs_to_csv([run, queued])
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert [line["status"] for line in parsed] == ["guardrail_stop", "queued"]
    assert parsed[0]["error_rate_pct"] == "7.0" and parsed[1]["error_rate_pct"] == ""
    assert json.loads(parsed[0]["labels"]) == ["nightly", "canary"]
    assert storage.runs_to_csv([]).splitlines() == [",".join(storage.RECORD_FIELDS)]


def _phase(phase: str, start_ms: float, end_ms: float, count: int, errors: int, p99: float) -> dict[str, Any]:
    return PhaseSummary(
        phase=Phase(phase), start_offset_ms=start_ms, end_offset_ms=end_ms, sample_count=count,
        error_count=errors, error_rate=errors / count, avg_latency_ms=p99 / 3, p50_latency_ms=p99 / 4,
        p95_latency_ms=p99 / 2, p99_latency_ms=p99, max_latency_ms=p99 * 2,
    ).model_dump(mode="json")  # fmt: skip


EXPERIMENT = {
    "verdict": ExperimentVerdict.DEVIATED,
    "severity_score": 0.625,
    "time_to_recovery_s": 2.5,
    "phases": [
        _phase("baseline", 0.0, 10_000.0, 100, 0, 40.0),
        _phase("fault", 10_000.0, 40_000.0, 300, 30, 900.0),
        _phase("recovery", 40_000.0, 50_000.0, 100, 1, 45.0),
    ],
    "deviations": [
        Deviation(phase=Phase.FAULT, measure="p99_latency_ms", observed=900.0, limit=300.0).model_dump(
            mode="json"
        )
    ],
    "target": TargetHits(service="payment", api="/pay", request_count=310, affected_count=150).model_dump(),
}


def _experiment_run(session: Session) -> storage.Run:
    run_id = new_run(session)
    storage.finish_run(
        session, run_id=run_id, status=RunStatus.COMPLETED, summary=SUMMARY, experiment=EXPERIMENT, now=T0
    )
    found = session.get(storage.Run, run_id)
    assert found is not None
    return found


def test_records_carry_the_verdict_score_and_each_phase_with_the_export_measures(session: Session) -> None:
    (record,) = storage.runs_to_records([_experiment_run(session)])
    assert list(storage.RECORD_FIELDS[-8:-2]) == [
        "verdict", "severity_score", "time_to_recovery_s", "phases", "target", "deviations",
    ]  # fmt: skip
    assert (record["campaign_id"], record["trial_number"]) == (None, None)  # a run of no campaign
    assert (record["verdict"], record["severity_score"], record["time_to_recovery_s"]) == (
        "deviated",
        0.625,
        2.5,
    )
    assert list(record["phases"]) == ["baseline", "fault", "recovery"]
    assert record["phases"]["fault"] == {
        "sample_count": 300,
        "error_rate_pct": 10.0,
        "avg_latency_ms": 300.0,
        "p50_latency_ms": 225.0,
        "p95_latency_ms": 450.0,
        "p99_latency_ms": 900.0,
        "max_latency_ms": 1800.0,
        "start_offset_ms": 10_000.0,
        "end_offset_ms": 40_000.0,
    }
    assert list(record["phases"]["baseline"]) == list(storage.PHASE_FIELDS)
    assert record["phases"]["recovery"]["error_rate_pct"] == 1.0
    assert record["target"] == {
        "service": "payment",
        "api": "/pay",
        "request_count": 310,
        "affected_count": 150,
    }
    assert record["deviations"] == [
        {"phase": "fault", "measure": "p99_latency_ms", "observed": 900.0, "limit": 300.0}
    ]
    assert record["p99_latency_ms"] == SUMMARY["p99_latency_ms"]  # the run's measures stay the fault phase's
    assert json.loads(json.dumps(record, allow_nan=False)) == record


def test_csv_cells_hold_the_phases_target_and_deviations_as_json(session: Session) -> None:
    run = _experiment_run(session)
    (line,) = list(csv.DictReader(io.StringIO(storage.runs_to_csv([run]))))
    (record,) = storage.runs_to_records([run])
    assert line["verdict"] == "deviated" and line["severity_score"] == "0.625"
    for name in ("phases", "target", "deviations"):
        assert json.loads(line[name]) == record[name]


def test_a_run_without_an_experiment_exports_no_phases_and_no_verdict(session: Session) -> None:
    queued = session.get(storage.Run, new_run(session))
    assert queued is not None
    (record,) = storage.runs_to_records([queued])
    assert (record["verdict"], record["severity_score"], record["time_to_recovery_s"]) == (None, None, None)
    assert (record["phases"], record["target"], record["deviations"]) == ({}, None, [])
