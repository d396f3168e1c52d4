"""How platform calls carry a source's credentials, and the error for a credential a platform refused."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ...errors import SourceAuthError
from ...net import AuthRejected
from ..spec import SourceKind


def auth_error(platform: SourceKind, exc: Exception) -> SourceAuthError:
    """The error for a credential a platform refused: names the platform and the setting, never the value."""
    status = f" ({exc.status_code} from {exc.url})" if isinstance(exc, AuthRejected) else ""
    return SourceAuthError(f"{platform.title} refused this source's credentials{status}: check {platform.access_hint}")


class CredentialExpired(Exception):
    """A platform said, in its own way, that the session or token is no longer valid (renew and try again)."""


class Auth(Protocol):
    """How a platform call carries the source's credentials: in headers, or in the JSON body (Kaltura's KS)."""

    def headers(self) -> dict[str, str]: ...

    def body(self) -> dict[str, str]: ...

    def renew(self) -> bool:
        """Get fresh credentials after the platform refused the current ones; False when that cannot help."""
        ...


@dataclass
class BearerSecret:
    """A long-lived secret sent as `Authorization: Bearer …` (JW Player, Vimeo)."""

    secret: str
    scheme: str = "Bearer"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"{self.scheme} {self.secret}"}

    def body(self) -> dict[str, str]:
        return {}

    def renew(self) -> bool:
        return False


@dataclass
class BasicCredentials:
    """A user name and password sent as HTTP Basic on every call (Mux: the access token's id and secret)."""

    user: str
    password: str

    def headers(self) -> dict[str, str]:
        pair = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return {"Authorization": f"Basic {pair}"}

    def body(self) -> dict[str, str]:
        return {}

    def renew(self) -> bool:
        return False


class NoAuth:
    """Public endpoints (JW Player's Delivery API), and Kaltura's session.start (the secret is a parameter)."""

    def headers(self) -> dict[str, str]:
        return {}

    def body(self) -> dict[str, str]:
        return {}

    def renew(self) -> bool:
        return False


class ExpiringToken:
    """A token obtained by `obtain() -> (token, lifetime_seconds)`, renewed before it expires; thread-safe."""

    MARGIN_SECONDS = 30.0  # renewed this long before it expires, so a call never carries a token about to lapse

    def __init__(self, obtain: Callable[[], tuple[str, float]], *, clock: Callable[[], float] = time.monotonic) -> None:
        self._obtain = obtain
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires = 0.0

    def token(self) -> str:
        """The current token, fetching a new one when none is held or it expires within the margin."""
        with self._lock:
            if self._token is None or self._clock() >= self._expires - self.MARGIN_SECONDS:
                self._fetch()
            assert self._token is not None
            return self._token

    def _fetch(self) -> None:
        token, lifetime = self._obtain()
        self._token, self._expires = token, self._clock() + lifetime

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    def body(self) -> dict[str, str]:
        return {}

    def renew(self) -> bool:
        with self._lock:
            self._fetch()
        return True
