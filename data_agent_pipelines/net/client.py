"""`HttpClient`, the one HTTP client for customer URLs, and its results (`Response`, `Download`).

One fetch is a loop of attempts within one total deadline: each attempt checks and pins the host, sends, follows
redirects itself (checking every hop like the first), and reads the final answer within the limits. Connection
errors, 429 and 5xx are retried with jittered exponential backoff, honouring Retry-After.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json as jsonlib
import os
import random
import re
import ssl
import tempfile
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx

from .body import ACCEPT_ENCODING, Budget, check_announced_size, read_body
from .errors import (
    AuthRejected,
    BadResponse,
    ConnectFailed,
    FetchError,
    HostNotFound,
    HTTPStatusError,
    RedirectError,
    UnsafeURL,
)
from .files import copy_local_file
from .policy import FetchPolicy, Resolver, check, is_file_url, local_file
from .transport import PinnedBackend, default_ssl_context, http_transport, no_cookies

T = TypeVar("T")

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Headers a caller gave that may follow a redirect to another origin; anything else (Authorization, API keys in
# custom headers, cookies) belongs to the origin the caller addressed.
_CROSS_ORIGIN_HEADERS = frozenset({"accept", "accept-language", "if-none-match", "if-modified-since"})
# A timeout that fires this close to the deadline is the deadline, not a slow connect worth retrying.
_DEADLINE_SLACK = 0.05
# The defaults fit production; one frozen instance shared by every client built without a policy.
_DEFAULT_POLICY = FetchPolicy()


@dataclass(frozen=True)
class Response:
    """A small response held in memory (API calls)."""

    status_code: int
    headers: httpx.Headers
    content: bytes
    url: str

    def json(self) -> Any:
        """The body parsed as JSON; `BadResponse` when it is not JSON."""
        try:
            return jsonlib.loads(self.content)
        except ValueError as exc:
            raise BadResponse(self.url, "the server's answer is not valid JSON", "Check the URL and settings.") from exc


@dataclass(frozen=True)
class Download:
    """A document streamed to disk, or the news that it did not change since the validators given."""

    path: Path | None  # None when not_modified
    not_modified: bool  # the server answered 304 to a conditional GET
    status_code: int
    url: str  # final, after redirects
    content_type: str | None
    etag: str | None
    last_modified: str | None
    sha256: str | None
    size: int


# --- the client ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _RequestSpec:
    """What to send; rebuilt into an httpx.Request for every attempt and every redirect hop."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Any = None
    json: Any = None
    data: Any = None
    content: bytes | None = None  # a body sent as these exact bytes (a signed webhook body)
    handled: frozenset[int] = frozenset()  # statuses the caller answers itself: returned, neither raised nor retried


class _Retryable(Exception):
    """An attempt failed in a way worth retrying; `give_up(attempts)` is the error to raise when none is left."""

    def __init__(self, give_up: Callable[[int], FetchError], retry_after: float | None = None) -> None:
        super().__init__()
        self.give_up = give_up
        self.retry_after = retry_after


