"""`data-agent services`: the tenants of the catalog and their API keys."""

from __future__ import annotations

import click

from .app import Context, cli, command, emit, table


@cli.group()
def services() -> None:
    """Services: the tenants of the catalog."""


@command(services, "add")
@click.argument("name")
def services_add(ctx: Context, name: str) -> None:
    """Create a service."""
    emit(ctx, ctx.catalog.add_service(name), lambda s: f"service {s['name']} created")


@command(services, "list")
def services_list(ctx: Context) -> None:
    """List services with their numbers of sources and assets."""
    rows = ctx.catalog.list_services()
    emit(ctx, rows, lambda r: table(r, ["name", "sources", "assets", "created_at"], "no services yet"))


@command(services, "add-key")
@click.argument("name")
def services_add_key(ctx: Context, name: str) -> None:
    """Make an API key for a service. The key is printed once: only a hash of it is kept."""
    from ..catalog.api_keys import ApiKeys

    record, key = ApiKeys(ctx.catalog).add(name)
    emit(
        ctx,
        {**record, "key": key},
        lambda r: f"API key {r['id']} for service {r['service']} (shown once, keep it safe):\n{r['key']}",
    )


@command(services, "revoke-key")
@click.argument("name")
@click.argument("key_id")
def services_revoke_key(ctx: Context, name: str, key_id: str) -> None:
    """Revoke an API key of a service; it stops working at once."""
    from ..catalog.api_keys import ApiKeys

    record = ApiKeys(ctx.catalog).revoke(name, key_id)
    emit(ctx, record, lambda r: f"API key {r['id']} of service {r['service']} revoked")


@command(services, "keys")
@click.argument("name")
def services_keys(ctx: Context, name: str) -> None:
    """List a service's API keys (their ids and dates; the keys themselves are never kept)."""
    from ..catalog.api_keys import ApiKeys

    rows = ApiKeys(ctx.catalog).list(name)
    emit(ctx, rows, lambda r: table(r, ["id", "created_at", "revoked_at"], "no API keys"))


@command(services, "notify")
@click.argument("name")
@click.option("--webhook", "url", required=True, help="The URL the events are POSTed to (http or https).")
@click.option(
    "--on",
    "events",
    help="Comma-separated events: failed, partial, recovered, paused (default failed,recovered,paused).",
)
def services_notify(ctx: Context, name: str, url: str, events: str | None) -> None:
    """Send a service's import events to a webhook, signed. A new webhook's secret is printed once; a URL the
    service already notifies keeps its secret and takes the events given."""
    from ..notifications import add_webhook

    webhook, secret = add_webhook(ctx.catalog, name, url, events)

    def human(record: dict[str, object]) -> str:
        text = f"webhook {record['id']} of service {record['service']} gets {', '.join(record['events'])}"  # type: ignore[arg-type]
        if record["secret"]:
            text += f"\nsigning secret (shown once, keep it safe):\n{record['secret']}"
        return text

    emit(ctx, {**webhook, "secret": secret}, human)


@command(services, "webhooks")
@click.argument("name")
def services_webhooks(ctx: Context, name: str) -> None:
    """List a service's webhooks (their secrets are never shown again)."""
    from ..catalog.webhooks import Webhooks

    rows = Webhooks(ctx.catalog).list(name)
    emit(ctx, rows, lambda r: table(r, ["id", "url", "events", "created_at"], "no webhooks"))


@command(services, "remove-webhook")
@click.argument("name")
@click.argument("webhook_id")
def services_remove_webhook(ctx: Context, name: str, webhook_id: str) -> None:
    """Stop notifying a webhook; its deliveries still waiting are dropped."""
    from ..catalog.webhooks import Webhooks

    record = Webhooks(ctx.catalog).remove(name, webhook_id)
    emit(ctx, record, lambda r: f"webhook {r['id']} of service {r['service']} removed")


@command(services, "deliveries")
@click.argument("name")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--status", type=click.Choice(["pending", "delivered", "failed"]), help="Only deliveries in this state.")
def services_deliveries(ctx: Context, name: str, limit: int, status: str | None) -> None:
    """A service's notification deliveries, newest first, with every attempt (JSON: `attempt_log`)."""
    from ..catalog.webhooks import Webhooks

    rows = Webhooks(ctx.catalog).deliveries(name, limit=limit, status=status)
    columns = ["id", "event", "source_id", "status", "attempts", "last_error", "created_at", "next_attempt_at"]
    emit(ctx, rows, lambda r: table(r, columns, "no deliveries"))


@command(services, "deliver")
@click.option("--service", "name", help="Only this service's deliveries.")
def services_deliver(ctx: Context, name: str | None) -> None:
    """Attempt the notification deliveries that are due now (the `webhook_deliveries` sensor does this every 30 s
    while the Dagster daemon runs)."""
    from ..notifications import deliver_due, webhook_client

    if name is not None:
        ctx.catalog.require_service(name)
    with webhook_client(ctx.settings) as client:
        run = deliver_due(ctx.catalog, client, service=name)
    emit(
        ctx,
        run.to_json(),
        lambda r: (
            f"{r['delivered']} delivered, {r['retrying']} to retry later, {r['given_up']} given up"
            + ("; more is due" if r["more_due"] else "")
        ),
    )
