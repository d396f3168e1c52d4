"""What the test servers (feeds, Bugsnag, webhook receivers) share: a quiet handler and a server on loopback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that logs nothing: one line per request would bury the tests' output."""

    def log_message(self, format: str, *args: Any) -> None:
        return


@contextmanager
def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[ThreadingHTTPServer]:
    """`handler` answering on a free loopback port until the block ends; the server is closed after."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # A short poll interval: shutting a server down waits for the serving loop's next poll.
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
