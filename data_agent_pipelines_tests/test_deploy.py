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
from dagster import AssetKey, DagsterInstance, DagsterRunStatus
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


@pytest.mark.parametrize("name", CONFIGS)
def test_each_instance_config_validates_against_dagsters_schemas(name: str, pg_env: None) -> None:
    path = DEPLOY / name
    config, _ = dagster_instance_config(str(path.parent), path.name)  # the instance schema as a whole
    from dagster_postgres import DagsterPostgresStorage

    storage = process_config(DagsterPostgresStorage.config_type(), config["storage"]["postgres"])
    assert storage.success, storage.errors
    assert storage.value["postgres_db"]["hostname"] == "db.internal" and storage.value["postgres_db"]["port"] == 5432
    coordinator = class_config(config["run_coordinator"])
    assert coordinator.success, coordinator.errors
    assert coordinator.value["tag_concurrency_limits"] == [
        {"key": "dagster/partition", "value": {"applyLimitPerUniqueValue": True}, "limit": 1}
    ]
    checked = class_config(config["run_launcher"])  # dagster-k8s is a dev dependency for this check
    assert checked.success, checked.errors
    assert config["run_monitoring"]["enabled"] and config["run_retries"]["enabled"]
    assert config["run_retries"]["retry_on_asset_or_op_failure"] is False
    assert config["sensors"]["use_threads"] and config["retention"]["sensor"]["purge_after_days"]["skipped"] == 7
    # No credential is written into the config itself: they come from the environment or secrets.
    assert "pw" not in path.read_text()


def test_the_variants_differ_from_the_base_only_in_the_launcher_and_monitoring(pg_env: None) -> None:
    def load(name: str) -> dict[str, Any]:
        return yaml.safe_load((DEPLOY / name).read_text())

    base = load("dagster.yaml")
    for name, launcher in (("k8s/dagster.yaml", "K8sRunLauncher"), ("ecs/dagster.yaml", "EcsRunLauncher")):
        variant = load(name)
        assert variant["run_launcher"]["class"] == launcher
        for key in ("storage", "run_coordinator", "run_retries", "sensors", "schedules", "retention", "telemetry"):
            assert variant[key] == base[key], f"{name}: {key}"


def test_the_embedded_default_keeps_the_queue_and_the_per_source_limit() -> None:
    folder = ROOT / "data_agent_pipelines" / "instance"
    config, _ = dagster_instance_config(str(folder))
    coordinator = class_config(config["run_coordinator"])
    assert coordinator.success and coordinator.value["tag_concurrency_limits"][0]["key"] == "dagster/partition"
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
