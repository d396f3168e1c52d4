"""The catalog under faults: a run killed part-way, a second writer, a dropped PostgreSQL connection.

Real parts only: `data-agent import` runs in a subprocess that the test kills with SIGKILL, or whose PostgreSQL
connections it terminates (`pg_terminate_backend`), at the moment the catalog shows the run is writing (polled,
with a bounded timeout). The result is compared with a clean import of the same feed into a fresh catalog.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterRunStatus
from sqlalchemy import event, text

from data_agent_pipelines.catalog import locks
from data_agent_pipelines.catalog.engine import make_engine
from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.launcher import run_import
from data_agent_pipelines.orchestration.instance import open_instance
from data_agent_pipelines.settings import Settings

from ..conftest import PG_URL, add_feed_source, require_postgres
from ..feeds import item, rss
from .environment import assets_by_external_id, environment
from .servers import HostileServer, document, large_feed, streamed

ITEMS = 4000  # two write batches of 2,000: enough to catch the run between its first and last commit
POLL_TIMEOUT = 60.0  # seconds; generous for a loaded CI machine, never reached when things work


def _add_source(catalog: Catalog, url: str, **changes: Any) -> str:
    return add_feed_source(catalog, url, name="big", **changes)


def _import(settings: Settings, catalog: Catalog, source_id: str) -> dict[str, Any]:
    instance = open_instance(settings)
    try:
        return catalog.get_result(run_import(catalog, instance, source_id).result.id).to_json()
    finally:
        instance.dispose()


def _wait_for(condition: Callable[[], bool], what: str, *, stop: Callable[[], bool] = lambda: False) -> None:
    """Poll `condition` until it holds; fail after POLL_TIMEOUT seconds or as soon as `stop()` says it never will."""
    deadline = time.monotonic() + POLL_TIMEOUT
    pause = threading.Event()
    while not condition():
        if stop():
            pytest.fail(f"gave up waiting for {what}: the import ended first")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        pause.wait(0.005)  # polling interval


@contextmanager
def _serving_big_feed() -> Iterator[HostileServer]:
    with HostileServer().running() as server:
        server.route("/big.xml", streamed(large_feed(ITEMS)))
        yield server


def _clean_import(backend: str, folder: Path) -> dict[str, dict[str, Any]]:
    """What a clean import of the big feed gives, in a fresh catalog of its own."""
    with (
        environment(backend, folder, DATA_AGENT_ALLOW_HOSTS="127.0.0.1") as (settings, _patch),
        _serving_big_feed() as server,
    ):
        catalog = Catalog.open(settings)
        try:
            result = _import(settings, catalog, _add_source(catalog, server.url("/big.xml")))
            assert result["status"] == "succeeded" and result["counts"]["created"] == ITEMS
            return assets_by_external_id(catalog, "acme")
        finally:
            catalog.close()


def _start_cli_import(source_id: str, environ: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "data_agent_pipelines.cli", "import", source_id, "--json"],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_run_killed_while_writing_then_run_again_gives_the_catalog_of_a_clean_run(
    backend: str, tmp_path: Path
) -> None:
    clean = _clean_import(backend, tmp_path / "clean")
    with (
        environment(backend, tmp_path / "crash", DATA_AGENT_ALLOW_HOSTS="127.0.0.1") as (settings, _patch),
        _serving_big_feed() as server,
    ):
        catalog = Catalog.open(settings)
        try:
            source_id = _add_source(catalog, server.url("/big.xml"))
            process = _start_cli_import(source_id, dict(os.environ))
            try:
                _wait_for(
                    lambda: catalog.count_assets(source_id) > 0,
                    "the import to commit its first batch",
                    stop=lambda: process.poll() is not None,
                )
                process.send_signal(signal.SIGKILL)
            finally:
                process.kill()
                process.communicate(timeout=60)
            assert process.returncode == -signal.SIGKILL
            written = catalog.count_assets(source_id)
            assert 0 < written < ITEMS, f"the kill did not land part-way through the write ({written} written)"
            assert catalog.list_results(source_id=source_id) == []  # the dead run recorded nothing

            # The dead run still holds the source's lock, and Dagster still has it as STARTED ...
            lock = locks.held(catalog, source_id)
            assert lock is not None
            instance = open_instance(settings)
            try:
                assert not instance.get_run_by_id(lock.holder).is_finished
            finally:
                instance.dispose()

            # ... yet the process that ran it is gone: the next run marks it failed, takes its lock over and converges.
            again = _import(settings, catalog, source_id)
            assert again["status"] == "succeeded", again["error"]
            assert again["counts"]["created"] == ITEMS - written
            assert again["counts"]["unchanged"] == written
            assert assets_by_external_id(catalog, "acme") == clean
            assert catalog.count_assets(source_id) == ITEMS
            instance = open_instance(settings)
            try:
                assert instance.get_run_by_id(lock.holder).status == DagsterRunStatus.FAILURE
            finally:
                instance.dispose()
        finally:
            catalog.close()


WRITING = text(
    "SELECT pid FROM pg_stat_activity WHERE application_name = :name"
    " AND state IN ('active', 'idle in transaction') AND query ILIKE 'INSERT INTO assets%'"
)


def test_a_dropped_postgresql_connection_fails_the_run_cleanly_and_the_next_run_converges(tmp_path: Path) -> None:
    require_postgres()
    clean = _clean_import("postgresql", tmp_path / "clean")
    application = f"victim-{os.getpid()}-{time.monotonic_ns()}"
    with (
        environment("postgresql", tmp_path / "drop", DATA_AGENT_ALLOW_HOSTS="127.0.0.1") as (settings, _patch),
        _serving_big_feed() as server,
    ):
        catalog = Catalog.open(settings)
        admin = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
        try:
            source_id = _add_source(catalog, server.url("/big.xml"))
            environ = dict(os.environ)
            # The subprocess's connections carry a name of their own, so that only they are cut.
            environ["DATA_AGENT_DATABASE_URL"] = f"{settings.database_url}&application_name={application}"
            process = _start_cli_import(source_id, environ)
            try:
                writing: list[int] = []

                def find_writer() -> bool:
                    # The import's connection inside a transaction that upserts assets (running or between rows).
                    with admin.connect() as conn:
                        writing[:] = conn.execute(WRITING, {"name": application}).scalars().all()
                    return bool(writing)

                _wait_for(find_writer, "the import to upsert assets", stop=lambda: process.poll() is not None)
                with admin.connect() as conn:
                    cut = conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": writing[0]}).scalar()
                assert cut, "the import's connection could not be cut"
                out, err = process.communicate(timeout=POLL_TIMEOUT)
            finally:
                process.kill()
            assert process.returncode == 1, err[-3000:]
            result = json.loads(out)
            assert result["status"] == "failed" and result["error"], result
            assert "Traceback" not in err
            written = catalog.count_assets(source_id)
            assert written < ITEMS
            assert catalog.get_source(source_id).last_status == "failed"
            assert catalog.get_source(source_id).content_digest is None  # the next run fetches and writes again

            # ... yet the process that ran it is gone: the next run marks it failed, takes its lock over and converges.
            again = _import(settings, catalog, source_id)
            assert again["status"] == "succeeded", again["error"]
            assert again["counts"]["created"] + again["counts"]["unchanged"] == ITEMS
            assert assets_by_external_id(catalog, "acme") == clean
        finally:
            admin.dispose()
            catalog.close()


def test_on_sqlite_a_second_writer_waits_instead_of_failing(tmp_path: Path) -> None:
    """Another writer holds the SQLite write lock while an import runs: the import waits for it, then succeeds."""
    with (
        environment("sqlite", tmp_path, DATA_AGENT_ALLOW_HOSTS="127.0.0.1") as (settings, _patch),
        HostileServer().running() as server,
    ):
        catalog = Catalog.open(settings)
        try:
            url = server.route("/feed.xml", document(rss(item("a"), item("b"), item("c"))))
            source_id = _add_source(catalog, url)
            other = sqlite3.connect(settings.database_url.removeprefix("sqlite:///"), isolation_level=None)
            other.execute("BEGIN IMMEDIATE")  # the other writer: holds the write lock
            outcome: dict[str, Any] = {}

            def run() -> None:
                try:
                    outcome["result"] = _import(settings, catalog, source_id)
                except BaseException as exc:  # reported by the assertions below
                    outcome["error"] = exc

            writing = threading.Event()

            def on_statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
                if statement.startswith("BEGIN IMMEDIATE"):
                    writing.set()

            event.listen(catalog.engine, "before_cursor_execute", on_statement)
            importer = threading.Thread(target=run, daemon=True)
            importer.start()
            assert writing.wait(POLL_TIMEOUT), "the import never began a write"
            importer.join(timeout=2.0)
            try:
                # Its first write transaction met the held lock. An import that gave up on it ("database is
                # locked") would have ended by now; this one is still waiting.
                assert importer.is_alive(), f"the import did not wait for the lock: {outcome}"
                assert catalog.count_assets(source_id) == 0
            finally:
                other.execute("COMMIT")
                other.close()
            importer.join(timeout=60)
            assert not importer.is_alive()
            assert "error" not in outcome, outcome.get("error")
            assert outcome["result"]["status"] == "succeeded", outcome["result"]["error"]
            assert catalog.count_assets(source_id) == 3
        finally:
            catalog.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_imports_of_one_source_started_together_give_no_error_and_no_duplicate(
    backend: str, tmp_path: Path
) -> None:
    """The first import holds the source; the second, started while the first is fetching, is refused as busy
    (exit 2, one line, nothing changed) instead of interleaving; the catalog ends as one clean import leaves it."""
    clean = _clean_import(backend, tmp_path / "clean")
    first_is_fetching = threading.Event()
    let_it_go = threading.Event()
    body = large_feed(ITEMS)

    def held_back(handler: Any) -> None:
        first_is_fetching.set()
        let_it_go.wait(POLL_TIMEOUT)
        streamed(body)(handler)

    with (
        environment(backend, tmp_path / "race", DATA_AGENT_ALLOW_HOSTS="127.0.0.1") as (settings, _patch),
        HostileServer().running() as server,
    ):
        server.route("/big.xml", held_back)
        catalog = Catalog.open(settings)
        try:
            source_id = _add_source(catalog, server.url("/big.xml"))
            first = _start_cli_import(source_id, dict(os.environ))
            second = None
            try:
                assert first_is_fetching.wait(POLL_TIMEOUT), "the first import never fetched"
                second = _start_cli_import(source_id, dict(os.environ))
                second_out, second_err = second.communicate(timeout=POLL_TIMEOUT * 2)
            finally:
                let_it_go.set()
                first_out, first_err = first.communicate(timeout=POLL_TIMEOUT * 3)
                if second is not None and second.poll() is None:
                    second.kill()
            assert first.returncode == 0, first_err
            assert json.loads(first_out)["counts"]["created"] == ITEMS
            assert second.returncode == 2 and second_out == ""
            assert second_err.strip().startswith("data-agent: error: source") and "is busy" in second_err
            assert second_err.count("\n") == 1 and "Traceback" not in second_err
            assert catalog.count_assets(source_id) == ITEMS
            assert assets_by_external_id(catalog, "acme") == clean
            assert len(catalog.list_results(source_id=source_id)) == 1  # the refused import recorded nothing
        finally:
            catalog.close()
