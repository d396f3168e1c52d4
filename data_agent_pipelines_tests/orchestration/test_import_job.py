"""The `import_source` job end to end: a real HTTP origin on loopback, the real catalog, a real Dagster instance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from dagster import AssetKey, DagsterInstance, DagsterRunStatus, RunsFilter

from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.definitions import defs
from data_agent_pipelines.orchestration.instance import ensure_partition, open_instance
from data_agent_pipelines.settings import Settings
from data_agent_pipelines.source_settings import SourceChanges, add_source, edit_source

from ..clirunner import run_cli
from ..feeds import item, rss
from ..feedserver import FeedServer

RESULT_KEYS = {
    "id",
    "source_id",
    "service",
    "run_id",
    "status",
    "started_at",
    "finished_at",
    "error",
    "counts",
    "items",
}
ITEM_KEYS = {"external_id", "asset_id", "outcome", "reason", "errors", "kept_fields", "data"}
COUNT_KEYS = ["created", "updated", "unchanged", "skipped", "failed", "unpublished", "deleted"]


@pytest.fixture
def source_id(feed_server: FeedServer, capsys) -> str:
    feed_server.serve("/feed.xml", rss(item("a", "Alpha"), item("b", "Bravo"), item("c", "Charlie")))
    assert run_cli(capsys, "services", "add", "acme").code == 0
    added = run_cli(
        capsys,
        "sources",
        "add",
        "--service",
        "acme",
        "--name",
        "feed",
        "--kind",
        "mrss",
        "--url",
        feed_server.url("/feed.xml"),
        "--json",
    )
    assert added.code == 0, added.err
    return added.json()["id"]


def import_json(capsys, source_id: str, *extra: str) -> tuple[int, dict]:
    done = run_cli(capsys, "import", source_id, "--json", *extra)
    return done.code, done.json()


def test_first_import_creates_assets_and_prints_the_contract_shape(source_id: str, capsys, catalog: Catalog) -> None:
    code, result = import_json(capsys, source_id)
    assert code == 0
    assert set(result) >= RESULT_KEYS
    assert list(result["counts"]) == COUNT_KEYS
    assert result["status"] == "succeeded" and result["error"] is None
    assert result["counts"]["created"] == 3 and sum(result["counts"].values()) == 3
    assert [i["external_id"] for i in result["items"]] == ["a", "b", "c"]
    assert all(set(i) == ITEM_KEYS and i["outcome"] == "created" and i["asset_id"] for i in result["items"])
    assert result["service"] == "acme" and result["source_id"] == source_id
    asset = catalog.get_asset(result["items"][0]["asset_id"])
    assert asset["title"] == "Alpha" and asset["source_id"] == source_id
    assert asset["editions"][0]["streams"][0]["type"] == "hls"
    source = catalog.get_source(source_id)
    assert source.last_status == "succeeded" and source.etag and source.last_run_at


def test_run_and_materialization_are_recorded_in_dagster(source_id: str, capsys, settings: Settings) -> None:
    _code, result = import_json(capsys, source_id)
    instance = DagsterInstance.from_config(str(settings.dagster_home))
    try:
        run = instance.get_run_by_id(result["run_id"])
        assert run is not None and run.status == DagsterRunStatus.SUCCESS
        assert run.job_name == "import_source"
        assert run.tags["dagster/partition"] == source_id
        assert run.tags["data_agent/service"] == "acme" and run.tags["data_agent/kind"] == "mrss"
        event = instance.get_latest_materialization_event(AssetKey("import_results"))
        materialization = event.asset_materialization
        assert materialization.partition == source_id
        metadata = materialization.metadata
        assert metadata["created"].value == 3 and isinstance(metadata["created"].value, int)
        assert metadata["failed"].value == 0
        assert metadata["status"].value == "succeeded"
        assert metadata["result_id"].value == result["id"]
        assert metadata["duration_seconds"].value >= 0
        assert metadata["failed_items"].records == []
    finally:
        instance.dispose()


def test_same_payload_is_unchanged_and_304_is_unchanged(source_id: str, capsys, feed_server: FeedServer) -> None:
    import_json(capsys, source_id)
    code, second = import_json(capsys, source_id)
    assert code == 0 and second["status"] == "unchanged"
    assert "304" in " ".join(second["notes"])
    assert feed_server.requests[-1][1].get("If-None-Match")
    # Without validators the server sends the body again; the digest says it is the same.
    feed_server.documents["/feed.xml"].etag = False
    code, third = import_json(capsys, source_id)
    assert third["status"] == "unchanged" and "same document" in " ".join(third["notes"])


def test_a_changed_item_is_updated_and_the_rest_unchanged(
    source_id: str, capsys, feed_server: FeedServer, catalog: Catalog
) -> None:
    _code, first = import_json(capsys, source_id)
    feed_server.serve("/feed.xml", rss(item("a", "Alpha"), item("b", "Bravo v2"), item("c", "Charlie"), item("d", "D")))
    code, second = import_json(capsys, source_id)
    assert code == 0 and second["status"] == "succeeded"
    assert {k: v for k, v in second["counts"].items() if v} == {"created": 1, "updated": 1, "unchanged": 2}
    updated = next(i for i in second["items"] if i["outcome"] == "updated")
    assert updated["external_id"] == "b"
    assert updated["data"]["title"] == {"from": "Bravo", "to": "Bravo v2"}
    assert updated["asset_id"] == next(i["asset_id"] for i in first["items"] if i["external_id"] == "b")
    assert catalog.get_asset(updated["asset_id"])["title"] == "Bravo v2"
    assert catalog.count_assets(source_id) == 4


def test_a_cms_edit_is_overwritten_by_the_importer_policy(source_id: str, capsys, catalog: Catalog) -> None:
    _code, first = import_json(capsys, source_id)
    asset_id = first["items"][0]["asset_id"]
    catalog.edit_asset(asset_id, {"title": "CMS title"})
    edit_source(catalog, source_id, _url_change(catalog, source_id))
    _code, second = import_json(capsys, source_id)
    item_a = next(i for i in second["items"] if i["external_id"] == "a")
    assert item_a["outcome"] == "updated" and "overwrote the CMS edit of title" in item_a["reason"]
    asset = catalog.get_asset(asset_id)
    assert asset["title"] == "Alpha" and asset["edited_fields"] == []


def _url_change(catalog: Catalog, source_id: str):
    """The same URL with a query string: forces a full fetch (validators are dropped on a URL change)."""
    return SourceChanges(url=catalog.get_source(source_id).url + "?v=2")


def test_a_bad_item_fails_alone_and_the_result_is_partial(
    source_id: str, capsys, feed_server: FeedServer, settings: Settings
) -> None:
    no_id = "<item><description>nothing to identify me</description></item>"
    feed_server.serve("/feed.xml", rss(item("a", "Alpha"), no_id, item("a", "Alpha again"), item("c", "Charlie")))
    code, result = import_json(capsys, source_id)
    assert code == 0 and result["status"] == "partial"
    assert result["counts"]["created"] == 2 and result["counts"]["failed"] == 2
    failed = [i for i in result["items"] if i["outcome"] == "failed"]
    assert any("duplicate id 'a'" in i["reason"] for i in failed)
    assert all(i["reason"] for i in failed)
    instance = DagsterInstance.from_config(str(settings.dagster_home))
    try:
        metadata = instance.get_latest_materialization_event(AssetKey("import_results")).asset_materialization.metadata
        assert metadata["failed"].value == 2 and len(metadata["failed_items"].records) == 2
    finally:
        instance.dispose()


def test_a_failed_fetch_exits_1_records_a_failed_result_and_changes_nothing(
    source_id: str, capsys, feed_server: FeedServer, catalog: Catalog, settings: Settings
) -> None:
    import_json(capsys, source_id)
    before = catalog.list_assets("acme")
    del feed_server.documents["/feed.xml"]
    code, result = import_json(capsys, source_id)
    assert code == 1
    assert result["status"] == "failed" and "404" in result["error"] and result["items"] == []
    assert catalog.list_assets("acme") == before
    assert catalog.get_source(source_id).last_status == "failed"
    instance = DagsterInstance.from_config(str(settings.dagster_home))
    try:
        assert instance.get_run_by_id(result["run_id"]).status == DagsterRunStatus.FAILURE
    finally:
        instance.dispose()


def test_not_a_feed_fails_with_a_message_a_customer_can_act_on(
    source_id: str, capsys, feed_server: FeedServer, catalog: Catalog
) -> None:
    feed_server.serve("/feed.xml", "<html><body><form>Please log in</form></body></html>", content_type="text/html")
    code, result = import_json(capsys, source_id)
    assert code == 1 and result["status"] == "failed"
    assert "HTML" in result["error"]
    assert catalog.count_assets(source_id) == 0


def test_results_list_and_show_read_results_back(source_id: str, capsys) -> None:
    _code, result = import_json(capsys, source_id)
    listed = run_cli(capsys, "results", "list", "--source", source_id, "--json").json()
    assert [r["id"] for r in listed] == [result["id"]]
    shown = run_cli(capsys, "results", "show", result["id"], "--json").json()
    assert shown["items"] == result["items"] and shown["counts"] == result["counts"]
    human = run_cli(capsys, "results", "show", result["id"])
    assert "SUCCEEDED" in human.out and "3 created" in human.out


def test_dry_run_writes_no_asset_but_records_the_plan(source_id: str, capsys, catalog: Catalog) -> None:
    code, result = import_json(capsys, source_id, "--dry-run")
    assert code == 0 and result["dry_run"] is True and result["counts"]["created"] == 3
    assert catalog.count_assets(source_id) == 0
    assert catalog.get_source(source_id).etag is None


def test_launchpad_and_backfill_runs_work_like_the_cli(
    feed_server: FeedServer, capsys, catalog: Catalog, settings: Settings
) -> None:
    """A run started without the CLI (launchpad, backfill: just the partition key) records the same result."""
    catalog.add_service("acme")
    ids = []
    for name in ("one", "two"):
        url = feed_server.serve(f"/{name}.xml", rss(item(f"{name}-1"), item(f"{name}-2")))
        ids.append(add_source(catalog, "acme", _changes(name, url)).id)
    instance = open_instance(settings)
    try:
        job = defs.resolve_job_def("import_source")
        for source_id in ids:
            ensure_partition(instance, source_id)
            assert job.execute_in_process(instance=instance, partition_key=source_id).success
        runs = instance.get_runs(RunsFilter(job_name="import_source"))
        assert sorted(r.tags["dagster/partition"] for r in runs) == sorted(ids)
        # They carry the tags of every import run (added once the source is loaded), so a filter finds them.
        for name, source_id in zip(("one", "two"), ids, strict=True):
            (run,) = instance.get_runs(
                RunsFilter(
                    job_name="import_source", tags={"data_agent/service": "acme"} | {"data_agent/source": source_id}
                )
            )
            assert run.tags["data_agent/source_name"] == name and run.tags["data_agent/kind"] == "mrss"
            assert run.tags["data_agent/launched_by"] == "ui"
    finally:
        instance.dispose()
    for source_id in ids:
        (result,) = catalog.list_results(source_id=source_id)
        assert result.status == "succeeded" and result.counts["created"] == 2


def _changes(name: str, url: str):
    return SourceChanges(name=name, kind="mrss", url=url)


def test_the_launchpad_cannot_point_a_run_at_another_catalog() -> None:
    job = defs.resolve_job_def("import_source")
    resources = job.run_config_schema.config_type.fields["resources"].config_type.fields
    assert resources["catalog"].config_type.fields["config"].config_type.fields == {}  # nothing to set
    # Nor past the address checks: which hosts a fetch may reach is the deployment's (DATA_AGENT_ALLOW_HOSTS).
    assert resources["http"].config_type.fields["config"].config_type.fields == {}


def test_definitions_load_and_validate() -> None:
    job = defs.resolve_job_def("import_source")
    assert job.partitions_def.name == "sources"
    # The job materializes the asset, whose graph is the four steps.
    graph = defs.resolve_assets_def(AssetKey("import_results")).node_def
    assert [node.name for node in graph.nodes_in_topological_order] == ["fetch", "normalise", "reconcile", "write"]
    assert [node.name for node in job.graph.nodes] == ["import_results"]
    # `dg check defs` validates them as the code location `data_agent` (test_dg.py).


def test_a_manual_import_of_a_due_source_moves_its_next_run_on(source_id: str, capsys, catalog: Catalog) -> None:
    """As a manual export does: the heartbeat must not import again a source that was just imported by hand."""
    added = catalog.get_source(source_id)  # a new source is due at once
    assert catalog.due_sources(datetime.now(UTC), limit=10)[0].id == source_id
    code, _result = import_json(capsys, source_id, "--dry-run")  # a dry run imports nothing: the slot stays due
    assert code == 0 and catalog.get_source(source_id).next_run_at == added.next_run_at
    code, result = import_json(capsys, source_id)
    assert code == 0
    moved = catalog.get_source(source_id).next_run_at
    started = datetime.fromisoformat(result["started_at"].replace("Z", "+00:00"))
    assert started < moved <= started + timedelta(hours=1)  # the next slot of its hourly schedule
    assert catalog.due_sources(datetime.now(UTC), limit=10) == []


def test_a_failed_item_keeps_the_id_it_states(
    source_id: str, capsys, feed_server: FeedServer, settings: Settings
) -> None:
    """The guid was read before the item failed: the result and the UI's failed-items table name it."""
    bad = item("restricted", extra='<media:restriction relationship="maybe" type="country">fr</media:restriction>')
    feed_server.serve("/feed.xml", rss(item("a", "Alpha"), bad))
    code, result = import_json(capsys, source_id)
    assert code == 0 and result["status"] == "partial"
    (failed,) = [i for i in result["items"] if i["outcome"] == "failed"]
    assert failed["external_id"] == "restricted" and "relationship 'maybe'" in failed["reason"]
    instance = DagsterInstance.from_config(str(settings.dagster_home))
    try:
        metadata = instance.get_latest_materialization_event(AssetKey("import_results")).asset_materialization.metadata
        assert [row.data["external_id"] for row in metadata["failed_items"].records] == ["restricted"]
    finally:
        instance.dispose()
