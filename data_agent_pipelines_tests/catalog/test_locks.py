"""Source locks on SQLite and PostgreSQL: atomic acquisition, expiry, take-over, and the CLI's "busy"."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from dagster import DagsterRunStatus, RunsFilter
from dagster._core.test_utils import create_run_for_test

from data_agent_pipelines.catalog import locks
from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.errors import Conflict, NotFound
from data_agent_pipelines.orchestration.instance import open_instance
from data_agent_pipelines.settings import Settings
from data_agent_pipelines.source_settings import SourceChanges, add_source

from ..clirunner import run_cli
from ..conftest import FakeClock, add_feed_source
from ..feeds import item, rss
from ..feedserver import FeedServer

TTL = timedelta(minutes=10)


@pytest.fixture
def source_id(catalog: Catalog) -> str:
    return add_feed_source(catalog, "https://feeds.invalid/f.xml")


def test_one_holder_at_a_time_and_release_frees_it(catalog: Catalog, source_id: str) -> None:
    lock = locks.acquire(catalog, source_id, "run-a", ttl=TTL)
    assert lock.holder == "run-a" and lock.expires_at == lock.acquired_at + TTL
    with pytest.raises(locks.SourceBusy) as busy:
        locks.acquire(catalog, source_id, "run-b", ttl=TTL)
    assert isinstance(busy.value, Conflict)
    assert str(busy.value) == f"source {source_id} is busy: an import of it is running (run run-a)"
    assert locks.release(catalog, "run-b") == 0  # not its lock
    assert locks.held(catalog, source_id).holder == "run-a"
    assert locks.release(catalog, "run-a", source_id=source_id) == 1
    assert locks.held(catalog, source_id) is None
    assert locks.acquire(catalog, source_id, "run-b", ttl=TTL).holder == "run-b"


def test_the_holder_may_take_it_again_and_extends_it(catalog: Catalog, clock: FakeClock, source_id: str) -> None:
    locks.acquire(catalog, source_id, "run-a", ttl=TTL)
    clock.advance(minutes=5)
    again = locks.acquire(catalog, source_id, "run-a", ttl=TTL)
    assert again.expires_at == clock.now + TTL


def test_an_expired_lock_is_taken(catalog: Catalog, clock: FakeClock, source_id: str) -> None:
    locks.acquire(catalog, source_id, "dead-run", ttl=TTL)
    clock.advance(minutes=10, seconds=1)
    assert locks.held(catalog, source_id) is None
    assert locks.acquire(catalog, source_id, "run-b", ttl=TTL).holder == "run-b"


def test_a_holder_known_to_have_ended_is_taken_over_at_once(catalog: Catalog, source_id: str) -> None:
    locks.acquire(catalog, source_id, "crashed-run", ttl=TTL)
    with pytest.raises(locks.SourceBusy):
        locks.acquire(catalog, source_id, "run-b", ttl=TTL, holder_has_ended=lambda lock: False)
    taken = locks.acquire(
        catalog, source_id, "run-b", ttl=TTL, holder_has_ended=lambda lock: lock.holder == "crashed-run"
    )
    assert taken.holder == "run-b" and locks.held(catalog, source_id).holder == "run-b"


def test_an_unknown_source_cannot_be_locked(catalog: Catalog) -> None:
    with pytest.raises(NotFound):
        locks.acquire(catalog, "src_nope", "run-a", ttl=TTL)


def test_concurrent_acquisitions_have_exactly_one_winner(settings: Settings, source_id: str) -> None:
    contenders = 6
    start = threading.Barrier(contenders)
    winners: list[str] = []
    losers: list[str] = []
    errors: list[BaseException] = []

    def contend(holder: str) -> None:
        own = Catalog.open(settings, migrate=False)  # a connection pool of its own, like another process
        try:
            start.wait(timeout=10)
            locks.acquire(own, source_id, holder, ttl=TTL)
            winners.append(holder)
        except locks.SourceBusy:
            losers.append(holder)
        except BaseException as exc:
            errors.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=contend, args=(f"run-{n}",)) for n in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(winners) == 1 and len(losers) == contenders - 1


def test_a_cli_import_of_a_busy_source_exits_2_and_changes_nothing(
    feed_server: FeedServer, capsys: pytest.CaptureFixture[str], catalog: Catalog, settings: Settings
) -> None:
    catalog.add_service("acme")
    url = feed_server.serve("/feed.xml", rss(item("a"), item("b")))
    source_id = add_source(catalog, "acme", SourceChanges(name="feed", kind="mrss", url=url)).id
    instance = open_instance(settings)
    try:
        running = create_run_for_test(
            instance, job_name="import_source", status=DagsterRunStatus.STARTED, tags={"dagster/partition": source_id}
        )
        # The CLI reads the real clock; the lock is taken on it too (the fixture's catalog has a pinned one).
        real_time = Catalog.open(settings, migrate=False)
        locks.acquire(real_time, source_id, running.run_id, ttl=TTL)
        real_time.close()
        before = catalog.get_source(source_id)
        busy = run_cli(capsys, "import", source_id, "--json")
        assert busy.code == 2 and busy.out == ""
        assert busy.err.strip().splitlines() == [
            f"data-agent: error: source {source_id} is busy: an import of it is running (run {running.run_id})"
        ]
        assert catalog.get_source(source_id) == before
        assert catalog.list_results(source_id=source_id) == [] and catalog.count_assets(source_id) == 0
        assert len(instance.get_runs(RunsFilter(job_name="import_source"))) == 1  # only the one that holds it
        assert feed_server.requests == []
        # Once the holder's run has ended (here it fails), its lock is stale and the next import takes it over.
        instance.report_run_failed(running)
        done = run_cli(capsys, "import", source_id, "--json")
        assert done.code == 0, done.err
        assert done.json()["counts"]["created"] == 2
        assert locks.held(catalog, source_id) is None  # released when the run ended
    finally:
        instance.dispose()
