"""Imports started from the asset's page in the UI ("Materialize" on `import_results`, the asset graph, the
partitions view) are import runs like every other one.

Dagster's UI launches those as runs of its hidden asset job (`__ASSET_JOB`), not `import_source`: one partition as
one run with the asset and its checks selected, several as an asset backfill. `ui.materialize` sends the same
GraphQL requests to a real code server on the packaged instance (run queue, a run worker per run). What the
instance records is asserted: run status and tags, the asset partition's status, the health checks, the lock.
"""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest
from dagster import (
    AssetCheckEvaluation,
    AssetKey,
    AssetPartitionStatus,
    DagsterEvent,
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    build_sensor_context,
)
from dagster._core.definitions.asset_checks.asset_check_evaluation import AssetCheckEvaluationPlanned
from dagster._core.event_api import PartitionKeyFilter
from dagster._core.test_utils import create_run_for_test

from data_agent_pipelines import health
from data_agent_pipelines.catalog import locks
from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.errors import Conflict
from data_agent_pipelines.launcher import pending_run, queue_import
from data_agent_pipelines.orchestration.checks import check_key
from data_agent_pipelines.orchestration.failures import import_failures
from data_agent_pipelines.orchestration.heartbeat import active_partitions
from data_agent_pipelines.orchestration.imports import IMPORT_RUN_TAGS
from data_agent_pipelines.orchestration.instance import ensure_partition
from data_agent_pipelines.orchestration.partitions import sources_partitions
from data_agent_pipelines.orchestration.resources import CatalogResource
from data_agent_pipelines.orchestration.run_queue import tag_run
from data_agent_pipelines.settings import Settings

from ..clirunner import run_cli
from ..conftest import add_feed_source
from ..feeds import item, rss
from ..feedserver import FeedServer
from .conftest import partition_status
from .ui import ASSET_JOB, materialize, ui_workspace

IMPORT_RESULTS = AssetKey("import_results")
CHECKS = [
    health.LAST_IMPORT_SUCCEEDED,
    health.FAILED_ITEMS_UNDER_THRESHOLD,
    health.REMOVALS_NOT_HELD_BACK,
    health.IMPORTED_RECENTLY,
]


def last_check(instance: DagsterInstance, name: str, partition: str) -> tuple[str, str]:
    """The latest record of a check on a partition, as the UI reads it: (status, run id)."""
    (record,) = instance.event_log_storage.get_asset_check_execution_history(
        check_key(name), limit=1, partition_filter=PartitionKeyFilter(key=partition)
    )
    return record.status.value, record.run_id


def expected_tags(source_id: str, name: str, service: str) -> dict[str, str]:
    return {
        **IMPORT_RUN_TAGS,
        "data_agent/service": service,
        "data_agent/source": source_id,
        "data_agent/source_name": name,
        "data_agent/kind": "mrss",
        "dagster/partition": source_id,
    }


def sensor_ticks(instance: DagsterInstance) -> list[str]:
    """Two ticks of the failure sensor, as the daemon runs them (the second from the first's cursor): their
    summaries."""
    summaries, cursor = [], None
    for _ in range(2):
        with build_sensor_context(instance=instance, cursor=cursor, resources={"catalog": CatalogResource()}) as ctx:
            tick = import_failures.evaluate_tick(ctx)
        summaries.append(tick.skip_message or "")
        cursor = tick.cursor or cursor
    return summaries


