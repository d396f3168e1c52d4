"""reconcile.py on its own: the policies and the removal guard as pure functions."""

from __future__ import annotations

import itertools

import pytest

from data_agent_pipelines.model import Asset, ExistingAsset, Outcome, columns_to_json, encode_asset
from data_agent_pipelines.reconcile import Current, Incoming, decide, needs_current, plan_removals


def incoming(asset: Asset) -> Incoming:
    encoded = encode_asset(asset)
    return Incoming(asset.external_id, encoded.content_hash, encoded.field_hashes, encoded.columns)


def existing(asset: Asset, *, edited: tuple[str, ...] = (), status: str = "published") -> ExistingAsset:
    return ExistingAsset("ast_1", asset.external_id, encode_asset(asset).content_hash, status, edited)


def current(asset: Asset, **overrides: object) -> Current:
    encoded = encode_asset(asset)
    return Current({**columns_to_json(encoded.columns), **overrides}, encoded.field_hashes)


def run(item: Incoming, found: ExistingAsset | None, now: Current | None, policy: str):
    ids = (f"ast_new{n}" for n in itertools.count())
    # The kept values in these tests are scalars, whose column values are their JSON values.
    return decide(item, found, now, policy=policy, new_id=lambda: next(ids), to_columns=dict)


POLICIES = ("importer", "create-only", "update-unless-edited")


@pytest.mark.parametrize("policy", POLICIES)
def test_a_new_item_is_created_under_every_policy(policy: str) -> None:
    decision = run(incoming(Asset("a", title="T")), None, None, policy)
    assert decision.outcome.outcome == Outcome.CREATED and decision.write.asset_id == "ast_new0"


@pytest.mark.parametrize("policy", ("importer", "update-unless-edited"))
def test_the_same_item_twice_changes_nothing(policy: str) -> None:
    asset = Asset("a", title="T", tags=["x"])
    item = incoming(asset)
    found = existing(asset)
    assert not needs_current(item, found, policy)
    decision = run(item, found, None, policy)
    assert decision.outcome.outcome == Outcome.UNCHANGED and decision.write is None


def test_importer_overwrites_edits_and_says_what_changed() -> None:
    old = Asset("a", title="Old", duration=10)
    new = Asset("a", title="New", duration=10)
    found = existing(old, edited=("title",))
    decision = run(incoming(new), found, current(old, title="CMS"), "importer")
    assert decision.outcome.outcome == Outcome.UPDATED
    assert decision.outcome.data == {"title": {"from": "CMS", "to": "New"}}
    assert decision.write.edited_fields == [] and decision.write.columns["title"] == "New"


def test_create_only_skips_existing_assets() -> None:
    asset = Asset("a", title="T")
    decision = run(incoming(Asset("a", title="Other")), existing(asset), None, "create-only")
    assert decision.outcome.outcome == Outcome.SKIPPED and decision.outcome.reason == "create-only"
    assert decision.write is None


def test_update_unless_edited_merges_per_field_and_reports_conflicts() -> None:
    old = Asset("a", title="Old", description="D1")
    new = Asset("a", title="Old", description="D2")
    found = existing(old, edited=("title",))
    decision = run(incoming(new), found, current(old, title="CMS"), "update-unless-edited")
    assert decision.outcome.kept_fields == ["title"] and decision.write.columns["title"] == "CMS"
    assert decision.write.columns["description"] == "D2" and "conflict" not in decision.outcome.reason
    renamed = Asset("a", title="Renamed", description="D2")
    decision = run(incoming(renamed), found, current(old, title="CMS"), "update-unless-edited")
    assert decision.write.columns["title"] == "CMS"
    assert "conflict: the origin also changed title" in decision.outcome.reason


def test_an_unpublished_asset_that_comes_back_is_published_again() -> None:
    asset = Asset("a", title="T")
    found = existing(asset, status="unpublished")
    assert needs_current(incoming(asset), found, "importer")
    decision = run(incoming(asset), found, current(asset), "importer")
    assert decision.outcome.outcome == Outcome.UPDATED and decision.write.status == "published"
    assert "published again" in decision.outcome.reason


VANISHED = [("e1", "ast_1"), ("e2", "ast_2")]


@pytest.mark.parametrize(
    ("complete", "seen", "total", "fraction", "held_back"),
    [
        (True, 8, 10, 0.2, None),
        (True, 8, 10, 0.1, "2 of the source's 10 assets (20%) would be deleted"),
        (False, 8, 10, 1.0, "incomplete"),
        (True, 0, 10, 1.0, "no items at all"),
    ],
)
def test_the_guard(complete: bool, seen: int, total: int, fraction: float, held_back: str | None) -> None:
    removal = plan_removals(
        on_missing="delete",
        vanished=VANISHED,
        source_asset_count=total,
        items_seen=seen,
        complete=complete,
        max_fraction=fraction,
    )
    assert removal is not None and removal.action == "delete" and len(removal.assets) == 2
    if held_back is None:
        assert removal.held_back is None
        assert [o.outcome for o in removal.outcomes()] == [Outcome.DELETED, Outcome.DELETED]
    else:
        assert held_back in removal.held_back


def test_keep_and_nothing_vanished_plan_no_removal() -> None:
    common = {"source_asset_count": 10, "items_seen": 10, "complete": True, "max_fraction": 0.2}
    assert plan_removals(on_missing="keep", vanished=VANISHED, **common) is None
    assert plan_removals(on_missing="unpublish", vanished=[], **common) is None
