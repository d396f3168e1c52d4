"""Signed links: which stream and caption links a platform hands out stop working, and when.

A CDN link signed with a token (Brightcove's Fastly tokens, Akamai tokens, CloudFront signed URLs, JW Player's
`exp`/`sig` and JWT `token`, Mux's JWT `token`) expires. Such a link is stored with `expires`, so the catalog does
not treat it as permanent and reconcile renews it without reporting an update.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

# Query parameters that sign a link: a link that carries one expires, whether or not its expiry can be read.
SIGNATURE_PARAMS = frozenset(
    {"fastly_token", "hdnea", "hdnts", "hdntl", "__token__", "token", "signature", "policy", "hmac", "sig"}
)
# Akamai-style tokens hold `exp=<epoch seconds>` among `~`-separated fields.
_AKAMAI_EXP = re.compile(r"(?:^|[~&])exp=(\d{9,11})(?:$|[~&])")
# A JWT is three base64url parts; a payload beyond this is no token worth decoding.
_JWT_MAX = 8192


def is_signed(url: str) -> bool:
    """Whether the link carries a signature, and therefore expires (see `link_expiry`)."""
    return bool(SIGNATURE_PARAMS & _params(url).keys())


def _params(url: str) -> dict[str, list[str]]:
    """The link's query parameters by lowercased name."""
    return {name.lower(): values for name, values in parse_qs(urlsplit(url).query).items()}


def link_expiry(url: str, read_at: datetime | None) -> datetime | None:
    """When a signed link stops working; None for a link that carries no signature.

    The expiry is read from the token where its format says it (Brightcove's Fastly token, Akamai's `exp=`,
    CloudFront's `Expires`, a plain `expires`/`exp` as JW Player signs, a JWT's `exp` claim); a signed link whose
    expiry cannot be read is taken to expire when it was read (`read_at`): it is renewed by every import rather than
    trusted for longer than the platform vouched for it.
    """
    params = _params(url)
    found: datetime | None = None
    for name, values in params.items():
        for value in values:
            if name == "fastly_token":
                found = found or _fastly_expiry(value)
            elif name in ("hdnea", "hdnts", "hdntl", "__token__"):
                match = _AKAMAI_EXP.search(value)
                found = found or (_epoch(int(match.group(1))) if match else None)
            elif name in ("expires", "exp") and value.isdigit() and len(value) <= 11:
                found = found or _epoch(int(value))
            elif name == "token":
                found = found or _jwt_expiry(value)
    if found is not None:
        return found
    return read_at if SIGNATURE_PARAMS & params.keys() else None


def _epoch(seconds: int) -> datetime | None:
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _fastly_expiry(token: str) -> datetime | None:
    """The expiry of Brightcove's `fastly_token`: base64 of `<expiry, hex epoch seconds>_<hmac>`."""
    try:
        text = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_").decode("ascii")
        return _epoch(int(text.split("_", 1)[0], 16))
    except (ValueError, UnicodeDecodeError):
        return None


def _jwt_expiry(token: str) -> datetime | None:
    """The `exp` claim of a JWT (read, not verified: only the platform holds the key)."""
    parts = token.split(".")
    if len(parts) != 3 or len(parts[1]) > _JWT_MAX:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return _epoch(exp) if isinstance(exp, int) and not isinstance(exp, bool) and 0 < exp < 10**11 else None
