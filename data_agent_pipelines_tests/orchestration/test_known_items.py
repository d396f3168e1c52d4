"""Items recognised by their origin digest: an unchanged raw item is not mapped again, on both backends.

Each test counts the items the Media RSS mapper really maps (a wrapper around `map_item`, as `mrss.feed` calls
it), so "recognised" is asserted as behaviour, next to what the import reports and what the catalog holds.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from sqlalchemy import select, update

from data_agent_pipelines.catalog.schema import assets
from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.connectors.base import KnownItem
from data_agent_pipelines.connectors.mrss import feed
from data_agent_pipelines.model import KnownAsset
from data_agent_pipelines.source_settings import SourceChanges, add_source, edit_source

from ..feeds import item, rss
from ..feedserver import FeedServer
from .test_policies import asset_of, by_external_id, items, make_source, run_import, serve


@pytest.fixture
def mapped(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the items mapped since the last `clear()` of the returned list."""
    ids: list[str] = []
    original = feed.map_item

    def counting(*args, **kwargs):
        asset = original(*args, **kwargs)
        ids.append(asset.external_id)
        return asset

    monkeypatch.setattr(feed, "map_item", counting)
    return ids


def digests(catalog: Catalog, source_id: str) -> dict[str, str | None]:
    with catalog.engine.connect() as conn:
        rows = conn.execute(select(assets.c.external_id, assets.c.origin_digest).where(assets.c.source_id == source_id))
        return dict(rows.all())


_documents = itertools.count()


def reimport(capsys, feed_server: FeedServer, source_id: str, body: str, mapped: list[str]) -> dict:
    """Serve `body` (a new document each time: the 304 and same-digest shortcuts do not apply) and import it."""
    mapped.clear()
    serve(feed_server, body + f"<!-- document {next(_documents)} -->")
    code, result = run_import(capsys, source_id)
    assert code == 0, result
    return result


def test_an_unchanged_item_is_recognised_and_not_mapped(
    feed_server: FeedServer, catalog: Catalog, capsys, mapped: list[str]
) -> None:
    source_id = make_source(catalog, feed_server, items("a", "b", "c"))
    run_import(capsys, source_id)
    assert sorted(mapped) == ["a", "b", "c"]
    first = digests(catalog, source_id)
    assert all(first.values()) and len(set(first.values())) == 3
    before = {i: asset_of(catalog, source_id, i) for i in "abc"}

    result = reimport(capsys, feed_server, source_id, items("a", "b", "c", titles={"b": "B v2"}), mapped)

    assert mapped == ["b"]
    assert result["counts"]["unchanged"] == 2 and result["counts"]["updated"] == 1
    assert {i: o["outcome"] for i, o in by_external_id(result).items()} == {
        "a": "unchanged",
        "b": "updated",
        "c": "unchanged",
    }
    assert asset_of(catalog, source_id, "a") == before["a"]
    assert asset_of(catalog, source_id, "b")["title"] == "B v2"
    after = digests(catalog, source_id)
    assert after["a"] == first["a"] and after["b"] != first["b"]


def test_a_changed_channel_default_maps_every_item_again(
    feed_server: FeedServer, catalog: Catalog, capsys, mapped: list[str]
) -> None:
    source_id = make_source(catalog, feed_server, items("a", "b"))
    run_import(capsys, source_id)
    rated = rss(
        item("a", "Title a"), item("b", "Title b"), channel_extra='<media:rating scheme="urn:mpaa">pg</media:rating>'
    )
    result = reimport(capsys, feed_server, source_id, rated, mapped)
    assert sorted(mapped) == ["a", "b"] and result["counts"]["updated"] == 2
    assert asset_of(catalog, source_id, "a")["ratings"] == [{"scheme": "urn:mpaa", "value": "pg"}]


