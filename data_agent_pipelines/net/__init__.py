"""The one HTTP client of the project: every request to a customer-supplied URL goes through here (DESIGN.md §7).

Customer URLs are hostile, and so are the answers to them. This module therefore:

- fetches only http and https URLs, and refuses any host with an address that is not public (loopback, private,
  link-local, multicast, reserved, unspecified, shared, cloud metadata, or an IPv4 address of that kind embedded in
  an IPv6 transition form) unless `FetchPolicy.allow_hosts` exempts it;
- follows redirects itself, checking every hop like the first;
- bounds the body (announced and decoded size) and the whole fetch (one total deadline over retries, redirects and
  body reading);
- retries connection errors, 429 and 5xx with jittered exponential backoff, honouring Retry-After;
- raises only `FetchError` subclasses, whose messages name the host (never userinfo or query strings) and say what
  the customer can do.

How a fetch connects to the address that was checked
----------------------------------------------------
The host is resolved once, by `check_url`'s resolver (`socket.getaddrinfo` unless injected); numeric hosts such as
``2130706433`` or ``0x7f.1`` are read with ``AI_NUMERICHOST``, exactly as the OS reads them. Every address is
checked, and the checked addresses are then *pinned* for that host name in `_PinnedBackend`, the httpcore network
backend of our transport. Its `connect_tcp` connects to a pinned address and never resolves a name; a host without
pins is refused. httpcore still knows the URL's host name, so the Host header, TLS SNI and certificate verification
use the name while the socket goes to the checked IP: a DNS answer that changes between check and connect (DNS
rebinding) has nothing to act on. Each redirect hop is checked and pinned the same way before it is sent.

The same backend wraps each socket so that no single read or write can wait past the fetch's deadline, and the body
loop checks the clock between chunks, so a server dripping one byte at a time cannot stretch a fetch.

When `FetchPolicy.proxy` is set (an operator's egress proxy), the URL is still checked, but the proxy connects and
resolves on our behalf: pinning and the per-socket deadline then rest with the proxy and the per-request timeouts.
Proxy environment variables are never read.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.cookiejar
import ipaddress
import json as jsonlib
import os
import random
import re
import socket
import ssl
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlsplit

import httpcore
import httpx

__all__ = [
    "AuthRejected",
    "BadResponse",
    "ConnectFailed",
    "DeadlineExceeded",
    "Download",
    "FetchError",
    "FetchPolicy",
    "HTTPStatusError",
    "HostNotFound",
    "HttpClient",
    "RedirectError",
    "Response",
    "TooLarge",
    "UnsafeURL",
    "check_url",
    "safe_url",
    "system_resolver",
]

Resolver = Callable[[str, int], list[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
T = TypeVar("T")

_ALLOWED_SCHEMES = ("http", "https")
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Headers a caller gave that may follow a redirect to another origin; anything else (Authorization, API keys in
# custom headers, cookies) belongs to the origin the caller addressed.
_CROSS_ORIGIN_HEADERS = frozenset({"accept", "accept-language", "if-none-match", "if-modified-since"})
# Only what `_Decoder` can decode with a bounded output per step; "br" would need a library not installed here.
_ACCEPT_ENCODING = "gzip, deflate"
# Largest piece one decompression step may produce: a compression bomb never expands further at once.
_DECODE_STEP = 64 * 1024
# A timeout that fires this close to the deadline is the deadline, not a slow connect worth retrying.
_DEADLINE_SLACK = 0.05
_UNSAFE_ADVICE = (
    "Use a URL on the public internet; if this host is meant to be reachable, an operator can allow it with "
    "DATA_AGENT_ALLOW_HOSTS."
)


@dataclass(frozen=True)
class FetchPolicy:
    """Limits and exemptions for every fetch of one client; built from settings, defaults fit production."""

    allow_hosts: tuple[str, ...] = ()  # hosts, IPs or CIDRs exempt from the address check (DATA_AGENT_ALLOW_HOSTS)
    max_bytes: int = 512 * 1024 * 1024  # max decoded (and announced) body size
    timeout: float = 300.0  # TOTAL deadline per fetch: all retries, redirects and body reading included
    connect_timeout: float = 10.0
    max_redirects: int = 5
    max_retries: int = 3
    backoff_base: float = 0.5  # seconds; jittered exponential
    max_retry_after: float = 60.0  # cap for Retry-After and for backoff
    proxy: str | None = None  # proxy environment variables are ignored; only this is used
    user_agent: str = "data-agent/0.1 (+video metadata import)"


# --- errors -----------------------------------------------------------------------------------------------------


def _restore_error(cls: type[FetchError], args: tuple[Any, ...], state: dict[str, Any]) -> FetchError:
    error = Exception.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class FetchError(Exception):
    """A fetch failed. The message is written for the customer who owns the URL.

    `url` is the URL without userinfo, query string or fragment (`safe_url`): safe to log and to show. `reason` says
    what went wrong, `advice` what the customer can do; the message joins them.
    """

    def __init__(self, url: str, reason: str, advice: str = "") -> None:
        self.url = safe_url(url)
        self.reason = reason
        self.advice = advice
        super().__init__(f"Fetching {self.url} failed: {reason}." + (f" {advice}" if advice else ""))

    def __reduce__(self) -> tuple[Any, ...]:
        # Errors cross process boundaries (Dagster step workers); the custom __init__ would break default pickling.
        return _restore_error, (type(self), self.args, self.__dict__)


class UnsafeURL(FetchError):
    """The URL may not be fetched: not http(s), not a valid URL, or a host (or redirect) to a refused address."""


class HostNotFound(FetchError):
    """The host name does not resolve to any address."""


class TooLarge(FetchError):
    """The body is announced or decoded larger than the policy's `max_bytes`."""


