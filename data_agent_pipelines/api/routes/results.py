"""Import results of a service: one result with a page of its items."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ...catalog.retention import pruning
from ..auth import Context, Service

router = APIRouter(prefix="/services/{service}/results", tags=["results"])


@router.get("/{result_id}", summary="An import result, a page of its items in import order, what retention removed")
def read_result(
    service: Service,
    context: Context,
    result_id: str,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    result = context.result(service, result_id)
    items, total = context.catalog.result_items(result_id, limit=limit, offset=offset)
    return {
        **result.to_json(),
        # What retention removed (unchanged items beyond a count), or null: items_total no longer adds up to counts.
        "pruned": pruning(context.catalog, result_id),
        "items": [item.to_json() for item in items],
        "items_total": total,
        "limit": limit,
        "offset": offset,
    }
