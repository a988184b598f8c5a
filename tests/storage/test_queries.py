"""Run queries: filters, counts, details, comparison, active and orphaned runs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

import storage
from storage import RunStatus
from tests.storage.conftest import T0, file_engine, new_run


@pytest.fixture(scope="module", params=["memory", "file"])
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Engine, dict[str, int]]]:
    """One database per backend for the read-only tests (they must not write to it).

    Four runs an hour apart: payment/delay, payment/abort, orders/delay, orders/error_injection.
    """
    if request.param == "memory":
        engine = storage.make_engine("sqlite://")
        storage.init_db(engine)
    else:
        engine = file_engine(tmp_path_factory.mktemp("queries") / "q.db")
    with Session(engine) as session:
        ids = {
            "pay_delay": new_run(session, now=T0),
            "pay_abort": new_run(session, now=T0 + timedelta(hours=1), fault_type="abort", api="/refund"),
            "orders_delay": new_run(session, now=T0 + timedelta(hours=2), service="orders", api="/orders"),
            "orders_error": new_run(
                session,
                now=T0 + timedelta(hours=3),
                service="orders",
                api="/orders",
                fault_type="error_injection",
            ),
        }
        storage.finish_run(session, run_id=ids["pay_delay"], status=RunStatus.COMPLETED, now=T0)
        storage.finish_run(
            session,
            run_id=ids["pay_abort"],
            status=RunStatus.FAILED,
            error="Timeout reached",
            samples=[(0.0, 3.0, 503, True)],
        )
        storage.mark_running(session, run_id=ids["orders_delay"], now=T0 + timedelta(hours=2))
        storage.update_run_meta(session, run_id=ids["orders_error"], labels=["Canary-7"], notes="retry storm")
    yield engine, ids
    engine.dispose()


@pytest.fixture
def ro_session(seeded: tuple[Engine, dict[str, int]]) -> Iterator[Session]:
    with Session(seeded[0]) as session:
        yield session


@pytest.fixture
def runs(seeded: tuple[Engine, dict[str, int]]) -> dict[str, int]:
    return seeded[1]


def _ids(found: list[storage.Run]) -> list[int | None]:
    return [run.id for run in found]


def test_list_runs_is_newest_first(ro_session: Session, runs: dict[str, int]) -> None:
    assert _ids(storage.list_runs(ro_session)) == [
        runs["orders_error"],
        runs["orders_delay"],
        runs["pay_abort"],
        runs["pay_delay"],
    ]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"service": "payment"}, ["pay_abort", "pay_delay"]),
        ({"service": ["payment", "orders"]}, ["orders_error", "orders_delay", "pay_abort", "pay_delay"]),
        ({"api": "/orders"}, ["orders_error", "orders_delay"]),
        ({"service": "payment", "api": "/refund"}, ["pay_abort"]),
        ({"fault_type": "delay"}, ["orders_delay", "pay_delay"]),
        ({"fault_type": ["abort", "error_injection"]}, ["orders_error", "pay_abort"]),
        ({"status": RunStatus.FAILED}, ["pay_abort"]),
        ({"status": [RunStatus.QUEUED, RunStatus.RUNNING]}, ["orders_error", "orders_delay"]),
        ({"status": ["completed"]}, ["pay_delay"]),
        ({"since": T0 + timedelta(hours=1)}, ["orders_error", "orders_delay", "pay_abort"]),
        ({"until": T0 + timedelta(hours=1)}, ["pay_delay"]),
        (
            {"since": T0 + timedelta(minutes=30), "until": T0 + timedelta(hours=2, minutes=30)},
            ["orders_delay", "pay_abort"],
        ),
        ({"search": "canary"}, ["orders_error"]),
        ({"search": "STORM"}, ["orders_error"]),
        ({"search": "timeout"}, ["pay_abort"]),
        ({"search": "refund"}, ["pay_abort"]),
        ({"search": "100%"}, []),
        ({"search": "  "}, ["orders_error", "orders_delay", "pay_abort", "pay_delay"]),
        ({"service": "payment", "status": RunStatus.RUNNING}, []),
    ],
)
def test_list_and_count_runs_filter(
    ro_session: Session, runs: dict[str, int], filters: dict[str, object], expected: list[str]
) -> None:
    assert _ids(storage.list_runs(ro_session, **filters)) == [runs[name] for name in expected]  # type: ignore[arg-type]
    assert storage.count_runs(ro_session, **filters) == len(expected)  # type: ignore[arg-type]


def test_search_by_run_id(ro_session: Session, runs: dict[str, int]) -> None:
    assert runs["pay_abort"] in _ids(storage.list_runs(ro_session, search=str(runs["pay_abort"])))


def test_since_accepts_other_timezones(ro_session: Session, runs: dict[str, int]) -> None:
    from datetime import timezone

    plus_two = timezone(timedelta(hours=2))
    since = (T0 + timedelta(hours=3)).astimezone(plus_two)
    assert _ids(storage.list_runs(ro_session, since=since)) == [runs["orders_error"]]


def test_list_runs_pages(ro_session: Session, runs: dict[str, int]) -> None:
    first = storage.list_runs(ro_session, limit=3)
    rest = storage.list_runs(ro_session, limit=3, offset=3)
    assert len(first) == 3 and _ids(rest) == [runs["pay_delay"]]


def test_get_run_of_an_unknown_id_is_none(session: Session) -> None:
    assert storage.get_run(session, run_id=12345) is None


def test_get_run_without_samples_has_an_empty_array(ro_session: Session, runs: dict[str, int]) -> None:
    detail = storage.get_run(ro_session, run_id=runs["pay_delay"])
    assert detail is not None
    assert detail.samples.dtype == storage.SAMPLE_DTYPE and detail.samples.size == 0 and detail.timeline == []


def test_load_runs_for_comparison_keeps_the_order_and_skips_missing(
    ro_session: Session, runs: dict[str, int]
) -> None:
    details = storage.load_runs_for_comparison(
        ro_session, run_ids=[runs["pay_abort"], 999, runs["pay_delay"], runs["pay_abort"]]
    )
    assert [detail.run.id for detail in details] == [runs["pay_abort"], runs["pay_delay"]]
    assert details[0].samples["latency_ms"].tolist() == [3.0]


def test_active_runs_are_queued_or_running_oldest_first(ro_session: Session, runs: dict[str, int]) -> None:
    assert _ids(storage.active_runs(ro_session)) == [runs["orders_delay"], runs["orders_error"]]


def test_orphaned_runs_use_heartbeat_and_lease(session: Session) -> None:
    stale = new_run(session, owner="dead:1:x", now=T0)
    fresh = new_run(session, owner="alive:2:y", now=T0)
    mine = new_run(session, owner="me:3:z", now=T0)
    storage.heartbeat(session, run_ids=[fresh], owner="alive:2:y", now=T0 + timedelta(seconds=50))
    now = T0 + timedelta(seconds=60)
    assert _ids(storage.orphaned_runs(session, lease_sec=30, now=now)) == [stale, mine]
    assert _ids(storage.orphaned_runs(session, lease_sec=30, now=now, exclude_owner="me:3:z")) == [stale]
    assert storage.orphaned_runs(session, lease_sec=120, now=now) == []
    storage.finish_run(session, run_id=stale, status=RunStatus.COMPLETED, now=now)
    assert _ids(storage.orphaned_runs(session, lease_sec=30, now=now, exclude_owner="me:3:z")) == []


def test_distinct_values_list_what_is_present(ro_session: Session, runs: dict[str, int]) -> None:
    values = storage.distinct_values(ro_session)
    assert values["services"] == ["orders", "payment"]
    assert values["apis"] == ["/api/v1/payment/process", "/orders", "/refund"]
    assert values["fault_types"] == ["abort", "delay", "error_injection"]
    assert values["labels"] == ["Canary-7"]
    assert values["executor_urls"] == ["http://127.0.0.1:8080"]


def test_an_empty_selection_means_any(ro_session: Session, runs: dict[str, int]) -> None:
    assert storage.count_runs(ro_session, service=[], status=[], fault_type=[]) == len(runs)


def test_reads_see_writes_made_by_another_session(ro_session: Session, runs: dict[str, int]) -> None:
    engine = ro_session.get_bind()
    before = storage.get_run(ro_session, run_id=runs["orders_delay"])
    assert before is not None and before.run.notes == ""
    with Session(engine) as other:
        storage.update_run_meta(other, run_id=runs["orders_delay"], notes="changed elsewhere")
    try:
        again = storage.get_run(ro_session, run_id=runs["orders_delay"])
        assert again is not None and again.run.notes == "changed elsewhere"
        listed = storage.list_runs(ro_session, status=RunStatus.RUNNING)
        assert [run.notes for run in listed] == ["changed elsewhere"]
    finally:
        with Session(engine) as other:
            storage.update_run_meta(other, run_id=runs["orders_delay"], notes="")


def test_search_finds_non_ascii_labels(session: Session) -> None:
    run_id = new_run(session)
    storage.update_run_meta(session, run_id=run_id, labels=["überlast"])
    assert _ids(storage.list_runs(session, search="überlast")) == [run_id]
