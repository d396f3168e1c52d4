"""`data-agent serve` as a real process on a loopback port, called over HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from data_agent_pipelines.catalog.api_keys import ApiKeys
from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.settings import Settings

from ..bugsnagserver import free_port
from .cdn import verify_nginx
from .conftest import put_asset

READY_WITHIN_SECONDS = 60


def _wait_until_healthy(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + READY_WITHIN_SECONDS
    while time.monotonic() < deadline:
        assert server.poll() is None, f"data-agent serve exited with {server.returncode}"
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)  # between polls only: readiness is decided by /health answering
    raise AssertionError(f"data-agent serve did not answer /health within {READY_WITHIN_SECONDS} s")


def test_serve_answers_over_http(settings: Settings, catalog: Catalog) -> None:
    catalog.add_service("acme")
    _, key = ApiKeys(catalog).add("acme")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [str(Path(sys.executable).with_name("data-agent")), "serve", "--port", str(port), "--workers", "2"]
    server = subprocess.Popen(command, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_until_healthy(base, server)
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=10) as client:
            created = client.post(
                "/services/acme/sources",
                json={
                    "name": "Main",
                    "kind": "mrss",
                    "url": "https://feeds.example.com/a.xml",
                    "sign_streams": "nginx-secure-link",
                    "credentials": {"secret": "over-the-wire-secret"},
                },
            )
            assert created.status_code == 201, created.text
            assert "over-the-wire-secret" not in created.text
            put_asset(catalog, created.json()["id"], "ast_1")
            played = client.get("/services/acme/assets/ast_1/playback").json()
            url = played["editions"][0]["streams"][0]["url"]
            verify_nginx(url, "over-the-wire-secret", now=int(time.time()))
            assert httpx.get(f"{base}/services/acme/sources").status_code == 401
            assert client.get("/openapi.json").json()["info"]["title"] == "data-agent"
    finally:
        server.send_signal(signal.SIGINT)
        try:
            _, errors = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            _, errors = server.communicate()
    assert b"over-the-wire-secret" not in errors
    assert b"Traceback" not in errors, errors.decode(errors="replace")[-2000:]
