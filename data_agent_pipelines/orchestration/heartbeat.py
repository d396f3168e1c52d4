"""The `heartbeat` sensor: the one scheduler.

Every tick, for each kind of due work (today: source imports; the export job adds a second provider):

1. keeps the kind's dynamic partitions equal to the catalog: one read of each side; new keys are added at once in
   one bulk call (a new source is due at once and its run request needs its partition); keys of deleted rows go
   back to the daemon as one delete request, at most `MAX_PARTITION_DELETIONS` a tick, since the daemon deletes
   them one at a time and a stale partition harms nothing (deleting one keeps its run and materialization
   history);
2. reads the work that is due, oldest first, in one query with a limit, and leaves out what already has a run
   queued or in progress (one runs query per kind, not one per item);
3. asks for one run per due item with a run key naming the item and its due time, so a failed run never blocks
   the next slot and a re-evaluated tick never launches a slot twice;
4. moves each launched item's next run on to its first slot after now: an item that was due long ago runs once.

At most `max_runs` run requests leave one tick; what is left is still due and goes on the next tick, so a tick
stays far inside the 60 s sensor timeout however many sources there are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from dagster import (
    AddDynamicPartitionsRequest,
    AssetKey,
    DagsterInstance,
    DagsterRunStatus,
    DefaultSensorStatus,
    DeleteDynamicPartitionsRequest,
    DynamicPartitionsDefinition,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from ..catalog.export_targets import ExportTargets
from ..catalog.store import Catalog
from ..clock import Clock, utc_now
from ..errors import DataAgentError
from ..model import isoformat
from ..schedule import next_run_after
from ..settings import get_settings
from .checks import IMPORT_RESULTS
from .exports import EXPORTS, export_service, export_tags, exports_partitions
from .imports import import_source, import_tags
from .partitions import sources_partitions
from .resources import CatalogResource
from .run_queue import runs_of

HEARTBEAT_INTERVAL_SECONDS = 300
MAX_PARTITION_DELETIONS = 200
# The tick's log line names at most this many of the runs it launched (their run keys: `import:SOURCE@DUE`).
SUMMARY_RUN_KEYS = 20
# "Queued or in progress": a run in any of these holds its partition's slot.
ACTIVE_RUN_STATUSES = [
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
]
# A due item whose schedule cannot be computed (it was validated on input, so this is a damaged row) is retried
# this much later rather than every tick.
_UNSCHEDULABLE_RETRY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class DueItem:
    """One thing that is due: its partition key, when it was due, its schedule and the tags of its run."""

    key: str
    due_at: datetime
    every_seconds: int | None
    cron: str | None
    tags: Mapping[str, str]


class DueWork(Protocol):
    """A kind of work the heartbeat schedules: one dynamic partition per catalog row, one run per due row."""

    kind: str
    job: Any  # a JobDefinition, or an asset job (`define_asset_job`, whose class Dagster does not export)
    asset: AssetKey  # what the job materializes (the UI's "Materialize" runs it in Dagster's hidden asset job)
    partitions: DynamicPartitionsDefinition

    def keys(self, catalog: Catalog) -> Iterable[str]:
        """Every partition key that should exist."""
        ...

    def due(self, catalog: Catalog, now: datetime, limit: int) -> Sequence[DueItem]:
        """What is due at `now`, oldest first, at most `limit`."""
        ...

    def schedule(self, catalog: Catalog, next_runs: Mapping[str, datetime]) -> None:
        """Record the next run of each launched key."""
        ...


class SourceImports:
    """Sources whose `next_run_at` has come: the `import_source` job, partitioned by `sources`."""

    kind = "import"
    job = import_source
    asset = IMPORT_RESULTS
    partitions = sources_partitions

    def keys(self, catalog: Catalog) -> Iterable[str]:
        return catalog.source_ids()

    def due(self, catalog: Catalog, now: datetime, limit: int) -> Sequence[DueItem]:
        return [
            DueItem(
                key=source.id,
                due_at=source.next_run_at,
                every_seconds=source.every_seconds,
                cron=source.cron,
                tags=import_tags(source),
            )
            for source in catalog.due_sources(now, limit=limit)
        ]

    def schedule(self, catalog: Catalog, next_runs: Mapping[str, datetime]) -> None:
        catalog.schedule_sources(next_runs)


class TargetExports:
    """Export targets whose `next_run_at` has come: the `export_service` job, partitioned by `exports`."""

    kind = "export"
    job = export_service
    asset = EXPORTS
    partitions = exports_partitions

    def keys(self, catalog: Catalog) -> Iterable[str]:
        return ExportTargets(catalog).ids()

    def due(self, catalog: Catalog, now: datetime, limit: int) -> Sequence[DueItem]:
        return [
            DueItem(
                key=target.id,
                due_at=target.next_run_at,
                every_seconds=target.every_seconds,
                cron=target.cron,
                tags=export_tags(target),
            )
            for target in ExportTargets(catalog).due(now, limit)
        ]

    def schedule(self, catalog: Catalog, next_runs: Mapping[str, datetime]) -> None:
        ExportTargets(catalog).schedule(next_runs)


# The due work of every tick, in priority order (the cap is shared): add a provider here to schedule another job.
DUE_WORK: tuple[DueWork, ...] = (SourceImports(), TargetExports())


@dataclass
class TickPlan:
    """What one tick asks of Dagster, and what it saw."""

    run_requests: list[RunRequest] = field(default_factory=list)
    partition_requests: list[AddDynamicPartitionsRequest | DeleteDynamicPartitionsRequest] = field(default_factory=list)
    partitions_added: int = 0
    partitions_removed: int = 0
    requested_keys: dict[str, list[str]] = field(default_factory=dict)  # partitions name -> keys of run requests
    busy: int = 0
    more_due: bool = False
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the tick's log: counts, and what was launched (the run keys name job kind and key)."""
        text = (
            f"{len(self.run_requests)} runs requested, {self.partitions_added} partitions added,"
            f" {self.partitions_removed} removed, {self.busy} due but busy"
        )
        if self.run_requests:
            keys = [request.run_key or "" for request in self.run_requests[:SUMMARY_RUN_KEYS]]
            more = len(self.run_requests) - len(keys)
            text += ": " + ", ".join(keys) + (f" and {more} more" if more else "")
        return text + ("; more is due: it goes on the next tick" if self.more_due else "")


