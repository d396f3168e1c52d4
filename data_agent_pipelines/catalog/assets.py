"""Assets in the catalog: CMS reads and edits one at a time, and the set-based reads and writes of an import
(bulk lookups by chunk, batched upserts in key order, a refused batch retried row by row)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Text, bindparam, cast, delete, func, select, update

from ..clock import Clock
from ..errors import InvalidInput, NotFound
from ..limits import check_field
from ..model import (
    ASSET_FIELDS,
    AssetWrite,
    ExistingAsset,
    KnownAsset,
    Source,
    field_from_json,
    field_to_json,
    isoformat,
    parse_instant,
)
from .bulk import AssetUpsert, execute_many
from .cursor import AssetQuery
from .database import LOOKUP_CHUNK, WRITE_BATCH, Database
from .driver_errors import refusal, refused_by_data
from .schema import assets, sources
from .services import Services
from .sources import Sources


def asset_row_to_json(row: Any) -> dict[str, Any]:
    """The JSON form of an `assets` row (as the CLI, the API and exports show an asset)."""
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


def _not_found(asset_id: str) -> NotFound:
    return NotFound(f"no asset with id {asset_id!r}")


_NO_EDITS = frozenset(("[]", "null"))  # the stored text of an asset without CMS edits


class Assets:
    """The assets of a catalog (used through `Catalog`)."""

    def __init__(self, database: Database, clock: Clock, services: Services, sources: Sources) -> None:
        self.database = database
        self.clock = clock
        self.services = services
        self.sources = sources
        self._upsert: AssetUpsert | None = None  # compiled on the first import's write, then reused

    # -- one asset at a time: the CMS, the API, playback ------------------------------------------------------

    def get(self, asset_id: str) -> dict[str, Any]:
        """An asset in JSON form; NotFound if there is none."""
        with self.database.read() as conn:
            row = conn.execute(select(assets).where(assets.c.id == asset_id)).first()
        if row is None:
            raise _not_found(asset_id)
        return asset_row_to_json(row)

    def with_source(self, asset_id: str) -> tuple[dict[str, Any], Source | None]:
        """An asset and its source (None when it has none any more), read in one transaction: the playback path."""
        with self.database.read() as conn:
            row = conn.execute(select(assets).where(assets.c.id == asset_id)).first()
            if row is None:
                raise _not_found(asset_id)
            source_row = None
            if row.source_id is not None:
                source_row = conn.execute(select(sources).where(sources.c.id == row.source_id)).first()
        return asset_row_to_json(row), (None if source_row is None else self.sources.from_row(source_row))

    def page(
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
        with self.database.read() as conn:
            self.services.require(query.service, conn)
            if cursor is None:
                rows = list(conn.execute(base.order_by(*newest_first).limit(wanted)))
            else:
                created_at, after_id = query.position(cursor)
                tied = base.where(assets.c.created_at == created_at, assets.c.id > after_id)
                rows = list(conn.execute(tied.order_by(assets.c.id).limit(wanted)))
                if len(rows) < wanted:
                    older = base.where(assets.c.created_at < created_at).order_by(*newest_first)
                    rows += list(conn.execute(older.limit(wanted - len(rows))))
        items = [asset_row_to_json(row) for row in rows[:limit]]
        return items, len(rows) > limit

    def edit(self, asset_id: str, changes: dict[str, Any]) -> dict[str, Any]:
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
        with self.database.write() as conn:
            row = conn.execute(
                select(assets.c.edited_fields, assets.c.source_id).where(assets.c.id == asset_id)
            ).first()
            if row is None:
                raise _not_found(asset_id)
            edited = sorted(set(row[0] or []) | set(changes))
            conn.execute(
                update(assets)
                .where(assets.c.id == asset_id)
                .values(**columns, edited_fields=edited, updated_at=self.clock())
            )
            # Under `importer` the origin wins over an edit at the next import, even when the origin did not
            # change: that import must read the items again, so neither a 304 nor the last document's digest may
            # end it early. (Platforms read incrementally re-read an unchanged item at their next full sweep.)
            conn.execute(
                update(sources)
                .where(sources.c.id == row.source_id, sources.c.truth == "importer")
                .values(etag=None, last_modified=None, content_digest=None)
            )
        return self.get(asset_id)

    def count(self, source_id: str) -> int:
        """How many assets a source has."""
        with self.database.read() as conn:
            return conn.execute(select(func.count()).where(assets.c.source_id == source_id)).scalar_one()

    def batches(
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
            with self.database.read() as conn:
                page = query if last is None else query.where(assets.c.id > last)
                batch = [asset_row_to_json(row) for row in conn.execute(page)]
            if not batch:
                return
            yield batch
            if len(batch) < batch_size:
                return
            last = batch[-1]["id"]

    # -- sets of assets: an import ----------------------------------------------------------------------------

    def existing(self, source_id: str, external_ids: Sequence[str]) -> dict[str, ExistingAsset]:
        """Bulk lookup by external id, one query per chunk, never one per item."""
        found: dict[str, ExistingAsset] = {}
        if not external_ids:
            return found
        columns = (
            assets.c.id,
            assets.c.external_id,
            assets.c.content_hash,
            assets.c.status,
            cast(assets.c.edited_fields, Text),  # as text: nearly always an empty list, not worth decoding
            assets.c.origin_digest,
        )
        with self.database.read() as conn:
            for start in range(0, len(external_ids), LOOKUP_CHUNK):
                chunk = external_ids[start : start + LOOKUP_CHUNK]
                query = select(*columns).where(assets.c.source_id == source_id, assets.c.external_id.in_(chunk))
                for asset_id, external_id, content_hash, status, edited, origin_digest in conn.execute(query).all():
                    fields = () if edited is None or edited in _NO_EDITS else tuple(json.loads(edited) or ())
                    found[external_id] = ExistingAsset(
                        asset_id, external_id, content_hash, status, fields, origin_digest
                    )
        return found

    def known_origin_digests(self, source_id: str, *, policy: str) -> dict[str, KnownAsset]:
        """By origin digest: the source's assets whose unchanged item an import may decide without mapping it.

        Only assets that a re-read of the same item would leave as they are: published ones and, under the
        `importer` policy (which restores CMS edits), only those without CMS edits.
        """
        # The edited fields as their stored JSON text: nearly every asset has none, and decoding an empty list per
        # asset cost more than the query.
        edited_text = cast(assets.c.edited_fields, Text)
        query = select(assets.c.origin_digest, assets.c.external_id, assets.c.id, edited_text).where(
            assets.c.source_id == source_id, assets.c.origin_digest.is_not(None), assets.c.status == "published"
        )
        known: dict[str, KnownAsset] = {}
        with self.database.read() as conn:
            for digest, external_id, asset_id, edited in conn.execute(query.execution_options(yield_per=5000)):
                fields = () if edited is None or edited in _NO_EDITS else tuple(sorted(json.loads(edited) or ()))
                if fields and policy == "importer":
                    continue
                known[digest] = KnownAsset(external_id, asset_id, fields)
        return known

    def record_origin_digests(self, digests: Sequence[tuple[str, str]]) -> None:
        """Store the origin digest of assets an import left unchanged, as (asset id, digest) pairs, batched."""
        statement = update(assets).where(assets.c.id == bindparam("asset_id")).values(origin_digest=bindparam("digest"))
        ordered = sorted(digests)
        for start in range(0, len(ordered), WRITE_BATCH):
            batch = [
                {"asset_id": asset_id, "digest": digest} for asset_id, digest in ordered[start : start + WRITE_BATCH]
            ]
            with self.database.write() as conn:
                conn.execute(statement, batch)

    def current_state(self, asset_ids: Sequence[str]) -> dict[str, tuple[dict[str, Any], str | None]]:
        """By asset id: the origin fields (JSON form) and the per-field hashes of the last import."""
        found: dict[str, tuple[dict[str, Any], str | None]] = {}
        if not asset_ids:
            return found
        with self.database.read() as conn:
            for start in range(0, len(asset_ids), LOOKUP_CHUNK):
                query = select(assets).where(assets.c.id.in_(asset_ids[start : start + LOOKUP_CHUNK]))
                for row in conn.execute(query):
                    found[row.id] = (asset_row_to_json(row), row.origin_hashes)
        return found

    def of_source(self, source_id: str) -> Iterator[tuple[str, str, str]]:
        """(external id, asset id, status) of every asset of a source, streamed in chunks."""
        query = (
            select(assets.c.external_id, assets.c.id, assets.c.status)
            .where(assets.c.source_id == source_id)
            .execution_options(yield_per=LOOKUP_CHUNK)
        )
        with self.database.read() as conn:
            yield from (tuple(row) for row in conn.execute(query))

    def write(
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
        if self._upsert is None:
            self._upsert = AssetUpsert(self.database.engine.dialect, self.database.insert(assets))
        upsert = self._upsert
        planned = planned_at or imported_at

        def upsert_all(batch: Sequence[AssetWrite]) -> None:
            with self.database.write() as conn:
                execute_many(conn, upsert, upsert.rows(source, batch, imported_at, planned), upsert.extras_of(planned))

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
                        refused[write.external_id] = refusal(single)
        return refused

    def remove(self, action: str, asset_ids: Sequence[str], *, at: datetime) -> None:
        """Unpublish or delete assets by id, in sorted batches."""
        ordered = sorted(asset_ids)
        for start in range(0, len(ordered), LOOKUP_CHUNK):
            chunk = ordered[start : start + LOOKUP_CHUNK]
            with self.database.write() as conn:
                if action == "delete":
                    conn.execute(delete(assets).where(assets.c.id.in_(chunk)))
                else:
                    conn.execute(
                        update(assets).where(assets.c.id.in_(chunk)).values(status="unpublished", updated_at=at)
                    )
