"""Statements compiled once and run for thousands of rows: the asset upsert and the result items of an import.

An import writes thousands of rows; SQLAlchemy's per-row parameter handling cost several times the database's own
work. The statements and the conversions are SQLAlchemy's (compiled for the dialect, the column types' public
`bind_processor`); only the per-row loop is ours, and on PostgreSQL the rows of a page go in one multi-row
`VALUES` statement (psycopg2's `execute_values`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Dialect, Table, bindparam, insert

from ..model import JSON_FIELDS, AssetWrite, ItemOutcome, Source
from .schema import assets, import_result_items

Parameters = tuple[Any, ...] | dict[str, Any]


# Rows per multi-row statement on PostgreSQL: a page of assets is a few MB of SQL text.
VALUES_PAGE = 1000


class CompiledMany:
    """An INSERT of one row per parameter set (`row_insert`, possibly extended: `statement`), compiled once for
    `executemany`, with its table's columns' own bind processors.

    On PostgreSQL it is also compiled for `execute_values`: `values_sql` is the statement with `VALUES %%s` where
    the row's tuple was, and `values_template` that tuple. Parameters outside the tuple (the upsert's `planned_at`)
    must be the same in every row.
    """

    def __init__(
        self,
        row_insert: Any,
        dialect: Dialect,
        table: Table,
        aliases: Mapping[str, str] | None = None,
        statement: Any = None,
    ):
        compiled = (row_insert if statement is None else statement).compile(dialect=dialect)
        self.sql = str(compiled)
        self.order = list(compiled.positiontup or []) if compiled.positional else None
        self.values_sql: str | None = None
        self.values_template: bytes | None = None
        if dialect.name == "postgresql":
            # The row's tuple as SQLAlchemy writes it (with its JSONB casts): everything after the plain INSERT's
            # VALUES keyword, found once in the whole statement.
            template = str(row_insert.compile(dialect=dialect)).partition(" VALUES ")[2]
            head, found, tail = self.sql.partition(f" VALUES {template}")
            assert found and template not in tail, "the row tuple must appear once in the statement"
            self.values_sql = f"{head} VALUES %%s{tail}"
            self.values_template = template.encode()
        # The dialect's own processors, as a statement executed through SQLAlchemy applies them: the values then
        # compare with those of every other statement (SQLite keeps datetimes as text, in one format).
        processors = {c.name: c.type.dialect_impl(dialect).bind_processor(dialect) for c in table.columns}
        # Parameters that are no column take the conversion of the column they stand for.
        processors.update({name: processors[column] for name, column in (aliases or {}).items()})
        self.processors = {name: processor for name, processor in processors.items() if processor is not None}

    def row(self, values: dict[str, Any]) -> Parameters:
        """The parameters of one row in the driver's style, from converted values by name."""
        return values if self.order is None else tuple(values[name] for name in self.order)


class AssetUpsert(CompiledMany):
    """The asset upsert of an import (on source and external id)."""

    FIXED = frozenset(("id", "created_at", "service", "source_id", "external_id"))

    def __init__(self, dialect: Dialect, insert_statement: Any):
        names = [column.name for column in assets.columns]
        row_insert = insert_statement.values({name: bindparam(name) for name in names})
        statement = row_insert.on_conflict_do_update(
            index_elements=[assets.c.source_id, assets.c.external_id],
            set_={name: row_insert.excluded[name] for name in names if name not in self.FIXED},
            # An asset changed (edited in the CMS) after the import read it keeps that change: the next import
            # reconciles it again, under the source's policy, instead of this one overwriting it blindly.
            where=assets.c.updated_at <= bindparam("planned_at"),
        )
        super().__init__(row_insert, dialect, assets, aliases={"planned_at": "updated_at"}, statement=statement)

    def rows(
        self, source: Source, writes: Sequence[AssetWrite], imported_at: datetime, planned_at: datetime
    ) -> list[Parameters]:
        """The statement's parameters for each write."""
        processors = self.processors
        # What every row of the batch shares is converted once.
        shared = {
            "service": source.service,
            "source_id": source.id,
            "created_at": imported_at,
            "updated_at": imported_at,
            "last_imported_at": imported_at,
            "planned_at": planned_at,
        }
        shared = {name: processors[name](value) if name in processors else value for name, value in shared.items()}
        per_row = [name for name in processors if name not in shared]
        rows: list[Parameters] = []
        for write in writes:
            values = {
                "id": write.asset_id,
                "external_id": write.external_id,
                **write.columns,
                "status": write.status,
                "content_hash": write.content_hash,
                "origin_hashes": write.field_hashes or None,
                "origin_digest": write.origin_digest,
                "edited_fields": list(write.edited_fields),
                **shared,
            }
            for name in per_row:
                value = values[name]
                # JSON fields arrive as the canonical text encode_asset hashed: stored as they are.
                if value is None or (name in JSON_FIELDS and isinstance(value, str)):
                    continue
                values[name] = processors[name](value)
            rows.append(self.row(values))
        return rows


class ResultItemInsert(CompiledMany):
    """The insert of import result items (an import records one per item)."""

    def __init__(self, dialect: Dialect):
        names = [column.name for column in import_result_items.columns]
        statement = insert(import_result_items).values({name: bindparam(name) for name in names})
        super().__init__(statement, dialect, import_result_items)

    def parameters(self, result_id: str, position: int, item: ItemOutcome) -> Parameters:
        """The statement's parameters for the item at `position` of a result."""
        values = {
            "result_id": result_id,
            "position": position,
            "external_id": item.external_id,
            "asset_id": item.asset_id,
            "outcome": str(item.outcome),
            "reason": item.reason,
            "errors": item.errors or None,
            "kept_fields": item.kept_fields or None,
            "data": item.data,
            "span": 1,
            "members": None,
        }
        return self._converted(values)

    def run(self, result_id: str, position: int, outcome: str, members: list[list[str | None]]) -> Parameters:
        """The statement's parameters for a run of plain items of one outcome, the first at `position`:
        `members` are their [external id, asset id] pairs (see `import_result_items` in schema.py)."""
        values = {
            "result_id": result_id,
            "position": position,
            "external_id": None,
            "asset_id": None,
            "outcome": outcome,
            "reason": None,
            "errors": None,
            "kept_fields": None,
            "data": None,
            "span": len(members),
            "members": members,
        }
        return self._converted(values)

    def _converted(self, values: dict[str, Any]) -> Parameters:
        for name, processor in self.processors.items():
            if values[name] is not None:
                values[name] = processor(values[name])
        return self.row(values)


def execute_many(conn: Connection, compiled: CompiledMany, rows: Sequence[Parameters]) -> None:
    """Run a compiled statement once per row. psycopg2's own executemany pays a round trip per row, and pages of
    single-row statements (`execute_batch`) still one statement per row for the server to plan: on PostgreSQL,
    the rows go as one multi-row `VALUES` statement per page instead."""
    if compiled.values_sql is None or compiled.values_template is None:
        conn.exec_driver_sql(compiled.sql, rows)
        return
    if not rows:
        return
    from psycopg2.extras import execute_values  # on PostgreSQL only: a process on SQLite never loads the driver

    cursor = conn.connection.cursor()
    try:
        # The parameters outside the row tuple are the same in every row: bound once, from the first.
        sql = cursor.mogrify(compiled.values_sql, rows[0])
        execute_values(cursor, sql, rows, template=compiled.values_template, page_size=VALUES_PAGE)
    finally:
        cursor.close()
