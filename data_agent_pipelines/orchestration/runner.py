"""Run an import in this process against the Dagster instance, so it shows in the UI like any other run."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from dagster import DagsterInstance

from ..catalog.store import Catalog
from ..settings import Settings
from .partitions import SOURCES_PARTITIONS_NAME


@dataclass
class ImportRun:
    success: bool
    run_id: str
    result: dict[str, Any]


def ensure_dagster_home(settings: Settings) -> Path:
    """Create the instance folder with the packaged embedded-default `dagster.yaml` when it has none."""
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        with files("data_agent_pipelines.instance").joinpath("dagster.yaml").open("rb") as packaged:
            config.write_bytes(packaged.read())
    return home


def open_instance(settings: Settings) -> DagsterInstance:
    """The Dagster instance of `settings.dagster_home`."""
    return DagsterInstance.from_config(str(ensure_dagster_home(settings)))


def ensure_partition(instance: DagsterInstance, source_id: str) -> None:
    if not instance.has_dynamic_partition(SOURCES_PARTITIONS_NAME, source_id):
        instance.add_dynamic_partitions(SOURCES_PARTITIONS_NAME, [source_id])


def run_import(
    catalog: Catalog,
    instance: DagsterInstance,
    source_id: str,
    *,
    dry_run: bool = False,
    extra_allow_hosts: tuple[str, ...] = (),
) -> ImportRun:
    """Run `import_source` for one source now and return the ImportResult it recorded."""
    from ..definitions import defs

    source = catalog.get_source(source_id)  # NotFound before anything runs
    ensure_partition(instance, source_id)
    run_id = str(uuid.uuid4())
    run_config: dict[str, Any] = {
        "ops": {"fetch": {"config": {"dry_run": dry_run}}},
        # The engine's DEBUG events are for the UI; on a terminal the ops' own INFO lines say enough.
        "loggers": {"console": {"config": {"log_level": "INFO"}}},
    }
    if extra_allow_hosts:
        run_config["resources"] = {"http": {"config": {"extra_allow_hosts": list(extra_allow_hosts)}}}
    outcome = defs.resolve_job_def("import_source").execute_in_process(
        run_config=run_config,
        instance=instance,
        partition_key=source_id,
        run_id=run_id,
        raise_on_error=False,
        tags={
            "data_agent/service": source.service,
            "data_agent/source": source.id,
            "data_agent/kind": source.kind,
            "data_agent/launched_by": "cli",
        },
    )
    result = catalog.result_for_run(run_id)
    if result is None:
        # The run died before `write` could record anything: record that, so the failure is in the history.
        error = _run_error(outcome) or "the import run failed before it recorded a result"
        result = catalog.record_failed_run(source, run_id=run_id, error=error, dry_run=dry_run)
    return ImportRun(success=outcome.success, run_id=run_id, result=result)


def _run_error(outcome: Any) -> str | None:
    for event in outcome.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            error = event.step_failure_data.error
            return f"{event.step_key}: {error.message.strip()}"
    return None
