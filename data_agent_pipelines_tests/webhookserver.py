"""A webhook receiver on loopback, as a customer would write one: it checks each delivery's signature and
timestamp the way docs/operations.md tells receivers to (written here on its own, not with the project's code),
records what came, and answers with the statuses it is told to (then 200)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from typing import Any

from .loopback import QuietHandler, serve


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    timestamp: int | None
    signature_valid: bool
    answered: int

    def json(self) -> Any:
        return json.loads(self.body)


def check_signature(secret: str, body: bytes, header: str) -> tuple[int | None, bool]:
    """The signature's timestamp and whether the signature matches: HMAC-SHA256 of `t.` + the raw body."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    if "t" not in parts or "v1" not in parts or not parts["t"].isdigit():
        return None, False
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return int(parts["t"]), hmac.compare_digest(expected, parts["v1"])


class WebhookReceiver:
    """Records every POST; `secret` (set once the webhook is made) is what signatures are checked with."""

    def __init__(self) -> None:
        self.secret = ""
        self.answers: list[int] = []  # statuses to answer, in order; 200 once they are used up
        self.deliveries: list[Delivery] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/data-agent"

    def events(self) -> list[str]:
        return [delivery.json()["event"] for delivery in self.deliveries]

    @contextmanager
    def running(self) -> Iterator[WebhookReceiver]:
        owner = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                timestamp, valid = check_signature(owner.secret, body, self.headers.get("X-Data-Agent-Signature", ""))
                with owner._lock:
                    status = owner.answers.pop(0) if owner.answers else 200
                    owner.deliveries.append(Delivery(dict(self.headers.items()), body, timestamp, valid, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        with serve(Handler) as self._server:
            yield self