class DeadlineExceeded(FetchError):
    """The fetch's total deadline passed."""


class ConnectFailed(FetchError):
    """No connection could be made, or it broke, on every attempt."""


class RedirectError(FetchError):
    """Redirects went in a loop or were more than the policy allows."""


class BadResponse(FetchError):
    """The server's answer could not be understood (encoding, compression, JSON)."""


class HTTPStatusError(FetchError):
    """The final answer had a status other than 2xx or 304."""

    def __init__(self, url: str, status_code: int, *, attempts: int = 1, advice: str | None = None) -> None:
        self.status_code = status_code
        reason = f"the server answered {_status_text(status_code)}"
        if attempts > 1:
            reason += f" after {attempts} attempts"
        super().__init__(url, reason, _status_advice(status_code) if advice is None else advice)


class AuthRejected(HTTPStatusError):
    """The server refused the credentials (401) or the access (403); never retried."""


def _status_text(status_code: int) -> str:
    try:
        return f"{status_code} {HTTPStatus(status_code).phrase}"
    except ValueError:
        return str(status_code)


def _status_advice(status_code: int) -> str:
    if status_code in (401, 403):
        return "Check the credentials and permissions configured for this source."
    if status_code == 404:
        return "Check that the URL is right and still published."
    if status_code == 429 or status_code >= 500:
        return "The server is failing or overloaded; try again later, or ask its owner."
    return "Check the URL and the source's settings."


def safe_url(url: str) -> str:
    """`url` without userinfo, query string and fragment: the form that may appear in messages and logs."""
    try:
        parts = urlsplit(str(url))
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<invalid URL>"
    if ":" in host:
        host = f"[{host}]"
    path = parts.path[:200]
    if parts.netloc:
        return f"{parts.scheme}://{host}{port}{path}"
    return f"{parts.scheme}:{path}" if parts.scheme else path


def _size_text(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


# --- the address check --------------------------------------------------------------------------------------------

# Refused whatever Python's `ipaddress` flags say (which change between releases); most also fall under a flag.
_REFUSED_NETWORKS: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(network), reason)
    for network, reason in (
        ("169.254.169.254/32", "a cloud metadata address"),
        ("169.254.170.2/32", "a cloud metadata address"),
        ("100.100.100.200/32", "a cloud metadata address"),
        ("168.63.129.16/32", "a cloud metadata address"),
        ("fd00:ec2::254/128", "a cloud metadata address"),
        ("0.0.0.0/8", "a 'this network' address"),
        ("100.64.0.0/10", "a shared (carrier-grade NAT) address"),
        ("192.0.0.0/24", "an IETF protocol address"),
        ("198.18.0.0/15", "a benchmarking address"),
        ("64:ff9b:1::/48", "a local-use NAT64 address"),
    )
)
_ADDRESS_FLAGS = (
    ("is_unspecified", "an unspecified address"),
    ("is_loopback", "a loopback address"),
    ("is_link_local", "a link-local address"),
    ("is_multicast", "a multicast address"),
    ("is_private", "a private address"),
    ("is_reserved", "a reserved address"),
    ("is_site_local", "a site-local address"),
)
# IPv6 prefixes whose last 32 bits are an IPv4 address the packets end up at: IPv4-compatible, IPv4-mapped,
# IPv4-translated (SIIT) and the well-known NAT64 prefix.
_IPV4_IN_LAST_32_BITS = tuple(
    ipaddress.IPv6Network(prefix) for prefix in ("::/96", "::ffff:0:0/96", "::ffff:0:0:0/96", "64:ff9b::/96")
)
# A last label that is a number: never a host name, an IP address the OS would not accept (e.g. "127.0.0.1.").
_NUMERIC_LAST_LABEL = re.compile(r"(?:^|\.)(?:0x[0-9a-f]*|[0-9]+)\.?$", re.IGNORECASE)
# Labels of letters, digits, hyphens (and underscores, seen in the wild), in the IDNA form httpx gives; anything
# else (httpx percent-encodes odd characters) is not a name worth handing to the resolver.
_HOST_NAME = re.compile(
    r"(?=.{1,253}\.?$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.?",
    re.IGNORECASE,
)


