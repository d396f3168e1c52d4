"""Import results of a service: one result with a page of its items."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ...errors import NotFound
from ..auth import Context, Service

router = APIRouter(prefix="/services/{service}/results", tags=["results"])


@router.get("/{result_id}", summary="An import result with a page of its items, in import order")
def read_result(
    service: Service,
    context: Context,
    result_id: str,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    try:
        result = context.catalog.get_result(result_id, items=False)
    except NotFound:
        result = None
    if result is None or result["service"] != service:
        raise NotFound(f"service {service!r} has no import result with id {result_id!r}")
    items, total = context.catalog.result_items(result_id, limit=limit, offset=offset)
    return {**result, "items": items, "items_total": total, "limit": limit, "offset": offset}
