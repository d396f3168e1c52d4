"""Exports against a real S3 HTTP endpoint (moto's server mode on loopback), on both catalog backends."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from data_agent_pipelines.catalog.export_targets import ExportTargets
from data_agent_pipelines.catalog.store import Catalog
from data_agent_pipelines.connectors.backstage_json import parse_backstage_json
from data_agent_pipelines.errors import Conflict
from data_agent_pipelines.export.formats import COLUMNS
from data_agent_pipelines.export.run import run_export
from data_agent_pipelines.export.s3 import DEFAULT_PART_SIZE
from data_agent_pipelines.export_settings import ExportTargetChanges
from data_agent_pipelines.model import ExportResult, asset_from_dict, asset_to_dict
from data_agent_pipelines.orchestration.exports import ExportStorage

from . import catalogdata as data
from .s3server import REGION, ROLE_ARN, S3Server, moto_server, stop

SERVICE = "acme"
SOURCE = "src_feed"


@pytest.fixture
def seeded(catalog: Catalog) -> Catalog:
    catalog.add_service(SERVICE)
    data.add_source(catalog, SERVICE, SOURCE)
    data.seed(catalog, SERVICE, SOURCE, [data.movie(1), data.episode(2), data.clip(3), data.movie(4)])
    return catalog


def platform_storage(**overrides: Any) -> ExportStorage:
    """The platform's S3 as definitions.py configures it: the environment's AWS settings (set by the fixture)."""
    return ExportStorage(**overrides)


def test_the_export_storage_takes_the_settings_of_dagster_aws_s3_resource() -> None:
    # ExportStorage copies S3Resource's fields rather than subclassing it (so loading the definitions does not
    # import dagster-aws): the same names, types and defaults, and the part size of its own.
    from dagster_aws.s3 import S3Resource

    ours = {name: (field.annotation, field.default) for name, field in ExportStorage.model_fields.items()}
    theirs = {name: (field.annotation, field.default) for name, field in S3Resource.model_fields.items()}
    assert ours.pop("part_size_bytes") == (int, DEFAULT_PART_SIZE)
    assert ours == theirs
    configured = ExportStorage(region_name=REGION, endpoint_url="http://127.0.0.1:1", max_attempts=2).get_client()
    assert (configured.meta.region_name, configured.meta.endpoint_url) == (REGION, "http://127.0.0.1:1")


def add_target(catalog: Catalog, bucket: str, fmt: str = "ndjson", prefix: str = "acme/exports", **changes: Any):
    given = ExportTargetChanges(url=f"s3://{bucket}/{prefix}", format=fmt, **changes)
    return ExportTargets(catalog).add(SERVICE, given)


def manifest(s3: S3Server, bucket: str, prefix: str = "acme/exports") -> dict[str, Any]:
    return json.loads(s3.read(bucket, f"{prefix}/latest.json"))


def exported(s3: S3Server, bucket: str, result: ExportResult) -> bytes:
    assert result.status == "succeeded", result.error
    (obj,) = result.objects
    return s3.read(bucket, obj["key"])


# -- formats: every one written to S3 and read back ----------------------------------------------------------------


def test_ndjson_and_json_carry_the_catalog_assets(seeded: Catalog, s3: S3Server) -> None:
    bucket = s3.make_bucket()
    catalog_assets = [a for batch in seeded.iter_asset_batches(SERVICE) for a in batch]
    lines = exported(s3, bucket, run_export(seeded, add_target(seeded, bucket).id, platform_storage().client_for))
    assert [json.loads(line) for line in lines.decode().splitlines()] == catalog_assets
    target = add_target(seeded, bucket, "json", prefix="acme/json")
    assert json.loads(exported(s3, bucket, run_export(seeded, target.id, platform_storage().client_for))) == (
        catalog_assets
    )
    assert [asset_to_dict(asset_from_dict(a)) for a in catalog_assets] == data.model_dicts(
        [data.movie(1), data.episode(2), data.clip(3), data.movie(4)]
    )


def test_csv_and_parquet_have_flat_columns_that_read_back(seeded: Catalog, s3: S3Server) -> None:
    bucket = s3.make_bucket()
    catalog_assets = [a for batch in seeded.iter_asset_batches(SERVICE) for a in batch]
    text = exported(s3, bucket, run_export(seeded, add_target(seeded, bucket, "csv").id, platform_storage().client_for))
    rows = list(csv.DictReader(io.StringIO(text.decode())))
    assert list(rows[0]) == list(COLUMNS)
    assert [r["external_id"] for r in rows] == [a["external_id"] for a in catalog_assets]
    first, clip = rows[0], rows[2]
    assert first["title"] == "Movie «1» & friends" and first["description"].endswith("With <two> lines.")
    assert first["duration"] == "5401" and first["geoblock_mode"] == "deny" and first["geoblock_countries"] == "CU,KP"
    assert json.loads(first["editions"]) == catalog_assets[0]["editions"]
    assert json.loads(first["tags"]) == ["drama", "tag, with comma"]
    assert clip["release_date"] == "2024-02-29" and clip["duration"] == ""

    target = add_target(seeded, bucket, "parquet", prefix="acme/parquet")
    body = exported(s3, bucket, run_export(seeded, target.id, platform_storage().client_for))
    table = pq.read_table(io.BytesIO(body))
    assert table.column_names == list(COLUMNS)
    assert str(table.schema.field("duration").type) == "int64"
    assert str(table.schema.field("published_at").type) == "timestamp[us, tz=UTC]"
    frame = table.to_pandas()
    assert list(frame["external_id"]) == [a["external_id"] for a in catalog_assets]
    assert frame["duration"].tolist()[:2] == [5401, 1325]
    assert frame["release_date"][2].isoformat() == "2024-02-29"
    assert frame["published_at"][0].isoformat() == "2024-03-01T10:30:15+00:00"
    assert json.loads(frame["credits"][0]) == catalog_assets[0]["credits"]


def test_mrss_is_read_back_by_the_media_rss_importer(seeded: Catalog, s3: S3Server, tmp_path: Path) -> None:
    from data_agent_pipelines.connectors.mrss.feed import parse_feed

    bucket = s3.make_bucket()
    target = add_target(seeded, bucket, "mrss", options={"title": data.CHANNEL_TITLE})
    feed = tmp_path / "feed.xml"
    feed.write_bytes(exported(s3, bucket, run_export(seeded, target.id, platform_storage().client_for)))
    # The clip carries what Media RSS cannot say (release date, DRM, a background image): see formats.mrss_item.
    expected = data.model_dicts([data.movie(1), data.episode(2), data.movie(4)])
    parsed = [asset_to_dict(item) for item in parse_feed(feed, default_type="movie")]
    assert [p for p in parsed if p["external_id"] != "clip-000003"] == expected


def test_backstage_json_is_read_back_by_the_standardised_json_importer(
    seeded: Catalog, s3: S3Server, tmp_path: Path
) -> None:
    bucket = s3.make_bucket()
    target = add_target(seeded, bucket, "backstage-json")
    document = tmp_path / "catalog.json"
    document.write_bytes(exported(s3, bucket, run_export(seeded, target.id, platform_storage().client_for)))
    objects = json.loads(document.read_bytes())
    assert [o["type"] for o in objects] == ["movie", "episode", "clip", "movie"]
    assert objects[1]["series_label"] == data.CHANNEL_TITLE and "series" not in objects[1]
    parsed = [asset_to_dict(item) for item in parse_backstage_json(document, default_type="movie")]
    assert parsed[:4] == data.model_dicts([data.movie(1), data.episode(2), data.clip(3), data.movie(4)])
    # The seeded episode names a series the catalog has no asset for: the importer creates it.
    assert [(p["external_id"], p["type"], p["title"]) for p in parsed[4:]] == [
        (f"series:{data.CHANNEL_TITLE}", "series", data.CHANNEL_TITLE)
    ]


def test_filters_by_source_and_asset_type(seeded: Catalog, s3: S3Server) -> None:
    data.add_source(seeded, SERVICE, "src_other")
    data.seed(seeded, SERVICE, "src_other", [data.movie(9)], first_id=100)
    bucket = s3.make_bucket()
    by_source = add_target(seeded, bucket, source_id="src_other", prefix="acme/a")
    by_type = add_target(seeded, bucket, asset_type="movie", prefix="acme/b")
    one = exported(s3, bucket, run_export(seeded, by_source.id, platform_storage().client_for))
    movies = exported(s3, bucket, run_export(seeded, by_type.id, platform_storage().client_for))
    assert [json.loads(line)["external_id"] for line in one.splitlines()] == ["movie-000009"]
    assert [json.loads(line)["external_id"] for line in movies.splitlines()] == [
        "movie-000001",
        "movie-000004",
        "movie-000009",
    ]


# -- safe writes ---------------------------------------------------------------------------------------------------


def test_data_goes_under_new_keys_and_the_manifest_last_with_checksums(seeded: Catalog, s3: S3Server, clock) -> None:
    bucket = s3.make_bucket()
    target = add_target(seeded, bucket)
    first = run_export(seeded, target.id, platform_storage().client_for, run_id="run-1")
    clock.advance(hours=1)
    second = run_export(seeded, target.id, platform_storage().client_for, run_id="run-2")
    assert first.objects[0]["key"] != second.objects[0]["key"]
    assert first.objects[0]["key"].startswith("acme/exports/20261101T120000Z-")
    assert s3.keys(bucket) == sorted([first.objects[0]["key"], second.objects[0]["key"], "acme/exports/latest.json"])
    latest = manifest(s3, bucket)
    assert latest["run_id"] == "run-2" and latest["result_id"] == second.id and latest["count"] == 4
    assert latest["objects"] == [{**second.objects[0], "count": 4}]
    import hashlib

    body = s3.read(bucket, second.objects[0]["key"])
    assert second.objects[0]["sha256"] == hashlib.sha256(body).hexdigest()
    assert second.objects[0]["bytes"] == len(body)
    head = s3.client().head_object(Bucket=bucket, Key=second.objects[0]["key"], ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"]  # sent with the object and kept by S3
    assert ExportTargets(seeded).list_results(target.id)[0] == second


def test_large_objects_go_multipart_and_a_failure_aborts_the_upload(
    seeded: Catalog, s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    import moto.s3.models

    monkeypatch.setattr(moto.s3.models, "S3_UPLOAD_PART_MIN_SIZE", 1024)
    data.seed(seeded, SERVICE, SOURCE, [data.movie(n) for n in range(10, 60)], first_id=10)
    bucket = s3.make_bucket()
    target = add_target(seeded, bucket)
    calls: list[str] = []
    storage = platform_storage()

    def counting_client(t: Any) -> Any:
        client = storage.client_for(t)
        client.meta.events.register("before-call.s3.*", lambda model, **_: calls.append(model.name))
        return client

    result = run_export(seeded, target.id, counting_client, part_size=16 * 1024, batch_size=7)
    body = exported(s3, bucket, result)
    assert calls.count("UploadPart") == -(-len(body) // (16 * 1024)) > 3
    assert calls[-2:] == ["CompleteMultipartUpload", "PutObject"]  # the manifest is the last write
    assert len(body.splitlines()) == result.count == 54

    def failing_batches(*args: Any, **kwargs: Any) -> Any:
        yield from list(Catalog.iter_asset_batches(seeded, SERVICE, batch_size=7))[:5]
        raise RuntimeError("the catalog connection dropped")

    monkeypatch.setattr(seeded, "iter_asset_batches", failing_batches)
    failed = run_export(seeded, target.id, counting_client, part_size=16 * 1024)
    assert failed.status == "failed" and "the catalog connection dropped" in failed.error
    assert failed.objects == [] and failed.manifest_key is None
    assert calls[-1] == "AbortMultipartUpload" and s3.pending_uploads(bucket) == []
    assert manifest(s3, bucket)["result_id"] == result.id  # the previous export stays the current one


def test_the_endpoint_going_away_mid_upload_leaves_the_previous_manifest(
    seeded: Catalog, s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    import moto.s3.models

    monkeypatch.setattr(moto.s3.models, "S3_UPLOAD_PART_MIN_SIZE", 1024)
    data.seed(seeded, SERVICE, SOURCE, [data.movie(n) for n in range(10, 40)], first_id=10)
    bucket = s3.make_bucket()
    target = add_target(seeded, bucket)
    before = run_export(seeded, target.id, platform_storage().client_for)
    with moto_server() as (doomed, url):  # a second endpoint onto the same (in-process) S3 state
        storage = platform_storage(endpoint_url=url, max_attempts=2)

        def client_that_loses_its_endpoint(t: Any) -> Any:
            client = storage.client_for(t)
            client.meta.events.register("after-call.s3.UploadPart", lambda **_: stop(doomed))
            return client

        failed = run_export(seeded, target.id, client_that_loses_its_endpoint, part_size=8 * 1024)
    assert failed.status == "failed"
    assert "could not connect to the S3 endpoint" in failed.error and url in failed.error
    assert manifest(s3, bucket)["result_id"] == before.id
    assert ExportTargets(seeded).get(target.id).last_status == "failed"


# -- credentials and failures ------------------------------------------------------------------------------------


def test_a_customer_bucket_with_its_own_keys(seeded: Catalog, s3: S3Server) -> None:
    bucket = s3.make_bucket("customer")
    keys = {"aws_access_key_id": s3.customer.access_key_id, "aws_secret_access_key": s3.customer.secret_access_key}
    target = add_target(seeded, bucket, credentials=keys, options={"endpoint_url": s3.url, "region": REGION})
    result = run_export(seeded, target.id, platform_storage().client_for)
    assert result.status == "succeeded" and manifest(s3, bucket)["count"] == 4
    # The customer's keys reach only the customer's buckets: the target really used them.
    other = add_target(seeded, s3.make_bucket(), credentials=keys, options={"endpoint_url": s3.url})
    denied = run_export(seeded, other.id, platform_storage().client_for)
    assert denied.status == "failed" and "denied access" in denied.error
    assert s3.customer.secret_access_key not in json.dumps(denied.to_json())


def test_a_customer_bucket_through_a_role_the_platform_assumes(seeded: Catalog, s3: S3Server) -> None:
    bucket = s3.make_bucket("customer")
    target = add_target(seeded, bucket, options={"role_arn": ROLE_ARN})
    result = run_export(seeded, target.id, platform_storage().client_for)
    assert result.status == "succeeded", result.error
    assert manifest(s3, bucket)["target_id"] == target.id


def test_a_bucket_that_does_not_exist(seeded: Catalog, s3: S3Server) -> None:
    target = add_target(seeded, "no-such-bucket-here")
    result = run_export(seeded, target.id, platform_storage().client_for)
    assert result.status == "failed" and result.objects == [] and result.manifest_key is None
    assert result.error == "bucket 'no-such-bucket-here' does not exist: create it or correct the export URL"
    stored = ExportTargets(seeded).get(target.id)
    assert stored.last_status == "failed" and stored.last_error == result.error


def test_wrong_credentials(seeded: Catalog, s3: S3Server) -> None:
    bucket = s3.make_bucket("customer")
    wrong = {"aws_access_key_id": "AKIAWRONGWRONGWRONG1", "aws_secret_access_key": "not-the-secret-at-all"}
    target = add_target(seeded, bucket, credentials=wrong, options={"endpoint_url": s3.url})
    result = run_export(seeded, target.id, platform_storage().client_for)
    assert result.status == "failed"
    assert "refused the credentials" in result.error and "InvalidAccessKeyId" in result.error
    assert "not-the-secret-at-all" not in json.dumps(result.to_json())
    assert s3.keys(bucket) == []


def test_one_export_of_a_target_at_a_time(seeded: Catalog, s3: S3Server) -> None:
    bucket = s3.make_bucket()
    target = add_target(seeded, bucket)
    targets = ExportTargets(seeded)
    targets.acquire(target.id, "another-run")
    with pytest.raises(Conflict, match="already running"):
        run_export(seeded, target.id, platform_storage().client_for)
    targets.release(target.id, "another-run")
    assert run_export(seeded, target.id, platform_storage().client_for).status == "succeeded"
