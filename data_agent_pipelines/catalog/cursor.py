"""Keyset page cursors of asset lists: where a page ended, bound to the query it belongs to.

Assets are listed newest first, `(created_at DESC, id)`; a cursor holds the last row's pair. It is opaque to
clients (URL-safe base64 of a small JSON object) and carries a digest of the query's filters, so a cursor given
with other filters is refused instead of silently skipping rows.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..errors import InvalidInput
from ..model import isoformat, parse_instant

MAX_CURSOR_CHARS = 300


@dataclass(frozen=True)
class AssetQuery:
    """The filters of an asset list."""

    service: str
    source_id: str | None = None
    asset_type: str | None = None
    status: str | None = None

    @property
    def digest(self) -> str:
        key = json.dumps([self.service, self.source_id, self.asset_type, self.status])
        return hashlib.blake2b(key.encode(), digest_size=6).hexdigest()

    def cursor_after(self, asset: dict[str, Any]) -> str:
        """The cursor of the page that follows `asset` (an asset in JSON form, as lists return them)."""
        state = {"c": asset["created_at"], "i": asset["id"], "q": self.digest}
        return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode().rstrip("=")

    def position(self, cursor: str) -> tuple[datetime, str]:
        """The (created_at, id) a cursor stands after; InvalidInput for a cursor that is not one of this query's."""
        problem = "invalid cursor: pass the next_cursor of the previous page unchanged"
        if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR_CHARS:
            raise InvalidInput(problem)
        try:
            state = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            created_at, asset_id, digest = state["c"], state["i"], state["q"]
            instant = parse_instant(created_at)
        except (binascii.Error, ValueError, TypeError, KeyError, AttributeError):
            raise InvalidInput(problem) from None
        if not isinstance(asset_id, str) or instant is None or isoformat(instant) != created_at:
            raise InvalidInput(problem)
        if digest != self.digest:
            raise InvalidInput("invalid cursor: it belongs to a list with other filters (source, type or status)")
        return instant, asset_id
