"""`data-agent exports …` and `data-agent export`: the CLI, the `export_service` job in a real Dagster instance,
and the scheduling functions the heartbeat calls."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from dagster import AssetKey, AssetPartitionStatus, DagsterInstance, DagsterRunStatus

from data_agent_pipelines.catalog.export_targets import ExportTargets
from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.definitions import defs
from data_agent_pipelines.export_settings import ExportTargetChanges
from data_agent_pipelines.orchestration.exports import exports_partitions
from data_agent_pipelines.orchestration.heartbeat import TargetExports, plan_tick
from data_agent_pipelines.settings import Settings

from ..clirunner import run_cli
from . import catalogdata as data
from .s3server import S3Server

RESULT_KEYS = {"id", "target_id", "status", "count", "objects", "manifest_key", "error"}


@pytest.fixture
def service(capsys, catalog: Catalog) -> str:
    assert run_cli(capsys, "services", "add", "acme").code == 0
    data.add_source(catalog, "acme", "src_feed")
    data.seed(catalog, "acme", "src_feed", [data.movie(1), data.episode(2), data.clip(3)])
    return "acme"


def export_status(instance: DagsterInstance, target_id: str) -> AssetPartitionStatus | None:
    """The status of a target's partition of the `exports` asset, as the instance reports it to the UI."""
    return (instance.get_status_by_partition(AssetKey("exports"), [target_id], exports_partitions) or {}).get(target_id)


def add(capsys, *args: str):
    return run_cli(capsys, "exports", "add", "--service", "acme", *args, "--json")


def test_targets_are_added_shown_listed_edited_and_deleted(capsys, service: str, s3: S3Server) -> None:
    secret = "Very/Secret+Key/0123456789abcdefghijklmn"
    added = add(
        capsys,
        "--url",
        "s3://customer-bucket/exports/acme/",
        "--format",
        "csv",
        "--cron",
        "0  3 * * *",
        "--source",
        "src_feed",
        "--asset-type",
        "movie",
        "--option",
        f"endpoint_url={s3.url}",
        "--option",
        "region=eu-west-1",
        "--credential",
        "aws_access_key_id=AKIACUSTOMER",
        "--credential",
        f"aws_secret_access_key={secret}",
    )
    assert added.code == 0, added.err
    target = added.json()
    assert target["url"] == "s3://customer-bucket/exports/acme" and target["format"] == "csv"
    assert target["cron"] == "0 3 * * *" and target["every"] is None
    assert target["source_id"] == "src_feed" and target["asset_type"] == "movie"
    assert target["credentials"] == {"aws_access_key_id": "<redacted>", "aws_secret_access_key": "<redacted>"}
    shown = run_cli(capsys, "exports", "show", target["id"])
    listed = run_cli(capsys, "exports", "list", "--service", "acme", "--json")
    assert listed.json()[0]["id"] == target["id"]
    edited = run_cli(capsys, "exports", "edit", target["id"], "--every", "6h", "--format", "parquet", "--json")
    assert edited.code == 0 and edited.json()["every"] == "6h" and edited.json()["format"] == "parquet"
    assert edited.json()["credentials"] == target["credentials"]
    for output in (added.out, shown.out, listed.out, edited.out, added.err, shown.err):
        assert secret not in output and "AKIACUSTOMER" not in output
    deleted = run_cli(capsys, "exports", "delete", target["id"], "--json")
    assert deleted.json() == {"id": target["id"], "deleted": True}
    assert run_cli(capsys, "exports", "show", target["id"]).code == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--url", "https://bucket/x", "--format", "csv"], "use s3://BUCKET/PREFIX"),
        (["--url", "s3://Bad_Bucket/x", "--format", "csv"], "invalid bucket name 'Bad_Bucket'"),
        (["--url", "s3://bucket/x", "--format", "xlsx"], "unknown export format 'xlsx'"),
        (["--url", "s3://bucket/x"], "--format is required"),
        (["--url", "s3://bucket/x", "--format", "csv", "--every", "1h", "--cron", "* * * * *"], "not both"),
        (["--url", "s3://bucket/x", "--format", "csv", "--option", "colour=blue"], "unknown export option 'colour'"),
        (["--url", "s3://bucket/x", "--format", "csv", "--option", "endpoint_url=http://10.0.0.8"], "endpoint_url"),
        (
            ["--url", "s3://bucket/x", "--format", "csv", "--option", "endpoint_url=https://s3.example.net"],
            "needs the bucket's own credentials",
        ),
        (
            ["--url", "s3://bucket/x", "--format", "csv", "--credential", "aws_access_key_id=AKIA"],
            "give both --credential aws_access_key_id",
        ),
        (["--url", "s3://bucket/x", "--format", "csv", "--option", "role_arn=admin"], "invalid --option role_arn"),
        (["--url", "s3://bucket/acme", "--format", "csv", "--source", "src_nope"], "no source with id 'src_nope'"),
        (["--url", "s3://bucket/x", "--format", "csv"], "go under the service's prefix: use s3://BUCKET/acme/"),
        (["--url", "s3://bucket/globex/x", "--format", "csv"], "go under the service's prefix"),
        (
            [
                "--url",
                "s3://bucket/acme",
                "--format",
                "csv",
                "--option",
                "role_arn=arn:aws:iam::123456789012:role/r",
                "--option",
                "role_external_id=theirs",
            ],
            "asked for with the external id 'data-agent:acme'",
        ),
    ],
)
def test_invalid_settings_exit_2_with_one_line(capsys, service: str, args: list[str], message: str) -> None:
    done = add(capsys, *args)
    assert done.code == 2 and done.out == ""
    assert message in done.err and len(done.err.strip().splitlines()) == 1


