"""The `data-agent` command (CONTRACT.md): JSON with `--json`, readable tables otherwise.

Exit status: 0 success, 1 the command ran but what it did failed (an import whose run failed), 2 bad usage or
bad input, with one line on stderr saying what to fix.
"""

from __future__ import annotations

import functools
import json
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import click
from tabulate import tabulate

from .catalog.cursor import AssetQuery
from .catalog.export_targets import ExportTargets, target_to_json
from .catalog.sources import source_to_json
from .catalog.store import Catalog
from .connectors.registry import source_kinds
from .connectors.spec import SourceKind
from .errors import Conflict, DataAgentError, InvalidInput, NotFound
from .export_settings import ExportTargetChanges
from .model import ASSET_FIELDS
from .settings import Settings, get_settings
from .signing import MAX_TTL_SECONDS
from .source_settings import SourceChanges, add_source, edit_source
from .user_input import parse_pairs

EXIT_FAILED = 1
EXIT_USAGE = 2
# Fields whose CLI value is taken as plain text; the others are JSON (lists of tags/genres may be comma-separated).
_TEXT_FIELDS = {"type", "title", "description", "short_description", "series", "release_date", "published_at"}


class Context:
    """Per-invocation state: settings and a lazily opened catalog."""

    def __init__(self, settings: Settings, as_json: bool):
        self.settings = settings
        self.as_json = as_json
        self._catalog: Catalog | None = None

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._catalog = Catalog.open(self.settings)
        return self._catalog

    def close(self) -> None:
        if self._catalog is not None:
            self._catalog.close()


def _emit(ctx: Context, payload: Any, human: Callable[[Any], str]) -> None:
    if ctx.as_json:
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False, default=str))
    else:
        click.echo(human(payload))


def command(group: click.Group, name: str, **kwargs: Any) -> Callable[[Callable[..., Any]], click.Command]:
    """A leaf command that takes `--json` and receives the invocation Context first."""

    def decorate(func: Callable[..., Any]) -> click.Command:
        @functools.wraps(func)
        def wrapper(*args: Any, as_json: bool, **options: Any) -> Any:
            root: Context = click.get_current_context().find_root().obj
            root.as_json = root.as_json or as_json
            return func(root, *args, **options)

        option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
        return group.command(name, **kwargs)(option(wrapper))

    return decorate


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
@click.pass_context
def cli(ctx: click.Context, as_json: bool) -> None:
    """Keep a video CMS catalog in step with feeds and online video platforms."""
    ctx.obj = Context(get_settings(), as_json)
    ctx.call_on_close(ctx.obj.close)


# -- services ---------------------------------------------------------------------------------------------------


@cli.group()
def services() -> None:
    """Services: the tenants of the catalog."""


@command(services, "add")
@click.argument("name")
def services_add(ctx: Context, name: str) -> None:
    """Create a service."""
    _emit(ctx, ctx.catalog.add_service(name), lambda s: f"service {s['name']} created")


@command(services, "list")
def services_list(ctx: Context) -> None:
    """List services with their numbers of sources and assets."""
    rows = ctx.catalog.list_services()
    _emit(ctx, rows, lambda r: _table(r, ["name", "sources", "assets", "created_at"], "no services yet"))


@command(services, "add-key")
@click.argument("name")
def services_add_key(ctx: Context, name: str) -> None:
    """Make an API key for a service. The key is printed once: only a hash of it is kept."""
    from .catalog.api_keys import ApiKeys

    record, key = ApiKeys(ctx.catalog).add(name)
    _emit(
        ctx,
        {**record, "key": key},
        lambda r: f"API key {r['id']} for service {r['service']} (shown once, keep it safe):\n{r['key']}",
    )


@command(services, "revoke-key")
@click.argument("name")
@click.argument("key_id")
def services_revoke_key(ctx: Context, name: str, key_id: str) -> None:
    """Revoke an API key of a service; it stops working at once."""
    from .catalog.api_keys import ApiKeys

    record = ApiKeys(ctx.catalog).revoke(name, key_id)
    _emit(ctx, record, lambda r: f"API key {r['id']} of service {r['service']} revoked")


@command(services, "keys")
@click.argument("name")
def services_keys(ctx: Context, name: str) -> None:
    """List a service's API keys (their ids and dates; the keys themselves are never kept)."""
    from .catalog.api_keys import ApiKeys

    rows = ApiKeys(ctx.catalog).list(name)
    _emit(ctx, rows, lambda r: _table(r, ["id", "created_at", "revoked_at"], "no API keys"))


# -- sources ----------------------------------------------------------------------------------------------------


