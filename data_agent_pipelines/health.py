"""A source's health, as an operator judges it: four verdicts, each a pass or a mark of a given severity.

Plain Python (no Dagster): `orchestration/checks.py` turns verdicts into asset check evaluations of the
`import_results` partition of the source. Three are judged from an ImportResult by the import that wrote it; the
fourth, whether the source imported recently enough, also needs the clock, so a sensor judges it for every source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from .model import ImportResult, ImportStatus, Source, isoformat
from .schedule import next_run_after

LAST_IMPORT_SUCCEEDED = "last_import_succeeded"
FAILED_ITEMS_UNDER_THRESHOLD = "failed_items_under_threshold"
REMOVALS_NOT_HELD_BACK = "removals_not_held_back"
IMPORTED_RECENTLY = "imported_recently"
_PAST = {"unpublish": "unpublished", "delete": "deleted"}
# Outcomes of items an import read (removals are of assets it did not read).
_READ_OUTCOMES = ("created", "updated", "unchanged", "skipped", "failed")


class Severity(StrEnum):
    """How loud a failed verdict is: ERROR needs someone now, WARN needs a look."""

    ERROR = "ERROR"
    WARN = "WARN"


class Scheduled(Protocol):
    """What freshness needs of a source: a Source, or the catalog's lighter row for checking many at once."""

    @property
    def enabled(self) -> bool: ...
    @property
    def every_seconds(self) -> int | None: ...
    @property
    def cron(self) -> str | None: ...
    @property
    def created_at(self) -> datetime | None: ...
    @property
    def last_success_at(self) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class Verdict:
    """One health check of one source: passed or not, how bad a failure is, and why, in an operator's words."""

    check: str
    passed: bool
    severity: Severity
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)  # plain values: str, int, float, bool


def import_verdicts(result: ImportResult, source: Source, *, now: datetime, intervals: int) -> list[Verdict]:
    """The four verdicts an import judges from its own result (`source` as it is after the import)."""
    return [
        last_import_succeeded(result),
        failed_items_under_threshold(result, source.max_failed_fraction),
        removals_not_held_back(result),
        imported_recently(source, now=now, intervals=intervals),
    ]


def last_import_succeeded(result: ImportResult) -> Verdict:
    """ERROR when the import failed as a whole (nothing applied); partial and unchanged imports pass."""
    if result.failed:
        description = f"the import failed: {result.error or 'no reason recorded'}"
    elif result.status == ImportStatus.PARTIAL:
        description = f"the import finished; {result.counts.get('failed', 0)} items failed"
    else:
        description = f"the import {result.status}"
    return Verdict(
        LAST_IMPORT_SUCCEEDED,
        passed=not result.failed,
        severity=Severity.ERROR,
        description=description,
        metadata={"status": str(result.status), "result_id": result.id},
    )


def failed_items_under_threshold(result: ImportResult, max_fraction: float) -> Verdict:
    """WARN when the share of the items read that failed is above the source's `max_failed_fraction`."""
    read = sum(result.counts.get(outcome, 0) for outcome in _READ_OUTCOMES)
    failed = result.counts.get("failed", 0)
    share = failed / read if read else 0.0
    passed = share <= max_fraction
    description = (
        f"{failed} of {read} items failed ({share:.1%}); the source allows {max_fraction:.1%}"
        if read
        else "no items were read"
    )
    return Verdict(
        FAILED_ITEMS_UNDER_THRESHOLD,
        passed=passed,
        severity=Severity.WARN,
        description=description,
        metadata={"failed": failed, "read": read, "failed_share": round(share, 4), "max_failed_fraction": max_fraction},
    )


def removals_not_held_back(result: ImportResult) -> Verdict:
    """WARN when the removal guard held back unpublishing or deleting assets gone from the origin."""
    held = result.held_back
    if held is None:
        return Verdict(REMOVALS_NOT_HELD_BACK, passed=True, severity=Severity.WARN, description="nothing held back")
    return Verdict(
        REMOVALS_NOT_HELD_BACK,
        passed=False,
        severity=Severity.WARN,
        description=f"{held.count} assets would have been {_PAST.get(held.action, held.action)}, but {held.reason}",
        metadata={"action": held.action, "held_back": held.count, "reason": held.reason},
    )


def freshness_deadline(source: Scheduled, *, intervals: int) -> datetime | None:
    """When the source turns stale: `intervals` of its slots after its last success (or after it was created).

    None when neither is known. A cron source's slots are its cron's, so a weekday-only cron is not stale on Monday
    morning for the weekend it did not run.
    """
    moment = source.last_success_at or source.created_at
    if moment is None:
        return None
    for _ in range(intervals):
        moment = next_run_after(moment, every_seconds=source.every_seconds, cron=source.cron)
    return moment


def imported_recently(source: Scheduled, *, now: datetime, intervals: int) -> Verdict:
    """ERROR when an enabled source has had no successful import for `intervals` of its intervals.

    A disabled source is not expected to import: it passes, and says so.
    """
    metadata: dict[str, Any] = {"last_success_at": isoformat(source.last_success_at) or "never", "intervals": intervals}
    if not source.enabled:
        return Verdict(
            IMPORTED_RECENTLY, passed=True, severity=Severity.ERROR, description="disabled: not expected to import"
        )
    deadline = freshness_deadline(source, intervals=intervals)
    if deadline is None:
        return Verdict(IMPORTED_RECENTLY, True, Severity.ERROR, "not yet due", metadata)
    metadata["stale_after"] = isoformat(deadline)
    since = f"since {isoformat(source.last_success_at)}" if source.last_success_at else "ever"
    if now > deadline:
        description = f"no successful import {since}: {intervals} intervals have passed"
        return Verdict(IMPORTED_RECENTLY, False, Severity.ERROR, description, metadata)
    return Verdict(IMPORTED_RECENTLY, True, Severity.ERROR, f"stale after {isoformat(deadline)}", metadata)
