"""The one place where Dagster objects are wired together."""

from __future__ import annotations

from dagster import Definitions, mem_io_manager

from .orchestration.exports import ExportStorage, export_service, exports_spec
from .orchestration.failures import import_failures
from .orchestration.heartbeat import heartbeat
from .orchestration.imports import import_results_spec, import_source
from .orchestration.resources import CatalogResource, HttpResource

defs = Definitions(
    assets=[import_results_spec, exports_spec],
    jobs=[import_source, export_service],
    sensors=[heartbeat, import_failures],
    # Ops hand each other small state objects (the bulk sits in the run's scratch files) within one process.
    resources={
        "catalog": CatalogResource(),
        "http": HttpResource(),
        "io_manager": mem_io_manager,
        # The platform's own S3: the standard AWS settings of the environment (AWS_* variables, profile, role).
        "export_storage": ExportStorage(),
    },
)
