"""Scratch storage the benchmarks measure on, removed when they end.

A catalog database (a SQLite file, or a schema of its own on a PostgreSQL server) and a Dagster home whose
storage is SQLite files or a database of its own on that server.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import text
from sqlalchemy.engine import make_url

from data_agent_pipelines.catalog.engine import make_engine

DEFAULT_PG = os.environ.get("DATA_AGENT_TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test"


@contextmanager
def catalog_url(backend: str, server_url: str, folder: Path) -> Iterator[str]:
    """A fresh catalog database URL: `folder`/catalog.db on `sqlite`, a new schema on `server_url` (dropped after)."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'catalog.db'}"
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in server_url else "?"
    try:
        yield f"{server_url}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def dagster_home(backend: str, server_url: str, folder: Path) -> Iterator[Path]:
    """A DAGSTER_HOME whose storage is SQLite files or a scratch PostgreSQL database."""
    folder.mkdir(parents=True, exist_ok=True)
    if backend == "sqlite":
        (folder / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        yield folder
        return
    url = make_url(server_url)
    database = f"bench_dagster_{uuid.uuid4().hex[:10]}"
    admin = make_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    # psycopg2 named explicitly: SQLAlchemy 2.1 would take a bare postgresql:// for psycopg 3 (not installed).
    (folder / "dagster.yaml").write_text(
        "storage:\n  postgres:\n    postgres_db:\n"
        f"      username: {url.username}\n      password: '{url.password or ''}'\n      hostname: {url.host}\n"
        f"      port: {url.port or 5432}\n      db_name: {database}\n      scheme: postgresql+psycopg2\n"
        "telemetry:\n  enabled: false\n"
    )
    try:
        yield folder
    finally:
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :db"), {"db": database}
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}"'))
        admin.dispose()
