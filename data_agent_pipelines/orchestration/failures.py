"""The `import_failures` sensor: an import run that failed leaves its mark on the source and in Bugsnag.

An import run is a run of `import_source` or a run of Dagster's hidden asset job that materializes
`import_results` (the UI's "Materialize" on the asset, an asset backfill). A run can fail without its `write`
step recording anything: a step raised, the run worker crashed, run monitoring ended it past
`dagster/max_runtime`. The sensor then records a failed ImportResult and the source's last status and error,
releases the source lock the dead run may still hold, records the source's health checks the run did not get to
report, and reports the failure to Bugsnag. A run that only found its source busy changed nothing and is left
alone.

It keeps up with the heartbeat's largest launch rate (500 runs per 5 minutes) with room to spare: each tick (every
30 s) reads up to 500 failures since its cursor (the storage id of the last RUN_FAILURE event it dealt with) in one
query, their runs in a second, each run's step failures and check results in one more, and stops after 40 s, well
inside the 60 s sensor timeout; Bugsnag delivery runs in the background and is waited for once a tick. Dagster's
`run_failure_sensor` would handle 5 runs an evaluation (`DAGSTER_RUN_STATUS_SENSOR_PROCESS_LIMIT`), some 14,400 a
day.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckEvaluation,
    DagsterEvent,
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DefaultSensorStatus,
    RunsFilter,
    RunStatusChangeRecordsFilter,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from .. import health, importing, notifications
from ..catalog import locks
from ..catalog.store import Catalog
from ..errors import NotFound
from ..model import ImportResult, RunRecorded, Source
from ..reporting import Reporter
from ..settings import get_settings
from .checks import import_verdicts, record_run_verdicts
from .imports import FETCH_CONFIG_PATH, SOURCE_BUSY, is_import_run, op_name
from .resources import CatalogResource

# What the sensor reads of each failed run: its step failures (the error, a busy source) and its check results.
RUN_EVENTS_READ = {DagsterEventType.STEP_FAILURE, DagsterEventType.ASSET_CHECK_EVALUATION}
FAILURES_INTERVAL_SECONDS = 30
MAX_FAILURES_PER_TICK = 500
TICK_BUDGET_SECONDS = 40
# A sensor with no cursor yet (first start) picks up the failures of the last hour, not the whole history.
FIRST_TICK_LOOKBACK_SECONDS = 3600


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
    instance: DagsterInstance,
    catalog: Catalog,
    run: DagsterRun,
    *,
    error: str,
    busy: bool,
    checked: bool,
    reporter: Reporter,
) -> FailureHandled:
    """Record the failure of an import run on its source (if nothing did) and report it.

    `checked`: the run reported its source's health checks. A run that died before it did (crashed, timed out, an
    op failed before the import recorded anything) gets them here, in its own event log: they replace the checks
    it had planned, which the UI would otherwise show as "Execution failed" until the source's next import.
    """
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
        if source is not None and result is not None and not checked:
            intervals = get_settings().freshness_intervals
            verdicts = import_verdicts(result, source, now=catalog.clock(), intervals=intervals)
            record_run_verdicts(instance, run, source.id, verdicts)
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
    if source is not None:
        notifications.report_transition(reporter, source, transition, result)
    return FailureHandled(source_id, recorded=recorded, reported=reported, error=error)


def _dry_run(run: DagsterRun) -> bool:
    config: Any = run.run_config or {}
    for key in FETCH_CONFIG_PATH:
        config = config.get(key) or {}
    return bool(config.get("dry_run"))


@dataclass
class FailuresTick:
    """What one tick of the failure sensor did, and where the next one starts."""

    handled: list[FailureHandled] = field(default_factory=list)
    cursor: int | None = None  # storage id of the last RUN_FAILURE event dealt with
    more: bool = False  # failures are left for the next tick (batch or time budget spent)

    def summary(self, reporter: Reporter) -> str:
        """One line for the tick's log."""
        recorded = sum(handled.recorded for handled in self.handled)
        busy = sum(handled.busy for handled in self.handled)
        if not reporter.enabled:
            reported = "Bugsnag is off (no BUGSNAG_API_KEY)"
        else:
            reported = f"{sum(handled.reported for handled in self.handled)} reported to Bugsnag"
        text = f"{len(self.handled)} failed import runs: {recorded} recorded on their source, {busy} found it busy; "
        return text + reported + ("; more failures wait for the next tick" if self.more else "")


