"""One import, as four plain-Python steps (docs/architecture.md, One import) that `orchestration/` runs as Dagster ops.

fetch -> normalise -> reconcile -> write. Between steps, items travel through scratch files in the run's work
folder, so memory stays flat however large the origin is. A step that receives a failed upstream passes the
failure on; `write` always records an ImportResult.
"""

from __future__ import annotations

import errno
import json
import os
import pickle
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from . import net
from .catalog.assets import asset_json_to_columns
from .catalog.store import Catalog
from .clock import new_id
from .connectors.base import ConnectorUnavailable, Fetched, KnownItem, SkipsKnownItems, source_timeout
from .connectors.registry import connector_for
from .connectors.standard_keys import apply_standard_keys
from .errors import DataAgentError
from .limits import MAX_EXTERNAL_ID, OverLimit, bound_asset, bound_encoded, clip, encode_within_limits, storable
from .model import (
    JSON_FIELDS,
    Asset,
    AssetWrite,
    HeldBack,
    ImportResult,
    ImportStatus,
    ItemFailure,
    ItemOutcome,
    KnownAsset,
    Outcome,
    RunRecorded,
    Source,
    canonical_json,
    empty_counts,
    encode_asset,
)
from .model.item_runs import PlainRun
from .reconcile import (
    Current,
    Incoming,
    Recognised,
    RecognisedRun,
    Removal,
    decide,
    decide_recognised,
    decide_recognised_run,
    needs_current,
    plan_removals,
)

BATCH = 2000
_STRICT_JSON = json.JSONEncoder(allow_nan=False, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
MAX_FAILED_DATA_CHARS = 4000
MAX_REASON_CHARS = 1000  # one reason, error or remark of an item
MAX_ERRORS = 50
MAX_JOINED_REASON_CHARS = 8000  # all the remarks on one item together
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def disk_full_message(exc: OSError, where: Path) -> str | None:
    """The error of an import whose scratch files no longer fit on the disk; None for any other OSError."""
    if exc.errno not in _DISK_FULL:
        return None
    return (
        f"the disk is full: the run's scratch files in {where} do not fit ({exc.strerror});"
        " free space there (or point DATA_AGENT_HOME at a larger disk) and import again"
    )


def remove_workdir(work_root: Path, run_id: str) -> None:
    """Remove a run's work folder (nothing happens when it is gone already)."""
    shutil.rmtree(work_root / run_id, ignore_errors=True)


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
    outcomes: Path | None = None  # the plan: one ItemOutcome per item and per removal
    writes: Path | None = None  # the plan: the AssetWrites to apply
    parser: str | None = None
    complete: bool = True
    items_read: int = 0
    planned_at: datetime | None = None  # when reconcile read the catalog: later changes there are not overwritten
    removal: Removal | None = None
    notes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=empty_counts)
    # By external id: the writes the catalog refused (the item fails alone; see Catalog.write_assets).
    refused: dict[str, str] = field(default_factory=dict)
    # What recording the import on its source changed (streak, pause, recovery); set by `write`.
    recorded: RunRecorded | None = None

    def fail(self, message: str) -> ImportState:
        self.error = message
        return self


@dataclass(frozen=True)
class DigestUpdate:
    """A planned write of an unchanged asset's origin digest only (its item was mapped: the digest was new)."""

    asset_id: str
    origin_digest: str


# Scratch records are pickled as (kind, field values), a chunk of them per pickle: plain tuples pickle several
# times faster than dataclass instances, and one pickle per record costs more than the record itself.
_RECORD_KINDS: tuple[type, ...] = (
    Incoming,
    ItemOutcome,
    AssetWrite,
    Recognised,
    DigestUpdate,
    RecognisedRun,
    PlainRun,
)
Record = Incoming | ItemOutcome | AssetWrite | Recognised | DigestUpdate | RecognisedRun | PlainRun
_KIND_NUMBERS = {kind: number for number, kind in enumerate(_RECORD_KINDS)}
_CHUNK = 500
# Consecutive recognised items without CMS edits travel as one record of at most this many (an unchanged
# re-import is nearly all of them: a record each cost more than recognising the item).
_RUN = 1000


