"""Import results in the catalog: one header per import and one item per item it read, in the order it read them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import func, insert, select

from ..clock import Clock, new_id
from ..errors import NotFound
from ..model import HeldBack, ImportResult, ImportStatus, ItemOutcome, Outcome, Source
from .bulk import Parameters, ResultItemInsert, execute_many
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


class ImportResults:
    """The import results of a catalog (used through `Catalog`)."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self.database = database
        self.clock = clock
        self._item_insert: ResultItemInsert | None = None  # compiled on the first result recorded, then reused

    def record(self, result: ImportResult, items: Iterable[ItemOutcome]) -> None:
        """Store an ImportResult header and its items (batched); the result's own `items` are not stored."""
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
            batch: list[Parameters] = []
            for position, item in enumerate(items):
                batch.append(item_insert.parameters(result.id, position, item))
                if len(batch) >= WRITE_BATCH:
                    execute_many(conn, item_insert.sql, batch)
                    batch = []
            if batch:
                execute_many(conn, item_insert.sql, batch)

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
        query = select(import_result_items).where(import_result_items.c.result_id == result_id)
        if outcomes:
            query = query.where(import_result_items.c.outcome.in_(list(outcomes)))
        query = query.order_by(import_result_items.c.position).offset(offset).limit(limit)
        with self.database.read() as conn:
            for row in conn.execute(query.execution_options(yield_per=WRITE_BATCH)):
                m = row._mapping
                yield ItemOutcome(
                    outcome=Outcome(m["outcome"]),
                    external_id=m["external_id"],
                    asset_id=m["asset_id"],
                    reason=m["reason"],
                    errors=list(m["errors"] or []),
                    kept_fields=list(m["kept_fields"] or []),
                    data=m["data"],
                )

    def items(self, result_id: str, *, limit: int, offset: int = 0) -> tuple[list[ItemOutcome], int]:
        """One page of a result's items in the order the import produced them, and how many it has in all."""
        total = select(func.count()).where(import_result_items.c.result_id == result_id)
        with self.database.read() as conn:
            count = conn.execute(total).scalar_one()
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
