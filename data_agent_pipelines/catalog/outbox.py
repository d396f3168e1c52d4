"""The notification outbox: the events an import raises, written as one delivery per subscribed webhook in the
transaction that records the import on its source (see `Catalog.record_run`), so that a crash loses no event and
repeats none. Delivering them is `notifications.deliver_due`'s work; `webhooks.py` manages the webhooks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from ..clock import new_id
from ..model import RunRecorded, isoformat
from .schema import import_result_items, import_results, sources, webhook_deliveries, webhooks

# How many failed items an event names (the result itself has them all).
FIRST_FAILURES = 5
MAX_ERRORS_PER_FAILURE = 3
_COUNT_COLUMNS = ("created", "updated", "unchanged", "skipped", "failed", "unpublished", "deleted")


def enqueue_events(conn: Connection, recorded: RunRecorded, *, result_id: str | None, now: datetime) -> int:
    """Write a pending delivery of each of the import's events to each webhook of its service that wants it;
    return how many were written (one query for the webhooks, none more when there are none)."""
    events = recorded.events
    if not events:
        return 0
    source = conn.execute(
        select(sources.c.id, sources.c.service, sources.c.name, sources.c.kind).where(
            sources.c.id == recorded.source_id
        )
    ).first()
    if source is None:
        return 0
    subscribed = [
        (row.id, [event for event in events if event in (row.events or [])])
        for row in conn.execute(select(webhooks.c.id, webhooks.c.events).where(webhooks.c.service == source.service))
    ]
    subscribed = [(webhook_id, wanted) for webhook_id, wanted in subscribed if wanted]
    if not subscribed:
        return 0
    summary = _result_summary(conn, result_id)
    rows = []
    for webhook_id, wanted in subscribed:
        for event in wanted:
            delivery_id = new_id("dlv")
            body = {
                "id": delivery_id,
                "event": event,
                "created_at": isoformat(now),
                "service": source.service,
                "source": {"id": source.id, "name": source.name, "kind": source.kind},
                "result_id": result_id,
                **summary,
                "failures_in_a_row": recorded.failures_in_a_row,
                "paused_reason": recorded.paused_reason if event == "paused" else None,
            }
            rows.append(
                {
                    "id": delivery_id,
                    "webhook_id": webhook_id,
                    "service": source.service,
                    "event": event,
                    "source_id": source.id,
                    "result_id": result_id,
                    "body": body,
                    "status": "pending",
                    "attempts": 0,
                    "created_at": now,
                    "next_attempt_at": now,
                }
            )
    conn.execute(insert(webhook_deliveries), rows)
    return len(rows)


def _result_summary(conn: Connection, result_id: str | None) -> dict[str, Any]:
    """The status, error, counts and first failed items of the result, as an event's body carries them."""
    header = None
    if result_id is not None:
        header = conn.execute(select(import_results).where(import_results.c.id == result_id)).first()
    if header is None:
        return {"status": None, "error": None, "counts": None, "first_failures": []}
    m = header._mapping
    failed = conn.execute(
        select(import_result_items.c.external_id, import_result_items.c.reason, import_result_items.c.errors)
        .where(import_result_items.c.result_id == result_id, import_result_items.c.outcome == "failed")
        .order_by(import_result_items.c.position)
        .limit(FIRST_FAILURES)
    )
    return {
        "status": m["status"],
        "error": m["error"],
        "counts": {name: m[name] for name in _COUNT_COLUMNS},
        "first_failures": [
            {
                "external_id": row.external_id,
                "reason": row.reason,
                "errors": list(row.errors or [])[:MAX_ERRORS_PER_FAILURE],
            }
            for row in failed
        ],
    }
