"""Bugsnag: the errors an import collected, and runs that failed, reported without ever holding an import up.

Configured from `BUGSNAG_API_KEY`, `BUGSNAG_NOTIFY_ENDPOINT`, `BUGSNAG_SESSIONS_ENDPOINT` and
`BUGSNAG_RELEASE_STAGE` (docs/cli.md); without a key nothing is sent. The real `bugsnag` client builds the
payloads; its delivery is replaced by one that posts from daemon threads with timeouts, and `flush` waits for
them only up to a bound, so an endpoint that is down or never answers costs an import at most `flush_seconds`.

Payloads carry ids, counts and a few sample items, never a credential: the values of the source's credentials
are scrubbed from every string before it leaves, in case an origin echoed one back into an error message.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

import bugsnag
import httpx
from bugsnag.delivery import Delivery, default_headers

from .model import REDACTED, ImportResult, ItemOutcome, Outcome
from .settings import Settings, get_settings

logger = logging.getLogger(__name__)

# One notification per distinct error per run, and no more than this many per run: a document whose every item
# fails differently must not flood the project.
MAX_NOTIFICATIONS_PER_RUN = 20
SAMPLE_ITEMS = 3
MAX_SAMPLE_CHARS = 500
# Short secrets ("1", "ok") would redact unrelated text; real credentials are longer.
_MIN_SECRET_CHARS = 4


class CollectedImportError(Exception):
    """An error an import caught on one or more items and recorded in its result."""


class ImportRunFailed(Exception):
    """An import run that failed as a whole (the import failed, the run crashed or timed out)."""


class SourcePaused(Exception):
    """A source failed so many imports in a row that it was paused."""


class SourceRecovered(Exception):
    """A source whose imports had been failing imported again without failing."""


class _BoundedDelivery(Delivery):
    """Posts each payload from a daemon thread with timeouts; `flush` waits for them up to a deadline."""

    def __init__(self, timeout: float):
        super().__init__()
        self._timeout = httpx.Timeout(timeout, connect=min(timeout, 2.0))
        self._pending: set[threading.Thread] = set()
        self._guard = threading.Lock()

    def deliver(self, config: Any, payload: Any, options: dict[str, Any] | None = None) -> None:
        options = options or {}
        done = options.pop("post_delivery_callback", None)
        uri = options.pop("endpoint", config.endpoint)
        thread = threading.Thread(
            target=self._post, args=(uri, payload, config.api_key, done), name="bugsnag-delivery", daemon=True
        )
        with self._guard:
            self._pending.add(thread)
        thread.start()

    def _post(self, uri: str, payload: str, api_key: str, done: Any) -> None:
        try:
            with httpx.Client(timeout=self._timeout, trust_env=False) as client:
                response = client.post(
                    uri, content=payload.encode("utf-8", "replace"), headers=default_headers(api_key)
                )
            if not 200 <= response.status_code < 300:
                logger.warning("Bugsnag answered %s; the error report was not accepted", response.status_code)
        except httpx.HTTPError as exc:
            logger.warning("could not deliver an error report to Bugsnag: %s", type(exc).__name__)
        finally:
            with self._guard:
                self._pending.discard(threading.current_thread())
            if callable(done):
                done()

    def flush(self, timeout: float) -> bool:
        """Wait for pending deliveries until `timeout` seconds have passed; True when none is left."""
        deadline = time.monotonic() + timeout
        with self._guard:
            pending = list(self._pending)
        for thread in pending:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._guard:
            return not self._pending


class Reporter:
    """Reports to Bugsnag; every method is a no-op when reporting is off, and none of them raises."""

    def __init__(
        self,
        api_key: str | None,
        *,
        notify_endpoint: str | None = None,
        sessions_endpoint: str | None = None,
        release_stage: str | None = None,
        timeout: float = 5.0,
        flush_seconds: float = 2.0,
    ):
        self.flush_seconds = flush_seconds
        self._delivery = _BoundedDelivery(timeout)
        self._client: bugsnag.Client | None = None
        if api_key:
            self._client = bugsnag.Client(
                install_sys_hook=False,
                api_key=api_key,
                endpoint=notify_endpoint,
                session_endpoint=sessions_endpoint,
                release_stage=release_stage or "production",
                app_type="data-agent",
                delivery=self._delivery,
                auto_capture_sessions=False,
                auto_notify=False,
                send_environment=False,
                max_breadcrumbs=0,
            )

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Reporter:
        """The reporter the environment configures (off without `BUGSNAG_API_KEY`)."""
        settings = settings or get_settings()
        return cls(
            settings.bugsnag_api_key,
            notify_endpoint=settings.bugsnag_notify_endpoint,
            sessions_endpoint=settings.bugsnag_sessions_endpoint,
            release_stage=settings.bugsnag_release_stage,
        )

    @property
    def enabled(self) -> bool:
        return self._client is not None

    def report_import_errors(
        self,
        result: ImportResult,
        failed_items: Iterable[ItemOutcome],
        *,
        kind: str | None = None,
        secrets: Iterable[str] = (),
    ) -> int:
        """Report the errors collected on the failed items of an import, once per distinct error; returns how many
        were sent.

        Each report carries the service, source, run and result ids, the counts, how many items had the error
        and a few of them as samples. `secrets` (the source's credential values) are scrubbed everywhere.
        """
        if self._client is None:
            return 0
        by_error: dict[str, list[ItemOutcome]] = {}
        for item in failed_items:
            if item.outcome != Outcome.FAILED:
                continue
            for error in dict.fromkeys(item.errors):
                by_error.setdefault(str(error), []).append(item)
        scrub = _scrubber(secrets)
        tab = _import_tab(result, kind)
        sent = 0
        for error, items in list(by_error.items())[:MAX_NOTIFICATIONS_PER_RUN]:
            first_line = _first_line(error)
            samples = [
                {
                    "external_id": item.external_id,
                    "reason": item.reason,
                    # Scrubbed before clipped: a secret cut in half by the clip would no longer be recognised.
                    "data": _clip(scrub(item.data)),
                }
                for item in items[:SAMPLE_ITEMS]
            ]
            metadata = {
                "import": {**tab, "items_with_this_error": len(items)},
                "samples": {"items": samples},
            }
            sent += self._notify(
                CollectedImportError(first_line),
                grouping=("import-item", kind or "", first_line),
                context=f"import {result.service}/{result.source_id}",
                severity="warning",
                metadata=metadata,
                scrub=scrub,
            )
        if len(by_error) > MAX_NOTIFICATIONS_PER_RUN:
            logger.warning(
                "%d distinct item errors in result %s; reported the first %d",
                len(by_error),
                result.id,
                MAX_NOTIFICATIONS_PER_RUN,
            )
        return sent

    def report_run_failure(
        self,
        *,
        run_id: str,
        job_name: str,
        error: str,
        source_id: str | None = None,
        service: str | None = None,
        kind: str | None = None,
        result: ImportResult | None = None,
        secrets: Iterable[str] = (),
    ) -> bool:
        """Report a run that failed as a whole; returns whether a report was sent."""
        if self._client is None:
            return False
        tab: dict[str, Any] = {"job": job_name, "run_id": run_id, "service": service, "source_id": source_id}
        if kind:
            tab["source_kind"] = kind
        if result is not None:
            tab.update(_import_tab(result, kind))
        return bool(
            self._notify(
                ImportRunFailed(_first_line(error)),
                grouping=("run-failure", job_name, kind or "", _first_line(error)),
                context=f"{job_name} {service or '-'}/{source_id or '-'}",
                severity="error",
                metadata={"run": tab},
                scrub=_scrubber(secrets),
            )
        )

    def report_source_state(
        self,
        *,
        service: str,
        source_id: str,
        kind: str,
        paused: bool,
        reason: str,
        failures_in_a_row: int,
        result: ImportResult | None = None,
        secrets: Iterable[str] = (),
    ) -> bool:
        """Report that a source was paused (an error) or has recovered (an info event); the caller reports each
        transition once. Returns whether a report was sent."""
        if self._client is None:
            return False
        tab: dict[str, Any] = {
            "service": service,
            "source_id": source_id,
            "source_kind": kind,
            "failures_in_a_row": failures_in_a_row,
        }
        if result is not None:
            tab.update(_import_tab(result, kind))
        exception = SourcePaused(_first_line(reason)) if paused else SourceRecovered(_first_line(reason))
        return bool(
            self._notify(
                exception,
                # One group per source and state: each pause of a source adds an event to its group.
                grouping=("source-paused" if paused else "source-recovered", service, source_id),
                context=f"source {service}/{source_id}",
                severity="error" if paused else "info",
                metadata={"source": tab},
                scrub=_scrubber(secrets),
            )
        )

    def flush(self, timeout: float | None = None) -> bool:
        """Give pending reports a bounded chance to leave; True when all have."""
        return self._delivery.flush(self.flush_seconds if timeout is None else timeout)

    def _notify(
        self,
        exception: Exception,
        *,
        grouping: tuple[str, ...],
        context: str,
        severity: str,
        metadata: dict[str, Any],
        scrub: Any,
    ) -> int:
        assert self._client is not None
        exception.args = (scrub(exception.args[0]),)
        try:
            self._client.notify(
                exception,
                grouping_hash=hashlib.blake2b("\x1f".join(grouping).encode(), digest_size=16).hexdigest(),
                context=scrub(context),
                severity=severity,
                unhandled=False,
                metadata=scrub(metadata),
            )
        except Exception:  # reporting must never break what it reports on
            logger.exception("could not build an error report for Bugsnag")
            return 0
        return 1


def _import_tab(result: ImportResult, kind: str | None) -> dict[str, Any]:
    tab = {
        "service": result.service,
        "source_id": result.source_id,
        "result_id": result.id,
        "run_id": result.run_id,
        "status": str(result.status),
        "counts": dict(result.counts),
    }
    if kind:
        tab["source_kind"] = kind
    return tab


def _first_line(text: str) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else "unknown error"
    return line[:1000]


def _clip(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= MAX_SAMPLE_CHARS else text[:MAX_SAMPLE_CHARS] + "…"


def _scrubber(secrets: Iterable[str]) -> Any:
    values = sorted({s for s in secrets if s and len(s) >= _MIN_SECRET_CHARS}, key=len, reverse=True)

    def scrub(value: Any) -> Any:
        if isinstance(value, str):
            for secret in values:
                value = value.replace(secret, REDACTED)
            return value
        if isinstance(value, Mapping):
            return {scrub(k): scrub(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [scrub(v) for v in value]
        return value

    return scrub
