"""`data-agent import`, `results` and `demo`: running an import now and reading what imports did."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from ..errors import DataAgentError
from ..model import ImportResult, ItemOutcome
from .app import Context, cli, command, emit, table


@command(cli, "import")
@click.argument("source_id")
@click.option("--dry-run", is_flag=True, help="Fetch, parse and plan; write no asset; record the plan.")
def import_command(ctx: Context, source_id: str, dry_run: bool) -> None:
    """Import a source now, in this process, as a run of the Dagster job `import_source`."""
    from ..launcher import run_import
    from ..orchestration.instance import open_instance

    instance = open_instance(ctx.settings)
    try:
        run = run_import(ctx.catalog, instance, source_id, dry_run=dry_run, verbose=ctx.verbose)
    finally:
        instance.dispose()
    emit_import_result(ctx, run.result)
    if run.result.failed or not run.success:
        raise import_failed(run.result)


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
    documents = [result.to_json() for result in rows]
    flat = [{**{k: v for k, v in r.items() if k != "counts"}, **r["counts"]} for r in documents]
    columns = ["id", "source_id", "status", "started_at", "created", "updated", "unchanged", "failed"]
    emit(ctx, documents, lambda _: table(flat, columns, "no import results yet"))


@command(results, "show")
@click.argument("result_id")
def results_show(ctx: Context, result_id: str) -> None:
    """Show an import result with its items (retention may have removed some unchanged ones: `pruned` says)."""
    emit_import_result(ctx, ctx.catalog.get_result(result_id, items=False))


@command(results, "prune")
def results_prune(ctx: Context) -> None:
    """Apply the retention rules now (the `prune_results` schedule does it hourly): delete results older than
    DATA_AGENT_RESULTS_MAX_AGE_DAYS and trim unchanged items beyond DATA_AGENT_RESULTS_UNCHANGED_ITEMS_KEPT."""
    from datetime import timedelta

    from ..catalog.retention import prune_results

    report = prune_results(
        ctx.catalog,
        max_age=timedelta(days=ctx.settings.results_max_age_days),
        unchanged_kept=ctx.settings.results_unchanged_items_kept,
    )
    emit(
        ctx,
        report.to_json(),
        lambda r: (
            f"deleted {r['results_deleted']} old results ({r['items_deleted']} items); removed"
            f" {r['items_pruned']} unchanged items from {r['results_trimmed']} results ({r['seconds']} s)"
        ),
    )


# -- demo -------------------------------------------------------------------------------------------------------


@command(cli, "demo")
def demo(ctx: Context) -> None:
    """Seed a demo service and source from the sample feed shipped in the package and import it (no network)."""
    from ..demo import run_demo

    run = run_demo(ctx.settings, ctx.catalog)
    emit_import_result(ctx, run.result)
    if not ctx.as_json:
        click.echo(run.instructions)
    if run.result.failed:
        raise import_failed(run.result)


SHOWN_PROBLEMS = 50


def import_failed(result: ImportResult) -> DataAgentError:
    """The one line a failed import leaves on stderr (exit 1); the run's log in the UI has the details."""
    error = result.error or "the run failed after the import (see the run's log)"
    return DataAgentError(f"import of source {result.source_id} failed: {error} (run {result.run_id})")


def emit_import_result(ctx: Context, result: ImportResult) -> None:
    """An ImportResult with its items, streamed from the catalog: an import may list millions of them."""
    from ..catalog.retention import pruning

    pruned = pruning(ctx.catalog, result.id)
    if not ctx.as_json:
        problems = ctx.catalog.iter_result_items(result.id, outcomes=("failed", "skipped"), limit=SHOWN_PROBLEMS + 1)
        click.echo(_result_text(result, list(problems), pruned))
        return
    document = result.to_json()
    document.pop("items", None)
    document["pruned"] = pruned
    header = json.dumps(document, indent=2, ensure_ascii=False, default=str)
    out = sys.stdout
    out.write(header[: -len("\n}")] + ',\n  "items": [')
    separator = "\n    "
    for item in ctx.catalog.iter_result_items(result.id):
        out.write(separator + json.dumps(item.to_json(), ensure_ascii=False, default=str))
        separator = ",\n    "
    out.write("\n  ]\n}\n" if separator != "\n    " else "]\n}\n")
    out.flush()


def _result_text(result: ImportResult, problems: list[ItemOutcome], pruned: dict[str, Any] | None) -> str:
    counts = ", ".join(f"{n} {k}" for k, n in result.counts.items() if n) or "no items"
    lines = [
        f"import {result.id} of source {result.source_id}: {result.status.upper()}"
        + (" (dry run)" if result.dry_run else ""),
        f"  {counts}",
    ]
    if result.error:
        lines.append(f"  error: {result.error}")
    held_back = result.held_back
    if held_back and not result.error:
        verb = {"unpublish": "unpublished", "delete": "deleted"}[held_back.action]
        lines.append(f"  held back: {held_back.count} assets not {verb}: {held_back.reason}")
    lines.extend(f"  note: {note}" for note in result.notes)
    if pruned:
        lines.append(f"  pruned: {pruned['items']} {pruned['outcome']} items removed by retention at {pruned['at']}")
    if problems:
        rows = [item.to_json() for item in problems[:SHOWN_PROBLEMS]]
        lines.append(table(rows, ["outcome", "external_id", "reason"], ""))
        if len(problems) > SHOWN_PROBLEMS:
            lines.append(f"  … and more (see `data-agent results show {result.id} --json`)")
    lines.append(f"  run {result.run_id}" if result.run_id else "")
    return "\n".join(line for line in lines if line)
