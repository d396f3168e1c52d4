"""Property-based tests: the Media RSS parser never crashes, and imports are idempotent and keep promised edits.

The parser property runs on the pure parser (thousands of documents a second). The reconcile properties run
through the real import (the Dagster job, the catalog on SQLite, a feed server on 127.0.0.1), with few examples
each: each example is a few real imports.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.connectors.mrss.feed import parse_feed
from data_agent_pipelines.errors import DocumentError
from data_agent_pipelines.launcher import run_import
from data_agent_pipelines.model import Asset, ItemFailure
from data_agent_pipelines.orchestration.instance import open_instance
from data_agent_pipelines.source_settings import SourceChanges, add_source

from ..feeds import item, rss
from .environment import environment
from .servers import HostileServer, document

# --- the parser: arbitrary documents import or fail with a reason --------------------------------------------------

_FRAGMENTS = [
    "<item>",
    "</item>",
    "<guid>",
    "</guid>",
    "<title>",
    "</title>",
    "<media:content url='https://cdn.example.com/v.m3u8' duration='x'/>",
    "<media:group>",
    "</media:group>",
    "<media:restriction relationship='deny' type='country'>",
    "</media:restriction>",
    "<media:rating scheme='urn:mpaa'>",
    "<enclosure url='https://e.example.com/a.mp3' length='-1' type='audio/mpeg'/>",
    "<pubDate>",
    "</pubDate>",
    "<dcterms:valid>start=2020-01-01; end=",
    "<itunes:episode>",
    "<![CDATA[",
    "]]>",
    "&amp;",
    "&",
    "&#0;",
    "&#x110000;",
    "<!-- c -->",
    "<?pi x?>",
    "<!DOCTYPE rss>",
    "<!ENTITY x 'y'>",
    "\x00",
    "\ufeff",
    "é",
    "\U0001f600",
    "</channel></rss>",
]
_HEAD = '<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/" xmlns:itunes="x" xmlns:dcterms="y"><channel>'

documents = st.one_of(
    st.binary(max_size=2000),
    st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=20)), max_size=60).map(
        lambda parts: _HEAD + "".join(parts)
    ),
    st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=20)), max_size=60).map("".join),
)
encodings = st.sampled_from(["utf-8", "utf-16", "latin-1", "utf-7"])
content_types = st.sampled_from([None, "application/rss+xml", "text/xml; charset=utf-16", "text/html; charset=x"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=documents, encoding=encodings, content_type=content_types)
def test_arbitrary_documents_import_or_fail_with_a_reason(
    document: str | bytes, encoding: str, content_type: str | None
) -> None:
    data = document if isinstance(document, bytes) else document.encode(encoding, "replace")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "document"
        path.write_bytes(data)
        try:
            parse = parse_feed(path, content_type=content_type)
            found = list(parse)
        except DocumentError as exc:
            assert str(exc).strip(), "a refused document must say why"
            return
    for outcome in found:
        assert isinstance(outcome, Asset | ItemFailure)
        if isinstance(outcome, ItemFailure):
            assert outcome.reason
        else:
            assert outcome.external_id
    assert parse.parser in ("lxml", "feedparser", "lxml+feedparser")
    assert isinstance(parse.complete, bool)


# --- reconcile through the real import ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def feed_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Catalog, HostileServer]]:
    folder = tmp_path_factory.mktemp("properties")
    with (
        environment("sqlite", folder, DATA_AGENT_ALLOW_HOSTS="127.0.0.1") as (settings_, _patch),
        HostileServer().running() as server,
    ):
        catalog = Catalog.open(settings_)
        catalog.add_service("acme")
        yield settings_, catalog, server
        catalog.close()


_counter = itertools.count()
words = st.text(alphabet="abcdefghij klmnop", min_size=1, max_size=12).map(str.strip).filter(bool)
feeds = st.dictionaries(st.sampled_from([f"id-{n}" for n in range(8)]), words, min_size=1, max_size=6)


def _import(env: tuple[Any, Catalog, HostileServer], source_id: str) -> dict[str, Any]:
    settings_, catalog, _server = env
    instance = open_instance(settings_)
    try:
        return catalog.get_result(run_import(catalog, instance, source_id).result.id).to_json()
    finally:
        instance.dispose()


def _serve(server: HostileServer, path: str, titles: dict[str, str]) -> None:
    # No ETag: every import fetches the whole document again.
    server.route(path, document(rss(*(item(guid, title) for guid, title in sorted(titles.items())))))


def _assets(catalog: Catalog, source_id: str) -> dict[str, dict[str, Any]]:
    return {a["external_id"]: a for a in catalog.list_assets("acme", source_id=source_id, limit=1000)}


# Each example is real imports: no shrinking (it would run dozens more); a failure prints its example as is.
SLOW = {"deadline": None, "suppress_health_check": list(HealthCheck), "phases": [Phase.explicit, Phase.generate]}


@settings(max_examples=4, **SLOW)
@given(titles=feeds, policy=st.sampled_from(["importer", "create-only", "update-unless-edited"]))
def test_importing_the_same_items_twice_changes_nothing_the_second_time(
    feed_env: tuple[Any, Catalog, HostileServer], titles: dict[str, str], policy: str
) -> None:
    _settings, catalog, server = feed_env
    path = f"/same-{next(_counter)}.xml"
    _serve(server, path, titles)
    source = add_source(
        catalog, "acme", SourceChanges(name=path[1:-4], kind="mrss", url=server.url(path), truth=policy)
    )
    first = _import(feed_env, source.id)
    assert first["counts"]["created"] == len(titles)
    before = _assets(catalog, source.id)
    # Same items, a different document (the digest shortcut must not be what makes it "unchanged").
    server.route(path, document(rss(*(item(g, t) for g, t in sorted(titles.items()))) + "\n<!-- again -->"))
    second = _import(feed_env, source.id)
    assert second["status"] == "succeeded", second["error"]
    assert {outcome["outcome"] for outcome in second["items"]} <= {"unchanged", "skipped"}
    assert not second["counts"]["created"] and not second["counts"]["updated"]
    assert _assets(catalog, source.id) == before


@settings(max_examples=6, **SLOW)
@given(
    titles=feeds,
    policy=st.sampled_from(["create-only", "update-unless-edited"]),
    cms_title=words,
    origin_suffix=words,
    edit_description=st.booleans(),
)
def test_the_policies_never_lose_a_cms_edit_they_promise_to_keep(
    feed_env: tuple[Any, Catalog, HostileServer],
    titles: dict[str, str],
    policy: str,
    cms_title: str,
    origin_suffix: str,
    edit_description: bool,
) -> None:
    """create-only keeps the whole asset; update-unless-edited keeps the edited fields and follows the origin on
    the rest, even when the origin changed the edited field too (the three-way merge)."""
    _settings, catalog, server = feed_env
    path = f"/edit-{next(_counter)}.xml"
    _serve(server, path, titles)
    source = add_source(
        catalog, "acme", SourceChanges(name=path[1:-4], kind="mrss", url=server.url(path), truth=policy)
    )
    _import(feed_env, source.id)
    edited_id = sorted(titles)[0]
    asset = _assets(catalog, source.id)[edited_id]
    edit: dict[str, Any] = {"title": f"CMS {cms_title}"}
    if edit_description:
        edit["description"] = "CMS description"
    catalog.edit_asset(asset["id"], edit)
    edited = catalog.get_asset(asset["id"])
    # The origin changes every title (and, through it, the description), the edited item's included.
    changed = {guid: f"{title} {origin_suffix} v2" for guid, title in titles.items()}
    _serve(server, path, changed)
    result = _import(feed_env, source.id)
    assert result["status"] in ("succeeded", "partial"), result["error"]
    after = _assets(catalog, source.id)
    if policy == "create-only":
        assert after[edited_id] == edited
        assert all(after[guid]["title"] == titles[guid] for guid in titles if guid != edited_id)
        return
    kept = after[edited_id]
    for name, value in edit.items():
        assert kept[name] == value, f"the CMS edit of {name} was lost"
    if not edit_description:
        assert kept["description"] == f"About {changed[edited_id]}"
    for guid in titles:
        if guid != edited_id:
            assert after[guid]["title"] == changed[guid]
    outcome = next(i for i in result["items"] if i["external_id"] == edited_id)
    assert set(edit) <= set(outcome["kept_fields"])
