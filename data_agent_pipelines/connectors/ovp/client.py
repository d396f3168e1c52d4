"""The platform calls of one fetch: credentials, pacing, one renewal on expiry, errors a customer can act on,
and a bounded fan-out of calls (`map_bounded`)."""

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
from .rate_limit import RateLimiter, RateLimitHeaders


class ApiClient:
    """Platform calls for one fetch: credentials, pacing, one renewal on expiry, errors a customer can act on."""

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
    ) -> None:
        self.http = http
        self.source = source
        self.platform = platform
        self.auth = auth
        self.limiter = RateLimiter(rate_limit, sleep=sleep)
        self._headers = dict(headers or {})
        self._check = check
        self._timeout = source_timeout(source)

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
        self.limiter.before_call()
        carried = self.auth.body()  # asked for at every attempt: a renewed credential replaces the refused one
        if carried:
            kwargs["json"] = {**(kwargs.get("json") or {}), **carried}
        response: Response = self.http.request(
            method, url, headers={**self._headers, **self.auth.headers()}, timeout=self._timeout, **kwargs
        )
        self.limiter.observe(response.headers)
        body = response.json()
        if self._check is not None:
            self._check(body)
        return body

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
