"""Tests of `data_agent_pipelines.net`: the address check, pinning, limits, deadline, retries and conditional GET.

Every server runs on 127.0.0.1 inside the test. Refusals use the default policy, literal addresses, or the
resolver seam (a made-up host name mapped to the address under test): nothing ever leaves the machine. Retries use
a fake `sleep` that records the waits instead of waiting.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import pickle
import socket
import ssl
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data_agent_pipelines.net import (
    AuthRejected,
    BadResponse,
    ConnectFailed,
    DeadlineExceeded,
    FetchError,
    FetchPolicy,
    HostNotFound,
    HttpClient,
    HTTPStatusError,
    RedirectError,
    TooLarge,
    UnsafeURL,
    check_url,
    safe_url,
)

LOCAL = FetchPolicy(allow_hosts=("127.0.0.1",), backoff_base=0.01)
PUBLIC_IP = "93.184.216.34"

App = Callable[[BaseHTTPRequestHandler], None]


# --- local servers ------------------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length else b""
        self.server.seen.append(self)
        self.server.app(self)

    do_GET = do_POST = do_HEAD = do_PUT = _handle

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, app: App, stop: threading.Event) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.app = app
        self.stop = stop
        self.seen: list[_Handler] = []

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up early (size limits, deadlines) are the point of several tests

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"


@pytest.fixture
def serve() -> Iterator[Callable[[App], _Server]]:
    """Start servers running `app(handler)` per request; stopped (and slow handlers released) after the test."""
    stop = threading.Event()
    servers: list[_Server] = []

    def start(app: App) -> _Server:
        server = _Server(app, stop)
        threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
        servers.append(server)
        return server

    yield start
    stop.set()
    for server in servers:
        server.shutdown()
        server.server_close()


def reply(handler: BaseHTTPRequestHandler, status: int = 200, body: bytes = b"", **headers: str) -> None:
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(body)


def answer(status: int = 200, body: bytes = b"", **headers: str) -> App:
    return lambda handler: reply(handler, status, body, **headers)


def sequence(*apps: App) -> App:
    """Answer the n-th request with the n-th app, and later ones with the last."""
    count = 0

    def app(handler: BaseHTTPRequestHandler) -> None:
        nonlocal count
        current = apps[min(count, len(apps) - 1)]
        count += 1
        current(handler)

    return app


def fake_dns(mapping: dict[str, list[str]]) -> Callable[[str, int], list[str]]:
    def resolve(host: str, port: int) -> list[str]:
        try:
            return mapping[host]
        except KeyError:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None

    return resolve


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sleeps: list[float]) -> Iterator[HttpClient]:
    with HttpClient(LOCAL, sleep=sleeps.append) as http:
        yield http


def leftovers(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


# --- the address check --------------------------------------------------------------------------------------------

REFUSED = [
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "127.0.0.1",
    "127.255.255.254",
    "0.0.0.0",
    "0.1.2.3",
    "169.254.169.254",
    "169.254.1.1",
    "100.64.0.1",
    "100.100.100.200",
    "168.63.129.16",
    "192.0.0.1",
    "198.18.0.1",
    "192.0.2.1",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::127.0.0.1",  # IPv4-compatible
    "::ffff:0:10.0.0.1",  # IPv4-translated (SIIT)
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo, client 10.0.0.1
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b:1::a00:1",  # local-use NAT64
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "fd00:ec2::254",
    "fec0::1",
    "ff02::1",
    "2001:db8::1",
]


@pytest.mark.parametrize("address", REFUSED)
def test_refuses_every_non_public_address_class(address: str) -> None:
    resolver = fake_dns({"feed.example": [address]})
    with pytest.raises(UnsafeURL, match=r"feed\.example resolves to"):
        check_url("http://feed.example/rss", FetchPolicy(), resolver=resolver)
    literal = f"[{address}]" if ":" in address else address
    with pytest.raises(UnsafeURL):
        check_url(f"https://{literal}/rss", FetchPolicy(), resolve=False)


@pytest.mark.parametrize("address", [PUBLIC_IP, "8.8.8.8", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e"])
def test_public_addresses_pass(address: str) -> None:
    check_url("https://feed.example/rss", FetchPolicy(), resolver=fake_dns({"feed.example": [address]}))


@pytest.mark.parametrize(
    "url",
    [
        "http://2130706433/",  # decimal 127.0.0.1
        "http://017700000001/",  # octal
        "http://0x7f000001/",  # hex
        "http://0x7f.1/",
        "http://0177.0.0.1/",
        "http://127.1/",
        "http://127.0.1/",
        "http://10.1/",
        "http://3232235777/",  # 192.168.1.1
        "http://0xa9fea9fe/",  # 169.254.169.254
        "http://0/",
        "http://127.0.0.1./",  # not an address the OS takes, and no host name either
        "http://[::ffff:7f00:1]/",
        "http://[0:0:0:0:0:ffff:127.0.0.1]/",
        "http://localhost/",
        "http://LOCALHOST./",
        "http://api.localhost/",
    ],
)
def test_numeric_and_local_host_forms_are_refused_without_dns(url: str) -> None:
    def no_dns(host: str, port: int) -> list[str]:
        raise AssertionError(f"{host} should not reach DNS")

    with pytest.raises(UnsafeURL):
        check_url(url, FetchPolicy(), resolve=False)
    with pytest.raises(UnsafeURL):
        check_url(url, FetchPolicy(), resolver=no_dns)
    with HttpClient(FetchPolicy(), resolver=no_dns) as http, pytest.raises(UnsafeURL):
        http.request("GET", url)


def test_host_with_one_public_and_one_private_address_is_refused() -> None:
    resolver = fake_dns({"mixed.example": [PUBLIC_IP, "10.0.0.1"]})
    with pytest.raises(UnsafeURL, match=r"10\.0\.0\.1, a private address"):
        check_url("https://mixed.example/", FetchPolicy(), resolver=resolver)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/feed.xml",
        "gopher://example.com:70/_",
        "javascript:alert(1)",
        "data:text/plain,hi",
        "//example.com/feed",
        "example.com/feed",
        "http:///feed",
        "http://",
        "",
        "http://exa mple.com/",
        "http://[::1/",
    ],
)
def test_only_valid_http_urls_are_fetched(url: str) -> None:
    with pytest.raises(UnsafeURL):
        check_url(url, FetchPolicy(), resolver=fake_dns({"example.com": [PUBLIC_IP]}))


def test_allow_hosts_by_name_ip_and_cidr() -> None:
    resolver = fake_dns({"feed.internal": ["10.0.0.5"], "other.internal": ["10.0.0.6"], "cms.lan": ["192.168.1.1"]})
    check_url("http://Feed.Internal/x", FetchPolicy(allow_hosts=("feed.internal",)), resolver=resolver)
    with pytest.raises(UnsafeURL):
        check_url("http://other.internal/x", FetchPolicy(allow_hosts=("feed.internal",)), resolver=resolver)

    by_ip = FetchPolicy(allow_hosts=("10.0.0.5",))
    check_url("http://feed.internal/x", by_ip, resolver=resolver)
    check_url("http://10.0.0.5/x", by_ip, resolve=False)
    with pytest.raises(UnsafeURL):
        check_url("http://other.internal/x", by_ip, resolver=resolver)

    by_cidr = FetchPolicy(allow_hosts=("10.0.0.0/8", "fd00::/8"))
    check_url("http://other.internal/x", by_cidr, resolver=resolver)
    check_url("http://[fd00::1]/x", by_cidr, resolve=False)
    with pytest.raises(UnsafeURL):
        check_url("http://cms.lan/x", by_cidr, resolver=resolver)


def test_check_url_on_its_own() -> None:
    calls: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        calls.append(f"{host}:{port}")
        return [PUBLIC_IP]

    check_url("https://cdn.example.com/feed.xml?key=1", FetchPolicy(), resolver=resolver)
    check_url("http://cdn.example.com:8080/feed.xml", FetchPolicy(), resolver=resolver)
    assert calls == ["cdn.example.com:443", "cdn.example.com:8080"]
    check_url("https://cdn.example.com/feed.xml", FetchPolicy(), resolve=False, resolver=resolver)
    assert len(calls) == 2  # resolve=False asks no DNS
    check_url("https://bücher.example/feed", FetchPolicy(), resolver=resolver)
    assert calls[-1] == "xn--bcher-kva.example:443"  # the IDNA form is what gets resolved
    with pytest.raises(HostNotFound, match=r"nowhere\.example"):
        check_url("https://nowhere.example/", FetchPolicy(), resolver=fake_dns({}))


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.builds("http://{}/{}".format, st.text(), st.text()), st.from_regex(r"\Ahttps?://")))
def test_check_url_raises_only_unsafe_url(url: str) -> None:
    def public(host: str, port: int) -> list[str]:
        return [PUBLIC_IP]

    for kwargs in ({"resolve": False}, {"resolver": public}):
        with contextlib.suppress(UnsafeURL):
            check_url(url, FetchPolicy(), **kwargs)


# --- connecting to the checked address ----------------------------------------------------------------------------


def test_connects_to_the_checked_address_without_a_second_lookup(
    serve: Callable[[App], _Server], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = serve(answer(200, b"<rss/>"))
    port = server.server_port
    name_lookups: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def recording_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not kwargs.get("flags", 0) & socket.AI_NUMERICHOST:
            name_lookups.append(str(host))
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", recording_getaddrinfo)
    resolved: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        resolved.append(host)
        return ["127.0.0.1"]

    with HttpClient(FetchPolicy(allow_hosts=("127.0.0.1",)), resolver=resolver) as http:
        result = http.download(f"http://feed.test:{port}/rss", tmp_path / "feed.xml")

    assert result.path is not None and result.path.read_bytes() == b"<rss/>"
    assert resolved == ["feed.test"]
    assert "feed.test" not in name_lookups  # the socket went to the pinned 127.0.0.1, never to DNS
    assert server.seen[0].headers["Host"] == f"feed.test:{port}"


def test_falls_back_to_the_next_checked_address(serve: Callable[[App], _Server]) -> None:
    server = serve(answer(200, b"second address"))
    resolver = fake_dns({"feed.test": ["127.0.0.2", "127.0.0.1"]})  # nothing listens on 127.0.0.2
    with HttpClient(FetchPolicy(allow_hosts=("127.0.0.0/8",)), resolver=resolver) as http:
        assert http.request("GET", f"http://feed.test:{server.server_port}/").content == b"second address"


def test_unresolvable_host_at_fetch_time(sleeps: list[float]) -> None:
    unresolved = r"nowhere\.example could not be resolved \(4 attempts\)"
    with (
        HttpClient(LOCAL, resolver=fake_dns({}), sleep=sleeps.append) as http,
        pytest.raises(HostNotFound, match=unresolved),
    ):
        http.request("GET", "https://nowhere.example/feed")
    assert len(sleeps) == 3


def test_proxy_environment_variables_are_ignored(
    serve: Callable[[App], _Server], client: HttpClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = serve(answer(200, b"from the proxy"))
    target = serve(answer(200, b"direct"))
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, proxy.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with HttpClient(LOCAL) as http:
        assert http.request("GET", target.url + "/feed").content == b"direct"
    assert proxy.seen == []


def test_explicit_proxy_is_used(serve: Callable[[App], _Server]) -> None:
    proxy = serve(answer(200, b"via proxy"))
    policy = FetchPolicy(proxy=proxy.url)
    with HttpClient(policy, resolver=fake_dns({"feed.example": [PUBLIC_IP]})) as http:
        assert http.request("GET", "http://feed.example/rss").content == b"via proxy"
        with pytest.raises(UnsafeURL):  # the address check still applies behind a proxy
            http.request("GET", "http://10.0.0.1/rss")
    assert proxy.seen[0].path == "http://feed.example/rss"


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, bytes]:
    """A test CA and a certificate it signed for feed.test: (certificate chain file, key file, CA in PEM)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(common_name: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])

    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("data-agent test CA"))
        .issuer_name(name("data-agent test CA"))
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name("feed.test"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("feed.test")]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    directory = tmp_path_factory.mktemp("tls")
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file, ca.public_bytes(serialization.Encoding.PEM)


