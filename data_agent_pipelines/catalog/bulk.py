"""Statements compiled once and run for thousands of rows: the asset upsert and the result items of an import.

An import writes thousands of rows; SQLAlchemy's per-row parameter handling cost several times the database's own
work. The statements and the conversions are SQLAlchemy's (compiled for the dialect, the column types' public
`bind_processor`); only the per-row loop is ours, and it builds each row as one tuple in the statement's order.

On SQLite the rows go through one `executemany`. On PostgreSQL they are streamed with `COPY`: quoting
every value into a multi-row `VALUES` statement, and the server parsing it, cost several times more. The upsert
copies into a temporary table and upserts from it in one `INSERT … SELECT … ON CONFLICT`. A batch that COPY cannot
carry faithfully, and every single-row retry of a refused batch, goes as a multi-row `VALUES` statement instead
(psycopg2's `execute_values`), so that a refused row fails with the same reason whatever the batch around it.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Dialect, Table, bindparam, column, insert, select, table

from ..model import JSON_FIELDS, AssetWrite, ItemOutcome, Source
from .schema import assets, import_result_items

Row = tuple[Any, ...]

# Rows per multi-row statement on PostgreSQL: a page of assets is a few MB of SQL text.
VALUES_PAGE = 1000
# The upsert's staging table, one per transaction (dropped at commit): its name shows in pg_stat_activity.
_STAGING = "asset_upsert_rows"


class CompiledMany:
    """An INSERT of one row per parameter set (`row_insert`, possibly extended: `statement`), compiled once, with
    its table's columns' own bind processors. A row is a tuple: the values of the row's columns (`names`) and,
    on SQLite, then the statement's other parameters (`extras`, the same in every row: the upsert's
    `planned_at`), in the order of the compiled statement's placeholders.

    On PostgreSQL it is also compiled for `execute_values`: `values_sql` is the statement with `VALUES %%s` where
    the row's tuple was, and `values_template` that tuple.
    """

    def __init__(
        self,
        row_insert: Any,
        dialect: Dialect,
        table: Table,
        names: Sequence[str],
        aliases: Mapping[str, str] | None = None,
        statement: Any = None,
    ):
        compiled = (row_insert if statement is None else statement).compile(dialect=dialect)
        self.table = table
        self.names = list(names)
        self.sql = str(compiled)
        self.postgresql = dialect.name == "postgresql"
        self.values_sql: str | None = None
        self.values_template: bytes | None = None
        # On PostgreSQL, a statement that reads the rows from a staging table (the upsert): set by the subclass.
        self.copy_sql: str | None = None
        if compiled.positional:
            order = list(compiled.positiontup or [])
            assert order[: len(self.names)] == self.names, "the row's columns come first in the statement"
            self.extras = order[len(self.names) :]
        else:
            self.extras = [name for name in compiled.binds if name not in set(self.names)]
        if self.postgresql:
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
        # A row from converted values by name: on PostgreSQL the columns only (the extras are bound once).
        self.row = itemgetter(*(self.names if self.postgresql else [*self.names, *self.extras]))


class AssetUpsert(CompiledMany):
    """The asset upsert of an import (on source and external id)."""

    FIXED = frozenset(("id", "created_at", "service", "source_id", "external_id"))

    def __init__(self, dialect: Dialect, insert_statement: Any):
        names = [column.name for column in assets.columns]
        row_insert = insert_statement.values({name: bindparam(name) for name in names})
        conflict = {
            "index_elements": [assets.c.source_id, assets.c.external_id],
            # An asset changed (edited in the CMS) after the import read it keeps that change: the next import
            # reconciles it again, under the source's policy, instead of this one overwriting it blindly.
            "where": assets.c.updated_at <= bindparam("planned_at"),
        }
        statement = row_insert.on_conflict_do_update(
            set_={name: row_insert.excluded[name] for name in names if name not in self.FIXED}, **conflict
        )
        super().__init__(row_insert, dialect, assets, names, aliases={"planned_at": "updated_at"}, statement=statement)
        if self.postgresql:
            # The same upsert with the rows read from the staging table, in the order they were copied.
            staged = insert_statement.from_select(names, _staging_select(names))
            upsert = staged.on_conflict_do_update(
                set_={name: staged.excluded[name] for name in names if name not in self.FIXED}, **conflict
            )
            self.copy_sql = str(upsert.compile(dialect=dialect))

    def rows(
        self, source: Source, writes: Sequence[AssetWrite], imported_at: datetime, planned_at: datetime
    ) -> list[Row]:
        """The statement's rows, one for each write."""
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
        edits = processors.get("edited_fields")
        no_edits = [] if edits is None else edits([])  # nearly every write: converted once
        # JSON fields arrive as the canonical text encode_asset hashed (or None): stored as they are.
        per_row = [name for name in processors if name not in shared and name not in JSON_FIELDS]
        if edits is not None:
            per_row.remove("edited_fields")
        json_fields = [name for name in JSON_FIELDS if name in processors]
        make_row = self.row
        rows: list[Row] = []
        for write in writes:
            columns = write.columns
            values = {
                **columns,
                "id": write.asset_id,
                "external_id": write.external_id,
                "status": write.status,
                "content_hash": write.content_hash,
                "origin_hashes": write.field_hashes or None,
                "origin_digest": write.origin_digest,
                "edited_fields": no_edits if not write.edited_fields else list(write.edited_fields),
                **shared,
            }
            if write.edited_fields and edits is not None:
                values["edited_fields"] = edits(values["edited_fields"])
            for name in per_row:
                value = values[name]
                if value is not None:
                    values[name] = processors[name](value)
            for name in json_fields:
                value = values[name]
                if value is not None and not isinstance(value, str):
                    values[name] = processors[name](value)
            rows.append(make_row(values))
        return rows

    def extras_of(self, planned_at: datetime) -> dict[str, Any]:
        """The parameters outside the row (PostgreSQL binds them once per statement)."""
        processor = self.processors.get("planned_at")
        return {"planned_at": planned_at if processor is None else processor(planned_at)}


