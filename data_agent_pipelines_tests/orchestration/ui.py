"""Starting runs as the Dagster UI does: through Dagster's GraphQL schema, against the code location `data_agent`
served by a real code server. On an instance with the run queue (the packaged one) the queue daemon's pass runs
here (`start_queued`), as the daemon under `dg dev` would; on one without, runs start when launched.

- `launch_partition`: the launchpad of a partitioned job, which asks for the partition's tags and launches with them;
- `backfill`: the job's "Launch backfill", then one pass of the backfill daemon, which submits the runs;
- `reexecute`: "Re-execute all" of a run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dagster import DagsterInstance
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import ModuleTarget
from dagster._daemon.backfill import execute_backfill_iteration
from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import QueuedRunCoordinatorDaemon
from dagster_graphql.test.utils import execute_dagster_graphql

ROOT = Path(__file__).resolve().parents[2]
REPOSITORY = {"repositoryLocationName": "data_agent", "repositoryName": "__repository__"}
# The instance of the UI tests: runs start when launched, in a run worker.
IMMEDIATE_RUNS = (
    "run_coordinator:\n  module: dagster._core.run_coordinator\n  class: DefaultRunCoordinator\n"
    "telemetry:\n  enabled: false\n"
)

PARTITION_TAGS = """
query PartitionTags($repositorySelector: RepositorySelector!, $partitionSetName: String!, $partition: String!) {
  partitionSetOrError(repositorySelector: $repositorySelector, partitionSetName: $partitionSetName) {
    __typename
    ... on PartitionSet { partition(partitionName: $partition) { tagsOrError {
      __typename ... on PartitionTags { results { key value } } ... on PythonError { message }
    } } }
  }
}"""
LAUNCH = """
mutation Launch($executionParams: ExecutionParams!) {
  launchPipelineExecution(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message stack }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}"""
BACKFILL = """
mutation Backfill($backfillParams: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $backfillParams) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
  }
}"""
REEXECUTE = """
mutation Reexecute($parentRunId: String!) {
  launchPipelineReexecution(reexecutionParams: {parentRunId: $parentRunId, strategy: ALL_STEPS}) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message stack }
  }
}"""


def use_immediate_runs(dagster_home: Path) -> None:
    """Write the instance configuration of these tests into `dagster_home`."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    (dagster_home / "dagster.yaml").write_text(IMMEDIATE_RUNS)


@contextmanager
def ui_workspace(instance: DagsterInstance) -> Iterator[WorkspaceProcessContext]:
    """The code location `data_agent` as `dg dev` serves it, for GraphQL requests."""
    target = ModuleTarget(
        module_name="data_agent_pipelines.definitions",
        attribute=None,
        working_directory=str(ROOT),
        location_name="data_agent",
    )
    with WorkspaceProcessContext(instance, target) as workspace:
        yield workspace


def start_queued(workspace: WorkspaceProcessContext) -> None:
    """Let the queue daemon start what is queued (within the instance's limits), and wait for those runs to end."""
    instance = workspace.instance
    if isinstance(instance.run_coordinator, QueuedRunCoordinator):
        with QueuedRunCoordinatorDaemon(interval_seconds=1) as daemon:
            errors = [error for error in daemon.run_iteration(workspace) if error]
        assert not errors, errors
    instance.run_launcher.join(timeout=120)


