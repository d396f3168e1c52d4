"""Time one heartbeat tick over a catalog of N sources, as the Dagster daemon runs it.

    python benchmarks/heartbeat_bench.py --sources 10000 [--backend sqlite|postgresql] [--json]

The catalog holds N sources: 1% are new since the last tick (no partition yet), 1% of the partitions belong to
sources deleted since, and 3% of the sources are due. The tick is timed from the sensor's evaluation (with an
instance ref, as in the code server: the sensor adds new partitions itself, and run requests are resolved and
validated against the partitions) through the daemon's own handling of the partition deletions it returns
(`dagster._daemon.sensor._handle_dynamic_partitions_requests`). Creating and launching the runs is the daemon's
work after the tick and is not included.

On `postgresql` both the catalog (a scratch schema) and the Dagster instance (a scratch database, dagster-postgres)
live on the server of `--database-url` (default: $DATA_AGENT_TEST_DATABASE_URL or the local server); both are
dropped afterwards. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dagster import DagsterInstance, build_sensor_context
from scratch import DEFAULT_PG, catalog_url, dagster_home
from sqlalchemy import insert

from data_agent_pipelines.catalog.schema import services, sources
from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.definitions import defs
from data_agent_pipelines.orchestration.heartbeat import build_heartbeat
from data_agent_pipelines.orchestration.partitions import SOURCES_PARTITIONS_NAME
from data_agent_pipelines.orchestration.resources import CatalogResource
from data_agent_pipelines.settings import get_settings, load_settings

BATCH = 5000


class _DaemonTickContext:
    """The little of the daemon's SensorLaunchContext that its partition-request handling uses."""

    def __init__(self) -> None:
        self.logger = logging.getLogger("heartbeat_bench")
        self.results: list[Any] = []

    def add_dynamic_partitions_request_result(self, result: Any) -> None:
        self.results.append(result)


def seed(catalog: Catalog, n: int, now: datetime) -> tuple[list[str], list[str]]:
    """N sources (3% due, spread over the last day); returns (all ids, ids of the 1% that are new)."""
    ids = [f"src_bench{i:09d}" for i in range(n)]
    due_every = 33  # one in 33 is about 3%
    rows = [
        {
            "id": source_id,
            "service": "bench",
            "name": f"source {i}",
            "kind": "mrss",
            "url": f"https://feeds.invalid/{i}.xml",
            "every_seconds": 3600,
            "cron": None,
            "truth": "importer",
            "on_missing": "keep",
            "max_removal_fraction": 0.2,
            "asset_type": "movie",
            "options": {},
            "credentials": None,
            "enabled": True,
            "created_at": now,
            "updated_at": now,
            "next_run_at": now - timedelta(minutes=i % 1440)
            if i % due_every == 0
            else now + timedelta(minutes=1 + i % 60),
        }
        for i, source_id in enumerate(ids)
    ]
    with catalog.database.write() as conn:
        conn.execute(insert(services).values(name="bench", created_at=now))
    for start in range(0, n, BATCH):
        with catalog.database.write() as conn:
            conn.execute(insert(sources), rows[start : start + BATCH])
    new = ids[::100]  # 1%
    return ids, new


def run(n: int, backend: str, server_url: str) -> dict[str, Any]:
    from dagster._daemon.sensor import _handle_dynamic_partitions_requests

    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="heartbeat_bench_") as scratch:
        root = Path(scratch)
        with (
            catalog_url(backend, server_url, root) as url,
            dagster_home(backend, server_url, root / "dagster") as home,
        ):
            settings = load_settings({"DATA_AGENT_HOME": str(root / "home"), "DATA_AGENT_DATABASE_URL": url})
            catalog = Catalog.open(settings)
            started = time.perf_counter()
            ids, new = seed(catalog, n, now)
            seed_seconds = time.perf_counter() - started
            instance = DagsterInstance.from_config(str(home))
            try:
                new_set = set(new)
                deleted = [f"src_gone{i:09d}" for i in range(n // 100)]
                existing = [key for key in ids if key not in new_set] + deleted
                for start in range(0, len(existing), BATCH):
                    instance.add_dynamic_partitions(SOURCES_PARTITIONS_NAME, existing[start : start + BATCH])
                sensor = build_heartbeat()
                before = set(instance.get_dynamic_partitions(SOURCES_PARTITIONS_NAME))
                started = time.perf_counter()
                # The catalog resource reads the environment's catalog (it has no launchpad setting for it).
                os.environ["DATA_AGENT_DATABASE_URL"] = url
                get_settings.cache_clear()
                with build_sensor_context(
                    instance_ref=instance.get_ref(),
                    resources={"catalog": CatalogResource()},
                    repository_def=defs.get_repository_def(),
                ) as context:
                    data = sensor.evaluate_tick(context)
                evaluated = time.perf_counter()
                daemon_context = _DaemonTickContext()
                _handle_dynamic_partitions_requests(data.dynamic_partitions_requests or [], instance, daemon_context)
                finished = time.perf_counter()
                # The sensor adds new partitions itself; the daemon deletes: count what changed, whoever did it.
                after = set(instance.get_dynamic_partitions(SOURCES_PARTITIONS_NAME))
                added, removed = len(after - before), len(before - after)
            finally:
                instance.dispose()
                catalog.close()
    return {
        "sources": n,
        "backend": backend,
        "tick_seconds": round(finished - started, 3),
        "evaluate_seconds": round(evaluated - started, 3),
        "partition_changes_seconds": round(finished - evaluated, 3),
        "run_requests": len(data.run_requests or ()),
        "partitions_added": added,
        "partitions_removed": removed,
        "seed_seconds": round(seed_seconds, 3),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=10_000, help="number of sources in the catalog")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--database-url", default=DEFAULT_PG, help="PostgreSQL server for --backend postgresql")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    logging.getLogger("dagster").setLevel(logging.WARNING)
    result = run(args.sources, args.backend, args.database_url)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>26}: {value}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
