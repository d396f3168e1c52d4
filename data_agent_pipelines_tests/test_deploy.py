"""deploy/: the production instance configs validate against Dagster's schemas, and one runs on real PostgreSQL."""

from __future__ import annotations

import importlib
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from dagster import AssetKey, DagsterInstance, DagsterRunStatus, QueuedRunCoordinator
from dagster._config import process_config
from dagster._core.instance.config import dagster_instance_config
from dagster._core.workspace.config_schema import process_workspace_config
from sqlalchemy import text
from sqlalchemy.engine import make_url

from data_agent_pipelines.catalog.engine import make_engine
from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.orchestration.heartbeat import build_heartbeat
from data_agent_pipelines.settings import Settings
from data_agent_pipelines.source_settings import SourceChanges, add_source

from .clirunner import run_cli
from .conftest import PG_URL, require_postgres
from .feeds import item, rss
from .feedserver import FeedServer
from .orchestration.ticks import tick

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
CONFIGS = ["dagster.yaml", "k8s/dagster.yaml", "ecs/dagster.yaml"]
PG_ENV = {
    "DAGSTER_PG_HOST": "db.internal",
    "DAGSTER_PG_PORT": "5432",
    "DAGSTER_PG_USER": "dagster",
    "DAGSTER_PG_PASSWORD": "pw",
    "DAGSTER_PG_DB": "dagster",
    "DAGSTER_K8S_JOB_NAMESPACE": "data-agent",
    "DAGSTER_ECS_CLUSTER": "data-agent",
}


def class_config(entry: dict[str, Any]) -> Any:
    """Validate a `module`/`class`/`config` entry against the class's own config schema."""
    klass = getattr(importlib.import_module(entry["module"]), entry["class"])
    return process_config(klass.config_type(), entry.get("config") or {})


@pytest.fixture
def pg_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in PG_ENV.items():
        monkeypatch.setenv(name, value)


PER_PARTITION_LIMIT = [{"key": "dagster/partition", "value": {"applyLimitPerUniqueValue": True}, "limit": 1}]
# Every instance file of the project, and the run limit each sets.
INSTANCE_FILES = {
    "data_agent_pipelines/instance/dagster.yaml": 4,  # the embedded default, copied into $DAGSTER_HOME
    "deploy/dagster.yaml": 20,
    "deploy/k8s/dagster.yaml": 20,
    "deploy/ecs/dagster.yaml": 20,
}


def test_a_checkout_has_no_instance_file_of_its_own() -> None:
    """`dg dev` in the project folder with DAGSTER_HOME set (as the README says) warns that a dagster.yaml of the
    current folder is not used: the instance is $DAGSTER_HOME's, seeded from the packaged file."""
    assert not (ROOT / "dagster.yaml").exists() and not (ROOT / "dagster.yml").exists()


def instance_with_concurrency_of(path: Path, home: Path) -> DagsterInstance:
    """A Dagster instance with the run queue and limits of the instance file `path`, on SQLite under `home`.

    Storage, launcher and the launcher's monitoring settings are left out (a PostgreSQL server and a cluster are
    not needed to know where Dagster reads the limits from); everything else is the file as written.
    """
    config = yaml.safe_load(path.read_text())
    for launcher_bound in ("storage", "run_launcher", "run_monitoring"):
        config.pop(launcher_bound, None)
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    return DagsterInstance.from_config(str(home))


@pytest.mark.parametrize("name", CONFIGS)
def test_each_instance_config_validates_against_dagsters_schemas(name: str, pg_env: None) -> None:
    path = DEPLOY / name
    config, _ = dagster_instance_config(str(path.parent), path.name)  # the instance schema as a whole
    from dagster_postgres import DagsterPostgresStorage

    storage = process_config(DagsterPostgresStorage.config_type(), config["storage"]["postgres"])
    assert storage.success, storage.errors
    assert storage.value["postgres_db"]["hostname"] == "db.internal" and storage.value["postgres_db"]["port"] == 5432
    checked = class_config(config["run_launcher"])  # dagster-k8s is a dev dependency for this check
    assert checked.success, checked.errors
    assert config["run_monitoring"]["enabled"] and config["run_retries"]["enabled"]
    assert config["run_retries"]["retry_on_asset_or_op_failure"] is False
    assert config["sensors"]["use_threads"] and config["retention"]["sensor"]["purge_after_days"]["skipped"] == 7
    # No credential is written into the config itself: they come from the environment or secrets.
    assert "pw" not in path.read_text()