class HttpClient:
    """The HTTP client for customer URLs: checked, pinned, bounded, retried (see the `net` package docstring).

    `resolver`, `clock` and `sleep` are seams for tests; `ssl_context` replaces the default trust store (certifi).
    Thread-safe for concurrent fetches.
    """

    def __init__(
        self,
        policy: FetchPolicy = _DEFAULT_POLICY,
        *,
        resolver: Resolver | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._policy = policy
        self._resolver = resolver
        self._clock = clock
        self._sleep = sleep
        self._random = random.Random()
        self._backend = PinnedBackend()
        self._client = httpx.Client(
            transport=http_transport(policy, self._backend, ssl_context or default_ssl_context()),
            trust_env=False,
            follow_redirects=False,
            cookies=no_cookies(),
            headers={"User-Agent": policy.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
        )

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close pooled connections."""
        self._client.close()

    def download(
        self,
        url: str,
        dest: Path,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Download:
        """GET `url` into `dest` (atomically: a temporary file next to it, renamed on success, deleted on failure).

        With `etag` / `last_modified` (the validators of the last fetch) the GET is conditional, and a 304 returns
        `Download(not_modified=True, path=None)` leaving `dest` alone. `timeout` overrides the policy's total
        deadline.

        A `file://` URL is read from the local feed folder when the policy has one (`policy.local_file`), with
        the same size limit; a file has no validators, so the importer's content digest tells it is unchanged.
        """
        if is_file_url(url):
            return self._read_file(url, Path(dest))
        conditional = {}
        if etag:
            conditional["If-None-Match"] = etag
        if last_modified:
            conditional["If-Modified-Since"] = last_modified
        spec = _RequestSpec("GET", url, headers={**(headers or {}), **conditional})
        dest = Path(dest)

        def save(response: httpx.Response, budget: Budget) -> Download:
            return self._save(response, budget, dest, url, conditional=bool(conditional))

        return self._fetch(spec, timeout, save)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Any = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        data: Any = None,
        content: bytes | None = None,
        timeout: float | None = None,
        max_bytes: int | None = None,
        handled: Collection[int] = (),
    ) -> Response:
        """Send an API request and read the (small) answer into memory, with the same safety, limits and retries.

        A status in `handled` (an API client pacing itself by the platform's 429s) comes back as the Response
        instead of being retried or raised.
        """
        spec = _RequestSpec(
            method.upper(),
            url,
            headers=dict(headers or {}),
            params=params,
            json=json,
            data=data,
            content=content,
            handled=frozenset(handled),
        )
        limit = self._policy.max_bytes if max_bytes is None else max_bytes

        def read(response: httpx.Response, budget: Budget) -> Response:
            check_announced_size(response, limit, url)
            content = b"".join(read_body(response, budget, limit, url))
            return Response(response.status_code, response.headers, content, str(response.url))

        return self._fetch(spec, timeout, read)

    def _read_file(self, url: str, dest: Path) -> Download:
        source = local_file(url, self._policy)
        sha256, size = copy_local_file(url, source, dest, self._policy.max_bytes)
        return Download(
            path=dest,
            not_modified=False,
            status_code=200,
            url=url,
            content_type=None,
            etag=None,
            last_modified=None,
            sha256=sha256,
            size=size,
        )

    # --- one fetch: attempts, redirects, status ---

    def _fetch(self, spec: _RequestSpec, timeout: float | None, consume: Callable[[httpx.Response, Budget], T]) -> T:
        """Run attempts until one succeeds, retrying what `_Retryable` marks, within one total deadline."""
        budget = Budget(self._clock, self._policy.timeout if timeout is None else timeout, spec.url)
        attempts = 0
        with self._backend.deadline(budget.remaining):
            while True:
                attempts += 1
                budget.check()
                try:
                    with self._open(spec, budget) as response, self._transport_errors(spec.url, budget):
                        return consume(response, budget)
                except _Retryable as failure:
                    delay = self._retry_delay(attempts, failure.retry_after)
                    # A wait that would end past the deadline is no retry: the last failure says more.
                    if attempts > self._policy.max_retries or delay >= budget.remaining():
                        raise failure.give_up(attempts) from failure.__cause__
                    self._sleep(delay)

    @contextlib.contextmanager
    def _open(self, spec: _RequestSpec, budget: Budget) -> Iterator[httpx.Response]:
        """Send `spec`, following redirects (each hop checked), and yield the final response for reading."""
        seen = set()
        hop = spec
        for _ in range(self._policy.max_redirects + 1):
            response = self._send(hop, budget, first=hop is spec)
            seen.add(str(response.url))
            following = _redirected(hop, response)
            if following is None:
                break
            response.close()
            if following.url in seen:
                raise RedirectError(spec.url, "the server redirects in a loop", "Ask the server's owner to fix it.")
            hop = following
        else:
            raise RedirectError(
                spec.url,
                f"the server redirected more than {self._policy.max_redirects} times",
                "Use the final URL directly, or ask the server's owner to fix the redirects.",
            )
        try:
            if response.status_code not in spec.handled:
                self._raise_for_status(response, spec.url)
            yield response
        finally:
            response.close()

    def _send(self, spec: _RequestSpec, budget: Budget, *, first: bool) -> httpx.Response:
        """Check and pin the host of `spec`, then send it and return the streamed response."""
        try:
            target = check(spec.url, self._policy, self._resolver)
        except UnsafeURL as exc:
            if first:
                raise
            raise UnsafeURL(spec.url, f"it redirected to {exc.url}, and {exc.reason}", exc.advice) from exc
        except HostNotFound as exc:
            # Resolution failures are often temporary (EAI_AGAIN); retried like a connection error.
            raise _Retryable(functools.partial(_host_not_found, spec.url, exc)) from exc
        self._backend.pin(target.host, target.addresses)
        request = self._client.build_request(
            spec.method,
            target.url,
            params=spec.params,
            headers=dict(spec.headers),
            json=spec.json,
            data=spec.data,
            content=spec.content,
            extensions={"timeout": budget.timeouts(self._policy.connect_timeout)},
        )
        with self._transport_errors(spec.url, budget):
            return self._client.send(request, stream=True)

    @contextlib.contextmanager
    def _transport_errors(self, url: str, budget: Budget) -> Iterator[None]:
        """Turn httpx's transport errors into a deadline failure, a retry, or a FetchError."""
        try:
            yield
        except httpx.TimeoutException as exc:
            if budget.remaining() < _DEADLINE_SLACK:
                budget.exceeded()
            raise _Retryable(functools.partial(_connect_failed, url, exc)) from exc
        except httpx.LocalProtocolError as exc:
            # Our own request was malformed (e.g. a header value with a line break): sending it again won't help.
            raise FetchError(url, f"the request could not be sent ({exc})", "Check the source's settings.") from exc
        except httpx.TransportError as exc:
            if _caused_by(exc, ssl.SSLCertVerificationError):
                raise ConnectFailed(
                    url,
                    "the server's TLS certificate could not be verified for its host name",
                    "The server must present a valid certificate for this name; ask its owner.",
                ) from exc
            raise _Retryable(functools.partial(_connect_failed, url, exc)) from exc

    def _raise_for_status(self, response: httpx.Response, url: str) -> None:
        status = response.status_code
        if 200 <= status < 300 or status == 304:
            return
        if status in (401, 403):
            raise AuthRejected(url, status)
        if status == 429 or status >= 500:
            retry_after = parse_retry_after(response.headers.get("retry-after"), datetime.now(UTC))
            raise _Retryable(lambda attempts: HTTPStatusError(url, status, attempts=attempts), retry_after)
        raise HTTPStatusError(url, status)

    def _retry_delay(self, attempts: int, retry_after: float | None) -> float:
        """Seconds to wait after failed attempt number `attempts`: Retry-After if given, else jittered backoff."""
        if retry_after is not None:
            return min(retry_after, self._policy.max_retry_after)
        backoff = self._policy.backoff_base * 2 ** (attempts - 1)
        # Jitter spreads the retries of many sources failing at once against the same platform.
        return min(backoff * self._random.uniform(0.5, 1.0), self._policy.max_retry_after)

    def _save(self, response: httpx.Response, budget: Budget, dest: Path, url: str, *, conditional: bool) -> Download:
        headers = response.headers
        final_url = str(response.url)
        if response.status_code == 304:
            if not conditional:
                raise HTTPStatusError(url, 304, advice="The server answered 'not modified' to a plain GET.")
            return Download(
                path=None,
                not_modified=True,
                status_code=304,
                url=final_url,
                content_type=None,
                etag=headers.get("etag"),
                last_modified=headers.get("last-modified"),
                sha256=None,
                size=0,
            )
        check_announced_size(response, self._policy.max_bytes, url)
        digest = hashlib.sha256()
        size = 0
        handle, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        part = Path(name)
        try:
            with os.fdopen(handle, "wb") as out:
                for piece in read_body(response, budget, self._policy.max_bytes, url):
                    digest.update(piece)
                    out.write(piece)
                    size += len(piece)
            part.replace(dest)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        return Download(
            path=dest,
            not_modified=False,
            status_code=response.status_code,
            url=final_url,
            content_type=headers.get("content-type"),
            etag=headers.get("etag"),
            last_modified=headers.get("last-modified"),
            sha256=digest.hexdigest(),
            size=size,
        )


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, kind):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def _host_not_found(url: str, exc: HostNotFound, attempts: int) -> HostNotFound:
    tries = f" ({attempts} attempts)" if attempts > 1 else ""
    return HostNotFound(url, exc.reason + tries, exc.advice)


def _connect_failed(url: str, exc: Exception, attempts: int) -> ConnectFailed:
    detail = str(exc) or type(exc).__name__
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    return ConnectFailed(
        url,
        f"the connection to the server failed{tries} ({detail})",
        "Check that the URL is right and the server is up; try again later.",
    )


def _redirected(spec: _RequestSpec, response: httpx.Response) -> _RequestSpec | None:
    """The request a redirect answer asks for, or None when `response` is not a redirect."""
    location = response.headers.get("location")
    if response.status_code not in _REDIRECT_STATUSES or not location:
        return None
    try:
        target = response.url.join(location)
    except (httpx.InvalidURL, ValueError) as exc:
        raise UnsafeURL(spec.url, "it redirected to an invalid URL", "Ask the server's owner to fix it.") from exc
    headers = spec.headers
    if target.scheme != response.url.scheme or target.host != response.url.host or target.port != response.url.port:
        headers = {name: value for name, value in headers.items() if name.lower() in _CROSS_ORIGIN_HEADERS}
    # 303, and 301/302 after a POST (what browsers do), turn into a GET without body; 307/308 repeat the request.
    if (response.status_code == 303 and spec.method != "HEAD") or (
        response.status_code in (301, 302) and spec.method == "POST"
    ):
        return replace(
            spec, method="GET", url=str(target), headers=headers, params=None, json=None, data=None, content=None
        )
    return replace(spec, url=str(target), headers=headers, params=None)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait per a Retry-After header (delta-seconds or HTTP-date), or None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+", value, re.ASCII):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
