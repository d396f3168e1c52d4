"""The `import_results` asset and the `import_source` job that materializes it, one run per source partition.

The asset is a graph of four ops (fetch -> normalise -> reconcile -> write), so Dagster knows from the start of a
run which asset partition it is for: an import that fails is shown failed on the asset (partitions, events,
lineage) as on the job, and the op that fails is the one where the import failed.

No `from __future__ import annotations` here: Dagster reads the op and config annotations at definition time.
"""

import os
import shutil
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckEvaluation,
    AssetCheckResult,
    Config,
    DagsterInstance,
    DagsterRun,
    Failure,
    MetadataValue,
    OpExecutionContext,
    Out,
    Output,
    RunsFilter,
    TableColumn,
    TableRecord,
    TableSchema,
    define_asset_job,
    graph_asset,
    in_process_executor,
    op,
)

from .. import importing, notifications
from ..catalog import locks
from ..catalog.sources import DueSource
from ..catalog.store import Catalog
from ..health import LAST_IMPORT_SUCCEEDED
from ..importing import ImportState
from ..model import ImportResult, ItemOutcome, Source
from ..reporting import Reporter
from ..settings import get_settings
from .checks import CHECK_SPECS, IMPORT_RESULTS, check_result, evaluation, import_verdicts, latest_materializations
from .conventions import OWNERS
from .instance import HOST_TAG, PID_TAG
from .partitions import sources_partitions
from .resources import CatalogResource, HttpResource
from .run_queue import tag_run

MAX_FAILED_ROWS = 100
# Run monitoring ends an import that runs longer than this; its source lock outlives it a little, so a run that
# died without releasing its lock blocks the source at most that long (less when the run is known to have ended).
IMPORT_MAX_RUNTIME_SECONDS = 3 * 3600
SOURCE_LOCK_TTL = timedelta(seconds=IMPORT_MAX_RUNTIME_SECONDS + 600)
RUN_CREATION_GRACE = timedelta(minutes=2)
# The metadata key of the failure of a run that found its source busy: it changed nothing, so it is no failure
# of the source (the failure sensor leaves the source alone and reports nothing).
SOURCE_BUSY = "source_busy"


class ImportConfig(Config):
    """Launchpad settings of one import."""

    dry_run: bool = False


# The ops yield (rather than return) so that the one where an import fails can report its source's health checks
# before it fails: a raised exception would drop events logged with `context.log_event`.
@op(description="Load the source and fetch its origin (conditional GET; pages for APIs).", out=Out(ImportState))
def fetch(
    context: OpExecutionContext, config: ImportConfig, catalog: CatalogResource, http: HttpResource
) -> Iterator[Output[ImportState] | AssetCheckEvaluation]:
    with releasing_on_failure(context, catalog):
        # A run of Dagster's hidden asset job (the UI's "Materialize", an asset backfill) has none of
        # import_source's tags; run monitoring and the retry daemon read a run's tags from storage when they act,
        # so adding them first thing gives it the same runtime limit and crash retries.
        tag_run(context.instance, context.run, defaults=IMPORT_RUN_TAGS)
        try:
            hold_source(catalog.catalog, context.instance, context.partition_key, context.run_id)
        except locks.SourceBusy as busy:
            raise Failure(description=str(busy), metadata={SOURCE_BUSY: busy.holder}, allow_retries=False) from None
        removed = sweep_dead_workdirs(context.instance, catalog.work_root, keep=context.run_id)
        if removed:
            context.log.info(f"removed the work folders of {len(removed)} runs that have ended: {', '.join(removed)}")
        with http.client() as client:
            state = importing.fetch(
                catalog.catalog,
                client,
                context.partition_key,
                run_id=context.run_id,
                work_root=catalog.work_root,
                dry_run=config.dry_run,
            )
        # A run started from the launchpad, the asset page or a backfill was created with its partition key alone:
        # it gets the tags every other import run is created with, so filtering runs by service or source finds it.
        tag_run(context.instance, context.run, tags=import_tags(state.source))
        if state.error:
            yield from fail_import(context, state, catalog.catalog)
        size = f"{state.fetched.size:,} bytes" if state.fetched and state.fetched.path else _describe(state)
        context.log.info(f"fetched {state.source.name!r} ({state.source.kind}): {size}")
        yield Output(state)