def system_resolver(host: str, port: int) -> list[str]:
    """All addresses `host` resolves to for a TCP connection, as the OS resolves them."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_url(url: str, policy: FetchPolicy, *, resolve: bool = True, resolver: Resolver | None = None) -> None:
    """Raise `UnsafeURL` if `url` may not be fetched under `policy`.

    Used when a source is added or edited and again, with pinning, at fetch time. With `resolve=False` only the
    URL itself is judged (scheme, host syntax, literal addresses, "localhost"), no DNS is asked. With resolution,
    a host that does not resolve raises `HostNotFound`.
    """
    _check(url, policy, (resolver or system_resolver) if resolve else None)


@dataclass(frozen=True)
class _Target:
    """A checked URL: the host as httpcore will see it and the addresses it may connect to."""

    url: httpx.URL
    host: str
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class _Allowance:
    """The exemptions of `FetchPolicy.allow_hosts`: host names, and networks (a bare IP is a /32 or /128)."""

    names: frozenset[str]
    networks: tuple[IPNetwork, ...]

    @classmethod
    def of(cls, entries: tuple[str, ...]) -> _Allowance:
        names: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                names.add(_normal_name(entry))
        return cls(frozenset(names), tuple(networks))

    def allows_name(self, host: str) -> bool:
        return _normal_name(host) in self.names

    def allows_address(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks)


def _normal_name(host: str) -> str:
    return host.strip().rstrip(".").lower()


def _check(url: str | httpx.URL, policy: FetchPolicy, resolver: Resolver | None) -> _Target:
    """Parse and judge `url`; resolve its host with `resolver` unless None. Raise UnsafeURL when refused."""
    parsed = _parse(url)
    host = parsed.raw_host.decode("ascii")
    allowance = _Allowance.of(policy.allow_hosts)
    literal = _literal_address(host)
    if literal is not None:
        addresses = [literal]
    elif _NUMERIC_LAST_LABEL.search(host) or not _HOST_NAME.fullmatch(host):
        raise UnsafeURL(str(url), f"{host!r} is neither a valid IP address nor a host name", _UNSAFE_ADVICE)
    elif not allowance.allows_name(host) and _is_localhost(host):
        raise UnsafeURL(str(url), f"{host} is this machine itself", _UNSAFE_ADVICE)
    elif resolver is None:
        return _Target(parsed, host, ())
    else:
        addresses = _resolve(resolver, host, parsed.port or (443 if parsed.scheme == "https" else 80), str(url))
    if not allowance.allows_name(host):
        for address in addresses:
            reason = _refusal(address)
            if reason is not None and not allowance.allows_address(address):
                raise UnsafeURL(str(url), f"{host} resolves to {address}, {reason}", _UNSAFE_ADVICE)
    return _Target(parsed, host, tuple(str(address) for address in addresses))


def _parse(url: str | httpx.URL) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
        parsed.raw_host.decode("ascii")
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise UnsafeURL(str(url), "it is not a valid URL", "Check the URL for typing errors.") from exc
    if parsed.scheme not in _ALLOWED_SCHEMES:
        scheme = f"'{parsed.scheme}'" if parsed.scheme else "a URL without one"
        raise UnsafeURL(str(url), f"only http and https URLs can be fetched, not {scheme}", "Use an http(s) URL.")
    if not parsed.raw_host:
        raise UnsafeURL(str(url), "it has no host name", "Check the URL for typing errors.")
    return parsed


def _literal_address(host: str) -> IPAddress | None:
    """The address `host` denotes without DNS, read the way the OS reads numeric hosts, or None for a name.

    getaddrinfo (through inet_aton) accepts decimal, octal, hex and short forms: 2130706433, 0177.0.0.1, 0x7f.1
    and 127.1 all mean 127.0.0.1, so the check must read them the same way.
    """
    try:
        infos = socket.getaddrinfo(host, None, flags=socket.AI_NUMERICHOST)
    except (OSError, ValueError):
        return None
    return ipaddress.ip_address(infos[0][4][0])


def _is_localhost(host: str) -> bool:
    # RFC 6761: "localhost" and names under it always mean this machine, whatever DNS says.
    name = _normal_name(host)
    return name == "localhost" or name.endswith(".localhost")


def _resolve(resolver: Resolver, host: str, port: int, url: str) -> list[IPAddress]:
    try:
        answers = resolver(host, port)
    except (OSError, UnicodeError) as exc:
        raise HostNotFound(url, f"the host name {host} could not be resolved", "Check the host name.") from exc
    if not answers:
        raise HostNotFound(url, f"the host name {host} has no address", "Check the host name.")
    addresses = []
    for answer in answers:
        try:
            addresses.append(ipaddress.ip_address(answer))
        except ValueError as exc:
            raise UnsafeURL(url, f"{host} resolves to {answer!r}, not an IP address", _UNSAFE_ADVICE) from exc
    return addresses


def _refusal(address: IPAddress) -> str | None:
    """Why `address` may not be connected to, or None if it is public: judged on it and on any IPv4 inside it."""
    # The IPv4 address inside first: "::ffff:169.254.169.254" is refused as the metadata address it reaches, not
    # merely as a private IPv6 range.
    for inner in _embedded_ipv4(address):
        reason = _own_refusal(inner)
        if reason is not None:
            return f"which carries {inner}, {reason}"
    return _own_refusal(address)


def _own_refusal(address: IPAddress) -> str | None:
    for network, reason in _REFUSED_NETWORKS:
        if address in network:
            return reason
    for flag, reason in _ADDRESS_FLAGS:
        if getattr(address, flag, False):
            return reason
    # Catches what the flags miss (e.g. future special-purpose ranges); `is_global` alone misses metadata addresses.
    return None if address.is_global else "not a public address"


def _embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 transition form (mapped, compatible, SIIT, NAT64, 6to4, Teredo) sends packets to."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found = []
    if any(address in prefix for prefix in _IPV4_IN_LAST_32_BITS):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    return found


# --- the transport: pinned addresses, per-socket deadline --------------------------------------------------------


class _PinnedBackend(httpcore.SyncBackend):
    """Connects only to addresses pinned for a host by the check, and caps socket timeouts by the fetch deadline."""

    def __init__(self) -> None:
        self._pins: dict[str, tuple[str, ...]] = {}
        self._lock = threading.Lock()
        # Deadlines are per fetch, and a fetch runs on one thread: a thread-local reaches the sockets it uses.
        self._local = threading.local()

    def pin(self, host: str, addresses: tuple[str, ...]) -> None:
        with self._lock:
            self._pins[host] = addresses

    @contextlib.contextmanager
    def deadline(self, remaining: Callable[[], float]) -> Iterator[None]:
        outer = getattr(self._local, "remaining", None)
        self._local.remaining = remaining
        try:
            yield
        finally:
            self._local.remaining = outer

    def cap(self, timeout: float | None) -> float | None:
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
        raise httpcore.ConnectError("unix sockets are never used for customer URLs")


class _CappedStream(httpcore.NetworkStream):
    """A socket stream whose reads and writes never wait past the current fetch's deadline."""

    def __init__(self, stream: httpcore.NetworkStream, backend: _PinnedBackend) -> None:
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
def _default_ssl_context() -> ssl.SSLContext:
    """The trust store (certifi), loaded once per process: loading it costs tens of milliseconds per client, and
    a context is safe to share between connections and threads."""
    return httpx.create_ssl_context()