class _ScratchWriter:
    """Appends records to a scratch file in pickled chunks; `close` writes the last chunk."""

    def __init__(self, handle: BinaryIO):
        self.handle = handle
        self.chunk: list[tuple[int, tuple[Any, ...]]] = []

    def add(self, record: Record) -> None:
        self.chunk.append((_KIND_NUMBERS[type(record)], tuple(vars(record).values())))
        if len(self.chunk) >= _CHUNK:
            self.flush()

    def flush(self) -> None:
        if self.chunk:
            pickle.dump(self.chunk, self.handle, pickle.HIGHEST_PROTOCOL)
            self.chunk = []


@contextmanager
def _scratch(path: Path) -> Iterator[_ScratchWriter]:
    with path.open("wb") as handle:
        writer = _ScratchWriter(handle)
        yield writer
        writer.flush()


def _records(path: Path | None) -> Iterator[Any]:
    if path is None:
        return
    kinds = _RECORD_KINDS
    with path.open("rb") as handle:
        while True:
            try:
                chunk = pickle.load(handle)  # noqa: S301 - a scratch file this run wrote itself
            except EOFError:
                return
            for kind, values in chunk:
                yield kinds[kind](*values)


def fetch(
    catalog: Catalog,
    http: net.HttpClient,
    source_id: str,
    *,
    run_id: str | None,
    work_root: Path,
    dry_run: bool = False,
    max_seconds: float | None = None,
) -> ImportState:
    """Load the source and fetch what its origin has; a 304 or an identical payload ends the import early.

    `max_seconds` shortens the source's own fetch deadline (`--option timeout`) for a caller who waits (the API's
    preview); every connector and the HTTP client honour that deadline.
    """
    source = catalog.get_source(source_id)
    if max_seconds is not None and source_timeout(source) > max_seconds:
        source.options = {**source.options, "timeout": str(max_seconds)}
    workdir = work_root / (run_id or new_id("run"))
    workdir.mkdir(parents=True, exist_ok=True)
    state = ImportState(source=source, run_id=run_id, started_at=catalog.clock(), workdir=workdir, dry_run=dry_run)
    try:
        connector = connector_for(source.kind)
        state.fetched = connector.fetch(source, http, workdir)
    except (net.FetchError, ConnectorUnavailable, DataAgentError) as exc:
        return state.fail(str(exc))
    except OSError as exc:
        return state.fail(_disk_full_or_raise(exc, workdir))
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
    """The raw item of a failed outcome, at most MAX_FAILED_DATA_CHARS of it: as text when it had to be cut or
    held what the catalog cannot store (NaN or Infinity, which JSONB refuses; NUL; unpaired surrogates)."""
    if data is None or isinstance(data, str):
        text = data or ""
    else:
        try:
            text = _STRICT_JSON.encode(data)
        except (TypeError, ValueError, RecursionError):
            text = repr(data)[: MAX_FAILED_DATA_CHARS + 1]
            return clip(text, MAX_FAILED_DATA_CHARS + 1)
    if len(text) > MAX_FAILED_DATA_CHARS or storable(text) != text or "\\u0000" in text:
        return clip(text.replace("\\u0000", ""), MAX_FAILED_DATA_CHARS + 1)
    return data


def _failed(external_id: str | None, reason: str, errors: list[str], data: Any = None) -> ItemOutcome:
    """A failed outcome whose every text the catalog can store, however the item looked."""
    return ItemOutcome(
        Outcome.FAILED,
        None if external_id is None else clip(str(external_id), MAX_EXTERNAL_ID + 1),
        reason=clip(reason, MAX_REASON_CHARS),
        errors=[clip(str(error), MAX_REASON_CHARS) for error in errors[:MAX_ERRORS]],
        data=_clip(data),
    )


