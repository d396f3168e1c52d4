"""Export targets and export results in the catalog: every read and write of the two tables, on a `Catalog`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..clock import new_id
from ..errors import Conflict, NotFound
from ..export_settings import ExportTargetChanges, check_access, validate_changes
from ..model import REDACTED, ExportResult, ExportTarget, isoformat
from ..schedule import format_duration, next_run_after
from ..settings import get_settings
from ..user_input import merge_settings
from .schema import export_results, export_targets, sources
from .store import Catalog

# A lock whose holder died frees itself after this long; an export of 100,000 assets takes well under a minute.
LOCK_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class DueTarget:
    """What the heartbeat needs to know of a due export target (see `Catalog.due_sources`)."""

    id: str
    service: str
    format: str
    next_run_at: datetime
    every_seconds: int | None
    cron: str | None


def target_to_json(target: ExportTarget) -> dict[str, Any]:
    """The JSON form of a target; credential values are never included, only their names."""
    return {
        "id": target.id,
        "service": target.service,
        "url": target.url,
        "format": target.format,
        "every": format_duration(target.every_seconds) if target.every_seconds else None,
        "cron": target.cron,
        "source_id": target.source_id,
        "asset_type": target.asset_type,
        "options": dict(target.options),
        "credentials": dict.fromkeys(sorted(target.credentials), REDACTED),
        "enabled": target.enabled,
        "created_at": isoformat(target.created_at),
        "updated_at": isoformat(target.updated_at),
        "last_run_at": isoformat(target.last_run_at),
        "next_run_at": isoformat(target.next_run_at),
        "last_status": target.last_status,
        "last_error": target.last_error,
    }


class ExportTargets:
    """The export targets and results of a catalog. Credentials are encrypted with the catalog's cipher."""

    def __init__(self, catalog: Catalog, *, allow_hosts: Sequence[str] | None = None) -> None:
        self.catalog = catalog
        # Hosts an endpoint_url may name although private or loopback (DATA_AGENT_ALLOW_HOSTS).
        self.allow_hosts = tuple(get_settings().allow_hosts if allow_hosts is None else allow_hosts)

    # -- targets ----------------------------------------------------------------------------------------------

    def _from_row(self, row: Any) -> ExportTarget:
        m = row._mapping
        return ExportTarget(
            id=m["id"],
            service=m["service"],
            url=m["url"],
            format=m["format"],
            every_seconds=m["every_seconds"],
            cron=m["cron"],
            source_id=m["source_id"],
            asset_type=m["asset_type"],
            options=dict(m["options"] or {}),
            credentials=self.catalog.cipher.decrypt(m["credentials"]),
            enabled=m["enabled"],
            created_at=m["created_at"],
            updated_at=m["updated_at"],
            last_run_at=m["last_run_at"],
            next_run_at=m["next_run_at"],
            last_status=m["last_status"],
            last_error=m["last_error"],
        )

    def _check_source(self, conn: Any, service: str, source_id: str | None) -> None:
        if source_id is None:
            return
        found = conn.execute(select(sources.c.service).where(sources.c.id == source_id)).scalar_one_or_none()
        if found != service:
            raise NotFound(f"service {service!r} has no source with id {source_id!r} (see `data-agent sources list`)")

    def add(self, service: str, changes: ExportTargetChanges) -> ExportTarget:
        """Validate and store a new export target; it is due at once."""
        values = validate_changes(changes, creating=True, allow_hosts=self.allow_hosts)
        options = merge_settings({}, changes.options)
        credentials = merge_settings({}, changes.credentials)
        check_access(service, values["url"], options, credentials, platform_buckets=get_settings().export_buckets)
        now = self.catalog.clock()
        row = {
            "id": new_id("exp"),
            "service": service,
            "source_id": None,
            "asset_type": None,
            **values,
            "options": options,
            "credentials": self.catalog.cipher.encrypt(credentials),
            "enabled": True,
            "created_at": now,
            "updated_at": now,
            "next_run_at": now,
        }
        with self.catalog.database.write() as conn:
            self.catalog.require_service(service, conn)
            self._check_source(conn, service, row["source_id"])
            conn.execute(insert(export_targets).values(**row))
        return self.get(row["id"])

    def get(self, target_id: str) -> ExportTarget:
        """The target with its credentials decrypted; NotFound if there is none."""
        with self.catalog.database.read() as conn:
            row = conn.execute(select(export_targets).where(export_targets.c.id == target_id)).first()
        if row is None:
            raise NotFound(f"no export target with id {target_id!r} (see `data-agent exports list`)")
        return self._from_row(row)

    def list(self, service: str | None = None) -> list[ExportTarget]:
        """Targets, optionally of one service, by service then creation."""
        query = select(export_targets).order_by(
            export_targets.c.service, export_targets.c.created_at, export_targets.c.id
        )
        with self.catalog.database.read() as conn:
            if service is not None:
                self.catalog.require_service(service, conn)
                query = query.where(export_targets.c.service == service)
            return [self._from_row(row) for row in conn.execute(query)]

    def edit(self, target_id: str, changes: ExportTargetChanges) -> ExportTarget:
        """Apply the given settings; `KEY=` (empty value) removes a credential or option."""
        values = validate_changes(changes, creating=False, allow_hosts=self.allow_hosts)
        current = self.get(target_id)
        options = merge_settings(current.options, changes.options)
        credentials = merge_settings(current.credentials, changes.credentials)
        check_access(
            current.service,
            values.get("url", current.url),
            options,
            credentials,
            platform_buckets=get_settings().export_buckets,
        )
        values.update(options=options, updated_at=self.catalog.clock())
        if changes.credentials:
            values["credentials"] = self.catalog.cipher.encrypt(credentials)
        if "every_seconds" in values:
            # A new schedule starts now rather than at the old schedule's next slot.
            values["next_run_at"] = next_run_after(
                self.catalog.clock(), every_seconds=values["every_seconds"], cron=values["cron"]
            )
        with self.catalog.database.write() as conn:
            self._check_source(conn, current.service, values.get("source_id", current.source_id))
            conn.execute(update(export_targets).where(export_targets.c.id == target_id).values(**values))
        return self.get(target_id)

    def set_enabled(self, target_id: str, enabled: bool) -> ExportTarget:
        with self.catalog.database.write() as conn:
            done = conn.execute(
                update(export_targets)
                .where(export_targets.c.id == target_id)
                .values(enabled=enabled, updated_at=self.catalog.clock())
            )
        if done.rowcount == 0:
            raise NotFound(f"no export target with id {target_id!r} (see `data-agent exports list`)")
        return self.get(target_id)

    def delete(self, target_id: str) -> ExportTarget:
        """Delete a target; its export results stay as history and what it wrote stays in the bucket."""
        target = self.get(target_id)
        with self.catalog.database.write() as conn:
            conn.execute(delete(export_targets).where(export_targets.c.id == target_id))
        return target

    def due(self, now: datetime, limit: int) -> list[DueTarget]:
        """Enabled targets whose next run is at or before `now`, the longest-waiting first (index `..._due`).

        Only what the heartbeat needs: a tick reads no settings and decrypts no credentials.
        """
        columns = (
            export_targets.c.id,
            export_targets.c.service,
            export_targets.c.format,
            export_targets.c.next_run_at,
            export_targets.c.every_seconds,
            export_targets.c.cron,
        )
        query = (
            select(*columns)
            .where(export_targets.c.enabled.is_(True), export_targets.c.next_run_at <= now)
            .order_by(export_targets.c.next_run_at, export_targets.c.id)
            .limit(limit)
        )
        with self.catalog.database.read() as conn:
            return [DueTarget(*row) for row in conn.execute(query)]

    def ids(self) -> list[str]:
        """Every target id (the `exports` partitions the heartbeat keeps)."""
        with self.catalog.database.read() as conn:
            return list(conn.execute(select(export_targets.c.id)).scalars())

    def schedule(self, next_runs: Mapping[str, datetime]) -> None:
        """Record the next run of each target a run was requested for, in one transaction."""
        if not next_runs:
            return
        statement = (
            update(export_targets)
            .where(export_targets.c.id == bindparam("target_id"))
            .values(next_run_at=bindparam("next_run_at"))
        )
        rows = [{"target_id": key, "next_run_at": when} for key, when in sorted(next_runs.items())]
        with self.catalog.database.write() as conn:
            conn.execute(statement, rows)

    def _advance_if_due(self, conn: Any, target_id: str, started: datetime) -> None:
        """A run that served a due slot moves the schedule on, even if no scheduler marked the slot taken."""
        row = conn.execute(
            select(export_targets.c.every_seconds, export_targets.c.cron, export_targets.c.next_run_at).where(
                export_targets.c.id == target_id
            )
        ).first()
        if row is None or row.next_run_at is None or row.next_run_at > started:
            return
        following = next_run_after(started, every_seconds=row.every_seconds, cron=row.cron)
        conn.execute(update(export_targets).where(export_targets.c.id == target_id).values(next_run_at=following))

    # -- the lock: one export of a target at a time, whoever launched it --------------------------------------

    def acquire(self, target_id: str, holder: str) -> None:
        """Take the target's lock, or raise Conflict when another export of it is running."""
        now = self.catalog.clock()
        free = or_(export_targets.c.lock_holder.is_(None), export_targets.c.lock_expires_at < now)
        with self.catalog.database.write() as conn:
            done = conn.execute(
                update(export_targets)
                .where(and_(export_targets.c.id == target_id, free))
                .values(lock_holder=holder, lock_expires_at=now + timedelta(seconds=LOCK_SECONDS))
            )
        if done.rowcount == 0:
            self.get(target_id)  # NotFound first
            raise Conflict(f"an export of target {target_id!r} is already running; try again when it has finished")

    def release(self, target_id: str, holder: str) -> None:
        with self.catalog.database.write() as conn:
            conn.execute(
                update(export_targets)
                .where(export_targets.c.id == target_id, export_targets.c.lock_holder == holder)
                .values(lock_holder=None, lock_expires_at=None)
            )

    # -- results ----------------------------------------------------------------------------------------------

    def record_result(self, result: ExportResult) -> None:
        """Store an ExportResult and the target's bookkeeping (last run, status, error) in one transaction."""
        row = {
            "id": result.id,
            "target_id": result.target_id,
            "service": result.service,
            "run_id": result.run_id,
            "status": result.status,
            "format": result.format,
            "started_at": result.started_at,
            "finished_at": result.finished_at,
            "count": result.count,
            "objects": [dict(obj) for obj in result.objects],
            "manifest_key": result.manifest_key,
            "error": result.error,
        }
        bookkeeping = {"last_run_at": row["started_at"], "last_status": row["status"], "last_error": row["error"]}
        try:
            with self.catalog.database.write() as conn:
                conn.execute(insert(export_results).values(**row))
                conn.execute(
                    update(export_targets).where(export_targets.c.id == row["target_id"]).values(**bookkeeping)
                )
                self._advance_if_due(conn, row["target_id"], row["started_at"])
        except IntegrityError:
            raise Conflict(f"export result {row['id']!r} is already recorded") from None

    @staticmethod
    def _result(row: Any) -> ExportResult:
        m = row._mapping
        return ExportResult(
            id=m["id"],
            target_id=m["target_id"],
            service=m["service"],
            run_id=m["run_id"],
            status=m["status"],
            format=m["format"],
            count=m["count"],
            objects=list(m["objects"] or []),
            manifest_key=m["manifest_key"],
            error=m["error"],
            started_at=m["started_at"],
            finished_at=m["finished_at"],
        )

    def get_result(self, result_id: str) -> ExportResult:
        with self.catalog.database.read() as conn:
            row = conn.execute(select(export_results).where(export_results.c.id == result_id)).first()
        if row is None:
            raise NotFound(f"no export result with id {result_id!r} (see `data-agent exports results TARGET_ID`)")
        return self._result(row)

    def list_results(self, target_id: str | None = None, *, limit: int = 20) -> list[ExportResult]:
        """Export results, newest first."""
        query = select(export_results).order_by(export_results.c.started_at.desc(), export_results.c.id).limit(limit)
        if target_id is not None:
            query = query.where(export_results.c.target_id == target_id)
        with self.catalog.database.read() as conn:
            return [self._result(row) for row in conn.execute(query)]

    def result_for_run(self, run_id: str) -> ExportResult | None:
        """The ExportResult a Dagster run recorded; None if it recorded none."""
        with self.catalog.database.read() as conn:
            row = conn.execute(select(export_results).where(export_results.c.run_id == run_id)).first()
        return None if row is None else self._result(row)