def test_export_runs_the_job_and_prints_the_result(capsys, service: str, s3: S3Server, settings: Settings) -> None:
    bucket = s3.make_bucket()
    target = add(capsys, "--url", f"s3://{bucket}/acme", "--format", "ndjson").json()
    done = run_cli(capsys, "export", target["id"], "--json")
    assert done.code == 0, done.err
    result = done.json()
    assert set(result) >= RESULT_KEYS and result["status"] == "succeeded" and result["error"] is None
    assert result["count"] == 3 and result["manifest_key"] == "acme/latest.json"
    assert set(result["objects"][0]) == {"key", "bytes", "sha256"}
    assert len(s3.read(bucket, result["objects"][0]["key"]).splitlines()) == 3
    instance = DagsterInstance.from_config(str(settings.dagster_home))
    try:
        run = instance.get_run_by_id(result["run_id"])
        assert run is not None and run.status == DagsterRunStatus.SUCCESS and run.job_name == "export_service"
        assert run.tags["dagster/partition"] == target["id"]
        materialization = instance.get_latest_materialization_event(AssetKey("exports")).asset_materialization
        assert materialization.partition == target["id"]
        metadata = materialization.metadata
        assert metadata["count"].value == 3 and metadata["bytes"].value == result["objects"][0]["bytes"]
        assert metadata["objects"].value == result["objects"] and metadata["duration_seconds"].value >= 0
        assert metadata["manifest_key"].value == "acme/latest.json"
        assert export_status(instance, target["id"]) == AssetPartitionStatus.MATERIALIZED
        assert run.tags["data_agent/service"] == "acme" and run.tags["data_agent/launched_by"] == "cli"
    finally:
        instance.dispose()
    assert run_cli(capsys, "exports", "results", target["id"], "--json").json()[0]["id"] == result["id"]


