"""Webhooks of a service and their deliveries: the endpoints notifications go to, the outbox rows waiting for
them (written by `outbox.enqueue_events`), and every attempt at delivering one.

A webhook's signing secret is stored encrypted with the catalog's cipher, like source credentials, and is shown
in clear once, when the webhook is made.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update

from ..clock import new_id
from ..errors import CredentialsError, InvalidInput, NotFound
from ..model import isoformat
from .schema import webhook_attempts, webhook_deliveries, webhooks
from .store import Catalog

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix that makes a secret recognisable, not a secret
DELIVERY_STATUSES = ("pending", "delivered", "failed")


@dataclass(frozen=True, slots=True)
class DueDelivery:
    """A delivery claimed for an attempt: where it goes, what it carries, the secret it is signed with."""

    id: str
    service: str
    event: str
    url: str
    secret: str
    body: dict[str, Any]
    attempt: int  # the number of the attempt about to be made (1 for the first)


def _webhook_json(row: Any) -> dict[str, Any]:
    m = row._mapping
    return {
        "id": m["id"],
        "service": m["service"],
        "url": m["url"],
        "events": list(m["events"]),
        "created_at": isoformat(m["created_at"]),
        "updated_at": isoformat(m["updated_at"]),
    }


class Webhooks:
    """The webhooks of a catalog and their delivery outbox."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    # -- webhooks ----------------------------------------------------------------------------------------------

    def add(self, service: str, url: str, events: Sequence[str]) -> tuple[dict[str, Any], str | None]:
        """Subscribe `url` to a service's `events` (checked by the caller); a URL the service has already changes
        its events. Returns the webhook and, for a new one only, its signing secret (not shown again)."""
        now = self.catalog.clock()
        with self.catalog.database.write() as conn:
            self.catalog.require_service(service, conn)
            existing = conn.execute(
                select(webhooks.c.id).where(webhooks.c.service == service, webhooks.c.url == url)
            ).scalar_one_or_none()
            if existing is not None:
                conn.execute(
                    update(webhooks).where(webhooks.c.id == existing).values(events=list(events), updated_at=now)
                )
                webhook_id, secret = existing, None
            else:
                webhook_id, secret = new_id("whk"), SECRET_PREFIX + secrets.token_urlsafe(32)
                conn.execute(
                    insert(webhooks).values(
                        id=webhook_id,
                        service=service,
                        url=url,
                        events=list(events),
                        secret=self.catalog.cipher.encrypt_secret(secret),
                        created_at=now,
                        updated_at=now,
                    )
                )
            row = conn.execute(select(webhooks).where(webhooks.c.id == webhook_id)).one()
        return _webhook_json(row), secret

    def list(self, service: str) -> list[dict[str, Any]]:
        """A service's webhooks (never their secrets), oldest first."""
        query = select(webhooks).where(webhooks.c.service == service).order_by(webhooks.c.created_at, webhooks.c.id)
        with self.catalog.database.read() as conn:
            self.catalog.require_service(service, conn)
            return [_webhook_json(row) for row in conn.execute(query)]

    def remove(self, service: str, webhook_id: str) -> dict[str, Any]:
        """Remove a webhook of a service, with its deliveries (pending ones are not sent)."""
        with self.catalog.database.write() as conn:
            self.catalog.require_service(service, conn)
            row = conn.execute(
                select(webhooks).where(webhooks.c.id == webhook_id, webhooks.c.service == service)
            ).first()
            if row is None:
                raise NotFound(
                    f"service {service!r} has no webhook with id {webhook_id!r} (see `data-agent services webhooks`)"
                )
            # Explicitly, not by the foreign keys' cascade alone: SQLite enforces it only with foreign_keys on.
            ids = select(webhook_deliveries.c.id).where(webhook_deliveries.c.webhook_id == webhook_id)
            conn.execute(delete(webhook_attempts).where(webhook_attempts.c.delivery_id.in_(ids)))
            conn.execute(delete(webhook_deliveries).where(webhook_deliveries.c.webhook_id == webhook_id))
            conn.execute(delete(webhooks).where(webhooks.c.id == webhook_id))
        return {**_webhook_json(row), "removed": True}

    # -- deliveries --------------------------------------------------------------------------------------------

    def deliveries(self, service: str, *, limit: int = 50, status: str | None = None) -> list[dict[str, Any]]:
        """A service's deliveries, newest first, each with the webhook's URL and every attempt made; `status`
        (one of DELIVERY_STATUSES) keeps only those in that state."""
        if status is not None and status not in DELIVERY_STATUSES:
            raise InvalidInput(f"unknown delivery status {status!r}: use one of {', '.join(DELIVERY_STATUSES)}")
        query = (
            select(webhook_deliveries, webhooks.c.url)
            .join(webhooks, webhooks.c.id == webhook_deliveries.c.webhook_id)
            .where(webhook_deliveries.c.service == service)
            .order_by(webhook_deliveries.c.created_at.desc(), webhook_deliveries.c.id)
            .limit(limit)
        )
        if status is not None:
            query = query.where(webhook_deliveries.c.status == status)
        with self.catalog.database.read() as conn:
            self.catalog.require_service(service, conn)
            rows = list(conn.execute(query))
            attempts: dict[str, list[dict[str, Any]]] = {}
            if rows:
                for attempt in conn.execute(
                    select(webhook_attempts)
                    .where(webhook_attempts.c.delivery_id.in_([row.id for row in rows]))
                    .order_by(webhook_attempts.c.delivery_id, webhook_attempts.c.number)
                ):
                    attempts.setdefault(attempt.delivery_id, []).append(
                        {
                            "number": attempt.number,
                            "at": isoformat(attempt.at),
                            "status_code": attempt.status_code,
                            "error": attempt.error,
                            "duration_ms": attempt.duration_ms,
                        }
                    )
        return [
            {
                "id": row.id,
                "webhook_id": row.webhook_id,
                "url": row.url,
                "event": row.event,
                "source_id": row.source_id,
                "result_id": row.result_id,
                "status": row.status,
                "attempts": row.attempts,
                "created_at": isoformat(row.created_at),
                "next_attempt_at": isoformat(row.next_attempt_at) if row.status == "pending" else None,
                "delivered_at": isoformat(row.delivered_at),
                "last_error": row.last_error,
                "attempt_log": attempts.get(row.id, []),
            }
            for row in rows
        ]

    def claim_due(
        self, now: datetime, *, limit: int, lease: timedelta, service: str | None = None
    ) -> list[DueDelivery]:
        """Take up to `limit` pending deliveries that are due, oldest first, for one attempt each.

        Claiming moves their `next_attempt_at` past `lease`, in the transaction that reads them (rows locked,
        others' locked rows skipped, on PostgreSQL; SQLite's write lock serialises claims): two deliverers never
        send the same delivery at once, and a deliverer that dies leaves its claims due again after the lease.
        """
        query = (
            select(
                webhook_deliveries.c.id,
                webhook_deliveries.c.service,
                webhook_deliveries.c.event,
                webhook_deliveries.c.body,
                webhook_deliveries.c.attempts,
                webhooks.c.url,
                webhooks.c.secret,
            )
            .join(webhooks, webhooks.c.id == webhook_deliveries.c.webhook_id)
            .where(webhook_deliveries.c.status == "pending", webhook_deliveries.c.next_attempt_at <= now)
            .order_by(webhook_deliveries.c.next_attempt_at, webhook_deliveries.c.id)
            .limit(limit)
            .with_for_update(of=webhook_deliveries, skip_locked=True)
        )
        if service is not None:
            query = query.where(webhook_deliveries.c.service == service)
        with self.catalog.database.write() as conn:
            rows = list(conn.execute(query))
            if rows:
                conn.execute(
                    update(webhook_deliveries)
                    .where(webhook_deliveries.c.id.in_(sorted(row.id for row in rows)))
                    .values(next_attempt_at=now + lease)
                )
        return [
            DueDelivery(
                id=row.id,
                service=row.service,
                event=row.event,
                url=row.url,
                secret=self._secret(row.secret),
                body=dict(row.body),
                attempt=row.attempts + 1,
            )
            for row in rows
        ]

    def _secret(self, stored: str) -> str:
        secret = self.catalog.cipher.decrypt_secret(stored)
        if secret is None:
            raise CredentialsError(
                "a webhook's stored signing secret is unreadable: remove the webhook and add it again"
            )
        return secret

    def record_attempt(
        self,
        delivery: DueDelivery,
        *,
        at: datetime,
        status_code: int | None,
        error: str | None,
        duration_ms: int,
        delivered: bool,
        retry_at: datetime | None,
    ) -> None:
        """Record an attempt and its consequence: delivered, due again at `retry_at`, or given up (neither)."""
        if delivered:
            values: dict[str, Any] = {"status": "delivered", "delivered_at": at, "next_attempt_at": None}
        elif retry_at is not None:
            values = {"status": "pending", "next_attempt_at": retry_at}
        else:
            values = {"status": "failed", "next_attempt_at": None}
        with self.catalog.database.write() as conn:
            conn.execute(
                insert(webhook_attempts).values(
                    delivery_id=delivery.id,
                    number=delivery.attempt,
                    at=at,
                    status_code=status_code,
                    error=error,
                    duration_ms=duration_ms,
                )
            )
            conn.execute(
                update(webhook_deliveries)
                .where(webhook_deliveries.c.id == delivery.id)
                .values(attempts=delivery.attempt, last_error=None if delivered else error, **values)
            )
