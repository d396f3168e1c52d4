"""The one module that uses Dagster internals is pinned to the Dagster version it was checked against, and the runs
it creates are what Dagster's code location `data_agent` would create."""

from __future__ import annotations

from importlib.metadata import version

import pytest
from dagster import DagsterInstance
from dagster._core.definitions.selector import JobSubsetSelector
from dagster._core.snap.execution_plan_snapshot import create_execution_plan_snapshot_id

from data_agent_pipelines.orchestration import run_queue
from data_agent_pipelines.orchestration.exports import EXPORT_JOB_NAME
from data_agent_pipelines.orchestration.imports import FETCH_CONFIG_PATH, import_source


def test_the_dagster_internals_were_checked_against_the_installed_version() -> None:
    # On an upgrade: re-check ReconstructableRepository, the origins, create_execution_plan and create_run's
    # arguments in run_queue.py against the new version (this file and the API's queued-run tests exercise them),
    # then move the pin.
    assert version("dagster") == run_queue.CHECKED_DAGSTER_VERSION


@pytest.mark.parametrize("job_name", [import_source.name, EXPORT_JOB_NAME])
def test_a_job_is_what_the_code_location_has(instance: DagsterInstance, job_name: str) -> None:
    """Runs are created from one job without loading the code location; it must give them the same snapshots,
    origins and tags as Dagster's in-process code location, or the UI would not take them for the location's."""
    location = run_queue.code_location_origin().create_location(instance)
    (repository,) = location.get_repositories().values()
    remote = location.get_job(
        JobSubsetSelector(
            location_name=location.name, repository_name=repository.name, job_name=job_name, op_selection=None
        )
    )
    job = run_queue.location_job(job_name)

    assert job.snapshot == remote.job_snapshot
    assert job.snapshot.snapshot_id == remote.job_snapshot.snapshot_id
    assert job.snapshot.tags == remote.tags
    assert remote.parent_job_snapshot is None
    assert job.remote_origin == remote.get_remote_origin()
    assert job.reconstructable.get_python_origin() == remote.get_python_origin()
    assert job.asset_graph.get_all_asset_keys() == repository.asset_graph.get_all_asset_keys()
    assert job.asset_graph.asset_check_keys == repository.asset_graph.asset_check_keys

    config: dict = {"dry_run": True}
    for key in reversed(FETCH_CONFIG_PATH):
        config = {key: config}
    for run_config in ({}, config) if job_name == import_source.name else ({},):
        expected = location.get_execution_plan(remote, run_config, None, None, instance).execution_plan_snapshot
        run = run_queue._create_partition_run(instance, job_name, "p", {}, run_config=run_config, run_id=None)
        assert run.execution_plan_snapshot_id == create_execution_plan_snapshot_id(expected)
        assert instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id) == expected
        assert run.job_snapshot_id == remote.job_snapshot.snapshot_id
        assert run.tags == {**remote.tags, "dagster/partition": "p", "dagster/code_location": location.name}
