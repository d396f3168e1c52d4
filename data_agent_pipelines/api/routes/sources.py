"""Sources of a service, and their imports: list, create, read, update, delete; queue an import; its results."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ...catalog.sources import source_to_json
from ...source_settings import add_source, edit_source
from ..auth import Context, Service
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


@router.post("/{source_id}/imports", status_code=202, summary="Queue an import of the source now")
def queue_import(service: Service, context: Context, source_id: str) -> dict[str, Any]:
    """Puts an import run on the Dagster instance's queue and answers at once with its run id; the run's
    ImportResult appears under the source's imports when it has finished."""
    from ...launcher import queue_import as submit

    context.source(service, source_id)
    run_id = submit(context.instance(), context.catalog, source_id)
    return {"run_id": run_id, "source_id": source_id, "status": "queued"}


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
