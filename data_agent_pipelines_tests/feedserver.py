"""A real HTTP server on loopback that serves documents the way a feed host would (ETag, 304, errors)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any

from .loopback import QuietHandler, serve


@dataclass
class Document:
    body: bytes
    status: int = 200
    content_type: str = "application/rss+xml; charset=utf-8"
    etag: bool = True
    headers: dict[str, str] = field(default_factory=dict)


class FeedServer:
    """Serves `documents[path]`; records every request's path and headers in `requests`."""

    def __init__(self) -> None:
        self.documents: dict[str, Document] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def serve(self, path: str, body: bytes | str, **kwargs: Any) -> str:
        self.documents[path] = Document(body.encode() if isinstance(body, str) else body, **kwargs)
        return self.url(path)

    @contextmanager
    def running(self) -> Iterator[FeedServer]:
        owner = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                owner.requests.append((self.path, dict(self.headers.items())))
                document = owner.documents.get(self.path.partition("?")[0])
                if document is None:
                    self.send_error(404, "Not Found")
                    return
                tag = '"' + hashlib.sha256(document.body).hexdigest()[:16] + '"'
                if document.etag and self.headers.get("If-None-Match") == tag:
                    self.send_response(304)
                    self.send_header("ETag", tag)
                    self.end_headers()
                    return
                self.send_response(document.status)
                self.send_header("Content-Type", document.content_type)
                self.send_header("Content-Length", str(len(document.body)))
                if document.etag:
                    self.send_header("ETag", tag)
                for name, value in document.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(document.body)

        with serve(Handler) as self._server:
            yield self
