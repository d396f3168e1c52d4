"""The bulk writes of an import (catalog/bulk.py): a batch stores exactly what the same rows written one at a time
store, and refuses exactly the rows they refuse, with the same reasons, on SQLite and PostgreSQL (where a batch is
copied in and a single row goes as a VALUES statement)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select

from data_agent_pipelines.catalog.schema import assets, import_result_items
from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.model import Asset, AssetWrite, Credit, Edition, Image, ItemOutcome, Outcome, Stream
from data_agent_pipelines.model.item_runs import PlainRun

from ..conftest import add_feed_source
from .test_catalog import asset_write, full_asset
from .test_result_runs import mixed_items, record

AWKWARD_TEXTS = [
    "tab\there",
    "line\nbreak\r\nand carriage\rreturn",
    "back\\slash \\N \\. \\t",
    "\\N",
    "\\.",
    "",
    "quote \" and ' and , and ;",
    "Ünïcode «» \u2028 \U0001f3ac",
    "x" * 5000,
]


def awkward_assets() -> list[Asset]:
    out = [full_asset("full")]
    for n, text in enumerate(AWKWARD_TEXTS):
        out.append(
            Asset(
                f"awkward-{n}-{text[:8]}",
                title=text,
                description=None if n % 2 else text,
                duration=n,
                release_date=date(2024, 2, 29) if n % 3 == 0 else None,
                published_at=datetime(2024, 3, 1, 10, 30, n, 123456, tzinfo=UTC),
                images=[Image(f"https://img.example.com/{n}.jpg?q={text[:20]}", "still")],
                tags=[text, "plain"],
                credits=[Credit(text or "nobody", "director")],
                editions=[Edition("full", streams=[Stream(f"https://cdn.example.com/{n}.m3u8", "hls")])],
                custom={"note": text, "nested": {"k\t": [text, 1, None, True]}},
            )
        )
    return out


def stored(catalog: Catalog, source_id: str) -> dict[str, dict[str, Any]]:
    """The rows of a source's assets by external id, without what differs between sources."""
    with catalog.database.read() as conn:
        rows = conn.execute(select(assets).where(assets.c.source_id == source_id)).all()
    return {row.external_id: {k: v for k, v in row._mapping.items() if k not in ("id", "source_id")} for row in rows}


def test_a_batch_stores_what_rows_written_one_at_a_time_store(catalog: Catalog) -> None:
    batch_source = catalog.get_source(add_feed_source(catalog, "https://feeds.example.com/a.xml", name="a"))
    single_source = catalog.get_source(add_feed_source(catalog, "https://feeds.example.com/b.xml", name="b"))
    writes = [asset_write(asset, f"ast_{n}") for n, asset in enumerate(awkward_assets())]
    edited = writes[1]
    writes[1] = AssetWrite(
        edited.asset_id,
        edited.external_id,
        edited.columns,
        edited.content_hash,
        edited.field_hashes,
        edited_fields=["title", "tags"],
        status="unpublished",
        origin_digest="d" * 32,
    )
    at = catalog.clock()

    assert catalog.write_assets(batch_source, writes, imported_at=at) == {}
    for write in writes:
        single = AssetWrite(**{**vars(write), "asset_id": "s" + write.asset_id})
        assert catalog.write_assets(single_source, [single], imported_at=at) == {}

    batch = stored(catalog, batch_source.id)
    assert batch == stored(catalog, single_source.id)
    assert len(batch) == len(writes)
    for n, asset in enumerate(awkward_assets()):
        shown = catalog.get_asset(f"ast_{n}")
        assert (shown["title"], shown["custom"]) == (asset.title, asset.custom)
    assert catalog.get_asset("ast_1")["edited_fields"] == ["title", "tags"]

    # Written again as a batch, the rows are updated in place, as single writes update them.
    at = catalog.clock()
    assert catalog.write_assets(batch_source, writes, imported_at=at, planned_at=at) == {}
    assert stored(catalog, batch_source.id) == batch


