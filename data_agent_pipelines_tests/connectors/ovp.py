"""Helpers for the OVP connector tests: a source, a loopback-allowed client with a recording sleep, one fetch, one
import through the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from data_agent_pipelines.connectors.base import Fetched
from data_agent_pipelines.connectors.standard_keys import apply_standard_keys
from data_agent_pipelines.model import Asset, ItemFailure, Source
from data_agent_pipelines.net import FetchPolicy, HttpClient

from ..clirunner import run_cli


class Sleeps(list[float]):
    """A sleep that returns at once and remembers how long it was asked to wait."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_source(kind: str, url: str, *, options: dict[str, str], credentials: dict[str, str], **extra: Any) -> Source:
    return Source(
        id="src_test",
        service="acme",
        name="test",
        kind=kind,
        url=url,
        options=options,
        credentials=credentials,
        **extra,
    )


def client(sleeps: Sleeps) -> HttpClient:
    return HttpClient(FetchPolicy(allow_hosts=("127.0.0.1",), backoff_base=0.01), sleep=sleeps)


def run(connector: Any, source: Source, workdir: Path, sleeps: Sleeps) -> tuple[Fetched, list[Asset | ItemFailure]]:
    """Fetch and parse as an import does (the standard custom keys included); return the fetch and every item."""
    with client(sleeps) as http:
        fetched = connector.fetch(source, http, workdir)
    items = list(connector.parse(source, fetched))
    for item in items:
        if isinstance(item, Asset):
            apply_standard_keys(item)
    return fetched, items


def cli_import(capsys: pytest.CaptureFixture[str], source_id: str, *, secret: str | None = None) -> tuple[dict, dict]:
    """`import SOURCE --json` through the CLI, which must succeed (and, given `secret`, never print it); return the
    result and its items by external id."""
    done = run_cli(capsys, "import", source_id, "--json")
    assert done.code == 0, done.err
    if secret is not None:
        assert secret not in done.out + done.err
    result = done.json()
    return result, {i["external_id"]: i for i in result["items"]}
