"""`data-agent demo`: a first import on a fresh install, with no network.

The sample feed shipped in the package is copied into the local feed folder (`$DATA_AGENT_HOME/feeds` by default)
and the demo source reads it by its `file:///` URL, so the demo goes through the same fetch, parse, reconcile and
write as any source, and the source stays importable afterwards: from the UI (materialize its partition, re-execute
a run), the heartbeat, the API or the CLI.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import suppress
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from .catalog.store import Catalog
from .errors import Conflict, InvalidInput
from .launcher import run_import
from .model import ImportResult
from .orchestration.instance import open_instance, ui_command
from .settings import Settings
from .source_settings import SourceChanges, add_source, edit_source

DEMO_SERVICE = "demo"
DEMO_SOURCE = "Demo feed"
FEED_FILE = "demo_feed.xml"


@dataclass
class DemoRun:
    result: ImportResult
    instructions: str


def _feed_bytes() -> bytes:
    return files("data_agent_pipelines").joinpath(f"sample_data/{FEED_FILE}").read_bytes()


def place_feed(folder: Path) -> Path:
    """Write the sample feed into the local feed folder (atomically: an import may be reading the old copy)."""
    folder.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=folder, prefix=f".{FEED_FILE}.", suffix=".part")
    with os.fdopen(handle, "wb") as out:
        out.write(_feed_bytes())
    target = folder / FEED_FILE
    Path(name).replace(target)
    return target


def _demo_source_id(catalog: Catalog, url: str) -> str:
    with suppress(Conflict):
        catalog.add_service(DEMO_SERVICE)
    existing = [s for s in catalog.list_sources(DEMO_SERVICE) if s.name == DEMO_SOURCE]
    if existing:
        # A demo source of an earlier version read a loopback port and was disabled after the demo.
        source_id = edit_source(catalog, existing[0].id, SourceChanges(url=url)).id
        catalog.set_enabled(source_id, True)
        return source_id
    return add_source(catalog, DEMO_SERVICE, SourceChanges(name=DEMO_SOURCE, kind="mrss", url=url, every="1h")).id


def run_demo(settings: Settings, catalog: Catalog) -> DemoRun:
    """Seed the demo service and source, import the sample feed once, and say how to look at it."""
    if settings.feed_folder is None:
        raise InvalidInput(
            "the demo reads its sample feed from the local feed folder, which DATA_AGENT_FEED_FOLDER=off turns"
            " off: unset it (or name a folder) to run the demo"
        )
    feed = place_feed(settings.feed_folder)
    source_id = _demo_source_id(catalog, feed.as_uri())
    instance = open_instance(settings)
    try:
        run = run_import(catalog, instance, source_id)
    finally:
        instance.dispose()
    instructions = "\n".join(
        [
            "",
            f"Demo service {DEMO_SERVICE!r}, source {source_id} ({DEMO_SOURCE}), reading {feed.as_uri()}.",
            f"  data-agent assets list --service {DEMO_SERVICE}",
            f"  data-agent results show {run.result.id}",
            "Open the Dagster UI to see the run and the import_results materialization:",
            "  " + ui_command(settings),
            "  then browse http://127.0.0.1:3000",
            f"The source stays importable: materialize its partition in the UI, or `data-agent import {source_id}`.",
        ]
    )
    return DemoRun(result=run.result, instructions=instructions)
