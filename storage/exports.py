"""Export runs in one machine-readable shape: records for JSON, flat rows for tables and CSV.

A record keeps the plan and the guardrail as objects and the labels as a list; numbers stay numbers, with
their unit in the field name (`error_rate_pct`, `p95_latency_ms`, `duration_seconds`); timestamps are ISO
8601 strings in UTC. An experiment's results follow: `verdict` (an `ExperimentVerdict` value or None),
`severity_score`, `time_to_recovery_s`, `phases` (an object keyed `baseline` / `fault` / `recovery`, only the
phases the run had, each with `PHASE_FIELDS`), `target` (what the fault hit on its own target, or None) and
`deviations` (the tolerances broken: phase, measure, observed, limit). A campaign's trial carries
`campaign_id` and `trial_number` (both None outside a campaign). The run's own measures stay the fault
phase's. A row is the same record with the plan, guardrail, labels, phases, target and deviations encoded as
JSON, so every cell is a scalar. The dashboard's downloads and `boifi runs export` both come from here.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from client.redaction import redact_url
from storage.models import Run
from storage.types import as_utc, optional_float

# Fractions stored on the run, exported in percent under these names.
PERCENT_FIELDS = {"error_rate": "error_rate_pct", "success_rate": "success_rate_pct"}
RECORD_FIELDS = (
    "id",
    "status",
    "created_at",
    "started_at",
    "finished_at",
    "service",
    "api",
    "fault_type",
    "percentage",
    "duration_seconds",
    "plan",
    "executor_url",
    "api_mode",
    "apply_key",
    "fault_id",
    "request_count",
    "affected_count",
    "error_rate_pct",
    "success_rate_pct",
    "avg_latency_ms",
    "p50_latency_ms",
    "p95_latency_ms",
    "p99_latency_ms",
    "max_latency_ms",
    "error",
    "error_class",
    "stop_reason",
    "guardrail",
    "labels",
    "notes",
    "owner",
    "heartbeat_at",
    "launched_by",
    "verdict",
    "severity_score",
    "time_to_recovery_s",
    "phases",
    "target",
    "deviations",
    "campaign_id",
    "trial_number",
)
# The measures of each phase in a record's `phases` object.
PHASE_FIELDS = (
    "sample_count",
    "error_rate_pct",
    "avg_latency_ms",
    "p50_latency_ms",
    "p95_latency_ms",
    "p99_latency_ms",
    "max_latency_ms",
    "start_offset_ms",
    "end_offset_ms",
)
_ENCODED_FIELDS = ("plan", "guardrail", "labels", "phases", "target", "deviations")


def percent(fraction: Any) -> float | None:
    """Return a stored fraction (0-1) in percent, or None; rounded to 1e-6 % to drop float noise."""
    value = optional_float(fraction)
    return None if value is None else round(value * 100.0, 6)


def _guardrail_record(guardrail: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not guardrail:
        return None
    return {
        "max_error_rate_pct": percent(guardrail.get("max_error_rate")),
        "max_p99_latency_ms": optional_float(guardrail.get("max_p99_latency_ms")),
        "min_requests": guardrail.get("min_requests"),
    }


def _phase_record(summary: Mapping[str, Any]) -> dict[str, Any]:
    values = {name: optional_float(summary.get(name)) for name in PHASE_FIELDS if name != "sample_count"}
    values["sample_count"] = int(summary.get("sample_count") or 0)
    values["error_rate_pct"] = percent(summary.get("error_rate"))
    return {name: values[name] for name in PHASE_FIELDS}


def _phases_record(phases: Iterable[Mapping[str, Any]] | None) -> dict[str, dict[str, Any]]:
    return {str(summary["phase"]): _phase_record(summary) for summary in phases or []}


def _scalar(value: Any) -> Any:
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if isinstance(value, StrEnum):  # RunStatus, ApiMode: exported by value, as plain strings
        return value.value
    if isinstance(value, float):
        return optional_float(value)  # NaN and infinities are not JSON: no value
    return value


def run_record(run: Run) -> dict[str, Any]:
    """Return one run as a JSON-ready record (see the module docstring)."""
    values: dict[str, Any] = {name: _scalar(getattr(run, name)) for name in Run.model_fields}
    for fraction, pct in PERCENT_FIELDS.items():
        values[pct] = percent(values.pop(fraction))
    values["fault_type"] = values["fault_type"] or ""  # a plan without one: '' as before revision 0006
    values["plan"] = dict(run.plan or {})
    values["guardrail"] = _guardrail_record(run.guardrail)
    values["labels"] = [str(label) for label in run.labels or []]
    values["executor_url"] = redact_url(run.executor_url)  # rows stored before redaction, too
    values["phases"] = _phases_record(run.phases)
    values["target"] = dict(run.target) if run.target else None
    values["deviations"] = [dict(deviation) for deviation in run.deviations or []]
    return {name: values.get(name) for name in RECORD_FIELDS}


def runs_to_records(runs: Iterable[Run]) -> list[dict[str, Any]]:
    """Return runs as JSON-ready records: plan, guardrail and phases objects, lists, rates in percent."""
    return [run_record(run) for run in runs]


def runs_to_rows(runs: Iterable[Run]) -> list[dict[str, Any]]:
    """Return runs as flat rows of scalars (tables, CSV): records with their objects and lists as JSON."""
    rows = []
    for record in runs_to_records(runs):
        for name in _ENCODED_FIELDS:
            if record[name] is not None:
                record[name] = json.dumps(record[name], sort_keys=True, ensure_ascii=False)
        rows.append(record)
    return rows


def runs_to_csv(runs: Iterable[Run]) -> str:
    """Return runs as CSV text with a header line (always, also without runs); None is an empty cell."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(RECORD_FIELDS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(runs_to_rows(runs))
    return buffer.getvalue()
