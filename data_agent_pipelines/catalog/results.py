"""Import results in the catalog: one header per import and one item per item it read, in the order it read them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import func, insert, select

from ..clock import Clock, new_id
from ..errors import NotFound
from ..model import HeldBack, ImportResult, ImportStatus, ItemOutcome, Outcome, Source
from ..model.item_runs import PlainRun
from .bulk import ResultItemInsert, Row, execute_many
from .database import WRITE_BATCH, Database
from .schema import import_result_items, import_results

_COUNT_COLUMNS = ("created", "updated", "unchanged", "skipped", "failed", "unpublished", "deleted")


def _header(row: Any) -> ImportResult:
    m = row._mapping
    held_back = m["held_back"]
    return ImportResult(
        id=m["id"],
        source_id=m["source_id"],
        service=m["service"],
        run_id=m["run_id"],
        status=ImportStatus(m["status"]),
        dry_run=bool(m["dry_run"]),
        started_at=m["started_at"],
        finished_at=m["finished_at"],
        error=m["error"],
        notes=list(m["notes"] or []),
        held_back=HeldBack(**held_back) if held_back else None,
        counts={name: m[name] for name in _COUNT_COLUMNS},
    )


# Consecutive plain items of one of these outcomes are stored as one row of at most MAX_RUN items (schema.py). A
# failed item always has a row of its own: what reads failed items in SQL (the outbox) sees each of them.
MAX_RUN = 1000
RUN_OUTCOMES = frozenset({str(Outcome.CREATED), str(Outcome.UPDATED), str(Outcome.UNCHANGED)})
_ITEM_COLUMNS = (
    "position",
    "outcome",
    "external_id",
    "asset_id",
    "reason",
    "errors",
    "kept_fields",
    "data",
    "span",
    "members",
)


def _is_plain(item: ItemOutcome) -> bool:
    """An item that says nothing but its outcome and ids: it can go in a run."""
    return item.reason is None and not item.errors and not item.kept_fields and item.data is None


def _rows(item_insert: ResultItemInsert, result_id: str, items: Iterable[ItemOutcome | PlainRun]) -> Iterator[Row]:
    """The rows of a result's items: runs of consecutive plain items of one outcome, and a row for each other."""
    members: list[Sequence[str | None]] = []
    run_outcome = ""
    run_start = 0
    position = 0

    def run() -> Row:
        if len(members) == 1:
            external_id, asset_id = members[0]
            single = ItemOutcome(Outcome(run_outcome), external_id, asset_id)
            return item_insert.parameters(result_id, run_start, single)
        return item_insert.run(result_id, run_start, run_outcome, members)

    for item in items:
        outcome = str(item.outcome)
        if outcome in RUN_OUTCOMES and (isinstance(item, PlainRun) or _is_plain(item)):
            # Plain items join the open run while it has their outcome and room; a PlainRun's members by slices.
            pairs = item.members if isinstance(item, PlainRun) else ((item.external_id, item.asset_id),)
            taken = 0
            while taken < len(pairs):
                if members and (outcome != run_outcome or len(members) >= MAX_RUN):
                    yield run()
                    members = []
                if not members:
                    run_start, run_outcome = position, outcome
                chunk = pairs[taken : taken + MAX_RUN - len(members)]
                members.extend(chunk)
                taken += len(chunk)
                position += len(chunk)
            continue
        for entry in item.items() if isinstance(item, PlainRun) else (item,):
            if members:
                yield run()
                members = []
            yield item_insert.parameters(result_id, position, entry)
            position += 1
    if members:
        yield run()


def _expand(row: Any, skip: int = 0) -> Iterator[ItemOutcome]:
    """The items of one stored row (a run is several), after the first `skip` of them."""
    m = row._mapping
    outcome = Outcome(m["outcome"])
    if m["members"] is not None:
        for external_id, asset_id in m["members"][skip:]:
            yield ItemOutcome(outcome, external_id, asset_id)
        return
    if skip:
        return
    yield ItemOutcome(
        outcome=outcome,
        external_id=m["external_id"],
        asset_id=m["asset_id"],
        reason=m["reason"],
        errors=list(m["errors"] or []),
        kept_fields=list(m["kept_fields"] or []),
        data=m["data"],
    )


