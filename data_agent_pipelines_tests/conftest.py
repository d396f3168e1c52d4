"""Shared fixtures. Every catalog test runs on SQLite and on PostgreSQL.

PostgreSQL comes from `DATA_AGENT_TEST_DATABASE_URL` (CI sets it to the local server); each test gets a schema
of its own, dropped afterwards. Without the variable the PostgreSQL variants skip and say why.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import text

from data_agent_pipelines.catalog.crypto import CredentialCipher
from data_agent_pipelines.catalog.engine import make_engine
from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.settings import Settings, get_settings, load_settings
from data_agent_pipelines.source_settings import SourceChanges, add_source

from .feedserver import FeedServer
from .webhookserver import WebhookReceiver

PG_URL = os.environ.get("DATA_AGENT_TEST_DATABASE_URL")
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
# CI sets this: there a missing corpus fails its tests instead of skipping them.
CORPUS_REQUIRED = os.environ.get("DATA_AGENT_TEST_CORPUS_REQUIRED") == "1"


def add_feed_source(
    catalog: Catalog, url: str, *, kind: str = "mrss", name: str = "feed", service: str = "acme", **settings: Any
) -> str:
    """The id of a new source of `service` (added first when it is not there) reading `url`."""
    if service not in {row["name"] for row in catalog.list_services()}:
        catalog.add_service(service)
    return add_source(catalog, service, SourceChanges(name=name, kind=kind, url=url, **settings)).id


def corpus(*parts: str) -> Path:
    """A path in the shared corpus of real feeds and API answers; without the corpus the test skips (fails in CI)."""
    if not CORPUS.is_dir():
        message = f"the shared corpus is not at {CORPUS}"
        if CORPUS_REQUIRED:
            pytest.fail(f"{message}, and DATA_AGENT_TEST_CORPUS_REQUIRED=1 says it must be")
        pytest.skip(message)
    return CORPUS.joinpath(*parts)


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime | None = None):
        self.now = start or datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


def require_postgres() -> str:
    """The test PostgreSQL URL; without one the calling test skips and says how to run it."""
    if not PG_URL:
        pytest.skip("PostgreSQL variant: set DATA_AGENT_TEST_DATABASE_URL (CI sets it to the local server)")
    return PG_URL


@contextmanager
def backend_url(backend: str, folder: Path) -> Iterator[str]:
    """A fresh, empty catalog database URL: a SQLite file, or a PostgreSQL schema of its own (dropped after)."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'catalog.db'}"
        return
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty catalog database URL on each backend."""
    with backend_url(request.param, tmp_path) as url:
        yield url


def configure_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> Settings:
    """Point the process environment (read by the CLI and by Dagster code) at a fresh home and catalog."""
    home = tmp_path / "home"
    monkeypatch.setenv("DATA_AGENT_HOME", str(home))
    monkeypatch.setenv("DATA_AGENT_DATABASE_URL", database_url)
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    monkeypatch.delenv("DATA_AGENT_SECRET_KEY", raising=False)
    monkeypatch.delenv("DATA_AGENT_ALLOW_HOSTS", raising=False)
    get_settings.cache_clear()
    return load_settings()


@pytest.fixture
def settings(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings for a fresh catalog, on each backend."""
    yield configure_environment(monkeypatch, tmp_path, database_url)
    get_settings.cache_clear()


@pytest.fixture
def sqlite_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings for a fresh SQLite catalog only, for tests about the embedded default itself."""
    yield configure_environment(monkeypatch, tmp_path, f"sqlite:///{tmp_path / 'catalog.db'}")
    get_settings.cache_clear()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def catalog(settings: Settings, clock: FakeClock) -> Iterator[Catalog]:
    # Fresh settings: a fixture set up before this one (feed_server) may have allowed loopback hosts.
    opened = Catalog.open(load_settings(), clock=clock)
    yield opened
    opened.close()


@pytest.fixture
def cipher(settings: Settings) -> CredentialCipher:
    return CredentialCipher.from_settings(settings)


@pytest.fixture
def feed_server(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[FeedServer]:
    """A feed host on loopback; loopback is allowed for fetching in this test only."""
    monkeypatch.setenv("DATA_AGENT_ALLOW_HOSTS", "127.0.0.1")
    get_settings.cache_clear()
    with FeedServer().running() as server:
        yield server
    get_settings.cache_clear()


@pytest.fixture
def receiver(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[WebhookReceiver]:
    """A webhook receiver on loopback, which a test's catalog may notify: set up before the catalog, which then
    allows its host (DATA_AGENT_ALLOW_HOSTS)."""
    monkeypatch.setenv("DATA_AGENT_ALLOW_HOSTS", "127.0.0.1")
    get_settings.cache_clear()
    with WebhookReceiver().running() as server:
        yield server
    get_settings.cache_clear()