def source_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The settings `sources add` and `sources edit` share."""
    options = [
        click.option("--name", help="A name, unique in the service."),
        click.option("--kind", help="What the source reads: one of the kinds below."),
        click.option("--url", help="Where the source reads from (http or https)."),
        click.option("--every", help="Interval like 5m, 1h, 1d (default 1h)."),
        click.option("--cron", help="Cron expression (five fields, UTC) instead of --every."),
        click.option("--truth", help="importer (default), create-only or update-unless-edited."),
        click.option("--on-missing", help="keep (default), unpublish or delete assets gone from the origin."),
        click.option("--max-removal-fraction", help="Largest share of the source's assets one import may remove."),
        click.option("--asset-type", help="Type of assets the items become when they do not say (default movie)."),
        click.option("--sign-streams", help="cloudfront, akamai or nginx-secure-link ('none' to stop signing)."),
        click.option("--credential", "credentials", multiple=True, help="KEY=VALUE, stored encrypted (KEY= removes)."),
        click.option("--option", "options", multiple=True, help="KEY=VALUE connector setting (KEY= removes)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


class SourceCommand(click.Command):
    """`sources add` and `sources edit`: their help ends with every kind and its settings, from the kinds' specs."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
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


def _changes(options: dict[str, Any]) -> SourceChanges:
    return SourceChanges(
        name=options["name"],
        kind=options["kind"],
        url=options["url"],
        every=options["every"],
        cron=options["cron"],
        truth=options["truth"],
        on_missing=options["on_missing"],
        max_removal_fraction=options["max_removal_fraction"],
        asset_type=options["asset_type"],
        sign_streams=options["sign_streams"],
        credentials=parse_pairs(options["credentials"], "--credential"),
        options=parse_pairs(options["options"], "--option"),
    )


@cli.group()
def sources() -> None:
    """Sources: where a service's video metadata comes from."""


@command(sources, "add", cls=SourceCommand)
@click.option("--service", required=True, help="The service the source belongs to.")
@source_options
def sources_add(ctx: Context, service: str, **options: Any) -> None:
    """Add a source; it is due for import at once."""
    source = add_source(ctx.catalog, service, _changes(options))
    _emit(ctx, source_to_json(source), _pairs)


@command(sources, "list")
@click.option("--service", help="Only the sources of this service.")
def sources_list(ctx: Context, service: str | None) -> None:
    """List sources."""
    rows = [source_to_json(s) for s in ctx.catalog.list_sources(service)]
    columns = ["id", "service", "name", "kind", "enabled", "every", "cron", "last_status", "next_run_at"]
    _emit(ctx, rows, lambda r: _table(r, columns, "no sources yet"))


@command(sources, "show")
@click.argument("source_id")
def sources_show(ctx: Context, source_id: str) -> None:
    """Show a source (credentials are never shown, only their names)."""
    _emit(ctx, source_to_json(ctx.catalog.get_source(source_id)), _pairs)


@command(sources, "edit", cls=SourceCommand)
@click.argument("source_id")
@source_options
def sources_edit(ctx: Context, source_id: str, **options: Any) -> None:
    """Change a source's settings; what is not given stays as it is."""
    source = edit_source(ctx.catalog, source_id, _changes(options))
    _emit(ctx, source_to_json(source), _pairs)


@command(sources, "delete")
@click.argument("source_id")
def sources_delete(ctx: Context, source_id: str) -> None:
    """Delete a source. Its assets stay in the catalog (detached) and its import results stay as history."""
    source = ctx.catalog.delete_source(source_id)
    _emit(ctx, {"id": source.id, "deleted": True}, lambda _: f"source {source.id} ({source.name}) deleted")


@command(sources, "enable")
@click.argument("source_id")
def sources_enable(ctx: Context, source_id: str) -> None:
    """Let the heartbeat import the source again."""
    _emit(ctx, source_to_json(ctx.catalog.set_enabled(source_id, True)), _pairs)


@command(sources, "disable")
@click.argument("source_id")
def sources_disable(ctx: Context, source_id: str) -> None:
    """Stop scheduled imports of the source (it can still be imported by hand)."""
    _emit(ctx, source_to_json(ctx.catalog.set_enabled(source_id, False)), _pairs)


# -- imports and results ----------------------------------------------------------------------------------------


@command(cli, "import")
@click.argument("source_id")
@click.option("--dry-run", is_flag=True, help="Fetch, parse and plan; write no asset; record the plan.")
def import_command(ctx: Context, source_id: str, dry_run: bool) -> None:
    """Import a source now, in this process, as a run of the Dagster job `import_source`."""
    from .launcher import run_import
    from .orchestration.instance import open_instance

    instance = open_instance(ctx.settings)
    try:
        run = run_import(ctx.catalog, instance, source_id, dry_run=dry_run)
    finally:
        instance.dispose()
    _emit_import_result(ctx, run.result)
    if run.result["status"] == "failed" or not run.success:
        sys.exit(EXIT_FAILED)