def _stage(
    item: Asset | ItemFailure | KnownItem, seen: set[str], reported: set[str], known: dict[str, KnownAsset]
) -> Incoming | ItemOutcome | Recognised | None:
    """One parsed item as a staged record; None for a repeat of an id already reported as duplicate."""
    if isinstance(item, KnownItem):
        # The connector applied the first-occurrence rule: a recognised item is the first with its id.
        seen.add(item.external_id)
        asset = known[item.origin_digest]
        return Recognised(item.external_id, asset.id, asset.edited_fields)
    if not isinstance(item, Asset):
        if item.external_id:
            seen.add(item.external_id)  # a failed item is still in the origin: its asset has not vanished
        return _failed(item.external_id, item.reason, list(item.errors), item.data)
    if item.external_id in seen:
        if item.external_id in reported:
            return None
        reported.add(item.external_id)
        reason = f"duplicate id {clip(item.external_id, 100)!r} in this document: only its first occurrence counts"
        return _failed(item.external_id, reason, [])
    seen.add(item.external_id)
    try:
        warnings = apply_standard_keys(item)
        encoded = encode_within_limits(item)  # nearly every item: held to the limits and encoded in one pass
        if encoded is None:
            warnings += bound_asset(item)
            encoded = encode_asset(item)
        bound_encoded(encoded.columns)
    except OverLimit as exc:
        return _failed(item.external_id, str(exc), [])
    except (TypeError, ValueError, AttributeError, OverflowError) as exc:  # a connector produced a wrong type
        errors = [f"{type(exc).__name__}: {exc}"]
        return _failed(item.external_id, "the item could not be converted to an asset", errors)
    remarks = [clip(remark, MAX_REASON_CHARS) for remark in (*item.notes, *warnings)]
    # An item with remarks is mapped every time, so that every result repeats them.
    digest = None if remarks else item.origin_digest
    return Incoming(
        item.external_id,
        encoded.content_hash,
        encoded.field_hashes,
        encoded.columns,
        remarks,
        digest,
        clip(item.unpublished, MAX_REASON_CHARS) if item.unpublished else None,
    )


def normalise(catalog: Catalog, state: ImportState) -> ImportState:
    """Parse what was fetched into assets, one item at a time, staging them to a file with their content hash.

    Items the connector recognises by their origin digest (the raw item the asset was imported from) are staged
    as `Recognised` without being mapped.
    """
    if state.error or state.unchanged:
        return state
    assert state.fetched is not None
    state.staged = state.workdir / "staged.pickle"
    seen: set[str] = set()
    reported: set[str] = set()
    known: dict[str, KnownAsset] = {}
    try:
        parse = connector_for(state.source.kind).parse(state.source, state.fetched)
        if isinstance(parse, SkipsKnownItems):
            known = catalog.known_origin_digests(state.source.id, policy=state.source.truth)
            parse.skip_known(known)
        with _scratch(state.staged) as staged:
            run: list[tuple[str, str]] = []
            for item in parse:
                state.items_read += 1
                if isinstance(item, KnownItem):
                    asset = known[item.origin_digest]
                    if not asset.edited_fields:
                        # The connector applied the first-occurrence rule: a recognised item is the first with its id.
                        seen.add(item.external_id)
                        run.append((item.external_id, asset.id))
                        if len(run) >= _RUN:
                            staged.add(RecognisedRun(run))
                            run = []
                        continue
                record = _stage(item, seen, reported, known)
                if record is not None:
                    if run:
                        staged.add(RecognisedRun(run))
                        run = []
                    staged.add(record)
            if run:
                staged.add(RecognisedRun(run))
    except DataAgentError as exc:
        return state.fail(str(exc))
    except OSError as exc:
        return state.fail(_disk_full_or_raise(exc, state.workdir))
    state.parser = parse.parser
    state.complete = state.complete and parse.complete
    state.notes.extend(parse.notes)
    return state


