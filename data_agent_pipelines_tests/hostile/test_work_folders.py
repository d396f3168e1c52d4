"""A run's work folder (scratch files under `$DATA_AGENT_HOME/work/RUN_ID`) never outlives the run.

Real parts only: `data-agent import --json` runs in a subprocess against a real feed server and a real catalog on
each backend. The run killed with SIGKILL is really killed; the full disk is a real 2 MB tmpfs mounted over the
work folder (this needs root: without permission to mount, that test skips and says so).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.settings import Settings
from data_agent_pipelines.source_settings import SourceChanges, add_source

from ..feeds import item, rss
from .environment import assets_by_external_id, environment
from .servers import HostileServer, document, large_feed, streamed
from .test_catalog_faults import ITEMS, _wait_for

BACKENDS = ["sqlite", "postgresql"]


def _cli_import(source_id: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "data_agent_pipelines.cli", "import", source_id, "--json"],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _import(source_id: str) -> tuple[int, str, str]:
    process = _cli_import(source_id)
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


def _folders(settings: Settings) -> list[str]:
    return sorted(path.name for path in settings.work_dir.iterdir()) if settings.work_dir.exists() else []


@contextmanager
def _setup(backend: str, folder: Path, **variables: str) -> Iterator[tuple[Settings, Catalog, HostileServer, str]]:
    with (
        environment(backend, folder, DATA_AGENT_ALLOW_HOSTS="127.0.0.1", **variables) as (settings, _patch),
        HostileServer().running() as server,
    ):
        catalog = Catalog.open(settings)
        try:
            catalog.add_service("acme")
            url = server.route("/feed.xml", document(rss(item("a"), item("b"), item("c"))))
            source_id = add_source(catalog, "acme", SourceChanges(name="feed", kind="mrss", url=url)).id
            yield settings, catalog, server, source_id
        finally:
            catalog.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_work_folder_is_gone_after_a_success_and_after_a_failure(backend: str, tmp_path: Path) -> None:
    with _setup(backend, tmp_path) as (settings, _catalog, server, source_id):
        code, out, err = _import(source_id)
        assert code == 0, err
        assert json.loads(out)["status"] == "succeeded"
        assert _folders(settings) == []

        server.route("/feed.xml", document(b"not a feed at all"))
        code, out, err = _import(source_id)
        assert code == 1, err
        result = json.loads(out)
        assert result["status"] == "failed"
        assert _folders(settings) == []
        # stderr is the run's progress, a line per message, and the failure said once, on the command's own line
        # (it was the run's STEP_FAILURE line, followed by the skipped steps and the run's failure); no stack trace.
        assert "Traceback" not in err and "Stack Trace" not in err and 'File "' not in err, err
        failure = [line for line in err.splitlines() if result["error"] in line]
        assert len(failure) == 1 and failure[0].startswith("data-agent: error: import of source"), err
        assert "STEP_FAILURE" not in err and "ERROR" not in err, err


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_folder_of_a_run_killed_mid_run_is_removed_by_the_next_import(backend: str, tmp_path: Path) -> None:
    with _setup(backend, tmp_path) as (settings, catalog, server, source_id):
        server.route("/feed.xml", streamed(large_feed(ITEMS)))
        process = _cli_import(source_id)
        try:
            _wait_for(
                lambda: catalog.count_assets(source_id) > 0,
                "the import to commit its first batch",
                stop=lambda: process.poll() is not None,
            )
            process.send_signal(signal.SIGKILL)
        finally:
            process.kill()
            process.communicate(timeout=60)
        assert process.returncode == -signal.SIGKILL
        left = _folders(settings)
        assert len(left) == 1  # the dead run's scratch files stay behind ...

        code, out, err = _import(source_id)  # ... until the next import sees that its run has ended
        assert code == 0, err
        assert json.loads(out)["status"] == "succeeded"
        assert _folders(settings) == []


def _mount_tmpfs(where: Path, size: str) -> None:
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"a real full disk needs permission to mount a tmpfs, which is refused here: {mounted.stderr}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_full_disk_fails_the_import_cleanly_and_changes_no_asset(backend: str, tmp_path: Path) -> None:
    with _setup(backend, tmp_path) as (settings, catalog, server, source_id):
        code, _out, err = _import(source_id)
        assert code == 0, err
        before: dict[str, Any] = assets_by_external_id(catalog, "acme")

        _mount_tmpfs(settings.work_dir, "2m")  # the catalog stays on the roomy disk; the scratch space is tiny
        try:
            server.route("/feed.xml", streamed(large_feed(ITEMS)))  # ~3.6 MB: does not fit in 2 MB
            code, out, err = _import(source_id)
            assert code == 1, err
            result = json.loads(out)  # exactly one JSON document
            assert result["status"] == "failed"
            assert "the disk is full" in result["error"]
            assert "OSError" not in err and "No space left on device" in err
            assert _folders(settings) == []
        finally:
            subprocess.run(["umount", str(settings.work_dir)], check=True)
        recorded = catalog.list_results(source_id=source_id)
        assert [r.status for r in recorded][:1] == ["failed"]
        assert any("the disk is full" in (r.error or "") for r in recorded)
        assert catalog.get_source(source_id).last_status == "failed"
        assert assets_by_external_id(catalog, "acme") == before


def _fill(folder: Path, spare: int = 0) -> None:
    """Fill the file system of `folder` to the last byte, then free `spare` bytes."""
    with (folder / "filler").open("wb", buffering=0) as filler:
        try:
            while True:
                filler.write(b"\0" * 65536)
        except OSError:
            pass
        try:
            while True:
                filler.write(b"\0")
        except OSError:
            pass
        filler.truncate(max(0, filler.tell() - spare))


@pytest.mark.parametrize("spare", [0, 256 * 1024], ids=["full", "full-during-the-write"])
def test_a_full_catalog_disk_fails_the_import_in_one_line_and_changes_no_asset(tmp_path: Path, spare: int) -> None:
    # SQLite only: PostgreSQL's disk is its server's, which a test cannot fill.
    disk = tmp_path / "catalog-disk"
    _mount_tmpfs(disk, "8m")
    try:
        with _setup("sqlite", tmp_path, DATA_AGENT_DATABASE_URL=f"sqlite:///{disk / 'catalog.db'}") as (
            _settings,
            catalog,
            server,
            source_id,
        ):
            code, _out, err = _import(source_id)
            assert code == 0, err
            before = assets_by_external_id(catalog, "acme")
            server.route("/feed.xml", document(rss(*(item(f"n{n}", "x" * 2000) for n in range(400)))))
            _fill(disk, spare)
            code, out, err = _import(source_id)
            assert code == 1, (out, err)
            assert "Traceback" not in err and "Stack Trace" not in err, err
            assert "disk is full" in err, err
            assert assets_by_external_id(catalog, "acme") == before
            (disk / "filler").unlink()
            code, out, err = _import(source_id)  # room again: the next import applies everything
            assert code == 0, err
            assert json.loads(out)["counts"]["created"] == 400
    finally:
        subprocess.run(["umount", str(disk)], check=True)