@cli.group()
def results() -> None:
    """Import results: what each import did, item by item."""


@command(results, "list")
@click.option("--source", "source_id", help="Only the results of this source.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
def results_list(ctx: Context, source_id: str | None, limit: int) -> None:
    """List import results, newest first."""
    rows = ctx.catalog.list_results(source_id=source_id, limit=limit)
    if source_id is not None and not rows:
        ctx.catalog.get_source(source_id)  # no history and no such source: an unknown id (results outlive sources)
    flat = [{**{k: v for k, v in r.items() if k != "counts"}, **r["counts"]} for r in rows]
    columns = ["id", "source_id", "status", "started_at", "created", "updated", "unchanged", "failed"]
    _emit(ctx, rows, lambda _: _table(flat, columns, "no import results yet"))


@command(results, "show")
@click.argument("result_id")
def results_show(ctx: Context, result_id: str) -> None:
    """Show an import result with its items."""
    _emit_import_result(ctx, ctx.catalog.get_result(result_id, items=False))


# -- assets -----------------------------------------------------------------------------------------------------


@cli.group()
def assets() -> None:
    """Assets in the catalog."""


@command(assets, "list")
@click.option("--service", required=True)
@click.option("--source", "source_id", help="Only the assets of this source.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option("--cursor", help="Where the last page ended (printed after it): the next page starts there.")
def assets_list(ctx: Context, service: str, source_id: str | None, limit: int, cursor: str | None) -> None:
    """List a service's assets, newest first, a page at a time."""
    query = AssetQuery(service, source_id)
    rows, more = ctx.catalog.list_assets_page(query, limit=limit, cursor=cursor)
    columns = ["id", "type", "external_id", "title", "status", "updated_at"]
    _emit(ctx, rows, lambda r: _table(r, columns, "no assets"))
    if more and rows:
        # On stderr: stdout stays the page itself (a JSON list with --json).
        click.echo(f"more assets follow: add --cursor {query.cursor_after(rows[-1])}", err=True)


@command(assets, "show")
@click.argument("asset_id")
def assets_show(ctx: Context, asset_id: str) -> None:
    """Show an asset in the asset model's JSON form."""
    _emit(ctx, ctx.catalog.get_asset(asset_id), _asset_text)


def parse_field_values(pairs: Sequence[str]) -> dict[str, Any]:
    """`--set FIELD=VALUE` values: text for text fields, JSON otherwise (tags and genres may be comma-separated)."""
    changes: dict[str, Any] = {}
    for name, raw in parse_pairs(pairs, "--set").items():
        if name not in ASSET_FIELDS:
            raise InvalidInput(f"unknown asset field {name!r}: editable fields are {', '.join(ASSET_FIELDS)}")
        if name in _TEXT_FIELDS:
            changes[name] = raw or None
            continue
        try:
            changes[name] = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            if name not in ("tags", "genres"):
                raise InvalidInput(f"--set {name}=… expects JSON, like {_example(name)}") from None
            changes[name] = [part.strip() for part in raw.split(",") if part.strip()]
    if not changes:
        raise InvalidInput("nothing to edit: give at least one --set FIELD=VALUE")
    return changes


def _example(name: str) -> str:
    examples = {
        "duration": "120",
        "images": '[{"url": "https://…/p.jpg", "role": "poster"}]',
        "geoblock": '{"allow": ["US", "CA"]}',
        "availability": '{"start": "2026-01-01T00:00:00Z", "end": null}',
        "custom": '{"key": "value"}',
    }
    return examples.get(name, "[...]")


@command(assets, "edit")
@click.argument("asset_id")
@click.option("--set", "values", multiple=True, required=True, help="FIELD=VALUE, repeatable.")
def assets_edit(ctx: Context, asset_id: str, values: tuple[str, ...]) -> None:
    """Edit an asset as the CMS would: the fields change and are recorded in `edited_fields`."""
    _emit(ctx, ctx.catalog.edit_asset(asset_id, parse_field_values(values)), _asset_text)


@command(cli, "streams")
@click.argument("asset_id")
@click.option(
    "--ttl", type=click.IntRange(1, MAX_TTL_SECONDS), help="Link lifetime in seconds (default: the source's)."
)
def streams(ctx: Context, asset_id: str, ttl: int | None) -> None:
    """Print an asset's editions with playable URLs, signed when its source says so."""
    from .signing import playback

    asset, source = ctx.catalog.asset_with_source(asset_id)
    _emit(ctx, playback(asset, source, now=ctx.catalog.clock(), ttl=ttl), _playback_text)


def _playback_text(result: dict[str, Any]) -> str:
    signing = f"signed ({result['scheme']}) until {result['expires_at']}" if result["signed"] else "not signed"
    lines = [f"asset {result['asset_id']}: {signing}"]
    for edition in result["editions"]:
        lines.append(f"{edition['name']}:")
        lines.extend(f"  {s.get('type', 'other')}  {s['url']}" for s in edition["streams"])
        lines.extend(f"  subtitles {s.get('language') or '-'}  {s['url']}" for s in edition["subtitles"])
    if not result["editions"]:
        lines.append("  no streams")
    return "\n".join(lines)


@command(cli, "serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Worker processes.")
@click.option("--access-log/--no-access-log", default=True, show_default=True, help="Log one line per request.")
def serve(ctx: Context, host: str, port: int, workers: int, access_log: bool) -> None:
    """Serve the HTTP API for the CMS and the front end (FastAPI on uvicorn) until interrupted."""
    import uvicorn

    # Bring the catalog to the current schema once, before workers start and open it side by side.
    ctx.catalog.close()
    uvicorn.run(
        "data_agent_pipelines.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=access_log,
        server_header=False,
        log_level="info",
    )


# -- exports ----------------------------------------------------------------------------------------------------


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


def _export_targets(ctx: Context) -> ExportTargets:
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
    _emit(ctx, target_to_json(target), _pairs)


@command(exports, "list")
@click.option("--service", help="Only the targets of this service.")
def exports_list(ctx: Context, service: str | None) -> None:
    """List export targets."""
    rows = [target_to_json(t) for t in _export_targets(ctx).list(service)]
    columns = ["id", "service", "format", "url", "every", "cron", "last_status", "next_run_at"]
    _emit(ctx, rows, lambda r: _table(r, columns, "no export targets yet"))


@command(exports, "show")
@click.argument("target_id")
def exports_show(ctx: Context, target_id: str) -> None:
    """Show an export target (credentials are never shown, only their names)."""
    _emit(ctx, target_to_json(_export_targets(ctx).get(target_id)), _pairs)


@command(exports, "edit")
@click.argument("target_id")
@export_options
def exports_edit(ctx: Context, target_id: str, **options: Any) -> None:
    """Change an export target's settings; what is not given stays as it is."""
    target = _export_targets(ctx).edit(target_id, _export_changes(options))
    _emit(ctx, target_to_json(target), _pairs)


@command(exports, "delete")
@click.argument("target_id")
def exports_delete(ctx: Context, target_id: str) -> None:
    """Delete an export target. Its results stay as history; what it wrote stays in the bucket."""
    target = _export_targets(ctx).delete(target_id)
    _emit(ctx, {"id": target.id, "deleted": True}, lambda _: f"export target {target.id} deleted")


@command(exports, "results")
@click.argument("target_id")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
def exports_results(ctx: Context, target_id: str, limit: int) -> None:
    """List the export results of a target, newest first."""
    targets = _export_targets(ctx)
    targets.get(target_id)
    rows = targets.list_results(target_id, limit=limit)
    columns = ["id", "status", "format", "count", "started_at", "manifest_key", "error"]
    _emit(ctx, rows, lambda r: _table(r, columns, "no exports yet"))


@command(cli, "export")
@click.argument("target_id")
def export_command(ctx: Context, target_id: str) -> None:
    """Export a target now, in this process, as a run of the Dagster job `export_service`."""
    from .launcher import run_export_now
    from .orchestration.instance import open_instance

    instance = open_instance(ctx.settings)
    try:
        run = run_export_now(ctx.catalog, instance, target_id)
    finally:
        instance.dispose()
    _emit(ctx, run.result, _export_result_text)
    if run.result["status"] != "succeeded" or not run.success:
        sys.exit(EXIT_FAILED)


def _export_result_text(result: dict[str, Any]) -> str:
    lines = [f"export {result['id']} of target {result['target_id']}: {result['status'].upper()}"]
    if result["error"]:
        lines.append(f"  error: {result['error']}")
    lines.append(f"  {result['count']} assets as {result['format']}")
    lines.extend(f"  {o['key']} ({o['bytes']:,} bytes, sha256 {o['sha256']})" for o in result["objects"])
    if result["manifest_key"]:
        lines.append(f"  manifest {result['manifest_key']}")
    return "\n".join(lines)


# -- demo -------------------------------------------------------------------------------------------------------


@command(cli, "demo")
def demo(ctx: Context) -> None:
    """Seed a demo service and source from the sample feed shipped in the package and import it (no network)."""
    from .demo import run_demo

    run = run_demo(ctx.settings, ctx.catalog)
    _emit_import_result(ctx, run.result)
    if not ctx.as_json:
        click.echo(run.instructions)
    if run.result["status"] == "failed":
        sys.exit(EXIT_FAILED)


# -- output -----------------------------------------------------------------------------------------------------


def _table(rows: list[dict[str, Any]], columns: list[str], empty: str) -> str:
    if not rows:
        return empty
    return tabulate([[_cell(row.get(c)) for c in columns] for row in rows], headers=columns, tablefmt="simple")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _pairs(values: dict[str, Any]) -> str:
    return tabulate([[k, _cell(v)] for k, v in values.items()], tablefmt="plain")


def _asset_text(asset: dict[str, Any]) -> str:
    summary = dict(asset)
    summary["editions"] = ", ".join(
        f"{e['name']} ({len(e['streams'])} streams, {len(e['subtitles'])} subtitles)" for e in asset["editions"]
    )
    summary["images"] = f"{len(asset['images'])} images"
    return _pairs(summary)


SHOWN_PROBLEMS = 50


def _emit_import_result(ctx: Context, result: dict[str, Any]) -> None:
    """An ImportResult with its items, streamed from the catalog: an import may list millions of them."""
    if not ctx.as_json:
        problems = ctx.catalog.iter_result_items(result["id"], outcomes=("failed", "skipped"), limit=SHOWN_PROBLEMS + 1)
        click.echo(_result_text({**result, "items": list(problems)}))
        return
    header = json.dumps({k: v for k, v in result.items() if k != "items"}, indent=2, ensure_ascii=False, default=str)
    out = sys.stdout
    out.write(header[: -len("\n}")] + ',\n  "items": [')
    separator = "\n    "
    for item in ctx.catalog.iter_result_items(result["id"]):
        out.write(separator + json.dumps(item, ensure_ascii=False, default=str))
        separator = ",\n    "
    out.write("\n  ]\n}\n" if separator != "\n    " else "]\n}\n")
    out.flush()


def _result_text(result: dict[str, Any]) -> str:
    counts = ", ".join(f"{n} {k}" for k, n in result["counts"].items() if n) or "no items"
    lines = [
        f"import {result['id']} of source {result['source_id']}: {result['status'].upper()}"
        + (" (dry run)" if result.get("dry_run") else ""),
        f"  {counts}",
    ]
    if result["error"]:
        lines.append(f"  error: {result['error']}")
    held_back = result.get("held_back")
    if held_back and not result["error"]:
        verb = {"unpublish": "unpublished", "delete": "deleted"}[held_back["action"]]
        lines.append(f"  held back: {held_back['count']} assets not {verb}: {held_back['reason']}")
    lines.extend(f"  note: {note}" for note in result.get("notes", []))
    problems = result.get("items", [])
    if problems:
        lines.append(_table(problems[:SHOWN_PROBLEMS], ["outcome", "external_id", "reason"], ""))
        if len(problems) > SHOWN_PROBLEMS:
            lines.append(f"  … and more (see `data-agent results show {result['id']} --json`)")
    lines.append(f"  run {result['run_id']}" if result["run_id"] else "")
    return "\n".join(line for line in lines if line)


# -- entry point ------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point: maps errors to the contract's exit codes and one-line messages."""
    # Dagster warns about its own beta parameters when the definitions load; that is no news to a user. (Matched
    # by message: importing Dagster's warning classes would cost every command half a second.)
    warnings.filterwarnings("ignore", message=r".* is currently in (beta|preview)")
    try:
        code = cli.main(args=list(argv) if argv is not None else None, prog_name="data-agent", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        # `data-agent` or `data-agent sources` alone asks what there is: the help, as `--help` prints it.
        click.echo(exc.ctx.get_help())
        code = 0
    except click.UsageError as exc:
        _fail(EXIT_USAGE, exc.format_message())
    except (InvalidInput, NotFound, Conflict) as exc:
        _fail(EXIT_USAGE, str(exc))
    except DataAgentError as exc:
        _fail(EXIT_FAILED, str(exc))
    except click.exceptions.Abort:
        _fail(EXIT_FAILED, "aborted")
    except click.ClickException as exc:
        _fail(EXIT_USAGE, exc.format_message())
    sys.exit(code if isinstance(code, int) else 0)


def _fail(code: int, message: str) -> None:
    click.echo(f"data-agent: error: {' '.join(message.split())}", err=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
