"""The `boifi` command: apply with every exit code, and the runs sub-commands."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

import storage
from cli.main import app
from dashboard.compare import export_csv, export_json
from executor import EmbeddedExecutor
from tests.cli.plan_files import write_plan
from tests.demo_data import populate_demo_runs
from tests.plans import PLAN_FILE_BODY

GOOD_PLAN = PLAN_FILE_BODY


@pytest.mark.slow
def test_apply_success_prints_only_json_on_stdout(
    cli: CliRunner, executor: EmbeddedExecutor, tmp_path: Path
) -> None:
    result = cli.invoke(app, ["apply", str(write_plan(tmp_path, GOOD_PLAN)), "--json",
                              "--executor-url", executor.base_url])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["run"]["status"] == "completed"
    assert document["run"]["request_count"] > 0
    assert document["timeline"]
    assert "submitted" in result.stderr


@pytest.mark.slow
def test_apply_reads_yaml_from_stdin(cli: CliRunner, executor: EmbeddedExecutor) -> None:
    yaml_text = "\n".join(f"{key}: {value}" for key, value in GOOD_PLAN.items())
    result = cli.invoke(app, ["apply", "-", "--executor-url", executor.base_url], input=yaml_text)
    assert result.exit_code == 0, result.stderr
    assert "completed" in result.stdout


def test_apply_invalid_plan_exits_2_naming_the_field(cli: CliRunner, tmp_path: Path) -> None:
    result = cli.invoke(app, ["apply", str(write_plan(tmp_path, {**GOOD_PLAN, "percentage": 150}))])
    assert result.exit_code == 2
    assert "percentage" in result.stderr
    assert result.stdout == ""


def test_apply_unparseable_or_missing_file_exits_2(cli: CliRunner, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.yaml"
    garbage.write_text("{not: [valid", encoding="utf-8")
    assert cli.invoke(app, ["apply", str(garbage)]).exit_code == 2
    missing = cli.invoke(app, ["apply", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2
    assert "cannot read plan file" in missing.stderr


def test_apply_unreachable_executor_exits_3(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOIFI_MAX_RETRIES", "1")
    result = cli.invoke(
        app, ["apply", str(write_plan(tmp_path, GOOD_PLAN)), "--executor-url", "http://127.0.0.1:9"]
    )
    assert result.exit_code == 3, result.stdout + result.stderr
    assert "failed" in result.stdout


@pytest.mark.slow
def test_apply_stopped_by_guardrail_exits_4(
    cli: CliRunner, executor: EmbeddedExecutor, tmp_path: Path
) -> None:
    plan = {
        **GOOD_PLAN,
        "fault_type": "abort",
        "abort_http_status": 500,
        "percentage": 100,
        "duration_seconds": 20,
    }
    plan.pop("delay_seconds")
    result = cli.invoke(
        app,
        ["apply", str(write_plan(tmp_path, plan)), "--executor-url", executor.base_url,
         "--max-error-rate", "50", "--min-requests", "5"],
    )  # fmt: skip
    assert result.exit_code == 4, result.stderr
    assert "guardrail: halt when the error rate exceeds 50 %, judged after 5 requests" in result.stderr
    assert "guardrail_stop" in result.stdout and "guardrail: error rate" in result.stdout
    listed = cli.invoke(app, ["runs", "list", "--status", "guardrail_stop", "--json"])
    assert listed.exit_code == 0, listed.stderr
    assert [row["status"] for row in json.loads(listed.stdout)] == ["guardrail_stop"]
    assert json.loads(cli.invoke(app, ["runs", "list", "--status", "cancelled", "--json"]).stdout) == []


def test_max_error_rate_is_a_percentage_and_out_of_range_is_refused(cli: CliRunner, tmp_path: Path) -> None:
    result = cli.invoke(app, ["apply", str(write_plan(tmp_path, GOOD_PLAN)), "--max-error-rate", "150"])
    assert result.exit_code == 2
    assert "percentage: give a value from 0 to 100" in result.stderr
    assert "0-100" in cli.invoke(app, ["apply", "--help"]).stdout


@pytest.mark.slow
def test_runs_list_show_export_and_recover(
    cli: CliRunner, executor: EmbeddedExecutor, tmp_path: Path
) -> None:
    assert cli.invoke(app, ["runs", "list"]).stdout.strip() == "no runs"
    for _ in range(2):
        plan_path = str(write_plan(tmp_path, GOOD_PLAN))
        applied = cli.invoke(
            app, ["apply", plan_path, "--executor-url", executor.base_url, "--label", "nightly"]
        )
        assert applied.exit_code == 0, applied.stderr
    listed = json.loads(cli.invoke(app, ["runs", "list", "--json"]).stdout)
    assert [row["status"] for row in listed] == ["completed", "completed"]
    run_id = listed[0]["id"]
    shown = cli.invoke(app, ["runs", "show", str(run_id)])
    assert shown.exit_code == 0 and f"run {run_id}: completed" in shown.stdout
    assert cli.invoke(app, ["runs", "show", "9999"]).exit_code == 1
    exported = cli.invoke(app, ["runs", "export", "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert len(rows) == 2 and json.loads(rows[0]["labels"]) == ["nightly"]
    out_file = tmp_path / "runs.json"
    assert (
        cli.invoke(
            app, ["runs", "export", str(run_id), "--format", "json", "--output", str(out_file)]
        ).exit_code
        == 0
    )
    assert [row["id"] for row in json.loads(out_file.read_text())] == [run_id]
    assert cli.invoke(app, ["runs", "export", "--format", "xml"]).exit_code == 2
    recovered = cli.invoke(app, ["runs", "recover"])
    assert recovered.exit_code == 0 and "no orphaned runs" in recovered.stdout


def test_runs_export_and_the_dashboard_download_give_identical_records(
    cli: CliRunner, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = storage.make_engine(url)
    storage.init_db(engine)
    with Session(engine) as session:
        populate_demo_runs(session, count=4, samples_per_run=20, seed=2)
        guarded = storage.create_run(
            session, plan={**GOOD_PLAN}, executor_url="http://127.0.0.1:1", api_mode="extended",
            apply_key="k-guard", owner="test:1:x", labels=["a", "b"], guardrail={"max_error_rate": 0.25},
        )  # fmt: skip
        assert guarded.id is not None
        storage.finish_run(
            session, run_id=guarded.id, status=storage.RunStatus.GUARDRAIL_STOP,
            summary={"request_count": 50, "error_rate": 0.3, "success_rate": 0.7, "p95_latency_ms": 12.5},
            stop_reason="guardrail: error rate 30.0% exceeded 25.0% after 50 requests",
        )  # fmt: skip
        runs = storage.list_runs(session, limit=100)
    engine.dispose()

    exported = cli.invoke(app, ["runs", "export", "--format", "json", "--database-url", url])
    assert exported.exit_code == 0, exported.stderr
    records = json.loads(exported.stdout)
    assert records == json.loads(export_json(runs))["runs"]
    assert len(records) == 5
    guard = next(record for record in records if record["id"] == guarded.id)
    assert guard["plan"]["service"] == "payment" and guard["labels"] == ["a", "b"]
    assert (guard["error_rate_pct"], guard["success_rate_pct"], guard["p95_latency_ms"]) == (30.0, 70.0, 12.5)
    assert guard["guardrail"]["max_error_rate_pct"] == 25.0
    as_csv = cli.invoke(app, ["runs", "export", "--format", "csv", "--database-url", url])
    assert as_csv.stdout == export_csv(runs)
