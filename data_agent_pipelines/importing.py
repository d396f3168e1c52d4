"""One import, as four plain-Python steps (DESIGN.md §3) that `orchestration/` runs as Dagster ops.

fetch -> normalise -> reconcile -> write. Between steps, items travel through scratch files in the run's work
folder, so memory stays flat however large the origin is. A step that receives a failed upstream passes the
failure on; `write` always records an ImportResult.
"""

from __future__ import annotations

import pickle
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

from . import net
from .catalog.store import Catalog
from .clock import new_id
from .connectors import ConnectorUnavailable, connector_for
from .connectors.base import Fetched
from .errors import DataAgentError
from .model import (
    Asset,
    ImportStatus,
    ItemFailure,
    ItemOutcome,
    Outcome,
    Source,
    asset_to_dict,
    content_hash,
    empty_counts,
    isoformat,
)
from .reconcile import Incoming, decide, needs_current_values

BATCH = 2000
MAX_FAILED_DATA_CHARS = 4000


@dataclass
class ImportState:
    """What travels from step to step: small, picklable, with the bulky parts in files under `workdir`."""

    source: Source
    run_id: str | None
    started_at: datetime
    workdir: Path
    dry_run: bool = False
    error: str | None = None
    unchanged: bool = False
    fetched: Fetched | None = None
    staged: Path | None = None
    plan: Path | None = None
    parser: str | None = None
    complete: bool = True
    items_read: int = 0
    notes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=empty_counts)

    def fail(self, message: str) -> ImportState:
        self.error = message
        return self


def _dump(handle: BinaryIO, record: Any) -> None:
    pickle.dump(record, handle, protocol=pickle.HIGHEST_PROTOCOL)


def _records(path: Path) -> Iterator[Any]:
    with path.open("rb") as handle:
        while True:
            try:
                yield pickle.load(handle)  # noqa: S301 - a scratch file this run wrote itself
            except EOFError:
                return


def fetch(
    catalog: Catalog,
    http: net.HttpClient,
    source_id: str,
    *,
    run_id: str | None,
    work_root: Path,
    dry_run: bool = False,
) -> ImportState:
    """Load the source and fetch what its origin has; a 304 or an identical payload ends the import early."""
    source = catalog.get_source(source_id)
    workdir = work_root / (run_id or new_id("run"))
    workdir.mkdir(parents=True, exist_ok=True)
    state = ImportState(source=source, run_id=run_id, started_at=catalog.clock(), workdir=workdir, dry_run=dry_run)
    try:
        connector = connector_for(source.kind)
        state.fetched = connector.fetch(source, http, workdir)
    except (net.FetchError, ConnectorUnavailable, DataAgentError) as exc:
        return state.fail(str(exc))
    if state.fetched.not_modified:
        state.unchanged = True
        state.notes.append("the origin answered 304 Not Modified")
    elif state.fetched.digest and state.fetched.digest == source.content_digest:
        state.unchanged = True
        state.notes.append("the origin returned the same document as last time")
    state.complete = state.fetched.complete
    state.notes.extend(state.fetched.notes)
    return state


def _clip(data: Any) -> Any:
    if isinstance(data, str) and len(data) > MAX_FAILED_DATA_CHARS:
        return data[:MAX_FAILED_DATA_CHARS] + "…"
    return data


def _stage(item: Asset | ItemFailure, seen: set[str], reported: set[str]) -> Incoming | ItemOutcome | None:
    """One parsed item as a staged record; None for a repeat of an id already reported as duplicate."""
    if not isinstance(item, Asset):
        errors = list(item.errors)
        return ItemOutcome(Outcome.FAILED, item.external_id, reason=item.reason, errors=errors, data=_clip(item.data))
    if item.external_id in seen:
        if item.external_id in reported:
            return None
        reported.add(item.external_id)
        reason = f"duplicate id {item.external_id!r} in this document: the first occurrence was imported"
        return ItemOutcome(Outcome.FAILED, item.external_id, reason=reason)
    seen.add(item.external_id)
    try:
        values = asset_to_dict(item)
    except (TypeError, ValueError, AttributeError) as exc:  # a connector produced a value of the wrong type
        reason = "the item could not be converted to an asset"
        return ItemOutcome(Outcome.FAILED, item.external_id, reason=reason, errors=[f"{type(exc).__name__}: {exc}"])
    values.pop("external_id")
    return Incoming(item.external_id, content_hash(values), values)