def _batches(path: Path) -> Iterator[list[Any]]:
    """The staged records in batches of about BATCH items (a run of recognised items counts as its items)."""
    batch: list[Any] = []
    size = 0
    for record in _records(path):
        batch.append(record)
        size += len(record.members) if isinstance(record, RecognisedRun) else 1
        if size >= BATCH:
            yield batch
            batch = []
            size = 0
    if batch:
        yield batch


def _disk_full_or_raise(exc: OSError, where: Path) -> str:
    message = disk_full_message(exc, where)
    if message is None:
        raise exc
    return message


def reconcile(catalog: Catalog, state: ImportState) -> ImportState:
    """Compare staged items with the catalog in batches (one lookup per batch), plan removals, write the plan."""
    if state.error or state.unchanged:
        return state
    try:
        return _reconcile(catalog, state)
    except OSError as exc:
        return state.fail(_disk_full_or_raise(exc, state.workdir))


def _reconcile(catalog: Catalog, state: ImportState) -> ImportState:
    assert state.staged is not None
    source = state.source
    state.planned_at = catalog.clock()
    state.outcomes = state.workdir / "outcomes.pickle"
    state.writes = state.workdir / "writes.pickle"
    make_id = _asset_ids().__next__
    present: set[str] = set()
    with _scratch(state.outcomes) as outcomes, _scratch(state.writes) as writes:
        # Consecutive plain outcomes (a first import is nearly all of them) travel as one PlainRun, not one each.
        run = PlainRun(Outcome.CREATED, [])
        for batch in _batches(state.staged):
            for record in batch:
                if isinstance(record, RecognisedRun):
                    present.update(external_id for external_id, _ in record.members)
                elif record.external_id:
                    present.add(record.external_id)
            for outcome, write in _decide_batch(catalog, source, batch, make_id):
                if write is not None:
                    writes.add(write)
                if isinstance(outcome, ItemOutcome) and outcome.outcome in _RUN_OUTCOMES and _says_nothing(outcome):
                    state.counts[str(outcome.outcome)] += 1
                    if run.members and (run.outcome != outcome.outcome or len(run.members) >= _RUN):
                        outcomes.add(run)
                        run = PlainRun(outcome.outcome, [])
                    run.outcome = outcome.outcome
                    run.members.append((outcome.external_id, outcome.asset_id))
                    continue
                if run.members:
                    outcomes.add(run)
                    run = PlainRun(Outcome.CREATED, [])
                state.counts[str(outcome.outcome)] += len(outcome.members) if isinstance(outcome, PlainRun) else 1
                outcomes.add(outcome)
        if run.members:
            outcomes.add(run)
        state.removal = _plan_removal(catalog, state, present)
        removal = state.removal
        if removal is not None and removal.held_back is None:
            for outcome in removal.outcomes():
                state.counts[str(outcome.outcome)] += 1
                outcomes.add(outcome)
    if removal is not None and removal.held_back is not None:
        verb = "unpublished" if removal.action == "unpublish" else "deleted"
        message = f"held back: {len(removal.assets)} assets would have been {verb}, but {removal.held_back}"
        if state.complete:
            # The origin looks complete yet would lose too much (or everything): apply nothing, ask a human.
            state.error = f"nothing was applied: {message}"
        else:
            state.notes.append(message)
    return state


_RUN_OUTCOMES = frozenset((Outcome.CREATED, Outcome.UPDATED, Outcome.UNCHANGED))


def _says_nothing(outcome: ItemOutcome) -> bool:
    """An outcome with nothing but its outcome and ids: it can travel in a PlainRun."""
    return outcome.reason is None and not outcome.errors and not outcome.kept_fields and outcome.data is None


