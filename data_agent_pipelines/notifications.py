"""Notifications per service: webhooks that receive signed JSON events when an import fails, ends partial,
recovers, or pauses its source (docs/operations.md, Notifications).

The events wait in the catalog's outbox (`catalog/outbox.py`), written with the import's bookkeeping; this module
delivers them. Each delivery is one POST of its JSON body through `net` (the webhook's URL is held to the rules of
a feed URL), signed as Stripe signs webhooks: `X-Data-Agent-Signature: t=UNIX_SECONDS,v1=HEX` where HEX is the
HMAC-SHA256, keyed with the webhook's secret, of `UNIX_SECONDS.` followed by the body's bytes. The timestamp is
signed with the body, so a receiver that refuses old timestamps cannot be replayed an old delivery. A delivery
that fails (no answer, or any status but 2xx) is tried again later with backoff, up to MAX_ATTEMPTS, and every
attempt is recorded. Imports never wait for any of this: they only write outbox rows.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from . import net
from .catalog.store import Catalog
from .catalog.webhooks import DueDelivery, Webhooks
from .errors import InvalidInput
from .model import NOTIFICATION_EVENTS, ImportResult, RunRecorded, Source
from .reporting import Reporter
from .settings import Settings
from .source_settings import refuse_unsafe_url, validate_url
from .user_input import one_of

SIGNATURE_HEADER = "X-Data-Agent-Signature"
EVENT_HEADER = "X-Data-Agent-Event"
DELIVERY_HEADER = "X-Data-Agent-Delivery"
# Receivers should refuse a signature whose timestamp is further than this from their clock (Stripe's default).
SIGNATURE_TOLERANCE_SECONDS = 300
# Events a webhook gets when `--on` is not given: `partial` is left out, since a feed with one bad item would
# raise it at every import.
DEFAULT_EVENTS = ("failed", "recovered", "paused")
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=6)
# One attempt: one request, no redirects followed (a redirected POST would turn into a GET), a short deadline, a
# small answer read; the outbox, not the client, retries.
ATTEMPT_TIMEOUT_SECONDS = 10.0
MAX_ANSWER_BYTES = 64 * 1024
# A claim outlives the attempt it is for: a deliverer that dies leaves its deliveries due again after this.
CLAIM_LEASE = timedelta(seconds=ATTEMPT_TIMEOUT_SECONDS * 6)
CLAIM_BATCH = 20
MAX_ERROR_CHARS = 1000
_EVERY_STATUS = frozenset(range(100, 600))


# -- webhooks as users give them ----------------------------------------------------------------------------------


def parse_events(text: str | Iterable[str] | None) -> list[str]:
    """The events of `--on` (comma-separated, or a list from the API), checked; DEFAULT_EVENTS when not given."""
    if text is None:
        return list(DEFAULT_EVENTS)
    parts = text.split(",") if isinstance(text, str) else list(text)
    events = [one_of(part.strip(), NOTIFICATION_EVENTS, "notification event") for part in parts if part.strip()]
    if not events:
        raise InvalidInput(f"give at least one event to notify of: {', '.join(NOTIFICATION_EVENTS)}")
    return [event for event in NOTIFICATION_EVENTS if event in events]


def add_webhook(
    catalog: Catalog, service: str, url: str, events: str | Iterable[str] | None
) -> tuple[dict[str, object], str | None]:
    """Check a webhook as a user gives it (its URL is held to a feed URL's rules) and store it; returns the webhook
    and, when it is new, its signing secret (shown once)."""
    url = validate_url(url, "webhook URL")
    refuse_unsafe_url(url, catalog.allow_hosts)
    return Webhooks(catalog).add(service, url, parse_events(events))


# -- signatures -------------------------------------------------------------------------------------------------


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header's value for `body` sent at `timestamp` (Unix seconds)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, body: bytes, header: str, *, now: float, tolerance: int = SIGNATURE_TOLERANCE_SECONDS) -> bool:
    """Whether `header` signs `body` with `secret` at a time within `tolerance` seconds of `now` (what a receiver
    does, and what `api/hook_auth.py` does with a push; docs/operations.md shows the same check standalone).

    The header must carry exactly one timestamp; of its `v1` values one matching is enough (several may come while
    the signer rotates its secret). Every comparison takes constant time.
    """
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        fields.setdefault(key, []).append(value)
    stamps = fields.get("t", [])
    if len(stamps) != 1 or not stamps[0].isdigit():
        return False
    timestamp = int(stamps[0])
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp).partition(",v1=")[2].encode()
    return any(hmac.compare_digest(expected, candidate.encode()) for candidate in fields.get("v1", []))


def encode_body(body: dict[str, object]) -> bytes:
    """The bytes a delivery sends (and signs)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


# -- delivery ---------------------------------------------------------------------------------------------------


def webhook_client(settings: Settings) -> net.HttpClient:
    """The client deliveries go through: `net`'s safety rules, one short attempt per delivery."""
    policy = net.FetchPolicy(
        allow_hosts=settings.allow_hosts,
        max_bytes=MAX_ANSWER_BYTES,
        timeout=ATTEMPT_TIMEOUT_SECONDS,
        max_redirects=0,
        max_retries=0,
    )
    return net.HttpClient(policy)


def retry_delay(attempts: int) -> timedelta | None:
    """How long after failed attempt number `attempts` to try again (30 s, 2 min, 8 min … at most 6 h); None when
    it was the last."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return min(FIRST_RETRY * 4 ** (attempts - 1), MAX_RETRY)


@dataclass
class DeliveryRun:
    """What one pass over the outbox did."""

    delivered: int = 0
    retrying: int = 0
    given_up: int = 0
    more_due: bool = False  # the pass stopped at its limit or time budget before the outbox was empty

    def to_json(self) -> dict[str, object]:
        return {
            "delivered": self.delivered,
            "retrying": self.retrying,
            "given_up": self.given_up,
            "more_due": self.more_due,
        }


def deliver_due(
    catalog: Catalog,
    client: net.HttpClient,
    *,
    service: str | None = None,
    limit: int = 200,
    budget_seconds: float = 40.0,
    monotonic: Callable[[], float] = time.monotonic,
) -> DeliveryRun:
    """Attempt the deliveries that are due, oldest first: at most `limit`, and no new one after `budget_seconds`
    (the sensor's tick must end inside Dagster's 60 s: the budget plus one attempt's deadline); what is left stays
    due for the next pass."""
    webhooks = Webhooks(catalog)
    run = DeliveryRun()
    started = monotonic()
    attempted = 0
    while True:
        if attempted >= limit or monotonic() - started > budget_seconds:
            run.more_due = True  # stopped by the limit or the time budget: the rest waits for the next pass
            return run
        batch = webhooks.claim_due(
            catalog.clock(), limit=min(CLAIM_BATCH, limit - attempted), lease=CLAIM_LEASE, service=service
        )
        if not batch:
            return run
        for delivery in batch:
            if monotonic() - started > budget_seconds:
                # Claimed but not attempted: due again when the claim's lease ends.
                run.more_due = True
                return run
            _attempt(webhooks, catalog, client, delivery, run, monotonic)
            attempted += 1


def _attempt(
    webhooks: Webhooks,
    catalog: Catalog,
    client: net.HttpClient,
    delivery: DueDelivery,
    run: DeliveryRun,
    monotonic: Callable[[], float],
) -> None:
    body = encode_body(delivery.body)
    sent_at = catalog.clock()
    headers = {
        "Content-Type": "application/json",
        EVENT_HEADER: delivery.event,
        DELIVERY_HEADER: delivery.id,
        SIGNATURE_HEADER: sign(delivery.secret, body, int(sent_at.timestamp())),
    }
    status: int | None = None
    error: str | None = None
    began = monotonic()
    try:
        answer = client.request("POST", delivery.url, content=body, headers=headers, handled=_EVERY_STATUS)
        status = answer.status_code
        if not 200 <= status < 300:
            error = f"the endpoint answered HTTP {status}"
    except net.FetchError as exc:
        error = str(exc)[:MAX_ERROR_CHARS]
    duration_ms = int((monotonic() - began) * 1000)
    delivered = error is None
    delay = None if delivered else retry_delay(delivery.attempt)
    webhooks.record_attempt(
        delivery,
        at=sent_at,
        status_code=status,
        error=error,
        duration_ms=duration_ms,
        delivered=delivered,
        retry_at=sent_at + delay if delay is not None else None,
    )
    if delivered:
        run.delivered += 1
    elif delay is not None:
        run.retrying += 1
    else:
        run.given_up += 1


# -- Bugsnag ----------------------------------------------------------------------------------------------------


def report_transition(
    reporter: Reporter, source: Source, recorded: RunRecorded | None, result: ImportResult | None
) -> bool:
    """Tell Bugsnag that the import paused its source, or that the source recovered: once, at the transition
    (`recorded` says whether there was one), never at every interval. Returns whether a report was sent."""
    if recorded is None or not (recorded.paused or recorded.recovered) or not reporter.enabled:
        return False
    sent = reporter.report_source_state(
        service=source.service,
        source_id=source.id,
        kind=source.kind,
        paused=recorded.paused,
        reason=recorded.paused_reason or f"imports succeed again after {recorded.previous_failures} failed in a row",
        failures_in_a_row=recorded.failures_in_a_row if recorded.paused else recorded.previous_failures,
        result=result,
        secrets=source.credentials.values(),
    )
    if sent:
        reporter.flush()
    return sent
