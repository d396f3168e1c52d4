"""Creating runs of this code location from this process: the one place that uses Dagster internals.

Every run, however it starts, must be a run of the code location `data_agent`: the UI lists a job's runs, draws
the timeline and re-executes a run through the code location recorded on it. Dagster has no public call that
creates such a run without a running webserver (its GraphQL client needs one): the API queues runs without one
(`submit_partition_run`), and the CLI executes one in its own process (`execute_partition_run`; the public
`execute_in_process` records no code location, so the UI could neither list nor re-execute its runs). A run is
created from the one job it runs, with the snapshots and origins that Dagster's in-process code location would
give it (`test_run_queue.py` compares them), without loading that code location: it would snapshot every job,
sensor and schedule of the definitions and import Dagster's gRPC server, which a CLI import pays for nothing.
What is used here (`ReconstructableRepository` and the module code pointer a `python_module` workspace entry
gives, `InProcessCodeLocationOrigin` and the remote origins, `create_execution_plan` and
`snapshot_from_execution_plan`, `create_run` with snapshots, `execute_run`, `recon_job_from_origin`,
`add_run_tags` for the tags of runs started from the UI, `DefinitionsLoadContext` for the name the definitions
are loaded under, and the name of the hidden asset job the UI's "Materialize" launches) was checked against the
pinned Dagster version; `test_run_queue.py` fails when that version changes, so they are checked again before an
upgrade."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from dagster import (
    AssetKey,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    JobExecutionResult,
    QueuedRunCoordinator,
    RunsFilter,
)
from dagster._core.code_pointer import CodePointer
from dagster._core.definitions.assets.graph.asset_graph import AssetGraph
from dagster._core.definitions.assets.job.asset_job import IMPLICIT_ASSET_JOB_NAME
from dagster._core.definitions.definitions_load_context import DefinitionsLoadContext
from dagster._core.definitions.reconstruct import ReconstructableJob, ReconstructableRepository
from dagster._core.execution.api import create_execution_plan, execute_run
from dagster._core.remote_origin import InProcessCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin
from dagster._core.snap import JobSnap, snapshot_from_execution_plan
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._utils.hosted_user_process import recon_job_from_origin

from ..errors import DataAgentError

# The Dagster version these internals were checked against (pyproject pins it).
CHECKED_DAGSTER_VERSION = "1.13.27"
# The code location name of workspace.yaml and deploy/workspace.yaml: the daemon finds a queued run's code there.
CODE_LOCATION_NAME = "data_agent"
DEFINITIONS_MODULE = "data_agent_pipelines.definitions"
# The module's Definitions, as a `python_module` workspace entry finds them.
DEFINITIONS_ATTRIBUTE = "defs"


class WrongCodeLocationName(DataAgentError):
    """The definitions are being loaded as a code location of another name than `data_agent`."""


def require_code_location_name() -> None:
    """Refuse to load the definitions under a code location name other than `data_agent`.

    Runs created by the API and the CLI name the location `data_agent`; under another name (`dagster dev -m
    data_agent_pipelines.definitions` names it after the module, and Dagster has no option to rename it) the
    daemon would fail every run the API queues. The UI shows this message as the location's load error instead.
    Loading without a workspace (tests, `python -c`, a code server started without `--location-name`) names no
    location, and passes.
    """
    name = DefinitionsLoadContext.get().code_location_name
    if name is not None and name != CODE_LOCATION_NAME:
        raise WrongCodeLocationName(
            f"this code location is loaded as {name!r}, but every data-agent run is a run of the code location"
            f" {CODE_LOCATION_NAME!r}: runs queued by the API or the CLI would never start. Start the UI with"
            " `dg dev` in a checkout, or `dg dev -w $DAGSTER_HOME/workspace.yaml` (any data-agent command writes"
            f" that file), or name the location {CODE_LOCATION_NAME!r} in your workspace.yaml."
        )


def submit_partition_run(instance: DagsterInstance, job_name: str, partition_key: str, tags: dict[str, str]) -> str:
    """Create a run of one partition of a job of this code location and put it on the instance's run queue."""
    if not isinstance(instance.run_coordinator, QueuedRunCoordinator):
        raise DataAgentError(
            "runs can only be queued on an instance with Dagster's run queue (the default: remove the"
            " run_coordinator entry from $DAGSTER_HOME/dagster.yaml, whose limits go under `concurrency: runs:` as in"
            " the packaged instance and deploy/dagster.yaml) and a running daemon"
        )
    run = _create_partition_run(instance, job_name, partition_key, tags, run_config={}, run_id=None)
    # The queued coordinator only enqueues: it needs no workspace (the daemon brings its own).
    instance.submit_run(run.run_id, workspace=None)  # type: ignore[arg-type]
    return run.run_id


