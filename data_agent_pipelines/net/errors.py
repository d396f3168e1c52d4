"""The errors a fetch raises, and their wording: every message is written for the customer who owns the URL.

Each message names the URL in its safe form (`safe_url`: no userinfo, query string or fragment), says what went
wrong and what the customer can do about it.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit


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
    if parts.scheme == "file" and not parts.netloc:
        return f"file://{path}"
    if parts.netloc:
        return f"{parts.scheme}://{host}{port}{path}"
    return f"{parts.scheme}:{path}" if parts.scheme else path
