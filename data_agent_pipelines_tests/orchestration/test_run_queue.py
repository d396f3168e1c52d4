"""The one module that uses Dagster internals is pinned to the Dagster version it was checked against."""

from __future__ import annotations

from importlib.metadata import version

from data_agent_pipelines.orchestration import run_queue


def test_the_dagster_internals_were_checked_against_the_installed_version() -> None:
    # On an upgrade: re-check JobSubsetSelector, InProcessCodeLocationOrigin and create_run's arguments in
    # run_queue.py against the new version (the API's queued-run tests exercise them), then move the pin.
    assert version("dagster") == run_queue.CHECKED_DAGSTER_VERSION
