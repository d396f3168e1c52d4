"""The shared rate limiter of the platform connectors, against a real HTTP server on loopback whose quota refills
only once its window has passed on a fake clock: calls in flight together share one budget, 429s teach the limiter
the window, and a window that ends after the fetch's deadline fails the fetch at once, saying when it refills."""

from __future__ import annotations

import math
import threading

import pytest

from data_agent_pipelines.connectors.ovp.auth import NoAuth
from data_agent_pipelines.connectors.ovp.client import ApiClient, map_bounded
from data_agent_pipelines.connectors.ovp.rate_limit import RateLimitHeaders
from data_agent_pipelines.connectors.spec import SourceKind
from data_agent_pipelines.errors import PlatformError

from .apiserver import ApiServer, Reply, Request
from .ovp import Sleeps, client, make_source

PLATFORM = SourceKind(kind="quota-test", title="Quota Platform", summary="a platform with a quota", connector=object)
HEADERS = RateLimitHeaders(
    remaining="X-RateLimit-Remaining", reset="X-RateLimit-Reset", limit="X-RateLimit-Limit", window_seconds=60.0
)


class FakeClock:
    """Epoch seconds that pass only when the limiter sleeps."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.slept = Sleeps()
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += seconds


class QuotaPlatform:
    """`quota` calls per `window` seconds of the fake clock, the window starting at its first call and refilling
    only once it has passed; past the quota a 429 with Retry-After (the seconds the window still runs)."""

    def __init__(self, clock: FakeClock, *, quota: int, window: float, headers: bool) -> None:
        self.clock, self.quota, self.window, self.headers = clock, quota, window, headers
        self.started: float | None = None
        self.used = 0
        self.served = 0
        self.refused = 0

    def __call__(self, request: Request) -> Reply:
        now = self.clock()
        if self.started is None or now >= self.started + self.window:
            self.started, self.used = now, 0
        runs = str(math.ceil(self.started + self.window - now))
        quota = {"X-RateLimit-Limit": str(self.quota), "X-RateLimit-Reset": runs} if self.headers else {}
        if self.used >= self.quota:
            self.refused += 1
            return Reply({"error": "rate limited"}, 429, {"Retry-After": runs, **quota, "X-RateLimit-Remaining": "0"})
        self.used += 1
        self.served += 1
        remaining = {"X-RateLimit-Remaining": str(self.quota - self.used)} if self.headers else {}
        return Reply({"path": request.path}, 200, {**quota, **remaining})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def fetch_all(server: ApiServer, clock: FakeClock, calls: int, *, headers: RateLimitHeaders | None, timeout: str):
    source = make_source("quota-test", server.base, options={"timeout": timeout}, credentials={})
    with client(Sleeps()) as http:
        api = ApiClient(http, source, PLATFORM, NoAuth(), rate_limit=headers, sleep=clock.sleep, now=clock)
        return map_bounded(lambda n: api.get(f"{server.base}/items/{n}"), list(range(calls)), 4)


def test_calls_in_flight_share_one_budget_and_wait_for_the_window_to_refill(clock: FakeClock) -> None:
    platform = QuotaPlatform(clock, quota=5, window=60, headers=True)
    with ApiServer(platform).running() as server:
        answers = fetch_all(server, clock, 23, headers=HEADERS, timeout="600")
    assert [a["path"] for a in answers] == [f"/items/{n}" for n in range(23)]
    # Four workers never overran the quota of five: 23 calls in five windows, no 429, four waits for a refill.
    assert platform.refused == 0 and platform.served == 23
    assert len(clock.slept) == 4 and all(0 < wait <= 60 for wait in clock.slept)
    assert clock.now - 1_800_000_000.0 >= 4 * 60 - 4


def test_a_platform_without_quota_headers_teaches_the_window_by_its_429s(clock: FakeClock) -> None:
    platform = QuotaPlatform(clock, quota=5, window=60, headers=False)
    with ApiServer(platform).running() as server:
        answers = fetch_all(server, clock, 12, headers=None, timeout="600")
    assert len(answers) == 12 and platform.served == 12
    # Each spent window is waited out once, by one caller: the 429s of calls sent before that wait ended do not
    # add waits of their own, and no wait is the 0.25-3.5 s backoff of a plain retry.
    assert clock.slept and all(50 <= wait <= 60 for wait in clock.slept)
    assert len(clock.slept) == 2 and platform.refused <= 2 * 4


def test_a_window_that_refills_after_the_deadline_fails_the_fetch_at_once(clock: FakeClock) -> None:
    platform = QuotaPlatform(clock, quota=3, window=3600, headers=True)
    with ApiServer(platform).running() as server, pytest.raises(PlatformError) as caught:
        fetch_all(server, clock, 10, headers=HEADERS, timeout="300")
    message = str(caught.value)
    assert "Quota Platform's rate limit is spent" in message and "refills in 3600 s" in message
    assert "--option timeout" in message and clock.slept == []  # nothing was waited for in vain
    assert platform.served == 3


def test_a_platform_that_keeps_answering_429_fails_the_fetch_naming_it(clock: FakeClock) -> None:
    def always_busy(request: Request) -> Reply:
        return Reply({"error": "busy"}, 429, {"Retry-After": "1"})

    busy = pytest.raises(PlatformError, match="429 Too Many Requests 10 times in a row")
    with ApiServer(always_busy).running() as server, busy:
        fetch_all(server, clock, 1, headers=None, timeout="300")
    assert clock.slept == [1.0] * 10
