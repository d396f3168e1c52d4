"""The `import_freshness` sensor: the `imported_recently` check of every source, judged in bulk without a run.

An import judges its own source's freshness when it records its result; a source whose imports stopped (never
launched, runs that died before recording anything, a backlog) would keep its last green mark. This sensor reads
every source's schedule and last success in one query and the last recorded verdict of every partition in one
storage query, and records a new verdict only where it changed, at most `MAX_VERDICTS_PER_TICK` a tick.

It records the verdicts itself rather than returning them as `SensorResult(asset_events=...)`: Dagster 1.13.27
stores a runless check evaluation with the run id "" under a unique index on (check, run id, partition), so the
second runless verdict of any partition fails the tick (on SQLite and PostgreSQL alike). Each tick's verdicts
carry an id of their own instead, `import_freshness-<tick time>` (it names no run: the UI's link to it finds
none), which keeps every verdict in the check's history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from dagster import (
    AssetCheckEvaluation,
    DagsterInstance,
    DefaultSensorStatus,
    RunsFilter,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)
from dagster._core.instance.utils import RUNLESS_JOB_NAME

from .. import health
from ..catalog.store import Catalog
from ..clock import Clock, utc_now
from ..settings import get_settings
from .checks import evaluation, latest_materializations, recorded_freshness, report_evaluations
from .partitions import SOURCES_PARTITIONS_NAME
from .resources import CatalogResource

FRESHNESS_INTERVAL_SECONDS = 300
# The daemon writes each verdict as one event: a first tick on a large instance spreads over several ticks.
MAX_VERDICTS_PER_TICK = 2000


@dataclass
class FreshnessPlan:
    """The verdicts one tick records, and what it saw."""

    evaluations: list[AssetCheckEvaluation] = field(default_factory=list)
    checked: int = 0
    stale: int = 0
    more: int = 0

    def summary(self) -> str:
        """One line for the tick's log."""
        text = f"{self.checked} sources checked, {self.stale} stale, {len(self.evaluations)} verdicts changed"
        return text + (f"; {self.more} more go on the next tick" if self.more else "")


def plan_freshness(catalog: Catalog, instance: DagsterInstance, *, now: datetime, intervals: int) -> FreshnessPlan:
    """Judge every source that has a partition; keep the verdicts that differ from the last one recorded."""
    plan = FreshnessPlan()
    partitions = set(instance.get_dynamic_partitions(SOURCES_PARTITIONS_NAME))
    recorded = recorded_freshness(instance)
    # A verdict a run planned is the run's to give, unless the run has ended without giving it (it died).
    planners = {verdict.planned_by for verdict in recorded.values() if verdict.planned_by}
    ended = (
        {run.run_id for run in instance.get_runs(RunsFilter(run_ids=sorted(planners))) if run.is_finished}
        if planners
        else set()
    )
    changed: list[tuple[health.Verdict, str]] = []
    for schedule in catalog.source_schedules():
        if schedule.id not in partitions:
            continue  # the heartbeat adds it on its next tick
        plan.checked += 1
        verdict = health.imported_recently(schedule, now=now, intervals=intervals)
        plan.stale += not verdict.passed
        last = recorded.get(schedule.id)
        if last is not None and last.planned_by is not None and last.planned_by not in ended:
            continue
        if last is None or last.passed is None or last.passed != verdict.passed:
            changed.append((verdict, schedule.id))
    recording = changed[:MAX_VERDICTS_PER_TICK]
    targets = latest_materializations(instance, [partition for _verdict, partition in recording])
    plan.evaluations = [evaluation(verdict, partition, targets.get(partition)) for verdict, partition in recording]
    plan.more = len(changed) - len(recording)
    return plan


def record_verdicts(instance: DagsterInstance, evaluations: Sequence[AssetCheckEvaluation], *, tick: str) -> None:
    """Write the tick's verdicts to the event log under the tick's id (see the module's docstring for why)."""
    report_evaluations(instance, evaluations, run_id=tick, job_name=RUNLESS_JOB_NAME)


def build_import_freshness(*, clock: Clock = utc_now) -> SensorDefinition:
    """The freshness sensor; tests pin `clock`."""

    @sensor(
        name="import_freshness",
        minimum_interval_seconds=FRESHNESS_INTERVAL_SECONDS,
        default_status=DefaultSensorStatus.RUNNING,
        description="Marks import_results partitions whose source has not imported successfully for"
        " DATA_AGENT_FRESHNESS_INTERVALS (3) of its intervals (check imported_recently, ERROR).",
    )
    def import_freshness(context: SensorEvaluationContext, catalog: CatalogResource) -> SkipReason:
        now = clock()
        plan = plan_freshness(catalog.catalog, context.instance, now=now, intervals=get_settings().freshness_intervals)
        record_verdicts(context.instance, plan.evaluations, tick=f"import_freshness-{now.timestamp():.6f}")
        context.log.info(plan.summary())
        return SkipReason(plan.summary())  # it launches nothing

    return import_freshness


import_freshness = build_import_freshness()
