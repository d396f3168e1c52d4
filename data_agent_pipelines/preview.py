"""A dry run in the caller's process, for the API's `POST …/imports?dry_run=true`: the plan, synchronously.

The same steps as an import run (importing.py: fetch, normalise, reconcile, write with `dry_run`), through the same
HTTP client and safety rules (net, `DATA_AGENT_ALLOW_HOSTS`, the document size limit), but bounded for a request
that someone waits on: the fetch has a total deadline of `PREVIEW_SECONDS`, the steps after it must end within that
budget too, and a process runs at most `MAX_CONCURRENT_PREVIEWS` at a time. Nothing is written to assets or to the
source's bookkeeping; the plan is recorded as a dry-run ImportResult (no Dagster run), readable page by page.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from . import importing, net
from .catalog.store import Catalog
from .errors import DataAgentError
from .importing import ImportState
from .model import ImportResult
from .settings import Settings

PREVIEW_SECONDS = 60.0
MAX_CONCURRENT_PREVIEWS = 2

_slots = threading.BoundedSemaphore(MAX_CONCURRENT_PREVIEWS)


class PreviewBusy(DataAgentError):
    """Every preview slot of this process is taken."""


class PreviewTooLong(DataAgentError):
    """The preview did not finish within its budget; nothing was recorded."""


def preview_import(
    catalog: Catalog,
    settings: Settings,
    source_id: str,
    *,
    budget_seconds: float = PREVIEW_SECONDS,
    monotonic: Callable[[], float] = time.monotonic,
) -> ImportResult:
    """Plan an import of the source now, in this process, and record the plan as a dry-run ImportResult.

    Raises NotFound for an unknown source, PreviewBusy when the process runs as many previews as it may, and
    PreviewTooLong when the steps overrun the budget (the fetch's own deadline ends a slow origin as a failed
    result instead). `monotonic` is the clock the budget is measured on (a seam for tests).
    """
    catalog.get_source(source_id)  # NotFound before a slot is taken
    if not _slots.acquire(blocking=False):
        raise PreviewBusy(
            f"{MAX_CONCURRENT_PREVIEWS} previews are running already; try again in a minute, or run"
            f" `data-agent import {source_id} --dry-run`"
        )
    try:
        return _plan(catalog, settings, source_id, budget_seconds, monotonic)
    finally:
        _slots.release()


def _plan(
    catalog: Catalog, settings: Settings, source_id: str, budget_seconds: float, monotonic: Callable[[], float]
) -> ImportResult:
    began = monotonic()
    policy = net.FetchPolicy(allow_hosts=settings.allow_hosts, max_bytes=settings.max_document_bytes)
    with net.HttpClient(policy) as client:
        state = importing.fetch(
            catalog,
            client,
            source_id,
            run_id=None,
            work_root=settings.work_dir,
            dry_run=True,
            max_seconds=budget_seconds,
        )
    try:
        for step in (importing.normalise, importing.reconcile):  # each passes a failed or unchanged state on
            _within_budget(state, monotonic() - began, budget_seconds)
            state = step(catalog, state)
        _within_budget(state, monotonic() - began, budget_seconds)
    except BaseException:  # an overrun, or a step that broke: its scratch files are of no more use
        importing.remove_workdir(state.workdir.parent, state.workdir.name)
        raise
    return importing.write(catalog, state)  # with dry_run: records the plan, applies nothing


def _within_budget(state: ImportState, elapsed: float, budget_seconds: float) -> None:
    # A failed or unchanged state has no work left: its result (a fetch past its deadline, say) says more.
    if state.error is None and not state.unchanged and elapsed > budget_seconds:
        raise PreviewTooLong(
            f"the preview of source {state.source.id} took longer than {budget_seconds:.0f} s and was stopped;"
            f" run `data-agent import {state.source.id} --dry-run` for a source this large"
        )
