"""The Catalog repository: every read and write of services, sources, assets and import results."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from ..clock import Clock, new_id, utc_now
from ..errors import Conflict, InvalidInput, NotFound
from ..model import (
    ASSET_FIELDS,
    AssetWrite,
    ExistingAsset,
    ItemOutcome,
    Source,
    field_from_json,
    field_to_json,
    isoformat,
    parse_instant,
)
from ..schedule import format_duration
from ..settings import Settings
from ..source_settings import SourceChanges, validate_changes
from .crypto import CredentialCipher
from .engine import make_engine
from .migrate import ensure_current
from .schema import assets, import_result_items, import_results, services, sources

# Bound parameters per statement stay far below SQLite's limit (32,766) and Postgres' (65,535).
LOOKUP_CHUNK = 900
WRITE_BATCH = 2000
REDACTED = "<redacted>"
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


class Catalog:
    """The catalog store. Plain Python: no Dagster, no connectors."""

    def __init__(self, engine: Engine, cipher: CredentialCipher, *, clock: Clock = utc_now):
        self.engine = engine
        self.cipher = cipher
        self.clock = clock

    @classmethod
    def open(cls, settings: Settings, *, clock: Clock = utc_now, migrate: bool = True) -> Catalog:
        """Connect to the configured database, bringing it to the current schema revision first."""
        engine = make_engine(settings.database_url)
        if migrate:
            ensure_current(engine)
        return cls(engine, CredentialCipher.from_settings(settings), clock=clock)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self.engine.connect().execution_options(catalog_write=True) as conn, conn.begin():
            yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

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
        )

    def add_source(self, service: str, changes: SourceChanges) -> Source:
        """Validate and store a new source; it is due at once."""
        values = validate_changes(changes, creating=True)
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

    def edit_source(self, source_id: str, changes: SourceChanges) -> Source:
        """Apply the given settings; `KEY=` (empty value) removes a credential or option."""
        values = validate_changes(changes, creating=False)
        current = self.get_source(source_id)
        if changes.credentials:
            merged = {**current.credentials, **changes.credentials}
            values["credentials"] = self.cipher.encrypt({k: v for k, v in merged.items() if v})
        if changes.options:
            merged_options = {**current.options, **changes.options}
            values["options"] = {k: v for k, v in merged_options.items() if v}
        if "url" in values and values["url"] != current.url:
            # A new origin: validators and digest of the old one mean nothing there.
            values.update(etag=None, last_modified=None, content_digest=None)
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

    # -- assets -----------------------------------------------------------------------------------------------

    def get_asset(self, asset_id: str) -> dict[str, Any]:
        with self._read() as conn:
            row = conn.execute(select(assets).where(assets.c.id == asset_id)).first()
        if row is None:
            raise NotFound(f"no asset with id {asset_id!r}")
        return _asset_row_to_json(row)

    def list_assets(
        self, service: str, *, source_id: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[dict[str, Any]]:
        """A service's assets, newest first, optionally of one source."""
        query = select(assets).where(assets.c.service == service)
        if source_id is not None:
            query = query.where(assets.c.source_id == source_id)
        query = query.order_by(assets.c.created_at.desc(), assets.c.id).limit(limit).offset(offset)
        with self._read() as conn:
            self.require_service(service, conn)
            return [_asset_row_to_json(row) for row in conn.execute(query)]

    def edit_asset(self, asset_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """A CMS edit: set fields (JSON form values) and record them in `edited_fields`."""
        columns: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in ASSET_FIELDS:
                raise InvalidInput(f"unknown asset field {name!r}: editable fields are {', '.join(ASSET_FIELDS)}")
            try:
                parsed = field_from_json(name, value)
                canonical = field_to_json(name, parsed)
            except (TypeError, ValueError, KeyError, AttributeError) as exc:
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
        columns = (assets.c.id, assets.c.external_id, assets.c.content_hash, assets.c.status, assets.c.edited_fields)
        with self._read() as conn:
            for start in range(0, len(external_ids), LOOKUP_CHUNK):
                chunk = external_ids[start : start + LOOKUP_CHUNK]
                query = select(*columns).where(assets.c.source_id == source_id, assets.c.external_id.in_(chunk))
                for asset_id, external_id, digest, status, edited in conn.execute(query):
                    found[external_id] = ExistingAsset(asset_id, external_id, digest, status, tuple(edited or ()))
        return found

    def current_values(self, asset_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The origin fields (JSON form) of the given assets, by id; one query per chunk."""
        found: dict[str, dict[str, Any]] = {}
        with self._read() as conn:
            for start in range(0, len(asset_ids), LOOKUP_CHUNK):
                query = select(assets).where(assets.c.id.in_(asset_ids[start : start + LOOKUP_CHUNK]))
                for row in conn.execute(query):
                    found[row.id] = _asset_row_to_json(row)
        return found

    def write_assets(self, source: Source, writes: Sequence[AssetWrite], *, imported_at: datetime) -> None:
        """Upsert the assets of an import on (source_id, external_id), in sorted, batched transactions.

        Upserting makes a re-run after a crash converge: rows a dead run already wrote are updated, not
        duplicated. Sorted keys keep concurrent Postgres writers from deadlocking.
        """
        if not writes:
            return
        statement = self._insert(assets)
        fixed = {"id", "created_at", "service", "source_id", "external_id"}
        rows = [
            {
                "id": write.asset_id,
                "service": source.service,
                "source_id": source.id,
                "external_id": write.external_id,
                **asset_json_to_columns(write.values),
                "status": write.status,
                "content_hash": write.content_hash,
                "edited_fields": list(write.edited_fields),
                "created_at": imported_at,
                "updated_at": imported_at,
                "last_imported_at": imported_at,
            }
            for write in sorted(writes, key=lambda w: w.external_id)
        ]
        statement = statement.on_conflict_do_update(
            index_elements=[assets.c.source_id, assets.c.external_id],
            set_={name: statement.excluded[name] for name in rows[0] if name not in fixed},
        )
        for start in range(0, len(rows), WRITE_BATCH):
            with self._write() as conn:
                conn.execute(statement, rows[start : start + WRITE_BATCH])

    def count_assets(self, source_id: str) -> int:
        with self._read() as conn:
            return conn.execute(select(func.count()).where(assets.c.source_id == source_id)).scalar_one()

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
            **{name: int(counts.get(name, 0)) for name in _COUNT_COLUMNS},
        }
        with self._write() as conn:
            conn.execute(insert(import_results).values(**header))
            batch: list[dict[str, Any]] = []
            for position, item in enumerate(items):
                batch.append(
                    {
                        "result_id": result["id"],
                        "position": position,
                        "external_id": item.external_id,
                        "asset_id": item.asset_id,
                        "outcome": str(item.outcome),
                        "reason": item.reason,
                        "errors": item.errors or None,
                        "kept_fields": item.kept_fields or None,
                        "data": item.data,
                    }
                )
                if len(batch) >= WRITE_BATCH:
                    conn.execute(insert(import_result_items), batch)
                    batch = []
            if batch:
                conn.execute(insert(import_result_items), batch)

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
            "counts": {name: m[name] for name in _COUNT_COLUMNS},
        }

    def list_results(self, *, source_id: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        """Import results, newest first, without their items."""
        query = select(import_results).order_by(import_results.c.started_at.desc()).limit(limit)
        if source_id is not None:
            query = query.where(import_results.c.source_id == source_id)
        with self._read() as conn:
            return [self._result_header(row) for row in conn.execute(query)]

    def result_for_run(self, run_id: str) -> dict[str, Any] | None:
        """The ImportResult a Dagster run recorded, with its items; None if it recorded none."""
        with self._read() as conn:
            result_id = conn.execute(
                select(import_results.c.id).where(import_results.c.run_id == run_id)
            ).scalar_one_or_none()
        return None if result_id is None else self.get_result(result_id)

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
        return self.get_result(result["id"])

    def get_result(self, result_id: str, *, items: bool = True) -> dict[str, Any]:
        """One import result with its items in the order the import produced them."""
        with self._read() as conn:
            row = conn.execute(select(import_results).where(import_results.c.id == result_id)).first()
            if row is None:
                raise NotFound(f"no import result with id {result_id!r} (see `data-agent results list`)")
            result = self._result_header(row)
            if items:
                query = (
                    select(import_result_items)
                    .where(import_result_items.c.result_id == result_id)
                    .order_by(import_result_items.c.position)
                )
                result["items"] = [
                    ItemOutcome(
                        outcome=m["outcome"],
                        external_id=m["external_id"],
                        asset_id=m["asset_id"],
                        reason=m["reason"],
                        errors=list(m["errors"] or []),
                        kept_fields=list(m["kept_fields"] or []),
                        data=m["data"],
                    ).to_json()
                    for m in (r._mapping for r in conn.execute(query))
                ]
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
