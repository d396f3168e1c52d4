"""Asset list pages: the first page against a deep one, keyset (what the API and CLI do) against OFFSET.

Seeds a throwaway catalog with one service and one source holding N assets (default 100,000), written in
batches of 2,000 that share their created_at as an import's do, then times `Catalog.list_assets_page` for the
first page and for a page at 99% depth, limit 100 and 1,000, by the service and by the source; and, as the
baseline this replaced, the same deep page read with OFFSET. Prints the median of each and the deep/first ratio.
It asserts nothing.

    python benchmarks/asset_list_bench.py [--assets 100000] [--repeat 15] [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, text

from data_agent_pipelines.catalog.assets import asset_row_to_json
from data_agent_pipelines.catalog.cursor import AssetQuery
from data_agent_pipelines.catalog.schema import assets
from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.model import Asset, AssetWrite, Edition, Image, Stream, encode_asset
from data_agent_pipelines.settings import load_settings
from data_agent_pipelines.source_settings import SourceChanges, add_source

BATCH = 2000


def seed(catalog: Catalog, count: int) -> str:
    catalog.add_service("bench")
    source = add_source(
        catalog, "bench", SourceChanges(name="feed", kind="mrss", url="https://feeds.example.com/a.xml")
    )
    at = datetime(2026, 1, 1, tzinfo=UTC)
    for start in range(0, count, BATCH):
        writes = []
        for n in range(start, min(start + BATCH, count)):
            asset = Asset(
                f"item-{n:07}",
                title=f"Episode {n}",
                description="A description of a realistic length. " * 8,
                duration=1200 + n % 600,
                tags=["news", "sport"],
                images=[Image(f"https://img.example.com/{n}.jpg", width=640, height=360)],
                editions=[Edition("full", [Stream(f"https://cdn.example.com/{n}/master.m3u8", "hls", default=True)])],
            )
            encoded = encode_asset(asset)
            writes.append(AssetWrite(f"ast_{n:07}", asset.external_id, encoded.columns, encoded.content_hash))
        at += timedelta(minutes=1)
        catalog.write_assets(source, writes, imported_at=at)
    return source.id


def median_ms(call: Callable[[], object], repeat: int) -> float:
    call()  # warm caches and the statement cache
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def deep_cursor(catalog: Catalog, query: AssetQuery, position: int) -> str:
    base = select(assets).where(assets.c.service == query.service)
    if query.source_id:
        base = base.where(assets.c.source_id == query.source_id)
    with catalog.engine.connect() as conn:
        row = conn.execute(base.order_by(assets.c.created_at.desc(), assets.c.id).offset(position - 1).limit(1)).one()
    return query.cursor_after(asset_row_to_json(row))


def offset_page(catalog: Catalog, query: AssetQuery, limit: int, offset: int) -> None:
    base = select(assets).where(assets.c.service == query.service)
    if query.source_id:
        base = base.where(assets.c.source_id == query.source_id)
    with catalog.engine.connect() as conn:
        rows = conn.execute(base.order_by(assets.c.created_at.desc(), assets.c.id).limit(limit).offset(offset))
        [asset_row_to_json(row) for row in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--database-url", help="A PostgreSQL URL (an empty database); default: a fresh SQLite file")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="asset-list-bench-"))
    os.environ.update(DATA_AGENT_HOME=str(home), DAGSTER_HOME=str(home / "dagster"))
    if args.database_url:
        os.environ["DATA_AGENT_DATABASE_URL"] = args.database_url
    else:
        os.environ.pop("DATA_AGENT_DATABASE_URL", None)
    catalog = Catalog.open(load_settings())
    if args.database_url:
        with catalog.engine.begin() as conn:
            conn.execute(text("DELETE FROM assets WHERE service = 'bench'"))
            conn.execute(text("DELETE FROM sources WHERE service = 'bench'"))
            conn.execute(text("DELETE FROM services WHERE name = 'bench'"))
    started = time.perf_counter()
    source_id = seed(catalog, args.assets)
    print(f"{catalog.engine.dialect.name}: seeded {args.assets:,} assets in {time.perf_counter() - started:.1f} s")
    with catalog.engine.begin() as conn:
        conn.execute(text("ANALYZE assets"))  # what autovacuum (or SQLite's optimize) does after a large import
    depth = args.assets * 99 // 100
    print(f"{'list':<10} {'limit':>5} {'first ms':>9} {'deep ms':>9} {'ratio':>6} {'OFFSET deep ms':>15} {'ratio':>6}")
    for name, query in (("service", AssetQuery("bench")), ("source", AssetQuery("bench", source_id))):
        cursor = deep_cursor(catalog, query, depth)
        for limit in (100, 1000):
            first = median_ms(lambda q=query, n=limit: catalog.list_assets_page(q, limit=n), args.repeat)
            deep = median_ms(
                lambda q=query, n=limit, c=cursor: catalog.list_assets_page(q, limit=n, cursor=c), args.repeat
            )
            by_offset = median_ms(lambda q=query, n=limit: offset_page(catalog, q, n, depth), args.repeat)
            print(
                f"{name:<10} {limit:>5} {first:>9.1f} {deep:>9.1f} {deep / first:>6.2f}"
                f" {by_offset:>15.1f} {by_offset / first:>6.2f}"
            )
    if args.database_url:
        with catalog.engine.begin() as conn:
            conn.execute(text("DELETE FROM assets WHERE service = 'bench'"))
            conn.execute(text("DELETE FROM sources WHERE service = 'bench'"))
            conn.execute(text("DELETE FROM services WHERE name = 'bench'"))
    catalog.close()


if __name__ == "__main__":
    main()