def test_channel_elements_the_mapping_does_not_read_do_not_count(
    feed_server: FeedServer, catalog: Catalog, capsys, mapped: list[str]
) -> None:
    source_id = make_source(catalog, feed_server, rss(item("a"), channel_extra="<lastBuildDate>Mon</lastBuildDate>"))
    run_import(capsys, source_id)
    later = rss(item("a"), channel_extra="<lastBuildDate>Tue</lastBuildDate><ttl>5</ttl>")
    result = reimport(capsys, feed_server, source_id, later, mapped)
    assert mapped == [] and result["counts"]["unchanged"] == 1


def test_a_new_asset_type_maps_every_item_again(
    feed_server: FeedServer, catalog: Catalog, capsys, mapped: list[str]
) -> None:
    source_id = make_source(catalog, feed_server, items("a"))
    run_import(capsys, source_id)
    edit_source(catalog, source_id, SourceChanges(asset_type="clip"))
    result = reimport(capsys, feed_server, source_id, items("a"), mapped)
    assert mapped == ["a"] and result["counts"]["updated"] == 1
    assert asset_of(catalog, source_id, "a")["type"] == "clip"


def test_importer_still_restores_a_cms_edit_of_an_unchanged_item(
    feed_server: FeedServer, catalog: Catalog, capsys, mapped: list[str]
) -> None:
    source_id = make_source(catalog, feed_server, items("a", "b"))
    run_import(capsys, source_id)
    catalog.edit_asset(asset_of(catalog, source_id, "a")["id"], {"title": "CMS"})
    result = reimport(capsys, feed_server, source_id, items("a", "b"), mapped)
    assert mapped == ["a"]
    assert by_external_id(result)["a"]["outcome"] == "updated"
    assert asset_of(catalog, source_id, "a")["title"] == "Title a"
    result = reimport(capsys, feed_server, source_id, items("a", "b"), mapped)
    assert mapped == [] and result["counts"]["unchanged"] == 2


def test_update_unless_edited_recognises_an_edited_asset_and_keeps_the_edit(
    feed_server: FeedServer, catalog: Catalog, capsys, mapped: list[str]
) -> None:
    source_id = make_source(catalog, feed_server, items("a"), truth="update-unless-edited")
    run_import(capsys, source_id)
    catalog.edit_asset(asset_of(catalog, source_id, "a")["id"], {"title": "CMS"})
    result = reimport(capsys, feed_server, source_id, items("a"), mapped)
    assert mapped == []
    outcome = by_external_id(result)["a"]
    assert outcome["outcome"] == "unchanged" and outcome["kept_fields"] == ["title"]
    assert asset_of(catalog, source_id, "a")["title"] == "CMS"


def test_create_only_skips_a_recognised_item(
    feed_server: FeedServer, catalog: Catalog, capsys, mapped: list[str]
) -> None:
    source_id = make_source(catalog, feed_server, items("a"), truth="create-only")
    run_import(capsys, source_id)
    result = reimport(capsys, feed_server, source_id, items("a"), mapped)
    assert mapped == []
    outcome = by_external_id(result)["a"]
    assert outcome["outcome"] == "skipped" and outcome["reason"] == "create-only"


def test_an_item_back_after_an_unpublish_is_mapped_and_published_again(
    feed_server: FeedServer, catalog: Catalog, capsys, mapped: list[str]
) -> None:
    source_id = make_source(
        catalog, feed_server, items("a", "b", "c"), on_missing="unpublish", max_removal_fraction=0.5
    )
    run_import(capsys, source_id)
    reimport(capsys, feed_server, source_id, items("a", "b"), mapped)
    assert asset_of(catalog, source_id, "c")["status"] == "unpublished"
    result = reimport(capsys, feed_server, source_id, items("a", "b", "c"), mapped)
    assert mapped == ["c"]
    assert by_external_id(result)["c"]["outcome"] == "updated"
    assert asset_of(catalog, source_id, "c")["status"] == "published"


