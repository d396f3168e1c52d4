"""A result's plain items stored as runs (schema.py, `import_result_items`): read back exactly as recorded, on
SQLite and PostgreSQL, in pages, filtered, trimmed by retention and deleted with their result."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from data_agent_pipelines.catalog.results import MAX_RUN
from data_agent_pipelines.catalog.retention import prune_results
from data_agent_pipelines.catalog.schema import import_result_items
from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.clock import new_id
from data_agent_pipelines.model import ImportResult, ImportStatus, ItemOutcome, Outcome, empty_counts

from ..conftest import FakeClock, add_feed_source


def record(catalog: Catalog, source_id: str, items: list[ItemOutcome], *, minutes_ago: int = 0) -> str:
    counts = empty_counts()
    for item in items:
        counts[str(item.outcome)] += 1
    started = catalog.clock() - timedelta(minutes=minutes_ago)
    result = ImportResult(
        id=new_id("res"),
        source_id=source_id,
        service="acme",
        run_id=None,
        status=ImportStatus.PARTIAL,
        started_at=started,
        finished_at=started,
        counts=counts,
    )
    catalog.record_result(result, items)
    return result.id


def mixed_items() -> list[ItemOutcome]:
    """Long runs of plain items split by items that say more, a run of each outcome, ids of every kind."""
    items = [ItemOutcome(Outcome.CREATED, f"c{n}", f"ast_c{n}") for n in range(5)]
    items += [ItemOutcome(Outcome.UNCHANGED, f"u{n}", f"ast_u{n}") for n in range(MAX_RUN + 7)]
    items.append(ItemOutcome(Outcome.FAILED, "bad", reason="the item has no title", errors=["e1"], data={"x": 1}))
    items.append(ItemOutcome(Outcome.FAILED, "bare"))  # a failed item keeps a row of its own, even without reason
    items += [ItemOutcome(Outcome.UNCHANGED, f"v{n}", f"ast_v{n}") for n in range(3)]
    items.append(ItemOutcome(Outcome.UNCHANGED, "kept", "ast_k", kept_fields=["title"]))
    items.append(ItemOutcome(Outcome.UNCHANGED, 'quote"\\ é\u2028', None))
    items += [ItemOutcome(Outcome.UPDATED, f"p{n}", f"ast_p{n}") for n in range(4)]
    items.append(ItemOutcome(Outcome.UPDATED, "why", "ast_w", reason="title changed"))
    items.append(ItemOutcome(Outcome.SKIPPED, "s", "ast_s", reason="create-only"))
    items += [ItemOutcome(Outcome.DELETED, f"d{n}", f"ast_d{n}", reason="no longer in the origin") for n in range(2)]
    return items


def stored_rows(catalog: Catalog, result_id: str) -> int:
    query = select(func.count()).where(import_result_items.c.result_id == result_id)
    with catalog.database.read() as conn:
        return int(conn.execute(query).scalar_one())


def test_items_read_back_as_recorded_whole_paged_and_filtered(catalog: Catalog) -> None:
    source = add_feed_source(catalog, "https://feeds.example.com/a.xml")
    items = mixed_items()
    result_id = record(catalog, source, items)

    assert list(catalog.iter_result_items(result_id)) == items
    assert catalog.get_result(result_id).items == items
    # Runs: 5 c, 1000 u, 7 u, 3 v and the unchanged item with a None asset id, 4 p; every other item has a row.
    assert stored_rows(catalog, result_id) == 5 + 1 + 1 + 1 + 1 + 2 + 2
    for offset, limit in ((0, 3), (3, 10), (4, 1), (5, 1000), (1004, 3), (1005, 2), (1010, 6), (1015, 50), (9999, 5)):
        page, total = catalog.result_items(result_id, limit=limit, offset=offset)
        assert (page, total) == (items[offset : offset + limit], len(items)), (offset, limit)
    assert catalog.result_items(result_id, limit=0)[0] == []
    for outcomes in (("failed",), ("unchanged",), ("updated", "created"), ("failed", "skipped")):
        wanted = [item for item in items if str(item.outcome) in outcomes]
        assert list(catalog.iter_result_items(result_id, outcomes=outcomes)) == wanted
        for offset, limit in ((0, 2), (2, 3), (999, 4), (1008, 10)):
            got = list(catalog.iter_result_items(result_id, outcomes=outcomes, offset=offset, limit=limit))
            assert got == wanted[offset : offset + limit], (outcomes, offset, limit)


def test_retention_cuts_runs_at_the_kept_count_and_counts_items(catalog: Catalog, clock: FakeClock) -> None:
    items = mixed_items()
    unchanged = [item for item in items if item.outcome == Outcome.UNCHANGED]
    others = [item for item in items if item.outcome != Outcome.UNCHANGED]
    trimmed = []
    # Inside the first run, at its end, inside the second, and nothing kept; each on a source of its own whose
    # latest result stays whole.
    for n, kept in enumerate((3, MAX_RUN, MAX_RUN + 2, 0)):
        source = add_feed_source(catalog, f"https://feeds.example.com/{n}.xml", name=f"s{n}")
        older = record(catalog, source, items, minutes_ago=10)
        latest = record(catalog, source, items, minutes_ago=1)

        report = prune_results(catalog, max_age=timedelta(days=90), unchanged_kept=kept)

        assert (report.results_trimmed, report.items_pruned) == (1, len(unchanged) - kept)
        kept_items = {id(item) for item in unchanged[:kept]}
        expected = [item for item in items if item.outcome != Outcome.UNCHANGED or id(item) in kept_items]
        assert catalog.get_result(older).items == expected
        if kept:
            page, total = catalog.result_items(older, limit=5, offset=kept - 2)
            assert (page, total) == (expected[kept - 2 : kept + 3], len(expected))
        assert catalog.get_result(latest).items == items
        trimmed.append(kept)

    # Deleting old results counts their items, not their rows.
    clock.advance(days=91)
    report = prune_results(catalog, max_age=timedelta(days=90), unchanged_kept=0)
    assert report.results_deleted == 4
    assert report.items_deleted == sum(len(others) + kept for kept in trimmed)
