"""How a push to `POST /hooks/{service}/{source_id}` proves it comes from whoever holds the source's hook secret.

Any one of these is accepted (docs/connectors.md says which to use for each platform):

- the secret itself, as `Authorization: Bearer SECRET` or `X-Data-Agent-Token: SECRET` (a CMS or script that can
  set headers), or as `?token=SECRET` in the URL (a platform that can only be given a URL: JW Player,
  Brightcove);
- an HMAC-SHA256 signature of the body, `X-Data-Agent-Signature: t=UNIX_SECONDS,v1=HEX` where HEX is the hex
  HMAC-SHA256 of `"{t}.{body}"` keyed with the secret, within 5 minutes of our clock (replay-safe as Stripe's and
  Mux's are). Mux signs its webhooks exactly so in `Mux-Signature`, which is accepted too once the source's hook
  secret is set to the Mux webhook's signing secret (`data-agent sources hook-token ID --set-secret`). The
  signature is made and checked as the notifications' deliveries sign theirs (`notifications.sign`/`verify`).

Every comparison takes constant time.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import datetime

from ..notifications import verify

SIGNATURE_HEADERS = ("x-data-agent-signature", "mux-signature")
TOKEN_HEADER = "x-data-agent-token"  # noqa: S105 - a header name, not a secret


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def push_is_authentic(
    secret: str, headers: Mapping[str, str], body: bytes, *, query_token: str | None, now: datetime
) -> bool:
    """Whether the push carries the source's secret or a valid signature of its body made with it.

    `headers` must be case-insensitive (Starlette's are).
    """
    bearer = headers.get("authorization", "")
    scheme, _, credential = bearer.partition(" ")
    offered = [credential.strip()] if scheme.lower() == "bearer" else []
    offered += [value for value in (headers.get(TOKEN_HEADER), query_token) if value]
    if any(_same(value, secret) for value in offered):
        return True
    signatures = [headers[name] for name in SIGNATURE_HEADERS if name in headers]
    return any(verify(secret, body, signature, now=now.timestamp()) for signature in signatures)
