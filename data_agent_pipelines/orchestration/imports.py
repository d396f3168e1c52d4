"""The `import_source` job: fetch -> normalise -> reconcile -> write, one run per source partition.

No `from __future__ import annotations` here: Dagster reads the op and config annotations at definition time.
"""

from collections.abc import Iterator
from typing import Any

from dagster import (
    AssetKey,
    AssetMaterialization,
    AssetSpec,
    Config,
    Failure,
    MetadataValue,
    OpExecutionContext,
    Output,
    TableColumn,
    TableRecord,
    TableSchema,
    in_process_executor,
    job,
    op,
)

from .. import importing
from ..importing import ImportState
from ..model import parse_instant
from .partitions import sources_partitions
from .resources import CatalogResource, HttpResource

IMPORT_RESULTS = AssetKey("import_results")
MAX_FAILED_ROWS = 100

import_results_spec = AssetSpec(
    IMPORT_RESULTS,
    partitions_def=sources_partitions,
    description="The ImportResult of each import of a source: counts by outcome, status and failed items.",
    group_name="imports",
    kinds={"sqlalchemy"},
)


class ImportConfig(Config):
    """Launchpad settings of one import."""

    dry_run: bool = False


@op(description="Load the source and fetch its origin (conditional GET; pages for APIs).")
def fetch(
    context: OpExecutionContext, config: ImportConfig, catalog: CatalogResource, http: HttpResource
) -> ImportState:
    with http.client() as client:
        state = importing.fetch(
            catalog.catalog,
            client,
            context.partition_key,
            run_id=context.run_id,
            work_root=catalog.work_root,
            dry_run=config.dry_run,
        )
    size = f"{state.fetched.size:,} bytes" if state.fetched and state.fetched.path else _describe(state)
    context.log.info(f"fetched {state.source.name!r} ({state.source.kind}): {size}")
    return state


@op(description="Parse what was fetched into assets, one item at a time; unusable items become failed outcomes.")
def normalise(context: OpExecutionContext, state: ImportState) -> ImportState:
    state = importing.normalise(state)
    context.log.info(
        f"normalised with {state.parser or 'no parser'}: {state.items_read} items read, {_describe(state)}"
    )
    return state


@op(description="Compare the items with the catalog in bulk and plan creates, updates and skips.")
def reconcile(context: OpExecutionContext, state: ImportState, catalog: CatalogResource) -> ImportState:
    state = importing.reconcile(catalog.catalog, state)
    context.log.info(f"planned: {_describe(state)}")
    return state


@op(description="Apply the plan in batches, record the ImportResult and materialize `import_results`.")
def write(context: OpExecutionContext, state: ImportState, catalog: CatalogResource) -> Iterator[Any]:
    result = importing.write(catalog.catalog, state)
    yield AssetMaterialization(
        asset_key=IMPORT_RESULTS,
        partition=context.partition_key,
        description=f"{result['status']}: {result['error']}" if result["error"] else result["status"],
        metadata=result_metadata(result),
    )
    if result["status"] == "failed":
        raise Failure(
            description=f"import of source {state.source.id} failed: {result['error']}",
            metadata={"result_id": result["id"]},
        )
    yield Output(result["id"])


def result_metadata(result: dict[str, Any]) -> dict[str, Any]:
    """Materialization metadata: counts as integers (the UI plots them), status, ids, duration, failed items."""
    started = parse_instant(result["started_at"])
    finished = parse_instant(result["finished_at"])
    failed = [item for item in result["items"] if item["outcome"] == "failed"][:MAX_FAILED_ROWS]
    metadata: dict[str, Any] = {name: MetadataValue.int(value) for name, value in result["counts"].items()}
    metadata.update(
        status=MetadataValue.text(result["status"]),
        result_id=MetadataValue.text(result["id"]),
        source_id=MetadataValue.text(result["source_id"]),
        service=MetadataValue.text(result["service"]),
        dry_run=MetadataValue.bool(bool(result["dry_run"])),
        duration_seconds=MetadataValue.float(round((finished - started).total_seconds(), 3)),
        failed_items=MetadataValue.table(
            records=[TableRecord({"external_id": i["external_id"] or "", "reason": i["reason"] or ""}) for i in failed],
            schema=TableSchema(columns=[TableColumn("external_id", "string"), TableColumn("reason", "string")]),
        ),
    )
    if result["error"]:
        metadata["error"] = MetadataValue.text(result["error"])
    if result["notes"]:
        metadata["notes"] = MetadataValue.md("\n".join(f"- {note}" for note in result["notes"]))
    return metadata


def _describe(state: ImportState) -> str:
    if state.error:
        return f"failed: {state.error}"
    if state.unchanged:
        return "unchanged"
    return ", ".join(f"{count} {name}" for name, count in state.counts.items() if count) or "nothing planned yet"


@job(
    partitions_def=sources_partitions,
    executor_def=in_process_executor,
    description="Import one source into the catalog (partition = source id).",
    tags={"data_agent/job": "import"},
)
def import_source() -> None:
    write(reconcile(normalise(fetch())))