def _asset_ids() -> Iterator[str]:
    """New asset ids, as `new_id("ast")` writes them (20 random hex digits), drawn from the OS a batch at a time:
    one uuid4 per asset cost more than deciding the item."""
    while True:
        digits = os.urandom(10 * BATCH).hex()
        for start in range(0, len(digits), 20):
            yield f"ast_{digits[start : start + 20]}"


def _decide_batch(
    catalog: Catalog, source: Source, batch: list[Any], make_id: Any
) -> Iterator[tuple[ItemOutcome | PlainRun, AssetWrite | DigestUpdate | None]]:
    incoming = [record for record in batch if isinstance(record, Incoming)]
    existing = catalog.existing_assets(source.id, [item.external_id for item in incoming])
    wanted = [
        existing[item.external_id].id
        for item in incoming
        if needs_current(item, existing.get(item.external_id), source.truth)
    ]
    current = {
        asset_id: Current(values, hashes) for asset_id, (values, hashes) in catalog.current_state(wanted).items()
    }
    for record in batch:
        if isinstance(record, ItemOutcome):
            yield record, None
            continue
        if isinstance(record, Recognised):
            yield decide_recognised(record, policy=source.truth), None
            continue
        if isinstance(record, RecognisedRun):
            for outcome in decide_recognised_run(record, policy=source.truth):
                yield outcome, None
            continue
        found = existing.get(record.external_id)
        decision = decide(
            record,
            found,
            current.get(found.id) if found else None,
            policy=source.truth,
            new_id=make_id,
            to_columns=_columns,
        )
        if record.warnings:
            reason = "; ".join(filter(None, [decision.outcome.reason, *record.warnings]))
            decision.outcome.reason = clip(reason, MAX_JOINED_REASON_CHARS)
        if (
            decision.write is None
            and found is not None
            and record.origin_digest is not None
            and found.origin_digest != record.origin_digest
        ):
            # Unchanged, but read from a new raw form (or by new code): the next import can recognise it.
            yield decision.outcome, DigestUpdate(found.id, record.origin_digest)
            continue
        yield decision.outcome, decision.write


def _columns(values: dict[str, Any]) -> dict[str, Any]:
    """Column values of JSON-form fields (the CMS values a merge keeps), JSON fields as canonical text."""
    columns = asset_json_to_columns(values)
    return {
        name: canonical_json(value) if name in JSON_FIELDS and value is not None else value
        for name, value in columns.items()
        if name in values
    }


def _plan_removal(catalog: Catalog, state: ImportState, present: set[str]) -> Removal | None:
    source = state.source
    if source.on_missing == "keep":
        return None
    # The guard's fraction is of what the rule can still remove: unpublishing counts published assets only,
    # or a rotating feed's unpublished past would let one broken fetch unpublish everything that is live.
    total = 0
    vanished: list[tuple[str, str]] = []
    for external_id, asset_id, status in catalog.source_assets(source.id):
        if source.on_missing == "unpublish" and status != "published":
            continue
        total += 1
        if external_id not in present:
            vanished.append((external_id, asset_id))
    return plan_removals(
        on_missing=source.on_missing,
        vanished=vanished,
        source_asset_count=total,
        items_seen=state.items_read,
        complete=state.complete,
        max_fraction=source.max_removal_fraction,
    )


def _status(state: ImportState) -> ImportStatus:
    if state.error:
        return ImportStatus.FAILED
    if state.unchanged:
        return ImportStatus.UNCHANGED
    if state.counts["failed"]:
        return ImportStatus.PARTIAL
    return ImportStatus.SUCCEEDED