def test_assets_imported_without_a_digest_get_one_then_are_recognised(
    feed_server: FeedServer, catalog: Catalog, capsys, mapped: list[str]
) -> None:
    source_id = make_source(catalog, feed_server, items("a", "b"))
    run_import(capsys, source_id)
    first = digests(catalog, source_id)
    with catalog.engine.begin() as conn:  # as an earlier release left them
        conn.execute(update(assets).where(assets.c.source_id == source_id).values(origin_digest=None))
    result = reimport(capsys, feed_server, source_id, items("a", "b"), mapped)
    assert sorted(mapped) == ["a", "b"] and result["counts"]["unchanged"] == 2
    assert digests(catalog, source_id) == first
    result = reimport(capsys, feed_server, source_id, items("a", "b"), mapped)
    assert mapped == [] and result["counts"]["unchanged"] == 2


def test_a_dry_run_records_no_digest(feed_server: FeedServer, catalog: Catalog, capsys, mapped: list[str]) -> None:
    source_id = make_source(catalog, feed_server, items("a"))
    run_import(capsys, source_id, "--dry-run")
    assert digests(catalog, source_id) == {}
    run_import(capsys, source_id)
    with catalog.engine.begin() as conn:
        conn.execute(update(assets).where(assets.c.source_id == source_id).values(origin_digest=None))
    serve(feed_server, items("a") + "<!-- again -->")
    run_import(capsys, source_id, "--dry-run")
    assert digests(catalog, source_id) == {"a": None}


def test_a_repeated_id_is_still_reported_when_its_first_occurrence_is_recognised(
    feed_server: FeedServer, catalog: Catalog, capsys, mapped: list[str]
) -> None:
    source_id = make_source(catalog, feed_server, items("a"))
    run_import(capsys, source_id)
    twice = rss(item("a", "Title a"), item("a", "Another a"))
    mapped.clear()
    serve(feed_server, twice)
    code, result = run_import(capsys, source_id)
    assert code == 0 and result["status"] == "partial"
    outcomes = [(i["external_id"], i["outcome"]) for i in result["items"]]
    assert outcomes == [("a", "unchanged"), ("a", "failed")]
    assert "duplicate id 'a'" in result["items"][1]["reason"]
    assert asset_of(catalog, source_id, "a")["title"] == "Title a"


def test_an_item_with_warnings_is_mapped_every_time_so_each_result_repeats_them(
    feed_server: FeedServer, catalog: Catalog, capsys, mapped: list[str]
) -> None:
    body = rss(item("a", extra="<release_date>someday</release_date>"))
    source_id = make_source(catalog, feed_server, body)
    run_import(capsys, source_id)
    result = reimport(capsys, feed_server, source_id, body, mapped)
    assert mapped == ["a"]
    outcome = by_external_id(result)["a"]
    assert outcome["outcome"] == "unchanged" and "release_date='someday'" in outcome["reason"]


def test_the_parser_yields_known_items_only_for_known_digests(tmp_path) -> None:
    path = tmp_path / "feed.xml"
    path.write_text(rss(item("a"), item("b")), encoding="utf-8")
    first = {asset.external_id: asset.origin_digest for asset in feed.parse_feed(path)}
    assert all(first.values())
    parse = feed.parse_feed(path)
    parse.skip_known({first["a"]: KnownAsset("a", "ast_a")})
    read = list(parse)
    assert read[0] == KnownItem("a", first["a"])
    assert read[1].external_id == "b" and read[1].origin_digest == first["b"]
    again: Callable[[], list] = lambda: [a.origin_digest for a in feed.parse_feed(path)]  # noqa: E731
    assert again() == [first["a"], first["b"]]  # deterministic across parses


