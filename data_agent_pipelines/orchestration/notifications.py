"""The `webhook_deliveries` sensor: sends the notifications waiting in the catalog's outbox.

Every 30 seconds it attempts the deliveries that are due (new ones, and failed ones whose backoff has passed),
records each attempt, and ends well inside the sensor timeout: what is left waits for the next tick. It asks
Dagster for no run: delivering is a few short requests, and the outbox, not Dagster, keeps the state.
"""

from __future__ import annotations

from dagster import DefaultSensorStatus, SensorEvaluationContext, SkipReason, sensor

from ..notifications import deliver_due, webhook_client
from ..settings import get_settings
from .resources import CatalogResource

DELIVERY_INTERVAL_SECONDS = 30


@sensor(
    name="webhook_deliveries",
    minimum_interval_seconds=DELIVERY_INTERVAL_SECONDS,
    default_status=DefaultSensorStatus.RUNNING,
    description="Delivers the services' webhook notifications waiting in the catalog, retrying failed ones.",
)
def webhook_deliveries(context: SensorEvaluationContext, catalog: CatalogResource) -> SkipReason:
    with webhook_client(get_settings()) as client:
        run = deliver_due(catalog.catalog, client)
    summary = f"{run.delivered} delivered, {run.retrying} to retry later, {run.given_up} given up" + (
        "; more is due: it goes on the next tick" if run.more_due else ""
    )
    context.log.info(summary)
    return SkipReason(summary)
