"""Hostile HTTP servers on 127.0.0.1 and the hostile documents they serve, generated where they are large.

`HostileServer` routes each path to a *behaviour*: a function that writes whatever it likes on the socket of one
request (a gzip bomb, a body dripped one byte at a time, a status line that never ends, a redirect, a 503...).
Behaviours that stream run until the client hangs up or the server stops; nothing large is built in memory.
"""

from __future__ import annotations

import gzip
import random
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

from ..feeds import item, rss

Behaviour = Callable[["_Handler"], None]
RSS_TYPE = "application/rss+xml; charset=utf-8"


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.0: one request per connection, and a body without Content-Length ends when the socket closes.
    protocol_version = "HTTP/1.0"
    server: _Server

    def do_GET(self) -> None:
        owner = self.server.owner
        path = self.path.partition("?")[0]
        owner.requests.append(path)
        behaviour = owner.routes.get(path)
        try:
            if behaviour is None:
                self.send_error(404, "Not Found")
            else:
                behaviour(self)
        except OSError:
            pass  # the client hung up on us: what a well-behaved client does with a hostile answer

    def log_message(self, format: str, *args: Any) -> None:
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: HostileServer


class HostileServer:
    """A real HTTP server on loopback; `route(path, behaviour)` says how each path answers."""

    def __init__(self) -> None:
        self.routes: dict[str, Behaviour] = {}
        self.requests: list[str] = []
        self.stopping = threading.Event()
        self._server: _Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def route(self, path: str, behaviour: Behaviour) -> str:
        self.routes[path] = behaviour
        return self.url(path)

    def count(self, path: str) -> int:
        return sum(1 for seen in self.requests if seen == path)

    @contextmanager
    def running(self) -> Iterator[HostileServer]:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.stopping.set()  # ends every drip loop
            self._server.shutdown()
            self._server.server_close()
            thread.join(timeout=10)


# --- behaviours ---------------------------------------------------------------------------------------------------


def document(body: bytes | str, *, status: int = 200, content_type: str = RSS_TYPE, **headers: str) -> Behaviour:
    data = body.encode() if isinstance(body, str) else body

    def answer(handler: _Handler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            handler.send_header(name.replace("_", "-"), value)
        handler.end_headers()
        handler.wfile.write(data)

    return answer


def streamed(chunks: Callable[[], Iterable[bytes]], *, content_type: str = RSS_TYPE) -> Behaviour:
    """A body generated while it is sent (no Content-Length; it ends when the socket closes)."""

    def answer(handler: _Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.end_headers()
        for chunk in chunks():
            handler.wfile.write(chunk)

    return answer


def always(status: int, **headers: str) -> Behaviour:
    def answer(handler: _Handler) -> None:
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name.replace("_", "-"), value)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return answer


def redirect(location: str | Callable[[], str], status: int = 302) -> Behaviour:
    def answer(handler: _Handler) -> None:
        handler.send_response(status)
        handler.send_header("Location", location() if callable(location) else location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return answer


def gzip_bomb(expands_to: int) -> Behaviour:
    """A gzip body of `expands_to` zero bytes, compressed (about 1000:1) while it is sent."""

    def answer(handler: _Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", RSS_TYPE)
        handler.send_header("Content-Encoding", "gzip")
        handler.end_headers()
        compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
        handler.wfile.write(compressor.compress(b'<?xml version="1.0"?><rss version="2.0"><channel><title>'))
        block = bytes(1 << 20)
        for _ in range(expands_to >> 20):
            if handler.server.owner.stopping.is_set():
                return
            handler.wfile.write(compressor.compress(block))
        handler.wfile.write(compressor.flush())

    return answer


def claims_length(length: int) -> Behaviour:
    """Announces a `length`-byte body, then sends a little of it and waits for the client to give up."""

    def answer(handler: _Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", RSS_TYPE)
        handler.send_header("Content-Length", str(length))
        handler.end_headers()
        handler.wfile.write(rss(item("x")).encode()[:200])
        handler.wfile.flush()
        handler.server.owner.stopping.wait(30)

    return answer


def slow_body(interval: float) -> Behaviour:
    """Headers at once, then a valid-looking feed one byte every `interval` seconds, for ever."""

    def answer(handler: _Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", RSS_TYPE)
        handler.end_headers()
        handler.wfile.flush()
        drip(handler, rss(*(item(f"drip-{n}") for n in range(1000))).encode(), interval)

    return answer


def slow_headers(interval: float) -> Behaviour:
    """A status line and then header lines, one byte every `interval` seconds: the headers never end."""

    def answer(handler: _Handler) -> None:
        handler.wfile.write(b"HTTP/1.0 200 OK\r\n")
        drip(handler, b"X-Padding: " + b"a" * 100_000, interval)

    return answer


def drip(handler: _Handler, data: bytes, interval: float) -> None:
    stopping = handler.server.owner.stopping
    for n in range(len(data)):
        # The pause between bytes is the behaviour under test (a slow-drip server), not synchronisation.
        if stopping.wait(interval):
            return
        handler.wfile.write(data[n : n + 1])
        handler.wfile.flush()


# --- hostile documents --------------------------------------------------------------------------------------------


def feed_with_doctype(doctype: str, title: str = "&e;") -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n{doctype}\n'
        f'<rss version="2.0"><channel><title>t</title><item><guid>evil</guid><title>{title}</title></item>'
        "</channel></rss>"
    )


def billion_laughs(levels: int = 10, fan_out: int = 10) -> str:
    """Ten entities, each ten of the one before: 10^10 "lol"s once expanded, 1 KB as written."""
    entities = ['<!ENTITY e0 "lol">']
    for level in range(1, levels):
        entities.append(f'<!ENTITY e{level} "{f"&e{level - 1};" * fan_out}">')
    return feed_with_doctype(f"<!DOCTYPE rss [{''.join(entities)}]>", f"&e{levels - 1};")


def quadratic_blowup(entity_size: int = 100_000, references: int = 100_000) -> str:
    """One large entity referenced many times: no nesting for a depth limit to catch, 10 GB once expanded."""
    doctype = f'<!DOCTYPE rss [<!ENTITY e "{"x" * entity_size}">]>'
    return feed_with_doctype(doctype, "&e;" * references)


def utf7(text: str) -> bytes:
    """`text` in UTF-7 with every "<" and "!" written in base64, as a hostile publisher would hide them."""
    return text.replace("<!", "+ADwAIQ-").encode("ascii")


def binary_body(size: int = 256 * 1024) -> bytes:
    generator = random.Random(7)
    return gzip.compress(bytes(generator.getrandbits(8) for _ in range(4096))) + generator.randbytes(size)


def html_login_page() -> str:
    return (
        "<!DOCTYPE html><html><head><title>Sign in</title></head><body>"
        '<form method="post" action="/login"><input name="user"><input type="password" name="pw"></form>'
        "</body></html>"
    )


def large_feed(count: int, *, prefix: str = "item") -> Callable[[], Iterator[bytes]]:
    """A valid feed of `count` items, generated lazily in pieces (for imports big enough to interrupt)."""

    def chunks() -> Iterator[bytes]:
        head, _, tail = rss("@@ITEMS@@").partition("@@ITEMS@@")
        yield head.encode()
        batch: list[str] = []
        for n in range(count):
            batch.append(item(f"{prefix}-{n:06d}", f"Title {n} {escape('<&>')}"))
            if len(batch) == 500:
                yield "".join(batch).encode()
                batch = []
        yield ("".join(batch) + tail).encode()

    return chunks