def _transport(policy: FetchPolicy, backend: _PinnedBackend, ssl_context: ssl.SSLContext) -> httpx.HTTPTransport:
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


def _no_cookies() -> http.cookiejar.CookieJar:
    # Cookies set by one customer's server must never reach another customer's requests to the same host.
    return http.cookiejar.CookieJar(policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))


# --- body reading -------------------------------------------------------------------------------------------------


class _Decoder:
    """Incremental Content-Encoding decoder whose every step yields at most `_DECODE_STEP` bytes.

    httpx's own decoders inflate each network read in one call, so 64 KiB of a gzip bomb becomes ~64 MB in memory
    before any size check could run; here zlib's `max_length` bounds every step.
    """

    def __init__(self, content_encoding: str | None, url: str) -> None:
        codings = [coding.strip().lower() for coding in (content_encoding or "").split(",")]
        codings = [coding for coding in codings if coding not in ("", "identity")]
        self._url = url
        if not codings:
            self._zlib = None
        elif codings in (["gzip"], ["x-gzip"]):
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif codings == ["deflate"]:
            self._zlib = zlib.decompressobj()
        else:
            raise BadResponse(
                url,
                f"the server sent the body encoded as {content_encoding!r}, which was not asked for",
                "Ask the server's owner to serve it uncompressed or with gzip.",
            )

    def decode(self, data: bytes) -> Iterator[bytes]:
        if self._zlib is None:
            if data:
                yield data
            return
        while data:
            try:
                piece = self._zlib.decompress(data, _DECODE_STEP)
            except zlib.error as exc:
                raise BadResponse(self._url, "the server sent a corrupt compressed body", "Try again later.") from exc
            if piece:
                yield piece
            data = self._zlib.unconsumed_tail

    def flush(self) -> bytes:
        return self._zlib.flush() if self._zlib is not None else b""


