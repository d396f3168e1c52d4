"""The Dagster instance and what runs share with the code that launches them: tags, partitions, errors."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

from dagster import DagsterInstance

from ..settings import Settings
from .console import without_class
from .partitions import SOURCES_PARTITIONS_NAME


def ensure_dagster_home(settings: Settings) -> Path:
    """Create the instance folder with the packaged embedded-default `dagster.yaml` and `workspace.yaml` (the code
    location `data_agent`, for `dg dev -w`) where it has none."""
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    for name in ("dagster.yaml", WORKSPACE_FILE):
        target = home / name
        if not target.exists():
            with files("data_agent_pipelines.instance").joinpath(name).open("rb") as packaged:
                target.write_bytes(packaged.read())
    return home


def ui_command(settings: Settings) -> str:
    """The command that opens the Dagster UI on this instance, with the code location named as runs name it."""
    return (
        f"DATA_AGENT_HOME={settings.home} DAGSTER_HOME={settings.dagster_home} \\\n"
        f"    dg dev -w {settings.dagster_home / WORKSPACE_FILE}"
    )


def open_instance(settings: Settings) -> DagsterInstance:
    """The Dagster instance of `settings.dagster_home`."""
    return DagsterInstance.from_config(str(ensure_dagster_home(settings)))


WORKSPACE_FILE = "workspace.yaml"
# Runs executed in a CLI process carry where they run, so a later run can tell that the process died.
HOST_TAG = "data_agent/host"
PID_TAG = "data_agent/pid"


def ensure_partition(
    instance: DagsterInstance, partition_key: str, partitions_name: str = SOURCES_PARTITIONS_NAME
) -> None:
    """Add the partition (by default a source's) to the instance if it is not there yet."""
    if not instance.has_dynamic_partition(partitions_name, partition_key):
        instance.add_dynamic_partitions(partitions_name, [partition_key])


def run_error(outcome: Any) -> str | None:
    """The first step failure of an in-process run, as `step: message` (of the innermost error: the root cause)."""
    for event in outcome.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            error = event.step_failure_data.error
            while error.cause is not None:
                error = error.cause
            return f"{event.step_key.rsplit('.', 1)[-1]}: {without_class(error.message)}"
    return None
