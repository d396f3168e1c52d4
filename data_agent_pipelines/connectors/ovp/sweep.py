"""Full and incremental sweeps: whether a fetch reads everything or the changes since the last good import."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ...model import Source
from ...schedule import parse_duration
from .platform import bool_option

DEFAULT_FULL_SWEEP = timedelta(days=1)
# Changes indexed a little after their timestamp (and clock skew between us and the platform) are caught by
# starting each incremental window this much before the previous fetch started.
SYNC_OVERLAP = timedelta(minutes=10)


@dataclass(frozen=True)
class Sweep:
    """Whether this fetch reads everything (`since` None) or the changes since an instant; and the state to save."""

    since: datetime | None
    started_at: datetime
    full_sweep_at: datetime | None  # the last full sweep, carried over by incremental fetches

    @classmethod
    def plan(cls, source: Source, *, now: datetime | None = None) -> Sweep:
        """A full sweep when due (or `--option incremental=false`), else an incremental fetch."""
        now = now or datetime.now(UTC)
        state = source.sync_state or {}
        last_full = _instant(state.get("full_sweep_at"))
        cursor = _instant(state.get("cursor"))
        every = _full_sweep_every(source)
        if not bool_option(source, "incremental") or last_full is None or cursor is None or now - last_full >= every:
            return cls(since=None, started_at=now, full_sweep_at=None)
        return cls(since=cursor - SYNC_OVERLAP, started_at=now, full_sweep_at=last_full)

    @property
    def full(self) -> bool:
        return self.since is None

    def state(self) -> dict[str, Any]:
        """The sync state to save once this fetch has been imported successfully."""
        full_at = self.started_at if self.full else self.full_sweep_at
        return {"cursor": self.started_at.isoformat(), "full_sweep_at": full_at.isoformat() if full_at else None}

    def note(self) -> str | None:
        if self.full:
            return None
        return (
            f"incremental fetch: only changes since {self.since.isoformat()} were read; assets removed from the "
            "platform are noticed at the next full sweep"
        )


def _instant(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed and parsed.tzinfo is None else parsed


def _full_sweep_every(source: Source) -> timedelta:
    raw = source.options.get("full_sweep_every")
    return timedelta(seconds=parse_duration(raw)) if raw else DEFAULT_FULL_SWEEP
