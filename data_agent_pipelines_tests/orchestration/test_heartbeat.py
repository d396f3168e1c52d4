"""The heartbeat sensor, evaluated with `build_sensor_context` against the real catalog and a real instance."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus, DefaultSensorStatus, RunsFilter, instance_for_test
from dagster._core.test_utils import create_run_for_test

from data_agent_pipelines import source_settings
from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.definitions import defs
from data_agent_pipelines.model import isoformat
from data_agent_pipelines.orchestration.heartbeat import DueItem, build_heartbeat, heartbeat, next_slot
from data_agent_pipelines.source_settings import SourceChanges

from ..conftest import FakeClock
from .ticks import tick


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[DagsterInstance]:
    folder = tmp_path / "dagster-instance"
    folder.mkdir()
    with instance_for_test(temp_dir=str(folder)) as opened:
        yield opened


@pytest.fixture
def service(catalog: Catalog) -> str:
    catalog.add_service("acme")
    return "acme"


def add_source(catalog: Catalog, name: str, *, every: str | None = "1h", cron: str | None = None) -> str:
    changes = SourceChanges(name=name, kind="mrss", url=f"https://feeds.invalid/{name}.xml", every=every, cron=cron)
    return source_settings.add_source(catalog, "acme", changes).id


def test_the_sensor_is_the_scheduler_every_five_minutes_running_by_default() -> None:
    for sensor in (heartbeat, defs.resolve_sensor_def("heartbeat")):
        assert sensor.name == "heartbeat"
        assert sensor.minimum_interval_seconds == 300
        assert sensor.default_status == DefaultSensorStatus.RUNNING
        assert [job.name for job in sensor.jobs] == ["import_source", "export_service"]


def test_new_sources_get_a_partition_and_a_run_with_key_and_tags(
    service: str, catalog: Catalog, clock: FakeClock, instance: DagsterInstance, database_url: str
) -> None:
    first, second = add_source(catalog, "one"), add_source(catalog, "two")
    done = tick(build_heartbeat(clock=clock), instance, database_url)
    assert sorted(done.added) == sorted([first, second]) and done.removed == []
    assert sorted(instance.get_dynamic_partitions("sources")) == sorted([first, second])
    assert sorted(done.keys) == sorted([first, second])
    request = next(r for r in done.run_requests if r.partition_key == first)
    assert request.job_name == "import_source"
    assert request.run_key == f"import:{first}@{isoformat(clock.now)}"
    assert request.tags["data_agent/service"] == "acme"
    assert request.tags["data_agent/source"] == first
    assert request.tags["data_agent/kind"] == "mrss"
    assert request.tags["dagster/partition"] == first  # resolved as the daemon resolves it
    assert catalog.get_source(first).next_run_at == clock.now + timedelta(hours=1)


def test_a_deleted_source_loses_its_partition_and_keeps_its_history(
    service: str, catalog: Catalog, clock: FakeClock, instance: DagsterInstance, database_url: str
) -> None:
    sensor = build_heartbeat(clock=clock)
    kept, deleted = add_source(catalog, "kept"), add_source(catalog, "gone")
    tick(sensor, instance, database_url)
    source = catalog.get_source(deleted)
    catalog.record_failed_run(source, run_id="run-1", error="boom", dry_run=False)
    create_run_for_test(
        instance, job_name="import_source", status=DagsterRunStatus.FAILURE, tags={"dagster/partition": deleted}
    )
    catalog.delete_source(deleted)
    done = tick(sensor, instance, database_url)
    assert done.removed == [deleted] and done.added == [] and done.run_requests == []
    assert instance.get_dynamic_partitions("sources") == [kept]
    assert [r.run_id for r in catalog.list_results(source_id=deleted)] == ["run-1"]
    assert len(instance.get_runs(RunsFilter(tags={"dagster/partition": deleted}))) == 1


def test_a_disabled_source_never_runs_but_keeps_its_partition(
    service: str, catalog: Catalog, clock: FakeClock, instance: DagsterInstance, database_url: str
) -> None:
    sensor = build_heartbeat(clock=clock)
    source_id = add_source(catalog, "off")
    catalog.set_enabled(source_id, False)
    for _ in range(3):
        done = tick(sensor, instance, database_url)
        assert done.run_requests == []
        clock.advance(days=10)
    assert instance.get_dynamic_partitions("sources") == [source_id]
    catalog.set_enabled(source_id, True)
    assert tick(sensor, instance, database_url).keys == [source_id]


def test_a_source_runs_when_due_and_not_before(
    service: str, catalog: Catalog, clock: FakeClock, instance: DagsterInstance, database_url: str
) -> None:
    sensor = build_heartbeat(clock=clock)
    source_id = add_source(catalog, "hourly", every="1h")
    start = clock.now
    assert tick(sensor, instance, database_url).keys == [source_id]
    clock.advance(minutes=59)
    assert tick(sensor, instance, database_url).run_requests == []
    clock.advance(minutes=2)
    (request,) = tick(sensor, instance, database_url).run_requests
    assert request.run_key == f"import:{source_id}@{isoformat(start + timedelta(hours=1))}"


def test_a_source_with_a_run_queued_or_in_progress_waits_and_a_failed_run_does_not_block(
    service: str, catalog: Catalog, clock: FakeClock, instance: DagsterInstance, database_url: str
) -> None:
    sensor = build_heartbeat(clock=clock)
    waiting, started, failed = add_source(catalog, "waiting"), add_source(catalog, "started"), add_source(catalog, "f")
    # A queued run needs a code location origin; NOT_STARTED (created, not yet queued) is the same to the heartbeat.
    for source_id, status in (
        (waiting, DagsterRunStatus.NOT_STARTED),
        (started, DagsterRunStatus.STARTED),
        (failed, DagsterRunStatus.FAILURE),
    ):
        create_run_for_test(instance, job_name="import_source", status=status, tags={"dagster/partition": source_id})
    done = tick(sensor, instance, database_url)
    assert done.keys == [failed]
    assert catalog.get_source(waiting).next_run_at == clock.now  # still due: it runs once its run is done
    for run in instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTED])):
        instance.report_run_failed(run)
    clock.advance(minutes=5)
    assert sorted(tick(sensor, instance, database_url).keys) == sorted([waiting, started])


def test_a_source_due_long_ago_runs_once_and_keeps_its_phase(
    service: str, catalog: Catalog, clock: FakeClock, instance: DagsterInstance, database_url: str
) -> None:
    sensor = build_heartbeat(clock=clock)
    source_id = add_source(catalog, "late", every="1h")
    due = clock.now - timedelta(days=30, minutes=20)
    catalog.schedule_sources({source_id: due})
    (request,) = tick(sensor, instance, database_url).run_requests
    assert request.run_key == f"import:{source_id}@{isoformat(due)}"
    assert catalog.get_source(source_id).next_run_at == clock.now + timedelta(minutes=40)
    assert tick(sensor, instance, database_url).run_requests == []


def test_a_cron_source_runs_on_its_slots(
    service: str, catalog: Catalog, clock: FakeClock, instance: DagsterInstance, database_url: str
) -> None:
    sensor = build_heartbeat(clock=clock)
    clock.now = datetime(2026, 11, 1, 12, 7, tzinfo=UTC)
    source_id = add_source(catalog, "quarterly", every=None, cron="*/15 * * * *")
    assert tick(sensor, instance, database_url).keys == [source_id]
    assert catalog.get_source(source_id).next_run_at == datetime(2026, 11, 1, 12, 15, tzinfo=UTC)
    clock.now = datetime(2026, 11, 1, 12, 14, tzinfo=UTC)
    assert tick(sensor, instance, database_url).run_requests == []
    clock.now = datetime(2026, 11, 1, 13, 3, tzinfo=UTC)  # three slots missed: one run
    assert tick(sensor, instance, database_url).keys == [source_id]
    assert catalog.get_source(source_id).next_run_at == datetime(2026, 11, 1, 13, 15, tzinfo=UTC)


def test_the_cap_takes_the_oldest_first_and_the_rest_goes_on_the_next_tick(
    service: str, catalog: Catalog, clock: FakeClock, instance: DagsterInstance, database_url: str
) -> None:
    sensor = build_heartbeat(clock=clock, max_runs=2)
    ids = [add_source(catalog, f"s{n}") for n in range(5)]
    # Oldest due first: s4 has waited longest, s0 least.
    catalog.schedule_sources({source_id: clock.now - timedelta(minutes=n) for n, source_id in enumerate(ids)})
    seen = [tick(sensor, instance, database_url).keys for _ in range(4)]
    assert seen == [[ids[4], ids[3]], [ids[2], ids[1]], [ids[0]], []]


def test_the_cap_comes_from_settings(
    service: str,
    catalog: Catalog,
    clock: FakeClock,
    instance: DagsterInstance,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from data_agent_pipelines.settings import get_settings

    monkeypatch.setenv("DATA_AGENT_HEARTBEAT_MAX_RUNS", "1")
    get_settings.cache_clear()
    for n in range(3):
        add_source(catalog, f"s{n}")
    assert len(tick(build_heartbeat(clock=clock), instance, database_url).run_requests) == 1


def test_next_slot_skips_missed_slots() -> None:
    now = datetime(2026, 11, 1, 12, 4, tzinfo=UTC)
    hourly = DueItem("k", datetime(2026, 11, 1, 12, 0, tzinfo=UTC), 3600, None, {})
    assert next_slot(hourly, now) == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)
    exactly = DueItem("k", now, 3600, None, {})
    assert next_slot(exactly, now) == now + timedelta(hours=1)
    daily_cron = DueItem("k", datetime(2026, 1, 1, tzinfo=UTC), None, "0 6 * * *", {})
    assert next_slot(daily_cron, now) == datetime(2026, 11, 2, 6, 0, tzinfo=UTC)


def test_partition_deletions_are_capped_per_tick_and_go_on_next_tick(
    service: str,
    catalog: Catalog,
    clock: FakeClock,
    instance: DagsterInstance,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import data_agent_pipelines.orchestration.heartbeat as heartbeat_module

    monkeypatch.setattr(heartbeat_module, "MAX_PARTITION_DELETIONS", 2)
    sensor = build_heartbeat(clock=clock)
    ids = [add_source(catalog, f"s{n}") for n in range(4)]
    tick(sensor, instance, database_url)
    for source_id in ids[:3]:
        catalog.delete_source(source_id)
    assert len(tick(sensor, instance, database_url).removed) == 2
    assert len(tick(sensor, instance, database_url).removed) == 1
    assert instance.get_dynamic_partitions("sources") == [ids[3]]