def test_tls_is_verified_by_name_on_the_pinned_address(
    serve: Callable[[App], _Server], tls_files: tuple[Path, Path, bytes], sleeps: list[float]
) -> None:
    cert_file, key_file, ca_pem = tls_files
    server = serve(answer(200, b"secure"))
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_file, key_file)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    port = server.server_port
    client_context = ssl.create_default_context(cadata=ca_pem.decode())
    resolver = fake_dns({"feed.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    with HttpClient(LOCAL, resolver=resolver, ssl_context=client_context, sleep=sleeps.append) as http:
        assert http.request("GET", f"https://feed.test:{port}/rss").content == b"secure"
        # Same address, another name: the certificate is checked against the URL's name, not the IP.
        with pytest.raises(ConnectFailed, match="certificate could not be verified"):
            http.request("GET", f"https://other.test:{port}/rss")
    assert sleeps == []  # a bad certificate is not retried


# --- redirects ----------------------------------------------------------------------------------------------------


def test_redirect_to_a_private_address_is_refused(serve: Callable[[App], _Server], tmp_path: Path) -> None:
    server = serve(
        lambda handler: reply(
            handler,
            302,
            Location={"/meta": "http://169.254.169.254/latest/", "/lan": "http://intranet.example/"}[handler.path],
        )
    )
    resolver = fake_dns({"intranet.example": ["192.168.0.10"]})
    metadata = r"redirected to http://169\.254\.169\.254/latest/.*metadata"
    with HttpClient(LOCAL) as http, pytest.raises(UnsafeURL, match=metadata):
        http.download(server.url + "/meta", tmp_path / "out")
    with HttpClient(LOCAL, resolver=resolver) as http, pytest.raises(UnsafeURL, match=r"192\.168\.0\.10"):
        http.download(server.url + "/lan", tmp_path / "out")
    assert leftovers(tmp_path) == []


def test_redirect_to_another_scheme_is_refused(serve: Callable[[App], _Server], client: HttpClient) -> None:
    server = serve(answer(301, Location="file:///etc/passwd"))
    with pytest.raises(UnsafeURL, match="only http and https"):
        client.request("GET", server.url + "/feed")


def test_redirects_are_followed_and_reported(serve: Callable[[App], _Server], client: HttpClient, tmp_path: Path):
    server = serve(
        lambda handler: (
            reply(handler, 301, Location="/new") if handler.path == "/old" else reply(handler, 200, b"moved here")
        )
    )
    result = client.download(server.url + "/old", tmp_path / "feed.xml")
    assert result.url == server.url + "/new"
    assert result.path is not None and result.path.read_bytes() == b"moved here"


def test_303_after_post_turns_into_get(serve: Callable[[App], _Server], client: HttpClient) -> None:
    server = serve(
        lambda handler: (
            reply(handler, 303, Location="/result")
            if handler.command == "POST"
            else reply(handler, 200, f"{handler.command} {handler.path}".encode())
        )
    )
    assert client.request("POST", server.url + "/search", json={"q": 1}).content == b"GET /result"


def test_credentials_do_not_follow_a_redirect_to_another_origin(
    serve: Callable[[App], _Server], client: HttpClient
) -> None:
    other = serve(answer(200, b"ok"))
    home = serve(
        lambda handler: (
            reply(handler, 302, Location="/same")
            if handler.path == "/start"
            else reply(handler, 302, Location=other.url + "/elsewhere")
        )
    )
    client.request("GET", home.url + "/start", headers={"Authorization": "Bearer s3cret", "Accept": "text/xml"})
    assert home.seen[1].headers["Authorization"] == "Bearer s3cret"  # same origin keeps it
    assert other.seen[0].headers.get("Authorization") is None
    assert other.seen[0].headers["Accept"] == "text/xml"


def test_redirect_loop_ends_with_a_clear_error(serve: Callable[[App], _Server], client: HttpClient) -> None:
    server = serve(lambda handler: reply(handler, 302, Location="/b" if handler.path == "/a" else "/a"))
    with pytest.raises(RedirectError, match="redirects in a loop"):
        client.request("GET", server.url + "/a")
    assert len(server.seen) == 2


def test_too_many_redirects(serve: Callable[[App], _Server]) -> None:
    server = serve(lambda handler: reply(handler, 307, Location=f"/hop{int(handler.path[4:]) + 1}"))
    policy = FetchPolicy(allow_hosts=("127.0.0.1",), max_redirects=3)
    with HttpClient(policy) as http, pytest.raises(RedirectError, match="more than 3 times"):
        http.request("GET", server.url + "/hop0")
    assert len(server.seen) == 4


# --- size limits --------------------------------------------------------------------------------------------------


def test_huge_content_length_fails_before_reading(serve: Callable[[App], _Server], tmp_path: Path) -> None:
    def huge(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(5 * 1024**3))
        handler.end_headers()
        handler.wfile.write(b"x" * 1024)
        handler.server.stop.wait(10)  # type: ignore[attr-defined]  # holds the connection open: reading would hang

    server = serve(huge)
    started = time.monotonic()
    with HttpClient(LOCAL) as http, pytest.raises(TooLarge, match=r"announced 5\.0 GB"):
        http.download(server.url + "/big.xml", tmp_path / "big.xml")
    assert time.monotonic() - started < 1.0
    assert leftovers(tmp_path) == []


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """100 MB of zeros, gzipped to about 100 KB."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = bytes(1024 * 1024)
    bomb = b"".join(compressor.compress(zeros) for _ in range(100)) + compressor.flush()
    assert len(bomb) < 200 * 1024
    return bomb


def test_gzip_bomb_stops_at_the_decoded_limit_without_memory_growth(
    serve: Callable[[App], _Server], tmp_path: Path, gzip_bomb: bytes
) -> None:
    server = serve(answer(200, gzip_bomb, Content_Encoding="gzip", Content_Type="application/rss+xml"))
    policy = FetchPolicy(allow_hosts=("127.0.0.1",), max_bytes=10 * 1024 * 1024)
    with HttpClient(policy) as http:
        tracemalloc.start()
        try:
            with pytest.raises(TooLarge, match=r"larger than the limit of 10\.0 MB"):
                http.download(server.url + "/bomb.xml", tmp_path / "bomb.xml")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 8 * 1024 * 1024  # far below the 100 MB the bomb expands to, and below the 10 MB limit itself
    assert leftovers(tmp_path) == []


def test_gzip_body_is_decoded(serve: Callable[[App], _Server], client: HttpClient, tmp_path: Path) -> None:
    document = b"<rss>" + b"<item/>" * 10_000 + b"</rss>"
    server = serve(answer(200, gzip.compress(document), Content_Encoding="gzip"))
    result = client.download(server.url + "/feed.xml", tmp_path / "feed.xml")
    assert result.path is not None and result.path.read_bytes() == document
    assert result.size == len(document)
    assert result.sha256 == hashlib.sha256(document).hexdigest()
    assert server.seen[0].headers["Accept-Encoding"] == "gzip, deflate"


def test_unrequested_content_encoding_is_refused(serve: Callable[[App], _Server], client: HttpClient) -> None:
    server = serve(answer(200, b"\x1b\x00", Content_Encoding="br"))
    with pytest.raises(BadResponse, match="'br'"):
        client.request("GET", server.url + "/feed")


def test_request_max_bytes(serve: Callable[[App], _Server], client: HttpClient) -> None:
    server = serve(answer(200, b"x" * 2000))
    with pytest.raises(TooLarge):
        client.request("GET", server.url + "/api", max_bytes=1000)
    assert client.request("GET", server.url + "/api", max_bytes=2000).content == b"x" * 2000


# --- the total deadline -------------------------------------------------------------------------------------------


def test_slow_drip_cannot_stretch_the_deadline(serve: Callable[[App], _Server], tmp_path: Path) -> None:
    def drip(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        stop: threading.Event = handler.server.stop  # type: ignore[attr-defined]
        while not stop.wait(0.2):  # paces the drip: one byte every 0.2 s, each well inside any read timeout
            handler.wfile.write(b"x")

    server = serve(drip)
    started = time.monotonic()
    policy = FetchPolicy(allow_hosts=("127.0.0.1",), timeout=1.5)
    with HttpClient(policy) as http, pytest.raises(DeadlineExceeded, match=r"within 1\.5 s"):
        http.download(server.url + "/drip.xml", tmp_path / "drip.xml")
    assert time.monotonic() - started < 2.0
    assert leftovers(tmp_path) == []


def test_silent_server_hits_the_deadline_not_a_longer_socket_timeout(serve: Callable[[App], _Server]) -> None:
    server = serve(lambda handler: handler.server.stop.wait(10))  # type: ignore[attr-defined]
    started = time.monotonic()
    policy = FetchPolicy(allow_hosts=("127.0.0.1",), timeout=0.5)
    with HttpClient(policy) as http, pytest.raises(DeadlineExceeded):
        http.request("GET", server.url + "/api")
    assert time.monotonic() - started < 1.0


def test_late_headers_do_not_extend_the_body_read_timeout(serve: Callable[[App], _Server]) -> None:
    def late(handler: BaseHTTPRequestHandler) -> None:
        stop: threading.Event = handler.server.stop  # type: ignore[attr-defined]
        stop.wait(0.6)  # headers come late, so a read timeout fixed when the request was sent would end too late
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        handler.wfile.write(b"x")
        stop.wait(10)

    server = serve(late)
    started = time.monotonic()
    policy = FetchPolicy(allow_hosts=("127.0.0.1",), timeout=1.0)
    with HttpClient(policy) as http, pytest.raises(DeadlineExceeded):
        http.request("GET", server.url + "/api")
    assert time.monotonic() - started < 1.3


# --- retries ------------------------------------------------------------------------------------------------------


def test_503_then_200_is_retried(serve: Callable[[App], _Server], client: HttpClient, sleeps: list[float]) -> None:
    server = serve(sequence(answer(503), answer(200, b"fine")))
    assert client.request("GET", server.url + "/api").content == b"fine"
    assert len(server.seen) == 2
    assert len(sleeps) == 1 and 0.005 <= sleeps[0] <= 0.01  # backoff_base 0.01, jittered down to half


def test_503_forever_fails_after_the_retries(
    serve: Callable[[App], _Server], client: HttpClient, sleeps: list[float]
) -> None:
    server = serve(answer(503))
    with pytest.raises(HTTPStatusError, match="answered 503 Service Unavailable after 4 attempts") as failure:
        client.request("GET", server.url + "/api")
    assert failure.value.status_code == 503
    assert "try again later" in str(failure.value)
    assert len(server.seen) == 4
    assert len(sleeps) == 3
    for retry, delay in enumerate(sleeps):  # exponential with jitter: base * 2**n * [0.5, 1]
        assert 0.01 * 2**retry * 0.5 <= delay <= 0.01 * 2**retry


def test_connection_errors_are_retried(client: HttpClient, sleeps: list[float]) -> None:
    with socket.socket() as placeholder:  # a port nobody listens on
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    with pytest.raises(ConnectFailed, match="after 4 attempts"):
        client.request("GET", f"http://127.0.0.1:{port}/api")
    assert len(sleeps) == 3


def _http_date(delta: timedelta) -> str:
    return format_datetime(datetime.now(UTC) + delta, usegmt=True)


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        ("7", 7.0),
        ("3600", 30.0),  # capped at max_retry_after
        (lambda: _http_date(timedelta(hours=2)), 30.0),
        (lambda: _http_date(timedelta(seconds=-60)), 0.0),
    ],
)
def test_429_honours_retry_after(
    serve: Callable[[App], _Server], sleeps: list[float], retry_after: Any, expected: float
) -> None:
    value = retry_after() if callable(retry_after) else retry_after
    server = serve(sequence(answer(429, Retry_After=value), answer(200, b"ok")))
    with HttpClient(FetchPolicy(allow_hosts=("127.0.0.1",), max_retry_after=30.0), sleep=sleeps.append) as http:
        assert http.request("GET", server.url + "/api").content == b"ok"
    assert sleeps == [expected]


def test_retry_after_http_date_in_the_near_future(serve: Callable[[App], _Server], sleeps: list[float]) -> None:
    server = serve(sequence(answer(503, Retry_After=_http_date(timedelta(seconds=20))), answer(200)))
    with HttpClient(LOCAL, sleep=sleeps.append) as http:
        http.request("GET", server.url + "/api")
    assert len(sleeps) == 1 and 17 <= sleeps[0] <= 21


def test_retry_after_past_the_deadline_gives_up_at_once(serve: Callable[[App], _Server], sleeps: list[float]) -> None:
    server = serve(answer(429, Retry_After="20"))
    policy = FetchPolicy(allow_hosts=("127.0.0.1",), timeout=5)
    with HttpClient(policy, sleep=sleeps.append) as http, pytest.raises(HTTPStatusError, match="429 Too Many"):
        http.request("GET", server.url + "/api")
    assert sleeps == []
    assert len(server.seen) == 1


def test_a_status_the_caller_handles_comes_back_as_the_response(
    serve: Callable[[App], _Server], sleeps: list[float]
) -> None:
    """An API client pacing itself by the platform's 429s gets them back with their headers, unretried."""
    server = serve(answer(429, b'{"error": "slow down"}', Retry_After="60"))
    with HttpClient(LOCAL, sleep=sleeps.append) as http:
        response = http.request("GET", server.url + "/api", handled=(429,))
    assert response.status_code == 429 and response.headers["retry-after"] == "60"
    assert response.json() == {"error": "slow down"}
    assert sleeps == [] and len(server.seen) == 1


@pytest.mark.parametrize("status", [401, 403])
def test_auth_rejected_is_not_retried(
    serve: Callable[[App], _Server], client: HttpClient, sleeps: list[float], status: int
) -> None:
    server = serve(answer(status))
    with pytest.raises(AuthRejected, match="credentials") as failure:
        client.request("GET", server.url + "/api")
    assert failure.value.status_code == status
    assert len(server.seen) == 1 and sleeps == []


def test_other_4xx_is_not_retried(serve: Callable[[App], _Server], client: HttpClient, sleeps: list[float]) -> None:
    server = serve(answer(404))
    with pytest.raises(HTTPStatusError, match="404 Not Found") as failure:
        client.request("GET", server.url + "/gone")
    assert not isinstance(failure.value, AuthRejected)
    assert len(server.seen) == 1 and sleeps == []


# --- conditional GET and downloads --------------------------------------------------------------------------------


def test_download_captures_validators(serve: Callable[[App], _Server], client: HttpClient, tmp_path: Path) -> None:
    body = b"<rss version='2.0'/>"
    server = serve(
        answer(200, body, ETag='"v1"', Last_Modified="Sun, 01 Nov 2026 12:00:00 GMT", Content_Type="application/xml")
    )
    result = client.download(server.url + "/feed.xml", tmp_path / "feed.xml")
    assert result.not_modified is False
    assert result.status_code == 200
    assert result.etag == '"v1"'
    assert result.last_modified == "Sun, 01 Nov 2026 12:00:00 GMT"
    assert result.content_type == "application/xml"
    assert result.sha256 == hashlib.sha256(body).hexdigest() and result.size == len(body)
    assert leftovers(tmp_path) == ["feed.xml"]


def test_conditional_get_304(serve: Callable[[App], _Server], client: HttpClient, tmp_path: Path) -> None:
    def app(handler: BaseHTTPRequestHandler) -> None:
        if handler.headers.get("If-None-Match") == '"v1"':
            reply(handler, 304, ETag='"v1"')
        else:
            reply(handler, 200, b"fresh", ETag='"v2"')

    server = serve(app)
    dest = tmp_path / "feed.xml"
    result = client.download(server.url + "/feed.xml", dest, etag='"v1"', last_modified="Sun, 01 Nov 2026 12:00:00 GMT")
    assert result.not_modified is True and result.path is None and result.status_code == 304
    assert result.etag == '"v1"'
    assert server.seen[0].headers["If-Modified-Since"] == "Sun, 01 Nov 2026 12:00:00 GMT"
    assert not dest.exists()
    assert client.download(server.url + "/feed.xml", dest, etag='"v0"').etag == '"v2"'
    assert dest.read_bytes() == b"fresh"


def test_failed_download_leaves_no_partial_file_and_keeps_the_old_one(
    serve: Callable[[App], _Server], client: HttpClient, tmp_path: Path
) -> None:
    def truncated(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "100")
        handler.end_headers()
        handler.wfile.write(b"only ten b")
        handler.close_connection = True

    server = serve(truncated)
    dest = tmp_path / "feed.xml"
    dest.write_bytes(b"previous")
    with pytest.raises(ConnectFailed, match="after 4 attempts"):
        client.download(server.url + "/feed.xml", dest)
    assert leftovers(tmp_path) == ["feed.xml"]
    assert dest.read_bytes() == b"previous"


# --- API requests and errors --------------------------------------------------------------------------------------


def test_api_request_with_json_and_params(serve: Callable[[App], _Server], client: HttpClient) -> None:
    server = serve(
        lambda handler: reply(handler, 200, handler.body or b'{"ok": true}', Content_Type="application/json")
    )
    response = client.request("POST", server.url + "/v2/media", params={"page": 2}, json={"q": "cats"})
    assert response.json() == {"q": "cats"}
    assert server.seen[0].path == "/v2/media?page=2"
    assert server.seen[0].headers["User-Agent"].startswith("data-agent/")
    assert client.request("GET", server.url + "/v2/media").json() == {"ok": True}


def test_invalid_json_is_a_fetch_error(serve: Callable[[App], _Server], client: HttpClient) -> None:
    server = serve(answer(200, b"<html>"))
    with pytest.raises(BadResponse, match="not valid JSON"):
        client.request("GET", server.url + "/api").json()


def test_messages_name_the_host_but_not_credentials(serve: Callable[[App], _Server], client: HttpClient) -> None:
    server = serve(answer(503))
    url = f"http://user:hunter2@127.0.0.1:{server.server_port}/feed.xml?api_key=SECRETKEY#frag"
    with pytest.raises(HTTPStatusError) as failure:
        client.request("GET", url)
    message = str(failure.value)
    assert f"127.0.0.1:{server.server_port}/feed.xml" in message
    assert "hunter2" not in message and "SECRETKEY" not in message and "user" not in message
    assert failure.value.url == f"http://127.0.0.1:{server.server_port}/feed.xml"
    with pytest.raises(UnsafeURL) as refused:
        check_url("http://admin:pw@10.0.0.1/?token=abc", FetchPolicy(), resolve=False)
    assert "pw" not in str(refused.value) and "abc" not in str(refused.value)
    assert "DATA_AGENT_ALLOW_HOSTS" in str(refused.value)


def test_safe_url() -> None:
    assert safe_url("https://u:p@Example.com:8443/a/b?x=1#f") == "https://example.com:8443/a/b"
    assert safe_url("http://[::1]:80/") == "http://[::1]:80/"
    assert safe_url("http://[::1/") == "<invalid URL>"


def test_errors_survive_pickling() -> None:
    error = HTTPStatusError("https://example.com/feed?k=1", 503, attempts=4)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is HTTPStatusError and str(copy) == str(error) and copy.status_code == 503
    assert isinstance(copy, FetchError)
