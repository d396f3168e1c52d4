"""The health checks of the `import_results` asset: one result per source partition, marked WARN or ERROR.

Each import evaluates all four for its own partition, in the op that records its result (the op where a failed
import stops, or `write`); the `import_freshness` sensor evaluates `imported_recently` for every source at once,
so a source that stopped importing altogether (never launched, runs that die before recording anything) turns
red too. The verdicts themselves are plain Python (`health.py`).

No `from __future__ import annotations` here: Dagster reads the sensor's annotations at definition time.
"""

import warnings
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    AssetRecordsFilter,
    DagsterEvent,
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    MetadataValue,
)
from dagster._core.definitions.asset_checks.asset_check_evaluation import AssetCheckEvaluationTargetMaterializationData
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from .. import health
from ..model import ImportResult, Source
from .partitions import sources_partitions

IMPORT_RESULTS = AssetKey("import_results")
_CHUNK = 1000  # partitions per query when reading the latest materializations

_DESCRIPTIONS = {
    health.LAST_IMPORT_SUCCEEDED: "ERROR when the source's last import failed as a whole: nothing of it was applied "
    "(the origin could not be fetched or read, a guard held back, every item failed).",
    health.FAILED_ITEMS_UNDER_THRESHOLD: "WARN when more of the last import's items failed than the source allows "
    "(its max_failed_fraction, 0.1 unless set; `data-agent sources edit ID --max-failed-fraction F`).",
    health.REMOVALS_NOT_HELD_BACK: "WARN when the last import left assets that vanished from the origin alone "
    "because the removal guard held back (empty or cut-short fetch, more than max_removal_fraction to remove).",
    health.IMPORTED_RECENTLY: "ERROR when an enabled source has had no successful import for "
    "DATA_AGENT_FRESHNESS_INTERVALS (3) of its intervals; evaluated by each import and by the import_freshness "
    "sensor for every source.",
}

with warnings.catch_warnings():
    # Partitioned asset checks are a preview feature of Dagster 1.13; this module is where the project opts in.
    warnings.filterwarnings("ignore", message=r".*partitions_def on an AssetCheckSpec")
    CHECK_SPECS: tuple[AssetCheckSpec, ...] = tuple(
        AssetCheckSpec(name, asset=IMPORT_RESULTS, description=description, partitions_def=sources_partitions)
        for name, description in _DESCRIPTIONS.items()
    )


def check_key(name: str) -> AssetCheckKey:
    """The key of one of the checks of `import_results`."""
    return AssetCheckKey(IMPORT_RESULTS, name)


def evaluation(
    verdict: health.Verdict, partition: str, target: AssetCheckEvaluationTargetMaterializationData | None
) -> AssetCheckEvaluation:
    """The Dagster record of one verdict on one source's partition.

    `target` is the partition's latest materialization: the UI shows a partition's check status only while the
    verdict targets it (a verdict about an older one is taken as out of date, the partition as never checked).
    """
    return AssetCheckEvaluation(**_verdict_fields(verdict), partition=partition, target_materialization_data=target)


def check_result(verdict: health.Verdict) -> AssetCheckResult:
    """One verdict as the op that materialized the partition yields it (Dagster adds partition and target)."""
    return AssetCheckResult(**_verdict_fields(verdict))


def _verdict_fields(verdict: health.Verdict) -> dict[str, Any]:
    """What a verdict says, in the fields an evaluation and a check result share."""
    return {
        "asset_key": IMPORT_RESULTS,
        "check_name": verdict.check,
        "passed": verdict.passed,
        "severity": AssetCheckSeverity(verdict.severity.value),
        "description": verdict.description,
        "metadata": {key: _metadata_value(value) for key, value in verdict.metadata.items()},
    }


