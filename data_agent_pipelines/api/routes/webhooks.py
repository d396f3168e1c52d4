"""Notifications of a service: its webhooks (the signing secret is shown once, at creation) and their deliveries."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ...catalog.webhooks import DELIVERY_STATUSES, Webhooks
from ...notifications import add_webhook
from ..auth import Context, Service
from ..schemas import WebhookCreate

router = APIRouter(prefix="/services/{service}", tags=["notifications"])


@router.get("/webhooks", summary="The service's webhooks (never their secrets)")
def list_webhooks(service: Service, context: Context) -> dict[str, Any]:
    return {"items": Webhooks(context.catalog).list(service)}


@router.post("/webhooks", status_code=201, summary="Send the service's events to a URL; the secret is shown once")
def create_webhook(service: Service, context: Context, body: WebhookCreate) -> dict[str, Any]:
    """A URL the service already notifies keeps its secret (`secret` is null) and takes the events given."""
    webhook, secret = add_webhook(context.catalog, service, body.url, body.events)
    return {**webhook, "secret": secret}


@router.delete("/webhooks/{webhook_id}", summary="Stop notifying a webhook; its pending deliveries are dropped")
def delete_webhook(service: Service, context: Context, webhook_id: str) -> dict[str, Any]:
    return Webhooks(context.catalog).remove(service, webhook_id)


@router.get("/deliveries", summary="The service's notification deliveries, newest first, with every attempt")
def list_deliveries(
    service: Service,
    context: Context,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    status: Annotated[str | None, Query(description=", ".join(DELIVERY_STATUSES))] = None,
) -> dict[str, Any]:
    return {"items": Webhooks(context.catalog).deliveries(service, limit=limit, status=status), "limit": limit}
