"""Source locks: at most one import of a source at a time, across processes and machines (`source_locks`).

A lock names its holder (the Dagster run id) and expires, so a holder that died without releasing it stops
blocking the source at `expires_at`; a caller that can tell that the holder has ended (its run failed or was
cancelled) takes the lock over at once instead of waiting for the expiry.

Acquisition is one atomic statement on both backends: `INSERT … ON CONFLICT (source_id) DO UPDATE … WHERE the
lock expired or is already ours … RETURNING holder`. No row back means someone else holds it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import Conflict, NotFound
from .schema import source_locks
from .store import Catalog

# Enough for a holder that has ended and a fresh holder to race twice; a third loss means it is really busy.
_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class SourceLock:
    source_id: str
    holder: str
    acquired_at: datetime
    expires_at: datetime


class SourceBusy(Conflict):
    """Another import of the source holds its lock."""

    def __init__(self, source_id: str, holder: str):
        super().__init__(f"source {source_id} is busy: an import of it is running (run {holder})")
        self.source_id = source_id
        self.holder = holder


def acquire(
    catalog: Catalog,
    source_id: str,
    holder: str,
    *,
    ttl: timedelta,
    holder_has_ended: Callable[[SourceLock], bool] | None = None,
) -> SourceLock:
    """Take the source's lock for `holder` (re-taking one it already holds extends it).

    Raises SourceBusy when another live holder has it, NotFound when the source does not exist.
    `holder_has_ended(lock)` says whether another lock's holder is known to be finished, so the lock is stale.
    """
    current: SourceLock | None = None
    for _attempt in range(_ATTEMPTS):
        now = catalog.clock()
        expires_at = now + ttl
        statement = catalog.database.insert(source_locks).values(
            source_id=source_id, holder=holder, acquired_at=now, expires_at=expires_at
        )
        statement = statement.on_conflict_do_update(
            index_elements=[source_locks.c.source_id],
            set_={"holder": holder, "acquired_at": now, "expires_at": expires_at},
            where=or_(source_locks.c.expires_at <= now, source_locks.c.holder == holder),
        ).returning(source_locks.c.holder)
        try:
            with catalog.database.write() as conn:
                taken = conn.execute(statement).first()
        except IntegrityError:
            raise NotFound(f"no source with id {source_id!r} (see `data-agent sources list`)") from None
        if taken is not None:
            return SourceLock(source_id, holder, now, expires_at)
        current = held(catalog, source_id)
        if current is None:
            continue  # released (or expired) since our statement ran: try again
        if holder_has_ended is None or not holder_has_ended(current):
            raise SourceBusy(source_id, current.holder)
        if _take_over(catalog, current, holder, now, expires_at):
            return SourceLock(source_id, holder, now, expires_at)
    raise SourceBusy(source_id, current.holder if current else "unknown")


def _take_over(catalog: Catalog, stale: SourceLock, holder: str, now: datetime, expires_at: datetime) -> bool:
    # Conditional on the stale holder still having it: of two callers that both saw it ended, one wins.
    statement = (
        update(source_locks)
        .where(source_locks.c.source_id == stale.source_id, source_locks.c.holder == stale.holder)
        .values(holder=holder, acquired_at=now, expires_at=expires_at)
    )
    with catalog.database.write() as conn:
        return conn.execute(statement).rowcount == 1


def held(catalog: Catalog, source_id: str) -> SourceLock | None:
    """The source's lock if someone holds it and it has not expired."""
    query = select(source_locks).where(
        source_locks.c.source_id == source_id, source_locks.c.expires_at > catalog.clock()
    )
    with catalog.database.read() as conn:
        row = conn.execute(query).first()
    return None if row is None else SourceLock(row.source_id, row.holder, row.acquired_at, row.expires_at)


def release(catalog: Catalog, holder: str, *, source_id: str | None = None) -> int:
    """Release what `holder` holds (of one source, or all); returns how many locks it released."""
    statement = delete(source_locks).where(source_locks.c.holder == holder)
    if source_id is not None:
        statement = statement.where(source_locks.c.source_id == source_id)
    with catalog.database.write() as conn:
        return conn.execute(statement).rowcount
