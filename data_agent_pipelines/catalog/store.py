"""The Catalog repository: every read and write of services, sources, assets and import results."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, Engine, bindparam, case, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError

from ..clock import Clock, new_id, utc_now
from ..errors import CatalogFull, Conflict, InvalidInput, NotFound
from ..limits import check_field
from ..model import (
    ASSET_FIELDS,
    JSON_FIELDS,
    REDACTED,
    AssetWrite,
    ExistingAsset,
    ItemOutcome,
    KnownAsset,
    Source,
    field_from_json,
    field_to_json,
    isoformat,
    parse_instant,
)
from ..schedule import format_duration
from ..settings import Settings
from ..source_settings import (
    SourceChanges,
    merge_settings,
    refuse_unsafe_url,
    url_after_kind_change,
    url_options,
    validate_changes,
    validate_source,
)
from .crypto import CredentialCipher
from .cursor import AssetQuery
from .engine import make_engine
from .migrate import ensure_current
from .schema import assets, import_result_items, import_results, services, sources

# Bound parameters per statement stay far below SQLite's limit (32,766) and Postgres' (65,535).
LOOKUP_CHUNK = 900
WRITE_BATCH = 2000
_SERVICE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
_COUNT_COLUMNS = ("created", "updated", "unchanged", "skipped", "failed", "unpublished", "deleted")


def _asset_row_to_json(row: Any) -> dict[str, Any]:
    m = row._mapping
    out: dict[str, Any] = {
        "id": m["id"],
        "service": m["service"],
        "source_id": m["source_id"],
        "external_id": m["external_id"],
    }
    for name in ASSET_FIELDS:
        value = m[name]
        if isinstance(value, datetime):
            value = isoformat(value)
        elif isinstance(value, date):
            value = value.isoformat()
        out[name] = value
    out.update(
        content_hash=m["content_hash"],
        created_at=isoformat(m["created_at"]),
        updated_at=isoformat(m["updated_at"]),
        last_imported_at=isoformat(m["last_imported_at"]),
        edited_fields=list(m["edited_fields"] or []),
        status=m["status"],
    )
    return out


def asset_json_to_columns(values: dict[str, Any]) -> dict[str, Any]:
    """The JSON form of an asset's origin fields as column values (dates and instants parsed)."""
    columns = {name: values.get(name) for name in ASSET_FIELDS}
    columns["published_at"] = parse_instant(columns["published_at"])
    if columns["release_date"] is not None:
        columns["release_date"] = date.fromisoformat(columns["release_date"])
    for name in ("images", "tags", "genres", "credits", "ratings", "editions"):
        if columns[name] is None:
            columns[name] = []
    if columns["custom"] is None:
        columns["custom"] = {}
    return columns


@dataclass(frozen=True, slots=True)
class DueSource:
    """What the heartbeat needs to know of a due source: no settings, no credentials."""

    id: str
    service: str
    kind: str
    next_run_at: datetime
    every_seconds: int | None
    cron: str | None


