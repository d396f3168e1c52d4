"""The one place where Dagster objects are wired together."""

from __future__ import annotations

from dagster import Definitions, mem_io_manager

from .orchestration.imports import import_results_spec, import_source
from .orchestration.resources import CatalogResource, HttpResource

defs = Definitions(
    assets=[import_results_spec],
    jobs=[import_source],
    # Ops hand each other small state objects (the bulk sits in the run's scratch files) within one process.
    resources={"catalog": CatalogResource(), "http": HttpResource(), "io_manager": mem_io_manager},
)