def _apply(catalog: Catalog, state: ImportState) -> None:
    """Upsert the planned assets in batches, then carry out the planned removals."""
    batch: list[AssetWrite] = []
    digests: list[tuple[str, str]] = []

    def flush() -> None:
        refused = catalog.write_assets(state.source, batch, imported_at=catalog.clock(), planned_at=state.planned_at)
        state.refused.update(refused)
        batch.clear()

    for record in _records(state.writes):
        if isinstance(record, DigestUpdate):
            digests.append((record.asset_id, record.origin_digest))
            continue
        batch.append(record)
        if len(batch) >= BATCH:
            flush()
    flush()
    catalog.record_origin_digests(digests)
    if state.refused:
        for record in _records(state.outcomes):
            for outcome in record.items() if isinstance(record, PlainRun) else (record,):
                if outcome.external_id in state.refused and outcome.outcome != Outcome.FAILED:
                    state.counts[str(outcome.outcome)] -= 1
                    state.counts[str(Outcome.FAILED)] += 1
    removal = state.removal
    if removal is not None and removal.held_back is None:
        catalog.remove_assets(removal.action, [asset_id for _, asset_id in removal.assets], at=catalog.clock())


def _recorded_outcomes(state: ImportState) -> Iterator[ItemOutcome | PlainRun]:
    """The outcomes to record: a failed import applied nothing, so only its failed items are true of it; an item
    whose write the catalog refused failed."""
    for record in _records(state.outcomes):
        if state.error and record.outcome != Outcome.FAILED:
            continue
        if isinstance(record, PlainRun):
            if not any(external_id in state.refused for external_id, _ in record.members):
                yield record
                continue
            for outcome in record.items():
                yield _as_refused(outcome, state.refused)
            continue
        yield _as_refused(record, state.refused)


def _as_refused(outcome: ItemOutcome, refused: dict[str, str]) -> ItemOutcome:
    """The outcome of an item whose write the catalog refused: failed, with the catalog's reason."""
    if outcome.outcome == Outcome.FAILED or outcome.external_id not in refused:
        return outcome
    asset_id = outcome.asset_id if outcome.outcome == Outcome.UPDATED else None
    return ItemOutcome(Outcome.FAILED, outcome.external_id, asset_id, reason=refused[outcome.external_id])


def write(catalog: Catalog, state: ImportState) -> ImportResult:
    """Apply the plan, record the ImportResult and the source's bookkeeping (which queues the import's
    notifications and says in `state.recorded` whether it paused or recovered the source); return the result."""
    source = state.source
    try:
        if not state.error and not state.unchanged and state.outcomes is not None:
            applied = sum(state.counts[name] for name in ("created", "updated", "unchanged", "skipped"))
            if state.counts["failed"] and not applied:
                state.error = f"none of the {state.counts['failed']} items could be imported: see the failed items"
            elif not state.dry_run:
                _apply(catalog, state)
        removal = state.removal
        held_back = None
        if removal is not None and removal.held_back is not None:
            held_back = HeldBack(removal.action, len(removal.assets), removal.held_back)
        result = ImportResult(
            id=new_id("res"),
            source_id=source.id,
            service=source.service,
            run_id=state.run_id,
            status=_status(state),
            dry_run=state.dry_run,
            started_at=state.started_at,
            finished_at=catalog.clock(),
            error=state.error,
            notes=list(state.notes),
            held_back=held_back,
            counts=dict(state.counts) if not state.error else empty_counts() | {"failed": state.counts["failed"]},
        )
        catalog.record_result(result, _recorded_outcomes(state))
        if not state.dry_run:
            validators = None
            if not state.error and state.fetched is not None and not state.fetched.not_modified:
                validators = {
                    "etag": state.fetched.etag,
                    "last_modified": state.fetched.last_modified,
                    "content_digest": state.fetched.digest if state.complete else None,
                }
                if state.fetched.sync_state is not None:  # incremental cursors advance only after a good import
                    validators["sync_state"] = state.fetched.sync_state
            state.recorded = catalog.record_run(
                source.id,
                status=str(result.status),
                error=state.error,
                ran_at=catalog.clock(),
                validators=validators,
                started_at=state.started_at,  # a manual import of a due source moves its next run on
                result_id=result.id,  # its notifications are queued with the bookkeeping
            )
        return result  # without its items: they stay in the catalog, there may be millions
    finally:
        shutil.rmtree(state.workdir, ignore_errors=True)
