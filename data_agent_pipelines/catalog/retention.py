"""Retention of import results: old results are deleted and the `unchanged` items of the others are trimmed.

Without it a 100k-item feed imported every 5 minutes adds ~29 M item rows a day, nearly all of them `unchanged`
items that say nothing a result's counts do not. A pass (run by the `prune_results` schedule, or
`data-agent results prune`):

1. deletes the results that started before `now - max_age`, with their items;
2. removes, from every result it has not looked at yet, the `unchanged` items after the first `unchanged_kept`
   (in import order), and records on the result how many it removed and when.

Each source's latest result (by `started_at`, then id) is never touched: it stays whole, whatever its age. The
counts of a trimmed result stay as the import recorded them; `pruning()` says what was removed, for `results show`.

The work is set-based and goes in short transactions (one per batch of old results, one per trimmed result), so
imports writing at the same time wait for at most one of them.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.sql import ColumnElement

from ..model import isoformat
from .schema import import_result_items, import_results
from .store import Catalog

PRUNED_OUTCOME = "unchanged"
# Results read per query when looking for work; old results deleted per transaction.
CANDIDATES = 500


@dataclass
class PruneReport:
    """What one pass did."""

    results_deleted: int = 0
    items_deleted: int = 0  # the items of the deleted results
    results_trimmed: int = 0  # results that lost `unchanged` items
    items_pruned: int = 0  # the `unchanged` items they lost
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The JSON of `data-agent results prune` and of the job's metadata."""
        return asdict(self)


def _has_newer() -> ColumnElement[bool]:
    """True for a result that is not its source's latest: another result of the source started after it."""
    newer = import_results.alias("newer")
    return exists().where(
        newer.c.source_id == import_results.c.source_id,
        or_(
            newer.c.started_at > import_results.c.started_at,
            and_(newer.c.started_at == import_results.c.started_at, newer.c.id > import_results.c.id),
        ),
    )


def prune_results(catalog: Catalog, *, max_age: timedelta, unchanged_kept: int) -> PruneReport:
    """One retention pass over the catalog's import results (see the module docstring); returns what it did."""
    if unchanged_kept < 0:
        raise ValueError("unchanged_kept must be 0 or more")
    began = time.perf_counter()
    report = PruneReport()
    _delete_old(catalog, catalog.clock() - max_age, report)
    _trim_unchanged(catalog, unchanged_kept, report)
    report.seconds = round(time.perf_counter() - began, 3)
    return report


def _delete_old(catalog: Catalog, cutoff: Any, report: PruneReport) -> None:
    query = (
        select(import_results.c.id)
        .where(import_results.c.started_at < cutoff, _has_newer())
        .order_by(import_results.c.started_at)
        .limit(CANDIDATES)
    )
    while True:
        with catalog.database.write() as conn:
            ids = list(conn.execute(query).scalars())
            if not ids:
                return
            # Items counted as items (a row may be a run of them), then deleted first and explicitly (the cascade
            # would do the same work).
            of_ids = import_result_items.c.result_id.in_(ids)
            count = conn.execute(select(func.coalesce(func.sum(import_result_items.c.span), 0)).where(of_ids))
            items = int(count.scalar_one())
            conn.execute(delete(import_result_items).where(of_ids))
            conn.execute(delete(import_results).where(import_results.c.id.in_(ids)))
        report.results_deleted += len(ids)
        report.items_deleted += items


def _trim_unchanged(catalog: Catalog, kept: int, report: PruneReport) -> None:
    candidates = (
        select(import_results.c.id)
        .where(import_results.c.pruned_at.is_(None), _has_newer())
        .order_by(import_results.c.started_at, import_results.c.id)
        .limit(CANDIDATES)
    )
    while True:
        with catalog.database.read() as conn:
            ids = list(conn.execute(candidates).scalars())
        if not ids:
            return
        for result_id in ids:
            removed = _trim_one(catalog, result_id, kept)
            if removed:
                report.results_trimmed += 1
                report.items_pruned += removed


def _trim_one(catalog: Catalog, result_id: str, kept: int) -> int:
    """Remove the result's `unchanged` items after the first `kept`; mark it looked at. Returns how many went.

    A row may be a run of items (schema.py): the run that holds the first item to remove is cut to the items
    before it, the rows after it go.
    """
    items = import_result_items.c
    unchanged = and_(items.result_id == result_id, items.outcome == PRUNED_OUTCOME)
    with catalog.database.write() as conn:
        # Re-checked inside the transaction: a concurrent pass may have trimmed or deleted it meanwhile.
        if (
            conn.execute(
                select(import_results.c.id).where(
                    import_results.c.id == result_id, import_results.c.pruned_at.is_(None)
                )
            ).first()
            is None
        ):
            return 0
        total = int(conn.execute(select(func.coalesce(func.sum(items.span), 0)).where(unchanged)).scalar_one())
        removed = max(0, total - kept)
        if removed:
            # The rows of the first `kept` items and the one that holds the first removed item (each is 1+ items).
            rows = conn.execute(
                select(items.position, items.span).where(unchanged).order_by(items.position).limit(kept + 1)
            ).all()
            before, position = 0, 0
            for row_position, span in rows:  # more than `kept` items in all: some row holds the first removed
                if before + span > kept:
                    position = row_position
                    break
                before += span
            kept_here = kept - before  # items of the row at `position` that stay
            if kept_here:
                members = conn.execute(
                    select(items.members).where(items.result_id == result_id, items.position == position)
                ).scalar_one()
                conn.execute(
                    update(import_result_items)
                    .where(items.result_id == result_id, items.position == position)
                    .values(span=kept_here, members=members[:kept_here])
                )
                conn.execute(delete(import_result_items).where(unchanged, items.position > position))
            else:
                conn.execute(delete(import_result_items).where(unchanged, items.position >= position))
        conn.execute(
            update(import_results)
            .where(import_results.c.id == result_id)
            .values(items_pruned=import_results.c.items_pruned + removed, pruned_at=catalog.clock())
        )
    return removed


def pruning(catalog: Catalog, result_id: str) -> dict[str, Any] | None:
    """What retention removed from a result, for `results show`: None when it removed nothing.

    `{"items": N, "outcome": "unchanged", "at": ISO-8601}`: N `unchanged` items were removed at that time; the
    result's counts still say how many items of each outcome the import had.
    """
    query = select(import_results.c.items_pruned, import_results.c.pruned_at).where(import_results.c.id == result_id)
    with catalog.database.read() as conn:
        row = conn.execute(query).first()
    if row is None or not row.items_pruned:
        return None
    return {"items": row.items_pruned, "outcome": PRUNED_OUTCOME, "at": isoformat(row.pruned_at)}
