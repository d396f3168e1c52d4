"""Load benchmark of `GET /services/{service}/assets/{id}/playback` on `data-agent serve`.

Seeds a throwaway embedded catalog (SQLite) with one service, an API key, a CloudFront-signed source and an
unsigned one, 1,000 assets each (two editions, three streams, one subtitle track), then for 1 and 2 workers starts
`data-agent serve` on loopback and drives /playback with wrk (the load generator; `apt-get install wrk`), asking
for each case's assets in turn. Prints requests per second and p50/p99 latency. It asserts nothing.

    python benchmarks/playback_bench.py [--duration 10] [--connections 16] [--threads 1] [--assets 1000]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from data_agent_pipelines.catalog.api_keys import ApiKeys
from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.model import Asset, AssetWrite, Edition, Stream, Subtitle, encode_asset
from data_agent_pipelines.settings import load_settings
from data_agent_pipelines.source_settings import SourceChanges, add_source


def seed(home: Path, assets_per_case: int) -> tuple[str, dict[str, list[str]]]:
    """A catalog with a key and the assets of each case; returns the key and the asset ids by case."""
    os.environ.update(DATA_AGENT_HOME=str(home), DAGSTER_HOME=str(home / "dagster"))
    os.environ.pop("DATA_AGENT_DATABASE_URL", None)
    catalog = Catalog.open(load_settings())
    catalog.add_service("bench")
    _, key = ApiKeys(catalog).add("bench")
    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )
    sources = {
        "cloudfront": add_source(
            catalog,
            "bench",
            SourceChanges(
                name="signed",
                kind="mrss",
                url="https://feeds.example.com/signed.xml",
                sign_streams="cloudfront",
                credentials={"key_pair_id": "K2JCJMDEHXQW5F", "private_key": pem},
            ),
        ),
        "unsigned": add_source(
            catalog, "bench", SourceChanges(name="plain", kind="mrss", url="https://feeds.example.com/plain.xml")
        ),
    }
    assets: dict[str, list[str]] = {}
    for case, source in sources.items():
        writes = []
        for n in range(assets_per_case):
            cdn = f"https://d111111abcdef8.cloudfront.net/vod/title-{n}"
            asset = Asset(
                f"ext-{case}-{n}",
                title=f"A {case} title {n}",
                editions=[
                    Edition(
                        "full",
                        [Stream(f"{cdn}/master.m3u8", "hls", default=True), Stream(f"{cdn}/manifest.mpd", "dash")],
                        [Subtitle(f"{cdn}/en.vtt", "en")],
                    ),
                    Edition("trailer", [Stream(f"{cdn}/trailer.mp4", "mp4")]),
                ],
            )
            encoded = encode_asset(asset)
            writes.append(AssetWrite(f"ast_{case}_{n}", asset.external_id, encoded.columns, encoded.content_hash))
        catalog.write_assets(source, writes, imported_at=catalog.clock())
        assets[case] = [w.asset_id for w in writes]
    catalog.close()
    return key, assets


# wrk asks for the assets of a case in turn, so the server signs (and reads) many assets, not one.
ROTATE = """
local ids = {%s}
local n = 0
request = function()
  n = n %% #ids + 1
  return wrk.format("GET", "/services/bench/assets/" .. ids[n] .. "/playback")
end
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(workers: int, port: int) -> subprocess.Popen:
    command = [str(Path(sys.executable).with_name("data-agent")), "serve", "--no-access-log"]
    command += ["--port", str(port), "--workers", str(workers)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("data-agent serve did not become healthy within 60 s")


def wrk(base: str, script: Path, key: str, duration: int, connections: int, threads: int) -> dict[str, float]:
    options = [f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script)]
    output = subprocess.run(
        ["wrk", *options, "-H", f"Authorization: Bearer {key}", base],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        raise SystemExit(f"{non_2xx.group(1)} requests failed:\n{output}")

    def latency_ms(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", output, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50": latency_ms("50%"),
        "p99": latency_ms("99%"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--assets", type=int, default=1000, help="assets per case, requested in turn")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (it shares the machine's cores)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("this benchmark drives the API with wrk: apt-get install wrk")
    home = Path(tempfile.mkdtemp(prefix="playback-bench-"))
    try:
        key, assets = seed(home, args.assets)
        print(f"load generator: wrk, {args.threads} thread(s), {args.connections} connections, {args.duration} s")
        print(f"requests rotate over {args.assets} assets per case (4 stream/subtitle URLs each)")
        print(f"catalog: SQLite (embedded default); {os.cpu_count()} CPU cores shared by server and wrk")
        print(f"{'workers':>7}  {'case':<10}  {'req/s':>8}  {'p50 ms':>7}  {'p99 ms':>7}")
        for workers in (1, 2):
            port = free_port()
            server = serve(workers, port)
            try:
                for case, ids in assets.items():
                    script = home / f"{case}.lua"
                    script.write_text(ROTATE % ", ".join(f'"{i}"' for i in ids))
                    base = f"http://127.0.0.1:{port}"
                    wrk(base, script, key, 2, args.connections, args.threads)  # warm-up: connections, key loading
                    figures = wrk(base, script, key, args.duration, args.connections, args.threads)
                    print(
                        f"{workers:>7}  {case:<10}  {figures['rps']:>8.0f}  {figures['p50']:>7.2f}"
                        f"  {figures['p99']:>7.2f}",
                        flush=True,
                    )
            finally:
                server.send_signal(signal.SIGINT)
                server.wait(timeout=30)
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
