"""Where a fetch may go: the `FetchPolicy` of a client and the check of a URL and its addresses (the SSRF guard).

Only http and https URLs are fetched, and a host with any address that is not public (loopback, private,
link-local, multicast, reserved, unspecified, shared, cloud metadata, or an IPv4 address of that kind embedded in
an IPv6 transition form) is refused unless `FetchPolicy.allow_hosts` exempts it.

A `file://` URL is read only when `FetchPolicy.feed_folder` is set, and only for a regular file inside that
folder, reached without `..` and without a symbolic link below the folder (`local_file`): an operator drops feed
files there (the demo's sample feed lives there), and no source can point at the secret key file or anything else.

The host is resolved once, by the resolver of the check (`system_resolver`, i.e. `socket.getaddrinfo`, unless
injected); numeric hosts such as ``2130706433`` or ``0x7f.1`` are read with ``AI_NUMERICHOST``, exactly as the OS
reads them. The check returns the addresses it judged (`Target`), which the transport then pins for the host.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

import httpx

from .errors import FetchError, HostNotFound, UnsafeURL

Resolver = Callable[[str, int], list[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_ALLOWED_SCHEMES = ("http", "https")
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
    # The one folder `file://` URLs may read (DATA_AGENT_FEED_FOLDER); None refuses every file URL.
    feed_folder: Path | None = None


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
    a host that does not resolve raises `HostNotFound`. A `file:` URL is judged by `local_file`; a file that does
    not exist (yet) passes here, as a host that does not resolve does for the callers.
    """
    if is_file_url(url):
        local_file(url, policy, must_exist=False)
        return
    check(url, policy, resolver, resolve=resolve)


def is_file_url(url: str | httpx.URL) -> bool:
    """Whether `url` names a local file (`file:`), which `local_file` judges instead of `check`."""
    return str(url).strip().lower().startswith("file:")


def local_file(url: str, policy: FetchPolicy, *, must_exist: bool = True) -> Path:
    """The file a `file:///…` URL may read under `policy`, or UnsafeURL saying why not.

    Only a regular file inside `policy.feed_folder`: no host, no `..` (percent-encoded or not), no symbolic link
    anywhere below the folder (the folder itself may sit behind one: it is resolved first), no directory, fifo or
    device. A missing file is a FetchError at fetch time; with `must_exist=False` (a source being added before its
    file is dropped in) it passes.
    """
    folder = policy.feed_folder
    if folder is None:
        raise UnsafeURL(
            url,
            "local files cannot be read: the local feed folder is turned off (DATA_AGENT_FEED_FOLDER=off)",
            "Use an http(s) URL, or ask an operator to set DATA_AGENT_FEED_FOLDER.",
        )
    advice = f"Put the feed file in the local feed folder {folder} and give its file:/// URL."
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:
        raise UnsafeURL(url, "it is not a valid URL", "Check the URL for typing errors.") from exc
    if parts.netloc:
        raise UnsafeURL(url, f"a file URL names no host (file:///PATH), and this one names {parts.netloc!r}", advice)
    if parts.query or parts.fragment:
        raise UnsafeURL(url, "a file URL has no query string or fragment", advice)
    try:
        path = unquote(parts.path, errors="strict")
    except UnicodeDecodeError as exc:
        raise UnsafeURL(url, "its path is not valid percent-encoded UTF-8", advice) from exc
    if "\x00" in path or not path.startswith("/"):
        raise UnsafeURL(url, "it is not an absolute file path", advice)
    if ".." in PurePosixPath(path).parts:
        raise UnsafeURL(url, "its path climbs out of a folder with '..'", advice)
    real_folder = Path(os.path.realpath(folder))
    relative = _inside(PurePosixPath(path), (PurePosixPath(folder), PurePosixPath(real_folder)))
    if relative is None or not relative.parts:
        raise UnsafeURL(url, f"it is outside the local feed folder {folder}", advice)
    current = real_folder
    for part in relative.parts:
        current = current / part
        try:
            mode = current.lstat().st_mode
        except FileNotFoundError:
            if not must_exist:
                return current
            raise FetchError(url, "the file does not exist", advice) from None
        except OSError as exc:
            raise FetchError(url, f"the file cannot be read ({exc.strerror})", advice) from exc
        if stat.S_ISLNK(mode):
            raise UnsafeURL(url, f"it goes through a symbolic link ({current.name})", advice)
    if not stat.S_ISREG(mode):
        raise UnsafeURL(url, f"it is not a regular file but {_file_type(mode)}", advice)
    return current


def _inside(path: PurePosixPath, folders: tuple[PurePosixPath, ...]) -> PurePosixPath | None:
    """`path` relative to the first of `folders` it lies in, or None."""
    for folder in folders:
        if path.is_relative_to(folder):
            return path.relative_to(folder)
    return None


def _file_type(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


@dataclass(frozen=True)
class Target:
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


def check(url: str | httpx.URL, policy: FetchPolicy, resolver: Resolver | None, *, resolve: bool = True) -> Target:
    """Parse and judge `url`; unless `resolve` is false, resolve its host with `resolver` (`system_resolver` when
    None). Raise UnsafeURL when refused, HostNotFound when the host does not resolve."""
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
    elif not resolve:
        return Target(parsed, host, ())
    else:
        # `system_resolver` is looked up at each check, so one patch of it (the tests' fake DNS) reaches every client.
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        addresses = _resolve(resolver or system_resolver, host, port, str(url))
    if not allowance.allows_name(host):
        for address in addresses:
            reason = _refusal(address)
            if reason is not None and not allowance.allows_address(address):
                raise UnsafeURL(str(url), f"{host} resolves to {address}, {reason}", _UNSAFE_ADVICE)
    return Target(parsed, host, tuple(str(address) for address in addresses))


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