_BOOKKEEPING = ("id", "source_id", "created_at", "updated_at", "last_imported_at")  # the CLI runs on the real clock
_VERSIONS = [
    rss(item("a"), item("b"), item("c")),
    rss(item("a"), item("b", "B v2"), item("c"), channel_extra="<lastBuildDate>Tue</lastBuildDate>"),
    rss(item("c"), item("a"), item("b", "B v2")),  # reordered
    rss(item("a"), item("b", "B v2"), channel_extra='<media:rating scheme="urn:mpaa">pg</media:rating>'),
    rss(item("a"), item("b", "B v2"), item("c", "C v2"), item("d")),
    rss(item("a"), item("a", "A again"), item("b", "B v2"), item("c", "C v2"), item("d")),
    rss(item("a"), item("b", "B v2"), item("c", "C v2"), item("d")),
]


@pytest.mark.parametrize("truth", ["importer", "update-unless-edited", "create-only"])
def test_recognising_items_changes_the_work_not_the_outcome(
    feed_server: FeedServer, catalog: Catalog, capsys, truth: str, mapped: list[str]
) -> None:
    """The same documents and CMS edits through two sources, one of which never has a digest to recognise."""
    catalog.add_service("acme")
    ids = {}
    for name in ("recognising", "mapping"):
        url = feed_server.serve(f"/{name}.xml", _VERSIONS[0])
        settings = SourceChanges(name=name, kind="mrss", url=url, truth=truth, on_missing="unpublish")
        ids[name] = add_source(catalog, "acme", settings).id
    work = dict.fromkeys(ids, 0)
    for step, body in enumerate(_VERSIONS):
        states = {}
        for name, source_id in ids.items():
            if name == "mapping":
                with catalog.engine.begin() as conn:
                    conn.execute(update(assets).where(assets.c.source_id == source_id).values(origin_digest=None))
            feed_server.serve(f"/{name}.xml", body + f"<!-- step {step} -->")
            if step == 2:
                catalog.edit_asset(asset_of(catalog, source_id, "a")["id"], {"title": "CMS"})
            mapped.clear()
            code, result = run_import(capsys, source_id)
            work[name] += len(mapped)
            outcomes = [(i["external_id"], i["outcome"], i["reason"], i["kept_fields"]) for i in result["items"]]
            held = {k: v for k, v in result.items() if k in ("status", "counts")}
            found = catalog.existing_assets(source_id, ["a", "b", "c", "d"])
            values = {}
            for external_id, existing in found.items():
                asset = catalog.get_asset(existing.id)
                values[external_id] = {k: v for k, v in asset.items() if k not in _BOOKKEEPING}
            states[name] = (code, held, outcomes, values)
        assert states["recognising"] == states["mapping"], f"step {step}"
    assert work["recognising"] < work["mapping"] / 2


def test_thousands_of_recognised_items_read_back_one_outcome_each_in_order(
    feed_server: FeedServer, catalog: Catalog, capsys, mapped: list[str]
) -> None:
    """Recognised items travel and are stored in runs (importing._RUN, results.MAX_RUN); what the result says of
    them is still one outcome per item, in document order, as the CLI and the API page it."""
    ids = [f"v{n:04d}" for n in range(2300)]
    source_id = make_source(catalog, feed_server, items(*ids))
    run_import(capsys, source_id)
    changed = {ids[1500]: "new title", ids[10]: "another"}

    result = reimport(capsys, feed_server, source_id, items(*ids, titles=changed), mapped)

    assert sorted(mapped) == sorted(changed)
    expected = [(i, "updated" if i in changed else "unchanged") for i in ids]
    assert [(i["external_id"], i["outcome"]) for i in result["items"]] == expected
    assert result["counts"]["unchanged"] == len(ids) - 2 and result["counts"]["updated"] == 2
    asset_ids = {i: existing.id for i, existing in catalog.existing_assets(source_id, ids).items()}
    assert all(i["asset_id"] == asset_ids[i["external_id"]] for i in result["items"])
    assert all(i["reason"] is None and not i["errors"] and not i["kept_fields"] for i in result["items"][:10])
    page, total = catalog.result_items(result["id"], limit=4, offset=1499)
    assert total == len(ids) and [(i.external_id, str(i.outcome)) for i in page] == expected[1499:1503]
