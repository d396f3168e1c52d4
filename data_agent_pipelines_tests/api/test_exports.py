"""Export targets and export runs through the API (the targets' own validation is tested with the CLI)."""

from __future__ import annotations

from datetime import UTC, datetime

from data_agent_pipelines.catalog.export_targets import ExportTargets
from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.model import ExportResult
from data_agent_pipelines.orchestration.instance import open_instance
from data_agent_pipelines.settings import Settings

from .conftest import Tenant, new_source

AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_export_targets_create_list_read_update_delete(acme: Tenant, catalog: Catalog) -> None:
    source = new_source(acme)
    created = acme.client.post(
        acme.url("/exports"),
        json={
            "url": "s3://acme-exports/acme/catalog",
            "format": "parquet",
            "every": "1d",
            "source_id": source["id"],
            "credentials": {"aws_access_key_id": "AKIAEXAMPLE", "aws_secret_access_key": AWS_SECRET},
        },
    )
    assert created.status_code == 201, created.text
    target = created.json()
    assert target["credentials"] == {"aws_access_key_id": "<redacted>", "aws_secret_access_key": "<redacted>"}
    target_url = acme.url(f"/exports/{target['id']}")
    assert [t["id"] for t in acme.client.get(acme.url("/exports")).json()["items"]] == [target["id"]]
    assert acme.client.get(target_url).json()["format"] == "parquet"
    updated = acme.client.patch(target_url, json={"format": "csv", "enabled": False}).json()
    assert (updated["format"], updated["enabled"]) == ("csv", False)
    for response in (created, acme.client.get(target_url)):
        assert AWS_SECRET not in response.text and "AKIAEXAMPLE" not in response.text
    assert acme.client.delete(target_url).json() == {"id": target["id"], "deleted": True}
    assert acme.client.get(target_url).status_code == 404


def test_bad_export_settings_are_refused_with_the_clis_messages(acme: Tenant) -> None:
    missing = acme.client.post(acme.url("/exports"), json={"url": "s3://acme-exports/x"})
    assert missing.status_code == 422 and "format: Field required" in missing.json()["detail"]
    wrong = acme.client.post(acme.url("/exports"), json={"url": "https://example.com/x", "format": "csv"})
    assert wrong.status_code == 400 and "s3://" in wrong.json()["detail"]
    unknown = acme.client.post(acme.url("/exports"), json={"url": "s3://acme-exports/x", "format": "xls"})
    assert unknown.status_code == 400 and "xls" in unknown.json()["detail"]


def test_export_runs_are_queued_and_listed(acme: Tenant, catalog: Catalog, settings: Settings) -> None:
    target = acme.client.post(acme.url("/exports"), json={"url": "s3://acme-exports/acme/c", "format": "ndjson"}).json()
    queued = acme.client.post(acme.url(f"/exports/{target['id']}/runs"))
    assert queued.status_code == 202, queued.text
    instance = open_instance(settings)
    try:
        run = instance.get_run_by_id(queued.json()["run_id"])
        assert (run.job_name, run.status.value, run.tags["dagster/partition"]) == (
            "export_service",
            "QUEUED",
            target["id"],
        )
    finally:
        instance.dispose()
    assert acme.client.post(acme.url(f"/exports/{target['id']}/runs")).status_code == 409

    targets = ExportTargets(catalog)
    targets.record_result(
        ExportResult(
            id="exr_1",
            target_id=target["id"],
            service="acme",
            run_id=queued.json()["run_id"],
            status="succeeded",
            format="ndjson",
            started_at=datetime(2026, 11, 1, 12, 0, tzinfo=UTC),
            finished_at=datetime(2026, 11, 1, 12, 0, 1, tzinfo=UTC),
            manifest_key="c/latest.json",
        )
    )
    runs = acme.client.get(acme.url(f"/exports/{target['id']}/runs")).json()["items"]
    assert [(r["id"], r["status"]) for r in runs] == [("exr_1", "succeeded")]