def _staging_select(names: Sequence[str]) -> Any:
    staging = table(_STAGING, column("_position"), *(column(name) for name in names))
    return select(*(staging.c[name] for name in names)).order_by(staging.c["_position"])


class ResultItemInsert(CompiledMany):
    """The insert of import result items (an import records one per item)."""

    def __init__(self, dialect: Dialect):
        names = [column.name for column in import_result_items.columns]
        statement = insert(import_result_items).values({name: bindparam(name) for name in names})
        super().__init__(statement, dialect, import_result_items, names)

    def parameters(self, result_id: str, position: int, item: ItemOutcome) -> Row:
        """The statement's row for the item at `position` of a result."""
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

    def run(self, result_id: str, position: int, outcome: str, members: Sequence[Sequence[str | None]]) -> Row:
        """The statement's row for a run of plain items of one outcome, the first at `position`: `members` are
        their [external id, asset id] pairs (see `import_result_items` in schema.py)."""
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

    def _converted(self, values: dict[str, Any]) -> Row:
        for name, processor in self.processors.items():
            if values[name] is not None:
                values[name] = processor(values[name])
        return self.row(values)


def execute_many(
    conn: Connection, compiled: CompiledMany, rows: Sequence[Row], extras: Mapping[str, Any] | None = None
) -> None:
    """Run a compiled statement once per row (`extras`: the parameters outside the row, on PostgreSQL).

    psycopg2's own executemany pays a round trip per row: on PostgreSQL the rows are copied in (see the module's
    docstring), or for a batch COPY cannot carry, and a single row, sent as one multi-row `VALUES` statement."""
    if not compiled.postgresql:
        conn.exec_driver_sql(compiled.sql, rows)
        return
    if not rows:
        return
    from psycopg2.extensions import encodings  # on PostgreSQL only: a process on SQLite never loads the driver

    encoding = encodings[conn.connection.dbapi_connection.encoding]
    data = None if len(rows) == 1 else _copy_data(rows, encoding, numbered=compiled.copy_sql is not None)
    cursor = conn.connection.cursor()
    try:
        if data is None:
            _execute_values(cursor, compiled, rows, extras or {})
        else:
            _copy(cursor, compiled, data, extras or {})
    finally:
        cursor.close()


class _Texts(dict[Any, str]):
    """The COPY text of values that are not text (datetimes, dates, integers), each written once per batch: the
    instants an import stamps on every row cost more to write than the rest of the row."""

    def __missing__(self, value: Any) -> str:
        text = self[value] = str(value)
        return text


def _escaped(value: Any) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    text = value if value.__class__ is str else str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _copy_data(rows: Sequence[Row], encoding: str, *, numbered: bool) -> bytes | None:
    """The rows in COPY's text format (`numbered` first, for the staging table); None when a text holds NUL, which
    PostgreSQL refuses: the VALUES path then refuses it as it always did."""
    texts = _Texts()
    nul = "\x00"
    width = len(rows[0])
    lines: list[str] = []
    for position, row in enumerate(rows):
        # A row's values are joined first and escaped as one text (NULL as NUL until then): per value, escaping
        # cost more than the rest of the COPY. A value holding a tab or NUL itself makes the counts differ.
        line = "\t".join([nul if value is None else value if value.__class__ is str else texts[value] for value in row])
        if line.count("\t") != width - 1 or line.count(nul) != row.count(None):
            if any(nul in value for value in row if value.__class__ is str):
                return None
            line = "\t".join(map(_escaped, row))
        else:
            line = line.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace(nul, "\\N")
        lines.append(f"{position}\t{line}\n" if numbered else f"{line}\n")
    # Encoded here: a text the connection cannot encode is refused as psycopg2 refuses it (UnicodeEncodeError).
    return "".join(lines).encode(encoding)


def _copy(cursor: Any, compiled: CompiledMany, data: bytes, extras: Mapping[str, Any]) -> None:
    columns = ", ".join(compiled.names)
    if compiled.copy_sql is None:
        cursor.copy_expert(f"COPY {compiled.table.name} ({columns}) FROM STDIN", io.BytesIO(data))
        return
    # The staging table takes the assets' column types: a value the table refuses is refused by the copy already.
    cursor.execute(f"CREATE TEMPORARY TABLE {_STAGING} (_position integer, LIKE {compiled.table.name}) ON COMMIT DROP")
    cursor.copy_expert(f"COPY {_STAGING} (_position, {columns}) FROM STDIN", io.BytesIO(data))
    cursor.execute(compiled.copy_sql, dict(extras))
    cursor.execute(f"DROP TABLE {_STAGING}")


def _execute_values(cursor: Any, compiled: CompiledMany, rows: Sequence[Row], extras: Mapping[str, Any]) -> None:
    from psycopg2.extras import execute_values  # on PostgreSQL only, like `encodings` above

    assert compiled.values_sql is not None and compiled.values_template is not None
    names = compiled.names
    # The parameters outside the row tuple are the same in every row: bound once.
    sql = cursor.mogrify(compiled.values_sql, dict(extras)) if extras else compiled.values_sql.replace("%%", "%")
    by_name = [dict(zip(names, row, strict=True)) for row in rows]
    execute_values(cursor, sql, by_name, template=compiled.values_template, page_size=VALUES_PAGE)
