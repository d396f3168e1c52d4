"""A Bugsnag notify endpoint on loopback that records what the real `bugsnag` client sends it.

`mode` is "ok" (202 Accepted), "hang" (reads the request and never answers until the server stops) or "error"
(500). `wait_for(n)` waits, with a bound, until n payloads have arrived.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from typing import Any

from .loopback import QuietHandler, serve


class BugsnagServer:
    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode
        self.payloads: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._arrived = threading.Condition()
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    @property
    def events(self) -> list[dict[str, Any]]:
        return [event for payload in self.payloads for event in payload["events"]]

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        with self._arrived:
            return self._arrived.wait_for(lambda: len(self.payloads) >= count, timeout)

    @contextmanager
    def running(self) -> Iterator[BugsnagServer]:
        owner = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with owner._arrived:
                    owner.payloads.append(json.loads(body))
                    owner.headers.append(dict(self.headers.items()))
                    owner._arrived.notify_all()
                if owner.mode == "hang":
                    owner._release.wait(60)
                    return
                self.send_response(500 if owner.mode == "error" else 202)
                self.send_header("Content-Length", "0")
                self.end_headers()

        with serve(Handler) as self._server:
            try:
                yield self
            finally:
                self._release.set()  # a hanging handler lets go before the server shuts down


def free_port() -> int:
    """A loopback port nothing listens on now (the OS picked it and it was let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def closed_port_url() -> str:
    """A loopback URL nothing listens on: connections are refused."""
    return f"http://127.0.0.1:{free_port()}/"
