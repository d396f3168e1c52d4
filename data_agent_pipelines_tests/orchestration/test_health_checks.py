"""The health checks of `import_results`: what the instance records per source partition, from real imports (a
feed on loopback, the real catalog, a real Dagster instance) and from the freshness sensor, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from dagster import (
    AssetCheckEvaluation,
    AssetKey,
    DagsterInstance,
    DefaultSensorStatus,
    build_sensor_context,
)
from dagster._core.event_api import PartitionKeyFilter
from dagster._core.execution.api import create_execution_plan

from data_agent_pipelines import health
from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.definitions import defs
from data_agent_pipelines.orchestration.checks import check_key
from data_agent_pipelines.orchestration.freshness import build_import_freshness
from data_agent_pipelines.orchestration.instance import ensure_partition
from data_agent_pipelines.orchestration.resources import CatalogResource
from data_agent_pipelines.source_settings import SourceChanges, edit_source

from ..clirunner import run_cli
from ..conftest import FakeClock, add_feed_source
from ..feeds import item, rss
from ..feedserver import FeedServer

CHECKS = (
    health.LAST_IMPORT_SUCCEEDED,
    health.FAILED_ITEMS_UNDER_THRESHOLD,
    health.REMOVALS_NOT_HELD_BACK,
    health.IMPORTED_RECENTLY,
)
TEN = [f"i{n}" for n in range(10)]
NO_ID = "<item><description>nothing to identify me</description></item>"


def recorded(instance: DagsterInstance, partition: str) -> dict[str, tuple[str, str, str]]:
    """The last recorded verdict of each check on `partition`: (SUCCEEDED | FAILED | PLANNED, severity, description).

    Each must be current, as the UI resolves it: about the partition's latest materialization (the UI shows a
    verdict about an older one as no verdict at all).
    """
    verdicts = {}
    for name in CHECKS:
        records = instance.event_log_storage.get_asset_check_execution_history(
            check_key(name), limit=1, partition_filter=PartitionKeyFilter(key=partition)
        )
        if records:
            (record,) = records
            if record.status.value == "PLANNED":  # a run will judge it
                verdicts[name] = ("PLANNED", "", "")
                continue
            evaluation = record.event.dagster_event.event_specific_data
            assert isinstance(evaluation, AssetCheckEvaluation) and evaluation.partition == partition
            (info,) = instance.event_log_storage.get_asset_check_partition_info(
                [check_key(name)], partition_keys=[partition]
            )
            assert info.is_current, f"{name} on {partition} is about an older materialization"
            verdicts[name] = (record.status.value, evaluation.severity.value, evaluation.description)
    return verdicts


def run_import(capsys: pytest.CaptureFixture[str], source_id: str) -> dict:
    return run_cli(capsys, "import", source_id, "--json").json()


def test_the_checks_are_partitioned_like_the_asset_and_the_sensor_runs_by_default() -> None:
    assets_def = defs.resolve_assets_def("import_results")
    specs = {spec.name: spec for spec in assets_def.check_specs}
    assert set(specs) == set(CHECKS)
    assert all(spec.partitions_def == assets_def.partitions_def for spec in specs.values())
    assert defs.resolve_sensor_def("import_freshness").default_status == DefaultSensorStatus.RUNNING


def test_a_good_import_passes_every_check_of_its_partition_only(
    feed_server: FeedServer, catalog: Catalog, instance: DagsterInstance, capsys: pytest.CaptureFixture[str]
) -> None:
    source_id = add_feed_source(catalog, feed_server.serve("/feed.xml", rss(item("a"), item("b"))), name="Main feed")
    other = add_feed_source(catalog, feed_server.url("/other.xml"), name="other")
    result = run_import(capsys, source_id)
    assert result["status"] == "succeeded"
    verdicts = recorded(instance, source_id)
    assert {name: verdict[0] for name, verdict in verdicts.items()} == dict.fromkeys(CHECKS, "SUCCEEDED")
    assert verdicts[health.FAILED_ITEMS_UNDER_THRESHOLD][2] == "0 of 2 items failed (0.0%); the source allows 10.0%"
    assert recorded(instance, other) == {}
    # The materialization names the source, so the partition (an opaque id) reads as what it is.
    (event,) = instance.fetch_materializations(AssetKey("import_results"), limit=1).records
    metadata = event.asset_materialization.metadata
    assert event.partition_key == source_id
    assert metadata["source_name"].value == "Main feed" and metadata["service"].value == "acme"
    assert metadata["kind"].value == "mrss"


def test_a_failed_fetch_is_an_error_on_its_partition(
    feed_server: FeedServer,
    catalog: Catalog,
    instance: DagsterInstance,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clock.now = datetime.now(UTC)  # the import runs on the real clock: the source was added just before it
    source_id = add_feed_source(catalog, feed_server.url("/missing.xml"))
    result = run_import(capsys, source_id)
    assert result["status"] == "failed"
    verdicts = recorded(instance, source_id)
    status, severity, description = verdicts[health.LAST_IMPORT_SUCCEEDED]
    assert (status, severity) == ("FAILED", "ERROR") and "404" in description
    assert verdicts[health.FAILED_ITEMS_UNDER_THRESHOLD] == ("SUCCEEDED", "WARN", "no items were read")
    assert verdicts[health.REMOVALS_NOT_HELD_BACK][0] == "SUCCEEDED"
    # Just added: not yet stale, though it never succeeded.
    assert verdicts[health.IMPORTED_RECENTLY][0] == "SUCCEEDED"


def test_failed_items_above_the_sources_threshold_warn(
    feed_server: FeedServer, catalog: Catalog, instance: DagsterInstance, capsys: pytest.CaptureFixture[str]
) -> None:
    source_id = add_feed_source(catalog, feed_server.serve("/feed.xml", rss(item("a"), item("b"), item("c"), NO_ID)))
    assert run_import(capsys, source_id)["status"] == "partial"
    verdicts = recorded(instance, source_id)
    assert verdicts[health.LAST_IMPORT_SUCCEEDED][:2] == ("SUCCEEDED", "ERROR")
    assert verdicts[health.FAILED_ITEMS_UNDER_THRESHOLD] == (
        "FAILED",
        "WARN",
        "1 of 4 items failed (25.0%); the source allows 10.0%",
    )
    # The threshold is the source's own.
    edit_source(catalog, source_id, SourceChanges(max_failed_fraction="0.3"))
    assert catalog.get_source(source_id).max_failed_fraction == 0.3
    run_import(capsys, source_id)
    assert recorded(instance, source_id)[health.FAILED_ITEMS_UNDER_THRESHOLD][0] == "SUCCEEDED"


def test_a_guard_that_held_back_warns_and_an_import_it_failed_is_an_error(
    feed_server: FeedServer, catalog: Catalog, instance: DagsterInstance, capsys: pytest.CaptureFixture[str]
) -> None:
    source_id = add_feed_source(
        catalog, feed_server.serve("/feed.xml", rss(*(item(i) for i in TEN))), on_missing="delete"
    )
    run_import(capsys, source_id)
    feed_server.serve("/feed.xml", rss(*(item(i) for i in TEN[3:])))
    assert run_import(capsys, source_id)["status"] == "failed"
    verdicts = recorded(instance, source_id)
    assert verdicts[health.REMOVALS_NOT_HELD_BACK][:2] == ("FAILED", "WARN")
    assert verdicts[health.REMOVALS_NOT_HELD_BACK][2].startswith("3 assets would have been deleted, but 3 of")
    assert verdicts[health.LAST_IMPORT_SUCCEEDED][:2] == ("FAILED", "ERROR")
    assert verdicts[health.IMPORTED_RECENTLY][0] == "SUCCEEDED"  # it succeeded a moment ago


def test_the_freshness_sensor_marks_stale_sources_in_bulk_and_only_what_changed(
    catalog: Catalog, instance: DagsterInstance, clock: FakeClock, database_url: str
) -> None:
    hourly = [add_feed_source(catalog, f"https://feeds.example.com/{n}.xml", name=f"s{n}") for n in range(3)]
    daily = add_feed_source(catalog, "https://feeds.example.com/d.xml", name="daily", every="1d")
    disabled = add_feed_source(catalog, "https://feeds.example.com/x.xml", name="off")
    catalog.set_enabled(disabled, False)
    unpartitioned = add_feed_source(catalog, "https://feeds.example.com/new.xml", name="new")
    for source_id in [*hourly, daily, disabled]:
        ensure_partition(instance, source_id)
    sensor = build_import_freshness(clock=clock)

    def tick() -> list[AssetCheckEvaluation]:
        """One tick; the verdicts it recorded (under the tick's own id)."""
        with build_sensor_context(instance=instance, resources={"catalog": CatalogResource()}) as context:
            data = sensor.evaluate_tick(context)
        assert not data.run_requests and not data.asset_events
        records = instance.get_records_for_run(f"import_freshness-{clock().timestamp():.6f}").records
        return [record.event_log_entry.dagster_event.event_specific_data for record in records]

    first = tick()
    assert sorted(event.partition for event in first) == sorted([*hourly, daily, disabled])
    assert all(event.passed for event in first) and unpartitioned not in {event.partition for event in first}
    clock.advance(minutes=5)
    assert tick() == []  # nothing changed: nothing recorded again

    clock.advance(minutes=55)
    catalog.record_run(hourly[0], status="succeeded", error=None, ran_at=clock())
    clock.advance(hours=2, minutes=30)  # hourly sources created 3.5 h ago; hourly[0] succeeded 2.5 h ago
    stale = tick()
    assert sorted(event.partition for event in stale) == sorted(hourly[1:])
    assert all(not event.passed and event.severity.value == "ERROR" for event in stale)
    for source_id in hourly[1:]:
        status, severity, description = recorded(instance, source_id)[health.IMPORTED_RECENTLY]
        assert (status, severity) == ("FAILED", "ERROR")
        assert description == "no successful import ever: 3 intervals have passed"
    assert recorded(instance, hourly[0])[health.IMPORTED_RECENTLY][0] == "SUCCEEDED"
    assert recorded(instance, daily)[health.IMPORTED_RECENTLY][0] == "SUCCEEDED"
    assert recorded(instance, disabled)[health.IMPORTED_RECENTLY][2] == "disabled: not expected to import"

    # A success turns it green again on the next tick.
    catalog.record_run(hourly[1], status="partial", error=None, ran_at=clock())
    clock.advance(minutes=5)
    assert [event.partition for event in tick()] == [hourly[1]]
    assert recorded(instance, hourly[1])[health.IMPORTED_RECENTLY][0] == "SUCCEEDED"


def test_the_sensor_leaves_a_verdict_to_the_run_that_planned_it_unless_that_run_died(
    catalog: Catalog, instance: DagsterInstance, clock: FakeClock
) -> None:
    source_id = add_feed_source(catalog, "https://feeds.example.com/a.xml")
    ensure_partition(instance, source_id)
    clock.advance(days=1)  # stale
    # A run of the job, created as the daemon creates it: its creation plans the checks of its partition.
    job = defs.resolve_job_def("import_source")
    tags = {"dagster/partition": source_id}
    run = instance.create_run_for_job(job, execution_plan=create_execution_plan(job, tags=tags), tags=tags)
    sensor = build_import_freshness(clock=clock)

    def tick() -> None:
        with build_sensor_context(instance=instance, resources={"catalog": CatalogResource()}) as context:
            sensor.evaluate_tick(context)

    tick()
    assert recorded(instance, source_id)[health.IMPORTED_RECENTLY][0] == "PLANNED"  # the run in progress will judge
    instance.report_run_failed(run, message="the run worker died")
    clock.advance(minutes=5)
    tick()
    assert recorded(instance, source_id)[health.IMPORTED_RECENTLY][:2] == ("FAILED", "ERROR")
