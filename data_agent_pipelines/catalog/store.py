"""The Catalog: the one object callers hold. It opens the database once (engine, migrations) and answers through
per-entity repositories, which all read and write through its `database` (see `database.py`).

Callers use the Catalog's methods; the repositories of services, sources, assets and import results are its own.
Export targets, API keys and source locks are repositories callers build on a Catalog (`ExportTargets(catalog)`,
`ApiKeys(catalog)`, `locks.acquire(catalog, …)`), through the same public transactions.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine

from ..clock import Clock, utc_now
from ..model import (
    AssetWrite,
    ExistingAsset,
    ImportResult,
    ImportStatus,
    ItemOutcome,
    KnownAsset,
    RunRecorded,
    Source,
)
from ..model.item_runs import PlainRun
from ..settings import Settings
from .assets import Assets
from .crypto import CredentialCipher
from .cursor import AssetQuery
from .database import WRITE_BATCH, Database
from .engine import make_engine
from .migrate import ensure_current
from .outbox import enqueue_events
from .results import ImportResults
from .services import Services
from .sources import DueSource, Sources, SourceSchedule


class Catalog:
    """The catalog store. Plain Python: no Dagster, no connectors."""

    def __init__(
        self,
        engine: Engine,
        cipher: CredentialCipher,
        *,
        clock: Clock = utc_now,
        allow_hosts: Sequence[str] = (),
        feed_folder: Path | None = None,
    ):
        self.engine = engine
        self.database = Database(engine)
        self.cipher = cipher
        self.clock = clock
        self.allow_hosts = tuple(allow_hosts)  # DATA_AGENT_ALLOW_HOSTS: URLs a source may point at although private
        self.feed_folder = feed_folder  # DATA_AGENT_FEED_FOLDER: the one folder a source's file:/// URL may name
        self._services = Services(self.database, clock)
        self._sources = Sources(self.database, cipher, clock, self._services)
        self._assets = Assets(self.database, clock, self._services, self._sources)
        self._results = ImportResults(self.database, clock)

    @classmethod
    def open(cls, settings: Settings, *, clock: Clock = utc_now, migrate: bool = True) -> Catalog:
        """Connect to the configured database, bringing it to the current schema revision first."""
        engine = make_engine(settings.database_url)
        if migrate:
            ensure_current(engine)
        return cls(
            engine,
            CredentialCipher.from_settings(settings),
            clock=clock,
            allow_hosts=settings.allow_hosts,
            feed_folder=settings.feed_folder,
        )

    def close(self) -> None:
        """Close the catalog's connections."""
        self.engine.dispose()

    # -- services ---------------------------------------------------------------------------------------------

    def add_service(self, name: str) -> dict[str, Any]:
        """Create a service (a tenant); names are lower-case slugs."""
        return self._services.add(name)

    def list_services(self) -> list[dict[str, Any]]:
        """Every service with how many sources and assets it has, by name."""
        return self._services.list()

    def require_service(self, name: str, conn: Connection | None = None) -> None:
        """Raise NotFound unless the service exists (read in `conn` when given, else in a transaction of its own)."""
        self._services.require(name, conn)

    # -- sources ----------------------------------------------------------------------------------------------

    def insert_source(self, service: str, values: Mapping[str, Any]) -> Source:
        """Store a new source from checked settings; `source_settings.add_source` checks a user's and calls this."""
        return self._sources.add(service, values)

    def get_source(self, source_id: str) -> Source:
        """The source with its credentials decrypted; NotFound if there is none."""
        return self._sources.get(source_id)

    def list_sources(self, service: str | None = None) -> list[Source]:
        """Sources, optionally of one service, by service then name."""
        return self._sources.list(service)

    def update_source(self, source_id: str, values: Mapping[str, Any]) -> Source:
        """Apply checked changes to a source; `source_settings.edit_source` checks a user's and calls this."""
        return self._sources.update(source_id, values)

    def set_enabled(self, source_id: str, enabled: bool) -> Source:
        """Enable or disable a source (a disabled source is never due)."""
        return self._sources.set_enabled(source_id, enabled)

    def delete_source(self, source_id: str) -> Source:
        """Delete a source. Its assets stay in the catalog, detached; its import results stay as history."""
        return self._sources.delete(source_id)

    def record_run(
        self,
        source_id: str,
        *,
        status: str,
        error: str | None,
        ran_at: datetime,
        validators: dict[str, str | None] | None = None,
        started_at: datetime | None = None,
        result_id: str | None = None,
    ) -> RunRecorded:
        """Bookkeeping after an import: last run, status, error, (when given) the HTTP validators, the next run
        moved on when the import started at `started_at` served a due slot, the streak of failures with the pause
        or recovery it brings; and, in the same transaction, the notifications of the import (of `result_id`)
        queued for the service's webhooks."""
        with self.database.write() as conn:
            recorded = self._sources.record_run(
                conn,
                source_id,
                status=status,
                error=error,
                ran_at=ran_at,
                validators=validators,
                started_at=started_at,
            )
            enqueue_events(conn, recorded, result_id=result_id, now=ran_at)
        return recorded

    def resume_source(self, source_id: str) -> Source:
        """Lift a source's pause; it is due at once (its failures in a row are kept: see `Sources.resume`)."""
        return self._sources.resume(source_id)

    def source_ids(self) -> list[str]:
        """The id of every source, enabled or not (the heartbeat keeps one Dagster partition per source)."""
        return self._sources.ids()

    def source_schedules(self) -> list[SourceSchedule]:
        """Every source's schedule and last success (the freshness sensor reads them all at once)."""
        return self._sources.schedules()

    def due_sources(self, now: datetime, *, limit: int) -> list[DueSource]:
        """Enabled, unpaused sources whose `next_run_at` has come, oldest first, at most `limit`."""
        return self._sources.due(now, limit=limit)

    def schedule_sources(self, next_runs: Mapping[str, datetime]) -> None:
        """Set `next_run_at` of many sources, keys sorted, in one transaction."""
        self._sources.schedule(next_runs)

    # -- assets -----------------------------------------------------------------------------------------------

    def get_asset(self, asset_id: str) -> dict[str, Any]:
        """An asset in JSON form; NotFound if there is none."""
        return self._assets.get(asset_id)

    def asset_with_source(self, asset_id: str) -> tuple[dict[str, Any], Source | None]:
        """An asset and its source (None when it has none any more), read in one transaction: the playback path."""
        return self._assets.with_source(asset_id)

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
        query = AssetQuery(service, source_id, asset_type, status)
        return self._assets.page(query, limit=limit, cursor=cursor, peek=False)[0]

    def list_assets_page(
        self, query: AssetQuery, *, limit: int, cursor: str | None = None, peek: bool = True
    ) -> tuple[list[dict[str, Any]], bool]:
        """A page of assets, newest first (`created_at DESC, id`), after `cursor`; and whether more follow."""
        return self._assets.page(query, limit=limit, cursor=cursor, peek=peek)

    def edit_asset(self, asset_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """A CMS edit: set fields (JSON form values) and record them in `edited_fields`."""
        return self._assets.edit(asset_id, changes)

    def count_assets(self, source_id: str) -> int:
        """How many assets a source has."""
        return self._assets.count(source_id)

    def iter_asset_batches(
        self,
        service: str,
        *,
        source_id: str | None = None,
        asset_type: str | None = None,
        batch_size: int = WRITE_BATCH,
    ) -> Iterator[list[dict[str, Any]]]:
        """A service's assets (JSON form) in batches by id, one short query per batch (what an export reads)."""
        return self._assets.batches(service, source_id=source_id, asset_type=asset_type, batch_size=batch_size)

    def existing_assets(self, source_id: str, external_ids: Sequence[str]) -> dict[str, ExistingAsset]:
        """Bulk lookup by external id, one query per chunk, never one per item."""
        return self._assets.existing(source_id, external_ids)

    def known_origin_digests(self, source_id: str, *, policy: str) -> dict[str, KnownAsset]:
        """By origin digest: the source's assets whose unchanged item an import may decide without mapping it."""
        return self._assets.known_origin_digests(source_id, policy=policy)

    def record_origin_digests(self, digests: Sequence[tuple[str, str]]) -> None:
        """Store the origin digest of assets an import left unchanged, as (asset id, digest) pairs, batched."""
        self._assets.record_origin_digests(digests)

    def current_state(self, asset_ids: Sequence[str]) -> dict[str, tuple[dict[str, Any], str | None]]:
        """By asset id: the origin fields (JSON form) and the per-field hashes of the last import."""
        return self._assets.current_state(asset_ids)

    def source_assets(self, source_id: str) -> Iterator[tuple[str, str, str]]:
        """(external id, asset id, status) of every asset of a source, streamed in chunks."""
        return self._assets.of_source(source_id)

    def write_assets(
        self,
        source: Source,
        writes: Sequence[AssetWrite],
        *,
        imported_at: datetime,
        planned_at: datetime | None = None,
    ) -> dict[str, str]:
        """Upsert the assets of an import in sorted, batched transactions; return, by external id, the writes the
        catalog refused and why (a refused batch is written again row by row, so the offending row fails alone)."""
        return self._assets.write(source, writes, imported_at=imported_at, planned_at=planned_at)

    def remove_assets(self, action: str, asset_ids: Sequence[str], *, at: datetime) -> None:
        """Unpublish or delete assets by id, in sorted batches."""
        self._assets.remove(action, asset_ids, at=at)

    # -- import results ---------------------------------------------------------------------------------------

    def record_result(self, result: ImportResult, items: Iterable[ItemOutcome | PlainRun]) -> None:
        """Store an ImportResult header and its items (batched; a PlainRun stands for one item per member)."""
        self._results.record(result, items)

    def list_results(self, *, source_id: str | None = None, limit: int = 20, offset: int = 0) -> list[ImportResult]:
        """Import results, newest first, without their items."""
        return self._results.list(source_id=source_id, limit=limit, offset=offset)

    def result_for_run(self, run_id: str, *, items: bool = True) -> ImportResult | None:
        """The ImportResult a Dagster run recorded (with its items unless told not to); None if it recorded none."""
        return self._results.for_run(run_id, items=items)

    def record_failed_run(
        self, source: Source, *, run_id: str | None, error: str, dry_run: bool
    ) -> tuple[ImportResult, RunRecorded | None]:
        """Record a failed ImportResult for a run that died before it could record its own, and (unless it was a
        dry run) the failure on the source, as `record_run` does."""
        result = self._results.record_failed_run(source, run_id=run_id, error=error, dry_run=dry_run)
        if dry_run:
            return result, None
        recorded = self.record_run(
            source.id, status=str(ImportStatus.FAILED), error=error, ran_at=result.started_at, result_id=result.id
        )
        return result, recorded

    def iter_result_items(
        self, result_id: str, *, outcomes: Sequence[str] = (), limit: int | None = None, offset: int = 0
    ) -> Iterator[ItemOutcome]:
        """A result's items (optionally of some outcomes) in the order the import produced them, streamed."""
        return self._results.iter_items(result_id, outcomes=outcomes, limit=limit, offset=offset)

    def result_items(self, result_id: str, *, limit: int, offset: int = 0) -> tuple[list[ItemOutcome], int]:
        """One page of a result's items in the order the import produced them, and how many it has in all."""
        return self._results.items(result_id, limit=limit, offset=offset)

    def get_result(self, result_id: str, *, items: bool = True) -> ImportResult:
        """One import result, with its items (all of them: large results are better streamed by `iter_result_items`)."""
        return self._results.get(result_id, items=items)
