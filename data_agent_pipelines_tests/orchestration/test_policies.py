"""Source-of-truth policies, vanished items and the removal guard, dry runs: end to end on both backends."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from data_agent_pipelines.catalog.schema import assets, sources
from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.source_settings import SourceChanges, edit_source

from ..clirunner import run_cli
from ..conftest import add_feed_source
from ..feeds import item, rss
from ..feedserver import FeedServer


def make_source(catalog: Catalog, feed_server: FeedServer, body: str, **settings: Any) -> str:
    return add_feed_source(catalog, feed_server.serve("/feed.xml", body), **settings)


def serve(feed_server: FeedServer, body: str) -> None:
    feed_server.serve("/feed.xml", body)


def run_import(capsys, source_id: str, *extra: str) -> tuple[int, dict]:
    done = run_cli(capsys, "import", source_id, "--json", *extra)
    return done.code, done.json()


def by_external_id(result: dict) -> dict[str, dict]:
    return {i["external_id"]: i for i in result["items"]}


def asset_of(catalog: Catalog, source_id: str, external_id: str) -> dict:
    found = catalog.existing_assets(source_id, [external_id])
    return catalog.get_asset(found[external_id].id)


def items(*ids: str, titles: dict[str, str] | None = None, descriptions: dict[str, str] | None = None) -> str:
    titles = titles or {}
    descriptions = descriptions or {}
    parts = []
    for i in ids:
        extra = ""
        if i in descriptions:
            extra = f"<media:description>{descriptions[i]}</media:description>"
        parts.append(item(i, titles.get(i, f"Title {i}"), extra=extra))
    return rss(*parts)


# -- policies -----------------------------------------------------------------------------------------------------


def test_importer_overwrites_a_cms_edit_and_clears_it(feed_server: FeedServer, catalog: Catalog, capsys) -> None:
    source_id = make_source(catalog, feed_server, items("a", "b"))
    run_import(capsys, source_id)
    catalog.edit_asset(asset_of(catalog, source_id, "a")["id"], {"title": "CMS", "tags": ["cms"]})
    serve(feed_server, items("a", "b", titles={"a": "Origin v2"}))
    code, result = run_import(capsys, source_id)
    outcome = by_external_id(result)["a"]
    assert code == 0 and outcome["outcome"] == "updated"
    assert "overwrote the CMS edit of tags, title" in outcome["reason"]
    asset = asset_of(catalog, source_id, "a")
    assert asset["title"] == "Origin v2" and asset["tags"] == ["news", "sport"] and asset["edited_fields"] == []


def test_importer_restores_a_cms_edit_even_when_the_origin_did_not_change(
    feed_server: FeedServer, catalog: Catalog, capsys
) -> None:
    source_id = make_source(catalog, feed_server, items("a"))
    run_import(capsys, source_id)
    catalog.edit_asset(asset_of(catalog, source_id, "a")["id"], {"title": "CMS"})
    serve(feed_server, items("a") + "<!-- refetched -->")  # a new body, the same items
    _code, result = run_import(capsys, source_id)
    assert by_external_id(result)["a"]["outcome"] == "updated"
    assert asset_of(catalog, source_id, "a")["title"] == "Title a"


def test_create_only_never_touches_an_existing_asset(feed_server: FeedServer, catalog: Catalog, capsys) -> None:
    source_id = make_source(catalog, feed_server, items("a"), truth="create-only")
    run_import(capsys, source_id)
    catalog.edit_asset(asset_of(catalog, source_id, "a")["id"], {"title": "CMS"})
    serve(feed_server, items("a", "b", titles={"a": "Origin v2"}))
    _code, result = run_import(capsys, source_id)
    outcomes = by_external_id(result)
    assert outcomes["a"]["outcome"] == "skipped" and outcomes["a"]["reason"] == "create-only"
    assert outcomes["b"]["outcome"] == "created"
    assert result["counts"]["skipped"] == 1 and result["counts"]["created"] == 1
    asset = asset_of(catalog, source_id, "a")
    assert asset["title"] == "CMS" and asset["edited_fields"] == ["title"]


def test_update_unless_edited_keeps_cms_fields_and_follows_the_origin_elsewhere(
    feed_server: FeedServer, catalog: Catalog, capsys
) -> None:
    source_id = make_source(catalog, feed_server, items("a"), truth="update-unless-edited")
    run_import(capsys, source_id)
    asset_id = asset_of(catalog, source_id, "a")["id"]
    catalog.edit_asset(asset_id, {"title": "CMS title"})

    serve(feed_server, items("a", descriptions={"a": "New origin description"}))
    _code, result = run_import(capsys, source_id)
    outcome = by_external_id(result)["a"]
    assert outcome["outcome"] == "updated" and outcome["kept_fields"] == ["title"]
    assert outcome["reason"] == "kept the CMS value of title"  # the origin did not touch the title: no conflict
    assert outcome["data"]["description"]["to"] == "New origin description" and "title" not in outcome["data"]
    asset = catalog.get_asset(asset_id)
    assert asset["title"] == "CMS title" and asset["description"] == "New origin description"
    assert asset["edited_fields"] == ["title"]

    serve(feed_server, items("a", titles={"a": "Origin renamed"}, descriptions={"a": "New origin description"}))
    _code, result = run_import(capsys, source_id)
    outcome = by_external_id(result)["a"]
    assert outcome["kept_fields"] == ["title"]
    assert "conflict: the origin also changed title since the last import" in outcome["reason"]
    assert catalog.get_asset(asset_id)["title"] == "CMS title"

    # The origin sends the same again: nothing to do, and the CMS value is still kept.
    serve(feed_server, items("a", titles={"a": "Origin renamed"}, descriptions={"a": "New origin description"}) + " ")
    _code, result = run_import(capsys, source_id)
    outcome = by_external_id(result)["a"]
    assert outcome["outcome"] == "unchanged" and outcome["kept_fields"] == ["title"]
    assert catalog.get_asset(asset_id)["title"] == "CMS title"


# -- vanished items and the guard ----------------------------------------------------------------------------------

TEN = [f"i{n}" for n in range(10)]


def test_unpublish_then_reappear(feed_server: FeedServer, catalog: Catalog, capsys) -> None:
    source_id = make_source(catalog, feed_server, items(*TEN), on_missing="unpublish")
    run_import(capsys, source_id)
    serve(feed_server, items(*TEN[1:]))
    code, result = run_import(capsys, source_id)
    assert code == 0 and result["counts"]["unpublished"] == 1 and result["held_back"] is None
    assert by_external_id(result)["i0"]["outcome"] == "unpublished"
    assert asset_of(catalog, source_id, "i0")["status"] == "unpublished"
    # Still gone: nothing more to unpublish.
    serve(feed_server, items(*TEN[1:]) + " ")
    _code, result = run_import(capsys, source_id)
    assert result["counts"]["unpublished"] == 0
    serve(feed_server, items(*TEN))
    _code, result = run_import(capsys, source_id)
    back = by_external_id(result)["i0"]
    assert back["outcome"] == "updated" and "published again" in back["reason"]
    assert result["counts"]["updated"] == 1
    assert asset_of(catalog, source_id, "i0")["status"] == "published"


def test_delete_removes_vanished_assets(feed_server: FeedServer, catalog: Catalog, capsys) -> None:
    source_id = make_source(catalog, feed_server, items(*TEN), on_missing="delete")
    run_import(capsys, source_id)
    serve(feed_server, items(*TEN[2:]))
    _code, result = run_import(capsys, source_id)
    assert result["counts"]["deleted"] == 2
    assert catalog.count_assets(source_id) == 8
    assert "i0" not in catalog.existing_assets(source_id, ["i0"])


def test_keep_removes_nothing(feed_server: FeedServer, catalog: Catalog, capsys) -> None:
    source_id = make_source(catalog, feed_server, items(*TEN))
    run_import(capsys, source_id)
    serve(feed_server, items("i0"))
    _code, result = run_import(capsys, source_id)
    assert result["status"] == "succeeded" and result["counts"]["deleted"] == result["counts"]["unpublished"] == 0
    assert catalog.count_assets(source_id) == 10


def snapshot(catalog: Catalog) -> list[tuple]:
    with catalog.engine.connect() as conn:
        rows = conn.execute(select(assets).order_by(assets.c.id)).all()
        rows += conn.execute(select(sources).order_by(sources.c.id)).all()
    return [tuple(row) for row in rows]


def test_guard_holds_back_more_than_the_max_fraction_and_applies_nothing(
    feed_server: FeedServer, catalog: Catalog, capsys
) -> None:
    source_id = make_source(catalog, feed_server, items(*TEN), on_missing="delete")
    run_import(capsys, source_id)
    before = [(a["external_id"], a["title"]) for a in catalog.list_assets("acme")]
    serve(feed_server, items(*TEN[3:], "new", titles={"i5": "Renamed"}))
    code, result = run_import(capsys, source_id)
    assert code == 1 and result["status"] == "failed"
    assert result["held_back"] == {
        "action": "delete",
        "count": 3,
        "reason": "3 of the source's 10 assets (30%) would be deleted, more than the source's max removal fraction"
        " of 20%",
    }
    assert "nothing was applied" in result["error"] and "3 assets would have been deleted" in result["error"]
    assert [(a["external_id"], a["title"]) for a in catalog.list_assets("acme")] == before
    assert catalog.get_source(source_id).last_status == "failed"
    # Raising the limit lets the same change through.
    edit_source(catalog, source_id, SourceChanges(max_removal_fraction=0.5))
    _code, result = run_import(capsys, source_id)
    assert result["status"] == "succeeded" and result["counts"]["deleted"] == 3 and result["counts"]["created"] == 1


def test_guard_holds_back_when_the_origin_returns_no_items(feed_server: FeedServer, catalog: Catalog, capsys) -> None:
    source_id = make_source(catalog, feed_server, items(*TEN), on_missing="unpublish", max_removal_fraction=1.0)
    run_import(capsys, source_id)
    serve(feed_server, rss())
    code, result = run_import(capsys, source_id)
    assert code == 1 and result["held_back"]["reason"] == "the origin returned no items at all"
    assert result["held_back"]["count"] == 10
    assert all(a["status"] == "published" for a in catalog.list_assets("acme"))


def test_guard_holds_back_on_a_document_cut_short_but_imports_what_it_can(
    feed_server: FeedServer, catalog: Catalog, capsys
) -> None:
    source_id = make_source(catalog, feed_server, items(*TEN), on_missing="delete", max_removal_fraction=1.0)
    run_import(capsys, source_id)
    full = items("i0", "i1", "fresh", titles={"i1": "Renamed"})
    serve(feed_server, full[: full.index("<guid", full.index("fresh") - 200) + 10])  # cut inside the third item
    code, result = run_import(capsys, source_id)
    assert code == 0 and result["status"] in ("succeeded", "partial")
    assert result["held_back"]["action"] == "delete" and "incomplete" in result["held_back"]["reason"]
    assert any("held back" in note for note in result["notes"])
    assert result["counts"]["deleted"] == 0 and catalog.count_assets(source_id) == 10
    assert asset_of(catalog, source_id, "i1")["title"] == "Renamed"


def test_a_failed_fetch_removes_nothing(feed_server: FeedServer, catalog: Catalog, capsys) -> None:
    source_id = make_source(catalog, feed_server, items(*TEN), on_missing="delete", max_removal_fraction=1.0)
    run_import(capsys, source_id)
    feed_server.documents["/feed.xml"].status = 503
    feed_server.documents["/feed.xml"].etag = False
    edit_source(catalog, source_id, SourceChanges(options={"timeout": "5"}))
    code, result = run_import(capsys, source_id)
    assert code == 1 and result["status"] == "failed" and "503" in result["error"]
    assert catalog.count_assets(source_id) == 10


# -- dry run ---------------------------------------------------------------------------------------------------------


def test_dry_run_reports_the_plan_and_leaves_the_catalog_exactly_as_it_was(
    feed_server: FeedServer, catalog: Catalog, capsys
) -> None:
    source_id = make_source(catalog, feed_server, items(*TEN), on_missing="delete")
    run_import(capsys, source_id)
    serve(feed_server, items(*TEN[1:], "new", titles={"i5": "Renamed"}))
    before = snapshot(catalog)
    code, result = run_import(capsys, source_id, "--dry-run")
    assert code == 0 and result["dry_run"] is True
    assert {k: v for k, v in result["counts"].items() if v} == {
        "created": 1,
        "updated": 1,
        "unchanged": 8,
        "deleted": 1,
    }
    assert snapshot(catalog) == before
    listed = run_cli(capsys, "results", "show", result["id"], "--json").json()
    assert listed["dry_run"] is True
    # The real run then does what the dry run said.
    _code, real = run_import(capsys, source_id)
    assert real["counts"] == result["counts"]


def test_a_cms_edit_made_while_an_import_runs_is_not_overwritten(
    feed_server: FeedServer, catalog: Catalog, clock
) -> None:
    """The edit lands between reconcile (which read the asset) and write: the write leaves that asset alone.

    The steps run here one by one, on the fixture's catalog and clock, to put the edit exactly in between."""
    from data_agent_pipelines import importing, net
    from data_agent_pipelines.settings import get_settings

    def planned(source_id: str) -> importing.ImportState:
        with net.HttpClient(net.FetchPolicy(allow_hosts=("127.0.0.1",))) as http:
            state = importing.fetch(catalog, http, source_id, run_id=None, work_root=get_settings().work_dir)
        return importing.reconcile(catalog, importing.normalise(catalog, state))

    source_id = make_source(catalog, feed_server, items("a", "b"), truth="update-unless-edited")
    importing.write(catalog, planned(source_id))
    clock.advance(minutes=1)
    serve(feed_server, items("a", "b", descriptions={"a": "origin v2", "b": "origin v2"}))
    state = planned(source_id)
    clock.advance(seconds=1)
    catalog.edit_asset(asset_of(catalog, source_id, "a")["id"], {"description": "CMS edit"})
    clock.advance(seconds=1)
    importing.write(catalog, state)
    edited = asset_of(catalog, source_id, "a")
    assert edited["description"] == "CMS edit" and edited["edited_fields"] == ["description"]
    assert asset_of(catalog, source_id, "b")["description"] == "origin v2"
    # The next import reconciles it under the policy: the CMS value stays, the mark too.
    clock.advance(minutes=1)
    serve(feed_server, items("a", "b", descriptions={"a": "origin v3", "b": "origin v2"}))
    importing.write(catalog, planned(source_id))
    again = asset_of(catalog, source_id, "a")
    assert again["description"] == "CMS edit" and again["edited_fields"] == ["description"]


