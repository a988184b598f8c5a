"""`boifi runs list --verdict` and `runs show` on stored experiments; differences from stored samples."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

import storage
from cli.main import app
from cli.run_report import fault_minus_baseline, read_detail
from client import Phase
from client.intervals import Metric
from tests.plans import PLAN_FILE_BODY


def _store(session: Session, verdict: str | None, samples: Any = ()) -> int:
    run = storage.create_run(
        session, plan={**PLAN_FILE_BODY, "baseline_seconds": 1}, executor_url="http://127.0.0.1:1",
        api_mode="extended", apply_key=f"k-{verdict}", owner="test:1:x", labels=["nightly"],
    )  # fmt: skip
    assert run.id is not None
    phases = [{"phase": "baseline", "start_offset_ms": 0.0, "end_offset_ms": 1000.0, "sample_count": 3,
               "error_rate": 0.0, "p99_latency_ms": 12.0}]  # fmt: skip
    storage.finish_run(
        session, run_id=run.id, status=storage.RunStatus.COMPLETED, samples=samples,
        experiment={"verdict": verdict, "severity_score": verdict and 12.5, "phases": phases},
    )  # fmt: skip
    return run.id


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'runs.db'}"


@pytest.fixture
def stored(database_url: str) -> dict[str | None, int]:
    engine = storage.make_engine(database_url)
    storage.init_db(engine)
    with Session(engine) as session:
        ids = {verdict: _store(session, verdict) for verdict in ("held", "deviated", "baseline_failed", None)}
    engine.dispose()
    return ids


def test_runs_list_filters_by_one_or_more_verdicts(database_url: str, stored: dict[str | None, int]) -> None:
    cli = CliRunner()
    base = ["runs", "list", "--database-url", database_url]
    listed = cli.invoke(app, [*base, "--verdict", "deviated", "--verdict", "held", "--json"])
    assert listed.exit_code == 0, listed.stderr
    assert sorted(row["id"] for row in json.loads(listed.stdout)) == sorted(
        [stored["held"], stored["deviated"]]
    )
    table = cli.invoke(app, base).stdout.splitlines()
    assert table[0].split()[:3] == ["id", "status", "verdict"]
    assert {line.split()[0]: line.split()[2] for line in table[1:]} == {
        str(run_id): verdict or "-" for verdict, run_id in stored.items()
    }
    wrong = cli.invoke(app, [*base, "--verdict", "fine"])
    assert wrong.exit_code == 2 and "unknown verdict" in wrong.stderr and "not_recovered" in wrong.stderr


def test_runs_show_prints_verdict_score_phases_and_the_page_url(
    database_url: str, stored: dict[str | None, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOIFI_DASHBOARD_URL", "http://console.example:8501")
    run_id = stored["baseline_failed"]
    shown = CliRunner().invoke(app, ["runs", "show", str(run_id), "--database-url", database_url])
    assert shown.exit_code == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[1] == "  verdict    baseline_failed; the fault was not applied"
    assert "  severity   12.5 of 100 (the fault phase against the baseline)" in lines
    assert any(line.startswith("  baseline         3    0.0 %") for line in lines), shown.stdout
    assert "  labels     nightly" in lines
    assert lines[-1] == f"  page       http://console.example:8501/Run?run={run_id}"
    as_json = CliRunner().invoke(app, ["runs", "show", str(run_id), "--json", "--database-url", database_url])
    document = json.loads(as_json.stdout)
    assert document["page_url"] == f"http://console.example:8501/Run?run={run_id}"
    assert document["run"]["verdict"] == "baseline_failed"


def test_the_differences_come_from_the_stored_samples_of_each_phase(database_url: str) -> None:
    samples = [(i * 10.0, 10.0, 200, False, Phase.BASELINE) for i in range(50)]
    samples += [(1000 + i * 10.0, 60.0, 200, True, Phase.FAULT) for i in range(50)]
    samples += [(2000 + i * 10.0, 500.0, 500, False, Phase.RECOVERY) for i in range(50)]  # left out
    engine = storage.make_engine(database_url)
    storage.init_db(engine)
    with Session(engine) as session:
        with_baseline = _store(session, "deviated", samples)
        without = _store(session, "held", samples[50:100])
    console = SimpleNamespace(engine=engine)
    found = {c.metric: c for c in fault_minus_baseline(read_detail(console, with_baseline).samples)}  # type: ignore[arg-type]
    assert found[Metric.P50].difference == 50.0 and found[Metric.ERROR_RATE].difference == 0.0
    assert fault_minus_baseline(read_detail(console, without).samples) == []  # type: ignore[arg-type]
    engine.dispose()
