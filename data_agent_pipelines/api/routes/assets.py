"""Assets of a service: list with filters, read, CMS edits, and playback (signed or plain stream URLs)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response
from fastapi.responses import JSONResponse

from ...catalog.cursor import MAX_CURSOR_CHARS, AssetQuery
from ...errors import InvalidInput
from ...model import ASSET_TYPES
from ...signing import MAX_TTL_SECONDS, playback
from ..auth import Context, Service

router = APIRouter(prefix="/services/{service}/assets", tags=["assets"])
STATUSES = ("published", "unpublished")


# A page stops growing past this many bytes of JSON (it holds at least one asset): with limit=1000 and big assets
# a page would otherwise reach hundreds of megabytes, in the worker's memory and on the wire.
MAX_PAGE_BYTES = 4 * 1024 * 1024


@router.get(
    "",
    summary="List the service's assets, newest first, a page at a time",
    description="Pass the `next_cursor` of a page as `cursor` for the next one; it is null on the last page. A page"
    f" holds at most `limit` assets and stops early once its JSON passes {MAX_PAGE_BYTES // 2**20} MiB.",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}, "description": "{items, limit, next_cursor}"}},
)
def list_assets(
    service: Service,
    context: Context,
    source_id: Annotated[str | None, Query(max_length=40, description="Only the assets of this source.")] = None,
    type: Annotated[str | None, Query(description=f"Only this type: {', '.join(ASSET_TYPES)}.")] = None,
    status: Annotated[str | None, Query(description="published or unpublished.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_CHARS, description="The next_cursor of a page.")] = None,
) -> Response:
    if type is not None and type not in ASSET_TYPES:
        raise InvalidInput(f"invalid type {type!r}: use one of {', '.join(ASSET_TYPES)}")
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"invalid status {status!r}: use published or unpublished")
    query = AssetQuery(service, source_id, type, status)
    items, more = context.catalog.list_assets_page(query, limit=limit, cursor=cursor)
    encoded: list[bytes] = []
    size = 0
    for item in items:
        if encoded and size > MAX_PAGE_BYTES:
            more = True
            break
        text = json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode()
        encoded.append(text)
        size += len(text) + 1
    next_cursor = query.cursor_after(items[len(encoded) - 1]) if more and encoded else None
    tail = json.dumps({"limit": limit, "next_cursor": next_cursor}, separators=(",", ":")).encode()
    body = b'{"items":[' + b",".join(encoded) + b"]," + tail[1:]
    return Response(body, media_type="application/json")


@router.get("/{asset_id}", summary="Read an asset in the asset model's JSON form")
def read_asset(service: Service, context: Context, asset_id: str) -> dict[str, Any]:
    return context.asset(service, asset_id)


@router.patch("/{asset_id}", summary="Edit an asset as the CMS does; the fields are recorded in edited_fields")
def edit_asset(
    service: Service,
    context: Context,
    asset_id: str,
    changes: Annotated[dict[str, Any], Body(description="Fields of the asset model and their new values.")],
) -> dict[str, Any]:
    context.asset(service, asset_id)
    if not changes:
        raise InvalidInput("nothing to edit: give at least one field of the asset model")
    return context.catalog.edit_asset(asset_id, changes)


@router.get(
    "/{asset_id}/playback",
    summary="The asset's editions with playable URLs, signed when its source says",
    response_class=JSONResponse,
)
def asset_playback(
    service: Service,
    context: Context,
    asset_id: str,
    ttl: Annotated[
        int | None, Query(ge=1, le=MAX_TTL_SECONDS, description="Link lifetime in seconds (the source's ttl).")
    ] = None,
) -> JSONResponse:
    asset, source = context.asset_with_source(service, asset_id)
    # The hot path of the front end: the dict is plain JSON already, so it skips FastAPI's generic encoding.
    return JSONResponse(playback(asset, source, now=context.catalog.clock(), ttl=ttl))
