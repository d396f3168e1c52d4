"""End to end: `dagster-webserver` and `dagster-daemon` as real processes on a temporary DAGSTER_HOME.

Nobody launches anything: the heartbeat (running by default) finds the due source, the queued run coordinator
starts the run, and the run and its `import_results` materialization are read back through the GraphQL API.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.settings import get_settings
from data_agent_pipelines.source_settings import SourceChanges, add_source

from ..bugsnagserver import free_port
from ..feeds import item, rss
from ..feedserver import FeedServer

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
T = TypeVar("T")

RUNS = """
query Runs($partition: String!) {
  runsOrError(filter: {tags: [{key: "dagster/partition", value: $partition}]}) {
    ... on Runs { results { runId status jobName tags { key value } } }
  }
}"""
MATERIALIZATIONS = """
query Materializations($partition: String!) {
  assetOrError(assetKey: {path: ["import_results"]}) {
    ... on Asset {
      assetMaterializations(partitions: [$partition]) {
        runId partition
        metadataEntries {
          label
          ... on IntMetadataEntry { intValue }
          ... on TextMetadataEntry { text }
        }
      }
    }
  }
}"""


def wait_until(what: str, probe: Callable[[], T | None], timeout: float, interval: float = 0.5) -> T:
    """Poll `probe` until it returns a value, at most `timeout` seconds (another process changes the state)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def stop(process: subprocess.Popen[bytes]) -> None:
    """End the process and the children it started (code servers, run workers): its own process group."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture
def dagster(feed_server: FeedServer, tmp_path: Path) -> Iterator[dict[str, Any]]:
    home = get_settings().dagster_home
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "data_agent_pipelines" / "instance" / "dagster.yaml", home / "dagster.yaml")
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(
        "load_from:\n  - python_module:\n      module_name: data_agent_pipelines.definitions\n"
        f"      working_directory: {ROOT}\n      location_name: data_agent\n"
    )
    env = {**os.environ, "DAGSTER_HOME": str(home), "DAGSTER_DISABLE_TELEMETRY": "yes"}
    # The instance's storage is made once before the services start, as a deployment does (`dagster instance
    # migrate`): two processes creating a fresh SQLite storage at once can both stamp its Alembic version, and
    # Dagster then refuses it ("more than one head").
    subprocess.run([str(BIN / "dagster"), "instance", "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)
    port = free_port()
    logs = tmp_path / "logs"
    logs.mkdir()
    processes = []
    try:
        for name, command in (
            ("daemon", [str(BIN / "dagster-daemon"), "run", "-w", str(workspace)]),
            ("webserver", [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-w", str(workspace)]),
        ):
            with (logs / f"{name}.log").open("wb") as log:
                processes.append(
                    subprocess.Popen(
                        command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                    )
                )
        yield {"url": f"http://127.0.0.1:{port}", "logs": logs, "processes": processes}
    finally:
        for process in processes:
            stop(process)


def graphql(url: str, query: str, **variables: Any) -> dict[str, Any]:
    response = httpx.post(f"{url}/graphql", json={"query": query, "variables": variables}, timeout=30)
    response.raise_for_status()
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


# One catalog backend is enough here: the daemon and the webserver are what is under test.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_heartbeat_imports_a_due_source_on_its_own(dagster: dict[str, Any], feed_server: FeedServer) -> None:
    settings = get_settings()  # with the feed host allowed, as the daemon's environment has it
    catalog = Catalog.open(settings)
    try:
        catalog.add_service("acme")
        url = feed_server.serve("/feed.xml", rss(item("a", "Alpha"), item("b", "Bravo")))
        source = add_source(catalog, "acme", SourceChanges(name="feed", kind="mrss", url=url, every="1h"))
    finally:
        catalog.close()

    base = dagster["url"]

    def webserver_up() -> bool | None:
        for process in dagster["processes"]:
            if process.poll() is not None:
                logs = "\n".join(p.read_text()[-3000:] for p in dagster["logs"].iterdir())
                raise AssertionError(f"a Dagster process exited early:\n{logs}")
        try:
            return True if httpx.get(f"{base}/server_info", timeout=5).status_code == 200 else None
        except httpx.HTTPError:
            return None

    wait_until("the webserver", webserver_up, timeout=120)

    def finished_run() -> dict[str, Any] | None:
        runs = graphql(base, RUNS, partition=source.id)["runsOrError"]["results"]
        done = [run for run in runs if run["status"] in ("SUCCESS", "FAILURE", "CANCELED")]
        return done[0] if done else None

    try:
        run = wait_until("the heartbeat's run to finish", finished_run, timeout=240)
    except AssertionError:
        logs = "\n".join(p.read_text()[-4000:] for p in dagster["logs"].iterdir())
        raise AssertionError(f"no finished run; process logs:\n{logs}") from None
    assert run["status"] == "SUCCESS" and run["jobName"] == "import_source"
    tags = {tag["key"]: tag["value"] for tag in run["tags"]}
    assert tags["data_agent/launched_by"] == "heartbeat" and tags["data_agent/source"] == source.id
    assert tags["data_agent/service"] == "acme" and tags["data_agent/kind"] == "mrss"
    assert tags["dagster/sensor_name"] == "heartbeat"
    assert tags["dagster/run_key"].startswith(f"import:{source.id}@")
    assert tags["dagster/max_runtime"] == "10800"

    (materialization,) = graphql(base, MATERIALIZATIONS, partition=source.id)["assetOrError"]["assetMaterializations"]
    assert materialization["runId"] == run["runId"] and materialization["partition"] == source.id
    metadata = {e["label"]: e.get("intValue", e.get("text")) for e in materialization["metadataEntries"]}
    assert metadata["created"] == 2 and metadata["failed"] == 0 and metadata["status"] == "succeeded"

    catalog = Catalog.open(settings)
    try:
        imported = catalog.get_source(source.id)
        assert imported.last_status == "succeeded" and imported.next_run_at > imported.last_run_at
        (result,) = catalog.list_results(source_id=source.id)
        assert result.run_id == run["runId"] and result.counts["created"] == 2
    finally:
        catalog.close()
