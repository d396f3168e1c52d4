"""The platform calls of one fetch: credentials, pacing by one shared budget, one renewal on expiry, one deadline
for the whole fetch, errors a customer can act on, and a bounded fan-out of calls (`map_bounded`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ...errors import PlatformError, SourceAuthError
from ...model import Source
from ...net import AuthRejected, HttpClient, Response
from ..base import source_timeout
from ..spec import SourceKind
from .auth import Auth, CredentialExpired, auth_error
from .platform import redact
from .rate_limit import QuotaExhausted, RateLimiter, RateLimitHeaders

# Answers of 429 a single call may meet, each after waiting the platform's window, before the fetch gives up.
MAX_RATE_LIMITED_ATTEMPTS = 10


class ApiClient:
    """Platform calls for one fetch: credentials, pacing, one renewal on expiry, errors a customer can act on.

    The fetch's deadline (`--option timeout`) starts when the client is made and bounds every call and every wait
    for the platform's quota together. `now` is the clock of both (epoch seconds, as quota resets are given).
    """

    def __init__(
        self,
        http: HttpClient,
        source: Source,
        platform: SourceKind,
        auth: Auth,
        *,
        rate_limit: RateLimitHeaders | None = None,
        headers: Mapping[str, str] | None = None,
        check: Callable[[Any], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.http = http
        self.source = source
        self.platform = platform
        self.auth = auth
        self._headers = dict(headers or {})
        self._check = check
        self._timeout = source_timeout(source)
        self._now = now
        self._deadline = now() + self._timeout
        self.limiter = RateLimiter(rate_limit, sleep=sleep, now=now, deadline=self._deadline)

    def call(self, method: str, url: str, **kwargs: Any) -> Any:
        """Send one call and return its JSON body; a refused credential is renewed once, then fails the import."""
        try:
            return self._once(method, url, **kwargs)
        except (AuthRejected, CredentialExpired) as exc:
            if not self.auth.renew():
                raise self.rejected(exc) from None
        try:
            return self._once(method, url, **kwargs)
        except (AuthRejected, CredentialExpired) as exc:
            raise self.rejected(exc) from None

    def get(self, url: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET `url` (credentials in headers, never in the query string) and return the JSON body."""
        return self.call("GET", url, params=params)

    def _once(self, method: str, url: str, **kwargs: Any) -> Any:
        """One call, sent again after each 429 once the platform's window has passed."""
        for _ in range(MAX_RATE_LIMITED_ATTEMPTS):
            try:
                response = self._send(method, url, **kwargs)
            except QuotaExhausted as exc:
                raise self._quota_spent(exc.wait) from None
            if response.status_code != 429:
                body = response.json()
                if self._check is not None:
                    self._check(body)
                return body
        raise self.failed(
            f"it answered 429 Too Many Requests {MAX_RATE_LIMITED_ATTEMPTS} times in a row, each time after its"
            " rate limit's window had passed; try again later"
        )

    def _send(self, method: str, url: str, **kwargs: Any) -> Response:
        call = self.limiter.before_call()
        try:
            carried = self.auth.body()  # asked for at every attempt: a renewed credential replaces the refused one
            if carried:
                kwargs["json"] = {**(kwargs.get("json") or {}), **carried}
            response: Response = self.http.request(
                method,
                url,
                headers={**self._headers, **self.auth.headers()},
                timeout=self._time_left(),
                handled=(429,),
                **kwargs,
            )
        except BaseException:
            self.limiter.release(call)
            raise
        self.limiter.observe(response.headers, response.status_code, call)
        return response

    def _time_left(self) -> float:
        left = min(self._timeout, self._deadline - self._now())
        if left <= 0:
            raise PlatformError(
                f"the fetch from {self.platform.title} did not finish within its deadline of {self._timeout:.0f} s;"
                " allow it more with --option timeout=SECONDS"
            )
        return left

    def _quota_spent(self, wait: float) -> PlatformError:
        return PlatformError(
            f"{self.platform.title}'s rate limit is spent and its quota refills in {wait:.0f} s, after this fetch's"
            f" deadline of {self._timeout:.0f} s: nothing was imported; import again later, or allow the fetch"
            " more time with --option timeout=SECONDS"
        )

    def rejected(self, exc: Exception) -> SourceAuthError:
        """The error for a credential the platform refused."""
        return auth_error(self.platform, exc)

    def failed(self, what: str) -> PlatformError:
        """An API error reported by the platform; its text is redacted of credentials."""
        return PlatformError(redact(f"{self.platform.title} answered with an error: {what}", self.source))


def map_bounded(call: Callable[[Any], Any], items: list[Any], concurrency: int) -> list[Any]:
    """`[call(i) for i in items]` with at most `concurrency` calls in flight; the first error propagates."""
    if concurrency <= 1 or len(items) <= 1:
        return [call(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(concurrency, len(items))) as pool:
        return list(pool.map(call, items))
