"""reconcile.py on its own: the policies and the removal guard as pure functions."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from data_agent_pipelines.model import (
    Asset,
    Edition,
    ExistingAsset,
    Outcome,
    Stream,
    Subtitle,
    columns_to_json,
    encode_asset,
)
from data_agent_pipelines.reconcile import Current, Incoming, decide, needs_current, plan_removals


def incoming(asset: Asset) -> Incoming:
    encoded = encode_asset(asset)
    return Incoming(
        asset.external_id, encoded.content_hash, encoded.field_hashes, encoded.columns, unpublished=asset.unpublished
    )


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


# --- the origin's own publication state ------------------------------------------------------------------------


def test_an_item_the_origin_does_not_publish_is_created_unpublished_with_the_reason() -> None:
    decision = run(incoming(Asset("a", title="T", unpublished="private on Vimeo")), None, None, "importer")
    assert decision.outcome.outcome == Outcome.CREATED and decision.write.status == "unpublished"
    assert decision.outcome.reason == "unpublished: private on Vimeo"


def test_a_published_asset_the_origin_withdraws_is_unpublished_and_comes_back_when_published() -> None:
    asset = Asset("a", title="T")
    private = Asset("a", title="T", unpublished="private on Vimeo")
    found = existing(asset)
    assert needs_current(incoming(private), found, "importer")
    decision = run(incoming(private), found, current(asset), "importer")
    assert decision.outcome.outcome == Outcome.UPDATED and decision.write.status == "unpublished"
    assert decision.outcome.reason == "unpublished: private on Vimeo" and decision.outcome.data == {}
    # Still private, nothing else changed: unchanged, and the result still says why it is not published.
    still = run(incoming(private), existing(asset, status="unpublished"), None, "importer")
    assert still.outcome.outcome == Outcome.UNCHANGED and still.write is None
    assert still.outcome.reason == "unpublished: private on Vimeo"
    back = run(incoming(asset), existing(asset, status="unpublished"), current(asset), "importer")
    assert back.outcome.outcome == Outcome.UPDATED and back.write.status == "published"


def test_create_only_never_unpublishes_but_says_the_origin_withdrew_the_item() -> None:
    transcoding = Asset("a", title="T", unpublished="still transcoding")
    decision = run(incoming(transcoding), existing(Asset("a", title="T")), None, "create-only")
    assert decision.outcome.outcome == Outcome.SKIPPED and decision.write is None
    assert "no longer publishes it (still transcoding)" in decision.outcome.reason


# --- links the origin signs with an expiry -----------------------------------------------------------------------

EXPIRES = datetime(2026, 11, 2, tzinfo=UTC)


def captioned(signature: str, expires: datetime = EXPIRES, *, title: str = "T") -> Asset:
    caption = Subtitle(f"https://captions.example/c/1.vtt?expires=1&sig={signature}", "en", "English", expires=expires)
    stream = Stream("https://player.example/1.m3u8", "hls", default=True)
    return Asset("a", title=title, editions=[Edition(streams=[stream], subtitles=[caption])])


@pytest.mark.parametrize("policy", ("importer", "update-unless-edited"))
def test_a_renewed_signature_is_written_but_the_item_is_unchanged(policy: str) -> None:
    old, new = captioned("aaa"), captioned("bbb", datetime(2026, 11, 3, tzinfo=UTC))
    found = existing(old)
    assert needs_current(incoming(new), found, policy)
    decision = run(incoming(new), found, current(old), policy)
    assert decision.outcome.outcome == Outcome.UNCHANGED and decision.outcome.data is None
    assert "renewed 1 expiring link" in decision.outcome.reason
    assert "sig=bbb" in decision.write.columns["editions"]  # the catalog keeps the working link


def test_a_link_to_another_file_or_a_change_beside_the_signature_is_an_update() -> None:
    old = captioned("aaa")
    moved = captioned("bbb")
    moved.editions[0].subtitles[0].url = "https://captions.example/c/2.vtt?sig=bbb"
    relabelled = captioned("bbb")
    relabelled.editions[0].subtitles[0].label = "English (CC)"
    for new in (moved, relabelled, captioned("bbb", title="Other")):
        decision = run(incoming(new), existing(old), current(old), "importer")
        assert decision.outcome.outcome == Outcome.UPDATED, new


def test_a_link_without_an_expiry_is_never_taken_for_a_renewal() -> None:
    old = captioned("aaa")
    old.editions[0].subtitles[0].expires = None
    new = captioned("bbb")
    new.editions[0].subtitles[0].expires = None
    decision = run(incoming(new), existing(old), current(old), "importer")
    assert decision.outcome.outcome == Outcome.UPDATED


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
