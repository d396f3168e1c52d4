"""`data-agent exports` and `export`: where a service's catalog is exported to, and exporting it now."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from ..errors import DataAgentError
from ..model import ExportResult, ExportTarget
from ..user_input import parse_pairs
from .app import Context, as_pairs, cli, command, emit, table

if TYPE_CHECKING:
    from ..catalog.export_targets import ExportTargets
    from ..export_settings import ExportTargetChanges


def export_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The settings `exports add` and `exports edit` share."""
    options = [
        click.option("--url", help="Where the export goes: s3://BUCKET/PREFIX."),
        click.option("--format", "export_format", help="ndjson, json, csv, parquet, mrss or backstage-json."),
        click.option("--every", help="Interval like 1h, 1d (default 1d)."),
        click.option("--cron", help="Cron expression (five fields, UTC) instead of --every."),
        click.option("--source", "source_id", help="Only the assets of this source ('' for all)."),
        click.option("--asset-type", help="Only assets of this type ('' for all)."),
        click.option(
            "--option",
            "options",
            multiple=True,
            help="KEY=VALUE: endpoint_url, region, role_arn, role_external_id, title (KEY= removes).",
        ),
        click.option(
            "--credential",
            "credentials",
            multiple=True,
            help="aws_access_key_id=…, aws_secret_access_key=… (aws_session_token=…): the bucket's own keys, stored"
            " encrypted (KEY= removes).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _export_changes(options: dict[str, Any]) -> ExportTargetChanges:
    from ..export_settings import ExportTargetChanges

    return ExportTargetChanges(
        url=options["url"],
        format=options["export_format"],
        every=options["every"],
        cron=options["cron"],
        source_id=options["source_id"],
        asset_type=options["asset_type"],
        options=parse_pairs(options["options"], "--option"),
        credentials=parse_pairs(options["credentials"], "--credential"),
    )


def target_to_json(target: ExportTarget) -> dict[str, Any]:
    """A target as the CLI prints it (the catalog's JSON form, imported with the catalog it needs)."""
    from ..catalog.export_targets import target_to_json as to_json

    return to_json(target)


def _export_targets(ctx: Context) -> ExportTargets:
    from ..catalog.export_targets import ExportTargets

    return ExportTargets(ctx.catalog, allow_hosts=ctx.settings.allow_hosts)


@cli.group()
def exports() -> None:
    """Export targets: where a service's catalog is exported to (S3), in which format, how often."""


@command(exports, "add")
@click.option("--service", required=True, help="The service whose catalog is exported.")
@export_options
def exports_add(ctx: Context, service: str, **options: Any) -> None:
    """Add an export target; it is due at once. Without credentials the platform's own AWS settings are used."""
    target = _export_targets(ctx).add(service, _export_changes(options))
    emit(ctx, target_to_json(target), as_pairs)


@command(exports, "list")
@click.option("--service", help="Only the targets of this service.")
def exports_list(ctx: Context, service: str | None) -> None:
    """List export targets."""
    rows = [target_to_json(t) for t in _export_targets(ctx).list(service)]
    columns = ["id", "service", "format", "url", "every", "cron", "last_status", "next_run_at"]
    emit(ctx, rows, lambda r: table(r, columns, "no export targets yet"))


@command(exports, "show")
@click.argument("target_id")
def exports_show(ctx: Context, target_id: str) -> None:
    """Show an export target (credentials are never shown, only their names)."""
    emit(ctx, target_to_json(_export_targets(ctx).get(target_id)), as_pairs)


@command(exports, "edit")
@click.argument("target_id")
@export_options
def exports_edit(ctx: Context, target_id: str, **options: Any) -> None:
    """Change an export target's settings; what is not given stays as it is."""
    target = _export_targets(ctx).edit(target_id, _export_changes(options))
    emit(ctx, target_to_json(target), as_pairs)


@command(exports, "delete")
@click.argument("target_id")
def exports_delete(ctx: Context, target_id: str) -> None:
    """Delete an export target. Its results stay as history; what it wrote stays in the bucket."""
    target = _export_targets(ctx).delete(target_id)
    emit(ctx, {"id": target.id, "deleted": True}, lambda _: f"export target {target.id} deleted")


@command(exports, "results")
@click.argument("target_id")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
def exports_results(ctx: Context, target_id: str, limit: int) -> None:
    """List the export results of a target, newest first."""
    targets = _export_targets(ctx)
    targets.get(target_id)
    rows = [result.to_json() for result in targets.list_results(target_id, limit=limit)]
    columns = ["id", "status", "format", "count", "started_at", "manifest_key", "error"]
    emit(ctx, rows, lambda r: table(r, columns, "no exports yet"))


@command(cli, "export")
@click.argument("target_id")
def export_command(ctx: Context, target_id: str) -> None:
    """Export a target now, in this process, as a run of the Dagster job `export_service`."""
    from ..launcher import run_export_now
    from ..orchestration.instance import open_instance

    instance = open_instance(ctx.settings)
    try:
        run = run_export_now(ctx.catalog, instance, target_id, verbose=ctx.verbose)
    finally:
        instance.dispose()
    result = run.result
    emit(ctx, result.to_json(), lambda _: _export_result_text(result))
    if not result.succeeded or not run.success:
        # One line on stderr (exit 1); the run's log in the UI has the details.
        error = result.error or "the run failed after the export (see the run's log)"
        raise DataAgentError(f"export of target {result.target_id} failed: {error} (run {run.run_id})")


def _export_result_text(result: ExportResult) -> str:
    lines = [f"export {result.id} of target {result.target_id}: {result.status.upper()}"]
    if result.error:
        lines.append(f"  error: {result.error}")
    lines.append(f"  {result.count} assets as {result.format}")
    lines.extend(f"  {o['key']} ({o['bytes']:,} bytes, sha256 {o['sha256']})" for o in result.objects)
    if result.manifest_key:
        lines.append(f"  manifest {result.manifest_key}")
    return "\n".join(lines)
