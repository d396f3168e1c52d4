"""`dg` works on the project as a checkout has it, and the definitions load only as the code location `data_agent`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(tmp_path: Path, *command: str) -> subprocess.CompletedProcess[str]:
    """Run a command of the venv in the project folder, on a scratch Dagster home."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DAGSTER_HOME": str(tmp_path),
        "DATA_AGENT_HOME": str(tmp_path / "agent"),
    }
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_dg_check_defs_loads_the_project_without_warnings(tmp_path: Path) -> None:
    done = run(tmp_path, "dg", "check", "defs")
    assert done.returncode == 0, done.stderr
    assert "All definitions loaded successfully" in done.stdout
    output = done.stdout + done.stderr
    assert "Warning" not in output and "superseded" not in output, output


def test_dg_list_defs_lists_the_assets_jobs_and_sensors(tmp_path: Path) -> None:
    done = run(tmp_path, "dg", "list", "defs", "--json")
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    assets = {asset["asset_key"]: asset for asset in listed["assets"]}
    assert set(assets) == {"import_results", "exports"}
    for asset in assets.values():
        assert asset["owners"] == [{"team": "data-agent"}] and asset["description"]
        assert asset["is_executable"], asset  # a failed run of an asset's job marks its partition failed
    assert {job["name"] for job in listed["jobs"]} == {"import_source", "export_service", "prune_results"}
    assert {sensor["name"] for sensor in listed["sensors"]} == {
        "heartbeat",
        "import_failures",
        "webhook_deliveries",
        "import_freshness",
    }


def test_a_location_named_after_the_module_is_refused_with_the_commands_that_work(tmp_path: Path) -> None:
    # `-m` names the location after the module: the API's queued runs, which name `data_agent`, would never start.
    done = run(tmp_path, "dagster", "definitions", "validate", "-m", "data_agent_pipelines.definitions")
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "loaded as 'data_agent_pipelines.definitions'" in output and "dg dev -w" in output
