"""What the Dagster UI shows of imports: every run is a run of the code location `data_agent`, whoever started it,
and a failed import is failed on the asset as on the job, in the op where it failed.

Read back from a real instance, as the UI reads it; re-execution goes through Dagster's GraphQL schema with the
code location served by a real code server, as the UI's "Re-execute all" does.
"""

from __future__ import annotations

import pytest
from dagster import AssetKey, AssetPartitionStatus, DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter

from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.settings import Settings

from ..clirunner import run_cli
from ..conftest import add_feed_source
from ..feeds import item, rss
from ..feedserver import FeedServer
from .conftest import partition_status
from .ui import reexecute, ui_workspace, use_immediate_runs

IMPORT_RESULTS = AssetKey("import_results")


def failed_steps(instance: DagsterInstance, run_id: str) -> list[str]:
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.STEP_FAILURE).records
    return [record.event_log_entry.step_key or "" for record in records]


def test_a_failed_import_is_failed_on_the_asset_partition_in_the_op_that_failed(
    feed_server: FeedServer, catalog: Catalog, instance: DagsterInstance, capsys: pytest.CaptureFixture[str]
) -> None:
    url = feed_server.serve("/feed.xml", rss(item("a"), item("b")))
    source_id = add_feed_source(catalog, url)
    first = run_cli(capsys, "import", source_id, "--json")
    assert first.code == 0 and partition_status(instance, source_id) == AssetPartitionStatus.MATERIALIZED

    del feed_server.documents["/feed.xml"]  # 404: the fetch fails
    missing = run_cli(capsys, "import", source_id, "--json")
    assert missing.code == 1 and missing.json()["status"] == "failed"
    assert partition_status(instance, source_id) == AssetPartitionStatus.FAILED
    assert failed_steps(instance, missing.json()["run_id"]) == ["import_results.fetch"]
    latest = instance.get_latest_materialization_event(IMPORT_RESULTS)
    assert latest is not None and latest.run_id == first.json()["run_id"]  # the failure materialized nothing

    feed_server.serve("/feed.xml", "<html><body>Please log in</body></html>", content_type="text/html")
    html = run_cli(capsys, "import", source_id, "--json")
    assert html.code == 1 and "HTML" in html.json()["error"]
    assert failed_steps(instance, html.json()["run_id"]) == ["import_results.normalise"]
    assert partition_status(instance, source_id) == AssetPartitionStatus.FAILED

    feed_server.serve("/feed.xml", rss(item("a"), item("b")))
    assert run_cli(capsys, "import", source_id).code == 0
    assert partition_status(instance, source_id) == AssetPartitionStatus.MATERIALIZED


def test_a_cli_run_is_a_run_of_the_code_location_and_the_ui_re_executes_it(
    feed_server: FeedServer, catalog: Catalog, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    # Runs launched from the UI start at once in a run worker (no queue, so no daemon), and the test can wait on them.
    use_immediate_runs(settings.dagster_home)
    url = feed_server.serve("/feed.xml", rss(item("a"), item("b")))
    source_id = add_feed_source(catalog, url, name="Acme's feed")
    done = run_cli(capsys, "import", source_id, "--json")
    assert done.code == 0, done.err
    parent_id = done.json()["run_id"]

    instance = DagsterInstance.from_config(str(settings.dagster_home))
    try:
        parent = instance.get_run_by_id(parent_id)
        assert parent is not None and parent.remote_job_origin is not None
        assert parent.remote_job_origin.location_name == "data_agent"
        # The filter of the job's Runs tab and the timeline: the job's name and its code location's label.
        listed = instance.get_runs(
            RunsFilter(job_name="import_source", tags={".dagster/repository": "__repository__@data_agent"})
        )
        assert [run.run_id for run in listed] == [parent_id]
        assert parent.tags["data_agent/source_name"] == "Acme's feed"
        assert parent.tags["data_agent/launched_by"] == "cli"

        with ui_workspace(instance) as workspace:
            child_id = reexecute(workspace, parent_id)
        child = instance.get_run_by_id(child_id)
        assert child is not None and child.status == DagsterRunStatus.SUCCESS
        assert child.parent_run_id == parent_id
        assert child.tags["data_agent/source"] == source_id and child.tags["data_agent/service"] == "acme"
        assert partition_status(instance, source_id) == AssetPartitionStatus.MATERIALIZED
    finally:
        instance.dispose()
    results = catalog.list_results(source_id=source_id)
    assert [r.run_id for r in results] == [child_id, parent_id]
    assert results[0].status == "unchanged"
