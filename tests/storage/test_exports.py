"""Exports: one record shape for JSON (objects, lists, numbers with units in names), flat rows for CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from sqlmodel import Session

import storage
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
    assert {k: v for k, v in row.items() if k not in ("plan", "labels", "guardrail")} == {
        k: v for k, v in record.items() if k not in ("plan", "labels", "guardrail")
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
