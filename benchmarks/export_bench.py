"""Export benchmark (issue 8: export to S3).

Seeds a SQLite catalog with N assets shaped like an imported OVP catalog (3 renditions, subtitles, 2 images,
credits, ratings, a geoblock, custom fields; ~1.5 KB of JSON each), starts moto's S3 server on loopback in this
process, then exports the service once per format, each in a fresh child process so that its peak memory is its
own: the plain-Python export run the `export_service` job calls (catalog batches -> format -> multipart upload
-> manifest). Reports, per format, the wall time, the object size and the child's peak RSS (and its RSS before
the export started, i.e. interpreter, libraries and catalog connection).

Prints figures; asserts nothing. `--json` prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FORMATS = ("ndjson", "csv", "parquet")
KEYS = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench-secret"}


def _rss_mb() -> float:
    """Peak RSS of this process. VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent
    (here the moto server holding every exported object), VmHWM belongs to this process's own memory."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def asset_row(i: int, now: datetime) -> dict[str, Any]:
    return {
        "id": f"ast_{i:08d}",
        "service": "bench",
        "source_id": "src_bench",
        "external_id": f"video-{i:07d}",
        "type": "episode",
        "title": f"Episode {i} of the long running series",
        "description": "The presenters travel along the coast and meet the people who keep the lighthouses running."
        f" Item {i}.",
        "short_description": "Lighthouses",
        "duration": 1325,
        "release_date": None,
        "published_at": now,
        "availability": {"start": "2025-01-01T00:00:00Z", "end": "2030-01-01T00:00:00Z"},
        "images": [
            {"url": f"https://img.example.com/v/{i}/large.jpg", "role": "thumbnail", "width": 1280, "height": 720},
            {"url": f"https://img.example.com/v/{i}/poster.jpg", "role": "poster"},
        ],
        "tags": ["travel", "coast", "lighthouse", "documentary"],
        "genres": ["Documentary"],
        "credits": [{"name": "Jane Doe", "role": "director"}, {"name": "John Roe", "role": "host"}],
        "ratings": [{"scheme": "urn:mpaa", "value": "pg"}],
        "geoblock": {"allow": ["GB", "IE", "FR", "DE", "NL"]},
        "editions": [
            {
                "name": "full",
                "streams": [
                    {"url": f"https://cdn.example.com/v/{i}/master.m3u8", "type": "hls", "default": True},
                    {
                        "url": f"https://cdn.example.com/v/{i}/1080.mp4",
                        "type": "mp4",
                        "bitrate": 5000,
                        "default": False,
                    },
                    {"url": f"https://cdn.example.com/v/{i}/720.mp4", "type": "mp4", "bitrate": 2500, "default": False},
                ],
                "subtitles": [{"url": f"https://cdn.example.com/v/{i}/en.vtt", "language": "en"}],
            }
        ],
        "series": "Lighthouses",
        "season": 1 + i // 100,
        "episode": i % 100,
        "custom": {"link": f"https://www.example.com/videos/{i}", "studio": "ACME"},
        "status": "published",
        "content_hash": "0" * 32,
        "edited_fields": [],
        "origin_hashes": None,
        "created_at": now,
        "updated_at": now,
        "last_imported_at": now,
    }


def seed(database_url: str, count: int) -> float:
    from sqlalchemy import insert

    from data_agent_pipelines.catalog.schema import assets, sources
    from data_agent_pipelines.catalog.store import Catalog
    from data_agent_pipelines.settings import load_settings

    began = time.perf_counter()
    catalog = Catalog.open(load_settings())
    catalog.add_service("bench")
    now = datetime(2026, 11, 1, 12, tzinfo=UTC)
    with catalog.engine.begin() as conn:
        conn.execute(
            insert(sources).values(
                id="src_bench", service="bench", name="bench", kind="mrss", url="https://feeds.example.com/b.xml",
                every_seconds=3600, truth="importer", on_missing="keep", max_removal_fraction=0.2,
                asset_type="movie", options={}, enabled=True, created_at=now, updated_at=now,
            )
        )  # fmt: skip
    for start in range(0, count, 5000):
        with catalog.engine.begin() as conn:
            conn.execute(insert(assets), [asset_row(i, now) for i in range(start, min(count, start + 5000))])
    catalog.close()
    return time.perf_counter() - began


def child(fmt: str, endpoint: str, bucket: str) -> None:
    """One export in this (fresh) process; prints its figures as JSON."""
    from data_agent_pipelines.catalog.export_targets import ExportTargets
    from data_agent_pipelines.catalog.store import Catalog
    from data_agent_pipelines.export.run import run_export
    from data_agent_pipelines.export_settings import ExportTargetChanges
    from data_agent_pipelines.orchestration.exports import ExportStorage
    from data_agent_pipelines.settings import load_settings

    catalog = Catalog.open(load_settings())
    target = ExportTargets(catalog).add("bench", ExportTargetChanges(url=f"s3://{bucket}/{fmt}", format=fmt))
    storage = ExportStorage(endpoint_url=endpoint, region_name="us-east-1", **KEYS)
    baseline = _rss_mb()
    began = time.perf_counter()
    result = run_export(catalog, target.id, storage.client_for)
    seconds = time.perf_counter() - began
    print(
        json.dumps(
            {
                "status": result.status,
                "error": result.error,
                "count": result.count,
                "bytes": sum(o["bytes"] for o in result.objects),
                "seconds": round(seconds, 2),
                "assets_per_second": round(result.count / seconds) if seconds else None,
                "peak_rss_mb": round(_rss_mb(), 1),
                "rss_before_export_mb": round(baseline, 1),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assets", type=int, default=100_000, help="number of assets (default 100,000)")
    parser.add_argument("--formats", default=",".join(FORMATS), help="comma-separated formats")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--bucket", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.endpoint, args.bucket)
        return

    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as home:
        env = {
            **os.environ,
            "DATA_AGENT_HOME": home,
            "DATA_AGENT_DATABASE_URL": f"sqlite:///{home}/catalog.db",
            "DATA_AGENT_SECRET_KEY": "",
        }
        os.environ.update(env)
        seconds_seed = seed(env["DATA_AGENT_DATABASE_URL"], args.assets)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **KEYS).create_bucket(Bucket="bench")
        figures: dict[str, Any] = {"assets": args.assets, "seed_seconds": round(seconds_seed, 1), "formats": {}}
        for fmt in args.formats.split(","):
            done = subprocess.run(
                [sys.executable, __file__, "--child", fmt, "--endpoint", endpoint, "--bucket", "bench"],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            figures["formats"][fmt] = json.loads(done.stdout.strip().splitlines()[-1])
        server.stop()
    if args.json:
        print(json.dumps(figures))
        return
    print(f"{args.assets:,} assets (seeded in {figures['seed_seconds']} s); one export per format, own process:")
    for fmt, f in figures["formats"].items():
        print(
            f"  {fmt:8} {f['status']:9} {f['seconds']:7.2f} s  {f['assets_per_second'] or 0:>7,}/s  "
            f"{f['bytes'] / 1e6:8.1f} MB  peak RSS {f['peak_rss_mb']:6.1f} MB"
            f" (before export {f['rss_before_export_mb']} MB)"
        )


if __name__ == "__main__":
    main()
