"""Assets of a service: list with filters, read, CMS edits, and playback (signed or plain stream URLs)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse

from ...errors import InvalidInput
from ...model import ASSET_TYPES
from ...signing import MAX_TTL_SECONDS, playback
from ..auth import Context, Service

router = APIRouter(prefix="/services/{service}/assets", tags=["assets"])
STATUSES = ("published", "unpublished")


@router.get("", summary="List the service's assets, newest first")
def list_assets(
    service: Service,
    context: Context,
    source_id: Annotated[str | None, Query(max_length=40, description="Only the assets of this source.")] = None,
    type: Annotated[str | None, Query(description=f"Only this type: {', '.join(ASSET_TYPES)}.")] = None,
    status: Annotated[str | None, Query(description="published or unpublished.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    if type is not None and type not in ASSET_TYPES:
        raise InvalidInput(f"invalid type {type!r}: use one of {', '.join(ASSET_TYPES)}")
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"invalid status {status!r}: use published or unpublished")
    items = context.catalog.list_assets(
        service, source_id=source_id, asset_type=type, status=status, limit=limit, offset=offset
    )
    return {"items": items, "limit": limit, "offset": offset}


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
