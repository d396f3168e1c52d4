"""The `import_failures` sensor: an import run that failed leaves its mark on the source and in Bugsnag.

A run can fail without its `write` step recording anything: a step raised, the run worker crashed, run
monitoring ended it past `dagster/max_runtime`. The sensor then records a failed ImportResult and the source's
last status and error, releases the source lock the dead run may still hold, and reports the failure to Bugsnag.
A run that only found its source busy changed nothing and is left alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dagster import DagsterEvent, DagsterRun, DefaultSensorStatus, RunFailureSensorContext, run_failure_sensor

from .. import importing, notifications
from ..catalog import locks
from ..catalog.store import Catalog
from ..errors import NotFound
from ..model import ImportResult, RunRecorded, Source
from ..reporting import Reporter
from .imports import FETCH_CONFIG_PATH, SOURCE_BUSY, import_source, op_name
from .resources import CatalogResource


@dataclass(frozen=True, slots=True)
class FailureHandled:
    """What the sensor did about one failed run."""

    source_id: str | None
    recorded: bool
    reported: bool
    error: str
    busy: bool = False


def failure_message(failure_event: DagsterEvent, step_failures: Sequence[DagsterEvent]) -> str:
    """The first failed step and its error, or the run's own failure message (crash, timeout, cancellation)."""
    for event in step_failures:
        data = event.step_failure_data
        if data is not None and data.user_failure_data is not None and data.user_failure_data.description:
            return f"{op_name(event.step_key)}: {data.user_failure_data.description.strip()}"  # our Failure's words
        if data is not None and data.error is not None:
            return f"{op_name(event.step_key)}: {data.error.message.strip()}"
    return (failure_event.message or "the run failed").strip()


def found_source_busy(step_failures: Sequence[DagsterEvent]) -> bool:
    """Whether the run failed only because another import of its source held the lock."""
    for event in step_failures:
        data = event.step_failure_data
        if data is not None and data.user_failure_data is not None and SOURCE_BUSY in data.user_failure_data.metadata:
            return True
    return False


def handle_import_failure(
    catalog: Catalog,
    run: DagsterRun,
    *,
    error: str,
    busy: bool,
    reporter: Reporter,
) -> FailureHandled:
    """Record the failure of an `import_source` run on its source (if nothing did) and report it."""
    source_id = run.tags.get("dagster/partition")
    if busy:
        return FailureHandled(source_id, recorded=False, reported=False, error=error, busy=True)
    locks.release(catalog, run.run_id)
    source: Source | None = None
    result: ImportResult | None = None
    recorded = False
    transition: RunRecorded | None = None
    if source_id:
        try:
            source = catalog.get_source(source_id)
        except NotFound:
            source = None  # deleted since: its history stays, there is nothing to mark
        result = catalog.result_for_run(run.run_id, items=False)
        if source is not None and result is None:
            result, transition = catalog.record_failed_run(
                source, run_id=run.run_id, error=error, dry_run=_dry_run(run)
            )
            recorded = True
        elif source is not None and result is not None and not result.failed and not result.dry_run:
            # The import finished but the run failed after it (say, on its output): the source says so.
            transition = catalog.record_run(
                source.id, status="failed", error=error, ran_at=catalog.clock(), result_id=result.id
            )
            recorded = True
    reported = reporter.report_run_failure(
        run_id=run.run_id,
        job_name=run.job_name,
        error=error,
        source_id=source_id,
        service=run.tags.get("data_agent/service") or (source.service if source else None),
        kind=run.tags.get("data_agent/kind") or (source.kind if source else None),
        result=result,
        secrets=source.credentials.values() if source else (),
    )
    if reported:
        reporter.flush()
    if source is not None:
        notifications.report_transition(reporter, source, transition, result)
    return FailureHandled(source_id, recorded=recorded, reported=reported, error=error)


def _dry_run(run: DagsterRun) -> bool:
    config: Any = run.run_config or {}
    for key in FETCH_CONFIG_PATH:
        config = config.get(key) or {}
    return bool(config.get("dry_run"))


@run_failure_sensor(
    name="import_failures",
    monitored_jobs=[import_source],
    default_status=DefaultSensorStatus.RUNNING,
    description="Records a failed import run on its source and reports it to Bugsnag.",
)
def import_failures(context: RunFailureSensorContext, catalog: CatalogResource) -> None:
    step_failures = context.get_step_failure_events()
    reporter = Reporter.from_settings()
    handled = handle_import_failure(
        catalog.catalog,
        context.dagster_run,
        error=failure_message(context.failure_event, step_failures),
        busy=found_source_busy(step_failures),
        reporter=reporter,
    )
    # A run that crashed left its scratch files behind (on this machine, when it ran here).
    importing.remove_workdir(catalog.work_root, context.dagster_run.run_id)
    if handled.busy:
        context.log.info(f"run {context.dagster_run.run_id} found source {handled.source_id} busy; nothing to record")
    else:
        recorded = "recorded on the source" if handled.recorded else "nothing more to record on the source"
        if not reporter.enabled:
            reported = "Bugsnag is off (no BUGSNAG_API_KEY)"
        else:
            reported = "reported to Bugsnag" if handled.reported else "Bugsnag did not take the report"
        context.log.info(
            f"run {context.dagster_run.run_id} of source {handled.source_id} failed: {handled.error}"
            f" ({recorded}; {reported})"
        )
