"""Retention as operators and the CMS see it: `results prune` and `results show` (CLI), the result read (API), and
the scheduled `prune_results` job, on both backends."""

from __future__ import annotations

from datetime import timedelta

from dagster import DagsterInstance

from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.clock import utc_now
from data_agent_pipelines.definitions import defs
from data_agent_pipelines.model import Outcome
from data_agent_pipelines.settings import Settings

from ..catalog.test_retention import items, record
from ..clirunner import run_cli
from ..conftest import FakeClock, add_feed_source
from .conftest import Tenant

U, C = Outcome.UNCHANGED, Outcome.UPDATED


def test_results_show_says_what_was_pruned_in_the_cli_and_the_api(
    acme: Tenant, catalog: Catalog, clock: FakeClock, settings: Settings, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("DATA_AGENT_RESULTS_UNCHANGED_ITEMS_KEPT", "2")
    source = add_feed_source(catalog, "https://feeds.example.com/a.xml")
    older = record(catalog, source, clock() - timedelta(minutes=5), [U, U, C, U, U])
    record(catalog, source, clock(), [U])

    before = run_cli(capsys, "results", "show", older, "--json").json()
    assert before["pruned"] is None and len(before["items"]) == 5

    pruned = run_cli(capsys, "results", "prune", "--json")
    assert pruned.code == 0, pruned.err
    assert pruned.json() | {"seconds": 0} == {
        "results_deleted": 0, "items_deleted": 0, "results_trimmed": 1, "items_pruned": 2, "seconds": 0,
    }  # fmt: skip

    shown = run_cli(capsys, "results", "show", older, "--json").json()
    assert shown["pruned"]["items"] == 2 and shown["pruned"]["outcome"] == "unchanged"
    assert [i["outcome"] for i in shown["items"]] == ["unchanged", "unchanged", "updated"]
    assert shown["counts"]["unchanged"] == 4  # the documented shape is unchanged; `pruned` is added
    text = run_cli(capsys, "results", "show", older)
    assert "pruned: 2 unchanged items removed by retention" in text.out

    read = acme.client.get(acme.url(f"/results/{older}")).json()
    assert read["pruned"] == shown["pruned"] and read["items_total"] == 3


def test_the_scheduled_job_prunes_with_the_settings(
    catalog: Catalog, settings: Settings, monkeypatch, tmp_path
) -> None:
    monkeypatch.setenv("DATA_AGENT_RESULTS_MAX_AGE_DAYS", "30")
    monkeypatch.setenv("DATA_AGENT_RESULTS_UNCHANGED_ITEMS_KEPT", "1")
    from data_agent_pipelines.settings import get_settings

    get_settings.cache_clear()
    now = utc_now()  # the job's catalog reads the real clock
    source = add_feed_source(catalog, "https://feeds.example.com/a.xml")
    old = record(catalog, source, now - timedelta(days=31), [C])
    trimmed = record(catalog, source, now - timedelta(minutes=5), [U, U, U])
    latest = record(catalog, source, now, [U, U])

    schedule = defs.resolve_schedule_def("prune_results_hourly")
    assert schedule.job_name == "prune_results" and schedule.cron_schedule == "17 * * * *"
    with DagsterInstance.ephemeral() as instance:
        outcome = defs.resolve_job_def("prune_results").execute_in_process(instance=instance)
    assert outcome.success
    [materialized] = [event for event in outcome.all_node_events if event.event_type_value == "STEP_OUTPUT"]
    metadata = materialized.event_specific_data.metadata
    assert metadata["results_deleted"].value == 1 and metadata["items_pruned"].value == 2
    assert {r.id for r in catalog.list_results(limit=10)} == {trimmed, latest}
    assert old not in {r.id for r in catalog.list_results(limit=10)}
    assert len(items(catalog, trimmed)) == 1 and len(items(catalog, latest)) == 2
