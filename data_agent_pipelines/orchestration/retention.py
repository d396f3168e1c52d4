"""The `prune_results` job and its hourly schedule: retention of import results (catalog/retention.py).

No `from __future__ import annotations` here: Dagster reads the op annotations at definition time.
"""

from datetime import timedelta

from dagster import (
    DefaultScheduleStatus,
    MetadataValue,
    OpExecutionContext,
    Output,
    ScheduleDefinition,
    in_process_executor,
    job,
    op,
)

from ..catalog.retention import prune_results as prune
from ..settings import get_settings
from .resources import CatalogResource

# Hourly, off the hour: a pass trims the results of the last hour (12 of a source imported every 5 minutes),
# short transactions each, so imports running meanwhile wait little.
PRUNE_CRON = "17 * * * *"


@op(description="Delete results older than the retention age and trim the unchanged items of the others.")
def prune_import_results(context: OpExecutionContext, catalog: CatalogResource) -> Output[None]:
    settings = get_settings()
    report = prune(
        catalog.catalog,
        max_age=timedelta(days=settings.results_max_age_days),
        unchanged_kept=settings.results_unchanged_items_kept,
    )
    context.log.info(
        f"deleted {report.results_deleted} results older than {settings.results_max_age_days} days"
        f" ({report.items_deleted} items); trimmed {report.items_pruned} unchanged items from"
        f" {report.results_trimmed} results in {report.seconds} s"
    )
    metadata = {name: MetadataValue.int(value) for name, value in report.to_json().items() if name != "seconds"}
    return Output(None, metadata={**metadata, "seconds": MetadataValue.float(report.seconds)})


@job(
    executor_def=in_process_executor,
    description="Retention of import results: old results go, unchanged items beyond a count go (latest stays whole).",
    tags={"data_agent/job": "retention"},
)
def prune_results() -> None:
    prune_import_results()


prune_results_schedule = ScheduleDefinition(
    name="prune_results_hourly",
    job=prune_results,
    cron_schedule=PRUNE_CRON,
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Runs `prune_results` every hour (DATA_AGENT_RESULTS_MAX_AGE_DAYS, _UNCHANGED_ITEMS_KEPT).",
)
