"""The one clock: code that needs the time takes a `Clock` so tests can pin it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current instant, timezone-aware UTC, truncated to microseconds."""
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """A random id with a readable prefix (`src_…`, `ast_…`, `res_…`): 80 random bits."""
    return f"{prefix}_{uuid.uuid4().hex[:20]}"
