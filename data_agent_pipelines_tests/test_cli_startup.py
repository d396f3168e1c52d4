"""What a `data-agent` command loads before it does anything: commands that run no job never import Dagster or
pandas, and `--help` not even the database layer. The modules are read from `python -X importtime`, which lists
every module the real entry point imported (time is measured by benchmarks/import_bench.py, never here)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from data_agent_pipelines.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
JOB_LIBRARIES = {"dagster", "pandas"}


def imported_packages(*args: str, env: dict[str, str]) -> set[str]:
    """The top-level packages a `data-agent` process imported to run `args`."""
    return {name.split(".")[0] for name in imported_modules(*args, env=env)}


def imported_modules(*args: str, env: dict[str, str]) -> set[str]:
    """Every module a `data-agent` process imported to run `args`."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "data_agent_pipelines.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")]
    return set(lines[1:])  # the first line is the header


@pytest.fixture
def environment(settings: Settings) -> dict[str, str]:
    pythonpath = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": pythonpath}


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("sources", "add", "--help"),
        ("import", "--help"),
        ("services", "list"),
        ("sources", "list"),
        ("results", "list"),
        ("exports", "list"),
    ],
)
def test_a_command_that_runs_no_job_loads_neither_dagster_nor_pandas(
    args: tuple[str, ...], environment: dict[str, str]
) -> None:
    assert imported_packages(*args, env=environment) & JOB_LIBRARIES == set()


def test_a_catalog_command_on_the_sqlite_default_loads_no_postgresql_driver_nor_what_it_does_not_use(
    sqlite_settings: Settings,
) -> None:
    # The default catalog (no DATA_AGENT_DATABASE_URL): a SQLite file in DATA_AGENT_HOME.
    pythonpath = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {k: v for k, v in os.environ.items() if k != "DATA_AGENT_DATABASE_URL"} | {"PYTHONPATH": pythonpath}
    imported_modules("services", "add", "acme", env=env)
    add = ("sources", "add", "--service", "acme", "--name", "feed", "--kind", "mrss", "--url", "https://e.test/f")
    imported_modules(*add, env=env)
    # Not the PostgreSQL dialect nor its drivers; not `cryptography` while no credentials are read; not croniter
    # while no cron expression is; not the ORM (the catalog is SQLAlchemy Core); no network client; no job library.
    unused = {
        "sqlalchemy.dialects.postgresql",
        "psycopg2",
        "asyncpg",
        "cryptography",
        "croniter",
        "sqlalchemy.orm",
        "httpx",
    }
    unused |= JOB_LIBRARIES
    for args in [
        ("sources", "list"),
        ("services", "list"),
        ("results", "list"),
        ("exports", "list"),
        ("assets", "list", "--service", "acme"),
    ]:
        modules = imported_modules(*args, env=env)
        assert "sqlalchemy.dialects.sqlite" in modules, args  # the process did open the catalog
        assert {name for name in modules if name in unused or name.startswith(tuple(f"{u}." for u in unused))} == set()


def test_alembic_loads_only_to_upgrade_the_catalog(environment: dict[str, str]) -> None:
    assert "alembic" in imported_packages("services", "list", env=environment)  # a new catalog: created
    assert "alembic" not in imported_packages("sources", "list", env=environment)  # a current one: one query


def test_help_loads_neither_the_database_layer_nor_the_network_client(environment: dict[str, str]) -> None:
    heavy = {"sqlalchemy", "alembic", "httpx", "botocore", "cryptography", "tabulate", *JOB_LIBRARIES}
    assert imported_packages("--help", env=environment) & heavy == set()


def test_the_definitions_an_import_run_loads_leave_the_s3_client_libraries_to_exports(
    environment: dict[str, str],
) -> None:
    # `data-agent import` loads the launcher and the definitions (the export asset and its resource among them);
    # boto3 and dagster-aws are only imported when an export makes its S3 client.
    probe = "import data_agent_pipelines.launcher, data_agent_pipelines.definitions"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", probe],
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    names = {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.splitlines()[1:]}
    assert "dagster" in names  # the probe did load the definitions
    assert names & {"boto3", "dagster_aws", "s3transfer"} == set()
