"""Import benchmark (issue: the import job and a fast, faithful Media RSS importer).

Builds a synthetic Media RSS feed of N items shaped like an OVP export (a group of 3 renditions, 2 thumbnails,
keywords, rating, restriction, credits, dcterms:valid; ~1.6 KB per item), serves it on loopback and measures,
in this one process:

- the floor: lxml `iterparse` of the document plus one plain `executemany` insert of one row per item into a
  SQLite database of the same kind as the catalog (the median of three runs, each into a new database);
- feedparser parsing the same bytes, and the importer's own Media RSS parser mapping every item to an asset;
- the fixed cost of one Dagster run: a job of four ops that do nothing, executed in process on the same
  instance as the imports (the median of three), which every import pays before it reads a byte;
- the full `import_source` job (Dagster, in process, SQLite catalog and instance): a first import, an unchanged
  re-import (the feed's lastBuildDate moves: every item is read and recognised by its origin digest), a
  re-import of the
  byte-identical document (ends at the conditional GET), and a re-import with 10% of the items changed;
- peak RSS of the process after the import phases (feedparser runs last: its memory would mask ours). The
  feeds are written to files and served from there, so the benchmark itself never holds a document.

Prints figures and ratios; asserts nothing. `--json` prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MEDIA = "http://search.yahoo.com/mrss/"


def make_item(i: int, *, revision: int = 0) -> str:
    title = f"Episode {i} of the long running series" + (f" (rev {revision})" if revision else "")
    return f"""  <item>
    <guid isPermaLink="false">video-{i:07d}</guid>
    <title>{title}</title>
    <link>https://www.example.com/videos/{i}</link>
    <description>In this episode the presenters travel along the coast, meet the people who keep the old
      lighthouses running and ask what happens to them when the last keeper retires. Item number {i}.</description>
    <pubDate>Tue, 03 Jun 2025 09:{i % 60:02d}:21 GMT</pubDate>
    <media:group>
      <media:content url="https://cdn.example.com/v/{i}/master.m3u8" type="application/x-mpegURL" isDefault="true"
        duration="1325" medium="video"/>
      <media:content url="https://cdn.example.com/v/{i}/1080.mp4" type="video/mp4" bitrate="5000" width="1920"
        height="1080" duration="1325" medium="video"/>
      <media:content url="https://cdn.example.com/v/{i}/720.mp4" type="video/mp4" bitrate="2500" width="1280"
        height="720" duration="1325" medium="video"/>
    </media:group>
    <media:thumbnail url="https://img.example.com/v/{i}/large.jpg" width="1280" height="720"/>
    <media:thumbnail url="https://img.example.com/v/{i}/small.jpg" width="320" height="180"/>
    <media:keywords>travel, coast, lighthouse, documentary, series</media:keywords>
    <media:rating scheme="urn:mpaa">pg</media:rating>
    <media:restriction relationship="allow" type="country">gb ie fr de nl</media:restriction>
    <media:credit role="director">Jane Doe</media:credit>
    <media:credit role="producer">John Roe</media:credit>
    <dcterms:valid>start=2025-06-01T00:00:00Z; end=2030-12-31T23:59:59Z; scheme=W3C-DTF</dcterms:valid>
  </item>
"""


def write_feed(path: Path, n: int, *, changed_every: int = 0, build: str = "Tue, 03 Jun 2025 10:00:00 GMT") -> Path:
    """Write the feed item by item: the benchmark must not hold the document itself (it would be the peak)."""
    with path.open("w", encoding="utf-8") as out:
        out.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"'
            ' xmlns:dcterms="http://purl.org/dc/terms/">\n<channel>\n<title>Benchmark channel</title>\n'
            "<link>https://www.example.com/</link>\n<description>Synthetic OVP export</description>\n"
            f"<lastBuildDate>{build}</lastBuildDate>\n"
        )
        for i in range(n):
            out.write(make_item(i, revision=1 if changed_every and i % changed_every == 0 else 0))
        out.write("</channel>\n</rss>\n")
    return path


@contextmanager
def serve_folder(folder: Path) -> Iterator[str]:
    """Serve the files of `folder` on loopback until the block ends; yields the base URL."""
    handler = partial(SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None  # type: ignore[assignment]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def floor_seconds(path: Path, db_path: Path) -> float:
    """lxml iterparse of the document + one executemany of one row per item, in WAL mode like the catalog."""
    started = time.perf_counter()
    rows = []
    for _event, element in etree.iterparse(str(path), events=("end",), tag="item", resolve_entities=False):
        rows.append((element.findtext("guid"), element.findtext("title"), element.findtext("description")))
        element.clear()
        while element.getprevious() is not None:
            del element.getparent()[0]
    connection = sqlite3.connect(db_path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE IF NOT EXISTS items (external_id TEXT PRIMARY KEY, title TEXT, body TEXT)")
    with connection:
        connection.executemany("INSERT OR REPLACE INTO items VALUES (?, ?, ?)", rows)
    connection.close()
    return time.perf_counter() - started


def median_seconds(measure: Callable[[int], float], runs: int = 3) -> float:
    return statistics.median(measure(run) for run in range(runs))


def mrss_parse_seconds(path: Path) -> float:
    """The importer's parser alone: stream the document and map every item to an asset (none known)."""
    from data_agent_pipelines.connectors.mrss.feed import parse_feed

    started = time.perf_counter()
    count = sum(1 for _ in parse_feed(path))
    elapsed = time.perf_counter() - started
    assert count
    return elapsed