def test_materialize_from_the_asset_page_is_an_import_run_like_any_other(
    feed_server: FeedServer,
    catalog: Catalog,
    instance: DagsterInstance,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = feed_server.serve("/feed.xml", rss(item("a"), item("b")))
    acme = add_feed_source(catalog, url, name="Acme's feed", service="acme")
    series = add_feed_source(catalog, url, name="Séries", service="acme")
    for source_id in (acme, series):  # a partition exists once its source was imported: the UI lists it
        assert run_cli(capsys, "import", source_id, "--json").code == 0
    feed_server.serve("/feed.xml", rss(item("a"), item("b"), item("c")))  # something new for the UI's imports

    with ui_workspace(instance) as workspace:
        (single,) = materialize(workspace, IMPORT_RESULTS.path, [acme], CHECKS)
        backfilled = materialize(workspace, IMPORT_RESULTS.path, [acme, series])
    assert len(backfilled) == 2
    names = {acme: "Acme's feed", series: "Séries"}
    for run_id in (single, *backfilled):
        run = instance.get_run_record_by_id(run_id).dagster_run  # the stored run, as run monitoring reads it
        assert run.job_name == ASSET_JOB and run.status == DagsterRunStatus.SUCCESS, run_id
        source_id = run.tags["dagster/partition"]
        assert {key: run.tags.get(key) for key in expected_tags(source_id, "", "")} == expected_tags(
            source_id, names[source_id], "acme"
        )
        result = catalog.result_for_run(run_id, items=False)
        assert result is not None and result.source_id == source_id and not result.failed
    # The asset page's run created asset c; the backfill's found nothing new.
    assert catalog.result_for_run(single, items=False).counts["created"] == 1
    for source_id in (acme, series):
        assert partition_status(instance, source_id) == AssetPartitionStatus.MATERIALIZED
        assert locks.held(catalog, source_id) is None
        assert catalog.get_source(source_id).last_status in ("succeeded", "unchanged")
    # The single run selected the checks as the asset page does: it judged them on its partition.
    for name in CHECKS:
        assert last_check(instance, name, acme)[0] == "SUCCEEDED"
    assert sensor_ticks(instance)[0].startswith("0 failed import runs")


def test_a_failed_import_from_the_asset_page_is_failed_and_releases_its_source(
    feed_server: FeedServer,
    catalog: Catalog,
    instance: DagsterInstance,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = feed_server.serve("/feed.xml", rss(item("a")))
    source_id = add_feed_source(catalog, url, name="feed", service="acme")
    assert run_cli(capsys, "import", source_id, "--json").code == 0
    del feed_server.documents["/feed.xml"]  # 404

    with ui_workspace(instance) as workspace:
        (run_id,) = materialize(workspace, IMPORT_RESULTS.path, [source_id], CHECKS)
    run = instance.get_run_by_id(run_id)
    assert run.job_name == ASSET_JOB and run.status == DagsterRunStatus.FAILURE
    assert run.tags["data_agent/source"] == source_id and run.tags["dagster/max_runtime"] == "10800"
    assert partition_status(instance, source_id) == AssetPartitionStatus.FAILED
    assert last_check(instance, health.LAST_IMPORT_SUCCEEDED, source_id) == ("FAILED", run_id)
    # The failed op's hook released the lock (the asset's ops carry it, whatever job runs them).
    assert locks.held(catalog, source_id) is None
    source = catalog.get_source(source_id)
    assert source.last_status == "failed" and "404" in source.last_error

    # The failure sensor knows it for an import run; the run judged its checks itself, so they stay as they are.
    first, second = sensor_ticks(instance)
    assert first.startswith("1 failed import runs: 0 recorded") and second.startswith("0 failed import runs")
    assert last_check(instance, health.LAST_IMPORT_SUCCEEDED, source_id) == ("FAILED", run_id)
    (result,) = [r for r in catalog.list_results(source_id=source_id) if r.run_id == run_id]
    assert result.failed


def plan_checks(instance: DagsterInstance, run_id: str, partition: str) -> None:
    """What Dagster records when a run that selected the asset's checks starts: each check planned for its
    partition (the UI shows a planned check of a run that ended as "Execution failed")."""
    for name in CHECKS:
        planned = AssetCheckEvaluationPlanned(
            asset_key=IMPORT_RESULTS,
            check_name=name,
            partitions_subset=sources_partitions.subset_with_partition_keys([partition]),
        )
        event = DagsterEvent(
            event_type_value=DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED.value,
            job_name=ASSET_JOB,
            event_specific_data=planned,
        )
        instance.report_dagster_event(event, run_id=run_id)


def test_an_asset_page_run_that_died_is_recorded_retried_and_judged_by_the_failure_sensor(
    feed_server: FeedServer, catalog: Catalog, instance: DagsterInstance
) -> None:
    url = feed_server.serve("/feed.xml", rss(item("a")))
    source_id = add_feed_source(catalog, url, name="feed", service="acme")
    ensure_partition(instance, source_id)
    # A run of the hidden asset job as the asset page creates it: the partition's tags alone, the asset selected.
    run = create_run_for_test(
        instance,
        job_name=ASSET_JOB,
        status=DagsterRunStatus.STARTED,
        asset_selection=frozenset({IMPORT_RESULTS}),
        tags={"dagster/partition": source_id},
    )
    plan_checks(instance, run.run_id, source_id)
    assert last_check(instance, health.LAST_IMPORT_SUCCEEDED, source_id) == ("PLANNED", run.run_id)
    # Its first op tagged it and took the lock, then its worker died; run monitoring reports it failed.
    tag_run(instance, run, defaults=IMPORT_RUN_TAGS)
    locks.acquire(catalog, source_id, run.run_id, ttl=timedelta(hours=1))
    instance.report_run_failed(run, message="the run worker died")

    # The retry daemon decides from the stored tags (added after the run was created): a crash is retried.
    assert instance.get_run_by_id(run.run_id).tags["dagster/will_retry"] == "true"
    first, second = sensor_ticks(instance)
    assert first.startswith("1 failed import runs: 1 recorded on their source") and second.startswith("0 failed")
    assert locks.held(catalog, source_id) is None
    source = catalog.get_source(source_id)
    assert source.last_status == "failed" and "worker died" in source.last_error
    # The checks it had planned are judged now, on its own record: red, not "Execution failed".
    assert last_check(instance, health.LAST_IMPORT_SUCCEEDED, source_id) == ("FAILED", run.run_id)
    (record,) = instance.event_log_storage.get_asset_check_execution_history(
        check_key(health.LAST_IMPORT_SUCCEEDED), limit=5, partition_filter=PartitionKeyFilter(key=source_id)
    )
    evaluation = record.event.dagster_event.event_specific_data
    assert isinstance(evaluation, AssetCheckEvaluation) and "worker died" in evaluation.description
    for name in CHECKS:
        assert last_check(instance, name, source_id)[0] in ("SUCCEEDED", "FAILED")


def test_an_op_that_breaks_releases_the_source_at_once_and_the_sensor_judges_its_checks(
    feed_server: FeedServer,
    catalog: Catalog,
    instance: DagsterInstance,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = feed_server.serve("/feed.xml", rss(item("a")))
    source_id = add_feed_source(catalog, url, name="feed", service="acme")
    assert run_cli(capsys, "import", source_id, "--json").code == 0
    # The runs' scratch folder is a file: `fetch` breaks after it took the source's lock, outside the import's own
    # failure path (which records a result and judges the checks).
    shutil.rmtree(settings.work_dir)
    settings.work_dir.write_text("not a folder")

    with ui_workspace(instance) as workspace:
        (run_id,) = materialize(workspace, IMPORT_RESULTS.path, [source_id], CHECKS)
    run = instance.get_run_by_id(run_id)
    assert run.job_name == ASSET_JOB and run.status == DagsterRunStatus.FAILURE
    assert partition_status(instance, source_id) == AssetPartitionStatus.FAILED
    assert locks.held(catalog, source_id) is None  # the op's hook, before any sensor ran
    assert catalog.result_for_run(run_id, items=False) is None
    assert last_check(instance, health.LAST_IMPORT_SUCCEEDED, source_id) == ("PLANNED", run_id)

    first, _second = sensor_ticks(instance)
    assert first.startswith("1 failed import runs: 1 recorded on their source")
    source = catalog.get_source(source_id)
    assert source.last_status == "failed" and "fetch:" in source.last_error
    for name in CHECKS:
        status, judged_by = last_check(instance, name, source_id)
        assert judged_by == run_id and status in ("SUCCEEDED", "FAILED"), name
    assert last_check(instance, health.LAST_IMPORT_SUCCEEDED, source_id) == ("FAILED", run_id)


def test_an_asset_page_run_in_progress_keeps_the_heartbeat_and_the_api_from_queueing_another(
    feed_server: FeedServer, catalog: Catalog, instance: DagsterInstance
) -> None:
    url = feed_server.serve("/feed.xml", rss(item("a")))
    source_id = add_feed_source(catalog, url, name="feed", service="acme")
    other = add_feed_source(catalog, url, name="other", service="acme")
    for partition, asset in ((source_id, IMPORT_RESULTS), (other, AssetKey("exports"))):
        create_run_for_test(
            instance,
            job_name=ASSET_JOB,
            status=DagsterRunStatus.STARTED,
            asset_selection=frozenset({asset}),
            tags={"dagster/partition": partition},
        )
    # Only the run that materializes import_results counts for imports.
    assert active_partitions(instance, "import_source", IMPORT_RESULTS) == {source_id}
    with pytest.raises(Conflict, match="already has an import queued or running"):
        queue_import(instance, catalog, source_id)
    assert pending_run(instance, "import_source", other) is None