def handle_failures(
    instance: DagsterInstance,
    catalog: Catalog,
    reporter: Reporter,
    *,
    work_root: Path,
    after: int | None,
    now: float,
    limit: int = MAX_FAILURES_PER_TICK,
    budget_seconds: float = TICK_BUDGET_SECONDS,
) -> FailuresTick:
    """Deal with the import runs that failed since the RUN_FAILURE event `after` (none: the last hour), oldest
    first: one query for the failure events, one for their runs, one per run for its step failures and checks."""
    started = time.monotonic()
    records_filter = RunStatusChangeRecordsFilter(
        DagsterEventType.RUN_FAILURE,
        after_storage_id=after,
        after_timestamp=None if after is not None else now - FIRST_TICK_LOOKBACK_SECONDS,
    )
    # One more than the batch, to know whether the next tick has work waiting.
    records = instance.fetch_run_status_changes(records_filter, limit=limit + 1, ascending=True).records
    tick = FailuresTick(cursor=after, more=len(records) > limit)
    records = records[:limit]
    run_ids = sorted({record.event_log_entry.run_id for record in records})
    runs = {run.run_id: run for run in instance.get_runs(RunsFilter(run_ids=run_ids))} if run_ids else {}
    for record in records:
        if time.monotonic() - started > budget_seconds:
            tick.more = True
            break
        run = runs.get(record.event_log_entry.run_id)
        failure = record.event_log_entry.dagster_event
        if run is not None and is_import_run(run) and failure is not None:
            events = [
                record.event_log_entry.dagster_event
                for record in instance.get_records_for_run(run.run_id, of_type=RUN_EVENTS_READ).records
                if record.event_log_entry.dagster_event is not None
            ]
            step_failures = [event for event in events if event.is_step_failure]
            handled = handle_import_failure(
                instance,
                catalog,
                run,
                error=failure_message(failure, step_failures),
                busy=found_source_busy(step_failures),
                checked=reported_health(events),
                reporter=reporter,
            )
            # A run that crashed left its scratch files behind (on this machine, when it ran here).
            importing.remove_workdir(work_root, run.run_id)
            tick.handled.append(handled)
        tick.cursor = record.storage_id
    if any(handled.reported for handled in tick.handled):
        reporter.flush()  # once per tick, not per run: delivery runs in the background meanwhile
    return tick


def reported_health(events: Sequence[DagsterEvent]) -> bool:
    """Whether a run reported its source's health: every import that records its result judges the source's last
    import (`last_import_succeeded`) with the others."""
    for event in events:
        data = event.event_specific_data
        if isinstance(data, AssetCheckEvaluation) and data.check_name == health.LAST_IMPORT_SUCCEEDED:
            return True
    return False


def parse_cursor(cursor: str | None) -> int | None:
    """The storage id a tick starts after: this sensor's own cursor (a number), or the cursor Dagster's
    run_failure_sensor kept under the same name (a serialized RunStatusSensorCursor), so that an upgrade neither
    skips nor repeats failures."""
    if not cursor:
        return None
    if cursor.isdigit():
        return int(cursor)
    try:
        record_id = json.loads(cursor).get("record_id")
    except (ValueError, AttributeError):
        return None
    return record_id if isinstance(record_id, int) else None


def build_import_failures(*, clock: Callable[[], float] = time.time) -> SensorDefinition:
    """The failure sensor; tests pin `clock` (seconds since the epoch)."""

    @sensor(
        name="import_failures",
        minimum_interval_seconds=FAILURES_INTERVAL_SECONDS,
        default_status=DefaultSensorStatus.RUNNING,
        description="Records failed import runs on their source and reports them to Bugsnag, up to"
        f" {MAX_FAILURES_PER_TICK} a tick every {FAILURES_INTERVAL_SECONDS} s.",
    )
    def import_failures(context: SensorEvaluationContext, catalog: CatalogResource) -> SkipReason:
        reporter = Reporter.from_settings()
        tick = handle_failures(
            context.instance,
            catalog.catalog,
            reporter,
            work_root=catalog.work_root,
            after=parse_cursor(context.cursor),
            now=clock(),
        )
        for handled in tick.handled:
            if handled.busy:
                context.log.info(f"source {handled.source_id} was busy: nothing to record")
            else:
                context.log.info(f"source {handled.source_id}: {handled.error}")
        if tick.cursor is not None:
            context.update_cursor(str(tick.cursor))
        context.log.info(tick.summary(reporter))
        return SkipReason(tick.summary(reporter))  # it launches nothing

    return import_failures


import_failures = build_import_failures()