class _Budget:
    """The total deadline of one fetch, read from the injectable monotonic clock."""

    def __init__(self, clock: Callable[[], float], seconds: float, url: str) -> None:
        self._clock = clock
        self._seconds = seconds
        self._url = url
        self._deadline = clock() + seconds

    def remaining(self) -> float:
        return self._deadline - self._clock()

    def check(self) -> None:
        if self.remaining() <= 0:
            self.exceeded()

    def exceeded(self) -> NoReturn:
        raise DeadlineExceeded(
            self._url,
            f"it did not finish within {self._seconds:g} s, the time allowed for one fetch",
            "The server is slow or not answering; try again later, or ask its owner.",
        )

    def timeouts(self, connect_timeout: float) -> dict[str, float]:
        left = max(self.remaining(), 0.001)
        return {"connect": min(connect_timeout, left), "read": left, "write": left, "pool": left}


def _check_announced_size(response: httpx.Response, max_bytes: int, url: str) -> None:
    """Fail before reading a byte when Content-Length already says the body is too large."""
    length = response.headers.get("content-length", "").strip()
    if length.isascii() and length.isdigit() and int(length) > max_bytes:
        raise TooLarge(
            url,
            f"the server announced {_size_text(int(length))}, more than the limit of {_size_text(max_bytes)}",
            "Ask the server's owner for a smaller document (paged or filtered), or an operator to raise the limit.",
        )


def _too_large(url: str, max_bytes: int) -> TooLarge:
    return TooLarge(
        url,
        f"the body is larger than the limit of {_size_text(max_bytes)}",
        "Ask the server's owner for a smaller document (paged or filtered), or an operator to raise the limit.",
    )


def _body(response: httpx.Response, budget: _Budget, max_bytes: int, url: str) -> Iterator[bytes]:
    """The decoded body in bounded pieces; fails once the wire or the decoded size passes max_bytes, or the deadline."""
    decoder = _Decoder(response.headers.get("content-encoding"), url)
    received = decoded = 0
    for raw in response.iter_raw():
        budget.check()
        received += len(raw)
        if received > max_bytes:
            raise _too_large(url, max_bytes)
        for piece in decoder.decode(raw):
            decoded += len(piece)
            if decoded > max_bytes:
                raise _too_large(url, max_bytes)
            yield piece
    tail = decoder.flush()
    if decoded + len(tail) > max_bytes:
        raise _too_large(url, max_bytes)
    budget.check()
    if tail:
        yield tail


# --- results ------------------------------------------------------------------------------------------------------


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


class _Retryable(Exception):
    """An attempt failed in a way worth retrying; `give_up(attempts)` is the error to raise when none is left."""

    def __init__(self, give_up: Callable[[int], FetchError], retry_after: float | None = None) -> None:
        super().__init__()
        self.give_up = give_up
        self.retry_after = retry_after


