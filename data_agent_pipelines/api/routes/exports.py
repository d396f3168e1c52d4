"""Export targets of a service and their export runs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ...catalog.export_targets import target_to_json
from ..auth import Context, Service
from ..schemas import ExportTargetCreate, ExportTargetUpdate

router = APIRouter(prefix="/services/{service}/exports", tags=["exports"])


@router.get("", summary="List the service's export targets")
def list_targets(service: Service, context: Context) -> dict[str, Any]:
    return {"items": [target_to_json(t) for t in context.export_targets.list(service)]}


@router.post("", status_code=201, summary="Add an export target (due at once)")
def create_target(service: Service, context: Context, body: ExportTargetCreate) -> dict[str, Any]:
    return target_to_json(context.export_targets.add(service, body.changes()))


@router.get("/{target_id}", summary="Read an export target (credential names only)")
def read_target(service: Service, context: Context, target_id: str) -> dict[str, Any]:
    return target_to_json(context.export_target(service, target_id))


@router.patch("/{target_id}", summary="Change an export target; what is not given stays as it is")
def update_target(service: Service, context: Context, target_id: str, body: ExportTargetUpdate) -> dict[str, Any]:
    target = context.export_target(service, target_id)
    targets = context.export_targets
    if body.model_fields_set - {"enabled"}:
        target = targets.edit(target_id, body.changes())
    if body.enabled is not None:
        target = targets.set_enabled(target_id, body.enabled)
    return target_to_json(target)


@router.delete("/{target_id}", summary="Delete an export target; its results and what it wrote stay")
def delete_target(service: Service, context: Context, target_id: str) -> dict[str, Any]:
    context.export_target(service, target_id)
    target = context.export_targets.delete(target_id)
    return {"id": target.id, "deleted": True}


@router.post("/{target_id}/runs", status_code=202, summary="Queue an export of the target now")
def queue_export(service: Service, context: Context, target_id: str) -> dict[str, Any]:
    """Puts an export run on the Dagster instance's queue and answers at once with its run id."""
    from ...launcher import queue_export as submit

    context.export_target(service, target_id)
    run_id = submit(context.instance(), context.catalog, target_id)
    return {"run_id": run_id, "target_id": target_id, "status": "queued"}


@router.get("/{target_id}/runs", summary="The target's export results, newest first")
def list_runs(
    service: Service, context: Context, target_id: str, limit: Annotated[int, Query(ge=1, le=1000)] = 20
) -> dict[str, Any]:
    context.export_target(service, target_id)
    results = context.export_targets.list_results(target_id, limit=limit)
    return {"items": [result.to_json() for result in results], "limit": limit}
