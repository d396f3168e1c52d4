"""Asset lists page by keyset: every asset exactly once however the pages fall, a byte bound per page, bad
cursors refused, an index behind each page. Through the API and the CLI, on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from data_agent_pipelines.api.routes.assets import MAX_PAGE_BYTES
from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.model import Asset, AssetWrite, encode_asset

from ..clirunner import run_cli
from .conftest import Tenant, new_source


def _seed(catalog: Catalog, source_id: str, batches: list[int], clock, *, description: str | None = None) -> list[str]:
    """Write assets in batches that share their created_at (as an import's do); return ids newest first."""
    source = catalog.get_source(source_id)
    expected: list[str] = []
    number = 0
    for size in batches:
        clock.advance(seconds=1)
        writes = []
        for _ in range(size):
            asset = Asset(f"e{number:05}", title=f"T{number}", description=description)
            encoded = encode_asset(asset)
            writes.append(AssetWrite(f"ast_{source_id[-4:]}_{number:05}", asset.external_id, encoded.columns, ""))
            number += 1
        catalog.write_assets(source, writes, imported_at=clock())
        expected = sorted(w.asset_id for w in writes) + expected
    return expected


def _all_pages(tenant: Tenant, **params) -> tuple[list[str], int]:
    ids: list[str] = []
    pages = 0
    cursor = None
    while True:
        response = tenant.client.get(tenant.url("/assets"), params={**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        page = response.json()
        ids += [asset["id"] for asset in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return ids, pages


def test_pages_list_every_asset_once_across_ties_and_filters(acme: Tenant, catalog: Catalog, clock) -> None:
    one, two = new_source(acme, "One"), new_source(acme, "Two")
    expected_one = _seed(catalog, one["id"], [70, 1, 45, 30], clock)
    expected_two = _seed(catalog, two["id"], [25], clock)
    for limit in (1, 7, 45, 1000):
        ids, pages = _all_pages(acme, source_id=one["id"], limit=limit)
        assert ids == expected_one, limit
        assert pages == max(1, -(-len(expected_one) // limit)), limit
    everything, _ = _all_pages(acme, limit=33)
    assert sorted(everything) == sorted(expected_one + expected_two) and len(set(everything)) == len(everything)


def test_a_bad_cursor_or_one_of_other_filters_is_refused(acme: Tenant, catalog: Catalog, clock) -> None:
    one = new_source(acme, "One")
    _seed(catalog, one["id"], [10], clock)
    cursor = acme.client.get(acme.url("/assets"), params={"limit": 3}).json()["next_cursor"]
    for params in (
        {"cursor": "not-a-cursor"},
        {"cursor": cursor[:-4]},
        {"cursor": "eyJjIjoxLCJpIjoyLCJxIjozfQ"},  # well-formed JSON of the wrong types
        {"cursor": cursor, "source_id": one["id"]},  # a cursor of another query
        {"cursor": "x" * 301},
    ):
        response = acme.client.get(acme.url("/assets"), params=params)
        assert response.status_code in (400, 422), (params, response.text)
        assert set(response.json()) == {"error", "detail"} and "cursor" in response.json()["detail"]


def test_a_page_stops_at_its_byte_bound(acme: Tenant, catalog: Catalog, clock) -> None:
    one = new_source(acme, "One")
    description = "d" * 20_000  # the limit of the model: 250 such assets are some 5 MB of JSON
    expected = _seed(catalog, one["id"], [150, 100], clock, description=description)
    response = acme.client.get(acme.url("/assets"), params={"limit": 1000})
    page = response.json()
    assert MAX_PAGE_BYTES < len(response.content) < MAX_PAGE_BYTES + 30_000
    assert 0 < len(page["items"]) < len(expected) and page["next_cursor"]
    ids, pages = _all_pages(acme, limit=1000)
    assert ids == expected and pages == 2


def test_the_cli_pages_with_a_cursor_printed_after_the_page(
    acme: Tenant, catalog: Catalog, clock, capsys: pytest.CaptureFixture[str]
) -> None:
    one = new_source(acme, "One")
    expected = _seed(catalog, one["id"], [5, 4], clock)
    first = run_cli(capsys, "assets", "list", "--service", "acme", "--limit", "4", "--json")
    assert first.code == 0 and [a["id"] for a in first.json()] == expected[:4]
    hint = first.err.strip()
    assert hint.startswith("more assets follow: add --cursor ")
    second = run_cli(capsys, "assets", "list", "--service", "acme", "--limit", "4", "--json", *hint.split()[-2:])
    assert [a["id"] for a in second.json()] == expected[4:8]
    refused = run_cli(capsys, "assets", "list", "--service", "acme", "--cursor", "garbage")
    assert refused.code == 2 and "invalid cursor" in refused.err
    last = run_cli(capsys, "assets", "list", "--service", "acme", "--limit", "100")
    assert last.code == 0 and last.err == ""


def test_an_index_serves_both_seeks_of_a_page(acme: Tenant, catalog: Catalog, clock) -> None:
    one = new_source(acme, "One")
    _seed(catalog, one["id"], [50], clock)
    at = clock().replace(tzinfo=None).isoformat(sep=" ")
    queries = {
        "ix_assets_service_created": "SELECT id FROM assets WHERE service = 'acme' AND created_at < :at"
        " ORDER BY created_at DESC, id LIMIT 100",
        "ix_assets_source_created": f"SELECT id FROM assets WHERE source_id = '{one['id']}' AND created_at = :at"
        " AND id > 'ast' ORDER BY id LIMIT 100",
    }
    with catalog.engine.connect() as conn:
        for index, sql in queries.items():
            if conn.dialect.name == "sqlite":
                plan = " ".join(str(row[-1]) for row in conn.execute(text("EXPLAIN QUERY PLAN " + sql), {"at": at}))
            else:
                conn.execute(text("SET enable_seqscan = off"))  # a 50-row table is cheaper to scan than to seek
                plan = " ".join(row[0] for row in conn.execute(text("EXPLAIN " + sql), {"at": at}))
            assert index in plan, plan
            assert "TEMP B-TREE" not in plan and "Sort" not in plan.split("Index")[0], plan