def latest_materializations(
    instance: DagsterInstance, partitions: Collection[str]
) -> dict[str, AssetCheckEvaluationTargetMaterializationData]:
    """The latest materialization of each of `partitions` that has one, as a check's target (two queries a chunk)."""
    wanted = sorted(partitions)
    targets: dict[str, AssetCheckEvaluationTargetMaterializationData] = {}
    for start in range(0, len(wanted), _CHUNK):
        latest = instance.event_log_storage.get_latest_storage_id_by_partition(
            IMPORT_RESULTS, DagsterEventType.ASSET_MATERIALIZATION, partitions=set(wanted[start : start + _CHUNK])
        )
        if not latest:
            continue
        records = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=IMPORT_RESULTS, storage_ids=sorted(latest.values())), limit=len(latest)
        ).records
        for record in records:
            if record.partition_key is not None:
                targets[record.partition_key] = AssetCheckEvaluationTargetMaterializationData(
                    storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp
                )
    return targets


def import_verdicts(result: ImportResult, source: Source, *, now: datetime, intervals: int) -> list[health.Verdict]:
    """What an import reports of its source's health: every check of the source's partition.

    `source` is as it was when the import started: a result that counts as a success (not failed, not a dry run)
    is the source's last success from now on.
    """
    if not result.failed and not result.dry_run:
        source = replace(source, last_success_at=result.finished_at or now)
    return health.import_verdicts(result, source, now=now, intervals=intervals)


def record_run_verdicts(
    instance: DagsterInstance, run: DagsterRun, partition: str, verdicts: Sequence[health.Verdict]
) -> None:
    """Record verdicts on `partition` as checks of `run`, after the run has ended (it died before reporting them).

    Written to the run's own event log, each takes the place of the check the run had planned (Dagster updates the
    planned record of that check, run and partition), so the UI shows the verdict instead of "Execution failed".
    Like a failed import's own, they point at the partition's latest materialization.
    """
    target = latest_materializations(instance, [partition]).get(partition)
    evaluations = [evaluation(verdict, partition, target) for verdict in verdicts]
    report_evaluations(instance, evaluations, run_id=run.run_id, job_name=run.job_name)


def report_evaluations(
    instance: DagsterInstance, evaluations: Sequence[AssetCheckEvaluation], *, run_id: str, job_name: str
) -> None:
    """Write check evaluations to the event log under `run_id`, one event each, as an op of that run would."""
    for verdict in evaluations:
        event = DagsterEvent(
            event_type_value=DagsterEventType.ASSET_CHECK_EVALUATION.value,
            job_name=job_name,
            event_specific_data=verdict,
            message=verdict.description,
        )
        instance.report_dagster_event(event, run_id=run_id)


@dataclass(frozen=True, slots=True)
class RecordedVerdict:
    """The last `imported_recently` event of a partition: a verdict, or a plan of a run that may still give one."""

    passed: bool | None  # None: planned by a run, no verdict yet
    planned_by: str | None  # the run that planned it


def recorded_freshness(instance: DagsterInstance) -> dict[str, RecordedVerdict]:
    """The last `imported_recently` event of every partition that has one, in one storage query."""
    rows = instance.event_log_storage.get_asset_check_partition_info([check_key(health.IMPORTED_RECENTLY)])
    recorded: dict[str, RecordedVerdict] = {}
    for row in rows:
        if row.partition_key is None:
            continue
        if row.latest_execution_status == AssetCheckExecutionRecordStatus.PLANNED:
            recorded[row.partition_key] = RecordedVerdict(None, row.latest_planned_run_id)
        else:
            passed = row.latest_execution_status == AssetCheckExecutionRecordStatus.SUCCEEDED
            recorded[row.partition_key] = RecordedVerdict(passed, None)
    return recorded


def _metadata_value(value: Any) -> Any:
    if isinstance(value, bool):
        return MetadataValue.bool(value)
    if isinstance(value, int):
        return MetadataValue.int(value)
    if isinstance(value, float):
        return MetadataValue.float(value)
    return MetadataValue.text(str(value))
