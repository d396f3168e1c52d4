"""Launching runs: now, in this process (the CLI), or on the instance's run queue (the API).

This sits above `definitions.py`: it launches the jobs the definitions hold, and nothing below it imports it.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from dagster import DagsterInstance, DagsterRunStatus, JobExecutionResult

from . import notifications
from .catalog import locks
from .catalog.export_targets import ExportTargets
from .catalog.store import Catalog
from .errors import Conflict
from .export.run import failed_result
from .importing import remove_workdir
from .model import ExportResult, ImportResult, Source
from .orchestration.checks import IMPORT_RESULTS
from .orchestration.exports import EXPORT_JOB_NAME, EXPORTS, EXPORTS_PARTITIONS_NAME, export_tags
from .orchestration.imports import FETCH_CONFIG_PATH, hold_source, import_source, import_tags
from .orchestration.instance import HOST_TAG, PID_TAG, ensure_partition, run_error
from .orchestration.partitions import SOURCES_PARTITIONS_NAME
from .orchestration.run_queue import execute_partition_run, runs_of, submit_partition_run
from .reporting import Reporter
from .settings import get_settings

R = TypeVar("R", ImportResult, ExportResult)


@dataclass
class LaunchedRun(Generic[R]):
    """A run executed in this process: whether it succeeded, its id, and the result it recorded."""

    success: bool
    run_id: str
    result: R


def run_import(
    catalog: Catalog,
    instance: DagsterInstance,
    source_id: str,
    *,
    dry_run: bool = False,
    verbose: bool = False,
) -> LaunchedRun[ImportResult]:
    """Run `import_source` for one source now and return the ImportResult it recorded.

    `verbose` logs every message of the run on stderr in full; otherwise only the ops' progress, one line each.

    Raises NotFound for an unknown source and SourceBusy (a Conflict) while another import of it runs; in both
    cases nothing has been launched or changed.
    """
    source = catalog.get_source(source_id)  # NotFound before anything runs
    run_id = str(uuid.uuid4())
    # The run takes the lock as this run id: holding it first makes "busy" an error before any run exists.
    hold_source(catalog, instance, source_id, run_id)
    try:
        return _execute(catalog, instance, source, run_id, dry_run=dry_run, verbose=verbose)
    finally:
        # However the run ended, its scratch files are of no more use (the ops remove them too; this covers a
        # run that failed outside them).
        remove_workdir(get_settings().work_dir, run_id)
        locks.release(catalog, run_id, source_id=source_id)


def _execute(
    catalog: Catalog,
    instance: DagsterInstance,
    source: Source,
    run_id: str,
    *,
    dry_run: bool,
    verbose: bool,
) -> LaunchedRun[ImportResult]:
    run_config: dict[str, Any] = {}
    if dry_run:
        run_config = {"dry_run": True}
        for key in reversed(FETCH_CONFIG_PATH):  # the path the failure sensor reads it back from
            run_config = {key: run_config}
    outcome = execute_now(
        instance,
        "import_source",
        SOURCES_PARTITIONS_NAME,
        source.id,
        run_id=run_id,
        run_config=run_config,
        tags=import_tags(source),
        verbose=verbose,
    )
    result = catalog.result_for_run(run_id, items=False)
    if result is None:
        # The run died before `write` could record anything: record that, so the failure is in the history.
        error = run_error(outcome) or "the import run failed before it recorded a result"
        result, recorded = catalog.record_failed_run(source, run_id=run_id, error=error, dry_run=dry_run)
        notifications.report_transition(Reporter.from_settings(), source, recorded, result)
    return LaunchedRun(success=outcome.success, run_id=run_id, result=result)


def execute_now(
    instance: DagsterInstance,
    job_name: str,
    partitions_name: str,
    partition_key: str,
    *,
    run_id: str,
    run_config: dict[str, Any],
    tags: dict[str, str],
    verbose: bool = False,
) -> JobExecutionResult:
    """Execute a partitioned job in this process; return its outcome.

    The run is a run of the code location `data_agent` like a queued or scheduled one: the UI lists it with the
    job's runs and can re-execute it.
    """
    ensure_partition(instance, partition_key, partitions_name)
    return execute_partition_run(
        instance,
        job_name,
        partition_key,
        # The engine's DEBUG events are for the UI; on a terminal the ops' own INFO lines say enough.
        run_config={**run_config, "loggers": {"console": {"config": _console(verbose)}}},
        run_id=run_id,
        tags={
            **tags,
            "data_agent/launched_by": "cli",
            HOST_TAG: socket.gethostname(),
            PID_TAG: str(os.getpid()),
        },
    )


def _console(verbose: bool) -> dict[str, Any]:
    """The config of the runs' console logger (orchestration/console.py): everything, or the ops' progress."""
    return {"log_level": "DEBUG", "verbose": True} if verbose else {"log_level": "INFO"}


def run_export_now(
    catalog: Catalog, instance: DagsterInstance, target_id: str, *, verbose: bool = False
) -> LaunchedRun[ExportResult]:
    """Run `export_service` for one target now, recorded in Dagster, and return the ExportResult it recorded."""
    targets = ExportTargets(catalog)
    target = targets.get(target_id)  # NotFound before anything runs
    run_id = str(uuid.uuid4())
    outcome = execute_now(
        instance,
        EXPORT_JOB_NAME,
        EXPORTS_PARTITIONS_NAME,
        target_id,
        run_id=run_id,
        run_config={},
        tags=export_tags(target),
        verbose=verbose,
    )
    result = targets.result_for_run(run_id)
    if result is None:
        # The run died before it could record a result (a busy target, say): said, not stored.
        error = run_error(outcome) or "the export run failed before it ran"
        result = failed_result(target, run_id, started_at=catalog.clock(), error=error)
    return LaunchedRun(success=outcome.success, run_id=run_id, result=result)


def queue_import(instance: DagsterInstance, catalog: Catalog, source_id: str, *, launched_by: str = "api") -> str:
    """Submit an import run of the source to the instance's run queue and return its run id at once.

    The run is not executed here: the daemon launches it like a scheduled one (one run per source at a time, the
    instance's launcher). Raises NotFound for an unknown source and SourceBusy (a Conflict) while an import of it
    runs, before anything is queued.
    """
    source = catalog.get_source(source_id)
    held = locks.held(catalog, source_id)
    if held is not None:
        run = instance.get_run_by_id(held.holder)
        if run is None or not run.is_finished:
            raise locks.SourceBusy(source_id, held.holder)
    pending = pending_run(instance, "import_source", source_id)
    if pending is not None:
        raise Conflict(f"source {source_id} already has an import queued or running (run {pending})")
    ensure_partition(instance, source_id)
    tags = {**import_tags(source), "data_agent/launched_by": launched_by}
    return submit_partition_run(instance, "import_source", source_id, tags)


def queue_export(instance: DagsterInstance, catalog: Catalog, target_id: str, *, launched_by: str = "api") -> str:
    """Submit an export run of the target to the instance's run queue and return its run id at once.

    Raises NotFound for an unknown target and Conflict while an export of it is queued or running.
    """
    target = ExportTargets(catalog).get(target_id)
    pending = pending_run(instance, EXPORT_JOB_NAME, target_id)
    if pending is not None:
        raise Conflict(f"export target {target_id} already has an export queued or running (run {pending})")
    ensure_partition(instance, target_id, EXPORTS_PARTITIONS_NAME)
    tags = {**export_tags(target), "data_agent/launched_by": launched_by}
    return submit_partition_run(instance, EXPORT_JOB_NAME, target_id, tags)


def queue_pushed_import(instance: DagsterInstance, catalog: Catalog, source_id: str) -> tuple[str, bool]:
    """Queue an import of the source on a push from its platform, unless one is already waiting to start.

    Returns the run id and whether it was queued now (False: the run that was already waiting). A run that has
    started does not count: it may have read the origin before the change the push announces, so another run is
    queued behind it (the instance runs one import per source at a time). The caller serialises the pushes of a
    source (`SourceHooks.pushing`), so two pushes at once cannot both queue one.
    """
    waiting = _run_in(instance, "import_source", source_id, [DagsterRunStatus.NOT_STARTED, DagsterRunStatus.QUEUED])
    if waiting is not None:
        return waiting, False
    source = catalog.get_source(source_id)
    ensure_partition(instance, source_id)
    tags = {**import_tags(source), "data_agent/launched_by": "hook"}
    return submit_partition_run(instance, "import_source", source_id, tags), True


def pending_run(instance: DagsterInstance, job_name: str, partition_key: str) -> str | None:
    """The id of a run of this job's partition that is queued or running, if there is one (a run the UI launched
    from the asset's page counts)."""
    waiting = [
        DagsterRunStatus.NOT_STARTED,
        DagsterRunStatus.QUEUED,
        DagsterRunStatus.STARTING,
        DagsterRunStatus.STARTED,
    ]
    return _run_in(instance, job_name, partition_key, waiting)


def _run_in(
    instance: DagsterInstance, job_name: str, partition_key: str, statuses: list[DagsterRunStatus]
) -> str | None:
    asset = IMPORT_RESULTS if job_name == import_source.name else EXPORTS
    runs = runs_of(instance, job_name, asset, statuses, partition_key=partition_key, limit=1)
    return runs[0].run_id if runs else None
