"""The transport of `HttpClient`: connections only to the checked addresses, sockets capped by the fetch deadline.

How a fetch connects to the address that was checked
----------------------------------------------------
The check (`policy.check`) resolves the host once and judges every address; the checked addresses are then
*pinned* for that host name in `PinnedBackend`, the httpcore network backend of our transport. Its `connect_tcp`
connects to a pinned address and never resolves a name; a host without pins is refused. httpcore still knows the
URL's host name, so the Host header, TLS SNI and certificate verification use the name while the socket goes to the
checked IP: a DNS answer that changes between check and connect (DNS rebinding) has nothing to act on. Each
redirect hop is checked and pinned the same way before it is sent.

The same backend wraps each socket so that no single read or write can wait past the fetch's deadline, and the body
loop checks the clock between chunks, so a server dripping one byte at a time cannot stretch a fetch.

When `FetchPolicy.proxy` is set (an operator's egress proxy), the URL is still checked, but the proxy connects and
resolves on our behalf: pinning and the per-socket deadline then rest with the proxy and the per-request timeouts.
Proxy environment variables are never read.
"""

from __future__ import annotations

import contextlib
import functools
import http.cookiejar
import ssl
import threading
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import httpcore
import httpx

from .policy import FetchPolicy


class PinnedBackend(httpcore.SyncBackend):
    """Connects only to addresses pinned for a host by the check, and caps socket timeouts by the fetch deadline."""

    def __init__(self) -> None:
        self._pins: dict[str, tuple[str, ...]] = {}
        self._lock = threading.Lock()
        # Deadlines are per fetch, and a fetch runs on one thread: a thread-local reaches the sockets it uses.
        self._local = threading.local()

    def pin(self, host: str, addresses: tuple[str, ...]) -> None:
        """Let connections to `host` go to `addresses` (and only those), replacing its earlier pins."""
        with self._lock:
            self._pins[host] = addresses

    @contextlib.contextmanager
    def deadline(self, remaining: Callable[[], float]) -> Iterator[None]:
        """Cap the socket timeouts of this thread's fetch by `remaining()` seconds for the `with` block."""
        outer = getattr(self._local, "remaining", None)
        self._local.remaining = remaining
        try:
            yield
        finally:
            self._local.remaining = outer

    def cap(self, timeout: float | None) -> float | None:
        """`timeout`, shortened to what is left of the current fetch's deadline."""
        remaining = getattr(self._local, "remaining", None)
        if remaining is None:
            return timeout
        left = max(remaining(), 0.001)  # a zero timeout would make the socket non-blocking instead of timing out
        return left if timeout is None else min(timeout, left)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        """Connect to the first pinned address of `host` that answers; refuse a host without pins."""
        with self._lock:
            addresses = self._pins.get(host, ())
        if not addresses:
            raise httpcore.ConnectError(f"{host} was not checked before connecting")
        failures: list[Exception] = []
        for address in addresses:  # in resolver order, like the OS; every one of them passed the check
            try:
                stream = super().connect_tcp(address, port, self.cap(timeout), local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failures.append(exc)
            else:
                return _CappedStream(stream, self)
        raise failures[-1]

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None) -> NoReturn:
        """Always refused."""
        raise httpcore.ConnectError("unix sockets are never used for customer URLs")


class _CappedStream(httpcore.NetworkStream):
    """A socket stream whose reads and writes never wait past the current fetch's deadline."""

    def __init__(self, stream: httpcore.NetworkStream, backend: PinnedBackend) -> None:
        self._stream = stream
        self._backend = backend

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._backend.cap(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._backend.cap(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        tls = self._stream.start_tls(ssl_context, server_hostname, self._backend.cap(timeout))
        return _CappedStream(tls, self._backend)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """The trust store (certifi), loaded once per process: loading it costs tens of milliseconds per client, and
    a context is safe to share between connections and threads."""
    return httpx.create_ssl_context()


def http_transport(policy: FetchPolicy, backend: PinnedBackend, ssl_context: ssl.SSLContext) -> httpx.HTTPTransport:
    """The httpx transport of one client: through `backend`, or through the policy's proxy when it has one."""
    if policy.proxy:
        return httpx.HTTPTransport(verify=ssl_context, proxy=policy.proxy, trust_env=False)
    transport = httpx.HTTPTransport(verify=ssl_context, trust_env=False)
    # httpx offers no public way to choose the network backend, so the pool is rebuilt with httpx's default limits
    # and ours.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=ssl_context,
        max_connections=100,
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        network_backend=backend,
    )
    return transport


def no_cookies() -> http.cookiejar.CookieJar:
    """A cookie jar that keeps nothing."""
    # Cookies set by one customer's server must never reach another customer's requests to the same host.
    return http.cookiejar.CookieJar(policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