def _graphql(workspace: WorkspaceProcessContext, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    answer = execute_dagster_graphql(workspace.create_request_context(), query, variables)
    assert answer.errors is None, answer.errors
    return answer.data


def launch_partition(workspace: WorkspaceProcessContext, job_name: str, partition_key: str) -> str:
    """Launch `job_name` for one partition from its launchpad; wait for the run to end; return its id."""
    partition = _graphql(
        workspace,
        PARTITION_TAGS,
        {"repositorySelector": REPOSITORY, "partitionSetName": f"{job_name}_partition_set", "partition": partition_key},
    )["partitionSetOrError"]["partition"]["tagsOrError"]
    assert partition["__typename"] == "PartitionTags", partition
    launched = _graphql(
        workspace,
        LAUNCH,
        {
            "executionParams": {
                "selector": {**REPOSITORY, "pipelineName": job_name},
                "mode": "default",
                "runConfigData": {},
                "executionMetadata": {"tags": partition["results"]},
            }
        },
    )["launchPipelineExecution"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    start_queued(workspace)
    return launched["run"]["runId"]


def backfill(workspace: WorkspaceProcessContext, job_name: str, partition_keys: list[str]) -> list[str]:
    """Backfill `job_name` over `partition_keys` from the UI, let the backfill daemon submit its runs once, wait
    for them to end; return their ids."""
    selector = {"partitionSetName": f"{job_name}_partition_set", "repositorySelector": REPOSITORY}
    return _backfill(workspace, {"selector": selector, "partitionNames": partition_keys})


def _backfill(workspace: WorkspaceProcessContext, params: dict[str, Any]) -> list[str]:
    """Launch a backfill with `params`, let the backfill daemon submit its runs once, wait for them to end; return
    their ids."""
    launched = _graphql(workspace, BACKFILL, {"backfillParams": params})["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    errors = [error for error in execute_backfill_iteration(workspace, logging.getLogger("backfill")) if error]
    assert not errors, errors
    start_queued(workspace)
    backfill_id = launched["backfillId"]
    return [run.run_id for run in workspace.instance.get_runs() if run.tags.get("dagster/backfill") == backfill_id]


def reexecute(workspace: WorkspaceProcessContext, parent_run_id: str) -> str:
    """Re-execute all steps of a run, as the UI's "Re-execute all"; wait for the new run to end; return its id."""
    launched = _graphql(workspace, REEXECUTE, {"parentRunId": parent_run_id})["launchPipelineReexecution"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    start_queued(workspace)
    return launched["run"]["runId"]


ASSET_JOB = "__ASSET_JOB"
# What the asset page asks before it launches one partition (`fetchTagsAndConfigForAssetJob` in Dagster's UI).
ASSET_JOB_PARTITION = """
query AssetJobPartition($params: PipelineSelector!, $partition: String!, $assets: [AssetKeyInput!]) {
  pipelineOrError(params: $params) {
    __typename
    ... on Pipeline { partition(partitionName: $partition, selectedAssetKeys: $assets) {
      tagsOrError { __typename ... on PartitionTags { results { key value } } ... on PythonError { message } }
      runConfigOrError { __typename ... on PartitionRunConfig { yaml } ... on PythonError { message } }
    } }
    ... on PythonError { message }
  }
}"""


def materialize(
    workspace: WorkspaceProcessContext, asset: list[str], partition_keys: list[str], checks: Sequence[str] = ()
) -> list[str]:
    """The asset page's "Materialize" for `partition_keys` of the asset with key path `asset` (with its checks
    `checks`), as Dagster's UI does it (LaunchAssetChoosePartitionsDialog): the asset's first job, the hidden
    asset job; one partition is one run of it with that partition's tags and config; more are an asset backfill
    (no job named), whose runs the backfill daemon submits. Waits for the runs to end; returns their ids."""
    selection = [{"path": asset}]
    if len(partition_keys) == 1:
        job = {**REPOSITORY, "pipelineName": ASSET_JOB}
        answer = _graphql(
            workspace, ASSET_JOB_PARTITION, {"params": job, "partition": partition_keys[0], "assets": selection}
        )["pipelineOrError"]
        assert answer["__typename"] == "Pipeline", answer
        tags, config = answer["partition"]["tagsOrError"], answer["partition"]["runConfigOrError"]
        assert tags["__typename"] == "PartitionTags" and config["__typename"] == "PartitionRunConfig", answer
        launched = _graphql(
            workspace,
            LAUNCH,
            {
                "executionParams": {
                    "selector": {
                        **job,
                        "assetSelection": selection,
                        "assetCheckSelection": [{"assetKey": {"path": asset}, "name": name} for name in checks],
                    },
                    "mode": "default",
                    "runConfigData": config["yaml"] or "{}",
                    "executionMetadata": {"tags": tags["results"]},
                }
            },
        )["launchPipelineExecution"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        start_queued(workspace)
        return [launched["run"]["runId"]]
    return _backfill(workspace, {"tags": [], "assetSelection": selection, "partitionNames": partition_keys})