@pytest.mark.parametrize("bad", [(0, 1, 2), (0,), (1,), (2,), (0, 2)])
def test_a_row_the_catalog_refuses_fails_alone_with_the_reason_it_has_alone(
    catalog: Catalog, bad: tuple[int, ...]
) -> None:
    batch_source = catalog.get_source(add_feed_source(catalog, "https://feeds.example.com/a.xml", name="a"))
    single_source = catalog.get_source(add_feed_source(catalog, "https://feeds.example.com/b.xml", name="b"))
    good = [asset_write(Asset(f"ok-{n}", title=f"t{n}"), f"ast_ok{n}") for n in range(4)]
    hostile = []
    for n, (name, value) in enumerate((("duration", 2**63), ("title", "nul\x00inside"), ("title", "half \ud800 pair"))):
        if n in bad:
            write = asset_write(Asset(f"bad-{n}", title="bad"), f"ast_bad{n}")
            hostile.append(AssetWrite(**{**vars(write), "columns": {**write.columns, name: value}}))
    writes = [good[0], *hostile[:1], good[1], good[2], *hostile[1:], good[3]]
    at = catalog.clock()

    refused_in_batch = catalog.write_assets(batch_source, writes, imported_at=at)
    refused_alone: dict[str, str] = {}
    for write in writes:
        single = AssetWrite(**{**vars(write), "asset_id": "s" + write.asset_id})
        refused_alone.update(catalog.write_assets(single_source, [single], imported_at=at))

    assert refused_in_batch == refused_alone
    assert set(refused_alone) <= {write.external_id for write in hostile}
    assert {"bad-0", "bad-2"} & {f"bad-{n}" for n in bad} <= set(refused_alone)  # both backends refuse these
    assert stored(catalog, batch_source.id) == stored(catalog, single_source.id)
    assert {f"ok-{n}" for n in range(4)} <= set(stored(catalog, batch_source.id))


def test_result_items_with_awkward_text_read_back_as_recorded(catalog: Catalog) -> None:
    source_id = add_feed_source(catalog, "https://feeds.example.com/a.xml")
    items = [
        ItemOutcome(Outcome.FAILED, text or None, reason=text, errors=[text, "e"], data={"raw": text, "n": [1, None]})
        for text in AWKWARD_TEXTS
    ]
    items += [ItemOutcome(Outcome.CREATED, f"{text}-{n}", f"ast_{n}") for n, text in enumerate(AWKWARD_TEXTS)]
    items.append(
        ItemOutcome(Outcome.UPDATED, "u", "ast_u", reason="changed", data={"title": {"from": "a\tb", "to": None}})
    )
    result_id = record(catalog, source_id, items)
    assert catalog.get_result(result_id).items == items


def _as_runs(items: list[ItemOutcome], size: int) -> list[ItemOutcome | PlainRun]:
    """Consecutive plain items of one outcome grouped into PlainRuns of at most `size` (what an import records)."""
    out: list[ItemOutcome | PlainRun] = []
    for item in items:
        plain = not (item.reason or item.errors or item.kept_fields or item.data)
        last = out[-1] if out else None
        if plain and isinstance(last, PlainRun) and last.outcome == item.outcome and len(last.members) < size:
            last.members.append((item.external_id, item.asset_id))
        elif plain:
            out.append(PlainRun(item.outcome, [(item.external_id, item.asset_id)]))
        else:
            out.append(item)
    return out


def test_items_recorded_as_runs_store_the_rows_of_items_recorded_one_by_one(catalog: Catalog) -> None:
    source_id = add_feed_source(catalog, "https://feeds.example.com/a.xml")
    items = mixed_items()
    one_by_one = record(catalog, source_id, items)
    columns = [c for c in import_result_items.columns if c.name != "result_id"]

    def rows(result_id: str) -> list[tuple[Any, ...]]:
        query = select(*columns).where(import_result_items.c.result_id == result_id).order_by("position")
        with catalog.database.read() as conn:
            return [tuple(row) for row in conn.execute(query)]

    for size in (1, 2, 7, 999, 1000, 5000):
        as_runs = record(catalog, source_id, _as_runs(items, size))  # type: ignore[arg-type]
        assert rows(as_runs) == rows(one_by_one), size
        assert catalog.get_result(as_runs).items == items
