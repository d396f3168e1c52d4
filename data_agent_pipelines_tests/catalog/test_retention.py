"""Retention of import results (catalog/retention.py) on a real catalog, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

from data_agent_pipelines.catalog.retention import prune_results, pruning
from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.clock import new_id
from data_agent_pipelines.model import ImportResult, ImportStatus, ItemOutcome, Outcome, empty_counts

from ..conftest import FakeClock, add_feed_source

KEEP = 3
AGE = timedelta(days=90)


def record(catalog: Catalog, source_id: str, started_at: datetime, outcomes: list[Outcome]) -> str:
    """Record a result of `source_id` with one item per outcome, in that order; its id."""
    counts = empty_counts()
    for outcome in outcomes:
        counts[str(outcome)] += 1
    result = ImportResult(
        id=new_id("res"),
        source_id=source_id,
        service="acme",
        run_id=None,
        status=ImportStatus.SUCCEEDED,
        started_at=started_at,
        finished_at=started_at + timedelta(seconds=5),
        counts=counts,
    )
    catalog.record_result(result, [ItemOutcome(o, external_id=f"e{n}") for n, o in enumerate(outcomes)])
    return result.id


def items(catalog: Catalog, result_id: str) -> list[tuple[str | None, str]]:
    return [(i.external_id, str(i.outcome)) for i in catalog.iter_result_items(result_id)]


U, C = Outcome.UNCHANGED, Outcome.UPDATED


def test_unchanged_items_beyond_the_count_go_and_the_latest_result_stays_whole(
    catalog: Catalog, clock: FakeClock
) -> None:
    source = add_feed_source(catalog, "https://feeds.example.com/a.xml")
    other = add_feed_source(catalog, "https://feeds.example.com/b.xml", name="b")
    mixed = [U, C, U, U, Outcome.FAILED, U, U, U]
    older = record(catalog, source, clock() - timedelta(minutes=10), mixed)
    latest = record(catalog, source, clock() - timedelta(minutes=5), mixed)
    only = record(catalog, other, clock() - timedelta(days=1), [U] * 6)

    report = prune_results(catalog, max_age=AGE, unchanged_kept=KEEP)

    assert (report.results_trimmed, report.items_pruned, report.results_deleted) == (1, 3, 0)
    # The first KEEP unchanged items stay, in import order, and every other outcome stays.
    assert items(catalog, older) == [("e0", "unchanged"), ("e1", "updated"), ("e2", "unchanged"),
                                     ("e3", "unchanged"), ("e4", "failed")]  # fmt: skip
    assert len(items(catalog, latest)) == len(mixed) and len(items(catalog, only)) == 6
    header = catalog.get_result(older, items=False)
    assert header.counts["unchanged"] == 6  # the counts stay as the import recorded them
    assert pruning(catalog, older) == {"items": 3, "outcome": "unchanged", "at": "2026-11-01T12:00:00Z"}
    assert pruning(catalog, latest) is None

    # A second pass finds nothing left to do; a newer result makes the former latest prunable.
    assert prune_results(catalog, max_age=AGE, unchanged_kept=KEEP).items_pruned == 0
    record(catalog, source, clock(), [U])
    again = prune_results(catalog, max_age=AGE, unchanged_kept=KEEP)
    assert (again.results_trimmed, again.items_pruned) == (1, 3)
    assert pruning(catalog, older)["items"] == 3  # not trimmed twice


def test_results_older_than_the_age_go_with_their_items_but_each_sources_latest_stays(
    catalog: Catalog, clock: FakeClock
) -> None:
    busy = add_feed_source(catalog, "https://feeds.example.com/a.xml")
    quiet = add_feed_source(catalog, "https://feeds.example.com/b.xml", name="b")
    ancient = [record(catalog, busy, clock() - timedelta(days=200 - n), [C, U]) for n in range(3)]
    recent = record(catalog, busy, clock() - timedelta(days=89), [C])
    quiet_latest = record(catalog, quiet, clock() - timedelta(days=400), [U, U, U, U, U])

    report = prune_results(catalog, max_age=AGE, unchanged_kept=0)

    assert (report.results_deleted, report.items_deleted) == (3, 6)
    kept = {r.id for r in catalog.list_results(limit=100)}
    assert kept == {recent, quiet_latest}
    assert not set(ancient) & kept
    assert len(items(catalog, quiet_latest)) == 5  # a source's latest result stays whole, however old


def test_no_unchanged_item_is_kept_when_the_count_is_zero(catalog: Catalog, clock: FakeClock) -> None:
    source = add_feed_source(catalog, "https://feeds.example.com/a.xml")
    first = record(catalog, source, clock() - timedelta(hours=1), [U, C, U])
    record(catalog, source, clock(), [U])
    assert prune_results(catalog, max_age=AGE, unchanged_kept=0).items_pruned == 2
    assert items(catalog, first) == [("e1", "updated")]
