"""`data-agent demo` on a fresh home: it imports the sample feed, and every command it prints works."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import yaml
from dagster import DagsterInstance, DagsterRunStatus

from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.settings import Settings

from .clirunner import run_cli
from .orchestration.ui import launch_partition, ui_workspace, use_immediate_runs


def test_the_demo_imports_and_every_command_it_prints_works(
    sqlite_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    done = run_cli(capsys, "demo")
    assert done.code == 0, done.err
    assert "SUCCEEDED" in done.out and "12 created" in done.out
    lines = done.out.splitlines()

    commands = [shlex.split(line) for line in lines if line.strip().startswith("data-agent ")]
    assert len(commands) == 2
    # The last line's command, which imports the demo source again (its feed stays in the local feed folder).
    commands.append(shlex.split(lines[-1].split("`")[1]))
    assert commands[-1][:2] == ["data-agent", "import"]
    for command in commands:
        assert run_cli(capsys, *command[1:]).code == 0

    # The UI command: a workspace file that names the code location as the demo's run (and the API's) name it.
    start = next(i for i, line in enumerate(lines) if "DAGSTER_HOME=" in line)
    ui = shlex.split(" ".join(lines[start : start + 2]).replace("\\", ""))
    assert (
        ui[0] == f"DATA_AGENT_HOME={sqlite_settings.home}" and ui[1] == f"DAGSTER_HOME={sqlite_settings.dagster_home}"
    )
    assert ui[2:4] == ["dg", "dev"] and ui[4] == "-w"
    workspace = yaml.safe_load(Path(ui[5]).read_text())
    (entry,) = workspace["load_from"]
    assert entry["python_module"] == {"module_name": "data_agent_pipelines.definitions", "location_name": "data_agent"}

    instance = DagsterInstance.from_config(str(sqlite_settings.dagster_home))
    try:
        runs = instance.get_runs()  # the demo's and the printed `data-agent import`'s
        assert len(runs) == 2
        for run in runs:
            assert run.remote_job_origin is not None and run.remote_job_origin.location_name == "data_agent"
    finally:
        instance.dispose()


def test_the_demo_source_is_imported_again_from_the_ui_after_the_demo(
    sqlite_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    use_immediate_runs(sqlite_settings.dagster_home)
    done = run_cli(capsys, "demo", "--json")
    assert done.code == 0, done.err
    source_id = done.json()["source_id"]
    catalog = Catalog.open(sqlite_settings)
    try:
        source = catalog.get_source(source_id)
        assert source.enabled and source.url == (sqlite_settings.home / "feeds" / "demo_feed.xml").as_uri()

        # Long after the demo ended: the UI's launchpad materializes the demo partition, and it imports.
        instance = DagsterInstance.from_config(str(sqlite_settings.dagster_home))
        try:
            with ui_workspace(instance) as workspace:
                run_id = launch_partition(workspace, "import_source", source_id)
            run = instance.get_run_by_id(run_id)
            assert run is not None and run.status == DagsterRunStatus.SUCCESS
        finally:
            instance.dispose()
        result = catalog.result_for_run(run_id, items=False)
        assert result is not None and result.status == "unchanged"
        assert catalog.list_results(source_id=source_id)[0].run_id == run_id
    finally:
        catalog.close()

    # The demo again: the same source, its file rewritten, imported again.
    again = run_cli(capsys, "demo", "--json")
    assert again.code == 0 and again.json()["source_id"] == source_id
