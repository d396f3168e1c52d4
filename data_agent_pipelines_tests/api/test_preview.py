"""`POST …/imports?dry_run=true`: the plan of an import, answered at once, over a real feed host on loopback."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from data_agent_pipelines import preview
from data_agent_pipelines.api import create_app
from data_agent_pipelines.catalog.api_keys import ApiKeys
from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.settings import Settings, load_settings

from ..conftest import add_feed_source
from ..feedserver import FeedServer
from .conftest import Tenant

FEED = (Path(__file__).parents[1] / "fixtures" / "mrss" / "editions.xml").read_bytes()


def _tenant(catalog: Catalog, settings: Settings) -> Iterator[Tenant]:
    _, key = ApiKeys(catalog).add("acme")
    app = create_app(settings, catalog=catalog)
    with TestClient(app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {key}"}) as client:
        yield Tenant("acme", "", client)


@pytest.fixture
def loopback_allowed(feed_server: FeedServer, catalog: Catalog) -> Iterator[Tenant]:
    """The API with loopback allowed, as DATA_AGENT_ALLOW_HOSTS says while the feed host runs."""
    catalog.add_service("acme")
    yield from _tenant(catalog, load_settings())


def test_a_dry_run_answers_with_the_plan_and_applies_nothing(
    feed_server: FeedServer, catalog: Catalog, loopback_allowed: Tenant
) -> None:
    acme = loopback_allowed
    source_id = add_feed_source(catalog, feed_server.serve("/feed.xml", FEED))
    planned = acme.client.post(acme.url(f"/sources/{source_id}/imports"), params={"dry_run": "true", "limit": 2})
    assert planned.status_code == 200, planned.text
    plan = planned.json()
    assert plan["dry_run"] is True and plan["status"] == "succeeded" and plan["run_id"] is None
    created = plan["counts"]["created"]
    assert created > 2 and plan["items_total"] == created and len(plan["items"]) == 2
    assert {item["outcome"] for item in plan["items"]} == {"created"}
    assert catalog.count_assets(source_id) == 0  # nothing applied
    source = catalog.get_source(source_id)
    assert source.last_run_at is None and source.content_digest is None  # nor the source's bookkeeping
    # The whole plan is a recorded result, read page by page.
    rest = acme.client.get(acme.url(f"/results/{plan['id']}"), params={"offset": 2}).json()
    assert len(rest["items"]) == created - 2
    assert [r["id"] for r in acme.client.get(acme.url(f"/sources/{source_id}/imports")).json()["items"]] == [plan["id"]]


def test_a_dry_run_keeps_the_fetch_rules(feed_server: FeedServer, catalog: Catalog, settings: Settings) -> None:
    catalog.add_service("acme")
    # The source was accepted while loopback was allowed; the API's settings (the environment's) do not allow it.
    source_id = add_feed_source(catalog, feed_server.serve("/feed.xml", FEED))
    for acme in _tenant(catalog, settings):
        refused = acme.client.post(acme.url(f"/sources/{source_id}/imports"), params={"dry_run": "true"})
        assert refused.status_code == 200, refused.text
        assert refused.json()["status"] == "failed" and "127.0.0.1" in refused.json()["error"]
        assert feed_server.requests == []  # refused before any connection


def test_a_preview_is_bounded_in_time_and_in_number(
    feed_server: FeedServer, catalog: Catalog, loopback_allowed: Tenant
) -> None:
    acme = loopback_allowed
    source_id = add_feed_source(catalog, feed_server.serve("/feed.xml", FEED))
    readings = iter([0.0, 1.0, 61.0])  # start, before normalise, before reconcile: past the 60 s budget

    with pytest.raises(preview.PreviewTooLong, match="took longer than 60 s"):
        preview.preview_import(catalog, load_settings(), source_id, monotonic=lambda: next(readings))
    assert next(readings, None) is None  # stopped before reconcile
    assert catalog.list_results(source_id=source_id) == []  # an overrun records nothing
    assert list((load_settings().work_dir).iterdir()) == []  # and leaves no scratch files

    for _ in range(preview.MAX_CONCURRENT_PREVIEWS):
        assert preview._slots.acquire(blocking=False)
    try:
        busy = acme.client.post(acme.url(f"/sources/{source_id}/imports"), params={"dry_run": "true"})
    finally:
        for _ in range(preview.MAX_CONCURRENT_PREVIEWS):
            preview._slots.release()
    assert busy.status_code == 429 and busy.headers["retry-after"] == "30"
    assert f"data-agent import {source_id} --dry-run" in busy.json()["detail"]
    again = acme.client.post(acme.url(f"/sources/{source_id}/imports"), params={"dry_run": "true"})
    assert again.status_code == 200


def test_another_services_source_cannot_be_previewed(
    feed_server: FeedServer, catalog: Catalog, loopback_allowed: Tenant
) -> None:
    acme = loopback_allowed
    theirs = add_feed_source(catalog, feed_server.serve("/feed.xml", FEED), service="globex")
    answer = acme.client.post(acme.url(f"/sources/{theirs}/imports"), params={"dry_run": "true"})
    assert answer.status_code == 404 and feed_server.requests == []


def test_an_origin_that_never_answers_ends_the_preview_at_its_deadline(
    feed_server: FeedServer, catalog: Catalog, loopback_allowed: Tenant
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts connections (backlog), never answers
        source_id = add_feed_source(catalog, f"http://127.0.0.1:{silent.getsockname()[1]}/feed.xml")
        began = time.monotonic()
        result = preview.preview_import(catalog, load_settings(), source_id, budget_seconds=1)
        elapsed = time.monotonic() - began
    assert result.status == "failed" and result.dry_run
    assert "1 s" in result.error, result.error
    assert elapsed < 30  # the source's own deadline is 300 s
