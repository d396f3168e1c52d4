"""`data-agent demo`: a first import on a fresh install, with no network.

The sample feed shipped in the package is served on loopback for the length of the import, so the demo goes
through the same fetch, parse, reconcile and write as any source. The demo source is then disabled: its URL
only lives while the demo runs, and the heartbeat must not keep failing on it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from typing import Any

from .catalog.store import Catalog
from .errors import Conflict
from .launcher import run_import
from .model import ImportResult
from .orchestration.instance import open_instance, ui_command
from .settings import Settings
from .source_settings import SourceChanges, add_source, edit_source

DEMO_SERVICE = "demo"
DEMO_SOURCE = "Demo feed"
FEED_PATH = "/demo_feed.xml"


@dataclass
class DemoRun:
    result: ImportResult
    instructions: str


def _feed_bytes() -> bytes:
    return files("data_agent_pipelines").joinpath("sample_data/demo_feed.xml").read_bytes()


@contextmanager
def serve_feed(body: bytes) -> Iterator[str]:
    """Serve `body` at a loopback URL until the block ends."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # keep the demo's output clean
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{FEED_PATH}"
    finally:
        server.shutdown()
        server.server_close()


def _demo_source_id(catalog: Catalog, url: str) -> str:
    with suppress(Conflict):
        catalog.add_service(DEMO_SERVICE)
    existing = [s for s in catalog.list_sources(DEMO_SERVICE) if s.name == DEMO_SOURCE]
    if existing:
        return edit_source(catalog, existing[0].id, SourceChanges(url=url), allow_hosts=("127.0.0.1",)).id
    changes = SourceChanges(name=DEMO_SOURCE, kind="mrss", url=url, every="1h")
    return add_source(catalog, DEMO_SERVICE, changes, allow_hosts=("127.0.0.1",)).id


def run_demo(settings: Settings, catalog: Catalog) -> DemoRun:
    """Seed the demo service and source, import the sample feed once, and say how to look at it."""
    with serve_feed(_feed_bytes()) as url:
        source_id = _demo_source_id(catalog, url)
        instance = open_instance(settings)
        try:
            run = run_import(catalog, instance, source_id, extra_allow_hosts=("127.0.0.1",))
        finally:
            instance.dispose()
    catalog.set_enabled(source_id, False)
    instructions = "\n".join(
        [
            "",
            f"Demo service {DEMO_SERVICE!r}, source {source_id} ({DEMO_SOURCE}).",
            f"  data-agent assets list --service {DEMO_SERVICE}",
            f"  data-agent results show {run.result.id}",
            "Open the Dagster UI to see the run and the import_results materialization:",
            "  " + ui_command(settings),
            "  then browse http://127.0.0.1:3000",
            "The demo source is disabled: its feed was served only while the demo ran (`data-agent demo` again"
            " imports it again).",
        ]
    )
    return DemoRun(result=run.result, instructions=instructions)
