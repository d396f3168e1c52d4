"""No single value of an origin can fail the write of another item: the value boundary and the write's fallback.

Driven as a user would: `data-agent import --json` against a real feed server, on both catalog backends. Each
feed mixes good items with one hostile value each; the good items and the fixable ones are applied, the
unfixable one fails alone with a reason naming the field and the limit.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from data_agent_pipelines import importing
from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.limits import MAX_EXTERNAL_ID, MAX_TEXT

from ..clirunner import run_cli
from ..conftest import add_feed_source
from ..feeds import item, rss
from ..feedserver import FeedServer


def _import(capsys: pytest.CaptureFixture[str], source_id: str) -> dict[str, Any]:
    done = run_cli(capsys, "import", source_id, "--json")
    assert done.code == 0, done.err
    return done.json()


def _by_id(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["external_id"]: entry for entry in result["items"]}


def _assets(catalog: Catalog) -> dict[str, dict[str, Any]]:
    return {asset["external_id"]: asset for asset in catalog.list_assets("acme", limit=1000)}


def test_out_of_range_numbers_and_huge_text_in_a_feed_fail_no_other_item(
    feed_server: FeedServer, catalog: Catalog, capsys: pytest.CaptureFixture[str]
) -> None:
    huge = "word " * 400_000  # 2 MB of description
    long_guid = "g" * (MAX_EXTERNAL_ID + 1)
    feed = rss(
        item("good"),
        item("float-duration").replace('duration="120"', 'duration="1e30"'),
        item("pg-duration").replace('duration="120"', 'duration="3000000000"'),
        item("episode", extra="<itunes:episode>99999999999999999999</itunes:episode>"),
        item("essay").replace("<description>About Title</description>", f"<description>{huge}</description>"),
        item(long_guid),
        item("good-too"),
    )
    source_id = add_feed_source(catalog, feed_server.serve("/feed.xml", feed))

    result = _import(capsys, source_id)

    assert result["status"] == "partial"
    assert result["counts"]["created"] == 6 and result["counts"]["failed"] == 1
    items = _by_id(result)
    failed = items[long_guid[: MAX_EXTERNAL_ID + 1]]
    assert failed["outcome"] == "failed"
    assert (
        f"external_id is {MAX_EXTERNAL_ID + 1:,} characters long; the limit is {MAX_EXTERNAL_ID:,}"
        in (failed["reason"])
    )
    assert "out of range (0 to 2,147,483,647): dropped" in items["float-duration"]["reason"]
    assert "duration 3000000000 is out of range" in items["pg-duration"]["reason"]
    assert "episode" in items["episode"]["reason"] and "dropped" in items["episode"]["reason"]
    assert f"the limit is {MAX_TEXT['description']:,}: cut to the limit" in items["essay"]["reason"]

    assets = _assets(catalog)
    assert set(assets) == {"good", "float-duration", "pg-duration", "episode", "essay", "good-too"}
    assert assets["good"]["duration"] == 120
    assert assets["float-duration"]["duration"] is None and assets["pg-duration"]["duration"] is None
    assert assets["episode"]["episode"] is None
    assert assets["essay"]["description"] == huge[: MAX_TEXT["description"]]

    # The next import (of the feed with one more item) finds every applied item unchanged, repeating the remarks.
    feed_server.serve("/feed.xml", feed.replace("</channel>", item("new") + "</channel>"))
    again = _import(capsys, source_id)
    assert again["counts"]["unchanged"] == 6 and again["counts"]["created"] == 1 and again["counts"]["failed"] == 1
    assert "dropped" in _by_id(again)["pg-duration"]["reason"]


def test_hostile_values_in_a_json_feed_fail_no_other_item(
    feed_server: FeedServer, catalog: Catalog, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = [
        {"external_id": "good", "title": "Good", "duration": 60},
        {"external_id": "big-duration", "title": "Big", "duration": 3_000_000_000},
        {"external_id": "huge-season", "title": "Huge", "season": 10**30, "episode": -4},
        {"external_id": "nul", "title": "Bad\u0000title", "tags": ["a\u0000b"]},
        {"external_id": "surrogate", "title": "Half \ud800 pair"},
        {"external_id": "tags", "title": "Tags", "tags": [f"t{n}" for n in range(5_000)]},
        {"external_id": "custom", "title": "Custom", "note": "x" * 100_000},
        {"external_id": "nul\u0000id", "title": "Id"},
    ]
    body = json.dumps(feed)  # ensure_ascii: the NUL and the lone surrogate travel as \u escapes
    url = feed_server.serve("/feed.json", body, content_type="application/json")
    source_id = add_feed_source(catalog, url, kind="backstage-json")

    result = _import(capsys, source_id)

    assert result["status"] == "partial", json.dumps(result)[:3000]
    items = _by_id(result)
    assert items["tags"]["outcome"] == "failed"
    assert items["tags"]["reason"] == "tags has 5,000 entries; the limit is 500"
    assert items["nul"]["outcome"] == "created" and "NUL" in items["nul"]["reason"]
    assert items["surrogate"]["outcome"] == "created"
    # The failed item is reported under its id without the NUL: the result must be storable too.
    assert items["nulid"]["outcome"] == "failed"
    assert "external_id holds characters no catalog can store" in items["nulid"]["reason"]
    assert result["counts"] == {
        "created": 6,
        "updated": 0,
        "unchanged": 0,
        "skipped": 0,
        "failed": 2,
        "unpublished": 0,
        "deleted": 0,
    }
    assets = _assets(catalog)
    assert assets["good"]["duration"] == 60
    assert assets["big-duration"]["duration"] is None
    assert assets["huge-season"]["season"] is None and assets["huge-season"]["episode"] is None
    assert assets["nul"]["title"] == "Badtitle" and assets["nul"]["tags"] == ["ab"]
    assert assets["surrogate"]["title"] == "Half  pair"
    assert len(assets["custom"]["custom"]["note"]) == 2_000


def test_a_write_the_catalog_refuses_fails_that_item_alone(
    feed_server: FeedServer, catalog: Catalog, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The boundary is taken away (this test's only stand-in) so that a value neither backend can store reaches
    # the write: 2**63 overflows SQLite's 64-bit integers and PostgreSQL's 32-bit ones alike.
    monkeypatch.setattr(importing, "bound_asset", lambda asset: [])
    feed = rss(
        *(item(f"ok-{n}") for n in range(5)),
        item("overflow").replace('duration="120"', f'duration="{2**63}"'),
        *(item(f"ok-{n}") for n in range(5, 10)),
    )
    source_id = add_feed_source(catalog, feed_server.serve("/feed.xml", feed))

    result = _import(capsys, source_id)

    assert result["status"] == "partial"
    assert result["counts"]["created"] == 10 and result["counts"]["failed"] == 1
    refused = _by_id(result)["overflow"]
    assert refused["outcome"] == "failed" and refused["asset_id"] is None
    assert refused["reason"].startswith("the catalog refused the item: ")
    assert set(_assets(catalog)) == {f"ok-{n}" for n in range(10)}
    shown = run_cli(capsys, "results", "show", result["id"], "--json").json()
    assert shown["counts"]["failed"] == 1 and _by_id(shown)["overflow"]["outcome"] == "failed"
