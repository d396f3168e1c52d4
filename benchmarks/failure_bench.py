"""How long the failure path takes to catch up when import runs fail at the heartbeat's largest launch rate.

    python benchmarks/failure_bench.py [--windows 3] [--per-window 500] [--backend sqlite|postgresql] [--json]

The worst case of a platform outage: every run the heartbeat launches fails, and they all fail at once, once per
heartbeat interval (`--per-window`, default 500, the default DATA_AGENT_HEARTBEAT_MAX_RUNS, every 5 minutes).
Each failed run holds its source's lock, as a crashed run would. After each burst the `import_failures` sensor is
ticked as the daemon ticks it (every 30 s, here back to back) until the burst is handled: each failure recorded on
its source as a failed ImportResult, its lock released, and reported to Bugsnag (a local server that answers like
Bugsnag's notify API; delivery is real HTTP). Prints, per burst, the ticks it took, their total and longest wall
time, and the catch-up time in the daemon's schedule ((ticks - 1) x 30 s + the last tick); and, for comparison,
what Dagster's `run_failure_sensor` with its default of 5 runs an evaluation would need.

On `postgresql` the catalog (a scratch schema) and the Dagster instance (a scratch database) live on the server of
`--database-url`; both are dropped afterwards. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from dagster import DagsterInstance, DagsterRunStatus, build_sensor_context
from dagster._core.test_utils import create_run_for_test
from heartbeat_bench import seed
from scratch import DEFAULT_PG, catalog_url, dagster_home

from data_agent_pipelines.catalog import locks
from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.orchestration.failures import (
    FAILURES_INTERVAL_SECONDS,
    build_import_failures,
)
from data_agent_pipelines.orchestration.resources import CatalogResource
from data_agent_pipelines.settings import get_settings, load_settings

HEARTBEAT_SECONDS = 300
DAGSTER_DEFAULT_PROCESS_LIMIT = 5


@contextmanager
def bugsnag_server() -> Iterator[tuple[str, list[int]]]:
    """A loopback server that takes Bugsnag notify payloads (202, as Bugsnag answers); yields its URL and a count."""
    received = [0]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received[0] += 1
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", received
    finally:
        server.shutdown()


def fail_burst(instance: DagsterInstance, catalog: Catalog, source_ids: list[str]) -> None:
    """One run per source, started, holding the source's lock, then failed by run monitoring (worker lost)."""
    for source_id in source_ids:
        run = create_run_for_test(
            instance,
            job_name="import_source",
            status=DagsterRunStatus.STARTED,
            tags={"dagster/partition": source_id, "data_agent/service": "bench", "data_agent/kind": "mrss"},
        )
        locks.acquire(catalog, source_id, run.run_id, ttl=timedelta(hours=1))
        instance.report_run_failed(run, message="the run worker died (benchmark)")


def run(windows: int, per_window: int, backend: str, server_url: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="failure_bench_") as scratch, bugsnag_server() as (bugsnag, received):
        root = Path(scratch)
        with (
            catalog_url(backend, server_url, root) as url,
            dagster_home(backend, server_url, root / "dagster") as home,
        ):
            os.environ.update(
                DATA_AGENT_HOME=str(root / "home"),
                DATA_AGENT_DATABASE_URL=url,
                BUGSNAG_API_KEY="0123456789abcdef0123456789abcdef",
                BUGSNAG_NOTIFY_ENDPOINT=bugsnag,
                BUGSNAG_SESSIONS_ENDPOINT=bugsnag,
            )
            get_settings.cache_clear()
            catalog = Catalog.open(load_settings())
            ids, _new = seed(catalog, per_window, now)
            instance = DagsterInstance.from_config(str(home))
            sensor = build_import_failures()
            cursor: str | None = None
            bursts: list[dict[str, Any]] = []
            try:
                for window in range(windows):
                    fail_burst(instance, catalog, ids)
                    ticks: list[float] = []
                    handled = 0
                    while True:
                        started = time.perf_counter()
                        with build_sensor_context(
                            instance=instance, cursor=cursor, resources={"catalog": CatalogResource()}
                        ) as context:
                            data = sensor.evaluate_tick(context)
                        ticks.append(time.perf_counter() - started)
                        cursor = data.cursor
                        count = int((data.skip_message or "0").split()[0])
                        handled += count
                        if count == 0 or "more failures wait" not in (data.skip_message or ""):
                            break
                    held = sum(locks.held(catalog, source_id) is not None for source_id in ids)
                    bursts.append(
                        {
                            "burst": window + 1,
                            "failed_runs": per_window,
                            "handled": handled,
                            "ticks": len(ticks),
                            "tick_seconds_total": round(sum(ticks), 3),
                            "tick_seconds_max": round(max(ticks), 3),
                            "catch_up_seconds": round((len(ticks) - 1) * FAILURES_INTERVAL_SECONDS + ticks[-1], 3),
                            "locks_still_held": held,
                        }
                    )
                results = sum(len(catalog.list_results(source_id=source_id, limit=windows + 1)) for source_id in ids)
            finally:
                instance.dispose()
                catalog.close()
    dagster_ticks = math.ceil(per_window / DAGSTER_DEFAULT_PROCESS_LIMIT)
    return {
        "backend": backend,
        "bursts": bursts,
        "failed_results_recorded": results,
        "bugsnag_reports_received": received[0],
        "required_rate_runs_per_second": round(per_window / HEARTBEAT_SECONDS, 2),
        "run_failure_sensor_default_catch_up_seconds": dagster_ticks * FAILURES_INTERVAL_SECONDS,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--windows", type=int, default=3, help="heartbeat intervals in which every run fails")
    parser.add_argument("--per-window", type=int, default=500, help="runs failing per interval (the heartbeat cap)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--database-url", default=DEFAULT_PG, help="PostgreSQL server for --backend postgresql")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    logging.getLogger("dagster").setLevel(logging.WARNING)
    result = run(args.windows, args.per_window, args.backend, args.database_url)
    if args.json:
        print(json.dumps(result))
    else:
        for burst in result.pop("bursts"):
            print("  ".join(f"{key}={value}" for key, value in burst.items()))
        for key, value in result.items():
            print(f"{key:>44}: {value}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