def dagster_run_seconds(instance: Any) -> float:
    """One in-process run of a four-op job that does nothing, on the imports' instance: Dagster's fixed cost."""
    from dagster import in_process_executor, job, op

    @op
    def first() -> int:
        return 1

    @op
    def second(value: int) -> int:
        return value

    @op
    def third(value: int) -> int:
        return value

    @op
    def fourth(value: int) -> int:
        return value

    @job(executor_def=in_process_executor)
    def four_empty_ops() -> None:
        fourth(third(second(first())))

    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    started = time.perf_counter()
    assert four_empty_ops.execute_in_process(instance=instance, run_config=quiet).success
    return time.perf_counter() - started


def feedparser_seconds(path: Path) -> float:
    import feedparser

    data = path.read_bytes()  # given bytes, as the importer's fallback is; reading the file is not timed
    started = time.perf_counter()
    parsed = feedparser.parse(data)
    elapsed = time.perf_counter() - started
    assert parsed.entries
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--skip-feedparser", action="store_true", help="at large N feedparser takes minutes")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="import-bench-"))
    os.environ["DATA_AGENT_HOME"] = str(work / "home")
    os.environ["DAGSTER_HOME"] = str(work / "home" / "dagster")
    os.environ["DATA_AGENT_ALLOW_HOSTS"] = "127.0.0.1"
    os.environ.pop("DATA_AGENT_DATABASE_URL", None)

    from data_agent_pipelines.catalog.store import Catalog
    from data_agent_pipelines.launcher import run_import
    from data_agent_pipelines.orchestration.instance import open_instance
    from data_agent_pipelines.settings import get_settings
    from data_agent_pipelines.source_settings import SourceChanges, add_source, edit_source

    feeds = work / "feeds"
    feeds.mkdir()
    feed_path = write_feed(feeds / "first.xml", args.items)
    size = feed_path.stat().st_size
    figures: dict[str, float | int | str] = {
        "items": args.items,
        "document_mb": round(size / 1e6, 2),
        "bytes_per_item": round(size / args.items),
        "backend": "sqlite",
    }
    figures["floor_seconds"] = round(median_seconds(lambda run: floor_seconds(feed_path, work / f"floor{run}.db")), 3)
    write_feed(feeds / "unchanged.xml", args.items, build="Wed, 04 Jun 2025 10:00:00 GMT")
    write_feed(feeds / "changed.xml", args.items, changed_every=10, build="Thu, 05 Jun 2025 10:00:00 GMT")

    settings = get_settings()
    catalog = Catalog.open(settings)
    instance = open_instance(settings)
    figures["dagster_run_seconds"] = round(median_seconds(lambda _run: dagster_run_seconds(instance)), 3)
    catalog.add_service("bench")
    source_id = None

    with serve_folder(feeds) as base:
        for label, name in (
            ("first_import", "first.xml"),
            ("unchanged_reimport", "unchanged.xml"),
            ("identical_reimport", "unchanged.xml"),
            ("changed_10pct_reimport", "changed.xml"),
        ):
            url = f"{base}/{name}"
            if source_id is None:
                source_id = add_source(catalog, "bench", SourceChanges(name="bench", kind="mrss", url=url)).id
            elif catalog.get_source(source_id).url != url:
                edit_source(catalog, source_id, SourceChanges(url=url))
            started = time.perf_counter()
            run = run_import(catalog, instance, source_id)
            figures[f"{label}_seconds"] = round(time.perf_counter() - started, 3)
            figures[f"{label}_status"] = str(run.result.status)
    figures["import_peak_rss_mb"] = round(peak_rss_mb(), 1)
    instance.dispose()
    catalog.close()

    figures["mrss_parse_seconds"] = round(mrss_parse_seconds(feed_path), 3)
    if not args.skip_feedparser:
        figures["feedparser_seconds"] = round(feedparser_seconds(feed_path), 3)
    floor = float(figures["floor_seconds"])
    for label in ("dagster_run", "first_import", "unchanged_reimport", "identical_reimport", "changed_10pct_reimport"):
        figures[f"{label}_vs_floor"] = round(float(figures[f"{label}_seconds"]) / floor, 2)
    if "feedparser_seconds" in figures:
        for label in ("first_import", "mrss_parse"):
            figures[f"feedparser_vs_{label}"] = round(
                float(figures["feedparser_seconds"]) / float(figures[f"{label}_seconds"]), 2
            )
    if args.json:
        print(json.dumps(figures))
    else:
        width = max(map(len, figures))
        for key, value in figures.items():
            print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
