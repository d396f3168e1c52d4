"""`data-agent assets` and `streams`: the catalog's assets, edits made in the CMS, playable links."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click

from ..catalog.cursor import AssetQuery
from ..errors import InvalidInput
from ..model import ASSET_FIELDS
from ..signing import MAX_TTL_SECONDS
from ..user_input import parse_pairs
from .app import Context, as_pairs, cli, command, emit, table

_TEXT_FIELDS = {"type", "title", "description", "short_description", "series", "release_date", "published_at"}


@cli.group()
def assets() -> None:
    """Assets in the catalog."""


@command(assets, "list")
@click.option("--service", required=True)
@click.option("--source", "source_id", help="Only the assets of this source.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option("--cursor", help="Where the last page ended (printed after it): the next page starts there.")
def assets_list(ctx: Context, service: str, source_id: str | None, limit: int, cursor: str | None) -> None:
    """List a service's assets, newest first, a page at a time."""
    query = AssetQuery(service, source_id)
    rows, more = ctx.catalog.list_assets_page(query, limit=limit, cursor=cursor)
    columns = ["id", "type", "external_id", "title", "status", "updated_at"]
    emit(ctx, rows, lambda r: table(r, columns, "no assets"))
    if more and rows:
        # On stderr: stdout stays the page itself (a JSON list with --json).
        click.echo(f"more assets follow: add --cursor {query.cursor_after(rows[-1])}", err=True)


@command(assets, "show")
@click.argument("asset_id")
def assets_show(ctx: Context, asset_id: str) -> None:
    """Show an asset in the asset model's JSON form."""
    emit(ctx, ctx.catalog.get_asset(asset_id), asset_text)


def parse_field_values(pairs: Sequence[str]) -> dict[str, Any]:
    """`--set FIELD=VALUE` values: text for text fields, JSON otherwise (tags and genres may be comma-separated)."""
    changes: dict[str, Any] = {}
    for name, raw in parse_pairs(pairs, "--set").items():
        if name not in ASSET_FIELDS:
            raise InvalidInput(f"unknown asset field {name!r}: editable fields are {', '.join(ASSET_FIELDS)}")
        if name in _TEXT_FIELDS:
            changes[name] = raw or None
            continue
        try:
            changes[name] = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            if name not in ("tags", "genres"):
                raise InvalidInput(f"--set {name}=… expects JSON, like {_example(name)}") from None
            changes[name] = [part.strip() for part in raw.split(",") if part.strip()]
    if not changes:
        raise InvalidInput("nothing to edit: give at least one --set FIELD=VALUE")
    return changes


def _example(name: str) -> str:
    examples = {
        "duration": "120",
        "images": '[{"url": "https://…/p.jpg", "role": "poster"}]',
        "geoblock": '{"allow": ["US", "CA"]}',
        "availability": '{"start": "2026-01-01T00:00:00Z", "end": null}',
        "custom": '{"key": "value"}',
    }
    return examples.get(name, "[...]")


@command(assets, "edit")
@click.argument("asset_id")
@click.option("--set", "values", multiple=True, required=True, help="FIELD=VALUE, repeatable.")
def assets_edit(ctx: Context, asset_id: str, values: tuple[str, ...]) -> None:
    """Edit an asset as the CMS would: the fields change and are recorded in `edited_fields`."""
    emit(ctx, ctx.catalog.edit_asset(asset_id, parse_field_values(values)), asset_text)


@command(cli, "streams")
@click.argument("asset_id")
@click.option(
    "--ttl", type=click.IntRange(1, MAX_TTL_SECONDS), help="Link lifetime in seconds (default: the source's)."
)
def streams(ctx: Context, asset_id: str, ttl: int | None) -> None:
    """Print an asset's editions with playable URLs, signed when its source says so."""
    from ..signing import playback

    asset, source = ctx.catalog.asset_with_source(asset_id)
    emit(ctx, playback(asset, source, now=ctx.catalog.clock(), ttl=ttl), _playback_text)


def _playback_text(result: dict[str, Any]) -> str:
    signing = f"signed ({result['scheme']}) until {result['expires_at']}" if result["signed"] else "not signed"
    lines = [f"asset {result['asset_id']}: {signing}"]
    for edition in result["editions"]:
        lines.append(f"{edition['name']}:")
        lines.extend(f"  {s.get('type', 'other')}  {s['url']}" for s in edition["streams"])
        lines.extend(f"  subtitles {s.get('language') or '-'}  {s['url']}" for s in edition["subtitles"])
    if not result["editions"]:
        lines.append("  no streams")
    return "\n".join(lines)


def asset_text(asset: dict[str, Any]) -> str:
    summary = dict(asset)
    summary["editions"] = ", ".join(
        f"{e['name']} ({len(e['streams'])} streams, {len(e['subtitles'])} subtitles)" for e in asset["editions"]
    )
    summary["images"] = f"{len(asset['images'])} images"
    return as_pairs(summary)