def _middle_step(
    context: OpExecutionContext,
    catalog: CatalogResource,
    state: ImportState,
    step: Callable[[Catalog, ImportState], ImportState],
    describe: Callable[[ImportState], str],
) -> Iterator[Output[ImportState] | AssetCheckEvaluation]:
    """An op between fetch and write: run `step`, fail the import on its error, log what it did, pass the state."""
    with releasing_on_failure(context, catalog):
        state = step(catalog.catalog, state)
        if state.error:
            yield from fail_import(context, state, catalog.catalog)
        context.log.info(describe(state))
        yield Output(state)


@op(
    description="Parse what was fetched into assets, one item at a time; unusable items become failed outcomes.",
    out=Out(ImportState),
)
def normalise(
    context: OpExecutionContext, state: ImportState, catalog: CatalogResource
) -> Iterator[Output[ImportState] | AssetCheckEvaluation]:
    yield from _middle_step(
        context,
        catalog,
        state,
        importing.normalise,
        lambda done: f"normalised with {done.parser or 'no parser'}: {done.items_read} items read",
    )


@op(description="Compare the items with the catalog in bulk and plan creates, updates and skips.", out=Out(ImportState))
def reconcile(
    context: OpExecutionContext, state: ImportState, catalog: CatalogResource
) -> Iterator[Output[ImportState] | AssetCheckEvaluation]:
    yield from _middle_step(context, catalog, state, importing.reconcile, lambda done: f"planned: {_describe(done)}")


# The graph's outputs for the checks come from `write`, which yields them with its check results; an op where an
# import fails yields evaluations instead and no outputs (hence not required).
CHECK_OUTPUTS = [spec.get_python_identifier() for spec in CHECK_SPECS]


@op(
    description="Apply the plan in batches, record the ImportResult; its counts are the materialization's metadata.",
    out={"result": Out(str), **{name: Out(is_required=False) for name in CHECK_OUTPUTS}},
)
def write(
    context: OpExecutionContext, state: ImportState, catalog: CatalogResource
) -> Iterator[Output[str] | AssetCheckEvaluation]:
    with releasing_on_failure(context, catalog):
        result = _record(context, state, catalog.catalog)
        if result.failed:  # every item failed: nothing was applied
            yield from report_health(context, state, result, materialized=False)
            raise _failure(state, result, catalog.catalog)
        metadata = result_metadata(
            result,
            catalog.catalog.iter_result_items(result.id, outcomes=("failed",), limit=MAX_FAILED_ROWS),
            source=state.source,
        )
        yield Output(result.id, output_name="result", metadata=metadata)
        yield from report_health(context, state, result, materialized=True)


def fail_import(context: OpExecutionContext, state: ImportState, catalog: Catalog) -> Iterator[AssetCheckEvaluation]:
    """End an import that failed as a whole in the op where it failed: record its result, report the source's
    health checks, then fail the op.

    No materialization follows, so Dagster marks the run's `import_results` partition failed.
    """
    result = _record(context, state, catalog)
    yield from report_health(context, state, result, materialized=False)
    raise _failure(state, result, catalog)


def report_health(
    context: OpExecutionContext, state: ImportState, result: ImportResult, *, materialized: bool
) -> Iterator[AssetCheckEvaluation | AssetCheckResult]:
    """The source's health checks as this import leaves them, on the run's partition.

    After the materialization they are check results (Dagster points them at it); an import that failed made none,
    so its verdicts point at the partition's latest materialization, which the UI then shows them against.
    """
    intervals = get_settings().freshness_intervals
    now = result.finished_at or result.started_at
    verdicts = import_verdicts(result, state.source, now=now, intervals=intervals)
    target = None if materialized else latest_materializations(context.instance, [state.source.id]).get(state.source.id)
    for verdict in verdicts:
        # A failed import already says why, once (CLI failures are one line): its own check adds no log line.
        if not verdict.passed and verdict.check != LAST_IMPORT_SUCCEEDED:
            context.log.warning(f"check {verdict.check} ({verdict.severity}): {verdict.description}")
        yield check_result(verdict) if materialized else evaluation(verdict, state.source.id, target)


def _record(context: OpExecutionContext, state: ImportState, catalog: Catalog) -> ImportResult:
    """Record the ImportResult and the source's bookkeeping, report item errors, release the source."""
    try:
        result = importing.write(catalog, state)
        report_collected_errors(context, state, result, catalog.iter_result_items(result.id, outcomes=("failed",)))
        report_source_state(context, state, result)
    finally:
        locks.release(catalog, context.run_id, source_id=context.partition_key)
    return result


def _failure(state: ImportState, result: ImportResult, catalog: Catalog) -> Failure:
    """The op failure of a failed import, with the result's metadata for the run's event log."""
    return Failure(
        description=f"import of source {state.source.id} failed: {result.error}",
        metadata=result_metadata(
            result,
            catalog.iter_result_items(result.id, outcomes=("failed",), limit=MAX_FAILED_ROWS),
            source=state.source,
        ),
        allow_retries=False,
    )


