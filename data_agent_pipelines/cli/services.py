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
