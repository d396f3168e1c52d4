"""Sources in the catalog: their settings (credentials encrypted), their schedule and their import bookkeeping."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import bindparam, case, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..clock import Clock, new_id
from ..errors import Conflict, InvalidInput, NotFound
from ..model import REDACTED, Source, isoformat
from ..schedule import format_duration
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
from .database import LOOKUP_CHUNK, Database
from .schema import assets, sources
from .services import Services

_IMPORT_SETTINGS = ("kind", "url", "asset_type", "truth", "on_missing", "max_removal_fraction")


@dataclass(frozen=True, slots=True)
class DueSource:
    """What the heartbeat needs to know of a due source: no settings, no credentials."""

    id: str
    service: str
    kind: str
    next_run_at: datetime
    every_seconds: int | None
    cron: str | None


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


def _not_found(source_id: str) -> NotFound:
    return NotFound(f"no source with id {source_id!r} (see `data-agent sources list`)")


class Sources:
    """The sources of a catalog (used through `Catalog`). Credentials are encrypted with the catalog's cipher."""

    def __init__(
        self,
        database: Database,
        cipher: CredentialCipher,
        clock: Clock,
        services: Services,
        allow_hosts: Sequence[str],
    ) -> None:
        self.database = database
        self.cipher = cipher
        self.clock = clock
        self.services = services
        self.allow_hosts = tuple(allow_hosts)

    def from_row(self, row: Any) -> Source:
        """The Source a `sources` row holds, its credentials decrypted."""
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

    def add(self, service: str, changes: SourceChanges, *, allow_hosts: Sequence[str] = ()) -> Source:
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
            with self.database.write() as conn:
                self.services.require(service, conn)
                conn.execute(insert(sources).values(**row))
        except IntegrityError:
            raise Conflict(f"service {service!r} already has a source named {values['name']!r}") from None
        return self.get(row["id"])

    def _refuse_unsafe_urls(self, values: dict[str, Any], changes: SourceChanges, allow_hosts: Sequence[str]) -> None:
        """Refuse the addresses a source's settings give (its URL, URL-valued options) that may not be fetched."""
        for url in (values.get("url"), *(changes.options.get(key) for key in url_options())):
            if url:
                refuse_unsafe_url(url, (*self.allow_hosts, *allow_hosts))

    def get(self, source_id: str) -> Source:
        """The source with its credentials decrypted; NotFound if there is none."""
        with self.database.read() as conn:
            row = conn.execute(select(sources).where(sources.c.id == source_id)).first()
        if row is None:
            raise _not_found(source_id)
        return self.from_row(row)

    def list(self, service: str | None = None) -> list[Source]:
        """Sources, optionally of one service, by service then name."""
        query = select(sources).order_by(sources.c.service, sources.c.name)
        with self.database.read() as conn:
            if service is not None:
                self.services.require(service, conn)
                query = query.where(sources.c.service == service)
            return [self.from_row(row) for row in conn.execute(query)]

    def edit(self, source_id: str, changes: SourceChanges, *, allow_hosts: Sequence[str] = ()) -> Source:
        """Apply the given settings; `KEY=` (empty value) removes a credential or option."""
        values = validate_changes(changes, creating=False)
        self._refuse_unsafe_urls(values, changes, allow_hosts)
        current = self.get(source_id)
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
            with self.database.write() as conn:
                conn.execute(update(sources).where(sources.c.id == source_id).values(**values))
        except IntegrityError:
            raise Conflict(f"service {current.service!r} already has a source named {values.get('name')!r}") from None
        return self.get(source_id)

    def set_enabled(self, source_id: str, enabled: bool) -> Source:
        """Enable or disable a source (a disabled source is never due)."""
        with self.database.write() as conn:
            done = conn.execute(
                update(sources).where(sources.c.id == source_id).values(enabled=enabled, updated_at=self.clock())
            )
        if done.rowcount == 0:
            raise _not_found(source_id)
        return self.get(source_id)

    def delete(self, source_id: str) -> Source:
        """Delete a source. Its assets stay in the catalog, detached; its import results stay as history."""
        source = self.get(source_id)
        with self.database.write() as conn:
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
        with self.database.write() as conn:
            conn.execute(update(sources).where(sources.c.id == source_id).values(**values))

    def ids(self) -> list[str]:
        """The id of every source, enabled or not (the heartbeat keeps one Dagster partition per source)."""
        with self.database.read() as conn:
            return list(conn.execute(select(sources.c.id)).scalars())

    def due(self, now: datetime, *, limit: int) -> list[DueSource]:
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
        with self.database.read() as conn:
            return [DueSource(*row) for row in conn.execute(query)]

    def schedule(self, next_runs: Mapping[str, datetime]) -> None:
        """Set `next_run_at` of many sources: one `UPDATE … CASE id …` per chunk, keys sorted, one transaction."""
        keys = sorted(next_runs)
        with self.database.write() as conn:
            for start in range(0, len(keys), LOOKUP_CHUNK // 2):
                chunk = keys[start : start + LOOKUP_CHUNK // 2]
                column_type = sources.c.next_run_at.type
                when = case({key: bindparam(None, next_runs[key], column_type) for key in chunk}, value=sources.c.id)
                conn.execute(update(sources).where(sources.c.id.in_(chunk)).values(next_run_at=when))