def test_a_failed_export_exits_1_and_keeps_credentials_out_of_dagster(
    capsys, service: str, s3: S3Server, settings: Settings
) -> None:
    secret = "Wrong/Secret+Key/0123456789abcdefghijklm"
    target = add(
        capsys,
        "--url",
        "s3://customer-missing/acme",
        "--format",
        "mrss",
        "--option",
        f"endpoint_url={s3.url}",
        "--credential",
        "aws_access_key_id=AKIAWRONGWRONGWRONG1",
        "--credential",
        f"aws_secret_access_key={secret}",
    ).json()
    done = run_cli(capsys, "export", target["id"], "--json")
    assert done.code == 1
    result = done.json()
    assert result["status"] == "failed" and "InvalidAccessKeyId" in result["error"] and result["objects"] == []
    instance = DagsterInstance.from_config(str(settings.dagster_home))
    try:
        assert instance.get_run_by_id(result["run_id"]).status == DagsterRunStatus.FAILURE
        # The export asset's partition is failed, as the UI shows it (asset partitions, events), not missing.
        assert export_status(instance, target["id"]) == AssetPartitionStatus.FAILED
        logs = json.dumps([str(event) for event in instance.all_logs(result["run_id"])])
    finally:
        instance.dispose()
    for text in (done.out, done.err, logs):
        assert secret not in text
    assert run_cli(capsys, "export", "exp_nope").code == 2


def test_the_heartbeat_requests_due_exports_once_per_slot(service: str, catalog: Catalog, clock, settings) -> None:
    targets = ExportTargets(catalog)
    daily = targets.add("acme", ExportTargetChanges(url="s3://bucket-1/acme", format="csv", every="1d"))
    hourly = targets.add("acme", ExportTargetChanges(url="s3://bucket-2/acme", format="json", every="1h"))
    paused = targets.set_enabled(
        targets.add("acme", ExportTargetChanges(url="s3://bucket-3/acme", format="csv")).id, False
    )
    instance = DagsterInstance.ephemeral()
    try:
        plan = plan_tick(catalog, instance, now=clock.now, max_runs=10, work=[TargetExports()])
        assert sorted(r.partition_key for r in plan.run_requests) == sorted([daily.id, hourly.id])
        assert paused.id not in {r.partition_key for r in plan.run_requests}
        request = next(r for r in plan.run_requests if r.partition_key == daily.id)
        assert request.job_name == "export_service" and request.run_key == f"export:{daily.id}@2026-11-01T12:00:00Z"
        assert set(instance.get_dynamic_partitions("exports")) == {daily.id, hourly.id, paused.id}
        assert plan_tick(catalog, instance, now=clock.now, max_runs=10, work=[TargetExports()]).run_requests == []
        clock.advance(hours=1)
        again = plan_tick(catalog, instance, now=clock.now, max_runs=10, work=[TargetExports()])
        assert [r.partition_key for r in again.run_requests] == [hourly.id]
        assert targets.get(daily.id).next_run_at == clock.now + timedelta(hours=23)
    finally:
        instance.dispose()


def test_the_definitions_carry_the_export_job_and_its_resource() -> None:
    job = defs.resolve_job_def("export_service")
    assert job.partitions_def.name == "exports"
    assert "export_storage" in job.resource_defs
    assert AssetKey("exports") in {spec.key for spec in defs.resolve_all_asset_specs()}


def test_platform_exports_are_held_to_the_configured_buckets(
    capsys, service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from data_agent_pipelines.settings import get_settings

    monkeypatch.setenv("DATA_AGENT_EXPORT_BUCKETS", "platform-exports, platform-archive")
    get_settings.cache_clear()
    try:
        refused = add(capsys, "--url", "s3://someone-elses-bucket/acme", "--format", "csv")
        assert refused.code == 2 and "not one of the platform's export buckets" in refused.err
        assert add(capsys, "--url", "s3://platform-archive/acme/daily", "--format", "csv").code == 0
        # A customer's own keys reach the customer's bucket, wherever it is.
        own = add(
            capsys,
            "--url",
            "s3://someone-elses-bucket/x",
            "--format",
            "csv",
            "--credential",
            "aws_access_key_id=AKIAEXAMPLEEXAMPLE12",
            "--credential",
            "aws_secret_access_key=s",
        )
        assert own.code == 0, own.err
    finally:
        get_settings.cache_clear()
