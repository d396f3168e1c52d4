"""Sources of a service, and their imports: list, create, read, update, delete; queue an import; its results."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response

from ...catalog.hooks import SourceHooks
from ...catalog.sources import source_to_json
from ...errors import NotFound
from ...source_settings import add_source, edit_source
from ..auth import Context, Service
from ..context import ApiContext
from ..schemas import SourceCreate, SourceUpdate

router = APIRouter(prefix="/services/{service}/sources", tags=["sources"])


@router.get("", summary="List the service's sources")
def list_sources(service: Service, context: Context) -> dict[str, Any]:
    return {"items": [source_to_json(s) for s in context.catalog.list_sources(service)]}


@router.post("", status_code=201, summary="Add a source (due for import at once)")
def create_source(service: Service, context: Context, body: SourceCreate) -> dict[str, Any]:
    return source_to_json(add_source(context.catalog, service, body.changes()))


@router.get("/{source_id}", summary="Read a source (credential names only, never their values)")
def read_source(service: Service, context: Context, source_id: str) -> dict[str, Any]:
    return source_to_json(context.source(service, source_id))


@router.patch("/{source_id}", summary="Change a source's settings; what is not given stays as it is")
def update_source(service: Service, context: Context, source_id: str, body: SourceUpdate) -> dict[str, Any]:
    source = context.source(service, source_id)
    if body.model_fields_set - {"enabled"}:
        source = edit_source(context.catalog, source_id, body.changes())
    if body.enabled is not None:
        source = context.catalog.set_enabled(source_id, body.enabled)
    return source_to_json(source)


@router.delete("/{source_id}", summary="Delete a source; its assets stay (detached) and its results stay")
def delete_source(service: Service, context: Context, source_id: str) -> dict[str, Any]:
    context.source(service, source_id)
    source = context.catalog.delete_source(source_id)
    return {"id": source.id, "deleted": True}


@router.post("/{source_id}/resume", summary="Lift the source's pause; it is due at once")
def resume_source(service: Service, context: Context, source_id: str) -> dict[str, Any]:
    context.source(service, source_id)
    return source_to_json(context.catalog.resume_source(source_id))


@router.post(
    "/{source_id}/imports",
    status_code=202,
    summary="Queue an import of the source now; or, with dry_run=true, plan one and answer with the plan",
)
def queue_import(
    service: Service,
    context: Context,
    source_id: str,
    response: Response,
    dry_run: Annotated[bool, Query(description="Plan now, apply nothing, answer with the plan.")] = False,
    limit: Annotated[int, Query(ge=1, le=5000, description="Items of the plan in the answer (dry run).")] = 500,
) -> dict[str, Any]:
    """Puts an import run on the Dagster instance's queue and answers at once (202) with its run id; the run's
    ImportResult appears under the source's imports when it has finished.

    With `dry_run=true` the import's steps run in this request instead (at most 60 s, two at a time per API
    process; 504 and 429 otherwise) and the answer (200) is the recorded dry-run ImportResult with the first
    `limit` items of its plan, `items_total`, and the rest under `/results/{id}`."""
    context.source(service, source_id)
    if dry_run:
        response.status_code = 200
        return _preview(context, source_id, limit)
    from ...launcher import queue_import as submit

    run_id = submit(context.instance(), context.catalog, source_id)
    return {"run_id": run_id, "source_id": source_id, "status": "queued"}


def _preview(context: ApiContext, source_id: str, limit: int) -> dict[str, Any]:
    from ...preview import PreviewBusy, PreviewTooLong, preview_import

    try:
        result = preview_import(context.catalog, context.settings, source_id)
    except PreviewBusy as busy:
        raise HTTPException(429, str(busy), headers={"Retry-After": "30"}) from None
    except PreviewTooLong as slow:
        raise HTTPException(504, str(slow)) from None
    items, total = context.catalog.result_items(result.id, limit=limit, offset=0)
    return {
        **result.to_json(),
        "items": [item.to_json() for item in items],
        "items_total": total,
        "limit": limit,
        "offset": 0,
    }


@router.get("/{source_id}/imports", summary="The source's import results, newest first (without items)")
def list_imports(
    service: Service,
    context: Context,
    source_id: str,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    context.source(service, source_id)
    results = context.catalog.list_results(source_id=source_id, limit=limit, offset=offset)
    return {"items": [result.to_json() for result in results], "limit": limit, "offset": offset}


@router.post(
    "/{source_id}/hook-token",
    status_code=201,
    summary="Make a new push-trigger secret of the source (replacing any), shown in this answer only",
)
def make_hook_token(service: Service, context: Context, source_id: str) -> dict[str, Any]:
    """The secret a platform's webhook presents to `POST /hooks/{service}/{source_id}` (docs/connectors.md); the
    one it replaces stops working at once. It is never shown again: only when it was made and last used."""
    source = context.source(service, source_id)
    record, secret = SourceHooks(context.catalog).issue(source_id)
    return {**record.to_json(source.service), "token": secret}


@router.get("/{source_id}/hook-token", summary="When the source's push-trigger secret was made and last used")
def read_hook_token(service: Service, context: Context, source_id: str) -> dict[str, Any]:
    context.source(service, source_id)
    record = SourceHooks(context.catalog).get(source_id)
    if record is None:
        raise NotFound(f"source {source_id} has no push-trigger secret yet (POST to this path makes one)")
    return record.to_json(service)
