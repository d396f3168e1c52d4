"""Pacing the platform calls of one fetch by one shared budget: the quota the platform announces in its response
headers, and what its 429 answers say.

Every call reserves a unit of the budget before it goes (`before_call`) and gives it back with what the answer
says (`observe`, or `release` when there was no answer). Calls in flight at once therefore share one count: four
workers cannot each believe that the last call of a minute is theirs. The quota a platform reports is what is left
after the calls it has answered, so the calls still in flight are taken off it.

A 429 blocks every caller until the platform's window has passed (its Retry-After, else its reset header, else the
window the connector declares); the caller that met it waits the window out and sends again, the others wait for
it. A call sent before that wait ended and answered 429 afterwards belongs to the window already waited out: it is
sent again at once. A wait that would end after the fetch's deadline is not begun: `QuotaExhausted` says when the
quota refills, and the fetch fails with that instead of running out of time half-way.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from ...net import parse_retry_after

MAX_RATE_LIMIT_WAIT = 300.0  # the longest single wait
# A reset further away than this is taken for a wrong clock or header rather than a quota: it is waited as
# MAX_RATE_LIMIT_WAIT and not held against the deadline (the next answer says more).
PLAUSIBLE_RESET_SECONDS = 86_400.0


@dataclass(frozen=True)
class RateLimitHeaders:
    """Where a platform announces its quota: remaining calls, when the window resets and the window's full quota
    (when it says), and the window to assume when it does not say when the quota refills."""

    remaining: str
    reset: str | None = None
    window_seconds: float = 60.0
    limit: str | None = None


class QuotaExhausted(Exception):
    """The platform's quota refills only after the fetch's deadline."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"the platform's quota refills in {wait:.0f} s")
        self.wait = wait


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


def _whole(value: str | None) -> int | None:
    try:
        return int(float(value)) if value is not None else None
    except (ValueError, OverflowError):
        return None


class RateLimiter:
    """One fetch's budget of platform calls, shared by every call in flight (see the module docstring).

    `now` is the clock waits are measured on (epoch seconds, as reset headers give them); `deadline`, on that
    clock, is when the fetch must be done. Calls are numbered as they are sent, so that a 429 can be told from
    one that belongs to a window already waited out.
    """

    def __init__(
        self,
        headers: RateLimitHeaders | None,
        *,
        sleep: Callable[[float], None],
        now: Callable[[], float] = time.time,
        deadline: float | None = None,
    ) -> None:
        self._headers = headers
        self._sleep = sleep
        self._now = now
        self._deadline = deadline
        self._window_seconds = headers.window_seconds if headers else 60.0
        self._changed = threading.Condition()
        self._remaining: int | None = None  # calls the current window still allows, as far as is known
        self._limit: int | None = None
        self._reset_at: float | None = None
        self._blocked_until: float | None = None
        self._lowest_left: int | None = None  # the lowest count of calls left the platform reported this window
        self._sent = 0  # calls numbered as they go
        self._in_flight: set[int] = set()
        self._most_in_flight = 0
        self._window_began = 1  # the number of the first call sent in the current window

    def before_call(self) -> int:
        """Wait until the budget allows one more call and reserve it; return the call's number."""
        with self._changed:
            while True:
                if self._blocked_until is not None:
                    self._wait_out(self._blocked_until - self._now())
                elif self._remaining is None or self._remaining > 0:
                    break
                elif self._in_flight:
                    self._changed.wait()  # the answers still to come say what is left
                else:
                    # Spent by our own count, with no answer to come that could say otherwise.
                    self._blocked_until = self._reset_at or self._now() + self._window_seconds
            if self._remaining is not None:
                self._remaining -= 1
            self._sent += 1
            self._in_flight.add(self._sent)
            self._most_in_flight = max(self._most_in_flight, len(self._in_flight))
            return self._sent

    def release(self, call: int) -> None:
        """Give back the reservation of call number `call`, which got no answer."""
        with self._changed:
            self._in_flight.discard(call)
            self._changed.notify_all()

    def observe(self, response_headers: Mapping[str, str], status: int = 200, call: int | None = None) -> None:
        """Learn from the answer to call number `call`; after a 429, wait the platform's window out here.

        Raises QuotaExhausted when that wait would end after the deadline.
        """
        with self._changed:
            if call is None and self._in_flight:
                call = min(self._in_flight)
            self._in_flight.discard(call if call is not None else 0)
            self._changed.notify_all()
            now = self._now()
            reset = self._header_reset(response_headers, now)
            self._learn_quota(response_headers, now, reset)
            if reset is not None:
                self._reset_at = now + reset
            if status == 429 and (call is None or call >= self._window_began):
                wait = parse_retry_after(response_headers.get("retry-after"), datetime.fromtimestamp(now, UTC))
                if wait is None:
                    wait = self._window_seconds if reset is None else reset
                self._remaining = 0
                self._blocked_until = now + max(wait, 0.0)
                self._wait_out(max(wait, 0.0))

    def _learn_quota(self, response_headers: Mapping[str, str], now: float, reset: float | None) -> None:
        if self._headers is None:
            return
        limit = _whole(response_headers.get(self._headers.limit)) if self._headers.limit else None
        if limit is not None and limit > 0:
            self._limit = limit
        left = _whole(response_headers.get(self._headers.remaining))
        if left is None:
            return
        # Answers arrive in any order: within a window the platform's count only goes down, so the lowest it
        # reported holds, unless the window has passed or the count rose by more than the calls that were in
        # flight together could explain (the platform refilled it on its own).
        refilled = (
            self._lowest_left is None
            or (self._reset_at is not None and now >= self._reset_at)
            or left > self._lowest_left + self._most_in_flight
        )
        self._lowest_left = left if refilled else min(left, self._lowest_left or 0)
        # The calls still in flight will count against what the platform said is left.
        self._remaining = max(self._lowest_left - len(self._in_flight), 0)
        if left <= 0 and self._blocked_until is None:
            self._blocked_until = now + (self._window_seconds if reset is None else max(reset, 0.0))

    def _header_reset(self, response_headers: Mapping[str, str], now: float) -> float | None:
        if self._headers is None or self._headers.reset is None:
            return None
        value = response_headers.get(self._headers.reset)
        return _reset_wait(value, now) if value else None

    def _wait_out(self, wait: float) -> None:
        """Sleep until the blocked window has passed (the lock held: every caller waits for it), then open the
        next window with the full quota when it is known."""
        if wait > 0:
            if self._deadline is not None and wait <= PLAUSIBLE_RESET_SECONDS and self._now() + wait > self._deadline:
                raise QuotaExhausted(wait)
            self._sleep(min(wait, MAX_RATE_LIMIT_WAIT))
        self._blocked_until = None
        self._reset_at = None
        self._lowest_left = None
        self._remaining = self._limit
        self._window_began = self._sent + 1
        self._changed.notify_all()