def execute_partition_run(
    instance: DagsterInstance,
    job_name: str,
    partition_key: str,
    tags: dict[str, str],
    *,
    run_config: dict[str, Any],
    run_id: str,
) -> JobExecutionResult:
    """Create a run of one partition of a job of this code location and execute it now, in this process."""
    run = _create_partition_run(instance, job_name, partition_key, tags, run_config=run_config, run_id=run_id)
    return execute_run(recon_job_from_origin(run.job_code_origin), run, instance)  # type: ignore[arg-type]


def _create_partition_run(
    instance: DagsterInstance,
    job_name: str,
    partition_key: str,
    tags: dict[str, str],
    *,
    run_config: dict[str, Any],
    run_id: str | None,
) -> DagsterRun:
    job = location_job(job_name)
    plan = create_execution_plan(
        job.reconstructable, run_config=run_config, instance_ref=instance.get_ref() if instance.is_persistent else None
    )
    return instance.create_run(
        job_name=job_name,
        run_id=run_id,
        run_config=run_config,
        resolved_op_selection=None,
        step_keys_to_execute=None,
        op_selection=None,
        status=None,
        root_run_id=None,
        parent_run_id=None,
        tags={**job.snapshot.tags, **tags, "dagster/partition": partition_key},
        job_snapshot=job.snapshot,
        execution_plan_snapshot=snapshot_from_execution_plan(plan, job.snapshot.snapshot_id),
        parent_job_snapshot=None,
        remote_job_origin=job.remote_origin,
        job_code_origin=job.reconstructable.get_python_origin(),
        asset_selection=None,
        asset_check_selection=None,
        asset_graph=job.asset_graph,
    )


def tag_run(
    instance: DagsterInstance,
    run: DagsterRun,
    *,
    tags: Mapping[str, str] | None = None,
    defaults: Mapping[str, str] | None = None,
) -> None:
    """Add tags to a run that has started: a launchpad or backfill run knows only its partition key when it is
    created, its source's tags are added once its first op has loaded the source.

    `tags` are set where the run lacks them or has another value; `defaults` only where the run has none (a
    launcher's own choice stays). Writes nothing when the run has them all.
    """
    missing = {key: value for key, value in (tags or {}).items() if run.tags.get(key) != value}
    missing.update({key: value for key, value in (defaults or {}).items() if key not in run.tags})
    if missing:
        instance.add_run_tags(run.run_id, missing)


def runs_of(
    instance: DagsterInstance,
    job_name: str,
    asset: AssetKey,
    statuses: Sequence[DagsterRunStatus],
    *,
    partition_key: str | None = None,
    limit: int | None = None,
) -> list[DagsterRun]:
    """Runs in `statuses` (of one partition, if given) that materialize `asset`: runs of `job_name`, and runs of
    Dagster's hidden asset job that the UI's "Materialize" (asset page, asset graph, asset backfills) launches for
    the asset instead. Two runs queries."""
    tags = {"dagster/partition": partition_key} if partition_key is not None else {}
    runs = instance.get_runs(RunsFilter(job_name=job_name, statuses=list(statuses), tags=tags), limit=limit)
    hidden = instance.get_runs(RunsFilter(job_name=IMPLICIT_ASSET_JOB_NAME, statuses=list(statuses), tags=tags))
    runs.extend(run for run in hidden if asset in (run.asset_selection or ()))
    return runs if limit is None else runs[:limit]


@dataclass(frozen=True)
class LocationJob:
    """A job of this code location as runs record it: how to rebuild it, its snapshot, where it comes from."""

    reconstructable: ReconstructableJob
    snapshot: JobSnap
    remote_origin: RemoteJobOrigin
    asset_graph: AssetGraph


def code_location_origin() -> InProcessCodeLocationOrigin:
    """The origin runs record for this package's definitions: the module and this interpreter, as a
    `python_module` workspace entry gives them, under the workspace's location name, so the daemon and the run
    launcher can find and start the run."""
    return InProcessCodeLocationOrigin(
        LoadableTargetOrigin(executable_path=sys.executable, module_name=DEFINITIONS_MODULE),
        location_name=CODE_LOCATION_NAME,
    )


@cache
def location_job(job_name: str) -> LocationJob:
    """One job of this package's definitions, loaded once per process, as the code location `data_agent` has it."""
    repository = ReconstructableRepository(
        CodePointer.from_module(DEFINITIONS_MODULE, DEFINITIONS_ATTRIBUTE, working_directory=None),
        executable_path=sys.executable,
    )
    definitions = repository.get_definition()
    return LocationJob(
        reconstructable=repository.get_reconstructable_job(job_name),
        snapshot=definitions.get_job(job_name).get_job_snapshot(),
        remote_origin=RemoteJobOrigin(RemoteRepositoryOrigin(code_location_origin(), definitions.name), job_name),
        asset_graph=definitions.asset_graph,
    )