def test_importer_overwrites_a_cms_edit_although_the_origin_answers_304(
    feed_server: FeedServer, catalog: Catalog, capsys
) -> None:
    """The policy holds when the origin did not change at all: an edit makes the next import read the items."""
    source_id = make_source(catalog, feed_server, items("a", "b"))
    run_import(capsys, source_id)
    _code, unchanged = run_import(capsys, source_id)
    assert unchanged["status"] == "unchanged" and "304" in " ".join(unchanged["notes"])
    catalog.edit_asset(asset_of(catalog, source_id, "a")["id"], {"title": "CMS"})
    code, result = run_import(capsys, source_id)
    assert code == 0 and result["status"] == "succeeded"
    assert by_external_id(result)["a"]["outcome"] == "updated"
    assert "overwrote the CMS edit of title" in by_external_id(result)["a"]["reason"]
    assert by_external_id(result)["b"]["outcome"] == "unchanged"
    asset = asset_of(catalog, source_id, "a")
    assert asset["title"] == "Title a" and asset["edited_fields"] == []
    _code, after = run_import(capsys, source_id)  # overwritten: the origin's validators count again
    assert after["status"] == "unchanged" and "304" in " ".join(after["notes"])


def test_update_unless_edited_keeps_answering_304_after_a_cms_edit(
    feed_server: FeedServer, catalog: Catalog, capsys
) -> None:
    source_id = make_source(catalog, feed_server, items("a"), truth="update-unless-edited")
    run_import(capsys, source_id)
    catalog.edit_asset(asset_of(catalog, source_id, "a")["id"], {"title": "CMS"})
    _code, result = run_import(capsys, source_id)
    assert result["status"] == "unchanged" and "304" in " ".join(result["notes"])
    assert asset_of(catalog, source_id, "a")["title"] == "CMS"