@pytest.mark.parametrize("name", list(INSTANCE_FILES))
def test_each_instance_file_sets_run_concurrency_where_dagster_reads_it(
    name: str, pg_env: None, tmp_path: Path
) -> None:
    path = ROOT / name
    config, _ = dagster_instance_config(str(path.parent), path.name)  # schema and Dagster's concurrency checks
    # The current documented form: limits under `concurrency: runs:`, the queue Dagster's default coordinator.
    assert "run_coordinator" not in config
    assert config["concurrency"]["runs"]["tag_concurrency_limits"] == PER_PARTITION_LIMIT

    instance = instance_with_concurrency_of(path, tmp_path / "home")
    try:
        # What the daemon's run queue reads for every dequeue.
        queue = instance.get_concurrency_config().run_queue_config
        assert queue is not None
        assert queue.max_concurrent_runs == INSTANCE_FILES[name]
        assert [dict(limit) for limit in queue.tag_concurrency_limits] == PER_PARTITION_LIMIT
        # The API's `submit_partition_run` needs the queue: it refuses an instance without one.
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        if name.startswith("deploy/"):
            assert instance.run_coordinator.dequeue_use_threads and instance.run_coordinator.dequeue_num_workers == 4
    finally:
        instance.dispose()


def test_the_variants_differ_from_the_base_only_in_the_launcher_and_monitoring(pg_env: None) -> None:
    def load(name: str) -> dict[str, Any]:
        return yaml.safe_load((DEPLOY / name).read_text())

    base = load("dagster.yaml")
    for name, launcher in (("k8s/dagster.yaml", "K8sRunLauncher"), ("ecs/dagster.yaml", "EcsRunLauncher")):
        variant = load(name)
        assert variant["run_launcher"]["class"] == launcher
        for key in (
            "storage",
            "concurrency",
            "run_queue",
            "run_retries",
            "sensors",
            "schedules",
            "retention",
            "telemetry",
        ):
            assert variant[key] == base[key], f"{name}: {key}"


def test_the_embedded_default_keeps_monitoring_and_retries() -> None:
    folder = ROOT / "data_agent_pipelines" / "instance"
    config, _ = dagster_instance_config(str(folder))
    assert config["run_monitoring"]["enabled"] and config["run_retries"]["enabled"]


def test_the_workspace_points_at_the_code_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_AGENT_CODE_SERVER_HOST", "code")
    checked = process_workspace_config(yaml.safe_load((DEPLOY / "workspace.yaml").read_text()))
    assert checked.success, checked.errors
    (entry,) = checked.value["load_from"]
    assert entry["grpc_server"]["location_name"] == "data_agent" and entry["grpc_server"]["port"] == 4000


def test_the_dockerfile_installs_the_package_and_serves_the_definitions() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    for source in re.findall(r"^COPY (.+) \S+$", dockerfile, flags=re.MULTILINE):
        for part in source.split():
            assert (ROOT / part).exists(), part
    assert "pip install ." in dockerfile
    assert '"-m", "data_agent_pipelines.definitions"' in dockerfile
    assert (DEPLOY / "dagster.yaml").exists() and "USER dagster" in dockerfile


@pytest.fixture
def dagster_database() -> Iterator[str]:
    """A scratch PostgreSQL database for Dagster's storage, dropped afterwards."""
    require_postgres()
    name = f"dagster_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield name
    finally:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_an_import_and_a_heartbeat_tick_on_a_postgres_backed_instance(
    dagster_database: str,
    feed_server: FeedServer,
    catalog: Catalog,
    settings: Settings,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = make_url(PG_URL)
    monkeypatch.setenv("DAGSTER_PG_HOST", server.host or "127.0.0.1")
    monkeypatch.setenv("DAGSTER_PG_PORT", str(server.port or 5432))
    monkeypatch.setenv("DAGSTER_PG_USER", server.username or "postgres")
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", server.password or "")
    monkeypatch.setenv("DAGSTER_PG_DB", dagster_database)
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copy(DEPLOY / "dagster.yaml", settings.dagster_home / "dagster.yaml")

    catalog.add_service("acme")
    first = add_source(
        catalog, "acme", SourceChanges(name="one", kind="mrss", url=feed_server.serve("/1", rss(item("a"))))
    )
    second = add_source(
        catalog, "acme", SourceChanges(name="two", kind="mrss", url=feed_server.serve("/2", rss(item("b"))))
    )

    done = run_cli(capsys, "import", first.id, "--json")  # the CLI on the production instance config
    assert done.code == 0, done.err
    instance = DagsterInstance.from_config(str(settings.dagster_home))
    try:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        run = instance.get_run_by_id(done.json()["run_id"])
        assert run.status == DagsterRunStatus.SUCCESS
        event = instance.get_latest_materialization_event(AssetKey("import_results"))
        assert event.asset_materialization.partition == first.id

        # The CLI's import served the first source's due slot and moved its next run on (issue 18: a manual import
        # moves the schedule as a manual export does); the heartbeat asks for the second only.
        ticked = tick(build_heartbeat(), instance, database_url)
        assert ticked.keys == [second.id]
        assert sorted(instance.get_dynamic_partitions("sources")) == sorted([first.id, second.id])
    finally:
        instance.dispose()
