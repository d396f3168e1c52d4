"""Runs started from the UI (the job's launchpad, a backfill) are import runs like those of the CLI and the API:
the same tags, so the run list filtered by service or by source finds exactly that service's or source's runs.

The UI's launches go through Dagster's GraphQL schema against the code location served by a code server
(`ui.py`); the CLI's and the API's through their own entry points; all on one instance, the packaged one (run
queue and its limits), whose queue daemon pass runs in the test.
"""

from __future__ import annotations

import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.launcher import queue_import
from data_agent_pipelines.settings import Settings

from ..clirunner import run_cli
from ..conftest import add_feed_source
from ..feeds import item, rss
from ..feedserver import FeedServer
from .ui import backfill, launch_partition, start_queued, ui_workspace

TAG_KEYS = ("data_agent/service", "data_agent/source", "data_agent/source_name", "data_agent/kind")


def test_launchpad_and_backfill_runs_are_tagged_and_found_like_cli_and_api_runs(
    feed_server: FeedServer, catalog: Catalog, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    url = feed_server.serve("/feed.xml", rss(item("a"), item("b")))
    acme = add_feed_source(catalog, url, name="Acme's feed", service="acme")
    series = add_feed_source(catalog, url, name="Séries (FR) #2", service="acme")
    # Another service's source of the same name: a filter on the name alone finds both, with the service one.
    globex = add_feed_source(catalog, url, name="Acme's feed", service="globex")

    # A source's partition exists once it was imported (the UI lists, launches and backfills existing partitions).
    launched_by = {}
    for source_id in (acme, globex):
        cli = run_cli(capsys, "import", source_id, "--json")
        assert cli.code == 0, cli.err
        launched_by[cli.json()["run_id"]] = "cli"
    instance = DagsterInstance.from_config(str(settings.dagster_home))
    try:
        with ui_workspace(instance) as workspace:
            launched_by[queue_import(instance, catalog, series)] = "api"  # as POST …/imports does
            start_queued(workspace)
            launched_by[launch_partition(workspace, "import_source", series)] = "ui"
            backfilled = backfill(workspace, "import_source", [acme, globex])
        assert len(backfilled) == 2
        launched_by.update(dict.fromkeys(backfilled, "ui"))

        sources = {source.id: source for source in (catalog.get_source(i) for i in (acme, series, globex))}
        runs = {run.run_id: run for run in instance.get_runs(RunsFilter(job_name="import_source"))}
        assert set(runs) == set(launched_by)
        for run_id, run in runs.items():
            assert run.status == DagsterRunStatus.SUCCESS, run_id
            source = sources[run.tags["dagster/partition"]]
            assert {key: run.tags.get(key) for key in TAG_KEYS} == {
                "data_agent/service": source.service,
                "data_agent/source": source.id,
                "data_agent/source_name": source.name,
                "data_agent/kind": "mrss",
            }
            assert run.tags["data_agent/launched_by"] == launched_by[run_id]

        def found(**tags: str) -> set[str]:
            return {run.run_id for run in instance.get_runs(RunsFilter(tags=tags))}

        def runs_of(*source_ids: str) -> set[str]:
            return {run_id for run_id, run in runs.items() if run.tags["dagster/partition"] in source_ids}

        assert found(**{"data_agent/service": "acme"}) == runs_of(acme, series)
        assert found(**{"data_agent/service": "globex"}) == runs_of(globex)
        assert found(**{"data_agent/source_name": "Acme's feed"}) == runs_of(acme, globex)
        assert found(**{"data_agent/service": "acme", "data_agent/source_name": "Acme's feed"}) == runs_of(acme)
        assert found(**{"data_agent/source_name": "Séries (FR) #2"}) == runs_of(series)
        assert len(runs_of(series)) == 2 and len(runs_of(acme)) == 2 and len(runs_of(globex)) == 2
    finally:
        instance.dispose()
