"""Pacing platform calls by the quota a platform announces in its response headers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

MAX_RATE_LIMIT_WAIT = 300.0


@dataclass(frozen=True)
class RateLimitHeaders:
    """Where a platform announces its quota: remaining calls, and when the window resets (if it says)."""

    remaining: str
    reset: str | None = None
    window_seconds: float = 60.0  # the wait when the quota is spent and the platform gives no reset time


def _reset_wait(value: str, now: float) -> float | None:
    """Seconds until a reset given as epoch seconds, seconds from now, an ISO-8601 instant or an HTTP date."""
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        return number - now if number > 1e9 else number
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp() - now


class RateLimiter:
    """Waits before the next call once the platform says the quota is spent, until its window resets."""

    def __init__(
        self,
        headers: RateLimitHeaders | None,
        *,
        sleep: Callable[[float], None],
        now: Callable[[], float] = time.time,
    ) -> None:
        self._headers = headers
        self._sleep = sleep
        self._now = now
        self._lock = threading.Lock()
        self._wait_until: float | None = None

    def before_call(self) -> None:
        with self._lock:
            if self._wait_until is None:
                return
            delay = min(self._wait_until - self._now(), MAX_RATE_LIMIT_WAIT)
            self._wait_until = None
            if delay > 0:
                self._sleep(delay)

    def observe(self, response_headers: Mapping[str, str]) -> None:
        if self._headers is None:
            return
        remaining = response_headers.get(self._headers.remaining)
        if remaining is None or remaining.strip() not in ("0", "0.0"):
            return
        reset = response_headers.get(self._headers.reset) if self._headers.reset else None
        wait = _reset_wait(reset, self._now()) if reset else None
        with self._lock:
            self._wait_until = self._now() + (self._headers.window_seconds if wait is None else max(wait, 0.0))
