"""Import benchmark (issue: the import job and a fast, faithful Media RSS importer).

Builds a synthetic Media RSS feed of N items shaped like an OVP export (a group of 3 renditions, 2 thumbnails,
keywords, rating, restriction, credits, dcterms:valid; ~1.6 KB per item), serves it on loopback and measures,
in this one process:

- the floor: lxml `iterparse` of the document plus one plain `executemany` insert of one row per item into a
  SQLite database of the same kind as the catalog (the median of three runs at the start and one after each
  repeat of the plain steps, each into a new database), in wall and in CPU time;
- feedparser parsing the same bytes, and the importer's own Media RSS parser mapping every item to an asset;
- the fixed cost of one Dagster run: a job of four ops that do nothing, executed in process on the same
  instance as the imports (the median of three), which every import pays before it reads a byte;
- the full `import_source` job (Dagster, in process, SQLite catalog and instance): a first import, an unchanged
  re-import (the feed's lastBuildDate moves: every item is read and recognised by its origin digest), a
  re-import of the
  byte-identical document (ends at the conditional GET), and a re-import with 10% of the items changed;
- the same four imports as the plain-Python steps (`importing.fetch`, `normalise`, `reconcile`, `write`), with no
  Dagster, `--repeat` times into new services (medians; CPU time too, which other processes on a shared machine
  disturb less than wall time): what the job adds is the difference;
- start-up, as whole processes (the median of five): `python -c pass`, `python -c "import dagster"` (what any
  process running a Dagster job pays first), `data-agent --help`, `data-agent sources list` and a whole
  `data-agent import` process that the origin answers with 304 Not Modified;
- peak RSS of the process after the import phases (feedparser runs last: its memory would mask ours). The
  feeds are written to files and served from there, so the benchmark itself never holds a document.

`--database-url postgresql://…` puts the catalog in a new database on that server (dropped at the end);
`--dagster-postgres postgresql://…` does the same for the Dagster instance's storage.

Prints figures and ratios; asserts nothing. `--json` prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
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


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """One line per request would bury the figures."""


@contextmanager
def serve_folder(folder: Path) -> Iterator[str]:
    """Serve the files of `folder` on loopback until the block ends; yields the base URL."""
    handler = partial(_QuietHandler, directory=str(folder))
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


def floor_seconds(path: Path, db_path: Path, cpu_times: list[float] | None = None) -> float:
    """lxml iterparse of the document + one executemany of one row per item, in WAL mode like the catalog
    (its CPU time appended to `cpu_times`)."""
    cpu = time.process_time()
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
    if cpu_times is not None:
        cpu_times.append(time.process_time() - cpu)
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


def plain_import_seconds(catalog: Any, source_id: str) -> tuple[str, dict[str, float]]:
    """One import as the four plain-Python steps, no Dagster: its status, and the wall time of the whole and of
    each step, with the process's CPU time of the whole (which another process's load on the machine disturbs
    less)."""
    from data_agent_pipelines import importing
    from data_agent_pipelines.net import FetchPolicy, HttpClient
    from data_agent_pipelines.settings import get_settings

    settings = get_settings()
    policy = FetchPolicy(allow_hosts=settings.allow_hosts, max_bytes=settings.max_document_bytes)
    cpu = time.process_time()
    started = time.perf_counter()
    with HttpClient(policy) as http:
        state = importing.fetch(catalog, http, source_id, run_id=None, work_root=settings.work_dir)
    marks = [("fetch", time.perf_counter())]
    state = importing.normalise(catalog, state)
    marks.append(("normalise", time.perf_counter()))
    state = importing.reconcile(catalog, state)
    marks.append(("reconcile", time.perf_counter()))
    result = importing.write(catalog, state)
    marks.append(("write", time.perf_counter()))
    times = {"seconds": marks[-1][1] - started, "cpu_seconds": time.process_time() - cpu}
    previous = started
    for step, at in marks:
        times[f"{step}_seconds"] = at - previous
        previous = at
    return str(result.status), times


def process_seconds(args: list[str], env: dict[str, str], runs: int = 5) -> tuple[float, int]:
    """The median wall time of a whole Python process running `args`, and its last exit status."""
    times = []
    code = 0
    for _ in range(runs):
        started = time.perf_counter()
        code = subprocess.run(
            [sys.executable, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
        ).returncode
        times.append(time.perf_counter() - started)
    return statistics.median(times), code


def startup_figures(source_id: str, figures: dict[str, Any]) -> None:
    """Whole processes: the interpreter alone, the CLI's help, a catalog command, an import answered by 304."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    cli = ["-m", "data_agent_pipelines.cli"]
    interpreter, _ = process_seconds(["-c", "pass"], env)
    figures["python_pass_seconds"] = round(interpreter, 3)
    # What any process that runs a Dagster job pays before our code does anything (issue 18: every CLI import is
    # a real Dagster run): the floor under `cli_import_304`.
    dagster_import, _ = process_seconds(["-c", "import dagster"], env)
    figures["python_import_dagster_seconds"] = round(dagster_import, 3)
    for label, args in (
        ("cli_help", [*cli, "--help"]),
        ("cli_sources_list", [*cli, "sources", "list"]),
        ("cli_import_304", [*cli, "import", source_id]),
    ):
        seconds, code = process_seconds(args, env)
        figures[f"{label}_seconds"] = round(seconds, 3)
        figures[f"{label}_exit"] = code
        figures[f"{label}_vs_python"] = round(seconds / interpreter, 2)