def normalise(state: ImportState) -> ImportState:
    """Parse what was fetched into assets, one item at a time, staging them to a file with their content hash."""
    if state.error or state.unchanged:
        return state
    assert state.fetched is not None
    state.staged = state.workdir / "staged.pickle"
    seen: set[str] = set()
    reported: set[str] = set()
    try:
        parse = connector_for(state.source.kind).parse(state.source, state.fetched)
        with state.staged.open("wb") as handle:
            for item in parse:
                state.items_read += 1
                record = _stage(item, seen, reported)
                if record is not None:
                    _dump(handle, record)
    except DataAgentError as exc:
        return state.fail(str(exc))
    state.parser = parse.parser
    state.complete = state.complete and parse.complete
    state.notes.extend(parse.notes)
    return state


def _batches(path: Path) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for record in _records(path):
        batch.append(record)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def reconcile(catalog: Catalog, state: ImportState) -> ImportState:
    """Compare staged items with the catalog in batches (one lookup per batch) and write the plan to a file."""
    if state.error or state.unchanged:
        return state
    assert state.staged is not None
    source = state.source
    state.plan = state.workdir / "plan.pickle"
    make_id = partial(new_id, "ast")
    with state.plan.open("wb") as handle:
        for batch in _batches(state.staged):
            incoming = [record for record in batch if isinstance(record, Incoming)]
            existing = catalog.existing_assets(source.id, [item.external_id for item in incoming])
            wanted = [
                existing[item.external_id].id
                for item in incoming
                if needs_current_values(item, existing.get(item.external_id), source.truth)
            ]
            current = catalog.current_values(wanted) if wanted else {}
            for record in batch:
                if isinstance(record, ItemOutcome):
                    state.counts[str(record.outcome)] += 1
                    _dump(handle, (record, None))
                    continue
                found = existing.get(record.external_id)
                decision = decide(
                    record, found, current.get(found.id) if found else None, policy=source.truth, new_id=make_id
                )
                state.counts[str(decision.outcome.outcome)] += 1
                _dump(handle, (decision.outcome, decision.write))
    return state


def _status(state: ImportState) -> ImportStatus:
    if state.error:
        return ImportStatus.FAILED
    if state.unchanged:
        return ImportStatus.UNCHANGED
    if state.counts["failed"]:
        return ImportStatus.PARTIAL
    return ImportStatus.SUCCEEDED


def write(catalog: Catalog, state: ImportState) -> dict[str, Any]:
    """Apply the plan in batches, record the ImportResult and the source's bookkeeping; return the result."""
    source = state.source
    try:
        if not state.error and not state.unchanged and state.plan is not None:
            if not state.dry_run:
                batch = []
                for _outcome, asset_write in _records(state.plan):
                    if asset_write is not None:
                        batch.append(asset_write)
                        if len(batch) >= BATCH:
                            catalog.write_assets(source, batch, imported_at=catalog.clock())
                            batch = []
                catalog.write_assets(source, batch, imported_at=catalog.clock())
            applied = sum(state.counts[name] for name in ("created", "updated", "unchanged", "skipped"))
            if state.counts["failed"] and not applied:
                state.error = f"none of the {state.counts['failed']} items could be imported: see the failed items"
        result = {
            "id": new_id("res"),
            "source_id": source.id,
            "service": source.service,
            "run_id": state.run_id,
            "status": str(_status(state)),
            "dry_run": state.dry_run,
            "started_at": isoformat(state.started_at),
            "finished_at": isoformat(catalog.clock()),
            "error": state.error,
            "notes": list(state.notes),
            "counts": dict(state.counts),
        }
        outcomes = (outcome for outcome, _write in _records(state.plan)) if state.plan else ()
        catalog.record_result(result, outcomes)
        if not state.dry_run:
            validators = None
            if not state.error and state.fetched is not None and not state.fetched.not_modified:
                validators = {
                    "etag": state.fetched.etag,
                    "last_modified": state.fetched.last_modified,
                    "content_digest": state.fetched.digest if state.complete else None,
                }
            catalog.record_run(
                source.id, status=result["status"], error=state.error, ran_at=catalog.clock(), validators=validators
            )
        return catalog.get_result(result["id"])
    finally:
        shutil.rmtree(state.workdir, ignore_errors=True)