def import_tags(source: Source | DueSource) -> dict[str, str]:
    """The Dagster tags of an import run of `source`, however it is launched (filter on them in the UI)."""
    return {
        "data_agent/service": source.service,
        "data_agent/source": source.id,
        "data_agent/source_name": source.name,
        "data_agent/kind": source.kind,
    }


def hold_source(catalog: Catalog, instance: DagsterInstance, source_id: str, run_id: str) -> None:
    """Take the source's lock for this run; raises SourceBusy (a Conflict) while another live run holds it.

    A lock whose holder is a run the instance knows to have ended (failed, crashed, cancelled) is taken over: a
    retry of a crashed run must not wait for the dead run's lock to expire.
    """

    def has_ended(lock: locks.SourceLock) -> bool:
        run = instance.get_run_by_id(lock.holder)
        if run is None:
            # A CLI import takes the lock as its run id just before it creates the run: a holder with no run
            # after a grace period died in between.
            return catalog.clock() - lock.acquired_at > RUN_CREATION_GRACE
        return run.is_finished or _died_in_process(instance, run)

    locks.acquire(catalog, source_id, run_id, ttl=SOURCE_LOCK_TTL, holder_has_ended=has_ended)


def sweep_dead_workdirs(instance: DagsterInstance, work_root: Path, *, keep: str) -> list[str]:
    """Remove the work folders of runs that have ended; return their names.

    A folder is named after its run. It is dead when the instance has that run as finished, or as running in a
    CLI process on this host that is gone; a folder the instance knows no run of is dead once it is older than
    the longest a run may live (SOURCE_LOCK_TTL). A folder of a run in progress is never touched.
    """
    try:
        folders = [path for path in work_root.iterdir() if path.is_dir() and path.name != keep]
    except FileNotFoundError:
        return []
    if not folders:
        return []
    runs = {run.run_id: run for run in instance.get_runs(RunsFilter(run_ids=[path.name for path in folders]))}
    removed: list[str] = []
    for folder in folders:
        run = runs.get(folder.name)
        if run is None:
            try:
                dead = time.time() - folder.stat().st_mtime > SOURCE_LOCK_TTL.total_seconds()
            except FileNotFoundError:
                continue  # removed meanwhile
        else:
            dead = run.is_finished or _died_in_process(instance, run)
        if dead:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    return removed


def _died_in_process(instance: DagsterInstance, run: DagsterRun) -> bool:
    """Whether a run executed in a CLI process on this host is still marked running although that process is gone.

    Nothing else would notice: run monitoring watches launched runs, not in-process ones. Such a run is marked
    failed, so the UI stops showing it as running, and its lock can be taken over.
    """
    host, pid = run.tags.get(HOST_TAG), run.tags.get(PID_TAG)
    # A re-execution of a CLI run (from the UI) copies its parent's tags, not its process: the launcher runs it.
    if run.parent_run_id is not None or host != socket.gethostname() or not (pid or "").isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        instance.report_run_failed(run, f"the process that ran this import (pid {pid} on {host}) is gone")
        return True
    except PermissionError:
        return False
    return False


def report_collected_errors(
    context: OpExecutionContext, state: ImportState, result: ImportResult, failed_items: Iterable[ItemOutcome]
) -> None:
    """Send the errors collected on items to Bugsnag (once per distinct error), waiting for delivery briefly."""
    reporter = Reporter.from_settings()
    if not reporter.enabled:
        return
    sent = reporter.report_import_errors(
        result, failed_items, kind=state.source.kind, secrets=state.source.credentials.values()
    )
    if sent and not reporter.flush():
        context.log.warning("Bugsnag did not confirm every error report in time; the import goes on")


def report_source_state(context: OpExecutionContext, state: ImportState, result: ImportResult) -> None:
    """When this import paused its source or ended its failures, say so in the run's log and tell Bugsnag (once:
    the transition happens once)."""
    recorded = state.recorded
    if recorded is None:
        return
    if recorded.paused:
        context.log.warning(f"source {state.source.id} is paused: {recorded.paused_reason}")
    elif recorded.recovered:
        context.log.info(f"source {state.source.id} recovered after {recorded.previous_failures} failed imports")
    notifications.report_transition(Reporter.from_settings(), state.source, recorded, result)