class ImportResults:
    """The import results of a catalog (used through `Catalog`)."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self.database = database
        self.clock = clock
        self._item_insert: ResultItemInsert | None = None  # compiled on the first result recorded, then reused

    def record(self, result: ImportResult, items: Iterable[ItemOutcome | PlainRun]) -> None:
        """Store an ImportResult header and its items (batched; a PlainRun is one item per member); the result's
        own `items` are not stored."""
        header = {
            "id": result.id,
            "source_id": result.source_id,
            "service": result.service,
            "run_id": result.run_id,
            "status": str(result.status),
            "dry_run": result.dry_run,
            "started_at": result.started_at,
            "finished_at": result.finished_at,
            "error": result.error,
            "notes": list(result.notes),
            "held_back": result.held_back.to_json() if result.held_back else None,
            **{name: int(result.counts.get(name, 0)) for name in _COUNT_COLUMNS},
        }
        if self._item_insert is None:
            self._item_insert = ResultItemInsert(self.database.engine.dialect)
        item_insert = self._item_insert
        with self.database.write() as conn:
            conn.execute(insert(import_results).values(**header))
            batch: list[Row] = []
            for row in _rows(item_insert, result.id, items):
                batch.append(row)
                if len(batch) >= WRITE_BATCH:
                    execute_many(conn, item_insert, batch)
                    batch = []
            if batch:
                execute_many(conn, item_insert, batch)

    def list(self, *, source_id: str | None = None, limit: int = 20, offset: int = 0) -> list[ImportResult]:
        """Import results, newest first, without their items."""
        query = (
            select(import_results)
            .order_by(import_results.c.started_at.desc(), import_results.c.id)
            .limit(limit)
            .offset(offset)
        )
        if source_id is not None:
            query = query.where(import_results.c.source_id == source_id)
        with self.database.read() as conn:
            return [_header(row) for row in conn.execute(query)]

    def for_run(self, run_id: str, *, items: bool = True) -> ImportResult | None:
        """The ImportResult a Dagster run recorded (with its items unless told not to); None if it recorded none."""
        with self.database.read() as conn:
            # First recorded wins: a failure sensor and the CLI may both record a run that died.
            result_id = conn.execute(
                select(import_results.c.id)
                .where(import_results.c.run_id == run_id)
                .order_by(import_results.c.started_at)
                .limit(1)
            ).scalar()
        return None if result_id is None else self.get(result_id, items=items)

    def record_failed_run(self, source: Source, *, run_id: str | None, error: str, dry_run: bool) -> ImportResult:
        """Record a failed ImportResult for a run that died before it could record its own (the source's
        bookkeeping is `Catalog.record_failed_run`'s)."""
        now = self.clock()
        result = ImportResult(
            id=new_id("res"),
            source_id=source.id,
            service=source.service,
            run_id=run_id,
            status=ImportStatus.FAILED,
            dry_run=dry_run,
            started_at=now,
            finished_at=now,
            error=error,
        )
        self.record(result, ())
        return result

    def iter_items(
        self, result_id: str, *, outcomes: Sequence[str] = (), limit: int | None = None, offset: int = 0
    ) -> Iterator[ItemOutcome]:
        """A result's items (optionally of some outcomes) in the order the import produced them, streamed."""
        items = import_result_items.c
        query = select(
            items.position,
            items.outcome,
            items.external_id,
            items.asset_id,
            items.reason,
            items.errors,
            items.kept_fields,
            items.data,
            items.span,
            items.members,
        ).where(items.result_id == result_id)
        if outcomes:
            query = query.where(items.outcome.in_(list(outcomes)))
        skip = 0
        if offset:
            # A row may be a run of items: the rows from the one that holds the item at `offset` (counting the
            # items of the rows before each row in the database, over the rows the filter keeps).
            before = (func.sum(items.span).over(order_by=items.position) - items.span).label("before")
            ranked = query.add_columns(before).subquery()
            query = select(*(ranked.c[name] for name in _ITEM_COLUMNS), ranked.c.before).where(
                ranked.c.before + ranked.c.span > offset
            )
            order = ranked.c.position
        else:
            order = items.position
        query = query.order_by(order)
        if limit is not None:
            query = query.limit(limit)  # every row is at least one item
        left = limit
        if left == 0:
            return
        with self.database.read() as conn:
            for row in conn.execute(query.execution_options(yield_per=WRITE_BATCH)):
                if offset:
                    skip = max(0, offset - row.before)
                for item in _expand(row, skip):
                    yield item
                    if left is not None:
                        left -= 1
                        if left == 0:
                            return

    def items(self, result_id: str, *, limit: int, offset: int = 0) -> tuple[list[ItemOutcome], int]:
        """One page of a result's items in the order the import produced them, and how many it has in all."""
        items = import_result_items.c
        total = select(func.coalesce(func.sum(items.span), 0)).where(items.result_id == result_id)
        with self.database.read() as conn:
            count = int(conn.execute(total).scalar_one())
        return list(self.iter_items(result_id, limit=limit, offset=offset)), count

    def get(self, result_id: str, *, items: bool = True) -> ImportResult:
        """One import result, with its items (all of them: large results are better streamed by `iter_items`)."""
        with self.database.read() as conn:
            row = conn.execute(select(import_results).where(import_results.c.id == result_id)).first()
        if row is None:
            raise NotFound(f"no import result with id {result_id!r} (see `data-agent results list`)")
        result = _header(row)
        if items:
            result.items = list(self.iter_items(result_id))
        return result
