"""The `import_failures` sensor: real failed runs on a real instance, the real catalog, Bugsnag on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from dagster import (
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    DefaultSensorStatus,
    build_sensor_context,
)
from dagster._core.definitions.run_status_sensor_definition import RunStatusSensorCursor
from dagster._core.definitions.sensor_definition import SensorExecutionData
from dagster._core.test_utils import create_run_for_test

from data_agent_pipelines.catalog import locks
from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.definitions import defs
from data_agent_pipelines.orchestration.failures import handle_failures, import_failures, parse_cursor
from data_agent_pipelines.orchestration.instance import ensure_partition
from data_agent_pipelines.orchestration.resources import CatalogResource
from data_agent_pipelines.reporting import Reporter
from data_agent_pipelines.settings import Settings, get_settings
from data_agent_pipelines.source_settings import SourceChanges, add_source

from ..bugsnagserver import BugsnagServer
from ..clirunner import run_cli
from ..feeds import item, rss
from ..feedserver import FeedServer

SECRET = "very-secret-api-token"


@pytest.fixture
def bugsnag(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[BugsnagServer]:
    with BugsnagServer().running() as server:
        monkeypatch.setenv("BUGSNAG_API_KEY", "0123456789abcdef0123456789abcdef")
        monkeypatch.setenv("BUGSNAG_NOTIFY_ENDPOINT", server.url)
        get_settings.cache_clear()
        yield server
    get_settings.cache_clear()


@pytest.fixture
def source_id(feed_server: FeedServer, catalog: Catalog) -> str:
    catalog.add_service("acme")
    url = feed_server.serve("/feed.xml", rss(item("a"), item("b")))
    changes = SourceChanges(name="feed", kind="mrss", url=url, credentials={"token": SECRET})
    return add_source(catalog, "acme", changes).id


def evaluate(instance: DagsterInstance, run: DagsterRun, database_url: str, cursor: str | None = None) -> str | None:
    """One tick of the sensor, as the daemon runs it; the cursor it leaves. It must have dealt with `run`."""
    # The sensor reads the environment's catalog, as in production (the resource has no setting for it).
    assert get_settings().database_url == database_url
    assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.FAILURE

    def tick(cursor: str | None) -> SensorExecutionData:
        with build_sensor_context(instance=instance, cursor=cursor, resources={"catalog": CatalogResource()}) as ctx:
            return import_failures.evaluate_tick(ctx)

    data = tick(cursor)
    assert not data.run_requests and data.cursor is not None
    assert tick(data.cursor).skip_message.startswith("0 failed import runs")  # dealt with: not again
    return data.cursor


def test_the_sensor_watches_import_runs_and_runs_by_default() -> None:
    sensor = defs.resolve_sensor_def("import_failures")
    assert sensor.default_status == DefaultSensorStatus.RUNNING


def test_a_run_that_died_without_a_result_is_recorded_on_the_source_and_reported(
    source_id: str, catalog: Catalog, instance: DagsterInstance, bugsnag: BugsnagServer, database_url: str
) -> None:
    # What run monitoring does to a run past its max runtime or whose worker died: it reports the run failed.
    run = create_run_for_test(
        instance,
        job_name="import_source",
        status=DagsterRunStatus.STARTED,
        tags={"dagster/partition": source_id, "data_agent/service": "acme", "data_agent/kind": "mrss"},
    )
    locks.acquire(catalog, source_id, run.run_id, ttl=timedelta(hours=1))
    instance.report_run_failed(run, message="Run timed out after exceeding its max runtime of 10800 seconds.")
    evaluate(instance, run, database_url)

    source = catalog.get_source(source_id)
    assert source.last_status == "failed" and "exceeding its max runtime" in source.last_error
    (result,) = catalog.list_results(source_id=source_id)
    assert result.run_id == run.run_id and result.status == "failed"
    assert locks.held(catalog, source_id) is None  # the dead run's lock is released
    assert bugsnag.wait_for(1)
    (event,) = bugsnag.events
    assert event["severity"] == "error" and "exceeding its max runtime" in event["exceptions"][0]["message"]
    tab = event["metaData"]["run"]
    assert tab["run_id"] == run.run_id and tab["source_id"] == source_id and tab["service"] == "acme"
    assert tab["result_id"] == result.id and tab["source_kind"] == "mrss"
    assert SECRET not in repr(bugsnag.payloads)


def test_an_import_that_failed_as_a_whole_is_reported_and_not_recorded_twice(
    source_id: str,
    catalog: Catalog,
    instance: DagsterInstance,
    bugsnag: BugsnagServer,
    feed_server: FeedServer,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    del feed_server.documents["/feed.xml"]
    failed = run_cli(capsys, "import", source_id, "--json")
    assert failed.code == 1
    run = instance.get_run_by_id(failed.json()["run_id"])
    assert run.status == DagsterRunStatus.FAILURE
    evaluate(instance, run, database_url)
    (result,) = catalog.list_results(source_id=source_id)
    assert result.id == failed.json()["id"]
    source = catalog.get_source(source_id)
    assert source.last_status == "failed" and "404" in source.last_error
    assert bugsnag.wait_for(1)
    (event,) = bugsnag.events
    # The fetch failed (404), and so did its op: the failure no longer lands on `write`.
    assert event["exceptions"][0]["message"].startswith("fetch: import of source")
    assert event["metaData"]["run"]["result_id"] == result.id


def test_a_run_that_found_its_source_busy_changes_nothing_and_is_not_reported(
    source_id: str, catalog: Catalog, instance: DagsterInstance, bugsnag: BugsnagServer, database_url: str
) -> None:
    holder = create_run_for_test(
        instance, job_name="import_source", status=DagsterRunStatus.STARTED, tags={"dagster/partition": source_id}
    )
    real_time = Catalog.open(get_settings(), migrate=False)  # the job reads the real clock, so the lock does too
    locks.acquire(real_time, source_id, holder.run_id, ttl=timedelta(hours=1))
    real_time.close()
    before = catalog.get_source(source_id)
    ensure_partition(instance, source_id)
    # A launchpad or scheduled run: no CLI pre-check, the fetch op finds the lock held.
    outcome = defs.resolve_job_def("import_source").execute_in_process(
        instance=instance, partition_key=source_id, raise_on_error=False
    )
    assert not outcome.success
    run = instance.get_run_by_id(outcome.run_id)
    evaluate(instance, run, database_url)
    assert catalog.get_source(source_id) == before
    assert catalog.list_results(source_id=source_id) == []
    assert locks.held(catalog, source_id).holder == holder.run_id  # the busy run released nothing of others'
    assert bugsnag.payloads == []


def test_a_hanging_bugsnag_never_holds_the_sensor(
    source_id: str, catalog: Catalog, instance: DagsterInstance, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with BugsnagServer(mode="hang").running() as hanging:
        monkeypatch.setenv("BUGSNAG_API_KEY", "0123456789abcdef0123456789abcdef")
        monkeypatch.setenv("BUGSNAG_NOTIFY_ENDPOINT", hanging.url)
        get_settings.cache_clear()
        run = create_run_for_test(
            instance, job_name="import_source", status=DagsterRunStatus.STARTED, tags={"dagster/partition": source_id}
        )
        instance.report_run_failed(run, message="the run worker died")
        started = time.monotonic()
        evaluate(instance, run, database_url)
        assert time.monotonic() - started < 10  # delivery waits at most its flush bound (2 s) after the work
        assert hanging.wait_for(1)
    assert catalog.get_source(source_id).last_status == "failed"
    get_settings.cache_clear()


def fail_runs(instance: DagsterInstance, source_id: str, count: int, job_name: str = "import_source") -> list[str]:
    """`count` runs of the job that run monitoring reported failed (worker lost), oldest first."""
    run_ids = []
    for _ in range(count):
        run = create_run_for_test(
            instance, job_name=job_name, status=DagsterRunStatus.STARTED, tags={"dagster/partition": source_id}
        )
        instance.report_run_failed(run, message="the run worker died")
        run_ids.append(run.run_id)
    return run_ids


def test_a_tick_handles_failures_in_bulk_and_the_cursor_carries_the_rest(
    source_id: str, catalog: Catalog, instance: DagsterInstance, database_url: str, tmp_path: Path
) -> None:
    failed = fail_runs(instance, source_id, 25)
    fail_runs(instance, source_id, 3, job_name="export_service")  # not an import: passed over
    reporter = Reporter.from_settings()
    first = handle_failures(instance, catalog, reporter, work_root=tmp_path, after=None, now=time.time(), limit=20)
    assert len(first.handled) == 20 and first.more
    second = handle_failures(
        instance, catalog, reporter, work_root=tmp_path, after=first.cursor, now=time.time(), limit=20
    )
    assert len(second.handled) == 5 and not second.more
    assert {result.run_id for result in catalog.list_results(source_id=source_id, limit=100)} == set(failed)
    third = handle_failures(
        instance, catalog, reporter, work_root=tmp_path, after=second.cursor, now=time.time(), limit=20
    )
    assert third.handled == [] and third.cursor == second.cursor


def test_the_cursor_of_dagsters_run_failure_sensor_is_taken_over() -> None:
    legacy = RunStatusSensorCursor(record_id=1234, update_timestamp=None, record_timestamp=None).to_json()
    assert parse_cursor(legacy) == 1234
    assert parse_cursor("1234") == 1234
    assert parse_cursor(None) is None and parse_cursor("") is None and parse_cursor("{not json") is None
