"""Export runs started from the UI (the job's launchpad, a backfill, "Materialize" on the asset's page) carry the tags
of a CLI export run (service, target, format), so the run list filtered by service finds exactly that service's
exports."""

from __future__ import annotations

import pytest
from dagster import AssetKey, AssetPartitionStatus, DagsterInstance, DagsterRunStatus, RunsFilter

from data_agent_pipelines.catalog.export_targets import ExportTargets
from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.orchestration.exports import exports_partitions
from data_agent_pipelines.settings import Settings

from ..clirunner import run_cli
from ..orchestration.ui import ASSET_JOB, backfill, launch_partition, materialize, ui_workspace
from . import catalogdata as data
from .s3server import S3Server

TAG_KEYS = ("data_agent/service", "data_agent/export_target", "data_agent/format", "data_agent/launched_by")


def test_launchpad_and_backfill_export_runs_are_tagged_like_cli_runs(
    capsys: pytest.CaptureFixture[str], catalog: Catalog, s3: S3Server, settings: Settings
) -> None:
    targets = {}
    for service, fmt in (("acme", "ndjson"), ("globex", "parquet")):
        assert run_cli(capsys, "services", "add", service).code == 0
        data.add_source(catalog, service, f"src_{service}")
        if service == "acme":  # (the seeded asset ids are fixed: one service has them, the other exports none)
            data.seed(catalog, service, f"src_{service}", [data.movie(1), data.episode(2)])
        bucket = s3.make_bucket()
        added = run_cli(
            capsys,
            "exports",
            "add",
            "--service",
            service,
            "--url",
            f"s3://{bucket}/{service}",
            "--format",
            fmt,
            "--json",
        )
        targets[added.json()["id"]] = (service, fmt)
    launched_by = {}
    for target_id in targets:  # the CLI's runs (and the targets' partitions, which the UI lists)
        done = run_cli(capsys, "export", target_id, "--json")
        assert done.code == 0, done.err
        launched_by[done.json()["run_id"]] = "cli"

    acme, globex = targets
    instance = DagsterInstance.from_config(str(settings.dagster_home))
    try:
        with ui_workspace(instance) as workspace:
            launched_by[launch_partition(workspace, "export_service", acme)] = "ui"
            launched_by.update(dict.fromkeys(backfill(workspace, "export_service", [acme, globex]), "ui"))
        runs = {run.run_id: run for run in instance.get_runs(RunsFilter(job_name="export_service"))}
        assert set(runs) == set(launched_by) and len(runs) == 5
        for run_id, run in runs.items():
            assert run.status == DagsterRunStatus.SUCCESS, run_id
            target_id = run.tags["dagster/partition"]
            service, fmt = targets[target_id]
            assert {key: run.tags.get(key) for key in TAG_KEYS} == {
                "data_agent/service": service,
                "data_agent/export_target": target_id,
                "data_agent/format": fmt,
                "data_agent/launched_by": launched_by[run_id],
            }
        by_service = {
            service: {run.run_id for run in instance.get_runs(RunsFilter(tags={"data_agent/service": service}))}
            for service in ("acme", "globex")
        }
        assert by_service == {
            service: {run_id for run_id, run in runs.items() if targets[run.tags["dagster/partition"]][0] == service}
            for service in ("acme", "globex")
        }
        assert len(by_service["acme"]) == 3
    finally:
        instance.dispose()


def test_materialize_from_the_exports_asset_page_is_an_export_run_like_any_other(
    capsys: pytest.CaptureFixture[str], catalog: Catalog, s3: S3Server, settings: Settings
) -> None:
    assert run_cli(capsys, "services", "add", "acme").code == 0
    data.add_source(catalog, "acme", "src_acme")
    data.seed(catalog, "acme", "src_acme", [data.movie(1), data.episode(2)])
    added = run_cli(
        capsys,
        "exports",
        "add",
        "--service",
        "acme",
        "--url",
        f"s3://{s3.make_bucket()}/acme",
        "--format",
        "ndjson",
        "--json",
    )
    target_id = added.json()["id"]
    assert run_cli(capsys, "export", target_id, "--json").code == 0  # the target's partition, which the UI lists
    instance = DagsterInstance.from_config(str(settings.dagster_home))
    try:
        with ui_workspace(instance) as workspace:
            (run_id,) = materialize(workspace, ["exports"], [target_id])
        run = instance.get_run_by_id(run_id)
        assert run.job_name == ASSET_JOB and run.status == DagsterRunStatus.SUCCESS
        assert {key: run.tags.get(key) for key in (*TAG_KEYS, "data_agent/job")} == {
            "data_agent/service": "acme",
            "data_agent/export_target": target_id,
            "data_agent/format": "ndjson",
            "data_agent/launched_by": "ui",
            "data_agent/job": "export",
        }
        statuses = instance.get_status_by_partition(AssetKey("exports"), [target_id], exports_partitions)
        assert statuses == {target_id: AssetPartitionStatus.MATERIALIZED}
        (result,) = [r for r in ExportTargets(catalog).list_results(target_id) if r.run_id == run_id]
        assert result.succeeded and result.count == 2
    finally:
        instance.dispose()
