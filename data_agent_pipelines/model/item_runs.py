"""Runs of plain item outcomes: how an import carries thousands of recognised, unchanged items cheaply.

A module of its own, outside `model/__init__`: the mapping code imports the model package, and what an import
records of its items is no part of how an item becomes an asset (test_mapping_version.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from .imports import ItemOutcome, Outcome


@dataclass  # no slots: staged to scratch files like ItemOutcome
class PlainRun:
    """Consecutive items of one import that have one outcome and nothing else to say (no reason, errors, kept
    fields or data): `members` are their (external id, asset id), in order. It stands for one ItemOutcome per
    member, and is recorded as such (`Catalog.record_result`); it spares an import that recognises thousands of
    unchanged items an object per item."""

    outcome: Outcome
    members: list[tuple[str | None, str | None]]

    def items(self) -> list[ItemOutcome]:
        """One ItemOutcome per member."""
        return [ItemOutcome(self.outcome, external_id, asset_id) for external_id, asset_id in self.members]