def next_slot(item: DueItem, now: datetime) -> datetime:
    """The item's first slot strictly after `now`: missed slots are skipped, not replayed.

    An interval keeps its phase (due 12:00 every hour, launched 12:04: next 13:00, not 13:04).
    """
    if item.cron:
        return next_run_after(now, every_seconds=None, cron=item.cron)
    if not item.every_seconds:
        raise DataAgentError(f"{item.key} has neither an interval nor a cron expression")
    step = timedelta(seconds=item.every_seconds)
    missed = max(0, (now - item.due_at) // step)
    return item.due_at + (missed + 1) * step


def active_partitions(instance: DagsterInstance, job_name: str, asset: AssetKey) -> set[str]:
    """Partition keys of the asset that have a run queued or in progress: a run of the job, or one the UI launched
    from the asset's page (two runs queries)."""
    runs = runs_of(instance, job_name, asset, ACTIVE_RUN_STATUSES)
    return {key for key in (run.tags.get("dagster/partition") for run in runs) if key}


def plan_tick(
    catalog: Catalog,
    instance: DagsterInstance,
    *,
    now: datetime,
    max_runs: int,
    work: Sequence[DueWork] = DUE_WORK,
) -> TickPlan:
    """Compute one tick: partition changes, run requests (at most `max_runs`), next runs recorded in the catalog."""
    plan = TickPlan()
    remaining = max_runs
    for provider in work:
        wanted = set(provider.keys(catalog))
        existing = set(instance.get_dynamic_partitions(provider.partitions.name))
        added, removed = sorted(wanted - existing), sorted(existing - wanted)[:MAX_PARTITION_DELETIONS]
        if added:
            # Added here rather than requested: the daemon would check each requested key with its own query.
            instance.add_dynamic_partitions(provider.partitions.name, added)
        if removed:
            plan.partition_requests.append(provider.partitions.build_delete_request(removed))
        plan.partitions_added += len(added)
        plan.partitions_removed += len(removed)
        if remaining <= 0:
            plan.more_due = plan.more_due or bool(provider.due(catalog, now, 1))
            continue
        busy = active_partitions(instance, provider.job.name, provider.asset)
        # Busy items are left out after the query, so ask for enough to fill the cap anyway, plus one to know
        # whether anything is left for the next tick.
        due = provider.due(catalog, now, remaining + len(busy) + 1)
        free = [item for item in due if item.key not in busy]
        launch = free[:remaining]
        plan.busy += len(due) - len(free)
        plan.more_due = plan.more_due or len(free) > len(launch)
        next_runs: dict[str, datetime] = {}
        for item in launch:
            try:
                next_runs[item.key] = next_slot(item, now)
            except (DataAgentError, ValueError) as exc:
                next_runs[item.key] = now + _UNSCHEDULABLE_RETRY
                plan.notes.append(f"{provider.kind} {item.key}: cannot compute its next run ({exc}); retrying in a day")
            due_at = isoformat(item.due_at)
            plan.run_requests.append(
                RunRequest(
                    run_key=f"{provider.kind}:{item.key}@{due_at}",
                    job_name=provider.job.name,
                    partition_key=item.key,
                    tags={**item.tags, "data_agent/launched_by": "heartbeat", "data_agent/due_at": due_at or ""},
                )
            )
        provider.schedule(catalog, next_runs)
        plan.requested_keys.setdefault(provider.partitions.name, []).extend(item.key for item in launch)
        remaining -= len(launch)
    return plan


def build_heartbeat(
    *, clock: Clock = utc_now, max_runs: int | None = None, work: Sequence[DueWork] = DUE_WORK
) -> SensorDefinition:
    """The heartbeat sensor. `max_runs` defaults to `DATA_AGENT_HEARTBEAT_MAX_RUNS`; tests pin `clock`."""

    @sensor(
        name="heartbeat",
        minimum_interval_seconds=HEARTBEAT_INTERVAL_SECONDS,
        default_status=DefaultSensorStatus.RUNNING,
        jobs=list({provider.job.name: provider.job for provider in work}.values()),
        description="The scheduler: keeps partitions in step with the catalog and launches the runs that are due.",
    )
    def heartbeat(context: SensorEvaluationContext, catalog: CatalogResource) -> SensorResult:
        cap = max_runs if max_runs is not None else get_settings().heartbeat_max_runs
        plan = plan_tick(catalog.catalog, context.instance, now=clock(), max_runs=cap, work=work)
        _prime_partition_checks(context, plan)
        for note in plan.notes:
            context.log.warning(note)
        context.log.info(plan.summary())
        return SensorResult(run_requests=plan.run_requests, dynamic_partitions_requests=plan.partition_requests)

    return heartbeat


def _prime_partition_checks(context: SensorEvaluationContext, plan: TickPlan) -> None:
    """Answer the partition check of every run request with one batched query instead of one query each.

    After the sensor returns, Dagster validates each run request's partition through the context's caching
    loader, which otherwise asks the instance about one key at a time: 500 round trips at the cap.
    """
    loader = context.caching_dynamic_partitions_loader
    if loader is None:
        return
    for name, keys in plan.requested_keys.items():
        loader.get_existing_dynamic_partitions(name, keys)


heartbeat = build_heartbeat()