class _CompiledMany:
    """A statement compiled once for `executemany`, with its table's columns' own bind processors.

    An import writes thousands of rows; SQLAlchemy's per-row parameter handling cost several times the
    database's own work. The statement and the conversions are SQLAlchemy's (compiled for the dialect, the
    column types' public `bind_processor`); only the per-row loop is ours.
    """

    def __init__(self, statement: Any, dialect: Any, table: Any, aliases: Mapping[str, str] | None = None):
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self.order = list(compiled.positiontup or []) if compiled.positional else None
        # The dialect's own processors, as a statement executed through SQLAlchemy applies them: the values then
        # compare with those of every other statement (SQLite keeps datetimes as text, in one format).
        processors = {c.name: c.type.dialect_impl(dialect).bind_processor(dialect) for c in table.columns}
        # Parameters that are no column take the conversion of the column they stand for.
        processors.update({name: processors[column] for name, column in (aliases or {}).items()})
        self.processors = {name: processor for name, processor in processors.items() if processor is not None}

    def row(self, values: dict[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        """The parameters of one row in the driver's style, from converted values by name."""
        return values if self.order is None else tuple(values[name] for name in self.order)


class _AssetUpsert(_CompiledMany):
    """The asset upsert of an import (on source and external id)."""

    FIXED = frozenset(("id", "created_at", "service", "source_id", "external_id"))

    def __init__(self, dialect: Any, insert_statement: Any):
        names = [column.name for column in assets.columns]
        statement = insert_statement.values({name: bindparam(name) for name in names})
        statement = statement.on_conflict_do_update(
            index_elements=[assets.c.source_id, assets.c.external_id],
            set_={name: statement.excluded[name] for name in names if name not in self.FIXED},
            # An asset changed (edited in the CMS) after the import read it keeps that change: the next import
            # reconciles it again, under the source's policy, instead of this one overwriting it blindly.
            where=assets.c.updated_at <= bindparam("planned_at"),
        )
        super().__init__(statement, dialect, assets, aliases={"planned_at": "updated_at"})

    def rows(
        self, source: Source, writes: Sequence[AssetWrite], imported_at: datetime, planned_at: datetime
    ) -> list[tuple[Any, ...] | dict[str, Any]]:
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
        rows: list[tuple[Any, ...] | dict[str, Any]] = []
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


# SQLSTATE classes of a value the database refuses: data exception, integrity constraint, program limit (an index
# row or a string too large). Anything else (a lost connection, a full disk, a lock) is the backend's, not the row's.
_PG_DATA_CLASSES = ("22", "23", "54")
_SQLITE_DATA_ERRORS = ("SQLITE_TOOBIG", "SQLITE_MISMATCH", "SQLITE_RANGE")


def _driver_error(exc: BaseException) -> BaseException:
    """The database driver's own error behind SQLAlchemy's wrapper (or `exc` itself, as psycopg2 raises it raw
    from `execute_batch`)."""
    return exc.orig if isinstance(exc, DBAPIError) else exc


def refused_by_data(exc: BaseException) -> bool:
    """Whether a write failed on what its rows hold rather than on the backend itself."""
    if isinstance(exc, (OverflowError, TypeError, UnicodeError)):
        return True
    orig = _driver_error(exc)
    if isinstance(orig, sqlite3.Error):
        name = getattr(orig, "sqlite_errorname", "")
        return isinstance(orig, (sqlite3.DataError, sqlite3.IntegrityError)) or name in _SQLITE_DATA_ERRORS
    pgcode = getattr(orig, "pgcode", None)
    if pgcode is not None:
        return str(pgcode)[:2] in _PG_DATA_CLASSES
    # psycopg2 refuses a string with NUL before sending it, with a plain ValueError.
    return isinstance(orig, ValueError)


def _refusal(exc: BaseException) -> str:
    orig = _driver_error(exc)
    lines = str(orig).strip().splitlines() or [type(orig).__name__]
    return f"the catalog refused the item: {lines[0][:300]}"


def _execute_many(conn: Connection, sql: str, rows: Sequence[Any]) -> None:
    """Run compiled SQL once per row. psycopg2's own executemany pays a round trip per row: on PostgreSQL, rows go
    in pages of statements instead (`execute_batch`), several times faster over a network."""
    if conn.dialect.name == "postgresql":
        from psycopg2.extras import execute_batch

        cursor = conn.connection.cursor()
        try:
            execute_batch(cursor, sql, rows, page_size=500)
        finally:
            cursor.close()
    else:
        conn.exec_driver_sql(sql, rows)


class _ResultItemInsert(_CompiledMany):
    """The insert of import result items (an import records one per item)."""

    def __init__(self, dialect: Any):
        names = [column.name for column in import_result_items.columns]
        statement = insert(import_result_items).values({name: bindparam(name) for name in names})
        super().__init__(statement, dialect, import_result_items)

    def parameters(self, result_id: str, position: int, item: ItemOutcome) -> tuple[Any, ...] | dict[str, Any]:
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
        }
        for name, processor in self.processors.items():
            if values[name] is not None:
                values[name] = processor(values[name])
        return self.row(values)


_IMPORT_SETTINGS = ("kind", "url", "asset_type", "truth", "on_missing", "max_removal_fraction")


def _changes_what_is_imported(current: Source, values: dict[str, Any], changes: SourceChanges) -> bool:
    changed = any(name in values and values[name] != getattr(current, name) for name in _IMPORT_SETTINGS)
    return changed or bool(changes.options) or bool(changes.credentials)


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:  # a URL stored before it was checked: compared whole, so any change counts as a move
        return url.lower()


def credentials_follow_host_change(current: Source, values: dict[str, Any], changes: SourceChanges) -> bool:
    """Whether an edit would send the source's stored credentials to a host they were not given for."""
    if not current.credentials or changes.credentials:
        return False
    moved = "url" in values and _host(values["url"]) != _host(current.url)
    new_oauth = changes.options.get("oauth_url")
    moved_oauth = new_oauth is not None and _host(new_oauth) != _host(current.options.get("oauth_url", ""))
    return moved or moved_oauth


class Catalog:
    """The catalog store. Plain Python: no Dagster, no connectors."""

    def __init__(
        self, engine: Engine, cipher: CredentialCipher, *, clock: Clock = utc_now, allow_hosts: Sequence[str] = ()
    ):
        self.engine = engine
        self.cipher = cipher
        self.clock = clock
        self.allow_hosts = tuple(allow_hosts)  # DATA_AGENT_ALLOW_HOSTS: URLs a source may point at although private
        self._upsert: _AssetUpsert | None = None
        self._result_item_insert: _ResultItemInsert | None = None

    @classmethod
    def open(cls, settings: Settings, *, clock: Clock = utc_now, migrate: bool = True) -> Catalog:
        """Connect to the configured database, bringing it to the current schema revision first."""
        engine = make_engine(settings.database_url)
        if migrate:
            ensure_current(engine)
        return cls(engine, CredentialCipher.from_settings(settings), clock=clock, allow_hosts=settings.allow_hosts)

    def close(self) -> None:
        self.engine.dispose()

    def _write(self) -> AbstractContextManager[Connection]:
        return self._transaction(catalog_write=True)

    def _read(self) -> AbstractContextManager[Connection]:
        return self._transaction()

    @contextmanager
    def _transaction(self, **options: Any) -> Iterator[Connection]:
        try:
            with self.engine.connect().execution_options(**options) as conn, conn.begin():
                yield conn
        except Exception as exc:
            self._raise_if_full(exc)
            raise

    def _raise_if_full(self, exc: BaseException) -> None:
        """Raise CatalogFull for a database that refused a transaction for want of space (it was rolled back)."""
        orig = _driver_error(exc)
        full = getattr(orig, "sqlite_errorname", None) == "SQLITE_FULL" or getattr(orig, "pgcode", None) == "53100"
        if not full:
            return
        url = self.engine.url
        where = f"the SQLite file {url.database}" if url.get_backend_name() == "sqlite" else f"PostgreSQL on {url.host}"
        raise CatalogFull(
            f"the catalog's disk is full ({where}): nothing of this change was saved; free space there, then try again"
        ) from None

    def _insert(self, table: Any) -> Any:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(table)

    # -- services ---------------------------------------------------------------------------------------------

    def add_service(self, name: str) -> dict[str, Any]:
        """Create a service (a tenant); names are lower-case slugs."""
        if not _SERVICE_NAME.match(name or ""):
            raise InvalidInput(
                f"invalid service name {name!r}: use 1-100 lower-case letters, digits, '-' or '_',"
                " starting with a letter or digit"
            )
        now = self.clock()
        try:
            with self._write() as conn:
                conn.execute(insert(services).values(name=name, created_at=now))
        except IntegrityError:
            raise Conflict(f"service {name!r} already exists") from None
        return {"name": name, "created_at": isoformat(now), "sources": 0, "assets": 0}

    def list_services(self) -> list[dict[str, Any]]:
        source_counts = select(sources.c.service, func.count().label("n")).group_by(sources.c.service).subquery()
        asset_counts = select(assets.c.service, func.count().label("n")).group_by(assets.c.service).subquery()
        query = (
            select(services.c.name, services.c.created_at, source_counts.c.n, asset_counts.c.n)
            .outerjoin(source_counts, source_counts.c.service == services.c.name)
            .outerjoin(asset_counts, asset_counts.c.service == services.c.name)
            .order_by(services.c.name)
        )
        with self._read() as conn:
            return [
                {"name": name, "created_at": isoformat(created), "sources": n_src or 0, "assets": n_ast or 0}
                for name, created, n_src, n_ast in conn.execute(query)
            ]

    def require_service(self, name: str, conn: Connection | None = None) -> None:
        """Raise NotFound unless the service exists."""
        query = select(services.c.name).where(services.c.name == name)
        if conn is not None:
            found = conn.execute(query).first()
        else:
            with self._read() as own:
                found = own.execute(query).first()
        if found is None:
            raise NotFound(f"no service named {name!r} (see `data-agent services list`)")

    # -- sources ----------------------------------------------------------------------------------------------

    def _source_from_row(self, row: Any) -> Source:
        m = row._mapping
        return Source(
            id=m["id"],
            service=m["service"],
            name=m["name"],
            kind=m["kind"],
            url=m["url"],
            every_seconds=m["every_seconds"],
            cron=m["cron"],
            truth=m["truth"],
            on_missing=m["on_missing"],
            max_removal_fraction=m["max_removal_fraction"],
            asset_type=m["asset_type"],
            options=dict(m["options"] or {}),
            credentials=self.cipher.decrypt(m["credentials"]),
            sign_streams=m["sign_streams"],
            enabled=m["enabled"],
            created_at=m["created_at"],
            updated_at=m["updated_at"],
            last_run_at=m["last_run_at"],
            next_run_at=m["next_run_at"],
            last_status=m["last_status"],
            last_error=m["last_error"],
            etag=m["etag"],
            last_modified=m["last_modified"],
            content_digest=m["content_digest"],
            sync_state=dict(m["sync_state"] or {}),
        )

    def add_source(self, service: str, changes: SourceChanges, *, allow_hosts: Sequence[str] = ()) -> Source:
        """Validate and store a new source; it is due at once. `allow_hosts` adds to the catalog's allowed hosts."""
        values = validate_changes(changes, creating=True)
        self._refuse_unsafe_urls(values, changes, allow_hosts)
        now = self.clock()
        row = {
            "id": new_id("src"),
            "service": service,
            "options": dict(changes.options),
            "credentials": self.cipher.encrypt({k: v for k, v in changes.credentials.items() if v}),
            "enabled": True,
            "created_at": now,
            "updated_at": now,
            "next_run_at": now,
            **values,
        }
        try:
            with self._write() as conn:
                self.require_service(service, conn)
                conn.execute(insert(sources).values(**row))
        except IntegrityError:
            raise Conflict(f"service {service!r} already has a source named {values['name']!r}") from None
        return self.get_source(row["id"])

    def _refuse_unsafe_urls(self, values: dict[str, Any], changes: SourceChanges, allow_hosts: Sequence[str]) -> None:
        """Refuse the addresses a source's settings give (its URL, URL-valued options) that may not be fetched."""
        for url in (values.get("url"), *(changes.options.get(key) for key in url_options())):
            if url:
                refuse_unsafe_url(url, (*self.allow_hosts, *allow_hosts))

    def get_source(self, source_id: str) -> Source:
        """The source with its credentials decrypted; NotFound if there is none."""
        with self._read() as conn:
            row = conn.execute(select(sources).where(sources.c.id == source_id)).first()
        if row is None:
            raise NotFound(f"no source with id {source_id!r} (see `data-agent sources list`)")
        return self._source_from_row(row)

    def list_sources(self, service: str | None = None) -> list[Source]:
        """Sources, optionally of one service, by service then name."""
        query = select(sources).order_by(sources.c.service, sources.c.name)
        with self._read() as conn:
            if service is not None:
                self.require_service(service, conn)
                query = query.where(sources.c.service == service)
            return [self._source_from_row(row) for row in conn.execute(query)]

    def edit_source(self, source_id: str, changes: SourceChanges, *, allow_hosts: Sequence[str] = ()) -> Source:
        """Apply the given settings; `KEY=` (empty value) removes a credential or option."""
        values = validate_changes(changes, creating=False)
        self._refuse_unsafe_urls(values, changes, allow_hosts)
        current = self.get_source(source_id)
        credentials = merge_settings(current.credentials, changes.credentials)
        options = merge_settings(current.options, changes.options)
        if changes.credentials:
            values["credentials"] = self.cipher.encrypt(credentials)
        if changes.options:
            values["options"] = options
        kind = values.get("kind", current.kind)
        if kind != current.kind and "url" not in values:
            values["url"] = url_after_kind_change(current.kind, current.url, kind, options)
        # The checks of `add`, on the settings the source will have: the change merged into what it has.
        validate_source(kind, options, credentials, values.get("sign_streams", current.sign_streams))
        if credentials_follow_host_change(current, values, changes):
            raise InvalidInput(
                "the source's credentials were given for another host: give them again with --credential in the"
                " same edit (or remove them with KEY=), so stored secrets never go to a host they were not meant for"
            )
        if _changes_what_is_imported(current, values, changes):
            # The same document now imports differently (another origin, kind, type, policy or option): the
            # validators and digest of the last fetch must not end the next import as unchanged.
            values.update(etag=None, last_modified=None, content_digest=None, sync_state=None)
        values["updated_at"] = self.clock()
        try:
            with self._write() as conn:
                conn.execute(update(sources).where(sources.c.id == source_id).values(**values))
        except IntegrityError:
            raise Conflict(f"service {current.service!r} already has a source named {values.get('name')!r}") from None
        return self.get_source(source_id)

    def set_enabled(self, source_id: str, enabled: bool) -> Source:
        with self._write() as conn:
            done = conn.execute(
                update(sources).where(sources.c.id == source_id).values(enabled=enabled, updated_at=self.clock())
            )
        if done.rowcount == 0:
            raise NotFound(f"no source with id {source_id!r} (see `data-agent sources list`)")
        return self.get_source(source_id)

    def delete_source(self, source_id: str) -> Source:
        """Delete a source. Its assets stay in the catalog, detached; its import results stay as history."""
        source = self.get_source(source_id)
        with self._write() as conn:
            conn.execute(update(assets).where(assets.c.source_id == source_id).values(source_id=None))
            conn.execute(delete(sources).where(sources.c.id == source_id))
        return source

    def record_run(
        self,
        source_id: str,
        *,
        status: str,
        error: str | None,
        ran_at: datetime,
        validators: dict[str, str | None] | None = None,
    ) -> None:
        """Bookkeeping after an import: last run, status, error and (when given) the HTTP validators."""
        values: dict[str, Any] = {"last_run_at": ran_at, "last_status": status, "last_error": error}
        if validators is not None:
            values.update(validators)
        with self._write() as conn:
            conn.execute(update(sources).where(sources.c.id == source_id).values(**values))

    def source_ids(self) -> list[str]:
        """The id of every source, enabled or not (the heartbeat keeps one Dagster partition per source)."""
        with self._read() as conn:
            return list(conn.execute(select(sources.c.id)).scalars())

    def due_sources(self, now: datetime, *, limit: int) -> list[DueSource]:
        """Enabled sources whose `next_run_at` has come, oldest first, at most `limit` (one indexed query)."""
        columns = (
            sources.c.id,
            sources.c.service,
            sources.c.kind,
            sources.c.next_run_at,
            sources.c.every_seconds,
            sources.c.cron,
        )
        query = (
            select(*columns)
            .where(sources.c.enabled.is_(True), sources.c.next_run_at <= now)
            .order_by(sources.c.next_run_at, sources.c.id)
            .limit(limit)
        )
        with self._read() as conn:
            return [DueSource(*row) for row in conn.execute(query)]

    def schedule_sources(self, next_runs: Mapping[str, datetime]) -> None:
        """Set `next_run_at` of many sources: one `UPDATE … CASE id …` per chunk, keys sorted, one transaction."""
        keys = sorted(next_runs)
        with self._write() as conn:
            for start in range(0, len(keys), LOOKUP_CHUNK // 2):
                chunk = keys[start : start + LOOKUP_CHUNK // 2]
                column_type = sources.c.next_run_at.type
                when = case({key: bindparam(None, next_runs[key], column_type) for key in chunk}, value=sources.c.id)
                conn.execute(update(sources).where(sources.c.id.in_(chunk)).values(next_run_at=when))

    # -- assets -----------------------------------------------------------------------------------------------

    def get_asset(self, asset_id: str) -> dict[str, Any]:
        with self._read() as conn:
            row = conn.execute(select(assets).where(assets.c.id == asset_id)).first()
        if row is None:
            raise NotFound(f"no asset with id {asset_id!r}")
        return _asset_row_to_json(row)

    def asset_with_source(self, asset_id: str) -> tuple[dict[str, Any], Source | None]:
        """An asset and its source (None when it has none any more), read in one transaction: the playback path."""
        with self._read() as conn:
            row = conn.execute(select(assets).where(assets.c.id == asset_id)).first()
            if row is None:
                raise NotFound(f"no asset with id {asset_id!r}")
            source_row = None
            if row.source_id is not None:
                source_row = conn.execute(select(sources).where(sources.c.id == row.source_id)).first()
        return _asset_row_to_json(row), (None if source_row is None else self._source_from_row(source_row))

    def list_assets(
        self,
        service: str,
        *,
        source_id: str | None = None,
        limit: int = 100,
        asset_type: str | None = None,
        status: str | None = None,
        cursor: str | None = None,
    ) -> list[dict[str, Any]]:
        """A service's assets, newest first, optionally of one source, one type, one status; after `cursor`."""
        return self.list_assets_page(
            AssetQuery(service, source_id, asset_type, status), limit=limit, cursor=cursor, peek=False
        )[0]

    def list_assets_page(
        self, query: AssetQuery, *, limit: int, cursor: str | None = None, peek: bool = True
    ) -> tuple[list[dict[str, Any]], bool]:
        """A page of assets, newest first (`created_at DESC, id`), after `cursor`; and whether more follow.

        Keyset paging: a deep page costs what the first does. Ties on `created_at` are the rule (an import
        stamps its whole batch alike), so a page after (c, i) is read in two index seeks: the rest of the rows
        at `created_at = c` with an id after i, then the rows before c.
        """
        base = select(assets).where(assets.c.service == query.service)
        if query.source_id is not None:
            base = base.where(assets.c.source_id == query.source_id)
        if query.asset_type is not None:
            base = base.where(assets.c.type == query.asset_type)
        if query.status is not None:
            base = base.where(assets.c.status == query.status)
        newest_first = (assets.c.created_at.desc(), assets.c.id)
        wanted = limit + 1 if peek else limit
        with self._read() as conn:
            self.require_service(query.service, conn)
            if cursor is None:
                rows = list(conn.execute(base.order_by(*newest_first).limit(wanted)))
            else:
                created_at, after_id = query.position(cursor)
                tied = base.where(assets.c.created_at == created_at, assets.c.id > after_id)
                rows = list(conn.execute(tied.order_by(assets.c.id).limit(wanted)))
                if len(rows) < wanted:
                    older = base.where(assets.c.created_at < created_at).order_by(*newest_first)
                    rows += list(conn.execute(older.limit(wanted - len(rows))))
        items = [_asset_row_to_json(row) for row in rows[:limit]]
        return items, len(rows) > limit

    def edit_asset(self, asset_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """A CMS edit: set fields (JSON form values) and record them in `edited_fields`."""
        columns: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in ASSET_FIELDS:
                raise InvalidInput(f"unknown asset field {name!r}: editable fields are {', '.join(ASSET_FIELDS)}")
            try:
                parsed = field_from_json(name, value)
                check_field(name, parsed)
                canonical = field_to_json(name, parsed)
            except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:
                raise InvalidInput(f"invalid value for asset field {name!r}: {exc}") from None
            columns[name] = canonical
        columns = {k: v for k, v in asset_json_to_columns(columns).items() if k in changes}
        with self._write() as conn:
            row = conn.execute(select(assets.c.edited_fields).where(assets.c.id == asset_id)).first()
            if row is None:
                raise NotFound(f"no asset with id {asset_id!r}")
            edited = sorted(set(row[0] or []) | set(changes))
            conn.execute(
                update(assets)
                .where(assets.c.id == asset_id)
                .values(**columns, edited_fields=edited, updated_at=self.clock())
            )
        return self.get_asset(asset_id)

    def existing_assets(self, source_id: str, external_ids: Sequence[str]) -> dict[str, ExistingAsset]:
        """Bulk lookup by external id, one query per chunk, never one per item."""
        found: dict[str, ExistingAsset] = {}
        columns = (
            assets.c.id,
            assets.c.external_id,
            assets.c.content_hash,
            assets.c.status,
            assets.c.edited_fields,
            assets.c.origin_digest,
        )
        with self._read() as conn:
            for start in range(0, len(external_ids), LOOKUP_CHUNK):
                chunk = external_ids[start : start + LOOKUP_CHUNK]
                query = select(*columns).where(assets.c.source_id == source_id, assets.c.external_id.in_(chunk))
                for asset_id, external_id, content_hash, status, edited, origin_digest in conn.execute(query):
                    found[external_id] = ExistingAsset(
                        asset_id, external_id, content_hash, status, tuple(edited or ()), origin_digest
                    )
        return found

    def known_origin_digests(self, source_id: str, *, policy: str) -> dict[str, KnownAsset]:
        """By origin digest: the source's assets whose unchanged item an import may decide without mapping it.

        Only assets that a re-read of the same item would leave as they are: published ones and, under the
        `importer` policy (which restores CMS edits), only those without CMS edits.
        """
        query = select(assets.c.origin_digest, assets.c.external_id, assets.c.id, assets.c.edited_fields).where(
            assets.c.source_id == source_id, assets.c.origin_digest.is_not(None), assets.c.status == "published"
        )
        known: dict[str, KnownAsset] = {}
        with self._read() as conn:
            for digest, external_id, asset_id, edited in conn.execute(query.execution_options(yield_per=5000)):
                if edited and policy == "importer":
                    continue
                known[digest] = KnownAsset(external_id, asset_id, tuple(sorted(edited or ())))
        return known

    def record_origin_digests(self, digests: Sequence[tuple[str, str]]) -> None:
        """Store the origin digest of assets an import left unchanged, as (asset id, digest) pairs, batched."""
        statement = update(assets).where(assets.c.id == bindparam("asset_id")).values(origin_digest=bindparam("digest"))
        ordered = sorted(digests)
        for start in range(0, len(ordered), WRITE_BATCH):
            batch = [
                {"asset_id": asset_id, "digest": digest} for asset_id, digest in ordered[start : start + WRITE_BATCH]
            ]
            with self._write() as conn:
                conn.execute(statement, batch)

    def current_state(self, asset_ids: Sequence[str]) -> dict[str, tuple[dict[str, Any], str | None]]:
        """By asset id: the origin fields (JSON form) and the per-field hashes of the last import."""
        found: dict[str, tuple[dict[str, Any], str | None]] = {}
        with self._read() as conn:
            for start in range(0, len(asset_ids), LOOKUP_CHUNK):
                query = select(assets).where(assets.c.id.in_(asset_ids[start : start + LOOKUP_CHUNK]))
                for row in conn.execute(query):
                    found[row.id] = (_asset_row_to_json(row), row.origin_hashes)
        return found

    def source_assets(self, source_id: str) -> Iterator[tuple[str, str, str]]:
        """(external id, asset id, status) of every asset of a source, streamed in chunks."""
        query = (
            select(assets.c.external_id, assets.c.id, assets.c.status)
            .where(assets.c.source_id == source_id)
            .execution_options(yield_per=LOOKUP_CHUNK)
        )
        with self._read() as conn:
            yield from (tuple(row) for row in conn.execute(query))

    def write_assets(
        self,
        source: Source,
        writes: Sequence[AssetWrite],
        *,
        imported_at: datetime,
        planned_at: datetime | None = None,
    ) -> dict[str, str]:
        """Upsert the assets of an import on (source_id, external_id), in sorted, batched transactions; return,
        by external id, the writes the catalog refused and why.

        Upserting makes a re-run after a crash converge: rows a dead run already wrote are updated, not
        duplicated. Sorted keys keep concurrent Postgres writers from deadlocking. A batch the backend refuses
        for what a row holds is written again one row at a time, so that the offending row fails alone.
        """
        refused: dict[str, str] = {}
        if not writes:
            return refused
        upsert = self._asset_upsert()
        planned = planned_at or imported_at

        def upsert_all(batch: Sequence[AssetWrite]) -> None:
            with self._write() as conn:
                _execute_many(conn, upsert.sql, upsert.rows(source, batch, imported_at, planned))

        for start in range(0, len(writes), WRITE_BATCH):
            batch = sorted(writes[start : start + WRITE_BATCH], key=lambda w: w.external_id)
            try:
                upsert_all(batch)
            except Exception as exc:
                if not refused_by_data(exc):
                    raise
                for write in batch:
                    try:
                        upsert_all([write])
                    except Exception as single:
                        if not refused_by_data(single):
                            raise
                        refused[write.external_id] = _refusal(single)
        return refused

    def _asset_upsert(self) -> _AssetUpsert:
        if self._upsert is None:
            self._upsert = _AssetUpsert(self.engine.dialect, self._insert(assets))
        return self._upsert

    def remove_assets(self, action: str, asset_ids: Sequence[str], *, at: datetime) -> None:
        """Unpublish or delete assets by id, in sorted batches."""
        ordered = sorted(asset_ids)
        for start in range(0, len(ordered), LOOKUP_CHUNK):
            chunk = ordered[start : start + LOOKUP_CHUNK]
            with self._write() as conn:
                if action == "delete":
                    conn.execute(delete(assets).where(assets.c.id.in_(chunk)))
                else:
                    conn.execute(
                        update(assets).where(assets.c.id.in_(chunk)).values(status="unpublished", updated_at=at)
                    )

    def count_assets(self, source_id: str) -> int:
        with self._read() as conn:
            return conn.execute(select(func.count()).where(assets.c.source_id == source_id)).scalar_one()

    def iter_asset_batches(
        self,
        service: str,
        *,
        source_id: str | None = None,
        asset_type: str | None = None,
        batch_size: int = WRITE_BATCH,
    ) -> Iterator[list[dict[str, Any]]]:
        """A service's assets (JSON form) in batches, by id: one short query per batch, never all rows at once.

        Keyset pagination (`id > last`) rather than an open cursor: no transaction stays open while the caller
        works on a batch, and the cost of a batch does not grow with its position.
        """
        query = select(assets).where(assets.c.service == service).order_by(assets.c.id).limit(batch_size)
        if source_id is not None:
            query = query.where(assets.c.source_id == source_id)
        if asset_type is not None:
            query = query.where(assets.c.type == asset_type)
        last: str | None = None
        while True:
            with self._read() as conn:
                page = query if last is None else query.where(assets.c.id > last)
                batch = [_asset_row_to_json(row) for row in conn.execute(page)]
            if not batch:
                return
            yield batch
            if len(batch) < batch_size:
                return
            last = batch[-1]["id"]

    # -- import results ---------------------------------------------------------------------------------------

    def record_result(self, result: dict[str, Any], items: Iterable[ItemOutcome]) -> None:
        """Store an ImportResult header and its items (batched)."""
        counts = result["counts"]
        header = {
            "id": result["id"],
            "source_id": result["source_id"],
            "service": result["service"],
            "run_id": result.get("run_id"),
            "status": result["status"],
            "dry_run": bool(result.get("dry_run")),
            "started_at": parse_instant(result["started_at"]),
            "finished_at": parse_instant(result.get("finished_at")),
            "error": result.get("error"),
            "notes": list(result.get("notes") or []),
            "held_back": result.get("held_back"),
            **{name: int(counts.get(name, 0)) for name in _COUNT_COLUMNS},
        }
        if self._result_item_insert is None:
            self._result_item_insert = _ResultItemInsert(self.engine.dialect)
        item_insert = self._result_item_insert
        with self._write() as conn:
            conn.execute(insert(import_results).values(**header))
            batch: list[Any] = []
            for position, item in enumerate(items):
                batch.append(item_insert.parameters(result["id"], position, item))
                if len(batch) >= WRITE_BATCH:
                    _execute_many(conn, item_insert.sql, batch)
                    batch = []
            if batch:
                _execute_many(conn, item_insert.sql, batch)

    @staticmethod
    def _result_header(row: Any) -> dict[str, Any]:
        m = row._mapping
        return {
            "id": m["id"],
            "source_id": m["source_id"],
            "service": m["service"],
            "run_id": m["run_id"],
            "status": m["status"],
            "dry_run": m["dry_run"],
            "started_at": isoformat(m["started_at"]),
            "finished_at": isoformat(m["finished_at"]),
            "error": m["error"],
            "notes": list(m["notes"] or []),
            "held_back": m["held_back"],
            "counts": {name: m[name] for name in _COUNT_COLUMNS},
        }

    def list_results(self, *, source_id: str | None = None, limit: int = 20, offset: int = 0) -> list[dict[str, Any]]:
        """Import results, newest first, without their items."""
        query = (
            select(import_results)
            .order_by(import_results.c.started_at.desc(), import_results.c.id)
            .limit(limit)
            .offset(offset)
        )
        if source_id is not None:
            query = query.where(import_results.c.source_id == source_id)
        with self._read() as conn:
            return [self._result_header(row) for row in conn.execute(query)]

    def result_for_run(self, run_id: str, *, items: bool = True) -> dict[str, Any] | None:
        """The ImportResult a Dagster run recorded (with its items unless told not to); None if it recorded none."""
        with self._read() as conn:
            # First recorded wins: a failure sensor and the CLI may both record a run that died.
            result_id = conn.execute(
                select(import_results.c.id)
                .where(import_results.c.run_id == run_id)
                .order_by(import_results.c.started_at)
                .limit(1)
            ).scalar()
        return None if result_id is None else self.get_result(result_id, items=items)

    def record_failed_run(self, source: Source, *, run_id: str | None, error: str, dry_run: bool) -> dict[str, Any]:
        """Record a failed ImportResult for a run that died before it could record its own."""
        now = self.clock()
        result = {
            "id": new_id("res"),
            "source_id": source.id,
            "service": source.service,
            "run_id": run_id,
            "status": "failed",
            "dry_run": dry_run,
            "started_at": isoformat(now),
            "finished_at": isoformat(now),
            "error": error,
            "notes": [],
            "counts": {},
        }
        self.record_result(result, ())
        if not dry_run:
            self.record_run(source.id, status="failed", error=error, ran_at=now)
        return self.get_result(result["id"], items=False)

    def iter_result_items(
        self, result_id: str, *, outcomes: Sequence[str] = (), limit: int | None = None, offset: int = 0
    ) -> Iterator[dict[str, Any]]:
        """A result's items (optionally of some outcomes) in the order the import produced them, streamed."""
        query = select(import_result_items).where(import_result_items.c.result_id == result_id)
        if outcomes:
            query = query.where(import_result_items.c.outcome.in_(list(outcomes)))
        query = query.order_by(import_result_items.c.position).offset(offset).limit(limit)
        with self._read() as conn:
            for row in conn.execute(query.execution_options(yield_per=WRITE_BATCH)):
                m = row._mapping
                yield ItemOutcome(
                    outcome=m["outcome"],
                    external_id=m["external_id"],
                    asset_id=m["asset_id"],
                    reason=m["reason"],
                    errors=list(m["errors"] or []),
                    kept_fields=list(m["kept_fields"] or []),
                    data=m["data"],
                ).to_json()

    def result_items(self, result_id: str, *, limit: int, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """One page of a result's items in the order the import produced them, and how many it has in all."""
        total = select(func.count()).where(import_result_items.c.result_id == result_id)
        with self._read() as conn:
            count = conn.execute(total).scalar_one()
        return list(self.iter_result_items(result_id, limit=limit, offset=offset)), count

    def get_result(self, result_id: str, *, items: bool = True) -> dict[str, Any]:
        """One import result, with its items (all of them: large results are better streamed by `iter_result_items`)."""
        with self._read() as conn:
            row = conn.execute(select(import_results).where(import_results.c.id == result_id)).first()
        if row is None:
            raise NotFound(f"no import result with id {result_id!r} (see `data-agent results list`)")
        result = self._result_header(row)
        if items:
            result["items"] = list(self.iter_result_items(result_id))
        return result


def source_to_json(source: Source) -> dict[str, Any]:
    """The JSON form of a source; credential values are never included, only their names."""
    keys = sorted(source.credentials)
    return {
        "id": source.id,
        "service": source.service,
        "name": source.name,
        "kind": source.kind,
        "url": source.url,
        "every": format_duration(source.every_seconds) if source.every_seconds else None,
        "cron": source.cron,
        "truth": source.truth,
        "on_missing": source.on_missing,
        "max_removal_fraction": source.max_removal_fraction,
        "asset_type": source.asset_type,
        "sign_streams": source.sign_streams,
        "options": dict(source.options),
        "credentials": dict.fromkeys(keys, REDACTED),
        "enabled": source.enabled,
        "created_at": isoformat(source.created_at),
        "updated_at": isoformat(source.updated_at),
        "last_run_at": isoformat(source.last_run_at),
        "next_run_at": isoformat(source.next_run_at),
        "last_status": source.last_status,
        "last_error": source.last_error,
        "etag": source.etag,
        "last_modified": source.last_modified,
    }