@contextmanager
def scratch_postgres(url: str | None, name: str) -> Iterator[str | None]:
    """A new database `name` on the server of `url` for the block (None: no PostgreSQL asked for)."""
    if url is None:
        yield None
        return
    import psycopg2
    from sqlalchemy.engine import make_url

    server = make_url(url)
    admin = psycopg2.connect(
        host=server.host, port=server.port or 5432, user=server.username, password=server.password, dbname="postgres"
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def write_dagster_postgres(dagster_home: Path, url: str) -> None:
    """The packaged instance configuration with its run, event and schedule storage in the database `url`."""
    from sqlalchemy.engine import make_url

    # As deploy/dagster.yaml says: SQLAlchemy reads a bare postgresql:// as psycopg 3; psycopg2 is what is installed.
    url = make_url(url).set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)
    packaged = (ROOT / "data_agent_pipelines" / "instance" / "dagster.yaml").read_text()
    dagster_home.mkdir(parents=True, exist_ok=True)
    storage = f"storage:\n  postgres:\n    postgres_url: {json.dumps(url)}\n\n"
    (dagster_home / "dagster.yaml").write_text(storage + packaged)


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
    parser.add_argument("--skip-job", action="store_true", help="only the plain steps (and no start-up figures)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the plain steps (medians are printed)")
    parser.add_argument("--database-url", help="a PostgreSQL server for the catalog (a new database on it)")
    parser.add_argument("--dagster-postgres", help="a PostgreSQL server for the Dagster instance (a new database)")
    args = parser.parse_args()
    tag = f"import_bench_{os.getpid()}"
    with (
        scratch_postgres(args.database_url, f"{tag}_catalog") as catalog_url,
        scratch_postgres(args.dagster_postgres, f"{tag}_dagster") as dagster_url,
    ):
        figures = run(args, catalog_url, dagster_url)
    if args.json:
        print(json.dumps(figures))
    else:
        width = max(map(len, figures))
        for key, value in figures.items():
            print(f"{key:<{width}}  {value}")