class HttpClient:
    """The HTTP client for customer URLs: checked, pinned, bounded, retried (see the module docstring).

    `resolver`, `clock` and `sleep` are seams for tests; `ssl_context` replaces the default trust store (certifi).
    Thread-safe for concurrent fetches.
    """

    def __init__(
        self,
        policy: FetchPolicy = FetchPolicy(),
        *,
        resolver: Resolver | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._policy = policy
        self._resolver = resolver or system_resolver
        self._clock = clock
        self._sleep = sleep
        self._random = random.Random()
        self._backend = _PinnedBackend()
        self._client = httpx.Client(
            transport=_transport(policy, self._backend, ssl_context or _default_ssl_context()),
            trust_env=False,
            follow_redirects=False,
            cookies=_no_cookies(),
            headers={"User-Agent": policy.user_agent, "Accept-Encoding": _ACCEPT_ENCODING},
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
        """
        conditional = {}
        if etag:
            conditional["If-None-Match"] = etag
        if last_modified:
            conditional["If-Modified-Since"] = last_modified
        spec = _RequestSpec("GET", url, headers={**(headers or {}), **conditional})
        dest = Path(dest)

        def save(response: httpx.Response, budget: _Budget) -> Download:
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
        timeout: float | None = None,
        max_bytes: int | None = None,
    ) -> Response:
        """Send an API request and read the (small) answer into memory, with the same safety, limits and retries."""
        spec = _RequestSpec(method.upper(), url, headers=dict(headers or {}), params=params, json=json, data=data)
        limit = self._policy.max_bytes if max_bytes is None else max_bytes

        def read(response: httpx.Response, budget: _Budget) -> Response:
            _check_announced_size(response, limit, url)
            content = b"".join(_body(response, budget, limit, url))
            return Response(response.status_code, response.headers, content, str(response.url))

        return self._fetch(spec, timeout, read)

    # --- one fetch: attempts, redirects, status ---

    def _fetch(self, spec: _RequestSpec, timeout: float | None, consume: Callable[[httpx.Response, _Budget], T]) -> T:
        """Run attempts until one succeeds, retrying what `_Retryable` marks, within one total deadline."""
        budget = _Budget(self._clock, self._policy.timeout if timeout is None else timeout, spec.url)
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
    def _open(self, spec: _RequestSpec, budget: _Budget) -> Iterator[httpx.Response]:
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
            self._raise_for_status(response, spec.url)
            yield response
        finally:
            response.close()

    def _send(self, spec: _RequestSpec, budget: _Budget, *, first: bool) -> httpx.Response:
        """Check and pin the host of `spec`, then send it and return the streamed response."""
        try:
            target = _check(spec.url, self._policy, self._resolver)
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
            extensions={"timeout": budget.timeouts(self._policy.connect_timeout)},
        )
        with self._transport_errors(spec.url, budget):
            return self._client.send(request, stream=True)

    @contextlib.contextmanager
    def _transport_errors(self, url: str, budget: _Budget) -> Iterator[None]:
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
            retry_after = _parse_retry_after(response.headers.get("retry-after"), datetime.now(UTC))
            raise _Retryable(lambda attempts: HTTPStatusError(url, status, attempts=attempts), retry_after)
        raise HTTPStatusError(url, status)

    def _retry_delay(self, attempts: int, retry_after: float | None) -> float:
        """Seconds to wait after failed attempt number `attempts`: Retry-After if given, else jittered backoff."""
        if retry_after is not None:
            return min(retry_after, self._policy.max_retry_after)
        backoff = self._policy.backoff_base * 2 ** (attempts - 1)
        # Jitter spreads the retries of many sources failing at once against the same platform.
        return min(backoff * self._random.uniform(0.5, 1.0), self._policy.max_retry_after)

    def _save(self, response: httpx.Response, budget: _Budget, dest: Path, url: str, *, conditional: bool) -> Download:
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
        _check_announced_size(response, self._policy.max_bytes, url)
        digest = hashlib.sha256()
        size = 0
        handle, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        part = Path(name)
        try:
            with os.fdopen(handle, "wb") as out:
                for piece in _body(response, budget, self._policy.max_bytes, url):
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
        return replace(spec, method="GET", url=str(target), headers=headers, params=None, json=None, data=None)
    return replace(spec, url=str(target), headers=headers, params=None)


def _parse_retry_after(value: str | None, now: datetime) -> float | None:
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
