"""`data-agent demo` on a fresh home: it imports the sample feed, and every command it prints works."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import yaml
from dagster import DagsterInstance

from data_agent_pipelines.settings import Settings

from .clirunner import run_cli


def test_the_demo_imports_and_every_command_it_prints_works(
    sqlite_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    done = run_cli(capsys, "demo")
    assert done.code == 0, done.err
    assert "SUCCEEDED" in done.out and "12 created" in done.out
    lines = done.out.splitlines()

    commands = [shlex.split(line) for line in lines if line.strip().startswith("data-agent ")]
    assert len(commands) == 2
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
        (run,) = instance.get_runs()
        assert run.remote_job_origin is not None and run.remote_job_origin.location_name == "data_agent"
    finally:
        instance.dispose()
