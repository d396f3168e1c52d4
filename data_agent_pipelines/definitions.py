"""The one place where Dagster objects are wired together."""

from __future__ import annotations

import warnings

from dagster import Definitions, in_process_executor, mem_io_manager

from .orchestration.console import one_line_console
from .orchestration.conventions import with_code_references
from .orchestration.exports import ExportStorage, export_service, exports
from .orchestration.failures import import_failures
from .orchestration.freshness import import_freshness
from .orchestration.heartbeat import heartbeat
from .orchestration.imports import import_results, import_source
from .orchestration.notifications import webhook_deliveries
from .orchestration.resources import CatalogResource, HttpResource
from .orchestration.retention import prune_results, prune_results_schedule
from .orchestration.run_queue import require_code_location_name
from .settings import get_settings

require_code_location_name()

# Dagster 1.13.27 re-creates a sensor whose job takes the top-level resources (the heartbeat, for export_service)
# passing the sensor's empty `owners` on, then warns that `owners` is in beta although no sensor here sets it: one
# BetaWarning per process that loads these definitions, a dozen under `dg dev`. Only that warning is silenced; the
# sensors set no owners while the parameter is in beta (the assets, where `owners` is stable, name theirs).
warnings.filterwarnings("ignore", message=r"Parameter `owners` of initializer `SensorDefinition.__init__`")

defs = Definitions(
    assets=with_code_references([import_results, exports], get_settings().code_git_url, get_settings().code_git_ref),
    jobs=[import_source, export_service, prune_results],
    sensors=[heartbeat, import_failures, webhook_deliveries, import_freshness],
    schedules=[prune_results_schedule],
    # Ops hand each other small state objects (the bulk sits in the run's scratch files) within one process.
    resources={
        "catalog": CatalogResource(),
        "http": HttpResource(),
        "io_manager": mem_io_manager,
        # The platform's own S3: the standard AWS settings of the environment (AWS_* variables, profile, role).
        "export_storage": ExportStorage(),
    },
    # The executor of the jobs that set none: the hidden asset job that the UI's "Materialize" (asset page, asset
    # graph, partitions view) and asset backfills launch. Its ops hand each other state in memory, as in the jobs
    # that name the in-process executor themselves; Dagster's default (one process per op) refuses to launch them.
    executor=in_process_executor,
    # Used when a run is configured for it, as the CLI's are (see launcher.py): Dagster's console, one line each.
    loggers={"console": one_line_console},
)