@contextmanager
def releasing_on_failure(context: OpExecutionContext, catalog: CatalogResource) -> Iterator[None]:
    """An op that fails releases whatever source lock its run holds and removes the run's work folder (`write`
    does both when it runs).

    In the op rather than in a failure hook: it then holds in every job that materializes the asset (Dagster's
    hidden asset job included), and a step that succeeds writes no HOOK_SKIPPED event to the run's log (one
    storage write per op and run, read by no one).
    """
    try:
        yield
    except Exception:
        importing.remove_workdir(catalog.work_root, context.run_id)
        locks.release(catalog.catalog, context.run_id)
        raise


def result_metadata(
    result: ImportResult, failed_items: Iterable[ItemOutcome], *, source: Source | None = None
) -> dict[str, Any]:
    """Materialization metadata: counts as integers (the UI plots them), status, ids, duration, failed items, and
    the source's name and kind, so that a partition (an opaque source id) reads as the source it is."""
    finished = result.finished_at or result.started_at
    metadata: dict[str, Any] = {name: MetadataValue.int(value) for name, value in result.counts.items()}
    metadata.update(
        status=MetadataValue.text(str(result.status)),
        result_id=MetadataValue.text(result.id),
        source_id=MetadataValue.text(result.source_id),
        service=MetadataValue.text(result.service),
        dry_run=MetadataValue.bool(result.dry_run),
        duration_seconds=MetadataValue.float(round((finished - result.started_at).total_seconds(), 3)),
        failed_items=MetadataValue.table(
            records=[TableRecord({"external_id": i.external_id or "", "reason": i.reason or ""}) for i in failed_items],
            schema=TableSchema(columns=[TableColumn("external_id", "string"), TableColumn("reason", "string")]),
        ),
    )
    if source is not None:
        metadata.update(source_name=MetadataValue.text(source.name), kind=MetadataValue.text(source.kind))
    if result.error:
        metadata["error"] = MetadataValue.text(result.error)
    if result.notes:
        metadata["notes"] = MetadataValue.md("\n".join(f"- {note}" for note in result.notes))
    return metadata


def _describe(state: ImportState) -> str:
    if state.error:
        return f"failed: {state.error}"
    if state.unchanged:
        return "unchanged"
    return ", ".join(f"{count} {name}" for name, count in state.counts.items() if count) or "nothing planned yet"


@graph_asset(
    name=IMPORT_RESULTS.path[-1],
    partitions_def=sources_partitions,
    description=(
        "The ImportResult of each import of a source, one partition per source: each materialization is one"
        " import, with its counts by outcome (plotted), status, duration and a table of the failed items; an"
        " import that fails as a whole marks its partition failed, at the op where it failed."
    ),
    group_name="imports",
    kinds={"sqlalchemy"},
    owners=OWNERS,
    tags={"data_agent/direction": "import"},
    check_specs=CHECK_SPECS,
)
def import_results() -> Any:
    written = write(reconcile(normalise(fetch())))
    return {"result": written.result, **{name: getattr(written, name) for name in CHECK_OUTPUTS}}


# The ops sit inside the asset's graph: their run config and step keys go through it (`import_results.fetch`).
FETCH_CONFIG_PATH = ("ops", IMPORT_RESULTS.path[-1], "ops", "fetch", "config")


def op_name(step_key: str) -> str:
    """The op of a step key, as people know it (`import_results.fetch` -> `fetch`)."""
    return step_key.rsplit(".", 1)[-1]


# The tags of every import run: import_source's own, and added by `fetch` to a run of the hidden asset job.
IMPORT_RUN_TAGS = {
    "data_agent/job": "import",
    # Who started the run: every launcher but the UI (launchpad, asset page, backfill, re-execution) sets its own.
    "data_agent/launched_by": "ui",
    "dagster/max_runtime": str(IMPORT_MAX_RUNTIME_SECONDS),
    # Retry runs that crashed (worker lost, run monitoring), never imports that failed on their own: those would
    # fail the same way. A retry re-runs every step; the write step's upserts make that converge.
    "dagster/max_retries": "2",
    "dagster/retry_on_asset_or_op_failure": "false",
    "dagster/retry_strategy": "ALL_STEPS",
}

import_source = define_asset_job(
    "import_source",
    selection=[IMPORT_RESULTS],
    executor_def=in_process_executor,
    description="Import one source into the catalog (partition = source id).",
    tags=IMPORT_RUN_TAGS,
)


def is_import_run(run: DagsterRun) -> bool:
    """Whether a run imports a source: a run of import_source, or of Dagster's hidden asset job that materializes
    `import_results` (the UI's "Materialize", an asset backfill, their re-executions)."""
    return run.job_name == import_source.name or IMPORT_RESULTS in (run.asset_selection or ())
