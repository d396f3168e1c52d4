"""`data-agent serve` as a real process on a loopback port, called over HTTP."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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


@dataclass
class Served:
    """A running `data-agent serve`: its process, port and, once it has stopped, what it wrote on stderr."""

    process: subprocess.Popen
    port: int
    errors: bytes = b""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def serving(workers: int = 2) -> Iterator[Served]:
    """`data-agent serve` on a free loopback port until the block ends (then stopped with SIGINT)."""
    port = free_port()
    command = [str(Path(sys.executable).with_name("data-agent")), "serve", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--workers", str(workers)], env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    served = Served(process, port)
    try:
        _wait_until_healthy(served.base, process)
        yield served
    finally:
        process.send_signal(signal.SIGINT)
        try:
            _, served.errors = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            _, served.errors = process.communicate()


def test_serve_answers_over_http(settings: Settings, catalog: Catalog) -> None:
    catalog.add_service("acme")
    _, key = ApiKeys(catalog).add("acme")
    with serving() as served:
        base = served.base
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
    assert b"over-the-wire-secret" not in served.errors
    assert b"Traceback" not in served.errors, served.errors.decode(errors="replace")[-2000:]


def _socket_inode(server_port: int, client_port: int) -> str | None:
    """The inode of the server side of the loopback TCP connection from `client_port` (from /proc/net/tcp)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = fields[1], fields[2], fields[9]
        if int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) == client_port:
            return inode
    return None


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name is in parentheses and may hold spaces: the parent id is the 2nd field after it.
            if int(stat.read_text().rpartition(")")[2].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def _worker_of(workers: list[int], inode: str) -> int | None:
    """Which worker process holds the socket `inode` (by its open file descriptors)."""
    for worker in workers:
        for fd in Path(f"/proc/{worker}/fd").iterdir():
            try:
                if str(fd.readlink()) == f"socket:[{inode}]":
                    return worker
            except OSError:
                continue
    return None


def test_a_revoked_key_stops_working_at_once_in_every_worker(settings: Settings, catalog: Catalog) -> None:
    catalog.add_service("acme")
    keys = ApiKeys(catalog)
    record, key = keys.add("acme")
    connections: list[http.client.HTTPConnection] = []
    with serving() as served:
        try:
            port = served.port
            workers = _children(served.process.pid)  # the two workers (and multiprocessing's resource tracker)
            served_by: dict[int, list[http.client.HTTPConnection]] = {}
            # Keep-alive connections until both workers hold some: each has seen the key valid before the revocation.
            while len(served_by) < 2 and len(connections) < 200:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                connection.request("GET", "/services/acme/sources", headers={"Authorization": f"Bearer {key}"})
                response = connection.getresponse()
                response.read()
                assert response.status == 200
                connections.append(connection)
                inode = _socket_inode(port, connection.sock.getsockname()[1])
                worker = _worker_of(workers, inode) if inode else None
                if worker is not None:
                    served_by.setdefault(worker, []).append(connection)
            assert len(served_by) == 2, f"{len(connections)} connections all went to one worker"

            keys.revoke("acme", record["id"])

            for worker, held in served_by.items():
                for connection in held:
                    connection.request("GET", "/services/acme/sources", headers={"Authorization": f"Bearer {key}"})
                    response = connection.getresponse()
                    assert response.status == 401, (worker, response.status, response.read())
                    response.read()
        finally:
            for connection in connections:
                connection.close()
