"""One export, end to end, in plain Python: the service's assets -> one data object -> the manifest.

The data object goes under a new key (`PREFIX/YYYYMMDDTHHMMSSZ-RESULT_ID/assets.EXT`), streamed from the catalog
batch by batch through the format into a multipart upload. Only when it is complete is the manifest
`PREFIX/latest.json` written (one PutObject, atomic in S3): a reader who follows the manifest never sees a
half-written export, and a failed export leaves the previous manifest in place. Every export records an
ExportResult, failed ones too, with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..catalog.export_targets import ExportTargets
from ..catalog.store import Catalog
from ..clock import new_id
from ..errors import DataAgentError
from ..export_settings import check_endpoint
from ..model import ExportResult, ExportTarget, isoformat
from .formats import FORMATS, FeedInfo
from .s3 import DEFAULT_PART_SIZE, S3ObjectWriter, S3WriteError, WrittenObject, put_bytes

MANIFEST_NAME = "latest.json"
BATCH_SIZE = 2000

# Builds the S3 client of a target: the platform's own settings, or the customer's keys or role.
ClientFactory = Callable[[ExportTarget], Any]


def object_key(prefix: str, *parts: str) -> str:
    return "/".join(part for part in (prefix, *parts) if part)


def failed_result(
    target: ExportTarget,
    run_id: str | None,
    *,
    started_at: datetime,
    result_id: str | None = None,
    error: str | None = None,
) -> ExportResult:
    """An ExportResult with status `failed` and nothing written: what an export is until it succeeds.

    Without `result_id` it is a result that was never recorded (a run that died before it could export).
    """
    return ExportResult(
        id=result_id,
        target_id=target.id,
        service=target.service,
        run_id=run_id,
        format=target.format,
        started_at=started_at,
        error=error,
    )


def run_export(
    catalog: Catalog,
    target_id: str,
    client_for: ClientFactory,
    *,
    run_id: str | None = None,
    part_size: int = DEFAULT_PART_SIZE,
    batch_size: int = BATCH_SIZE,
) -> ExportResult:
    """Export the target's assets now and return the recorded ExportResult (status `succeeded` or `failed`).

    Raises NotFound for an unknown target and Conflict when an export of the target is already running; any
    other failure is caught, recorded in the result and returned.
    """
    targets = ExportTargets(catalog)
    target = targets.get(target_id)
    holder = run_id or new_id("run")
    targets.acquire(target.id, holder)
    try:
        result = _export(catalog, targets, target, client_for, run_id, part_size, batch_size)
        targets.record_result(result)
    finally:
        targets.release(target.id, holder)
    return result


def _export(
    catalog: Catalog,
    targets: ExportTargets,
    target: ExportTarget,
    client_for: ClientFactory,
    run_id: str | None,
    part_size: int,
    batch_size: int,
) -> ExportResult:
    started = catalog.clock()
    result_id = new_id("xres")
    fmt = FORMATS[target.format]
    result = failed_result(target, run_id, result_id=result_id, started_at=started)
    bucket, prefix = target.bucket, target.prefix
    key = object_key(prefix, f"{started.strftime('%Y%m%dT%H%M%SZ')}-{result_id}", f"assets.{fmt.extension}")
    try:
        endpoint = target.options.get("endpoint_url")
        if endpoint:
            # Checked again at run time: the name may resolve elsewhere than when the target was added.
            check_endpoint(endpoint, targets.allow_hosts, resolve=True)
        client = client_for(target)
        info = FeedInfo(
            service=target.service,
            title=target.options.get("title") or target.service,
            link=f"https://{bucket}.s3.amazonaws.com/{prefix}",
        )
        with S3ObjectWriter(client, bucket, key, content_type=fmt.content_type, part_size=part_size) as writer:
            batches = catalog.iter_asset_batches(
                target.service, source_id=target.source_id, asset_type=target.asset_type, batch_size=batch_size
            )
            count = fmt.write(batches, writer, info)
        assert writer.written is not None
        data = writer.written
        finished = catalog.clock()
        manifest_key = object_key(prefix, MANIFEST_NAME)
        manifest = _manifest(target, result_id, run_id, count, data, fmt.content_type, started, finished)
        put_bytes(client, bucket, manifest_key, manifest, content_type="application/json")
    except (S3WriteError, DataAgentError) as exc:
        result.error, result.finished_at = str(exc), catalog.clock()
        return result
    except Exception as exc:  # recorded, never raised: the result must say what failed
        result.error, result.finished_at = f"the export failed: {type(exc).__name__}: {exc}", catalog.clock()
        return result
    result.status, result.count, result.objects = "succeeded", count, [data.to_json()]
    result.manifest_key, result.finished_at = manifest_key, finished
    return result


def _manifest(
    target: ExportTarget,
    result_id: str,
    run_id: str | None,
    count: int,
    data: WrittenObject,
    content_type: str,
    started: Any,
    finished: Any,
) -> bytes:
    """What a reader needs to trust the export: the objects with their sizes and checksums, the run, the filters."""
    manifest = {
        "target_id": target.id,
        "service": target.service,
        "format": target.format,
        "content_type": content_type,
        "count": count,
        "objects": [{**data.to_json(), "count": count}],
        "result_id": result_id,
        "run_id": run_id,
        "started_at": isoformat(started),
        "finished_at": isoformat(finished),
        "filters": {"source_id": target.source_id, "asset_type": target.asset_type},
    }
    return json.dumps(manifest, indent=2, ensure_ascii=False).encode()
