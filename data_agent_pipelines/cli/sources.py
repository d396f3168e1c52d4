"""`data-agent sources`: where a service's video metadata comes from; the kinds' settings come from their specs."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from ..model import Source
from ..user_input import parse_pairs
from .app import Context, as_pairs, cli, command, emit, table

if TYPE_CHECKING:
    from ..connectors.spec import SourceKind
    from ..source_settings import SourceChanges


def source_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The settings `sources add` and `sources edit` share."""
    options = [
        click.option("--name", help="A name, unique in the service."),
        click.option("--kind", help="What the source reads: one of the kinds below."),
        click.option(
            "--url", help="Where the source reads from: http(s), or file:/// in the local feed folder (feed kinds)."
        ),
        click.option("--every", help="Interval like 5m, 1h, 1d (default 1h)."),
        click.option("--cron", help="Cron expression (five fields, UTC) instead of --every."),
        click.option("--truth", help="importer (default), create-only or update-unless-edited."),
        click.option("--on-missing", help="keep (default), unpublish or delete assets gone from the origin."),
        click.option("--max-removal-fraction", help="Largest share of the source's assets one import may remove."),
        click.option(
            "--max-failed-fraction",
            help="Share of an import's items that may fail before the source's health check warns (default 0.1).",
        ),
        click.option("--asset-type", help="Type of assets the items become when they do not say (default movie)."),
        click.option("--sign-streams", help="cloudfront, akamai or nginx-secure-link ('none' to stop signing)."),
        click.option("--credential", "credentials", multiple=True, help="KEY=VALUE, stored encrypted (KEY= removes)."),
        click.option("--option", "options", multiple=True, help="KEY=VALUE connector setting (KEY= removes)."),
        click.option(
            "--pause-after", help="Failed imports in a row that pause the source (default 10; 0 never pauses)."
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


class SourceCommand(click.Command):
    """`sources add` and `sources edit`: their help ends with every kind and its settings, from the kinds' specs."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        from ..connectors.registry import source_kinds

        with formatter.section("Kinds"):
            formatter.write_dl([(spec.kind, _kind_help(spec)) for spec in source_kinds().values()])


def _kind_help(spec: SourceKind) -> str:
    parts = [spec.summary + (f" (default --url {spec.default_url})" if spec.default_url else "")]
    if needs := spec.missing({}, {}):
        parts.append("Needs " + ", ".join(needs))
    parts += [f"With --option {spec.mode_option}={value}: {mode.summary}" for value, mode in spec.modes.items()]
    others = [f"{s.key}: {s.help}" for s in spec.options if not (s.required or s.either)]
    if others:
        parts.append("Options: " + "; ".join(others))
    return ". ".join(parts) + "."


def source_to_json(source: Source) -> dict[str, Any]:
    """A source as the CLI prints it (the catalog's JSON form, imported with the catalog it needs)."""
    from ..catalog.sources import source_to_json as to_json

    return to_json(source)


def _changes(options: dict[str, Any]) -> SourceChanges:
    from ..source_settings import SourceChanges

    return SourceChanges(
        name=options["name"],
        kind=options["kind"],
        url=options["url"],
        every=options["every"],
        cron=options["cron"],
        truth=options["truth"],
        on_missing=options["on_missing"],
        max_removal_fraction=options["max_removal_fraction"],
        max_failed_fraction=options["max_failed_fraction"],
        asset_type=options["asset_type"],
        sign_streams=options["sign_streams"],
        credentials=parse_pairs(options["credentials"], "--credential"),
        options=parse_pairs(options["options"], "--option"),
        pause_after=options["pause_after"],
    )


@cli.group()
def sources() -> None:
    """Sources: where a service's video metadata comes from."""


@command(sources, "add", cls=SourceCommand)
@click.option("--service", required=True, help="The service the source belongs to.")
@source_options
def sources_add(ctx: Context, service: str, **options: Any) -> None:
    """Add a source; it is due for import at once."""
    from ..source_settings import add_source

    source = add_source(ctx.catalog, service, _changes(options))
    emit(ctx, source_to_json(source), as_pairs)


@command(sources, "list")
@click.option("--service", help="Only the sources of this service.")
def sources_list(ctx: Context, service: str | None) -> None:
    """List sources."""
    rows = [source_to_json(s) for s in ctx.catalog.list_sources(service)]
    columns = ["id", "service", "name", "kind", "enabled", "paused", "every", "cron", "last_status", "next_run_at"]
    emit(ctx, rows, lambda r: table(r, columns, "no sources yet"))


@command(sources, "show")
@click.argument("source_id")
def sources_show(ctx: Context, source_id: str) -> None:
    """Show a source (credentials are never shown, only their names)."""
    emit(ctx, source_to_json(ctx.catalog.get_source(source_id)), as_pairs)


@command(sources, "edit", cls=SourceCommand)
@click.argument("source_id")
@source_options
def sources_edit(ctx: Context, source_id: str, **options: Any) -> None:
    """Change a source's settings; what is not given stays as it is."""
    from ..source_settings import edit_source

    source = edit_source(ctx.catalog, source_id, _changes(options))
    emit(ctx, source_to_json(source), as_pairs)


@command(sources, "delete")
@click.argument("source_id")
def sources_delete(ctx: Context, source_id: str) -> None:
    """Delete a source. Its assets stay in the catalog (detached) and its import results stay as history."""
    source = ctx.catalog.delete_source(source_id)
    emit(ctx, {"id": source.id, "deleted": True}, lambda _: f"source {source.id} ({source.name}) deleted")


@command(sources, "enable")
@click.argument("source_id")
def sources_enable(ctx: Context, source_id: str) -> None:
    """Let the heartbeat import the source again."""
    emit(ctx, source_to_json(ctx.catalog.set_enabled(source_id, True)), as_pairs)


@command(sources, "disable")
@click.argument("source_id")
def sources_disable(ctx: Context, source_id: str) -> None:
    """Stop scheduled imports of the source (it can still be imported by hand)."""
    emit(ctx, source_to_json(ctx.catalog.set_enabled(source_id, False)), as_pairs)


@command(sources, "resume")
@click.argument("source_id")
def sources_resume(ctx: Context, source_id: str) -> None:
    """Lift a source's pause (after too many failed imports in a row): it is due at once. Its next import that
    does not fail is its recovery; one that fails pauses it again."""
    emit(ctx, source_to_json(ctx.catalog.resume_source(source_id)), as_pairs)


@command(sources, "hook-token")
@click.argument("source_id")
@click.option("--rotate", is_flag=True, help="Replace the secret: the old one stops working at once.")
@click.option(
    "--set-secret",
    is_flag=True,
    help="Use a secret the platform issued (Mux's webhook signing secret), read from stdin, instead of a new one.",
)
def sources_hook_token(ctx: Context, source_id: str, rotate: bool, set_secret: bool) -> None:
    """Make or show the source's push-trigger secret for `POST /hooks/SERVICE/SOURCE_ID` (shown once, when made)."""
    from ..catalog.hooks import SourceHooks

    source = ctx.catalog.get_source(source_id)
    hooks = SourceHooks(ctx.catalog)
    existing = hooks.get(source_id)
    secret: str | None = None
    if set_secret:
        given = sys.stdin.readline().strip()
        record, secret = hooks.issue(source_id, secret=given)
    elif existing is None or rotate:
        record, secret = hooks.issue(source_id)
    else:
        record = existing
    document = record.to_json(source.service)
    if secret is not None:
        document["token"] = secret
    emit(ctx, document, _hook_token_text)


def _hook_token_text(document: dict[str, Any]) -> str:
    lines = [f"push trigger of source {document['source_id']}: POST {document['path']}"]
    if "token" in document:
        lines.append(f"secret (shown once, keep it safe; docs/connectors.md says where it goes):\n{document['token']}")
    else:
        lines.append(
            f"a secret exists since {document['created_at']} (last push: {document['last_pushed_at'] or 'never'});"
            " it is shown only when made: --rotate makes a new one"
        )
    return "\n".join(lines)
