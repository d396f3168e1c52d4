"""Reading an answer within the fetch's limits: the total deadline (`Budget`), the body size and bounded decoding.

The body is bounded twice, as received and as decoded, and decoded in steps of bounded output, so neither a huge
document nor a compression bomb can grow past `FetchPolicy.max_bytes` in memory or on disk. The deadline is checked
between chunks, so a server dripping one byte at a time cannot stretch a fetch.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from typing import NoReturn

import httpx

from .errors import BadResponse, DeadlineExceeded, TooLarge

# Only what `_Decoder` can decode with a bounded output per step; "br" would need a library not installed here.
ACCEPT_ENCODING = "gzip, deflate"
# Largest piece one decompression step may produce: a compression bomb never expands further at once.
_DECODE_STEP = 64 * 1024


class Budget:
    """The total deadline of one fetch, read from the injectable monotonic clock."""

    def __init__(self, clock: Callable[[], float], seconds: float, url: str) -> None:
        self._clock = clock
        self._seconds = seconds
        self._url = url
        self._deadline = clock() + seconds

    def remaining(self) -> float:
        """Seconds left before the deadline (negative once it passed)."""
        return self._deadline - self._clock()

    def check(self) -> None:
        """Raise `DeadlineExceeded` once the deadline passed."""
        if self.remaining() <= 0:
            self.exceeded()

    def exceeded(self) -> NoReturn:
        """Raise `DeadlineExceeded`."""
        raise DeadlineExceeded(
            self._url,
            f"it did not finish within {self._seconds:g} s, the time allowed for one fetch",
            "The server is slow or not answering; try again later, or ask its owner.",
        )

    def timeouts(self, connect_timeout: float) -> dict[str, float]:
        """httpx's per-request timeouts, none of them past the deadline."""
        left = max(self.remaining(), 0.001)
        return {"connect": min(connect_timeout, left), "read": left, "write": left, "pool": left}


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


def check_announced_size(response: httpx.Response, max_bytes: int, url: str) -> None:
    """Fail before reading a byte when Content-Length already says the body is too large."""
    length = response.headers.get("content-length", "").strip()
    if length.isascii() and length.isdigit() and int(length) > max_bytes:
        raise TooLarge(
            url,
            f"the server announced {_size_text(int(length))}, more than the limit of {_size_text(max_bytes)}",
            "Ask the server's owner for a smaller document (paged or filtered), or an operator to raise the limit.",
        )


def too_large(url: str, max_bytes: int, what: str = "the body") -> TooLarge:
    """The error of a body (or, `what`, a local file) past the size limit."""
    return TooLarge(
        url,
        f"{what} is larger than the limit of {_size_text(max_bytes)}",
        "Ask the server's owner for a smaller document (paged or filtered), or an operator to raise the limit.",
    )


def _size_text(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


def read_body(response: httpx.Response, budget: Budget, max_bytes: int, url: str) -> Iterator[bytes]:
    """The decoded body in bounded pieces; fails once the wire or the decoded size passes max_bytes, or the deadline."""
    decoder = _Decoder(response.headers.get("content-encoding"), url)
    received = decoded = 0
    for raw in response.iter_raw():
        budget.check()
        received += len(raw)
        if received > max_bytes:
            raise too_large(url, max_bytes)
        for piece in decoder.decode(raw):
            decoded += len(piece)
            if decoded > max_bytes:
                raise too_large(url, max_bytes)
            yield piece
    tail = decoder.flush()
    if decoded + len(tail) > max_bytes:
        raise too_large(url, max_bytes)
    budget.check()
    if tail:
        yield tail