def run(args: argparse.Namespace, catalog_url: str | None, dagster_url: str | None) -> dict[str, Any]:
    """The figures, measured in a work folder that is removed afterwards (feeds and databases: ~0.8 GB at 100k)."""
    work = Path(tempfile.mkdtemp(prefix="import-bench-"))
    try:
        return measure(work, args, catalog_url, dagster_url)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure(work: Path, args: argparse.Namespace, catalog_url: str | None, dagster_url: str | None) -> dict[str, Any]:
    os.environ["DATA_AGENT_HOME"] = str(work / "home")
    os.environ["DAGSTER_HOME"] = str(work / "home" / "dagster")
    os.environ["DATA_AGENT_ALLOW_HOSTS"] = "127.0.0.1"
    os.environ.pop("DATA_AGENT_DATABASE_URL", None)
    if catalog_url:
        os.environ["DATA_AGENT_DATABASE_URL"] = catalog_url
    if dagster_url:
        write_dagster_postgres(work / "home" / "dagster", dagster_url)

    from data_agent_pipelines.catalog.store import Catalog
    from data_agent_pipelines.settings import get_settings
    from data_agent_pipelines.source_settings import SourceChanges, add_source, edit_source

    feeds = work / "feeds"
    feeds.mkdir()
    feed_path = write_feed(feeds / "first.xml", args.items)
    size = feed_path.stat().st_size
    figures: dict[str, Any] = {
        "items": args.items,
        "document_mb": round(size / 1e6, 2),
        "bytes_per_item": round(size / args.items),
        "backend": "postgresql" if catalog_url else "sqlite",
        "dagster_storage": "postgresql" if dagster_url else "sqlite",
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    floors: list[float] = []
    floor_cpu: list[float] = []

    def floor_sample(tag: str) -> None:
        floors.append(floor_seconds(feed_path, work / f"floor-{tag}.db", floor_cpu))

    for run in range(3):
        floor_sample(f"start{run}")
    write_feed(feeds / "unchanged.xml", args.items, build="Wed, 04 Jun 2025 10:00:00 GMT")
    write_feed(feeds / "changed.xml", args.items, changed_every=10, build="Thu, 05 Jun 2025 10:00:00 GMT")

    settings = get_settings()
    catalog = Catalog.open(settings)
    phases = (
        ("first_import", "first.xml"),
        ("unchanged_reimport", "unchanged.xml"),
        ("identical_reimport", "unchanged.xml"),
        ("changed_10pct_reimport", "changed.xml"),
    )
    labels = [label for label, _ in phases]

    with serve_folder(feeds) as base:

        def point(source_id: str | None, service: str, name: str) -> str:
            url = f"{base}/{name}"
            if source_id is None:
                catalog.add_service(service)
                return add_source(catalog, service, SourceChanges(name=service, kind="mrss", url=url)).id
            if catalog.get_source(source_id).url != url:
                edit_source(catalog, source_id, SourceChanges(url=url))
            return source_id

        # The plain steps `--repeat` times, each into a new service, a floor run between: medians of each.
        samples: dict[str, list[float]] = {}
        for repeat in range(args.repeat):
            plain_id = None
            for label, name in phases:
                plain_id = point(plain_id, f"plain{repeat}", name)
                status, times = plain_import_seconds(catalog, plain_id)
                figures[f"plain_{label}_status"] = status
                for key, value in times.items():
                    samples.setdefault(f"plain_{label}_{key}", []).append(value)
            floor_sample(f"repeat{repeat}")
        figures["floor_seconds"] = round(statistics.median(floors), 3)
        figures["floor_cpu_seconds"] = round(statistics.median(floor_cpu), 3)
        figures.update({key: round(statistics.median(values), 3) for key, values in samples.items()})
        figures["plain_peak_rss_mb"] = round(peak_rss_mb(), 1)
        if not args.skip_job:
            job_id = job_figures(catalog, point, phases, figures)
            startup_figures(job_id, figures)
    catalog.close()

    figures["mrss_parse_seconds"] = round(mrss_parse_seconds(feed_path), 3)
    if not args.skip_feedparser:
        figures["feedparser_seconds"] = round(feedparser_seconds(feed_path), 3)
    floor = float(figures["floor_seconds"])
    for label in ("dagster_run", *labels, *(f"plain_{label}" for label in labels)):
        if f"{label}_seconds" in figures:
            figures[f"{label}_vs_floor"] = round(float(figures[f"{label}_seconds"]) / floor, 2)
    for label in labels:
        figures[f"plain_{label}_cpu_vs_floor_cpu"] = round(
            figures[f"plain_{label}_cpu_seconds"] / figures["floor_cpu_seconds"], 2
        )
        if f"{label}_seconds" in figures:
            figures[f"{label}_job_adds_seconds"] = round(
                figures[f"{label}_seconds"] - figures[f"plain_{label}_seconds"], 3
            )
        figures[f"plain_{label}_us_per_item"] = round(figures[f"plain_{label}_seconds"] / args.items * 1e6, 1)
    if "cli_import_304_seconds" in figures:
        plain = float(figures["plain_identical_reimport_seconds"])
        figures["cli_import_304_vs_plain_identical"] = round(figures["cli_import_304_seconds"] / plain, 1)
        figures["cli_import_304_vs_import_dagster"] = round(
            figures["cli_import_304_seconds"] / figures["python_import_dagster_seconds"], 2
        )
    if "feedparser_seconds" in figures:
        for label in ("plain_first_import", "mrss_parse"):
            figures[f"feedparser_vs_{label}"] = round(
                float(figures["feedparser_seconds"]) / float(figures[f"{label}_seconds"]), 2
            )
    return figures


def job_figures(
    catalog: Any, point: Callable[[str | None, str, str], str], phases: Any, figures: dict[str, Any]
) -> str:
    """The same imports through the `import_source` job, in process, after Dagster's fixed cost alone."""
    from data_agent_pipelines.launcher import run_import
    from data_agent_pipelines.orchestration.instance import open_instance
    from data_agent_pipelines.settings import get_settings

    instance = open_instance(get_settings())
    figures["dagster_run_seconds"] = round(median_seconds(lambda _run: dagster_run_seconds(instance)), 3)
    source_id = None
    for label, name in phases:
        source_id = point(source_id, "job", name)
        started = time.perf_counter()
        launched = run_import(catalog, instance, source_id)
        figures[f"{label}_seconds"] = round(time.perf_counter() - started, 3)
        figures[f"{label}_status"] = str(launched.result.status)
    figures["import_peak_rss_mb"] = round(peak_rss_mb(), 1)
    instance.dispose()
    assert source_id is not None
    return source_id


if __name__ == "__main__":
    main()
