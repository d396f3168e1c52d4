"""Sources in the catalog: their settings (credentials encrypted), their schedule and their import bookkeeping."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, case, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..clock import Clock, new_id
from ..errors import Conflict, NotFound
from ..model import REDACTED, RunRecorded, Source, isoformat
from ..schedule import format_duration, next_run_after
from .crypto import CredentialCipher
from .database import LOOKUP_CHUNK, Database
from .schema import assets, sources
from .services import Services


@dataclass(frozen=True, slots=True)
class DueSource:
    """What the heartbeat needs to know of a due source: no settings, no credentials."""

    id: str
    service: str
    kind: str
    next_run_at: datetime
    every_seconds: int | None
    cron: str | None
    name: str  # for the run's tags


@dataclass(frozen=True, slots=True)
class SourceSchedule:
    """What the freshness check needs of a source, read for every source at once: no settings, no credentials."""

    id: str
    service: str
    name: str
    enabled: bool
    every_seconds: int | None
    cron: str | None
    created_at: datetime | None
    last_success_at: datetime | None


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
        "max_failed_fraction": source.max_failed_fraction,
        "asset_type": source.asset_type,
        "sign_streams": source.sign_streams,
        "options": dict(source.options),
        "credentials": dict.fromkeys(keys, REDACTED),
        "enabled": source.enabled,
        "created_at": isoformat(source.created_at),
        "updated_at": isoformat(source.updated_at),
        "last_run_at": isoformat(source.last_run_at),
        "last_success_at": isoformat(source.last_success_at),
        "next_run_at": isoformat(source.next_run_at),
        "last_status": source.last_status,
        "last_error": source.last_error,
        "etag": source.etag,
        "last_modified": source.last_modified,
        "pause_after": source.pause_after,
        "failures_in_a_row": source.failures_in_a_row,
        "paused": source.paused_at is not None,
        "paused_at": isoformat(source.paused_at),
        "paused_reason": source.paused_reason,
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
    ) -> None:
        self.database = database
        self.cipher = cipher
        self.clock = clock
        self.services = services

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
            max_failed_fraction=m["max_failed_fraction"],
            asset_type=m["asset_type"],
            options=dict(m["options"] or {}),
            credentials=self.cipher.decrypt(m["credentials"]),
            sign_streams=m["sign_streams"],
            enabled=m["enabled"],
            created_at=m["created_at"],
            updated_at=m["updated_at"],
            last_run_at=m["last_run_at"],
            next_run_at=m["next_run_at"],
            last_success_at=m["last_success_at"],
            last_status=m["last_status"],
            last_error=m["last_error"],
            etag=m["etag"],
            last_modified=m["last_modified"],
            content_digest=m["content_digest"],
            sync_state=dict(m["sync_state"] or {}),
            pause_after=m["pause_after"],
            failures_in_a_row=m["failures_in_a_row"],
            paused_at=m["paused_at"],
            paused_reason=m["paused_reason"],
        )

    def add(self, service: str, values: Mapping[str, Any]) -> Source:
        """Store a new source from settings already checked (`source_settings.add_source`); it is due at once.

        `values` are column values, with `credentials` in the clear: they are stored encrypted.
        """
        now = self.clock()
        row = {
            "id": new_id("src"),
            "service": service,
            "enabled": True,
            "created_at": now,
            "updated_at": now,
            "next_run_at": now,
            **values,
            "credentials": self.cipher.encrypt(dict(values.get("credentials") or {})),
        }
        try:
            with self.database.write() as conn:
                self.services.require(service, conn)
                conn.execute(insert(sources).values(**row))
        except IntegrityError:
            raise Conflict(f"service {service!r} already has a source named {values['name']!r}") from None
        return self.get(row["id"])

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

    def update(self, source_id: str, values: Mapping[str, Any]) -> Source:
        """Apply changes already checked (`source_settings.edit_source`); given credentials are stored encrypted."""
        values = {**values, "updated_at": self.clock()}
        if "credentials" in values:
            values["credentials"] = self.cipher.encrypt(dict(values["credentials"]))
        try:
            with self.database.write() as conn:
                done = conn.execute(update(sources).where(sources.c.id == source_id).values(**values))
        except IntegrityError:
            service = self.get(source_id).service
            raise Conflict(f"service {service!r} already has a source named {values.get('name')!r}") from None
        if done.rowcount == 0:
            raise _not_found(source_id)
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
        conn: Connection,
        source_id: str,
        *,
        status: str,
        error: str | None,
        ran_at: datetime,
        validators: dict[str, str | None] | None = None,
        started_at: datetime | None = None,
    ) -> RunRecorded:
        """Bookkeeping after an import, in `conn`: last run, status, error, (when given) the HTTP validators, the
        streak of failures, and the pause it reaches or the recovery that ends it.

        An import started at `started_at` that served a due slot moves the schedule on to the next slot, whoever
        launched it (an export does the same): a manual import of a due source is not repeated by the heartbeat.
        """
        values: dict[str, Any] = {"last_run_at": ran_at, "last_status": status, "last_error": error}
        if status != "failed":
            values["last_success_at"] = ran_at  # the freshness check measures from here
        if validators is not None:
            values.update(validators)
        columns = (
            sources.c.every_seconds,
            sources.c.cron,
            sources.c.next_run_at,
            sources.c.pause_after,
            sources.c.failures_in_a_row,
            sources.c.paused_at,
        )
        # FOR UPDATE (PostgreSQL): the streak is read and written back in one step, whoever else records a run.
        current = conn.execute(select(*columns).where(sources.c.id == source_id).with_for_update()).first()
        if current is None:  # deleted meanwhile: its history stays, there is nothing to mark
            return RunRecorded(source_id, status, failures_in_a_row=0, previous_failures=0)
        if started_at is not None and current.next_run_at is not None and current.next_run_at <= started_at:
            values["next_run_at"] = next_run_after(started_at, every_seconds=current.every_seconds, cron=current.cron)
        recorded = _streak(source_id, status, error, current)
        values["failures_in_a_row"] = recorded.failures_in_a_row
        if recorded.paused:
            values.update(paused_at=ran_at, paused_reason=recorded.paused_reason)
        elif recorded.recovered:
            values.update(paused_at=None, paused_reason=None)
        conn.execute(update(sources).where(sources.c.id == source_id).values(**values))
        return recorded

    def resume(self, source_id: str) -> Source:
        """Lift a source's pause: it is due at once (an unpaused source just becomes due).

        Its streak of failures stays: the next import that does not fail is its recovery (and says so), and one
        that fails again pauses it again at once, since nothing has changed for the better.
        """
        now = self.clock()
        with self.database.write() as conn:
            done = conn.execute(
                update(sources)
                .where(sources.c.id == source_id)
                .values(paused_at=None, paused_reason=None, next_run_at=now, updated_at=now)
            )
        if done.rowcount == 0:
            raise _not_found(source_id)
        return self.get(source_id)

    def ids(self) -> list[str]:
        """The id of every source, enabled or not (the heartbeat keeps one Dagster partition per source)."""
        with self.database.read() as conn:
            return list(conn.execute(select(sources.c.id)).scalars())

    def schedules(self) -> list[SourceSchedule]:
        """Every source's schedule and last success, by id (one query; nothing decrypted)."""
        columns = (
            sources.c.id,
            sources.c.service,
            sources.c.name,
            sources.c.enabled,
            sources.c.every_seconds,
            sources.c.cron,
            sources.c.created_at,
            sources.c.last_success_at,
        )
        with self.database.read() as conn:
            return [SourceSchedule(*row) for row in conn.execute(select(*columns).order_by(sources.c.id))]

    def due(self, now: datetime, *, limit: int) -> list[DueSource]:
        """Enabled, unpaused sources whose `next_run_at` has come, oldest first, at most `limit` (one indexed query)."""
        columns = (
            sources.c.id,
            sources.c.service,
            sources.c.kind,
            sources.c.next_run_at,
            sources.c.every_seconds,
            sources.c.cron,
            sources.c.name,
        )
        query = (
            select(*columns)
            .where(sources.c.enabled.is_(True), sources.c.paused_at.is_(None), sources.c.next_run_at <= now)
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


MAX_PAUSE_REASON_CHARS = 1000


def _streak(source_id: str, status: str, error: str | None, current: Any) -> RunRecorded:
    """The streak after an import of `status`: a failure adds one and pauses at `pause_after`; anything else ends
    it (a recovery, when there was one)."""
    previous = current.failures_in_a_row or 0
    if status != "failed":
        return RunRecorded(source_id, status, failures_in_a_row=0, previous_failures=previous, recovered=previous > 0)
    failures = previous + 1
    if current.paused_at is None and current.pause_after and failures >= current.pause_after:
        last = (error or "no error was recorded").strip()[:MAX_PAUSE_REASON_CHARS]
        reason = f"paused after {failures} failed imports in a row; the last one: {last}"
        return RunRecorded(
            source_id, status, failures_in_a_row=failures, previous_failures=previous, paused=True, paused_reason=reason
        )
    return RunRecorded(source_id, status, failures_in_a_row=failures, previous_failures=previous)
