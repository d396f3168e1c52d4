"""Transactions on the catalog's database: the one API every repository of the catalog reads and writes through.

A write transaction takes SQLite's write lock up front (`BEGIN IMMEDIATE`, see `engine.py`); a transaction the
database refused for want of space raises `CatalogFull` instead of the driver's error.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, Table

from ..errors import CatalogFull
from .driver_errors import disk_full

# Bound parameters per statement stay far below SQLite's limit (32,766) and Postgres' (65,535).
LOOKUP_CHUNK = 900
WRITE_BATCH = 2000


class Database:
    """The catalog's engine seen as transactions."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def read(self) -> AbstractContextManager[Connection]:
        """A read transaction."""
        return self._transaction()

    def write(self) -> AbstractContextManager[Connection]:
        """A write transaction (on SQLite it holds the write lock from its start)."""
        return self._transaction(catalog_write=True)

    def insert(self, table: Table) -> Any:
        """An INSERT of the backend's own dialect, so that it can take `on_conflict_do_update`."""
        # Imported here: a process on one backend never loads the other's dialect (the PostgreSQL one with all its
        # drivers costs a command on SQLite a tenth of a second).
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        return insert(table)

    @contextmanager
    def _transaction(self, **options: Any) -> Iterator[Connection]:
        try:
            with self.engine.connect().execution_options(**options) as conn, conn.begin():
                yield conn
        except Exception as exc:
            if disk_full(exc):
                raise self._full() from None
            raise

    def _full(self) -> CatalogFull:
        url = self.engine.url
        where = f"the SQLite file {url.database}" if url.get_backend_name() == "sqlite" else f"PostgreSQL on {url.host}"
        return CatalogFull(
            f"the catalog's disk is full ({where}): nothing of this change was saved; free space there, then try again"
        )
